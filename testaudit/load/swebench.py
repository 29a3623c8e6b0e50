"""SWE-bench instances (a JSON array or JSON Lines, optionally gzipped): repository tasks.

A record names a repository at a commit, the gold patch (the reference), the test patch, and the
FAIL_TO_PASS / PASS_TO_PASS pytest ids that judge a patch. SWE-bench's own files store those two
lists as JSON-encoded strings; some copies store them as lists: both are read. The task's
`source` is the gold patch (what a report shows as the reference) and its `test` the test patch;
what is run and mutated comes later, once the pipeline has built the instance's work tree
(docs/swebench.md).
"""

from __future__ import annotations

import json
import re

from testaudit.config import LoadOptions
from testaudit.errors import FieldError
from testaudit.load.fields import error_task, record_id, strings, text
from testaudit.records import Origin, RepositoryData, SuiteKind, Task
from testaudit.store.files import Record

REQUIRED = frozenset({"instance_id", "repo", "base_commit", "patch", "FAIL_TO_PASS"})
_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_COMMIT = re.compile(r"^[0-9a-fA-F]{7,40}$")


def tasks_from(records: list[Record], path: str, options: LoadOptions) -> list[Task]:
    return [_task(r, path) for r in records]


def _task(record: Record, path: str) -> Task:
    if record.data is None:
        return error_task(record, path, None, record.error or "damaged record")
    try:
        return _build(record, path)
    except FieldError as exc:
        return error_task(record, path, record_id(record.data, "instance_id"), str(exc))


def test_ids(data: dict, name: str) -> tuple[str, ...]:
    """FAIL_TO_PASS / PASS_TO_PASS: a list of pytest node ids, or such a list JSON-encoded."""
    value = data.get(name, [] if name == "PASS_TO_PASS" else None)
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else []
        except json.JSONDecodeError as exc:
            raise FieldError(f"field '{name}' is a string but not a JSON list ({exc.msg})") from exc
        if not isinstance(value, list):
            raise FieldError(f"field '{name}' must hold a JSON list of test ids, got {type(value).__name__}")
    ids = strings({name: value}, name)
    for i, item in enumerate(ids):
        if not item.strip():
            raise FieldError(f"field '{name}' item {i + 1} is an empty test id")
    return tuple(ids)


def _build(record: Record, path: str) -> Task:
    data = record.data
    instance_id = text(data, "instance_id")
    if not instance_id.strip():
        raise FieldError("field 'instance_id' is empty")
    repo = text(data, "repo")
    if not _REPO.match(repo):
        raise FieldError(f"field 'repo' must read owner/name, got {repo[:60]!r}")
    commit = text(data, "base_commit")
    if not _COMMIT.match(commit):
        raise FieldError(f"field 'base_commit' must be a commit hash, got {commit[:60]!r}")
    patch = text(data, "patch")
    if "\n+++ " not in f"\n{patch}":
        raise FieldError("field 'patch' is not a unified diff (no '+++' line)")
    test_patch = text(data, "test_patch", "")
    fail_to_pass = test_ids(data, "FAIL_TO_PASS")
    if not fail_to_pass:
        raise FieldError("field 'FAIL_TO_PASS' is empty: nothing tells a right patch from a wrong one")
    version = data.get("version", "")
    if not isinstance(version, str | int | float) or isinstance(version, bool):
        raise FieldError(f"field 'version' must be a string, got {type(version).__name__}")
    suite = RepositoryData(
        repo=repo, instance_id=instance_id, base_commit=commit, patch=patch, test_patch=test_patch,
        version=str(version), fail_to_pass=fail_to_pass, pass_to_pass=test_ids(data, "PASS_TO_PASS"),
        environment_setup_commit=text(data, "environment_setup_commit", ""),
    )
    return Task(
        task_id=instance_id,
        entry_point="",
        source=patch,
        test=test_patch,
        solution_start=0,
        solution_end=len(patch),
        suite_kind=SuiteKind.REPOSITORY,
        origin=Origin(path, record.line),
        suite_data=suite,
    )
