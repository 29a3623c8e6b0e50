"""BigCodeBench: the added assertions become one more test method of `TestCases`."""

from __future__ import annotations

import ast

from testaudit.errors import FieldError

METHOD = "test_strengthened"


def fields(data: dict, texts: list[str], comment: str, options: object) -> dict[str, object]:
    test = data["test"]
    try:
        tree = ast.parse(test)
    except SyntaxError as exc:
        raise FieldError(f"field 'test' does not parse: {exc.msg}") from exc
    cls = next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "TestCases"), None)
    if cls is None:
        raise FieldError("field 'test' defines no TestCases class to add a test method to")
    rows = test.split("\n")
    first = cls.body[0]
    indent = rows[first.lineno - 1][: first.col_offset] or "    "
    taken = {n.name for n in cls.body if isinstance(n, ast.FunctionDef)}
    name = METHOD if METHOD not in taken else f"{METHOD}_{len(taken)}"
    body = [indent + "    " + part for text in texts for part in text.split("\n")]
    method = [indent + comment, f"{indent}def {name}(self):", *body]
    end = cls.end_lineno or cls.lineno
    return {"test": "\n".join(rows[:end] + method + rows[end:])}
