"""The audit as a mutation-testing-report-schema v2 JSON, readable by Stryker's report viewer."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

from testaudit.records import (
    UNDETECTED,
    AuditSummary,
    Mutant,
    MutantResult,
    MutantStatus,
    RepositoryData,
    TaskAudit,
    TaskStatus,
    survivor_kind,
)
from testaudit.store import codec
from testaudit.store.files import write_atomic

SCHEMA_VERSION = "2"
KILLED_BY = "killed by "  # how suites/swebench/runner.py starts a repository mutant's kill reason
# The viewer colours the score with these (percent); the report does not gate on them.
THRESHOLDS = {"high": 80, "low": 60}

STRYKER_STATUS = {
    MutantStatus.KILLED: "Killed",
    MutantStatus.SURVIVED: "Survived",
    MutantStatus.NO_COVERAGE: "NoCoverage",
    MutantStatus.TIMEOUT: "Timeout",
    MutantStatus.EQUIVALENT: "Ignored",  # left out of the score, as Stryker leaves out Ignored
    MutantStatus.ERROR: "RuntimeError",
    MutantStatus.PENDING: "Pending",  # never in a finished audit; the schema allows it anyway
}
# The whole suite is one test for us; it completed for these statuses, with a pass or a fail.
_SUITE_COMPLETED = frozenset({MutantStatus.KILLED, MutantStatus.SURVIVED})


def _version() -> str:
    try:
        return metadata.version("testaudit")
    except metadata.PackageNotFoundError:
        return "unknown"


def file_names(task_ids: list[str]) -> dict[str, str]:
    """A distinct file-like key for every task: "HumanEval/0" -> "HumanEval/0.py"."""
    names: dict[str, str] = {}
    used: set[str] = set()
    for task_id in task_ids:
        name = task_id if task_id.endswith(".py") else f"{task_id}.py"
        stem, n = name[:-3], 2
        while name in used:
            name, n = f"{stem}~{n}.py", n + 1
        used.add(name)
        names[task_id] = name
    return names


def _test_id(audit: TaskAudit) -> str:
    return f"{audit.task.task_id}::{audit.task.entry_point}"


def _mutant(audit: TaskAudit, mutant: Mutant, result: MutantResult) -> dict:
    ok = audit.status is TaskStatus.OK
    # A task whose reference fails its own tests scores nothing: its mutants are Ignored.
    status = STRYKER_STATUS[result.status] if ok else "Ignored"
    reason = result.detail if ok else f"task {audit.status.value}: {audit.message or ''}".strip()
    entry: dict = {
        "id": mutant.id,
        "mutatorName": mutant.operator,
        "replacement": mutant.replacement,
        "location": codec.location_to_json(mutant.location),
        "status": status,
        "description": f"{mutant.operator}: {mutant.original!r} -> {mutant.replacement!r}",
        "testsCompleted": 1 if ok and result.status in _SUITE_COMPLETED else 0,
    }
    if reason:
        entry["statusReason"] = reason
    if result.seconds:
        entry["duration"] = round(result.seconds * 1000, 3)
    if isinstance(audit.task.suite_data, RepositoryData):
        # A repository task's tests are its pytest ids; a kill's reason names the one that failed.
        killer = killed_by(result)
        if status == "Killed" and killer:
            entry["killedBy"] = [killer]
    else:
        if status in ("Killed", "Survived", "Timeout"):
            entry["coveredBy"] = [_test_id(audit)]
        if status in ("Killed", "Timeout"):
            entry["killedBy"] = [_test_id(audit)]
    # No diff: it follows from source, location and replacement, and would double the file's size.
    extra: dict = {"status": result.status.value, "original": mutant.original}
    if result.witness is not None:
        extra["witness"] = codec.witness_to_json(result.witness)
    if result.status in UNDETECTED:  # confirmed_wrong, outside_domain or unconfirmed
        extra["survivorKind"] = survivor_kind(result).value
    if result.suggested_test:
        extra["suggestedTest"] = result.suggested_test
    entry["testaudit"] = extra
    return entry


def killed_by(result: MutantResult) -> str | None:
    """The test id in a repository mutant's kill reason ("killed by <id>: why")."""
    detail = result.detail or ""
    if result.status is not MutantStatus.KILLED or not detail.startswith(KILLED_BY):
        return None
    return detail[len(KILLED_BY):].split(": ", 1)[0]


