"""Content-addressed cache of per-task results, so an unchanged task is never audited twice."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

from testaudit.records import MutantResult, MutantStatus, ReferenceRun, Task, TaskAudit, TaskStatus
from testaudit.store import codec
from testaudit.store.files import prepare_folder, write_atomic

# Bump when the entry layout changes: old entries are then simply never found.
# 1: first version.
# 2: entries carry the triage's results and the task's message.
# 3: EvalPlus, BigCodeBench and stdin/stdout tasks are triaged in their own form (witnesses, tests).
CACHE_FORMAT = 3


def task_key(task: Task, run_material: dict) -> str:
    """Hash of everything that decides a task's verdicts: its code, tests, operators, settings."""
    material = {
        "format": CACHE_FORMAT,
        "task_id": task.task_id,
        "entry_point": task.entry_point,
        "source": task.source,
        "test": task.test,
        "solution": [task.solution_start, task.solution_end],
        "suite_kind": task.suite_kind.value,
        "suite_data": suite_material(task),
        "run": run_material,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def suite_material(task: Task) -> object:
    """The task's per-kind suite data (inputs, cases, contract...) in a canonical form, for keys."""
    data = task.suite_data
    if data is None:
        return None
    # A field marked material=False (a repository task's temporary work tree) decides no verdict.
    fields = {f.name: getattr(data, f.name) for f in dataclasses.fields(data)
              if f.metadata.get("material", True)}
    return [type(data).__name__, _canonical(fields)]


def _canonical(value: object) -> object:
    """A JSON-able form that is the same in every process: set order follows the hash seed."""
    if isinstance(value, dict):
        return [[_canonical(k), _canonical(v)] for k, v in sorted(value.items(), key=lambda kv: repr(kv[0]))]
    if isinstance(value, list | tuple):
        return [type(value).__name__, [_canonical(v) for v in value]]
    if isinstance(value, set | frozenset):
        items = [_canonical(v) for v in value]
        return [type(value).__name__, sorted(items, key=lambda v: json.dumps(v, sort_keys=True))]
    if isinstance(value, str | int | float | bool) or value is None:
        return [type(value).__name__, value]
    return [type(value).__name__, repr(value)]


@dataclasses.dataclass(frozen=True)
class CachedTask:
    reference: ReferenceRun
    results: dict[str, MutantResult]  # with the triage's witnesses and suggested tests
    suggested_tests: list[str]
    message: str | None = None


class ResultCache:
    """One JSON file per task under DIR/ab/abcdef...json, written atomically."""

    def __init__(self, root: Path) -> None:
        self.root = root
        prepare_folder(root, "--cache-dir")  # before the audit, not when its results are in

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> CachedTask | None:
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
            reference = data["reference"]
            return CachedTask(
                codec.reference_from_json(reference, reference["task_id"]),
                {r["mutant_id"]: codec.mutant_result_from_json(r) for r in data["results"]},
                list(data.get("suggested_tests", [])),
                data.get("message"),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None  # absent or damaged: audit the task afresh

    def put(self, key: str, audit: TaskAudit) -> None:
        if audit.reference is None or audit.status is TaskStatus.ERROR:
            return  # nothing conclusive to keep
        if any(audit.outcome(m).status is MutantStatus.PENDING for m in audit.mutants):
            return  # an interrupted task is resumed from the session store, not cached
        data = {
            "format": CACHE_FORMAT,
            "task_id": audit.task.task_id,
            # The entry's reference keeps its task id (cache format 3 has it there too).
            "reference": {"task_id": audit.reference.task_id,
                          **codec.reference_to_json(audit.reference)},
            "results": [codec.mutant_result_to_json(r) for r in audit.results.values()],
            "suggested_tests": audit.suggested_tests,
            "message": audit.message,
        }
        write_atomic(self._path(key), json.dumps(data, sort_keys=True))

