"""Triage on real HumanEval tasks: witnesses reproduce, oracles and vacuous checks are handled."""

from __future__ import annotations

import builtins
import html
import signal
from pathlib import Path

import pytest

from testaudit.config import RunConfig
from testaudit.pipeline import run
from testaudit.records import UNDETECTED, AuditSummary, MutantStatus, TaskAudit
from testaudit.report.html import write_html
from testaudit.report.pages import page_names
from testaudit.triage.compare import same

SLICE = ("HumanEval/3[0-9]", "HumanEval/46")


class _Late(Exception):
    pass


def _late(signum, frame):
    raise _Late()


def outcome(program: str, entry_point: str, arguments: str) -> tuple[str, object]:
    """Run entry_point(arguments) in this process (HumanEval is trusted), with a 2 s alarm."""
    namespace: dict = {"__name__": "__main__", "__builtins__": builtins}
    exec(program, namespace)
    signal.signal(signal.SIGALRM, _late)
    signal.setitimer(signal.ITIMER_REAL, 2.0)
    try:
        return "value", namespace[entry_point](*eval(f"({arguments},)"))  # noqa: S307
    except _Late:
        return "late", None
    except Exception as exc:
        return "raised", type(exc).__name__
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


@pytest.fixture(scope="module")
def summary(tmp_path_factory: pytest.TempPathFactory) -> AuditSummary:
    return run(RunConfig(dataset="humaneval", tasks=SLICE, workers=2,
                         out=tmp_path_factory.mktemp("he"), html=False, cache_dir=None))


def task(summary: AuditSummary, task_id: str) -> TaskAudit:
    return next(a for a in summary.tasks if a.task.task_id == task_id)


def test_every_witness_reproduces_here_too(summary) -> None:
    confirmed = 0
    for audit in summary.tasks:
        if audit.task.task_id == "HumanEval/32":
            continue  # several right answers: see the oracle test
        for mutant in audit.mutants:
            result = audit.outcome(mutant)
            if result.status not in UNDETECTED or result.witness is None:
                continue
            args = result.witness.input
            kind, ref = outcome(audit.task.source, audit.task.entry_point, args)
            assert kind == "value" and repr(ref)[:200] == result.witness.expected[:200]
            got = outcome(mutant.apply(audit.task.source), audit.task.entry_point, args)
            assert got[0] == "raised" or not same(ref, got[1], 1e-6), (mutant.id, args)
            confirmed += 1
    assert confirmed >= 10
    assert summary.confirmed_wrong >= confirmed


def test_a_vacuous_check_is_confirmed_on_the_suites_own_input(summary) -> None:
    # HumanEval/33's check compares candidate(x) with sort_third(x): the candidate with itself.
    audit = task(summary, "HumanEval/33")
    witnessed = [audit.outcome(m).witness for m in audit.mutants if audit.outcome(m).witness]
    assert witnessed
    assert all(f"candidate({w.input})" in audit.task.test for w in witnessed)


def test_find_zero_survivors_are_judged_by_the_tasks_own_oracle(summary) -> None:
    # Any zero of the polynomial is right: a mutant that finds another one is not wrong.
    audit = task(summary, "HumanEval/32")
    namespace: dict = {"__builtins__": builtins}
    exec(audit.task.source, namespace)
    for mutant in audit.mutants:
        result = audit.outcome(mutant)
        if result.witness is None:
            continue
        kind, value = outcome(mutant.apply(audit.task.source), "find_zero", result.witness.input)
        xs = eval(result.witness.input)  # noqa: S307
        assert kind != "value" or abs(namespace["poly"](xs, value)) >= 1e-4
        assert result.suggested_test.endswith("assert abs(poly(xs, result)) < 1e-4")


def test_fib4_small_inputs_are_never_run_by_its_suite(summary) -> None:
    audit = task(summary, "HumanEval/46")
    uncovered = [audit.outcome(m) for m in audit.mutants
                 if audit.outcome(m).status is MutantStatus.NO_COVERAGE]
    assert uncovered and all(r.detail.startswith("the suite never runs line 20") for r in uncovered)
    assert all(r.witness is not None and int(r.witness.input) < 4 for r in uncovered)
    assert 1 <= len(audit.suggested_tests) <= 3
    assert audit.confirmed_wrong >= len(uncovered)


def test_the_html_report_leads_with_confirmed_wrong_programs(summary, tmp_path: Path) -> None:
    index = write_html(summary, tmp_path).read_text()
    headline = index[index.index('class="headlines"'):]
    first = headline[headline.index("<strong"):headline.index("</p>")]
    assert f">{summary.confirmed_wrong}</strong>" in first and "confirmed wrong program" in first
    page = (tmp_path / page_names(["HumanEval/46"])["HumanEval/46"]).read_text()
    assert 'id="suggested-tests"' in page
    for test in task(summary, "HumanEval/46").suggested_tests:
        assert html.escape(test, quote=False) in page
    assert "unconfirmed, possibly equivalent" in page and "confirmed wrong" in page
