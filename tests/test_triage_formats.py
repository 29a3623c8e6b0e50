"""Triage of EvalPlus, BigCodeBench and stdin/stdout tasks: witnesses and tests in each format's own form."""

from __future__ import annotations

import builtins
import json
import random
import subprocess
import sys
import unittest
from pathlib import Path

import pytest
from conftest import FIXTURES

from testaudit.config import RunConfig
from testaudit.pipeline import run
from testaudit.records import UNDETECTED, AuditSummary, Mutant, MutantResult, MutantStatus, TaskAudit, Witness
from testaudit.suites.base import assertion
from testaudit.suites.evalplus import (
    EVALPLUS_INPUT,
    EvalPlusCheck,
    EvalPlusComparison,
    deserialize,
    evalplus_input,
    evalplus_test,
    read_evalplus_input,
)
from testaudit.suites.stdio import StdinGenerator, StdioComparison, same_output
from testaudit.values import Input


def audit(name: str, out: Path) -> dict[str, TaskAudit]:
    summary: AuditSummary = run(RunConfig(dataset=str(FIXTURES / name), workers=2, out=out, html=False,
                                          cache_dir=None))
    return {a.task.task_id: a for a in summary.tasks}


def survivors(audit: TaskAudit) -> dict[tuple[int, str, str], tuple[Mutant, MutantResult]]:
    """A task's survivors by (line, original, replacement)."""
    return {(m.location.start.line, m.original, m.replacement): (m, audit.outcome(m))
            for m in audit.mutants if audit.outcome(m).status in UNDETECTED}


def namespace(program: str) -> dict:
    scope: dict = {"__name__": "__main__", "__builtins__": builtins}
    exec(program, scope)
    return scope


# ---------------------------------------------------------------- EvalPlus


@pytest.fixture(scope="module")
def evalplus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, TaskAudit]:
    return audit("evalplus_tasks.jsonl", tmp_path_factory.mktemp("evalplus"))


def _evalplus_holds(test: str, audit: TaskAudit, program: str) -> tuple[bool, bool]:
    """(input line judged right by EvalPlus's rule, assertion passes) for a program, checked here."""
    task = audit.task
    first, _, check = test.partition("\n")
    args = deserialize(task.task_id, "input", [json.loads(first.removeprefix(EVALPLUS_INPUT))])[0]
    expected = namespace(task.source)[task.entry_point](*args)
    scope = namespace(program)
    judge = EvalPlusCheck(task.entry_point, task.suite_data.family, task.suite_data.atol)
    judged = judge(scope[task.entry_point](*args), expected, args)
    try:
        exec(check, scope)
    except AssertionError:
        return judged, False
    return judged, True


def test_evalplus_witnesses_come_from_the_other_suite_and_respect_the_contract(evalplus) -> None:
    clip = evalplus["HumanEval/fx1"]
    found = survivors(clip)
    dropped = found[(8, "if x > hi:\n        return hi", "pass")][1]
    # [15, 0, 10] is a plus_input: the base suite's audit tries the plus suite's inputs first.
    assert dropped.witness == Witness("15, 0, 10", "10", "15")
    assert dropped.suggested_test == "# input: [15, 0, 10]\nassert clip(15, 0, 10) == 10"
    assert found[(9, "hi", "None")][1].status is MutantStatus.NO_COVERAGE
    assert found[(9, "hi", "None")][1].witness.actual == "None"
    # `x <= lo` returns lo instead of hi only when x == lo > hi: the contract rules that out.
    boundary = found[(6, "<", "<=")][1]
    assert boundary.witness is None and boundary.inputs_tried >= 500
    assert clip.suggested_tests == ["# input: [15, 0, 10]\nassert clip(15, 0, 10) == 10"]


def test_evalplus_suggested_tests_hold_both_ways_in_both_forms(evalplus) -> None:
    checked = 0
    for audit in evalplus.values():
        for mutant, result in survivors(audit).values():
            if result.suggested_test is None:
                continue
            assert result.suggested_test.startswith(EVALPLUS_INPUT)
            assert _evalplus_holds(result.suggested_test, audit, audit.task.source) == (True, True)
            wrong = mutant.apply(audit.task.source)
            assert _evalplus_holds(result.suggested_test, audit, wrong) == (False, False)
            checked += 1
    assert checked >= 2


