"""MBPP: top-level asserts that call the entry point by its name, in the program's namespace."""

from __future__ import annotations

import types

from testaudit.records import SuiteKind
from testaudit.suites import order
from testaudit.suites.base import MBPP_ASSERTS, FunctionSuite, PreparedTask, broken_candidate


class AssertsSuite(FunctionSuite):
    kind = SuiteKind.ASSERTS
    harness = MBPP_ASSERTS

    def run(self, prepared: PreparedTask, program: types.CodeType, namespace: dict, broken: bool) -> None:
        exec(program, namespace)
        if broken:
            namespace[prepared.task.entry_point] = broken_candidate
        assertions = order.assertions(prepared, "asserts")
        if assertions is None:
            exec(prepared.test_code, namespace)
        else:  # independent assertions: the one that has killed most mutants so far first
            assertions.run(namespace, None, learn=not broken)


SUITE = AssertsSuite()
