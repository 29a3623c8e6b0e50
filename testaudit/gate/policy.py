"""The CI gate: thresholds on an audit's results, as a pure function returning the reasons to fail."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path

from testaudit.errors import UsageError
from testaudit.records import AuditSummary, TaskAudit, TaskStatus
from testaudit.store import codec, results_json
from testaudit.store.files import NotReadable, read_bytes
from testaudit.text import percent

EPSILON = 1e-6  # results.json rounds scores to 6 places: compare with that much slack


@dataclass(frozen=True)
class GatePolicy:
    """Thresholds; None means not checked. Per task unless named dataset_*."""

    min_score: float | None = None
    max_confirmed_wrong: int | None = None
    max_survivors: int | None = None
    dataset_min_score: float | None = None
    dataset_max_confirmed_wrong: int | None = None

    def merged(self, other: GatePolicy) -> GatePolicy:
        """`other`'s thresholds where set (the command line wins over pyproject.toml)."""
        changes = {f.name: getattr(other, f.name) for f in fields(other)
                   if getattr(other, f.name) is not None}
        return replace(self, **changes)


def has_thresholds(policy: GatePolicy) -> bool:
    return any(getattr(policy, f.name) is not None for f in fields(policy))


@dataclass(frozen=True)
class Violation:
    task_id: str | None  # None: the dataset as a whole
    reason: str


@dataclass(frozen=True)
class TaskBaseline:
    score: float | None
    confirmed_wrong: int
    status: str = "ok"


_KEYS = {f.name.replace("_", "-"): f.name for f in fields(GatePolicy)}


def find_config(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above `start` that has a [tool.testaudit] table."""
    for folder in [start, *start.parents]:
        candidate = folder / "pyproject.toml"
        if candidate.exists() and not candidate.is_dir():
            try:
                raw = read_bytes(candidate)
            except NotReadable as exc:
                # It may hold the thresholds: skipping it would let the gate pass unchecked.
                raise UsageError(f"{candidate}: {exc}") from exc
            try:
                data = tomllib.loads(raw.decode("utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                if b"testaudit" in raw:  # broken where the thresholds may be: not a pass
                    raise UsageError(f"{candidate}: not valid TOML ({exc})") from exc
                continue
            if "testaudit" in data.get("tool", {}):
                return candidate
    return None


def policy_from_pyproject(path: Path) -> GatePolicy:
    """[tool.testaudit] thresholds: min-score, max-confirmed-wrong, max-survivors, dataset-*."""
    try:
        data = tomllib.loads(read_bytes(path).decode("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML ({exc})") from exc
    except NotReadable as exc:
        raise UsageError(f"{path}: {str(exc).replace('cannot read', 'cannot read the config', 1)}") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: cannot read the config ({exc})") from exc
    table = data.get("tool", {}).get("testaudit", {})
    values: dict = {}
    for key, value in table.items():
        if key not in _KEYS:
            # A typo must not silently switch a threshold off.
            raise UsageError(f"{path}: [tool.testaudit] field '{key}': unknown; expected one of "
                             f"{', '.join(sorted(_KEYS))}")
        name = _KEYS[key]
        is_score = name.endswith("score")
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or (is_score and not 0 <= value <= 1) or (not is_score and value != int(value)):
            what = "a number between 0 and 1" if is_score else "a whole number"
            raise UsageError(f"{path}: [tool.testaudit] field '{key}': expected {what}, got {value!r}")
        values[name] = float(value) if is_score else int(value)
    return GatePolicy(**values)


def read_baseline(path: Path) -> dict[str, TaskBaseline]:
    """Per-task score and confirmed-wrong count from an earlier results.json."""
    summary = results_json.read(path)
    # The score as the file has it (rounded), so that a rerun of the same audit compares equal.
    return {a.task.task_id: TaskBaseline(codec.rounded(a.score.mutation_score), a.confirmed_wrong,
                                         a.status.value)
            for a in summary.tasks}


def _task_reasons(audit: TaskAudit, policy: GatePolicy) -> list[str]:
    score = audit.score.mutation_score
    reasons = []
    if policy.min_score is not None and score is not None and score < policy.min_score - EPSILON:
        reasons.append(f"mutation score {percent(score)} is less than min-score {percent(policy.min_score)}")
    wrong = audit.confirmed_wrong
    if policy.max_confirmed_wrong is not None and wrong > policy.max_confirmed_wrong:
        reasons.append(f"{wrong} confirmed wrong programs pass its tests "
                       f"(max-confirmed-wrong {policy.max_confirmed_wrong})")
    count = len(audit.survivors)
    if policy.max_survivors is not None and count > policy.max_survivors:
        reasons.append(f"{count} mutants survive (max-survivors {policy.max_survivors})")
    return reasons


def _ratchet_reasons(audit: TaskAudit, base: TaskBaseline) -> list[str]:
    """A task already in the baseline fails only when it got weaker."""
    reasons = []
    score = audit.score.mutation_score
    if score is not None and base.score is not None and score < base.score - EPSILON:
        reasons.append(f"mutation score fell from {percent(base.score)} to {percent(score)}")
    if audit.confirmed_wrong > base.confirmed_wrong:
        reasons.append(f"confirmed wrong programs rose from {base.confirmed_wrong} "
                       f"to {audit.confirmed_wrong}")
    return reasons


def should_fail(summary: AuditSummary, policy: GatePolicy,
                baseline: dict[str, TaskBaseline] | None = None,
                executed: int | None = None) -> list[Violation]:
    """Every reason the gate fails; empty means it passes. A run that tested nothing fails."""
    violations: list[Violation] = []
    if executed == 0:
        violations.append(Violation(None, "no mutant ran: nothing was tested"))
    for audit in summary.tasks:
        task_id = audit.task.task_id
        base = baseline.get(task_id) if baseline is not None else None
        if base is not None and audit.status is not TaskStatus.OK and base.status == audit.status.value:
            continue  # broken before too: the ratchet only stops tasks getting worse
        if audit.status is TaskStatus.BROKEN:
            violations.append(Violation(task_id, audit.message or "the reference fails its own tests"))
            continue
        if audit.status is TaskStatus.ERROR:
            violations.append(Violation(task_id, audit.message or "the task cannot be run"))
            continue
        if audit.reference is not None and not audit.reference.suite_calls_entry_point:
            # Whatever the thresholds, a suite that never calls the program tests nothing.
            violations.append(Violation(task_id, f"the suite never calls {audit.task.entry_point}: "
                                                 "it passes a candidate that always raises"))
            continue
        if base is not None:
            reasons = _ratchet_reasons(audit, base)
        else:
            reasons = _task_reasons(audit, policy)
        violations.extend(Violation(task_id, r) for r in reasons)
    score = summary.score.mutation_score
    if policy.dataset_min_score is not None and score is not None and \
            score < policy.dataset_min_score - EPSILON:
        violations.append(Violation(None, f"dataset mutation score {percent(score)} is less than "
                                          f"dataset-min-score {percent(policy.dataset_min_score)}"))
    wrong = summary.confirmed_wrong
    if policy.dataset_max_confirmed_wrong is not None and wrong > policy.dataset_max_confirmed_wrong:
        violations.append(Violation(None, f"{wrong} confirmed wrong programs pass the dataset's "
                                          f"tests (dataset-max-confirmed-wrong "
                                          f"{policy.dataset_max_confirmed_wrong})"))
    return violations
