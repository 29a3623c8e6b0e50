"""Audit all of HumanEval and print the speed figures (never asserts a time: machines are noisy).

    python benchmarks/bench_humaneval.py [--workers N] [--limit N] [--no-isolation]

Prints tasks, mutants, wall seconds, mutants per second, and the per-mutant overhead against the
bare suite time measured in the same run (the reference's median suite time, taken in the
sandbox that then runs its mutants).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from testaudit.config import ExecSettings, RunConfig
from testaudit.pipeline import run
from testaudit.records import MutantStatus, TaskStatus
from testaudit.text import percent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--dataset", default="humaneval")
    parser.add_argument("--triage", action="store_true",
                        help="include survivor triage (timed separately; bench_triage.py details it)")
    parser.add_argument("--no-isolation", action="store_true",
                        help="sandboxes without namespaces (to measure what isolation costs)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        summary = run(RunConfig(dataset=args.dataset, limit=args.limit, workers=args.workers,
                                out=Path(out), html=False, cache_dir=None, triage=args.triage,
                                settings=ExecSettings(isolate=not args.no_isolation)))
        wall = time.perf_counter() - started
    triage = summary.triage_seconds or 0.0
    wall -= triage  # the figures below are the audit's own: load, generate, run, store
    score = summary.score
    ran = [(a, r) for a in summary.tasks for r in a.results.values()
           if r.status in (MutantStatus.KILLED, MutantStatus.SURVIVED, MutantStatus.TIMEOUT)]
    quick = [(a, r) for a, r in ran if r.status is not MutantStatus.TIMEOUT]
    # Medians: one slow suite (HumanEval/75, ~140 ms) would dominate a mean.
    bare = statistics.median(a.reference.suite_seconds for a, _ in quick) if quick else 0.0
    in_sandbox = statistics.median(r.seconds for _, r in quick) if quick else 0.0
    cpu_per_mutant = wall * args.workers / len(ran) if ran else 0.0
    timeout_cost = sum(r.seconds for _, r in ran if r.status is MutantStatus.TIMEOUT)
    print(f"dataset            {summary.dataset.name}")
    print(f"tasks              {len(summary.tasks)} ({summary.count_tasks(TaskStatus.OK)} ok, "
          f"{summary.count_tasks(TaskStatus.BROKEN)} broken, {summary.count_tasks(TaskStatus.ERROR)} error)")
    print(f"mutants            {score.mutants} generated, {len(ran)} run, "
          f"{score.equivalent} equivalent or duplicate (not run), "
          f"{score.no_coverage} no_coverage (not run: the suite never executes them), {score.error} error")
    print(f"verdicts           killed {score.killed}, survived {score.survived}, "
          f"timeout {score.timeout}, no_coverage {score.no_coverage}; score {percent(score.mutation_score)}")
    print(f"wall seconds       {wall:.2f} with {args.workers} workers")
    print(f"mutants per second {len(ran) / wall:.0f}")
    print(f"bare suite time    {bare * 1e6:.1f} us (median over the mutants run, of their task's reference)")
    print(f"in-sandbox time    {in_sandbox * 1e6:.1f} us per mutant, median "
          "(compile + fresh namespace + suite)"
          f" = {in_sandbox / bare if bare else 0:.1f}x the bare suite")
    print(f"worker time        {cpu_per_mutant * 1e3:.2f} ms per mutant overall "
          f"(wall x workers / mutants run) = "
          f"{cpu_per_mutant / bare if bare else 0:.0f}x the median bare suite")
    if args.triage:
        print(f"triage seconds     {triage:.2f} (after the audit; total {wall + triage:.2f} s)")
    print(f"timeouts           {score.timeout} mutants, {timeout_cost:.1f} s of budget "
          f"({100 * timeout_cost / (wall * args.workers):.0f}% of worker time)")


if __name__ == "__main__":
    main()
