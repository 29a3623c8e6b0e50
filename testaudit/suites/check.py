"""HumanEval: the test defines check(candidate), called with the entry point."""

from __future__ import annotations

import types

from testaudit.records import SuiteKind
from testaudit.suites import order
from testaudit.suites.base import HUMAN_EVAL, FunctionSuite, PreparedTask, broken_candidate


class CheckSuite(FunctionSuite):
    kind = SuiteKind.CHECK
    harness = HUMAN_EVAL

    def run(self, prepared: PreparedTask, program: types.CodeType, namespace: dict, broken: bool) -> None:
        entry_point = prepared.task.entry_point
        exec(program, namespace)
        if broken:
            namespace[entry_point] = broken_candidate
        exec(prepared.test_code, namespace)
        assertions = order.assertions(prepared, "check")
        if assertions is None:
            namespace["check"](namespace[entry_point])
        else:  # independent assertions: the one that has killed most mutants so far first
            assertions.run(namespace, namespace[entry_point], learn=not broken)

    def callee(self, entry_point: str) -> str:
        return "candidate"  # check() gets the program's function as `candidate`


SUITE = CheckSuite()
