"""Running the other formats' suites in real sandboxes: verdicts, kill reasons, broken references."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FIXTURES

from testaudit import suites
from testaudit.cli import cli
from testaudit.config import ExecSettings
from testaudit.load import LoadOptions, load
from testaudit.mutate import generate
from testaudit.records import (
    JobFailed,
    Mutant,
    MutantResult,
    MutantStatus,
    ReferenceRun,
    ResultBatch,
    TaskJob,
    TaskStatus,
)
from testaudit.run.job import run_job
from testaudit.run.pool import SerialExecutor
from testaudit.suites import evalplus as evalplus_suite
from testaudit.suites import stdio as stdio_suite

SETTINGS = ExecSettings(timeout_constant_s=0.3, memory_cap_bytes=768 << 20)


@dataclass
class Ran:
    reference: ReferenceRun
    verdicts: list[tuple[Mutant, MutantResult]]

    def find(self, original: str, replacement: str) -> MutantResult:
        found = [r for m, r in self.verdicts if (m.original, m.replacement) == (original, replacement)]
        assert found, f"no mutant {original!r} -> {replacement!r}"
        return found[0]

    def survivors(self) -> set[tuple[str, str]]:
        return {(m.original, m.replacement) for m, r in self.verdicts
                if r.status in (MutantStatus.SURVIVED, MutantStatus.NO_COVERAGE)}


def run_fixture(name: str, **options) -> dict[str, Ran]:
    """Every healthy task of a fixture, all its runnable mutants, in forked sandboxes."""
    tasks = [t for t in load(str(FIXTURES / name), None, LoadOptions(**options)).tasks
             if t.status is TaskStatus.OK]
    mutants = {t.task_id: [m for m in generate(t) if m.status is MutantStatus.PENDING] for t in tasks}
    jobs = [TaskJob(t, tuple(mutants[t.task_id])) for t in tasks]
    events = list(SerialExecutor(SETTINGS, run_job).run(jobs))
    references = {e.task_id: e for e in events if isinstance(e, ReferenceRun)}
    results = {r.mutant_id: r for e in events if isinstance(e, ResultBatch) for r in e.results}
    assert not [e for e in events if isinstance(e, JobFailed)]
    return {
        t.task_id: Ran(references[t.task_id],
                       [(m, results[m.id]) for m in mutants[t.task_id] if m.id in results])
        for t in tasks
    }


def test_mbpp_verdicts_broken_reference_setup_code_and_challenge_tests() -> None:
    ran = run_fixture("mbpp_tasks.jsonl")
    assert not ran["Mbpp/2"].reference.passed
    assert ran["Mbpp/2"].reference.message == "assertion failed at test line 1: assert double(2) == 4"
    assert ran["Mbpp/3"].reference.passed  # the Box class comes from test_setup_code
    add_one = ran["Mbpp/1"]
    assert add_one.reference.passed
    assert add_one.find("x + 1", "None").detail == "assertion failed at test line 1: assert add_one(1) == 2"
    # Nothing above 100 is tried: the guard's mutants pass the tests...
    assert {("x", "None"), ("if x > 100:\n        return x", "pass")} <= add_one.survivors()
    # ...until --challenge adds add_one(200) and add_one(101).
    challenged = run_fixture("mbpp_tasks.jsonl", challenge=True)["Mbpp/1"]
    assert challenged.survivors() < add_one.survivors()
    assert challenged.find("x", "None").detail == \
        "assertion failed at test line 3: assert add_one(200) == 200"


def test_evalplus_suites_contract_float_tolerance_and_broken_reference() -> None:
    base = run_fixture("evalplus_tasks.jsonl")
    clip = base["HumanEval/fx1"]
    # clip(1, 5, 0) breaks the contract lo <= hi: skipped, so 2 inputs run (of 3).
    assert clip.reference.passed and clip.reference.suite_calls_entry_point
    assert ("hi", "None") in clip.survivors()  # base never tries x > hi: `return None` passes
    killed = clip.find("lo", "None")
    assert killed.detail == "input 2 of 3: clip(-3, 0, 10) returned None, expected 0"
    plus = run_fixture("evalplus_tasks.jsonl", suite="plus")["HumanEval/fx1"]
    assert plus.find("hi", "None").detail == \
        "input 4 of 6: clip(15, 0, 10) returned None, expected 10"
    # mean([]) would raise in the reference: the contract (len(xs) > 0) makes it skipped, not broken.
    mean = base["HumanEval/fx2"]
    assert mean.reference.passed
    assert mean.find("/", "*").detail.startswith("input 1 of 3: mean([1.0, 2.0]) returned 6.0, expected 1.5")
    broken = base["HumanEval/fx3"]
    assert not broken.reference.passed
    assert broken.reference.message.startswith(
        "the reference raises on input 2: ZeroDivisionError: integer division or modulo by zero")
    # Mbpp/2's contract asks for tuples: only the converted inputs satisfy it and reach the function.
    similar = base["Mbpp/2"]
    assert similar.reference.passed and similar.reference.suite_calls_entry_point
    assert similar.find("&", "|").detail.startswith(
        "input 1 of 2: similar_elements((3, 4, 5, 6), (5, 7, 4, 10)) returned (3, 4, 5, 6, 7, 10)")


def test_bigcodebench_runs_testcases_and_names_the_killing_test_method() -> None:
    ran = run_fixture("bigcodebench_tasks.jsonl")
    area = ran["BigCodeBench/f1"]
    assert area.reference.passed
    assert area.find("r < 0", "not (r < 0)").detail == (
        "test_negative: AssertionError: ValueError not raised "
        "(test line 10: with self.assertRaises(ValueError):)")
    assert area.find("r < 0", "True").detail.startswith(
        "test_radius_two: ValueError: negative radius (in the program at line 11)")
    assert ("<", "<=") in area.survivors()  # r == 0 is never tried
    words = ran["BigCodeBench/f2"]
    assert words.reference.passed  # patch("__test__....") finds the code's module
    assert words.find("lower", "upper").detail.startswith("test_counts: AssertionError: 0 != 2")
    broken = ran["BigCodeBench/f3"]
    assert not broken.reference.passed
    assert broken.reference.message == ("test_wrong_expectation: AssertionError: 9 != 10 "
                                         "(test line 7: self.assertEqual(task_func(3), 10))")


def test_stdio_programs_are_judged_on_tokens_of_their_output() -> None:
    ran = run_fixture("stdio_tasks.jsonl")
    total = ran["io/sum"]
    assert total.reference.passed and total.reference.suite_calls_entry_point
    assert total.find("+", "-").detail == "test 1: expected '3\\n', got '-1\\n'"
    # Reads open(0) (file descriptor 0, not sys.stdin) and ends with sys.exit(0).
    best = ran["io/max"]
    assert best.reference.passed
    assert best.find("0", "1").status is MutantStatus.KILLED
    assert any(r.detail == "test 1: the program exited with status 1" for _, r in best.verdicts)
    assert any(r.detail == "test 1: expected '9\\n', got '9.0\\n'"  # 9.0 is not 9
               for m, r in best.verdicts if (m.original, m.replacement) == ("int", "float"))
    assert ran["io/third"].reference.passed  # 0.333333 is 0.333333333 within 1e-6
    assert not ran["io/broken"].reference.passed
    assert ran["io/broken"].reference.message == "test 1: expected '3\\n', got '4\\n'"
    apps = run_fixture("apps_tasks.jsonl")
    assert apps["APPS/1"].reference.passed and apps["APPS/2"].reference.passed
    assert apps["APPS/4"].reference.message == "test 1: expected '4\\n', got '6\\n'"
    assert apps["APPS/1"].find(":-1", "").detail == "test 1: expected 'cba\\n', got 'abc\\n'"


def test_evalplus_expected_outputs_are_computed_once_per_process(monkeypatch) -> None:
    task = next(t for t in load(str(FIXTURES / "evalplus_tasks.jsonl")).tasks if t.task_id == "HumanEval/fx1")
    calls = []
    real = evalplus_suite._compute_oracle
    monkeypatch.setattr(evalplus_suite, "_compute_oracle", lambda prepared: calls.append(1) or real(prepared))
    prepared = suites.prepare(task, 0)
    for _ in range(3):
        assert suites.run_suite(prepared, prepared.reference_code)[0]
    mutant = next(m for m in generate(task) if (m.original, m.replacement) == ("lo", "None"))
    passed, failure, _ = suites.run_suite(prepared, suites.compile_program(mutant.apply(task.source), "m"))
    assert not passed and failure.startswith("input 2 of 3")
    assert len(calls) == 1


def test_evalplus_comparison_rules() -> None:
    check = evalplus_suite.EvalPlusCheck("f", "humaneval", 0.0)
    assert check(1, 1, [1]) and not check(1, 2, [1])
    assert check(0.1 + 0.2, 0.3, [])  # a float output: atol becomes 1e-6...
    assert check.atol == 1e-6 and check(3.0, 3.0000001, [])  # ...and stays so, as in EvalPlus
    assert not check(3, 3.0000001, [])  # an int for a float: the types differ
    assert not evalplus_suite.EvalPlusCheck("f", "humaneval", 0.0)([0.1, 0.2], (0.1, 0.2), [])  # type differs
    assert evalplus_suite.EvalPlusCheck("similar_elements", "mbpp", 0)((5, 4), (4, 5), [])  # set equality
    assert evalplus_suite.EvalPlusCheck("check_str", "mbpp", 0)(object(), True, [])  # not None is enough
    assert evalplus_suite.EvalPlusCheck("find_zero", "humaneval", 1e-4)(1.0, 99, [[-1, 1]])  # 1.0 is a root
    assert stdio_suite.same_output("1 2\n3", " 1  2 3 ") and not stdio_suite.same_output("1 2", "1 2 3")
    assert stdio_suite.same_output("0.5", "0.5000001") and not stdio_suite.same_output("1.0", "1")


def test_the_cli_audits_evalplus_plus_suite_and_says_which_reference_was_mutated(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["audit", str(FIXTURES / "evalplus_tasks.jsonl"), "--suite", "plus",
                                      "--workers", "1", "--out", str(tmp_path), "--no-html", "--no-cache"])
    assert result.exit_code == 0, result.output
    assert "format: evalplus; mutated: EvalPlus canonical_solution" in result.output
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["dataset"]["reference"] == "EvalPlus canonical_solution"
    assert data["settings"]["suite"] == "plus"
    tasks = {t["task_id"]: t for t in data["tasks"]}
    assert tasks["HumanEval/fx1"]["suite_kind"] == "inputs" and tasks["HumanEval/fx1"]["status"] == "ok"
    assert tasks["HumanEval/fx3"]["status"] == "broken"
    assert all(m["status"] != "error" for t in data["tasks"] if t["status"] == "ok" for m in t["mutants"])


@pytest.mark.parametrize("name, broken", [("mbpp_sanitized.json", "Mbpp/13"), ("apps_tasks.jsonl", "APPS/4")])
def test_every_mutant_of_a_healthy_fixture_task_gets_a_verdict(name: str, broken: str) -> None:
    ran_all = run_fixture(name)
    assert not ran_all.pop(broken).reference.passed
    for task_id, ran in ran_all.items():
        assert ran.reference.passed, task_id
        assert ran.verdicts and all(r.status in (MutantStatus.KILLED, MutantStatus.SURVIVED,
                                                 MutantStatus.TIMEOUT) for _, r in ran.verdicts)


def test_every_suite_kind_is_a_registered_plug_in_implementing_the_protocol() -> None:
    from testaudit.records import SuiteKind, Task
    from testaudit.suites.base import Suite

    assert set(suites.KINDS) == set(SuiteKind)
    members = [name for name in vars(Suite) if not name.startswith("_")]
    assert {"run", "callee", "comparison", "write_test", "check_test"} <= set(members)
    for kind, suite in suites.KINDS.items():
        assert isinstance(suite, Suite), kind
        assert suite.kind is kind and isinstance(suite.has_entry_function, bool)
        for name in members:
            if name not in ("kind", "has_entry_function"):
                assert callable(getattr(suite, name)), (kind, name)
        task = Task("t/1", "f", "def f(x):\n    return x\n", "", 0, 0, kind)
        assert suites.suite_for(task) is suite and suite.comparison(task, 1e-6).kind is kind
    assert [k for k, s in suites.KINDS.items() if not s.has_entry_function] == [SuiteKind.STDIO,
                                                                               SuiteKind.REPOSITORY]
