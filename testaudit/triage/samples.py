"""Model-written programs to audit (--candidates): HumanEval samples files, task_id + completion."""

from __future__ import annotations

from pathlib import Path

from testaudit.errors import DatasetError, UsageError
from testaudit.records import Candidate
from testaudit.store.files import read_records


def read_samples(path: Path) -> dict[str, list[Candidate]]:
    """Samples by task id. A damaged line is a one-line error naming the file and line."""
    if not path.exists():
        raise UsageError(f"{path}: --candidates: no such file")
    try:
        records = read_records(path)
    except DatasetError as exc:
        raise UsageError(str(exc)) from exc
    found: dict[str, list[Candidate]] = {}
    for record in records:
        data = record.data
        if data is None:
            raise UsageError(f"{path}:{record.line}: {record.error or 'damaged sample'}")
        task_id, completion = data.get("task_id"), data.get("completion")
        if not isinstance(task_id, str) or not isinstance(completion, str):
            raise UsageError(f"{path}:{record.line}: a sample needs string fields 'task_id' and 'completion'")
        found.setdefault(task_id, []).append(Candidate(task_id, record.line, completion))
    if not found:
        raise UsageError(f"{path}: holds no samples")
    return found
