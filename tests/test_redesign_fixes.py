"""Bugs the architecture review found, each pinned by a test that failed before its fix."""

from __future__ import annotations

import io
from pathlib import Path

from conftest import FIXTURES

from testaudit import triage
from testaudit.config import ExecSettings, RunConfig
from testaudit.gate import ci_output
from testaudit.gate.policy import GatePolicy, should_fail
from testaudit.load import load
from testaudit.mutate import generate
from testaudit.pipeline import run
from testaudit.records import (
    AuditSummary,
    Dataset,
    Incident,
    Location,
    Mutant,
    MutantResult,
    MutantStatus,
    Position,
    ResultBatch,
    Task,
    TaskAudit,
    TaskJob,
)
from testaudit.report import terminal
from testaudit.run import job as run_job_module
from testaudit.run.job import run_job
from testaudit.run.pool import SerialExecutor
from testaudit.sandbox.child import ChildError, fork, frames
from testaudit.text import percent

WEAK = FIXTURES / "weak_tasks.jsonl"


def _config(out: Path, cache: Path | None, **kw) -> RunConfig:
    return RunConfig(dataset=str(WEAK), tasks=("weak/clamp", "weak/count_down"), workers=2, out=out,
                     html=False, cache_dir=cache, **kw)


def _witness(w: object) -> tuple | None:
    if w is None:
        return None
    if isinstance(w, dict):
        return w["input"], w["expected"], w["actual"]
    return w.input, w.expected, w.actual


def _evidence(summary: AuditSummary) -> dict:
    return {m.id: (a.outcome(m).status, _witness(a.outcome(m).witness), a.outcome(m).suggested_test)
            for a in summary.tasks for m in a.mutants}


# --- a task served from the cache and then resumed is not triaged again ------------------------


def test_a_task_served_from_the_cache_is_served_again_on_resume(tmp_path: Path, monkeypatch) -> None:
    cache = tmp_path / "cache"
    fresh = run(_config(tmp_path / "a", cache))
    assert fresh.cached_tasks == 0 and fresh.confirmed_wrong > 0
    served = run(_config(tmp_path / "b", cache))
    assert served.cached_tasks == 2

    def no_triage_runs(jobs, config, executors):
        assert not jobs, "a resumed task that came from the cache must not be triaged again"
        return iter(())

    monkeypatch.setattr(triage, "_events", no_triage_runs)
    resumed = run(_config(tmp_path / "b", cache, resume=True))
    assert resumed.cached_tasks == 2
    assert _evidence(resumed) == _evidence(fresh)


# --- one percent formatter: 0.9996 is never "100.0%" ------------------------------------------


def _nearly_perfect() -> AuditSummary:
    source = "def f(x):\n    return x + 1\n"
    task = Task("t/1", "f", source, "def check(c):\n    pass\n", 10, len(source))
    mutants = [Mutant(f"m{i}", "t/1", "arithmetic", Location(Position(2, 14), Position(2, 15)), 24, 25,
                      "+", "-", "diff") for i in range(2500)]
    results = {m.id: MutantResult(m.id, "t/1", MutantStatus.SURVIVED if i == 0 else MutantStatus.KILLED)
               for i, m in enumerate(mutants)}
    audit = TaskAudit(task, mutants, results)
    return AuditSummary(Dataset("d", "d.jsonl", "humaneval", (task,)), {}, [audit])


def test_a_score_just_below_one_reads_99_9_percent_everywhere() -> None:
    assert percent(0.9996) == "99.9%" and percent(1.0) == "100%" and percent(0.0004) == "0.1%"
    summary = _nearly_perfect()
    assert abs(summary.score.mutation_score - 0.9996) < 1e-9
    printed = io.StringIO()
    terminal.print_summary(summary, "out", printed)
    violations = should_fail(summary, GatePolicy(min_score=1.0), None, 1)
    log = io.StringIO()
    ci_output.write_log(summary, violations, log)
    junit = ci_output.junit_xml(summary, violations).decode()
    for text in (printed.getvalue(), log.getvalue(), junit, *(v.reason for v in violations)):
        assert "100.0%" not in text
    assert "mutation score: 99.9%" in printed.getvalue()
    assert any(v.reason == "mutation score 99.9% is less than min-score 100%" for v in violations)
    assert "99.9%" in junit


# --- no_coverage is the run stage's verdict, before the mutant runs ----------------------------


