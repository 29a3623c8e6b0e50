"""HumanEval: the added tests go inside `check(candidate)`, after its last statement."""

from __future__ import annotations

import ast

from testaudit.errors import FieldError


def inside_function(test: str, name: str, lines: list[str], comment: str) -> str:
    """`test` with `lines` (and the comment first) appended to the body of function `name`,
    at its body's indentation."""
    try:
        tree = ast.parse(test)
    except SyntaxError as exc:
        raise FieldError(f"field 'test' does not parse: {exc.msg}") from exc
    node = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name), None)
    if node is None:
        raise FieldError(f"field 'test' defines no {name}() to add the tests to")
    return _insert(test, node, lines, comment)


def _insert(test: str, node: ast.FunctionDef | ast.ClassDef, lines: list[str], comment: str) -> str:
    rows = test.split("\n")
    first = node.body[0]
    indent = rows[first.lineno - 1][: first.col_offset]
    if indent.strip() or not indent:  # a body on the def's own line: put ours one level in
        indent = rows[node.lineno - 1][: node.col_offset] + "    "
    end = node.end_lineno or node.lineno
    added = [indent + comment] + [indent + part for line in lines for part in line.split("\n")]
    return "\n".join(rows[:end] + added + rows[end:])


def fields(data: dict, texts: list[str], comment: str, options: object) -> dict[str, object]:
    return {"test": inside_function(data["test"], "check", texts, comment)}
