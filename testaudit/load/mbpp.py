"""MBPP formats: the original jsonl (text, code, test_list...) and sanitized MBPP (a JSON array)."""

from __future__ import annotations

from testaudit.config import LoadOptions
from testaudit.errors import FieldError
from testaudit.load.fields import (
    called_function,
    compiles,
    error_task,
    expand_mixed_indentation,
    identifier,
    record_id,
    strings,
    text,
    with_newline,
)
from testaudit.records import Origin, SuiteKind, Task
from testaudit.store.files import Record

REQUIRED = frozenset({"task_id", "text", "code", "test_list"})
SANITIZED_REQUIRED = frozenset({"task_id", "prompt", "code", "test_list"})
ID_PREFIX = "Mbpp/"  # EvalPlus's spelling, so that MBPP and MBPP+ reports line up


def tasks_from(records: list[Record], path: str, options: LoadOptions) -> list[Task]:
    return [_task(r, path, options, sanitized=False) for r in records]


def sanitized_tasks_from(records: list[Record], path: str, options: LoadOptions) -> list[Task]:
    return [_task(r, path, options, sanitized=True) for r in records]


def _task(record: Record, path: str, options: LoadOptions, sanitized: bool) -> Task:
    if record.data is None:
        return error_task(record, path, None, record.error or "damaged record")
    try:
        return _build(record, path, options, sanitized)
    except FieldError as exc:
        return error_task(record, path, record_id(record.data, "task_id", ID_PREFIX), str(exc))


def _build(record: Record, path: str, options: LoadOptions, sanitized: bool) -> Task:
    data = record.data
    task_id = identifier(data, "task_id", ID_PREFIX)
    # MBPP has no prompt to keep: the whole of `code` is the reference solution, all mutable.
    code = expand_mixed_indentation(text(data, "code"))
    asserts = strings(data, "test_list")
    if sanitized:
        setup = "\n".join(strings(data, "test_imports", []))
    else:
        setup = text(data, "test_setup_code", "")
        if options.challenge:
            asserts = asserts + strings(data, "challenge_test_list", [])
    if not asserts:
        raise FieldError("field 'test_list' is empty: the task has no tests")
    source = with_newline(code)
    tree = compiles(source, "code")
    test = "".join(with_newline(part) for part in (setup, *asserts) if part.strip())
    compiles(test, "test_list")
    entry_point = called_function(tree, asserts)
    if entry_point is None:
        raise FieldError("field 'test_list' calls none of the functions that 'code' defines")
    return Task(
        task_id=task_id,
        entry_point=entry_point,
        source=source,
        test=test,
        solution_start=0,
        solution_end=len(code),
        suite_kind=SuiteKind.ASSERTS,
        origin=Origin(path, record.line),
    )
