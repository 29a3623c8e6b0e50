"""Snapshot testaudit's verdicts on real datasets, and compare two snapshots mutant by mutant.

Meant for restructurings that must not change behaviour: take a snapshot with the old code, one
with the new, and compare them. Standard library only; testaudit itself runs in a subprocess, so
the code under test is whatever the chosen interpreter and PYTHONPATH import.

    python benchmarks/compare_behaviour.py snapshot OUT.json [--python PYTHON] [--pythonpath DIR]
                                                    [--data DIR] [--workers N] [--only NAME ...]
    python benchmarks/compare_behaviour.py compare BEFORE.json AFTER.json

`snapshot` runs `audit DATASET --no-cache --no-html --workers N --out TMPDIR` (triage on) on the
built-in humaneval (all tasks) and, with --limit 25, on mbpp.jsonl, sanitized-mbpp.json,
MbppPlus-v0.2.0.jsonl.gz (--suite base and --suite plus) and BigCodeBench-v0.1.0_hf.jsonl.gz from
the data folder (default: ../shared/data next to the repository; absent files are skipped). It
records per task the status and suggested tests, per mutant the status, witness and suggested
test, and per dataset the wall seconds and the summary counts. The audit runs with its working
directory in a temporary folder, so a checkout in the current directory cannot shadow --pythonpath.

`compare` checks, for every dataset in both snapshots, the same mutant ids per task with the same
status, witness and suggested test, and the same task status and suggested tests. One difference
is allowed: a mutant that is now no_coverage (marked without running it) but had another status
before; those are counted apart, by their old status. A second one: a mutant killed before and
timed out now, or the other way round, with the same witness and suggested test (both are
detected; the order in which independent assertions run decides between them when a mutant
fails one and loops on another: docs/architecture.md); those are counted and printed apart, by
direction. Exit 0 when nothing else differs, else 1.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"
CLI = "import sys; from testaudit.cli import main; sys.argv[0] = 'testaudit'; main()"
NO_COVERAGE = "no_coverage"
DETECTED = frozenset({"killed", "timeout"})  # a swap between these two is allowed (see above)
MAX_LISTED = 20
# Summary keys that measure time, not behaviour: never compared.
TIMING_KEYS = {"seconds", "triage_seconds"}


@dataclass(frozen=True)
class Dataset:
    name: str
    file: str | None  # None: the built-in humaneval
    args: tuple[str, ...] = ()


DATASETS = (
    Dataset("humaneval", None),
    Dataset("mbpp", "mbpp.jsonl", ("--limit", "25")),
    Dataset("sanitized-mbpp", "sanitized-mbpp.json", ("--limit", "25")),
    Dataset("mbppplus-base", "MbppPlus-v0.2.0.jsonl.gz", ("--limit", "25", "--suite", "base")),
    Dataset("mbppplus-plus", "MbppPlus-v0.2.0.jsonl.gz", ("--limit", "25", "--suite", "plus")),
    Dataset("bigcodebench", "BigCodeBench-v0.1.0_hf.jsonl.gz", ("--limit", "25")),
)


# --------------------------------------------------------------------------------------- snapshot


def _env(pythonpath: str | None) -> dict[str, str]:
    env = dict(os.environ)
    if pythonpath:
        old = env.get("PYTHONPATH")
        # Absolute: the audit runs in a temporary working directory.
        env["PYTHONPATH"] = str(Path(pythonpath).resolve()) + (os.pathsep + old if old else "")
    return env


def _imported_from(python: str, env: dict[str, str]) -> str:
    """Where the chosen interpreter imports testaudit from (run outside any checkout)."""
    with tempfile.TemporaryDirectory(prefix="compare-behaviour-") as tmp:
        done = subprocess.run([python, "-c", "import testaudit; print(testaudit.__file__)"],
                              cwd=tmp, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"cannot import testaudit with {python}:\n{done.stderr}")
    return done.stdout.strip()


def _mutants(task: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per mutant id: what is compared (plus operator and detail, for reading only)."""
    out: dict[str, dict[str, Any]] = {}
    for mutant in task.get("mutants") or []:
        key = str(mutant["id"])
        n = 2
        while key in out:  # never expected; kept apart rather than overwritten
            key, n = f"{mutant['id']}#{n}", n + 1
        out[key] = {"operator": mutant.get("operator"), "status": mutant.get("status"),
                    "witness": mutant.get("witness"), "suggested_test": mutant.get("suggested_test"),
                    "detail": mutant.get("detail")}
    return out


