"""HumanEval format: task_id, prompt, canonical_solution, test, entry_point."""

from __future__ import annotations

import ast
import warnings

from testaudit.load.fields import blamed_field, error_task, top_level_functions
from testaudit.records import Origin, SuiteKind, Task
from testaudit.store.files import Record

REQUIRED = frozenset({"task_id", "prompt", "canonical_solution", "test", "entry_point"})


def check_fields(data: dict, fields: frozenset[str]) -> str | None:
    """The first problem with a record's fields: missing, or not a string."""
    for name in sorted(fields):
        if name not in data:
            return f"field '{name}' is missing"
        if not isinstance(data[name], str):
            return f"field '{name}' must be a string, got {type(data[name]).__name__}"
    return None


def syntax_problem(code: str, field: str) -> str | None:
    try:
        # compile, not just parse: `break` outside a loop and friends only fail here.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(code, field, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        msg = getattr(exc, "msg", str(exc))
        return f"field '{field}' does not parse: {msg} (line {getattr(exc, 'lineno', '?')} of the program)"
    return None


def tasks_from(records: list[Record], path: str) -> list[Task]:
    return [task_from(record, path) for record in records]


def task_from(record: Record, path: str) -> Task:
    data = record.data
    if data is None:
        return error_task(record, path, None, record.error or "damaged record")
    task_id = data.get("task_id") if isinstance(data.get("task_id"), str) else None
    problem = check_fields(data, REQUIRED)
    if problem:
        return error_task(record, path, task_id, problem)
    prompt, solution = data["prompt"], data["canonical_solution"]
    source = prompt + solution
    if not source.endswith("\n"):
        source += "\n"
    problem = syntax_problem(source, "canonical_solution")
    if problem and blamed_field(prompt, solution) == "prompt":
        problem = syntax_problem(source, "prompt")
    problem = problem or syntax_problem(data["test"], "test")
    if not problem and not _defines_check(data["test"]):
        # Without check(candidate) the suite cannot run at all: the task is in error, not broken.
        problem = "field 'test' defines no check(candidate) function"
    if not problem and data["entry_point"] not in top_level_functions(ast.parse(source)):
        # The suite would call a name the program lacks: the record is wrong, not the reference.
        problem = (f"field 'entry_point': '{data['entry_point']}' is not a function that "
                   "prompt + canonical_solution defines")
    if problem:
        return error_task(record, path, task_id, problem)
    return Task(
        task_id=data["task_id"],
        entry_point=data["entry_point"],
        source=source,
        test=data["test"],
        solution_start=len(prompt),
        solution_end=len(prompt) + len(solution),
        suite_kind=SuiteKind.CHECK,
        origin=Origin(path, record.line),
    )


def _defines_check(test: str) -> bool:
    tree = ast.parse(test)
    return any(isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "check"
               for node in tree.body)
