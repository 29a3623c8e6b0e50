"""Run a task's suite against one candidate program, inside a disposable child process."""

from __future__ import annotations

import builtins
import ctypes
import os
import random
import resource
import signal
import sys
import threading
import time
import traceback
import types
import warnings
from dataclasses import dataclass, field

from testaudit import suites
from testaudit.records import SuiteKind, Task

PR_SET_PDEATHSIG = 1
MESSAGE_LIMIT = 300


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies, so nothing outlives an audit."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the orphan check in workers still applies
        pass


def harden(memory_cap: int, file_cap: int, workdir: str) -> None:
    """Contain a hostile candidate: memory and file-size caps, no terminal I/O, a private cwd."""
    for limit, value in ((resource.RLIMIT_AS, memory_cap), (resource.RLIMIT_FSIZE, file_cap)):
        try:
            resource.setrlimit(limit, (value, value))
        except (ValueError, OSError):
            pass
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ValueError, OSError):
        pass
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    sink = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the child
    sys.stdout = sys.stderr = sink
    sys.stdin = open(os.devnull)  # noqa: SIM115 - input() gets EOF, never blocks
    os.chdir(workdir)
    warnings.simplefilter("ignore")


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


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 3] + "..."


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
            return _short(f"assertion failed at test line {line}: {text}")
        where = ""
        # The innermost frame of the task's own code: a library it called (`exit()` raises
        # inside site.py) is not where the task went wrong.
        ours = [f for f in frames if f.filename.startswith("<")]
        if ours:
            last = ours[-1]
            kind = "test" if last.filename == prepared.test_filename else "program"
            where = f" (in the {kind} at line {last.lineno})"
        return _short(f"{name}: {message}{where}" if message else f"{name}{where}")
    except BaseException:
        return "the suite failed (its exception could not be described)"


def run_suite(
    prepared: PreparedTask, program: types.CodeType, broken: bool = False
) -> tuple[bool, str | None, dict]:
    """Run the suite against a program in a fresh namespace: (passed, failure, namespace).

    `broken` swaps the entry point for a function that always raises, to check that the
    suite calls it at all.
    """
    task = prepared.task
    namespace: dict = {"__name__": "__main__", "__builtins__": builtins}
    random.seed(prepared.seed)  # checks that draw random inputs see the same ones every run
    try:
        runner = suites.RUNNERS.get(task.suite_kind)
        if runner is not None:
            # Kinds whose tests are data (inputs, stdin cases) or a TestCase class: the runner
            # executes the program itself, since it must set up stdin or the module first.
            runner(prepared, program, namespace, broken)
            return True, None, namespace
        exec(program, namespace)
        if broken:
            namespace[task.entry_point] = suites.broken_candidate
        if task.suite_kind is SuiteKind.CHECK:
            exec(prepared.test_code, namespace)
            namespace["check"](namespace[task.entry_point])
        elif task.suite_kind is SuiteKind.ASSERTS:
            exec(prepared.test_code, namespace)
        else:
            raise NotImplementedError(f"suite kind {task.suite_kind}")
    except suites.SuiteFailure as exc:
        return False, str(exc), namespace
    except BaseException as exc:  # SystemExit, KeyboardInterrupt... all mean "did not pass"
        return False, describe_failure(prepared, exc), namespace
    return True, None, namespace


class Fingerprint:
    """Cheap snapshot of process state a mutant could damage for the mutants after it."""

    def __init__(self, modules: list[types.ModuleType]) -> None:
        self.modules = [builtins, *modules]
        self.value = self._take()

    def _take(self) -> tuple:
        return (
            tuple(tuple(map(id, vars(m).values())) for m in self.modules),
            sys.getrecursionlimit(),
            id(sys.stdout),
            id(sys.stderr),
            threading.active_count(),
            os.getcwd(),
        )

    def damaged(self) -> bool:
        try:
            return self._take() != self.value
        except BaseException:
            return True


def modules_in(namespace: dict) -> list[types.ModuleType]:
    """Modules the program and its test reach by name (math, re, ...): worth watching."""
    return [v for v in namespace.values() if isinstance(v, types.ModuleType) and v is not builtins]


def time_reference(prepared: PreparedTask, budget_s: float = 0.3) -> tuple[bool, str | None, float, dict]:
    """Run the reference until it fails or we have a stable median of its CPU time.

    CPU time, not wall time: the budget it sets must not grow because the machine was busy
    while we measured (mutant budgets are enforced in CPU time too).
    """
    times = []
    namespace: dict = {}
    started = time.perf_counter()
    while len(times) < 21:
        t0 = time.process_time()
        passed, failure, namespace = run_suite(prepared, prepared.reference_code)
        times.append(time.process_time() - t0)
        if not passed:
            return False, failure, times[-1], namespace
        if len(times) >= 3 and time.perf_counter() - started > budget_s:
            break
    times.sort()
    return True, None, times[len(times) // 2], namespace
