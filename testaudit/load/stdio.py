"""stdin/stdout tasks: a program judged on its output for given inputs (our jsonl, and APPS's layout)."""

from __future__ import annotations

import json

from testaudit.config import LoadOptions
from testaudit.errors import FieldError
from testaudit.load.fields import (
    compiles,
    error_task,
    expand_mixed_indentation,
    identifier,
    literal_list,
    record_id,
    text,
    with_newline,
)
from testaudit.records import Origin, StdioData, SuiteKind, Task
from testaudit.store.files import Record

REQUIRED = frozenset({"task_id", "solution", "tests"})
APPS_REQUIRED = frozenset({"solutions", "input_output"})
# A stdin/stdout program has no entry function; this stands in for one in reports.
ENTRY_POINT = "<program>"
APPS_PREFIX = "APPS/"

_INTRO = [
    "stdin/stdout tests: each case feeds `input` to the program on stdin and compares what it",
    "writes to stdout with `output`, token by token (whitespace-normalised). Shown for reading:",
    "the same cases run, loaded from the dataset.",
]


def _task_from_parts(record: Record, path: str, task_id: str, solution: str,
                     cases: list[tuple[str, str]]) -> Task:
    if not cases:
        raise FieldError("the task has no test cases")
    solution = expand_mixed_indentation(solution)
    source = with_newline(solution)
    compiles(source, "solution")
    return Task(
        task_id=task_id,
        entry_point=ENTRY_POINT,
        source=source,
        test=literal_list("cases", [{"input": i, "output": o} for i, o in cases], _INTRO),
        solution_start=0,
        solution_end=len(solution),
        suite_kind=SuiteKind.STDIO,
        origin=Origin(path, record.line),
        suite_data=StdioData(cases),
    )


# --- our jsonl: {"task_id", "solution", "tests": [{"input", "output"}]} ------------------------


def tasks_from(records: list[Record], path: str, options: LoadOptions) -> list[Task]:
    return [_guarded(_build, r, path, "task_id", "") for r in records]


def _guarded(build, record: Record, path: str, id_field: str, prefix: str) -> Task:
    if record.data is None:
        return error_task(record, path, None, record.error or "damaged record")
    try:
        return build(record, path)
    except FieldError as exc:
        return error_task(record, path, record_id(record.data, id_field, prefix), str(exc))


def _build(record: Record, path: str) -> Task:
    data = record.data
    task_id = identifier(data, "task_id")
    solution = text(data, "solution")
    if "tests" not in data:
        raise FieldError("field 'tests' is missing")
    tests = data["tests"]
    if not isinstance(tests, list):
        raise FieldError(f"field 'tests' must be a list of {{input, output}}, got {type(tests).__name__}")
    cases = []
    for i, case in enumerate(tests):
        if not isinstance(case, dict):
            raise FieldError(f"field 'tests' item {i + 1} must be an object with input and output")
        try:
            cases.append((text(case, "input"), text(case, "output")))
        except FieldError as exc:
            raise FieldError(f"field 'tests' item {i + 1}: {exc}") from exc
    return _task_from_parts(record, path, task_id, solution, cases)


# --- APPS: solutions and input_output are JSON strings ----------------------------------------


def apps_tasks_from(records: list[Record], path: str, options: LoadOptions) -> list[Task]:
    return [_guarded(_build_apps, r, path, "problem_id", APPS_PREFIX) for r in records]


def _json_field(data: dict, name: str) -> object:
    if name not in data:
        raise FieldError(f"field '{name}' is missing")
    value = data[name]
    if isinstance(value, str):
        if not value.strip():
            raise FieldError(f"field '{name}' is empty")
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise FieldError(f"field '{name}' is not valid JSON ({exc.msg})") from exc
    return value


def _lines(value: object, field: str, i: int) -> str:
    """One APPS input or output: a string, or a list of lines."""
    if isinstance(value, list) and all(isinstance(x, str) for x in value):
        return "\n".join(value)
    if not isinstance(value, str):
        raise FieldError(f"field 'input_output' {field} {i + 1} must be a string")
    return value


def _build_apps(record: Record, path: str) -> Task:
    data = record.data
    has_id = "problem_id" in data
    task_id = identifier(data, "problem_id", APPS_PREFIX) if has_id else f"{APPS_PREFIX}line{record.line}"
    tests = _json_field(data, "input_output")
    if not isinstance(tests, dict) or not isinstance(tests.get("inputs"), list) \
            or not isinstance(tests.get("outputs"), list):
        raise FieldError("field 'input_output' must hold lists 'inputs' and 'outputs'")
    if tests.get("fn_name"):
        raise FieldError(f"call-based APPS task (fn_name '{tests['fn_name']}'): "
                         "only stdin/stdout tasks are supported")
    if len(tests["inputs"]) != len(tests["outputs"]):
        raise FieldError("field 'input_output' must have as many inputs as outputs")
    cases = [(_lines(i, "input", n), _lines(o, "output", n))
             for n, (i, o) in enumerate(zip(tests["inputs"], tests["outputs"], strict=True))]
    solutions = _json_field(data, "solutions")
    if not isinstance(solutions, list) or not all(isinstance(s, str) for s in solutions):
        raise FieldError("field 'solutions' must be a list of programs")
    # APPS collects human solutions, some of them Python 2: the first that compiles is the reference.
    for solution in solutions:
        solution = solution.replace("\r\n", "\n")
        try:
            compiles(with_newline(solution), "solutions")
        except FieldError:
            continue
        return _task_from_parts(record, path, task_id, solution, cases)
    raise FieldError("field 'solutions' holds no program that compiles as Python 3"
                     if solutions else "field 'solutions' is empty: no reference to mutate")