def _record(results: dict[str, Any]) -> dict[str, Any]:
    tasks: dict[str, Any] = {}
    for task in results.get("tasks") or []:
        tasks[str(task["task_id"])] = {"status": task.get("status"), "message": task.get("message"),
                                       "suggested_tests": task.get("suggested_tests") or [],
                                       "mutants": _mutants(task)}
    return {"summary": results.get("summary"), "tasks": tasks}


def _run_one(ds: Dataset, python: str, env: dict[str, str], data: Path, workers: int) -> dict[str, Any]:
    target = "humaneval" if ds.file is None else str(data / ds.file)
    with tempfile.TemporaryDirectory(prefix=f"compare-behaviour-{ds.name}-") as tmp:
        out = Path(tmp) / "out"
        argv = [python, "-c", CLI, "audit", target, "--no-cache", "--no-html",
                "--workers", str(workers), "--out", str(out), *ds.args]
        start = time.monotonic()
        done = subprocess.run(argv, cwd=tmp, env=env, capture_output=True, text=True, check=False)
        wall = round(time.monotonic() - start, 3)
        entry: dict[str, Any] = {"argv": argv[3:], "exit_code": done.returncode, "wall_seconds": wall}
        results_file = out / "results.json"
        if done.returncode not in (0, 1) or not results_file.is_file():
            why = (f"exit code {done.returncode}" if done.returncode not in (0, 1)
                   else "no results.json written")
            print(f"  ERROR {ds.name}: {why}\n--- stderr ---\n{done.stderr}\n--- end stderr ---",
                  file=sys.stderr)
            entry.update(error=why, stderr=done.stderr[-20000:], stdout=done.stdout[-5000:])
            return entry
        entry.update(_record(json.loads(results_file.read_text(encoding="utf-8"))))
        return entry


def snapshot(args: argparse.Namespace) -> int:
    env = _env(args.pythonpath)
    data = Path(args.data).resolve()
    chosen = [ds for ds in DATASETS if not args.only or ds.name in args.only]
    unknown = set(args.only or ()) - {ds.name for ds in DATASETS}
    if unknown:
        sys.exit(f"unknown dataset(s): {', '.join(sorted(unknown))}; "
                 f"known: {', '.join(ds.name for ds in DATASETS)}")
    module = _imported_from(args.python, env)
    print(f"testaudit imported from {module}")
    snap: dict[str, Any] = {"meta": {"python": args.python, "pythonpath": args.pythonpath,
                                     "testaudit_file": module, "data": str(data),
                                     "workers": args.workers, "created": time.strftime("%Y-%m-%d %H:%M:%S")},
                            "datasets": {}}
    failed = 0
    for ds in chosen:
        if ds.file is not None and not (data / ds.file).is_file():
            print(f"  skip {ds.name}: {data / ds.file} does not exist")
            continue
        print(f"  {ds.name}: running ...", flush=True)
        entry = _run_one(ds, args.python, env, data, args.workers)
        snap["datasets"][ds.name] = entry
        if "error" in entry:
            failed += 1
            continue
        mutants = sum(len(t["mutants"]) for t in entry["tasks"].values())
        print(f"  {ds.name}: exit {entry['exit_code']}, {entry['wall_seconds']:.1f} s wall, "
              f"{len(entry['tasks'])} tasks, {mutants} mutants", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(snap, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"snapshot: {out}")
    return 1 if failed else 0


# ---------------------------------------------------------------------------------------- compare


@dataclass
class Tally:
    tasks: int = 0
    mutants: int = 0
    identical: int = 0
    allowed: Counter[str] = field(default_factory=Counter)  # by the before-status
    allowed_same_evidence: Counter[str] = field(default_factory=Counter)
    swapped: Counter[str] = field(default_factory=Counter)  # "killed -> timeout" and back
    swaps: list[str] = field(default_factory=list)  # the swapped mutants, one line each
    differing: list[str] = field(default_factory=list)  # mutant-level, one line each
    task_diffs: list[str] = field(default_factory=list)  # task-level, one line each


def _short(value: Any, width: int = 160) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 3] + "..."


