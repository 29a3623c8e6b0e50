"""results.json: the audit's stored results, written at the end of a run and read back by `report`."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from pathlib import Path

from testaudit.errors import UsageError
from testaudit.records import AuditSummary, CandidateVerdict, TaskStatus, Work
from testaudit.store import codec
from testaudit.store.files import read_json, write_atomic
from testaudit.text import cleaned

SCHEMA = "testaudit/results-1"


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
        "mutation_score": codec.rounded(score.mutation_score),
        "seconds": round(summary.seconds, 3),
        **triage_counts(summary),
        "work": work_json(summary.work),
    }


def work_json(work: Work | None) -> dict | None:
    """The work split: where the suite-run phase's time went (seconds, rounded)."""
    if work is None:
        return None
    fields = {f.name: getattr(work, f.name) for f in dataclasses.fields(work)}
    fields.update(reforks=work.reforks, idle_seconds=work.idle_seconds)
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in fields.items()}


def work_from_json(data: dict | None) -> Work | None:
    if data is None:
        return None
    names = [f.name for f in dataclasses.fields(Work)]
    return Work(**{name: data[name] for name in names})


def triage_counts(summary: AuditSummary) -> dict:
    """The triage figures; all None when no triage ran (nothing is confirmed, or refuted)."""
    samples = summary.samples
    if not summary.triaged:
        return {"triage_seconds": None, "confirmed_wrong": None, "tasks_accepting_wrong": None,
                "outside_domain": None, "unconfirmed": None, "suggested_tests": None, "candidates": None}
    verdicts = Counter(c.verdict.value for c in samples)
    return {
        "triage_seconds": round(summary.triage_seconds, 3),
        "confirmed_wrong": summary.confirmed_wrong,
        "tasks_accepting_wrong": summary.tasks_accepting_wrong,
        # Survivors whose witnesses all lie outside the tested domain: edge cases, never counted
        # in confirmed_wrong.
        "outside_domain": summary.outside_domain,
        "unconfirmed": summary.unconfirmed,
        "suggested_tests": summary.suggested_test_count,
        "candidates": {"samples": len(samples), **{v.value: verdicts[v.value] for v in CandidateVerdict}}
        if samples else None,
    }


def to_json(summary: AuditSummary, version: str) -> dict:
    data = {
        "schema": SCHEMA,
        "tool": {"name": "testaudit", "version": version},
        "dataset": codec.dataset_to_json(summary.dataset),
        "settings": summary.settings,
        "summary": summary_counts(summary),
        "tasks": [codec.task_audit_to_json(a) for a in summary.tasks],
    }
    if summary.shard is not None:  # only a shard's file has the key: an unsharded one is as it was
        data["shard"] = codec.shard_to_json(summary.shard)
    return data


def write(summary: AuditSummary, path: Path, version: str) -> None:
    # cleaned: JSON's own escape of a lone surrogate ("\\ud800") is refused by strict readers.
    write_atomic(path, json.dumps(cleaned(to_json(summary, version)), indent=1) + "\n")


# --- reading back ---------------------------------------------------------------------------


def read(path: Path) -> AuditSummary:
    """An AuditSummary from a results.json; a damaged or foreign file is a one-line error."""
    data = read_json(path)
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise UsageError(f"{path}: field 'schema': expected '{SCHEMA}', not a testaudit results file")
    try:
        tasks = [codec.task_audit_from_json(t) for t in data["tasks"]]
        dataset = codec.dataset_from_json(data["dataset"], tuple(a.task for a in tasks))
        summary = AuditSummary(dataset, data["settings"], tasks, data["summary"]["seconds"])
        summary.triage_seconds = data["summary"].get("triage_seconds")
        summary.work = work_from_json(data["summary"].get("work"))
        summary.shard = codec.shard_from_json(data["shard"]) if "shard" in data else None
        return summary
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"{path}: damaged results file (field {exc})") from exc
