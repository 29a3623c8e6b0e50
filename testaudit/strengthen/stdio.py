"""stdin/stdout tasks: each added test is one more {input, output} case (our `tests`, or APPS's
`input_output` lists, a JSON string)."""

from __future__ import annotations

import json

from testaudit.errors import FieldError


def _cases(texts: list[str]) -> list[dict]:
    return [json.loads(t) for t in texts]


def fields(data: dict, texts: list[str], comment: str, options: object) -> dict[str, object]:
    given = data.get("tests")
    if not isinstance(given, list):
        raise FieldError("field 'tests' must be a list of {input, output}")
    return {"tests": [*given, *_cases(texts)]}


def apps_fields(data: dict, texts: list[str], comment: str, options: object) -> dict[str, object]:
    value = data.get("input_output")
    parsed = json.loads(value) if isinstance(value, str) else value
    if not isinstance(parsed, dict) or not isinstance(parsed.get("inputs"), list):
        raise FieldError("field 'input_output' must hold lists 'inputs' and 'outputs'")
    cases = _cases(texts)
    parsed = {**parsed, "inputs": [*parsed["inputs"], *(c["input"] for c in cases)],
              "outputs": [*parsed["outputs"], *(c["output"] for c in cases)]}
    return {"input_output": json.dumps(parsed) if isinstance(value, str) else parsed}
