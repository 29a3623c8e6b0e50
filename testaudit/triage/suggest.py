"""Suggested tests: assertions in the suite's own style, and a small set of them that kills every survivor."""

from __future__ import annotations

import ast
import json
from collections.abc import Hashable, Mapping, Sequence

from testaudit.errors import FieldError
from testaudit.records import SuiteKind
from testaudit.suites.evalplus import MBPP_OUTPUT_NOT_NONE, MBPP_OUTPUT_SET_EQ, deserialize
from testaudit.values import Input

# MBPP+ tasks whose outputs EvalPlus accepts by other rules than equality (suites.EvalPlusCheck).
MBPP_SPECIAL = MBPP_OUTPUT_NOT_NONE | {"are_equivalent", "sum_div", "surface_Area", "digit_distance_nums"}

MAX_LENGTH = 400  # a longer assertion is not something a maintainer will paste into a suite


def literal(value: object) -> str | None:
    """repr(value) if it reads back as the same value (no nan, inf, or objects), else None."""
    try:
        text = repr(value)
        if repr(ast.literal_eval(text)) != text:
            return None
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return text


def callee(kind: SuiteKind, entry_point: str) -> str:
    """The name a suite calls the program by: HumanEval's check() gets it as `candidate`."""
    return "candidate" if kind is SuiteKind.CHECK else entry_point


def _flat_floats(value: object) -> bool:
    return (type(value) in (list, tuple) and any(type(v) is float for v in value)
            and all(type(v) in (int, float) for v in value))


def _call(inp: Input, name: str) -> str | None:
    """`name(args)` with every argument written as a literal, or None if one cannot be."""
    parts = [literal(a) for a in inp.args] + [
        None if (text := literal(v)) is None else f"{k}={text}" for k, v in inp.kwargs.items()
    ]
    return None if any(p is None for p in parts) else f"{name}({', '.join(parts)})"  # type: ignore[arg-type]


def assertion(inp: Input, expected: object, name: str, atol: float, rtol: float = 0.0,
              style: str = "python") -> str | None:
    """`assert candidate(args) == expected`, with a tolerance for floats; None if not writable.

    A float within `atol + rtol * abs(expected)` passes (rtol: EvalPlus's allclose). With style
    "unittest", the same check as a TestCase assertion: `self.assertEqual(task_func(args), ...)`.
    """
    call, wanted = _call(inp, name), literal(expected)
    if call is None or wanted is None:
        return None
    tolerance = f"{atol:g}" if not rtol else f"{atol:g} + {rtol:g} * abs({wanted})"
    unit = style == "unittest"
    if type(expected) is float:
        text = (f"self.assertAlmostEqual({call}, {wanted}, delta={tolerance})" if unit
                else f"assert abs({call} - {wanted}) <= {tolerance}")
    elif _flat_floats(expected):
        bound = f"{atol:g}" if not rtol else f"{atol:g} + {rtol:g} * abs(b)"
        check = (f"len(out := {call}) == {len(expected)} and "
                 f"all(abs(a - b) <= {bound} for a, b in zip(out, {wanted}))")
        text = f"self.assertTrue({check})" if unit else f"assert {check}"
    elif expected is None or type(expected) is bool:
        text = f"self.assertIs({call}, {wanted})" if unit else f"assert {call} is {wanted}"
    else:
        text = f"self.assertEqual({call}, {wanted})" if unit else f"assert {call} == {wanted}"
    return text if len(text) <= MAX_LENGTH else None


# --- EvalPlus: an argument list for the dataset, and the same check as an assertion -----------

EVALPLUS_INPUT = "# input: "  # the first line of an EvalPlus suggested test


def _jsonable(value: object) -> object:
    """An argument as EvalPlus stores it in JSON: tuples and sets as lists, complex as a string."""
    kind = type(value)
    if kind in (list, tuple):
        return [_jsonable(v) for v in value]
    if kind in (set, frozenset):
        return [_jsonable(v) for v in sorted(value, key=repr)]
    if kind is dict:
        return {k: _jsonable(v) for k, v in value.items()}
    if kind is complex:
        return str(value)
    return value


