"""The local pool against --dask local:N on the same tasks: wall times, their ratio, and the verdicts
compared mutant by mutant (prints, never asserts a time: machines are noisy).

    python benchmarks/bench_distributed.py [--limit N] [--workers 2] [--no-triage]

Both runs are --no-cache, with triage (as an audit is) unless --no-triage. The Dask run's wall
time includes starting its LocalCluster (the scheduler and N worker processes; the run stage and
triage share it): a long-running cluster pays that once, not per audit.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from testaudit.config import RunConfig
from testaudit.pipeline import run
from testaudit.records import AuditSummary


def _timed(config: RunConfig) -> tuple[AuditSummary, float]:
    started = time.perf_counter()
    summary = run(config)
    return summary, time.perf_counter() - started


def _verdicts(summary: AuditSummary) -> dict[str, tuple]:
    return {m: (r.status.value, r.witness) for a in summary.tasks for m, r in a.results.items()}


def _tasks(summary: AuditSummary) -> dict[str, str]:
    return {m: a.task.task_id for a in summary.tasks for m in a.results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="the first N tasks (default: all 164)")
    parser.add_argument("--workers", type=int, default=2, help="local pool workers, and Dask workers")
    parser.add_argument("--no-triage", action="store_true", help="skip survivor triage in both runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        common = {"dataset": "humaneval", "limit": args.limit, "workers": args.workers, "html": False,
                  "cache_dir": None, "triage": not args.no_triage}
        local, local_s = _timed(RunConfig(**common, out=Path(out) / "local"))
        dask, dask_s = _timed(RunConfig(**common, out=Path(out) / "dask",
                                        dask_address=f"local:{args.workers}"))
    mine, theirs = _verdicts(local), _verdicts(dask)
    differ = sorted(m for m in mine.keys() | theirs.keys() if mine.get(m) != theirs.get(m))
    jobs = dask.work.jobs if dask.work is not None else 0
    print(f"tasks              {len(local.tasks)}, mutants {len(mine)}")
    print(f"local pool         {local_s:.2f} s wall with --workers {args.workers}")
    print(f"dask local:{args.workers:<7} {dask_s:.2f} s wall ({jobs} jobs, splits included)")
    print(f"ratio dask/local   {dask_s / local_s:.2f}")
    print(f"verdicts           {'equal, mutant by mutant' if not differ else f'{len(differ)} differ'}")
    where = _tasks(local) | _tasks(dask)
    for mutant in differ[:20]:
        print(f"  {where[mutant]} {mutant}: local {mine.get(mutant)} dask {theirs.get(mutant)}")


if __name__ == "__main__":
    main()