def test_evalplus_set_equality_tasks_are_judged_as_evalplus_judges_them(evalplus) -> None:
    # Diff's outputs are compared as sets by EvalPlus: a reversed sort is a right answer.
    (key, (_, reverse)), = survivors(evalplus["Mbpp/901"]).items()
    assert key[2] == "), reverse=True"
    assert reverse.witness is None and reverse.inputs_tried > 100


def test_evalplus_comparison_follows_its_tolerance_and_special_oracles() -> None:
    diff = EvalPlusComparison(0.0, entry_point="Diff", family="mbpp", task_id="Mbpp/901")
    assert diff.same(Input(([1], [2])), [1, 2], [2, 1])
    assert not EvalPlusComparison(0.0, entry_point="Diff", family="humaneval",
                              task_id="HumanEval/1").same(Input(()), [1, 2], [2, 1])
    exact = EvalPlusComparison(0.0, entry_point="f", family="humaneval", task_id="HumanEval/1")
    assert exact.same(Input(()), 0.1 + 0.2, 0.3)  # atol 0: 1e-6 for a float output
    assert not exact.same(Input(()), 0.3, 0.31)
    assert not exact.same(Input(()), 3.0000001, 3)  # an int where EvalPlus wants a float
    assert not exact.same(Input(()), [[0.1]], [[0.1 + 1e-9]])  # nested: no tolerance, as in EvalPlus
    assert not exact.same(Input(()), (1, 2), [1, 2])
    given = EvalPlusComparison(0.5, entry_point="f", family="humaneval", task_id="HumanEval/1")
    assert given.same(Input(()), 1.0, 1.4) and not given.same(Input(()), 1.0, 1.6)
    words = StdioComparison()
    assert words.same(None, "1 2\n", "1  2") and not words.same(None, "9\n", "9.0\n")


def test_evalplus_inputs_are_written_as_the_dataset_stores_them() -> None:
    pairs = Input(((3, 4), (5, 4)))  # Mbpp/2: EvalPlus converts each argument to a tuple
    assert evalplus_input("Mbpp/2", pairs) == "# input: [[3, 4], [5, 4]]"
    assert read_evalplus_input("# input: [[3, 4], [5, 4]]", "Mbpp/2") == [(3, 4), (5, 4)]
    assert evalplus_input("HumanEval/1", pairs) is None  # no conversion reads a tuple back there
    # Mbpp/115: lists become sets, except an empty one, which EvalPlus turns into {} (a dict)
    assert evalplus_input("Mbpp/115", Input(([{2, 1}, {}],))) == "# input: [[[1, 2], {}]]"
    assert evalplus_input("Mbpp/115", Input(([set()],))) is None  # EvalPlus cannot hold an empty set
    assert evalplus_input("Mbpp/124", Input((1.0, 2 + 3j))) == '# input: [1.0, "(2+3j)"]'
    assert evalplus_input("HumanEval/1", Input((1,), {"k": 2})) is None  # EvalPlus passes *args only
    same = evalplus_test(Input(([1, 2], [2])), [1], "Mbpp/901", "Diff", "mbpp", 0.0)
    assert same == "# input: [[1, 2], [2]]\nassert set(Diff([1, 2], [2])) == set([1])"
    special = evalplus_test(Input(("ab",)), True, "Mbpp/902", "check_str", "mbpp", 0.0)
    assert special == '# input: ["ab"]'  # judged "not None": no == says the same
    volume = evalplus_test(Input((2.5,)), 5.0, "Mbpp/903", "f", "mbpp", 0.0)
    assert volume == "# input: [2.5]\nassert abs(f(2.5) - 5.0) <= 1e-06 + 1e-07 * abs(5.0)"


# ---------------------------------------------------------------- BigCodeBench


@pytest.fixture(scope="module")
def bigcodebench(tmp_path_factory: pytest.TempPathFactory) -> dict[str, TaskAudit]:
    return audit("bigcodebench_tasks.jsonl", tmp_path_factory.mktemp("bigcodebench"))


def _unittest_passes(line: str, program: str) -> bool:
    scope = namespace(program)
    scope["self"] = unittest.TestCase()
    try:
        exec(line, scope)
    except Exception:
        return False
    return True


def test_bigcodebench_survivors_get_testcase_assertions(bigcodebench) -> None:
    area = bigcodebench["BigCodeBench/f1"]
    found = survivors(area)
    for key in ((10, "<", "<="), (10, "0", "1")):
        mutant, result = found[key]
        assert result.witness == Witness("0", "0.0", "raises ValueError: negative radius")
        assert result.suggested_test == "self.assertAlmostEqual(task_func(0), 0.0, delta=1e-06)"
        assert _unittest_passes(result.suggested_test, area.task.source)
        assert not _unittest_passes(result.suggested_test, mutant.apply(area.task.source))
    assert area.suggested_tests == ["self.assertAlmostEqual(task_func(0), 0.0, delta=1e-06)"]


