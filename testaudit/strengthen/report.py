"""The proof of a strengthened benchmark: per task, the tests added and why, and the audit of
the original against the re-audit of the written file."""

from __future__ import annotations

from testaudit.records import (
    AddedTest,
    AuditSummary,
    StrengthenedTask,
    StrengthenReport,
    TaskAudit,
    TaskStatus,
)


def _note(before: TaskAudit, after: TaskAudit | None, tests: tuple[AddedTest, ...]) -> str | None:
    if after is None:
        return "not in the re-audit"
    if after.status is not TaskStatus.OK:
        return after.message or f"the re-audit's task is {after.status.value}"
    if not tests:
        if before.status is not TaskStatus.OK:
            return f"not strengthened: the task is {before.status.value}"
        return "no test added: triage found no verified test that adds to the suite"
    return None


def build_report(before: AuditSummary, after: AuditSummary, added: dict[str, tuple[AddedTest, ...]],
                 output: str, max_tests: int, rounds: int) -> StrengthenReport:
    """`added`: by task id, the tests written into its record."""
    later = {a.task.task_id: a for a in after.tasks}
    tasks = []
    for audit in before.tasks:
        task_id = audit.task.task_id
        again = later.get(task_id)
        tests = added.get(task_id, ())
        tasks.append(StrengthenedTask(
            task_id=task_id,
            tests=tests,
            score_before=audit.score.mutation_score,
            score_after=again.score.mutation_score if again else None,
            confirmed_before=audit.confirmed_wrong,
            confirmed_after=again.confirmed_wrong if again else 0,
            survivors_before=audit.score.undetected,
            survivors_after=again.score.undetected if again else 0,
            reference_passes=bool(again and again.reference and again.reference.passed),
            note=_note(audit, again, tests),
        ))
    return StrengthenReport(before.dataset.source, output, before.dataset.format, max_tests, rounds,
                            before.score, after.score, before.confirmed_wrong, after.confirmed_wrong,
                            tuple(tasks))