def read_evalplus_input(text: str, task_id: str) -> list | None:
    """The arguments of an EvalPlus test's input line, converted as EvalPlus converts its JSON."""
    first = text.splitlines()[0] if text else ""
    if not first.startswith(EVALPLUS_INPUT):
        return None
    try:
        args = json.loads(first[len(EVALPLUS_INPUT):])
        return deserialize(task_id, "input", [args])[0] if isinstance(args, list) else None
    except (ValueError, FieldError):
        return None


def evalplus_input(task_id: str, inp: Input) -> str | None:
    """The input line: `# input: [args as JSON]`, if EvalPlus reads it back as these arguments."""
    if inp.kwargs:
        return None  # EvalPlus calls entry_point(*args)
    try:
        line = EVALPLUS_INPUT + json.dumps(_jsonable(list(inp.args)), ensure_ascii=False)
    except (TypeError, ValueError):
        return None  # a dict with keys JSON cannot hold
    back = read_evalplus_input(line, task_id)
    return line if back is not None and repr(tuple(back)) == repr(inp.args) else None


def evalplus_test(inp: Input, expected: object, task_id: str, entry_point: str, family: str,
                  atol: float) -> str | None:
    """An input line for base_input/plus_input, then an assertion that checks what EvalPlus checks.

    The assertion is left out for tasks whose outputs EvalPlus judges by a special oracle other
    than set equality (any root, any non-None...): no `==` says the same.
    """
    line = evalplus_input(task_id, inp)
    if line is None:
        return None
    special = (family == "humaneval" and entry_point == "find_zero"
               or family == "mbpp" and entry_point in MBPP_SPECIAL)
    if family == "mbpp" and entry_point in MBPP_OUTPUT_SET_EQ:
        call, wanted = _call(inp, entry_point), literal(expected)
        check = None if call is None or wanted is None else f"assert set({call}) == set({wanted})"
    elif special:
        check = None
    else:
        check = assertion(inp, expected, entry_point, atol or 1e-6, 1e-7)
    if check is None or len(check) > MAX_LENGTH:
        return line if len(line) <= MAX_LENGTH else None
    return f"{line}\n{check}"


# --- stdin/stdout: a new {input, output} case -------------------------------------------------


def stdio_case(given: str, output: str) -> str | None:
    """A case for the task's `tests`, as one line of JSON; None if too long to paste."""
    text = json.dumps({"input": given, "output": output}, ensure_ascii=False)
    return text if len(text) <= 5 * MAX_LENGTH else None


def oracle_assertion(inp: Input, names: list[str] | None, oracle: str, name: str) -> str | None:
    """For a task with several right answers: bind the arguments, call, assert the oracle."""
    if names is None or len(inp.args) > len(names):
        return None
    bound = {**dict(zip(names, inp.args, strict=False)), **inp.kwargs}
    texts = {k: literal(v) for k, v in bound.items()}
    if any(t is None for t in texts.values()):
        return None
    lines = [f"{k} = {t}" for k, t in texts.items()]
    positional = names[: len(inp.args)]
    arguments = positional + [f"{k}={k}" for k in inp.kwargs]
    lines += [f"result = {name}({', '.join(arguments)})", f"assert {oracle}"]
    text = "\n".join(lines)
    return text if len(text) <= MAX_LENGTH else None


def greedy_cover(kills: Mapping[str, set[Hashable]], order: Sequence[str]) -> list[str]:
    """A small set of tests that together kill everything any of them kills (greedy set cover).

    `order` is the tests in order of preference (closest to the suite's inputs, then shortest):
    ties go to the earlier one. Greedy is within a log factor of the smallest cover.
    """
    rank = {test: i for i, test in enumerate(order)}
    left: set[Hashable] = set().union(*kills.values()) if kills else set()
    chosen: list[str] = []
    while left:
        best = min(kills, key=lambda t: (-len(kills[t] & left), rank.get(t, len(rank))))
        gained = kills[best] & left
        if not gained:
            break
        chosen.append(best)
        left -= gained
    return sorted(chosen, key=lambda t: rank.get(t, len(rank)))
