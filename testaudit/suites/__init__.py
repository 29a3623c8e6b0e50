"""Suite kinds: how a task's tests run against a candidate, inside a sandbox child.

Each kind is one module implementing the `Suite` Protocol (base.py): check.py (HumanEval),
asserts.py (MBPP), evalplus.py (EvalPlus inputs), unittest.py (BigCodeBench), stdio.py
(stdin/stdout), swebench/ (SWE-bench repositories). `KINDS` registers them; the stages ask
`suite_for(task)` and never branch on the kind. `run_suite` runs any task's suite against a
compiled program in a fresh namespace.
"""

from __future__ import annotations

import random
import time
import types

from testaudit.records import SuiteKind, Task
from testaudit.suites import asserts, check, evalplus, stdio, swebench
from testaudit.suites import unittest as unittest_kind
from testaudit.suites.base import (
    Comparison,
    PreparedTask,
    Suite,
    SuiteFailure,
    compile_program,
    describe_failure,
    harness_io,
    prepare,
)

__all__ = ["KINDS", "Comparison", "PreparedTask", "Suite", "compile_program", "prepare", "run_suite",
           "suite_for", "time_reference"]

KINDS: dict[SuiteKind, Suite] = {
    SuiteKind.CHECK: check.SUITE,
    SuiteKind.ASSERTS: asserts.SUITE,
    SuiteKind.INPUTS: evalplus.SUITE,
    SuiteKind.UNITTEST: unittest_kind.SUITE,
    SuiteKind.STDIO: stdio.SUITE,
    SuiteKind.REPOSITORY: swebench.SUITE,
}


def suite_for(task: Task) -> Suite:
    """The task's suite kind."""
    return KINDS[task.suite_kind]


def run_suite(
    prepared: PreparedTask, program: types.CodeType, broken: bool = False
) -> tuple[bool, str | None, dict]:
    """Run the suite against a program in a fresh namespace, with the streams and builtins the
    benchmark's own evaluator gives it: (passed, failure, namespace).

    `broken` swaps the entry point for a function that always raises, to check that the
    suite calls it at all.
    """
    suite = suite_for(prepared.task)
    namespace = suite.namespace()  # the evaluator's: `__name__`, builtins (Suite.harness)
    random.seed(prepared.seed)  # checks that draw random inputs see the same ones every run
    try:
        with harness_io(suite.harness):
            suite.run(prepared, program, namespace, broken)
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
