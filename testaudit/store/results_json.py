"""results.json: the audit's stored results, written at the end of a run and read back by `report`."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from testaudit.errors import UsageError
from testaudit.records import (
    AuditSummary,
    CandidateResult,
    CandidateVerdict,
    Dataset,
    Location,
    Mutant,
    MutantResult,
    MutantStatus,
    Origin,
    ReferenceRun,
    SuiteKind,
    Task,
    TaskAudit,
    TaskStatus,
)
from testaudit.store.files import read_json, write_atomic

SCHEMA = "testaudit/results-1"


def _score(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def summary_counts(summary: AuditSummary) -> dict:
    score = summary.score
    return {
        "tasks": len(summary.tasks),
        "broken": summary.count_tasks(TaskStatus.BROKEN),
        "errors": summary.count_tasks(TaskStatus.ERROR),
        "mutants": score.mutants,
        "killed": score.killed,
        "survived": score.survived,
        "timeout": score.timeout,
        "no_coverage": score.no_coverage,
        "equivalent": score.equivalent,
        "error": score.error,
        "mutation_score": _score(score.mutation_score),
        "seconds": round(summary.seconds, 3),
        **triage_counts(summary),
    }


def triage_counts(summary: AuditSummary) -> dict:
    """The triage figures; all None when no triage ran (nothing is confirmed, or refuted)."""
    samples = [c for a in summary.tasks for c in a.candidates]
    if summary.triage_seconds is None:
        return {"triage_seconds": None, "confirmed_wrong": None, "tasks_accepting_wrong": None,
                "unconfirmed": None, "suggested_tests": None, "candidates": None}
    verdicts = Counter(c.verdict.value for c in samples)
    return {
        "triage_seconds": round(summary.triage_seconds, 3),
        "confirmed_wrong": summary.confirmed_wrong,
        "tasks_accepting_wrong": summary.tasks_accepting_wrong,
        "unconfirmed": summary.score.undetected - summary.confirmed_wrong,
        "suggested_tests": sum(len(a.suggested_tests) for a in summary.tasks),
        "candidates": {"samples": len(samples), **{v.value: verdicts[v.value] for v in CandidateVerdict}}
        if samples else None,
    }


def _mutant_json(audit: TaskAudit, mutant: Mutant) -> dict:
    outcome = audit.outcome(mutant)
    return {
        "id": mutant.id,
        "operator": mutant.operator,
        "location": mutant.location.to_json(),
        "start": mutant.start,
        "end": mutant.end,
        "original": mutant.original,
        "replacement": mutant.replacement,
        "status": outcome.status.value,
        "detail": outcome.detail,
        "seconds": round(outcome.seconds, 6),
        "diff": mutant.diff,
        "witness": outcome.witness,
        "suggested_test": outcome.suggested_test,
        "inputs_tried": outcome.inputs_tried,
    }


def candidate_json(result: CandidateResult) -> dict:
    return {
        "sample": result.sample,
        "verdict": result.verdict.value,
        "detail": result.detail,
        "witness": result.witness,
        "suggested_test": result.suggested_test,
        "inputs_tried": result.inputs_tried,
        "completion": result.completion,
    }


def _candidate(task_id: str, data: dict) -> CandidateResult:
    return CandidateResult(task_id, data["sample"], data["completion"], CandidateVerdict(data["verdict"]),
                           data.get("detail"), data.get("witness"), data.get("suggested_test"),
                           data.get("inputs_tried", 0))


def _task_json(audit: TaskAudit) -> dict:
    task = audit.task
    first, last = task.solution_lines
    reference = audit.reference
    return {
        "task_id": task.task_id,
        "status": audit.status.value,
        "message": audit.message,
        "entry_point": task.entry_point,
        "suite_kind": task.suite_kind.value,
        "origin": {"path": task.origin.path, "line": task.origin.line} if task.origin else None,
        "source": task.source,
        "test": task.test,
        "solution_lines": [first, last],
        "solution_offsets": [task.solution_start, task.solution_end],
        "reference": None if reference is None else {
            "passed": reference.passed,
            "message": reference.message,
            "suite_seconds": reference.suite_seconds,
            "suite_calls_entry_point": reference.suite_calls_entry_point,
        },
        "mutation_score": _score(audit.score.mutation_score),
        "mutants": [_mutant_json(audit, m) for m in audit.mutants],
        "suggested_tests": audit.suggested_tests,
        "candidates": [candidate_json(c) for c in audit.candidates],
    }


def to_json(summary: AuditSummary, version: str) -> dict:
    return {
        "schema": SCHEMA,
        "tool": {"name": "testaudit", "version": version},
        "dataset": {
            "name": summary.dataset.name,
            "source": summary.dataset.source,
            "format": summary.dataset.format,
            "reference": summary.dataset.reference,  # which solution was mutated
        },
        "settings": summary.settings,
        "summary": summary_counts(summary),
        "tasks": [_task_json(a) for a in summary.tasks],
    }


def write(summary: AuditSummary, path: Path, version: str) -> None:
    write_atomic(path, json.dumps(to_json(summary, version), indent=1) + "\n")


# --- reading back ---------------------------------------------------------------------------


def _task(data: dict) -> Task:
    origin = data.get("origin")
    start, end = data.get("solution_offsets") or [0, len(data["source"])]
    return Task(
        task_id=data["task_id"],
        entry_point=data["entry_point"],
        source=data["source"],
        test=data["test"],
        solution_start=start,
        solution_end=end,
        suite_kind=SuiteKind(data.get("suite_kind", "check")),
        origin=Origin(origin["path"], origin["line"]) if origin else None,
        status=TaskStatus(data["status"]),
        message=data.get("message"),
    )


def _audit(data: dict) -> TaskAudit:
    task = _task(data)
    mutants, results = [], {}
    for m in data["mutants"]:
        mutant = Mutant(
            id=m["id"], task_id=task.task_id, operator=m["operator"],
            location=Location.from_json(m["location"]), start=m["start"], end=m["end"],
            original=m["original"], replacement=m["replacement"], diff=m["diff"],
        )
        mutants.append(mutant)
        results[mutant.id] = MutantResult(
            mutant.id, task.task_id, MutantStatus(m["status"]), m.get("detail"),
            m.get("seconds", 0.0), m.get("witness"), m.get("suggested_test"), m.get("inputs_tried", 0),
        )
    ref = data.get("reference")
    reference = None if ref is None else ReferenceRun(
        task.task_id, ref["passed"], ref["message"], ref["suite_seconds"],
        ref.get("suite_calls_entry_point", True),
    )
    return TaskAudit(task, mutants, results, reference, TaskStatus(data["status"]),
                     data.get("message"), list(data.get("suggested_tests", [])),
                     [_candidate(task.task_id, c) for c in data.get("candidates", [])])


def read(path: Path) -> AuditSummary:
    """An AuditSummary from a results.json; a damaged or foreign file is a one-line error."""
    data = read_json(path)
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise UsageError(f"{path}: field 'schema': expected '{SCHEMA}', not a testaudit results file")
    try:
        ds = data["dataset"]
        tasks = [_audit(t) for t in data["tasks"]]
        dataset = Dataset(ds["name"], ds["source"], ds["format"], tuple(a.task for a in tasks),
                          ds.get("reference", ""))
        summary = AuditSummary(dataset, data["settings"], tasks, data["summary"]["seconds"])
        summary.triage_seconds = data["summary"].get("triage_seconds")
        return summary
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"{path}: damaged results file (field {exc})") from exc
