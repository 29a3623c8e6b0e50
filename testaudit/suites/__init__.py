"""Suite kinds: how a task's tests run against a candidate, inside a sandbox child.

`run_suite` runs any task's suite against a compiled program in a fresh namespace; each kind
of suite that is not plain code (EvalPlus inputs, a unittest class, stdin/stdout cases) has a
runner in its own module.
"""

from __future__ import annotations

import random
import time
import types
from collections.abc import Callable

from testaudit.records import SuiteKind
from testaudit.suites import evalplus, stdio
from testaudit.suites import unittest as unittest_kind
from testaudit.suites.base import (
    PreparedTask,
    SuiteFailure,
    broken_candidate,
    compile_program,
    describe_failure,
    fresh_namespace,
    prepare,
)

__all__ = ["PreparedTask", "compile_program", "prepare", "run_suite", "time_reference"]

RUNNERS: dict[SuiteKind, Callable[[PreparedTask, types.CodeType, dict, bool], None]] = {
    SuiteKind.INPUTS: evalplus.run_inputs,
    SuiteKind.UNITTEST: unittest_kind.run_unittest,
    SuiteKind.STDIO: stdio.run_stdio,
}


def run_suite(
    prepared: PreparedTask, program: types.CodeType, broken: bool = False
) -> tuple[bool, str | None, dict]:
    """Run the suite against a program in a fresh namespace: (passed, failure, namespace).

    `broken` swaps the entry point for a function that always raises, to check that the
    suite calls it at all.
    """
    task = prepared.task
    namespace = fresh_namespace()
    random.seed(prepared.seed)  # checks that draw random inputs see the same ones every run
    try:
        runner = RUNNERS.get(task.suite_kind)
        if runner is not None:
            # Kinds whose tests are data (inputs, stdin cases) or a TestCase class: the runner
            # executes the program itself, since it must set up stdin or the module first.
            runner(prepared, program, namespace, broken)
            return True, None, namespace
        exec(program, namespace)
        if broken:
            namespace[task.entry_point] = broken_candidate
        if task.suite_kind is SuiteKind.CHECK:
            exec(prepared.test_code, namespace)
            namespace["check"](namespace[task.entry_point])
        elif task.suite_kind is SuiteKind.ASSERTS:
            exec(prepared.test_code, namespace)
        else:
            raise NotImplementedError(f"suite kind {task.suite_kind}")
    except SuiteFailure as exc:
        return False, str(exc), namespace
    except BaseException as exc:  # SystemExit, KeyboardInterrupt... all mean "did not pass"
        return False, describe_failure(prepared, exc), namespace
    return True, None, namespace


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