def _compare_mutant(tally: Tally, where: str, before: dict[str, Any], after: dict[str, Any]) -> None:
    same_evidence = (before.get("witness") == after.get("witness")
                     and before.get("suggested_test") == after.get("suggested_test"))
    if after.get("status") == NO_COVERAGE and before.get("status") != NO_COVERAGE:
        tally.allowed[str(before.get("status"))] += 1
        if same_evidence:
            tally.allowed_same_evidence[str(before.get("status"))] += 1
        return
    if before.get("status") == after.get("status") and same_evidence:
        tally.identical += 1
        return
    old, new = before.get("status"), after.get("status")
    if same_evidence and old != new and {old, new} <= DETECTED:
        tally.swapped[f"{old} -> {new}"] += 1
        tally.swaps.append(f"{where} ({before.get('operator')}): {old} -> {new}")
        return
    lines = [f"{where} ({before.get('operator')})"]
    for key in ("status", "witness", "suggested_test"):
        if before.get(key) != after.get(key):
            lines.append(f"      {key}: {_short(before.get(key))}  ->  {_short(after.get(key))}")
    tally.differing.append("\n".join(lines))


def _compare_task(tally: Tally, task_id: str, before: dict[str, Any], after: dict[str, Any]) -> None:
    for key in ("status", "suggested_tests"):
        if before.get(key) != after.get(key):
            tally.task_diffs.append(f"{task_id} {key}: {_short(before.get(key))}  ->  "
                                    f"{_short(after.get(key))}")
    old, new = before.get("mutants", {}), after.get("mutants", {})
    for mutant_id in sorted(old.keys() | new.keys()):
        tally.mutants += 1
        where = f"{task_id} {mutant_id}"
        if mutant_id not in new:
            tally.differing.append(f"{where} ({old[mutant_id].get('operator')}): only before, "
                                   f"status {old[mutant_id].get('status')}")
        elif mutant_id not in old:
            tally.differing.append(f"{where} ({new[mutant_id].get('operator')}): only after, "
                                   f"status {new[mutant_id].get('status')}")
        else:
            _compare_mutant(tally, where, old[mutant_id], new[mutant_id])


def _compare_dataset(before: dict[str, Any], after: dict[str, Any]) -> Tally:
    tally = Tally()
    old, new = before.get("tasks", {}), after.get("tasks", {})
    for task_id in sorted(old.keys() | new.keys()):
        tally.tasks += 1
        if task_id not in new or task_id not in old:
            side = "before" if task_id in old else "after"
            count = len((old if task_id in old else new)[task_id].get("mutants", {}))
            tally.task_diffs.append(f"{task_id}: only {side} ({count} mutants)")
            tally.mutants += count
            continue
        _compare_task(tally, task_id, old[task_id], new[task_id])
    return tally


def _summary_changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    old, new = before.get("summary") or {}, after.get("summary") or {}
    return [f"{key} {old.get(key)} -> {new.get(key)}" for key in sorted(old.keys() | new.keys())
            if key not in TIMING_KEYS and old.get(key) != new.get(key)]


