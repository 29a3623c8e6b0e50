"""Triage end to end on hand-made tasks whose survivors have known witnesses (real processes)."""

from __future__ import annotations

import builtins
import sqlite3
from pathlib import Path

import pytest
from conftest import FIXTURES

from testaudit import triage
from testaudit.config import RunConfig
from testaudit.pipeline import run
from testaudit.records import (
    UNDETECTED,
    AuditSummary,
    MutantResult,
    MutantStatus,
    TaskAudit,
    Witness,
)
from testaudit.store import FILENAME
from testaudit.store import results_json as results

TASKS = FIXTURES / "triage_tasks.jsonl"
RULES = FIXTURES / "triage_preconditions.json"


def audit(out: Path, **options) -> AuditSummary:
    config = RunConfig(dataset=str(TASKS), workers=2, out=out, html=False, cache_dir=None, **options)
    return run(config)


def survivors(summary: AuditSummary, task_id: str) -> dict[tuple[int, str, str], MutantResult]:
    """A task's survivors by (line, original, replacement)."""
    found = next(a for a in summary.tasks if a.task.task_id == task_id)
    return {(m.location.start.line, m.original, m.replacement): found.outcome(m)
            for m in found.mutants if found.outcome(m).status in UNDETECTED}


def passes(program: str, entry_point: str, test: str) -> bool:
    namespace: dict = {"__name__": "__main__", "__builtins__": builtins}
    exec(program, namespace)
    namespace["candidate"] = namespace[entry_point]
    try:
        exec(test, namespace)
    except Exception:
        return False
    return True


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> AuditSummary:
    return audit(tmp_path_factory.mktemp("plain"))


def test_the_boundary_mutant_of_if_x_below_lo_return_lo_never_gets_a_witness(plain) -> None:
    (key, result), = survivors(plain, "triage/at_least").items()
    assert key == (3, "<", "<=")
    assert result.status is MutantStatus.SURVIVED
    assert result.witness is None and result.suggested_test is None
    assert result.inputs_tried >= 500  # it was tried, not skipped
    assert "unconfirmed, possibly equivalent" in result.detail


def test_clamp_witnesses_and_an_input_outside_the_documented_domain(plain) -> None:
    found = survivors(plain, "triage/clamp")
    dropped = found[(5, "if x > hi:\n        return hi", "pass")]
    assert dropped.witness is not None
    x, lo, hi = eval(f"({dropped.witness.input},)")  # noqa: S307 - our own repr
    assert x > hi and eval(dropped.witness.expected) == hi  # noqa: S307
    assert found[(6, "hi", "None")].status is MutantStatus.NO_COVERAGE  # never returns hi
    assert found[(6, "hi", "None")].witness.actual == "None"
    # x == lo is where `x <= lo` differs, and only when lo > hi: the docstring's "(lo <= hi)"
    # excludes that, so the witness is shown as outside the tested domain, never as wrong.
    boundary = found[(3, "<", "<=")].witness
    x, lo, hi = eval(f"({boundary.input},)")  # noqa: S307
    assert x == lo > hi
    assert boundary.outside == "`lo` <= `hi` (stated)"
    assert dropped.witness.confirmed
    assert found[(5, ">", ">=")].witness is None  # equivalent: returns hi when x == hi


def test_a_precondition_keeps_inputs_in_the_domain(tmp_path: Path) -> None:
    summary = audit(tmp_path, preconditions=RULES)
    found = survivors(summary, "triage/clamp")
    assert found[(3, "<", "<=")].witness is None
    assert found[(5, "if x > hi:\n        return hi", "pass")].witness is not None
    assert summary.settings  # the run completed with the sidecar read


def test_an_unreached_guard_is_no_coverage_and_its_witness_is_the_empty_list(plain) -> None:
    found = survivors(plain, "triage/mean")
    deleted = found[(3, "if not xs:\n        return 0.0", "pass")]
    assert deleted.witness == Witness("[]", "0.0", "raises ZeroDivisionError: division by zero")
    assert deleted.suggested_test == "assert abs(candidate([]) - 0.0) <= 1e-06"
    assert found[(4, "0.0", "None")].status is MutantStatus.NO_COVERAGE
    assert found[(4, "0.0", "None")].detail == "the suite never runs line 4"