def _repository_files(audit: TaskAudit, data: RepositoryData) -> tuple[dict[str, dict], dict[str, dict]]:
    """One `files` entry per patched file ("<instance>/<path>"), its source the patched file,
    and one test file with the instance's FAIL_TO_PASS and PASS_TO_PASS ids."""
    files = {}
    for patched in data.files:
        files[f"{audit.task.task_id}/{patched.path}"] = {
            "language": "python",
            "source": patched.text,
            "mutants": [_mutant(audit, m, audit.outcome(m)) for m in audit.mutants if m.file == patched.path],
            "testaudit": {"taskId": audit.task.task_id, "file": patched.path, "status": audit.status.value,
                          "message": audit.message, "patchedLines": list(patched.lines)},
        }
    tests = {f"{audit.task.task_id}/tests": {
        "source": audit.task.test,
        "tests": [{"id": t, "name": t} for t in data.tests],
    }}
    return files, tests


def stryker_report(summary: AuditSummary) -> dict:
    """The report as a JSON-ready dict: one `files` entry per task, keyed like "HumanEval/0.py".

    Tasks that are broken or in error are kept (a broken task is a finding in itself) with their
    mutants Ignored, so the viewer's score equals ours. Extra keys are namespaced under
    "testaudit", which the schema allows and the viewer ignores.
    """
    names = file_names([a.task.task_id for a in summary.tasks])
    files: dict[str, dict] = {}
    test_files: dict[str, dict] = {}
    for audit in summary.tasks:
        name = names[audit.task.task_id]
        data = audit.task.suite_data
        if isinstance(data, RepositoryData) and data.files:
            more, tests = _repository_files(audit, data)
            files.update(more)
            test_files.update(tests)
            continue
        files[name] = {
            "language": "python",
            "source": audit.task.source,
            "mutants": [_mutant(audit, m, audit.outcome(m)) for m in audit.mutants],
            "testaudit": {
                "taskId": audit.task.task_id,
                "entryPoint": audit.task.entry_point,
                "status": audit.status.value,
                "message": audit.message,
                "solutionLines": list(audit.task.solution_lines),
            },
        }
        test_files[name[:-3] + "_test.py"] = {
            "source": audit.task.test,
            "tests": [{"id": _test_id(audit), "name": f"check({audit.task.entry_point})"}],
        }
    score = summary.score
    report = {
        "schemaVersion": SCHEMA_VERSION,
        "thresholds": dict(THRESHOLDS),
        "files": files,
        "testFiles": test_files,
        "framework": {"name": "testaudit", "version": _version()},
        "config": json.loads(json.dumps(summary.settings, default=str)),
        "testaudit": {
            "dataset": summary.dataset.name,
            "datasetSource": summary.dataset.source,
            "mutationScore": score.mutation_score,
            "counts": {
                "killed": score.killed, "survived": score.survived, "timeout": score.timeout,
                "noCoverage": score.no_coverage, "equivalent": score.equivalent,
                "error": score.error,
            },
            "tasks": {s.value: summary.count_tasks(s) for s in TaskStatus},
            "seconds": summary.seconds,
            # None (null) when no triage ran, as in results.json: nothing is confirmed, or refuted.
            "confirmedWrong": summary.confirmed_wrong if summary.triaged else None,
            "outsideDomain": summary.outside_domain if summary.triaged else None,
        },
    }
    return report


def write_stryker(summary: AuditSummary, path: Path) -> None:
    """Write the report to `path` atomically (a temporary file beside it, then a rename)."""
    text = json.dumps(
        stryker_report(summary), separators=(",", ":"), ensure_ascii=False, default=str
    )
    write_atomic(Path(path), text + "\n")
