"""Helpers the format loaders share: field checks, entry points and readable test text."""

from __future__ import annotations

import ast
import warnings
from collections.abc import Iterable, Iterator

from testaudit.errors import FieldError
from testaudit.records import Origin, Task, TaskStatus
from testaudit.store.files import Record

# Longest repr of one input or test case written into a task's test text; longer ones are
# named in a comment instead, so that the text stays readable and always compiles.
SHOWN_VALUE_LIMIT = 2000
SHOWN_ITEMS_LIMIT = 500


def error_task(record: Record, path: str, task_id: str | None, message: str) -> Task:
    """A task that cannot be loaded: status error, with a one-line `file:line: problem`."""
    return Task(
        task_id=task_id or f"{path}:{record.line}",
        entry_point="",
        source="",
        test="",
        solution_start=0,
        solution_end=0,
        origin=Origin(path, record.line),
        status=TaskStatus.ERROR,
        message=f"{path}:{record.line}: {message}",
    )


def text(data: dict, name: str, default: str | None = None) -> str:
    """A string field, with Windows line endings made Unix ones (MBPP's code has CRLF)."""
    if name not in data or (data[name] is None and default is not None):
        if default is None:
            raise FieldError(f"field '{name}' is missing")
        return default
    value = data[name]
    if not isinstance(value, str):
        raise FieldError(f"field '{name}' must be a string, got {type(value).__name__}")
    return value.replace("\r\n", "\n")


def strings(data: dict, name: str, default: list[str] | None = None) -> list[str]:
    """A list-of-strings field."""
    if name not in data or (data[name] is None and default is not None):
        if default is None:
            raise FieldError(f"field '{name}' is missing")
        return default
    value = data[name]
    if not isinstance(value, list):
        raise FieldError(f"field '{name}' must be a list of strings, got {type(value).__name__}")
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise FieldError(f"field '{name}' item {i + 1} must be a string, got {type(item).__name__}")
    return [item.replace("\r\n", "\n") for item in value]


def identifier(data: dict, name: str, prefix: str = "") -> str:
    """A task id: strings as they are, integers as prefix + number (MBPP's ids are ints)."""
    value = data.get(name)
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{prefix}{value}"
    raise FieldError(f"field '{name}' must be a string or an integer"
                     if name in data else f"field '{name}' is missing")


def record_id(data: dict | None, name: str, prefix: str = "") -> str | None:
    """The record's task id if it has a usable one, for naming a task in error."""
    if not isinstance(data, dict):
        return None
    try:
        return identifier(data, name, prefix)
    except FieldError:
        return None


def compiles(code: str, field: str) -> ast.Module:
    """The code's tree; FieldError unless it compiles (not just parses: `return` outside a def)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # `'\S'` in a benchmark's regex is its business
            tree = ast.parse(code, field)
            compile(tree, field, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        msg = getattr(exc, "msg", str(exc))
        raise FieldError(
            f"field '{field}' does not parse: {msg} (line {getattr(exc, 'lineno', '?')})"
        ) from exc
    return tree


def blamed_field(prompt: str, solution: str, prompt_field: str = "prompt",
                 solution_field: str = "canonical_solution") -> str:
    """Which field to name when prompt + solution does not compile: the prompt when it is broken
    on its own, that is when neither the prompt alone nor the prompt with a `pass` body (at the
    solution's indentation) compiles; else the solution."""
    first = next((line for line in solution.split("\n") if line.strip()), "")
    for candidate in (prompt, with_newline(prompt) + _indent(first) + "pass\n"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                compile(candidate, prompt_field, "exec", dont_inherit=True)
            return solution_field
        except (SyntaxError, ValueError):
            continue
    return prompt_field


def compiles_program(prompt: str, solution: str, prompt_field: str = "prompt") -> ast.Module:
    """`compiles(prompt + solution)`, its FieldError naming the field to blame (`blamed_field`)."""
    source = with_newline(prompt + solution)
    try:
        return compiles(source, "canonical_solution")
    except FieldError:
        field = blamed_field(prompt, solution, prompt_field)
        if field == "canonical_solution":
            raise
        return compiles(source, field)


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def expand_mixed_indentation(code: str) -> str:
    """Code whose indentation mixes tabs and spaces, with the tabs expanded as Python reads them.

    CPython accepts such code (a tab reaches the next multiple of 8) but libcst, which makes
    the mutants, refuses it (two sanitized MBPP references are like that). The expansion is
    kept only when the program's syntax tree is unchanged, so a tab inside a multi-line string
    is never touched.
    """
    lines = code.split("\n")
    used = {ch for line in lines for ch in _indent(line)}
    if used != {" ", "\t"}:
        return code
    expanded = "\n".join(_indent(line).expandtabs(8) + line.lstrip(" \t") for line in lines)
    try:
        same = ast.dump(ast.parse(expanded)) == ast.dump(ast.parse(code))
    except (SyntaxError, ValueError):
        same = False
    return expanded if same else code


def with_newline(code: str) -> str:
    return code if code.endswith("\n") else code + "\n"


def top_level_functions(tree: ast.Module) -> list[str]:
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def statements(tree: ast.AST) -> Iterator[ast.stmt]:
    """Every statement, nested ones included, without walking expressions (much cheaper)."""
    for name in ("body", "orelse", "finalbody", "handlers", "cases"):
        for node in getattr(tree, name, ()) or ():
            if isinstance(node, ast.stmt):
                yield node
            yield from statements(node)


def called_function(tree: ast.Module, tests: Iterable[str]) -> str | None:
    """The first function that the code defines and the tests call: the task's entry point."""
    defined = set(top_level_functions(tree))
    for test in tests:
        try:
            tree = ast.parse(test)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in defined:
                return node.func.id
    return None


def safe_repr(value: object) -> str | None:
    """repr(), or None when it fails (ints past Python's digit limit) or is too long to show."""
    try:
        shown = repr(value)
    except Exception:
        return None
    return shown if len(shown) <= SHOWN_VALUE_LIMIT else None


def literal_list(name: str, items: list, intro: list[str]) -> str:
    """Python text `name = [...]` listing items one a line: what a task's test shows a reader."""
    lines = [f"# {line}" if line else "#" for line in intro]
    lines.append(f"{name} = [")
    for i, item in enumerate(items):
        if i == SHOWN_ITEMS_LIMIT:
            lines.append(f"    # ... and {len(items) - i} more, not shown")
            break
        shown = safe_repr(item)
        lines.append(f"    {shown}," if shown is not None else f"    # item {i + 1}: too long to show")
    lines.append("]")
    return "\n".join(lines) + "\n"