def _print_details(name: str, tally: Tally, before: dict[str, Any], after: dict[str, Any]) -> None:
    for status, count in sorted(tally.allowed.items()):
        same = tally.allowed_same_evidence[status]
        print(f"  {name}: now no_coverage without running (was {status}): {count} "
              f"(witness and suggested_test unchanged: {same}, changed: {count - same})")
    for direction, count in sorted(tally.swapped.items()):
        print(f"  {name}: detected either way, {direction}: {count}")
    for line in tally.swaps[:MAX_LISTED]:
        print(f"  {name}: swapped: {line}")
    if len(tally.swaps) > MAX_LISTED:
        print(f"  {name}: ... and {len(tally.swaps) - MAX_LISTED} more swaps")
    changes = _summary_changes(before, after)
    if changes:
        print(f"  {name}: summary counts: " + "; ".join(changes))
    for line in tally.task_diffs[:MAX_LISTED]:
        print(f"  {name}: task differs: {line}")
    if len(tally.task_diffs) > MAX_LISTED:
        print(f"  {name}: ... and {len(tally.task_diffs) - MAX_LISTED} more task differences")
    for line in tally.differing[:MAX_LISTED]:
        print(f"  {name}: mutant differs: {line}")
    if len(tally.differing) > MAX_LISTED:
        print(f"  {name}: ... and {len(tally.differing) - MAX_LISTED} more differing mutants")


def compare(args: argparse.Namespace) -> int:
    before = json.loads(Path(args.before).read_text(encoding="utf-8"))["datasets"]
    after = json.loads(Path(args.after).read_text(encoding="utf-8"))["datasets"]
    bad = 0
    for name in sorted(before.keys() ^ after.keys()):
        print(f"note: dataset {name} is only in {'BEFORE' if name in before else 'AFTER'}; not compared")
    names = [ds.name for ds in DATASETS if ds.name in before and ds.name in after]
    names += sorted((before.keys() & after.keys()) - set(names))
    header = (f"{'dataset':<16} {'tasks':>6} {'mutants':>8} {'identical':>10} {'allowed':>8} "
              f"{'swapped':>8} {'differing':>10} {'task diffs':>11} {'wall before':>12} {'wall after':>11}")
    rows, details = [header, "-" * len(header)], []
    for name in names:
        old, new = before[name], after[name]
        if "error" in old or "error" in new:
            rows.append(f"{name:<16} run failed: before: {old.get('error', 'ok')}; "
                        f"after: {new.get('error', 'ok')}")
            bad += 1
            continue
        tally = _compare_dataset(old, new)
        allowed = sum(tally.allowed.values())
        swapped = sum(tally.swapped.values())
        rows.append(f"{name:<16} {tally.tasks:>6} {tally.mutants:>8} {tally.identical:>10} {allowed:>8} "
                    f"{swapped:>8} {len(tally.differing):>10} {len(tally.task_diffs):>11} "
                    f"{old.get('wall_seconds', 0):>11.1f}s {new.get('wall_seconds', 0):>10.1f}s")
        bad += len(tally.differing) + len(tally.task_diffs)
        details.append((name, tally, old, new))
    print("\n".join(rows))
    for name, tally, old, new in details:
        _print_details(name, tally, old, new)
    print("result: " + ("no disallowed difference" if not bad else f"{bad} disallowed difference(s)"))
    return 1 if bad else 0


# ------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    snap = sub.add_parser("snapshot", help="run the audits and write their verdicts to OUT.json")
    snap.add_argument("out", metavar="OUT.json")
    snap.add_argument("--python", default=sys.executable, help="interpreter [this one]")
    snap.add_argument("--pythonpath", help="folder put first on PYTHONPATH (e.g. a baseline checkout)")
    snap.add_argument("--data", default=str(DEFAULT_DATA), help=f"dataset folder [{DEFAULT_DATA}]")
    snap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="audit workers [CPUs]")
    snap.add_argument("--only", nargs="+", metavar="NAME",
                      help="only these datasets: " + ", ".join(ds.name for ds in DATASETS))
    snap.set_defaults(func=snapshot)
    cmp = sub.add_parser("compare", help="compare two snapshots mutant by mutant")
    cmp.add_argument("before", metavar="BEFORE.json")
    cmp.add_argument("after", metavar="AFTER.json")
    cmp.set_defaults(func=compare)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