def test_no_coverage_is_decided_before_running_also_without_triage(tmp_path: Path) -> None:
    summary = run(_config(tmp_path / "out", None, triage=False))
    clamp = next(a for a in summary.tasks if a.task.task_id == "weak/clamp")
    # The suite never calls clamp with x > hi: `return hi` (line 6 of the program) never runs.
    unreached = [m for m in clamp.mutants if clamp.outcome(m).status is MutantStatus.NO_COVERAGE]
    assert unreached and all(m.location.start.line == 6 for m in unreached)
    for mutant in unreached:
        result = clamp.outcome(mutant)
        assert result.detail == "the suite never runs line 6"
        assert result.seconds == 0.0  # judged from the reference's coverage: never run
    covered = [m for m in clamp.mutants if m.location.start.line != 6]
    assert covered and all(clamp.outcome(m).status is not MutantStatus.NO_COVERAGE for m in covered)


# --- a bug of ours inside a sandbox child is an internal error, with its traceback ------------


def test_a_bug_in_a_sandbox_child_is_reported_with_its_traceback(monkeypatch) -> None:
    task = next(t for t in load(str(WEAK)).tasks if t.task_id == "weak/count_down")
    mutants = tuple(m for m in generate(task) if m.status is MutantStatus.PENDING)[:3]

    def broken(prepared, mutant):
        raise RuntimeError("a bug of ours")

    # The child is a fork of this process (SerialExecutor): it runs the patched function.
    monkeypatch.setattr(run_job_module, "_run_mutant", broken)
    events = list(SerialExecutor(ExecSettings(), run_job).run([TaskJob(task, mutants)]))
    results = [r for e in events if isinstance(e, ResultBatch) for r in e.results]
    assert [r.mutant_id for r in results] == [m.id for m in mutants]
    assert all(r.status is MutantStatus.ERROR and r.detail == "internal error: RuntimeError: a bug of ours"
               for r in results), results
    incidents = [e for e in events if isinstance(e, Incident)]
    assert len(incidents) == len(mutants)
    assert "in broken" in incidents[0].traceback and "RuntimeError: a bug of ours" in incidents[0].traceback


def test_a_triage_child_that_raises_surfaces_as_child_error(tmp_path: Path) -> None:
    def body(send):
        send("first")
        raise ValueError("bad plan")

    seen = []
    try:
        for frame in frames(fork(body, ExecSettings(), str(tmp_path)), 10.0, 10.0):
            seen.append(frame)
    except ChildError as exc:
        assert str(exc) == "ValueError: bad plan" and "raise ValueError" in exc.error.traceback
    else:
        raise AssertionError("a child's own exception must not pass for the end of its frames")
    assert seen == ["first"]


def test_the_audit_log_holds_the_traceback_of_an_internal_error(tmp_path: Path) -> None:
    from testaudit import pipeline

    plan, _ = pipeline._plan([], (), _FakeStore())
    log = tmp_path / "testaudit.log"
    pipeline._record(Incident("t/1", "internal error in a sandbox child: X", "Traceback...\nX\n"),
                     _FakeStore(), plan, log)
    assert plan.incidents == 1
    text = log.read_text()
    assert "t/1: internal error in a sandbox child: X" in text and "Traceback..." in text


class _FakeStore:
    """Only what _plan reads before it plans any task: nothing is written for an Incident."""

    def results(self) -> dict:
        return {}

    def references(self) -> dict:
        return {}

    def task_errors(self) -> dict:
        return {}

    def triage_keys(self) -> dict:
        return {}


def test_no_coverage_holds_in_the_children_that_replace_the_first(tmp_path: Path) -> None:
    # HumanEval/140: its suite never ends a text with three spaces, so `new_text += "-"` after
    # the loop (line 29) never runs; mutants before those time out (`i+=1` dropped), and the
    # children forked after them must skip the same mutants the first child did.
    task = next(t for t in load("humaneval").tasks if t.task_id == "HumanEval/140")
    mutants = tuple(m for m in generate(task) if m.status is MutantStatus.PENDING)
    events = list(SerialExecutor(ExecSettings(), run_job).run([TaskJob(task, mutants)]))
    results = {r.mutant_id: r for e in events if isinstance(e, ResultBatch) for r in e.results}
    assert set(results) == {m.id for m in mutants}
    order = [m.id for m in mutants]
    line_29 = [m.id for m in mutants if m.location.start.line == 29]
    first_timeout = min(order.index(i) for i, r in results.items() if r.status is MutantStatus.TIMEOUT)
    assert line_29 and all(order.index(i) > first_timeout for i in line_29)
    assert all(results[i].status is MutantStatus.NO_COVERAGE for i in line_29)