def test_dead_code_is_no_coverage_and_stays_unconfirmed(plain) -> None:
    found = survivors(plain, "triage/sign")
    dead = [r for (line, _, _), r in found.items() if line == 9]
    assert len(dead) == 3
    assert all(r.status is MutantStatus.NO_COVERAGE and r.witness is None for r in dead)
    assert found[(3, "0", "1")].witness.input == "1"  # x > 1 misses x == 1


def test_suggested_tests_pass_on_the_reference_and_kill_every_confirmed_survivor(plain) -> None:
    checked = 0
    for task_audit in plain.tasks:
        task = task_audit.task
        # Confirmed: a witness inside the tested domain (clamp's `x <= lo` is outside it).
        confirmed = [m for m in task_audit.mutants if task_audit.outcome(m).witness is not None
                     and task_audit.outcome(m).witness.confirmed]
        assert bool(task_audit.suggested_tests) == bool(confirmed)
        for test in task_audit.suggested_tests:
            assert passes(task.source, task.entry_point, test), test
        for mutant in confirmed:
            program = mutant.apply(task.source)
            own = task_audit.outcome(mutant).suggested_test
            assert own and not passes(program, task.entry_point, own)
            assert any(not passes(program, task.entry_point, t) for t in task_audit.suggested_tests)
            checked += 1
    assert checked == plain.confirmed_wrong == 5 and plain.outside_domain == 1
    assert plain.tasks_accepting_wrong == 3


def test_results_json_round_trip_keeps_triage(plain, tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    results.write(plain, path, "test")
    back = results.read(path)
    assert back.confirmed_wrong == plain.confirmed_wrong
    assert back.triage_seconds == pytest.approx(plain.triage_seconds, abs=1e-3)
    for before, after in zip(plain.tasks, back.tasks, strict=True):
        assert after.suggested_tests == before.suggested_tests
        for mutant in before.mutants:
            a, b = before.outcome(mutant), after.outcome(mutant)
            assert (a.status, a.witness, a.suggested_test, a.inputs_tried) == \
                   (b.status, b.witness, b.suggested_test, b.inputs_tried)
    counts = results.to_json(plain, "test")["summary"]
    assert counts["confirmed_wrong"] == 5 and counts["outside_domain"] == 1
    assert counts["unconfirmed"] == plain.score.undetected - 6
    assert back.outside_domain == 1


def _triage_view(summary: AuditSummary) -> list:
    return [(a.task.task_id, a.suggested_tests,
             sorted((r.mutant_id, r.status, str(r.witness), r.suggested_test, r.inputs_tried)
                    for r in a.results.values() if r.status in UNDETECTED))
            for a in summary.tasks]


def test_same_seed_same_witnesses_and_resume_reuses_the_stored_triage(plain, tmp_path: Path,
                                                                      monkeypatch) -> None:
    first = audit(tmp_path)
    assert _triage_view(first) == _triage_view(plain)
    with sqlite3.connect(tmp_path / FILENAME) as db:
        assert db.execute("SELECT count(*) FROM triage_tasks").fetchone()[0] == 4

    def no_triage_runs(jobs, config, executors):
        assert not jobs, "a resumed run must reuse the stored triage, not redo it"
        return iter(())

    monkeypatch.setattr(triage, "_events", no_triage_runs)
    resumed = audit(tmp_path, resume=True)
    assert _triage_view(resumed) == _triage_view(first)


def test_no_triage_leaves_survivors_unjudged(tmp_path: Path) -> None:
    summary = audit(tmp_path, triage=False)
    assert summary.triage_seconds is None
    assert all(r.witness is None and r.inputs_tried == 0
               for a in summary.tasks for r in a.results.values())
    assert results.to_json(summary, "test")["summary"]["confirmed_wrong"] is None


def _one(summary: AuditSummary, task_id: str) -> TaskAudit:
    return next(a for a in summary.tasks if a.task.task_id == task_id)


def test_task_messages_say_when_triage_cannot_prove_anything(tmp_path: Path) -> None:
    summary = run(RunConfig(dataset=str(FIXTURES / "weak_tasks.jsonl"), workers=2, out=tmp_path,
                            html=False, cache_dir=None))
    never = _one(summary, "weak/never_called")
    assert "no plain-data arguments" in never.message
    assert all(never.outcome(m).status is MutantStatus.NO_COVERAGE for m in never.mutants)
    assert never.confirmed_wrong == 0
