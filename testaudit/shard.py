"""--shard K/N and `testaudit merge`: one audit split over N machines (a CI matrix), joined back.

The split must be the same on every machine and known before anything runs, so a task's cost is
a count, never a clock: the mutants it gets (mutation is deterministic), plus one for its
reference run. Longest-processing-time greedy assignment then balances the counts. Each shard's
results.json records its place in the split and what must be equal between shards (ShardInfo);
`merge` checks them and joins the parts' verdicts into the unsharded run's results and store.

A top-level module, as `pipeline.py` is: it joins the store with the run's configuration. It
imports no stage besides store/, and the pipeline calls it (never the other way round).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from testaudit.config import RunConfig
from testaudit.errors import UsageError
from testaudit.records import AuditSummary, Dataset, RepositoryData, ShardInfo, Task, Work
from testaudit.store import results_json
from testaudit.store.session import FILENAME as STORE_FILENAME
from testaudit.store.session import Store

RESULTS_FILE = "results.json"


# --- the split ----------------------------------------------------------------------------------


def cost(task: Task, mutants: int | None) -> int:
    """A task's estimated cost, the same on every machine: one reference run plus one run per
    mutant (`mutants`: how many it gets; None when none can be made: a task in error).

    A repository task's mutants can be made only once its work tree is built, which a shard
    does for its own tasks only: its proxy is the number of lines its gold patch adds."""
    if isinstance(task.suite_data, RepositoryData):
        lines = task.suite_data.patch.splitlines()
        return 1 + sum(1 for line in lines if line.startswith("+") and not line.startswith("+++"))
    return 1 + (mutants or 0)


def split(costs: Sequence[tuple[str, int]], count: int) -> list[tuple[str, ...]]:
    """The task ids of each of `count` shards (index 0 is shard 1), balanced by cost.

    Longest processing time first: the costliest task goes first (ties by task id), each to the
    shard with the least cost so far (ties to the lowest index). Deterministic, a partition, and
    no shard exceeds the ideal (total / count) by more than the costliest task."""
    loads = [0] * count
    shards: list[list[str]] = [[] for _ in range(count)]
    for task_id, task_cost in sorted(costs, key=lambda c: (-c[1], c[0])):
        lightest = min(range(count), key=lambda i: (loads[i], i))
        loads[lightest] += task_cost
        shards[lightest].append(task_id)
    return [tuple(s) for s in shards]


def checks(config: RunConfig, dataset: Dataset, data_digest: str, operators: list[str],
           version: str) -> tuple[tuple[str, str], ...]:
    """What every shard of one audit must share, as (field, JSON text) pairs: `merge` names the
    first field that differs. Everything that decides a verdict is here (the run key's
    material, and triage's, which the run key leaves to triage's own keys)."""
    fields: dict[str, object] = {
        "dataset_sha256": data_digest,
        "format": dataset.format,
        "suite": config.suite,
        "challenge": config.challenge,
        "operators": operators,
        **config.settings.to_json(),
        "triage": config.triage,
    }
    if config.triage:
        fields.update({f"triage.{k}": v for k, v in config.triage_settings.to_json().items()})
        fields.update(preconditions_sha256=_digest(config.preconditions),
                      contracts_sha256=_digest(config.contracts),
                      candidates_sha256=_digest(config.candidates))
    fields.update({f"repo.{k}": v for k, v in config.repo.to_json().items()})
    fields["version"] = version
    return tuple((name, json.dumps(value, sort_keys=True)) for name, value in fields.items())


def _digest(path: Path | None) -> str | None:
    return None if path is None else hashlib.sha256(path.read_bytes()).hexdigest()


# --- merge ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One shard's output folder, read back."""

    folder: Path
    summary: AuditSummary
    shard: ShardInfo


def read_part(folder: Path) -> Part:
    """A shard's output folder; anything else is a one-line error naming the folder."""
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a folder")
    path = folder / RESULTS_FILE
    if not path.is_file():
        raise UsageError(f"{folder}: not a testaudit output folder (no {RESULTS_FILE}: "
                         "did its audit finish?)")
    summary = results_json.read(path)
    if summary.shard is None:
        raise UsageError(f"{path}: no field 'shard': not the output of `testaudit audit --shard K/N`")
    if not (folder / STORE_FILENAME).is_file():
        raise UsageError(f"{folder}: no {STORE_FILENAME}: not a whole testaudit output folder")
    ran = tuple(a.task.task_id for a in summary.tasks)
    if ran != summary.shard.tasks:
        raise UsageError(f"{path}: field 'shard.tasks' does not list the file's own tasks: damaged")
    return Part(folder, summary, summary.shard)


