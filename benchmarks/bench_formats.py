"""Audit the first tasks of every benchmark format and print a table of counts and times.

    python benchmarks/bench_formats.py [--workers N] [--limit N] [--data DIR] [--only NAME]

The acceptance runs of issue 6: the first 25 tasks of each file in ../shared/data (MBPP, MBPP+
with both suites, BigCodeBench), all of sanitized MBPP, and the hand-made stdin/stdout and APPS
fixtures. Prints, per run: tasks, ok, broken, error (and how many errors are missing libraries),
mutants, killed, survived (with no_coverage), timeout, score, wall seconds and the triage stage's
share of them, then the broken and error tasks.
Never asserts a time: machines are noisy. Runs without the result cache, so times are real.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from testaudit.config import RunConfig
from testaudit.pipeline import run
from testaudit.records import AuditSummary, TaskStatus

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"


@dataclass(frozen=True)
class Run:
    label: str
    path: Path
    limit: int | None = 25
    suite: str = "base"


def runs(data: Path) -> list[Run]:
    return [
        Run("mbpp", data / "mbpp.jsonl"),
        Run("mbpp-sanitized (all)", data / "sanitized-mbpp.json", None),
        Run("mbpp+ base", data / "MbppPlus-v0.2.0.jsonl.gz"),
        Run("mbpp+ plus", data / "MbppPlus-v0.2.0.jsonl.gz", suite="plus"),
        Run("bigcodebench", data / "BigCodeBench-v0.1.0_hf.jsonl.gz"),
        Run("stdio (fixture)", REPO / "fixtures" / "stdio_tasks.jsonl"),
        Run("apps (fixture)", REPO / "fixtures" / "apps_tasks.jsonl"),
    ]


def audit(spec: Run, workers: int, limit: int | None, triage: bool) -> tuple[AuditSummary, float]:
    chosen = limit if limit is not None and spec.limit is not None else spec.limit
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        summary = run(RunConfig(dataset=str(spec.path), limit=chosen, workers=workers, out=Path(out),
                                html=False, cache_dir=None, suite=spec.suite, triage=triage))
        return summary, time.perf_counter() - started


def row(label: str, summary: AuditSummary, seconds: float) -> str:
    score = summary.score
    errors = [a for a in summary.tasks if a.status is TaskStatus.ERROR]
    missing = sum(1 for a in errors if "missing library" in (a.message or ""))
    pct = "n/a" if score.mutation_score is None else f"{100 * score.mutation_score:.1f}%"
    triage = getattr(summary, "triage_seconds", None)  # the survivor triage's share, when it ran
    return (f"| {label} | {len(summary.tasks)} | {summary.count_tasks(TaskStatus.OK)} | "
            f"{summary.count_tasks(TaskStatus.BROKEN)} | {len(errors)} ({missing} missing lib) | "
            f"{score.mutants} | {score.killed} | {score.survived + score.no_coverage} | "
            f"{score.timeout} | {pct} | {seconds:.1f} | {'-' if triage is None else f'{triage:.1f}'} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--limit", type=int, default=None, help="Override the 25-task limit.")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--only", action="append", default=[], help="Only runs whose label has this.")
    parser.add_argument("--no-triage", action="store_true", help="Time the mutant runs alone.")
    args = parser.parse_args()
    header = ("| run | tasks | ok | broken | error | mutants | killed | survived | timeout "
              "| score | seconds | of which triage |")
    lines, notes = [header, "|" + " --- |" * 12], []
    for spec in runs(args.data):
        if args.only and not any(word in spec.label for word in args.only):
            continue
        if not spec.path.exists():
            notes.append(f"{spec.label}: skipped, {spec.path} not found")
            continue
        summary, seconds = audit(spec, args.workers, args.limit, not args.no_triage)
        lines.append(row(spec.label, summary, seconds))
        print(lines[-1], flush=True)
        for a in summary.tasks:
            if a.status is not TaskStatus.OK:
                notes.append(f"{spec.label}: {a.status.value} {a.task.task_id}: {a.message}")
    print()
    print("\n".join(lines))
    print()
    print("\n".join(notes))


if __name__ == "__main__":
    main()
