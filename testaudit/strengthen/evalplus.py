"""EvalPlus (HumanEval+, MBPP+): each added test is an argument list in `base_input` (or
`plus_input` for a strengthened plus suite) and, where the record has MBPP+'s `assertion`
field, its assert line there too.

EvalPlus stores no outputs: its evaluator computes each input's expected output by running
`canonical_solution`, so an input is all a base test needs. The input line of a test
(`# input: [...]`, `suites/evalplus.py`) is JSON already written as EvalPlus stores arguments
(tuples and sets as lists), and was checked to read back as the same arguments.
"""

from __future__ import annotations

import json

from testaudit.errors import FieldError

INPUT = "# input: "


def fields(data: dict, texts: list[str], comment: str, options: object) -> dict[str, object]:
    name = "plus_input" if getattr(options, "suite", "base") == "plus" else "base_input"
    given = data.get(name)
    if isinstance(given, dict) and not given:
        given = []  # MBPP+ v0.2.0's empty plus_input is {}
    if not isinstance(given, list):
        raise FieldError(f"field '{name}' must be a list of argument lists")
    inputs, asserts = list(given), []
    for text in texts:
        head, _, rest = text.partition("\n")
        if not head.startswith(INPUT):
            continue  # not written as an EvalPlus test: nothing EvalPlus could run
        inputs.append(json.loads(head[len(INPUT):]))
        asserts += [line for line in rest.split("\n") if line.startswith("assert ")]
    out: dict[str, object] = {name: inputs}
    if isinstance(data.get("assertion"), str) and asserts and name == "base_input":
        text = data["assertion"]
        joint = "" if text.endswith("\n") or not text else "\n"
        out["assertion"] = text + joint + "\n".join(asserts) + "\n"
    return out
