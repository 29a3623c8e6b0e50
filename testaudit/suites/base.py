"""What every suite kind shares: the compiled task, the kill reason, the broken candidate.

Runs inside sandbox children (the suites' code executes task code) and in workers (prepare).
"""

from __future__ import annotations

import builtins
import traceback
import types
import warnings
from dataclasses import dataclass, field
from typing import Any

from testaudit.records import Task
from testaudit.text import describe_exception, one_line, short_repr

VALUE_LIMIT = 60


class SuiteFailure(Exception):
    """The suite failed; str() is the one-line kill reason."""


def broken_candidate(*args: object, **kwargs: object) -> None:
    """Stands in for the entry point to check that a suite calls it at all."""
    raise RuntimeError("testaudit: deliberately broken candidate")


BROKEN_PROGRAM = compile('raise RuntimeError("testaudit: deliberately broken program")',
                         "<broken program>", "exec")


def value_text(value: object) -> str:
    """A value as a kill reason shows it: a short repr."""
    return short_repr(value, VALUE_LIMIT)


def exception_text(exc: BaseException, program: str) -> str:
    """`Type: message (in the program at line N)` for an exception raised by the candidate."""
    name, message = describe_exception(exc)
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == program]
    where = f" (in the program at line {frames[-1].lineno})" if frames else ""
    return f"{name}: {message}{where}" if message else f"{name}{where}"


def arguments_text(args: Any) -> str:
    try:
        return one_line(", ".join(short_repr(a, VALUE_LIMIT) for a in args), VALUE_LIMIT)
    except Exception:
        return "..."


def fresh_namespace(name: str = "__main__") -> dict:
    """The namespace a program runs in: a fresh module's, as the benchmarks' harnesses give."""
    return {"__name__": name, "__builtins__": builtins}


@dataclass
class PreparedTask:
    """A task compiled once per process: its test code and its reference program."""

    task: Task
    test_code: types.CodeType
    reference_code: types.CodeType
    seed: int
    test_filename: str
    test_lines: list[str]
    # What a suite kind derives once per process and reuses for every mutant (EvalPlus's
    # expected outputs): filled in the sandbox child, never shipped back.
    cache: dict = field(default_factory=dict)


def compile_program(source: str, filename: str) -> types.CodeType:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return compile(source, filename, "exec", dont_inherit=True)


def prepare(task: Task, seed: int) -> PreparedTask:
    test_filename = f"<test {task.task_id}>"
    return PreparedTask(
        task=task,
        test_code=compile_program(task.test, test_filename),
        reference_code=compile_program(task.source, f"<reference {task.task_id}>"),
        seed=seed,
        test_filename=test_filename,
        test_lines=task.test.splitlines(),
    )


def describe_failure(prepared: PreparedTask, exc: BaseException) -> str:
    """A one-line kill reason: the failing assert's line, or the exception and where it rose."""
    try:
        frames = traceback.extract_tb(exc.__traceback__)
        test_frames = [f for f in frames if f.filename == prepared.test_filename]
        name = type(exc).__name__
        try:
            message = str(exc)
        except BaseException:  # a hostile __str__
            message = "<unprintable>"
        if isinstance(exc, AssertionError) and test_frames and frames[-1] is test_frames[-1]:
            line = test_frames[-1].lineno or 0
            text = prepared.test_lines[line - 1].strip() if 0 < line <= len(prepared.test_lines) else ""
            return one_line(f"assertion failed at test line {line}: {text}")
        where = ""
        # The innermost frame of the task's own code: a library it called (`exit()` raises
        # inside site.py) is not where the task went wrong.
        ours = [f for f in frames if f.filename.startswith("<")]
        if ours:
            last = ours[-1]
            kind = "test" if last.filename == prepared.test_filename else "program"
            where = f" (in the {kind} at line {last.lineno})"
        return one_line(f"{name}: {message}{where}" if message else f"{name}{where}")
    except BaseException:
        return "the suite failed (its exception could not be described)"