def check_parts(parts: Sequence[Part]) -> None:
    """Refuse parts that are not the N shards of one audit: other data or settings, another N,
    a shard twice or missing, tasks split differently. Each error names a part and a field."""
    first = parts[0]
    for part in parts[1:]:
        _same_run(first, part)
    numbers: dict[int, Part] = {}
    for part in parts:
        again = numbers.get(part.shard.index)
        if again is not None:
            raise UsageError(f"{part.folder}: field 'shard': shard {part.shard.index}/{part.shard.count} "
                             f"again ({again.folder} is that shard too)")
        numbers[part.shard.index] = part
    count = first.shard.count
    missing = [str(k) for k in range(1, count + 1) if k not in numbers]
    if missing:
        raise UsageError(f"missing shard{'s' if len(missing) > 1 else ''} {', '.join(missing)} of {count}: "
                         "merge needs every shard's folder (an empty shard writes one too)")
    owner: dict[str, Part] = {}
    for part in parts:
        for task_id in part.shard.tasks:
            if task_id in owner:
                raise UsageError(f"{part.folder}: field 'shard.tasks': task {task_id} is in "
                                 f"{owner[task_id].folder} too: the shards were split differently")
            owner[task_id] = part
    selected = set(first.shard.selection)
    for task_id, part in owner.items():
        if task_id not in selected:
            raise UsageError(f"{part.folder}: field 'shard.tasks': task {task_id} is not in the "
                             "selection: damaged")
    unowned = [t for t in first.shard.selection if t not in owner]
    if unowned:
        raise UsageError(f"field 'shard.tasks': {len(unowned)} selected tasks are in no shard "
                         f"(e.g. {unowned[0]}): the shards were split differently")


def _same_run(first: Part, part: Part) -> None:
    a, b = first.shard, part.shard
    if a.count != b.count:
        raise UsageError(f"{part.folder}: field 'shard': it is shard {b.index}/{b.count}, but "
                         f"{first.folder} is a shard of {a.count}: splits into different N cannot be merged")
    ours, theirs = dict(a.checks), dict(b.checks)
    for name in list(ours) + [n for n in theirs if n not in ours]:
        if ours.get(name) != theirs.get(name):
            raise UsageError(f"{part.folder}: field '{name}' is {_shown(theirs.get(name))} there but "
                             f"{_shown(ours.get(name))} in {first.folder}: shards of another audit")
    if a.selection != b.selection:
        raise UsageError(f"{part.folder}: field 'shard.selection': other tasks were selected than in "
                         f"{first.folder} (--tasks or --limit differ)")
    if a.run_key != b.run_key:
        raise UsageError(f"{part.folder}: field 'shard.run_key' differs from {first.folder}'s: "
                         "shards of another audit")


def _shown(value: str | None) -> str:
    if value is None:
        return "absent"
    return value if len(value) <= 40 else value[:37] + "..."


def merged_summary(parts: Sequence[Part]) -> AuditSummary:
    """The unsharded run's summary: every task's audit, in the selection's (dataset) order.

    Times are the shards' added up (`seconds`, triage's, the work split's), save the work
    split's `workers`: the most any one shard had, so that its idle time stays one machine's."""
    first = parts[0]
    audits = {a.task.task_id: a for part in parts for a in part.summary.tasks}
    tasks = [audits[t] for t in first.shard.selection]
    dataset = first.summary.dataset
    triage = [p.summary.triage_seconds for p in parts]
    return AuditSummary(
        Dataset(dataset.name, dataset.source, dataset.format, tuple(a.task for a in tasks),
                dataset.reference),
        first.summary.settings,
        tasks,
        sum(p.summary.seconds for p in parts),
        triage_seconds=None if all(t is None for t in triage) else sum(t or 0.0 for t in triage),
        work=_work([p.summary.work for p in parts]),
    )


def _work(works: list[Work | None]) -> Work | None:
    if any(w is None for w in works):
        return None
    rows = [asdict(w) for w in works if w is not None]
    total = {name: sum(row[name] for row in rows) for name in rows[0]}
    total["workers"] = max(row["workers"] for row in rows)
    return Work(**total)


def merge_stores(parts: Sequence[Part], out: Path, run_key: str) -> None:
    """OUT/session.sqlite with every part's verdicts, under the unsharded run's key: `testaudit
    audit ... --resume` into OUT (without --shard) then finds the whole run done."""
    store = Store.open(out, run_key, resume=False)
    try:
        for part in parts:
            store.absorb(part.folder / STORE_FILENAME)
    finally:
        store.close()

