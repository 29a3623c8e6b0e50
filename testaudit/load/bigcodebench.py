"""BigCodeBench format: a prompt, its canonical solution, and a unittest TestCases class."""

from __future__ import annotations

import ast
import importlib.util
import sys

from testaudit.config import LoadOptions
from testaudit.errors import FieldError
from testaudit.load.fields import (
    compiles,
    compiles_program,
    error_task,
    identifier,
    record_id,
    statements,
    text,
    top_level_functions,
    with_newline,
)
from testaudit.records import Origin, SuiteKind, Task, TaskStatus, UnittestData
from testaudit.store.files import Record

REQUIRED = frozenset({"task_id", "complete_prompt", "canonical_solution", "test", "entry_point"})


def importable(name: str) -> bool:
    """Whether a top-level module can be imported here, found without importing it."""
    if name in sys.modules:
        return True
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _libs(data: dict) -> list[str]:
    """The `libs` field: a list, or (as BigCodeBench ships it) the repr of one."""
    value = data.get("libs", [])
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value) if value.strip() else []
        except (ValueError, SyntaxError) as exc:
            raise FieldError("field 'libs' must be a list of module names") from exc
    if not isinstance(value, list | tuple) or not all(isinstance(x, str) for x in value):
        raise FieldError("field 'libs' must be a list of module names")
    return list(value)


def imported_modules(*trees: ast.Module) -> list[str]:
    """Names of the modules the code imports, anywhere in it (function bodies too), in order."""
    names: list[str] = []
    for tree in trees:
        for node in statements(tree):
            if isinstance(node, ast.Import):
                names.extend(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.append(node.module)
    return names


def missing_libraries(libs: list[str], trees: list[ast.Module], known: dict[str, bool]) -> list[str]:
    """Libraries the task needs that cannot be imported here; `known` caches answers for one load."""
    wanted = dict.fromkeys(name.split(".")[0] for name in [*libs, *imported_modules(*trees)])
    missing = []
    for name in wanted:
        if name not in known:
            known[name] = importable(name)
        if name and not known[name]:
            missing.append(name)
    return missing


def tasks_from(records: list[Record], path: str, options: LoadOptions) -> list[Task]:
    known: dict[str, bool] = {}
    return [_task(r, path, known) for r in records]


def _task(record: Record, path: str, known: dict[str, bool]) -> Task:
    if record.data is None:
        return error_task(record, path, None, record.error or "damaged record")
    try:
        return _build(record, path, known)
    except FieldError as exc:
        return error_task(record, path, record_id(record.data, "task_id"), str(exc))


def _build(record: Record, path: str, known: dict[str, bool]) -> Task:
    data = record.data
    task_id = identifier(data, "task_id")
    prompt, solution = text(data, "complete_prompt"), text(data, "canonical_solution")
    test, entry_point = text(data, "test"), text(data, "entry_point")
    source = with_newline(prompt + solution)
    tree = compiles_program(prompt, solution, "complete_prompt")
    test_tree = compiles(test, "test")
    if entry_point not in top_level_functions(tree):
        raise FieldError(f"field 'entry_point': '{entry_point}' is not a function that "
                         "complete_prompt + canonical_solution defines")
    if not any(isinstance(n, ast.ClassDef) and n.name == "TestCases" for n in test_tree.body):
        raise FieldError("field 'test' defines no TestCases class")
    libs = _libs(data)
    missing = missing_libraries(libs, [tree, test_tree], known)
    return Task(
        task_id=task_id,
        entry_point=entry_point,
        source=source,
        test=test,
        solution_start=len(prompt),
        solution_end=len(prompt) + len(solution),
        suite_kind=SuiteKind.UNITTEST,
        origin=Origin(path, record.line),
        # Not runnable here is not broken: the reference was never tried.
        status=TaskStatus.ERROR if missing else TaskStatus.OK,
        message=f"{path}:{record.line}: missing library: {', '.join(missing)}" if missing else None,
        suite_data=UnittestData(libs),
    )