def test_bigcodebench_says_why_it_cannot_confirm(bigcodebench) -> None:
    stream = bigcodebench["BigCodeBench/f7"]  # its test passes an io.StringIO
    assert survivors(stream) and stream.confirmed_wrong == 0
    assert "1 call of task_func passes objects that are not plain data" in stream.message
    counter = bigcodebench["BigCodeBench/f2"]  # returns a collections.Counter
    assert "results on the suite's inputs are not plain data (Counter)" in counter.message
    assert all(r.witness is None for _, r in survivors(counter).values())


def test_unittest_style_assertions() -> None:
    assert assertion(Input((1,)), None, "f", 1e-6, style="unittest") == "self.assertIs(f(1), None)"
    assert assertion(Input((1,)), [1], "f", 1e-6, style="unittest") == "self.assertEqual(f(1), [1])"
    both = assertion(Input((1,)), [0.5, 1], "f", 1e-6, style="unittest")
    assert both.startswith("self.assertTrue(len(out := f(1)) == 2 and all(")
    assert _unittest_passes(both, "def f(x):\n    return [0.5, 1.0]\n")
    assert not _unittest_passes(both, "def f(x):\n    return [0.5, 1.1]\n")


# ---------------------------------------------------------------- stdin/stdout


@pytest.fixture(scope="module")
def stdio(tmp_path_factory: pytest.TempPathFactory) -> dict[str, TaskAudit]:
    return audit("stdio_tasks.jsonl", tmp_path_factory.mktemp("stdio"))


def _output(program: str, given: str) -> str:
    """The program's stdout for this stdin, in a separate interpreter (it reads file descriptor 0)."""
    done = subprocess.run([sys.executable, "-c", program], input=given, capture_output=True, text=True,
                          timeout=30, check=False)
    return done.stdout if done.returncode == 0 else f"exit {done.returncode}"


def test_stdio_witnesses_are_stdin_texts_and_tests_are_new_cases(stdio) -> None:
    best = stdio["io/max"]
    found = survivors(best)
    confirmed = {key for key, (_, r) in found.items() if r.witness is not None}
    assert confirmed == {(4, "1", "0"), (6, "1", "2")}  # data[0:] and xs[2:]
    for key in ((7, ">", ">="), (10, "sys.exit(0)", "pass"), (3, "split", "rsplit")):
        assert found[key][1].witness is None  # equivalent
    header = found[(4, "1", "0")][1].witness
    n, *numbers = map(int, header.input.split())
    assert n == len(numbers) and n > max(numbers)  # a well-formed input on which n is the largest
    assert same_output(header.expected, str(max(numbers)))
    checked = 0
    for mutant, result in found.values():
        if result.suggested_test is None:
            continue
        case = json.loads(result.suggested_test)
        assert same_output(_output(best.task.source, case["input"]), case["output"])
        assert not same_output(_output(mutant.apply(best.task.source), case["input"]), case["output"])
        checked += 1
    assert checked == 2
    assert best.suggested_tests
    assert all(set(json.loads(t)) == {"input", "output"} for t in best.suggested_tests)
    assert best.message is None


def test_stdin_generation_keeps_the_shape_of_an_input() -> None:
    seeds = [Input(("3\n9 1 2\n",)), Input(("2\nab\ncd\n",))]
    first = StdinGenerator(seeds, random.Random("s"), "")
    made = [inp for _, inp in zip(range(300), first, strict=False)]
    again = [inp for _, inp in zip(range(300), StdinGenerator(seeds, random.Random("s"), ""), strict=False)]
    assert made == again  # deterministic for a seed
    assert all(type(inp.args[0]) is str and inp.distance == 1 for inp in made)
    texts = {inp.args[0] for inp in made}
    assert "3\n9 1 3\n" in texts or "3\n9 1 1\n" in texts  # a number moved by one
    # A line added or removed updates the count before it; a token likewise.
    assert "3\nab\nab\ncd\n" in texts and "3\nab\ncd\ncd\n" in texts
    assert "4\n9 9 1 2\n" in texts or "4\n9 1 1 2\n" in texts
    assert not any(t.startswith("\n") for t in texts)  # the header line is never dropped
