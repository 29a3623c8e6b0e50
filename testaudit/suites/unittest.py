"""BigCodeBench: a unittest TestCases class, run as BigCodeBench's harness runs it."""

from __future__ import annotations

import os
import sys
import traceback
import types
import unittest
from collections.abc import Callable

from testaudit.records import SuiteKind
from testaudit.suites.base import (
    FunctionSuite,
    Harness,
    PreparedTask,
    SuiteFailure,
    broken_candidate,
    harness_builtins,
)
from testaudit.text import describe_exception, one_line

# bigcodebench 0.2.5, eval.untrusted_check: a module named __test__, swallow_io, exit/quit None,
# and TestCases run under time_limit(max(TIMEOUT_LIMIT 240, gt_time_limit) + 1).
HARNESS = Harness("bigcodebench untrusted_check", "__test__", disabled=("exit", "quit"),
                  sample_limit_s=241.0)


class _FirstFailure(unittest.TestResult):
    """Stops at the first failing test and keeps its one-line description."""

    def __init__(self, describe: Callable[[object, tuple], str]) -> None:
        super().__init__()
        self.describe = describe
        self.failure: str | None = None

    def _fail(self, test: object, err: tuple | None) -> None:
        if self.failure is None:
            self.failure = self.describe(test, err)
        self.stop()

    def addError(self, test, err) -> None:  # noqa: N802 - unittest's names
        self._fail(test, err)

    def addFailure(self, test, err) -> None:  # noqa: N802
        self._fail(test, err)

    def addSubTest(self, test, subtest, err) -> None:  # noqa: N802
        if err is not None:
            self._fail(subtest, err)

    def addUnexpectedSuccess(self, test) -> None:  # noqa: N802
        self._fail(test, None)


def _test_name(test: object) -> str:
    case = getattr(test, "test_case", None)  # a subTest: its method and parameters
    if case is not None:
        return f"{getattr(case, '_testMethodName', case)} {test._subDescription()}"
    return getattr(test, "_testMethodName", None) or str(test)


def _describe_test(prepared: PreparedTask, program: str) -> Callable[[object, tuple | None], str]:
    def describe(test: object, err: tuple | None) -> str:
        if err is None:
            return one_line(f"{_test_name(test)}: unexpected success")
        exc = err[1]
        frames = traceback.extract_tb(err[2])
        test_frames = [f for f in frames if f.filename == prepared.test_filename]
        where = ""
        if frames and frames[-1].filename == program:
            where = f" (in the program at line {frames[-1].lineno})"
        elif test_frames:
            line = test_frames[-1].lineno or 0
            shown = prepared.test_lines[line - 1].strip() if 0 < line <= len(prepared.test_lines) else ""
            where = f" (test line {line}: {shown})"
        kind, message = describe_exception(exc)
        return one_line(f"{_test_name(test)}: {kind}: {message}{where}" if message
                      else f"{_test_name(test)}: {kind}{where}")

    return describe


def _seed_numpy(seed: int) -> None:
    np = sys.modules.get("numpy")
    if np is not None:  # tests draw from numpy's global generator unseeded, like `random`
        try:
            np.random.seed(seed % 2**32)
        except Exception:
            pass


def run_unittest(prepared: PreparedTask, program: types.CodeType, namespace: dict, broken: bool) -> None:
    """BigCodeBench's harness: program + test in one module named __test__, TestCases run by unittest."""
    task = prepared.task
    module = types.ModuleType("__test__")
    scope = module.__dict__
    # What BigCodeBench's unsafe_execute puts in the module before running the code.
    scope.update({"__builtins__": harness_builtins(HARNESS), "__file__": "__test__.py", "__package__": None,
                  "__doc__": None, "sys": sys, "os": os, "environ": os.environ})
    saved = sys.modules.get("__test__")
    sys.modules["__test__"] = module  # for tests that patch('__test__.name')
    try:
        exec(program, scope)
        if broken:
            scope[task.entry_point] = broken_candidate
        exec(prepared.test_code, scope)
        cases = scope.get("TestCases")
        if not (isinstance(cases, type) and issubclass(cases, unittest.TestCase)):
            raise SuiteFailure("the test defines no unittest TestCases class")
        _seed_numpy(prepared.seed)
        result = _FirstFailure(_describe_test(prepared, program.co_filename))
        unittest.defaultTestLoader.loadTestsFromTestCase(cases).run(result)
        if result.failure is not None:
            raise SuiteFailure(result.failure)
    finally:
        namespace.update(scope)
        if saved is None:
            sys.modules.pop("__test__", None)
        else:
            sys.modules["__test__"] = saved


class UnittestSuite(FunctionSuite):
    kind = SuiteKind.UNITTEST
    harness = HARNESS
    style = "unittest"  # suggested tests are TestCase assertions: self.assertEqual(...)

    def run(self, prepared: PreparedTask, program: types.CodeType, namespace: dict, broken: bool) -> None:
        run_unittest(prepared, program, namespace, broken)

    def test_globals(self) -> dict:
        return {"self": unittest.TestCase()}


SUITE = UnittestSuite()
