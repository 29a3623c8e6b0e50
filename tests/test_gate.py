"""The CI gate: thresholds, pyproject config, ratchet, exit codes, JUnit and GitHub output."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FIXTURES

from testaudit.cli import cli
from testaudit.errors import UsageError
from testaudit.gate import ci_output
from testaudit.gate.policy import GatePolicy, TaskBaseline, policy_from_pyproject, should_fail
from testaudit.records import (
    AuditSummary,
    Dataset,
    Location,
    Mutant,
    MutantResult,
    MutantStatus,
    Origin,
    Position,
    Task,
    TaskAudit,
    TaskStatus,
    Witness,
)


def _audit(task_id: str, statuses: list[MutantStatus], witnesses: int = 0, line: int = 1,
           status: TaskStatus = TaskStatus.OK) -> TaskAudit:
    source = "def f(x):\n    return x + 1\n"
    task = Task(task_id, "f", source, "def check(c):\n    pass\n", 10, len(source),
                origin=Origin("tasks.jsonl", line))
    mutants, results = [], {}
    given = 0
    for i, st in enumerate(statuses):
        m = Mutant(f"{task_id}-{i}", task_id, "arithmetic", Location(Position(2, 14), Position(2, 15)),
                   24, 25, "+", "-", "diff")
        mutants.append(m)
        witness = None
        if st is MutantStatus.SURVIVED and given < witnesses:  # only survivors get witnesses
            given += 1
            witness = Witness("(1,)", "2", "0")
        results[m.id] = MutantResult(m.id, task_id, st, None, witness=witness,
                                     suggested_test="assert candidate(1) == 2" if witness else None)
    message = "broken!" if status is TaskStatus.BROKEN else None
    return TaskAudit(task, mutants, results, status=status, message=message)


K, S = MutantStatus.KILLED, MutantStatus.SURVIVED


def _summary(*audits: TaskAudit) -> AuditSummary:
    return AuditSummary(Dataset("d", "tasks.jsonl", "humaneval", tuple(a.task for a in audits)), {},
                        list(audits))


def test_thresholds_name_each_failing_task_and_reason() -> None:
    summary = _summary(_audit("strong", [K, K, K, K]), _audit("weak", [K, S, S, S], witnesses=2))
    policy = GatePolicy(min_score=0.9, max_confirmed_wrong=0, max_survivors=2)
    reasons = {(v.task_id, v.reason) for v in should_fail(summary, policy)}
    assert reasons == {
        ("weak", "mutation score 25.0% is less than min-score 90.0%"),
        ("weak", "2 confirmed wrong programs pass its tests (max-confirmed-wrong 0)"),
        ("weak", "3 mutants survive (max-survivors 2)"),
    }
    assert should_fail(summary, GatePolicy(min_score=0.25)) == []


def test_dataset_thresholds_and_nothing_tested() -> None:
    summary = _summary(_audit("a", [K, S]), _audit("b", [K, K]))
    reasons = [v.reason for v in should_fail(summary, GatePolicy(dataset_min_score=0.8), executed=4)]
    assert reasons == ["dataset mutation score 75.0% is less than dataset-min-score 80.0%"]
    empty = should_fail(_summary(_audit("a", [])), GatePolicy(), executed=0)
    assert [v.reason for v in empty] == ["no mutant ran: nothing was tested"]


def test_broken_tasks_fail_unless_the_baseline_already_had_them_broken() -> None:
    summary = _summary(_audit("x", [], status=TaskStatus.BROKEN))
    assert [v.task_id for v in should_fail(summary, GatePolicy())] == ["x"]
    assert should_fail(summary, GatePolicy(), {"x": TaskBaseline(None, 0, "broken")}) == []


def test_ratchet_fails_only_weaker_old_tasks_and_applies_thresholds_to_new_ones() -> None:
    summary = _summary(_audit("old_same", [K, S]), _audit("old_weaker", [K, S, S]),
                       _audit("new_weak", [K, S]))
    baseline = {"old_same": TaskBaseline(0.5, 0), "old_weaker": TaskBaseline(0.5, 0)}
    violations = should_fail(summary, GatePolicy(min_score=0.9), baseline)
    assert {(v.task_id, v.reason) for v in violations} == {
        ("old_weaker", "mutation score fell from 50.0% to 33.3%"),
        ("new_weak", "mutation score 50.0% is less than min-score 90.0%"),
    }


def test_pyproject_thresholds_and_their_errors(tmp_path: Path) -> None:
    config = tmp_path / "pyproject.toml"
    config.write_text("[tool.testaudit]\nmin-score = 0.8\nmax-confirmed-wrong = 0\n")
    policy = policy_from_pyproject(config)
    assert policy == GatePolicy(min_score=0.8, max_confirmed_wrong=0)
    assert policy.merged(GatePolicy(min_score=0.5)).min_score == 0.5  # the command line wins
    config.write_text("[tool.testaudit]\nmin-score = 80\n")
    with pytest.raises(UsageError, match="field 'min-score': expected a number between 0 and 1"):
        policy_from_pyproject(config)
    config.write_text("[tool.testaudit]\nmin-scor = 0.5\n")  # a typo must not switch it off
    with pytest.raises(UsageError, match="field 'min-scor': unknown"):
        policy_from_pyproject(config)


def test_an_invalid_pyproject_that_may_hold_the_thresholds_is_an_error_not_a_pass(tmp_path: Path) -> None:
    from testaudit.gate.policy import find_config

    project = tmp_path / "project"
    (project / "tasks").mkdir(parents=True)
    (tmp_path / "pyproject.toml").write_text("[tool.testaudit]\nmin-score = 0.9\n")
    config = project / "pyproject.toml"
    config.write_text("[project]\nname = 'x'\n")  # valid, no table: the search goes on up
    assert find_config(project / "tasks") == tmp_path / "pyproject.toml"
    config.write_text("[project\nname = 'x'\n")  # broken, but says nothing of testaudit
    assert find_config(project / "tasks") == tmp_path / "pyproject.toml"
    config.write_text("[tool.testaudit]\nmin-score = = 0.9\n")  # broken where thresholds are
    with pytest.raises(UsageError, match=r"project/pyproject.toml: not valid TOML .*line 2"):
        find_config(project / "tasks")


def test_junit_has_one_failing_testcase_per_failing_task() -> None:
    summary = _summary(_audit("good", [K, K]), _audit("bad/1", [K, S], witnesses=1, line=7),
                       _audit("bad/2", [S, S], line=9))
    violations = should_fail(summary, GatePolicy(min_score=0.9))
    root = ET.fromstring(ci_output.junit_xml(summary, violations))
    cases = root.findall(".//testcase")
    assert [c.get("name") for c in cases] == ["good", "bad/1", "bad/2"]
    failed = [c.get("name") for c in cases if c.find("failure") is not None]
    assert failed == ["bad/1", "bad/2"]
    text = cases[1].find("failure").text
    assert "tasks.jsonl:7: program line 2: `+` -> `-`" in text and "expected 2, got 0" in text
    assert root.find("testsuite").get("failures") == "2"


def test_github_annotations_point_at_the_task_line(tmp_path: Path, monkeypatch) -> None:
    summary = _summary(_audit("bad", [S], line=12))
    violations = should_fail(summary, GatePolicy(min_score=0.5))
    (line,) = ci_output.github_annotations(summary, violations)
    assert line.startswith("::error file=tasks.jsonl,line=12,title=testaudit%3A bad::mutation score")
    out = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(out))
    import io

    stream = io.StringIO()
    ci_output.emit_github(summary, violations, stream)
    assert stream.getvalue() == line + "\n"
    assert "| bad | tasks.jsonl:12 | 0% |" in out.read_text()


def test_gate_command_exit_codes(tmp_path: Path) -> None:
    weak = str(FIXTURES / "weak_tasks.jsonl")
    run = CliRunner().invoke
    args = ["gate", weak, "--tasks", "weak/clamp", "--out", str(tmp_path / "o"), "--no-html"]
    failing = run(cli, [*args, "--min-score", "0.9", "--junit", str(tmp_path / "j.xml")])
    assert failing.exit_code == 1
    assert "FAIL weak/clamp at" in failing.output and "weak_tasks.jsonl:1" in failing.output
    assert ET.parse(tmp_path / "j.xml").getroot().find(".//failure") is not None
    assert run(cli, [*args, "--min-score", "0.5"]).exit_code == 0
    assert run(cli, [*args, "--min-score", "2"]).exit_code == 2
    assert run(cli, ["gate", str(FIXTURES / "not_a_dataset.txt")]).exit_code == 2
    nothing = run(cli, ["gate", weak, "--tasks", "weak/broken_add", "--out", str(tmp_path / "n"),
                        "--min-score", "0.5"])
    assert nothing.exit_code == 1 and "no mutant ran" in nothing.output
    # A gate without any threshold would pass anything: a usage error, before any work.
    unset = run(cli, ["gate", weak, "--tasks", "weak/clamp", "--out", str(tmp_path / "u")])
    assert unset.exit_code == 2 and "no threshold set" in unset.output
    # A suite that never calls its entry point fails the gate whatever the thresholds.
    idle = run(cli, ["gate", weak, "--tasks", "weak/never_called", "--out", str(tmp_path / "i"),
                     "--max-survivors", "100"])
    assert idle.exit_code == 1 and "the suite never calls double" in idle.output
    missing = run(cli, [*args, "--config", str(tmp_path / "nope.toml")])
    assert missing.exit_code == 2 and "cannot read the config" in missing.output
    baseline = tmp_path / "o" / "results.json"
    assert json.loads(baseline.read_text())["tasks"][0]["task_id"] == "weak/clamp"
    ratchet = run(cli, [*args, "--min-score", "0.9", "--baseline", str(baseline)])
    assert ratchet.exit_code == 0, ratchet.output  # not weaker than the baseline


def test_github_annotation_paths_are_relative_to_the_workspace(tmp_path: Path, monkeypatch) -> None:
    summary = _summary(_audit("bad", [S], line=3))
    task = summary.tasks[0].task
    absolute = str(tmp_path / "bench" / "tasks.jsonl")
    summary.tasks[0].task = Task(task.task_id, task.entry_point, task.source, task.test,
                                 task.solution_start, task.solution_end, origin=Origin(absolute, 3))
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))
    (line,) = ci_output.github_annotations(summary, should_fail(summary, GatePolicy(min_score=0.5)))
    assert line.startswith("::error file=bench/tasks.jsonl,line=3,")
