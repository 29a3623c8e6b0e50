"""MBPP and sanitized MBPP: the added asserts are more strings of `test_list`.

JSON has no comments, and a comment string in `test_list` would count as a test in harnesses
that run the list item by item: the list-based formats get no comment line.
"""

from __future__ import annotations

from testaudit.errors import FieldError


def fields(data: dict, texts: list[str], comment: str, options: object) -> dict[str, object]:
    given = data.get("test_list")
    if not isinstance(given, list):
        raise FieldError("field 'test_list' must be a list of strings")
    return {"test_list": [*given, *texts]}
