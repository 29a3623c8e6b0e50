"""Triage all of HumanEval's survivors (or another dataset's) and print what it proves, and what it costs.

    python benchmarks/bench_triage.py [--dataset FILE] [--suite base|plus] [--limit N]
                                      [--workers N] [--tasks GLOB] [--no-recheck]

Runs the suites (no triage), then the triage stage alone, timed: wall seconds, and CPU seconds of
the worker processes and their sandbox children. Prints survivors, confirmed (with a reproduced
witness), unconfirmed, no_coverage, inputs per task and the suggested tests, then re-checks every
suggested test here, independently of the stage that verified it: each task's set must pass on
the reference and kill every confirmed survivor, and each survivor's own test must fail on it
(assertions run in this process, as the trusted benchmarks' own tests would; a stdin/stdout case
runs the program in a child interpreter). Never asserts a time: machines are noisy.
"""

from __future__ import annotations

import argparse
import builtins
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

from testaudit.config import RunConfig, TriageSettings
from testaudit.pipeline import run
from testaudit.records import UNDETECTED, MutantStatus, SuiteKind, TaskAudit
from testaudit.run.pool import PoolExecutor
from testaudit.store import FILENAME, Store
from testaudit.suites.stdio import same_output
from testaudit.triage import StageConfig, run_stage
from testaudit.triage.task import run_job as triage_job


class _Late(BaseException):
    pass


def _alarm(signum, frame):
    raise _Late()


def passes(program: str, entry_point: str, test: str, seconds: float = 2.0) -> bool | None:
    """Does `test` pass against the program? None if it does not finish (HumanEval is trusted)."""
    namespace: dict = {"__name__": "__main__", "__builtins__": builtins}
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        exec(compile(program, "<program>", "exec"), namespace)
        namespace["candidate"] = namespace[entry_point]
        namespace["self"] = unittest.TestCase()  # for BigCodeBench's self.assert... lines
        exec(compile(test, "<suggested test>", "exec"), namespace)
    except _Late:
        return None
    except BaseException:
        return False
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return True


def case_passes(program: str, case: str, seconds: float = 10.0) -> bool | None:
    """Does a stdin/stdout case {input, output} pass against the program? None if it hangs."""
    given = json.loads(case)
    try:
        done = subprocess.run([sys.executable, "-c", program], input=given["input"], text=True,
                              capture_output=True, timeout=seconds, check=False)
    except subprocess.TimeoutExpired:
        return None
    return done.returncode == 0 and same_output(done.stdout, given["output"])


def recheck(audit: TaskAudit) -> tuple[int, int]:
    """(checks that hold, checks made) for one task's suggested tests."""
    task, ok, made = audit.task, 0, 0
    stdio = task.suite_kind is SuiteKind.STDIO

    def check(program: str, test: str) -> bool | None:
        return case_passes(program, test) if stdio else passes(program, task.entry_point, test)

    for test in audit.suggested_tests:
        made += 1
        ok += check(task.source, test) is True
    for mutant in audit.mutants:
        result = audit.outcome(mutant)
        if result.status not in UNDETECTED or result.witness is None:
            continue
        program = mutant.apply(task.source)
        if result.suggested_test:
            made += 1
            ok += check(program, result.suggested_test) is False
        made += 1  # the task's set kills it
        ok += any(check(program, t) is False for t in audit.suggested_tests)
    return ok, made


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="humaneval")
    parser.add_argument("--suite", choices=("base", "plus"), default="base")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--tasks", action="append", default=[])
    parser.add_argument("--seconds", type=float, default=TriageSettings.seconds)
    parser.add_argument("--no-recheck", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        config = RunConfig(dataset=args.dataset, suite=args.suite, limit=args.limit, tasks=tuple(args.tasks),
                           workers=args.workers, out=Path(out), html=False, cache_dir=None, triage=False)
        summary = run(config)
        store = Store(Path(out) / FILENAME)
        cpu, started = _cpu(), time.perf_counter()
        try:
            stage = StageConfig(TriageSettings(seconds=args.seconds), config.settings, args.workers)
            run_stage(summary.tasks, stage, store,
                      lambda n: PoolExecutor(config.settings, n, triage_job))
        finally:
            store.close()
        wall, cpu = time.perf_counter() - started, _cpu() - cpu
    survivors = [(a, a.outcome(m)) for a in summary.tasks for m in a.mutants
                 if a.outcome(m).status in UNDETECTED]
    confirmed = [r for _, r in survivors if r.witness is not None]
    uncovered = [r for _, r in survivors if r.status is MutantStatus.NO_COVERAGE]
    own = [r for r in confirmed if r.suggested_test]
    cover = sum(len(a.suggested_tests) for a in summary.tasks)
    tried = [r.inputs_tried for _, r in survivors]
    print(f"tasks               {len(summary.tasks)}, {summary.tasks_accepting_wrong} accept a "
          "confirmed wrong program")
    print(f"survivors           {len(survivors)} (of {summary.score.scored} scored mutants)")
    print(f"confirmed           {len(confirmed)} with a witness reproduced in a fresh process")
    print(f"unconfirmed         {len(survivors) - len(confirmed)} (possibly equivalent)")
    print(f"no_coverage         {len(uncovered)} ({sum(r.witness is not None for r in uncovered)} "
          "of them confirmed)")
    print(f"inputs tried        median {statistics.median(tried) if tried else 0:.0f} per survivor")
    print(f"suggested tests     {len(own)} per-survivor, {cover} in the tasks' sets (greedy cover), "
          "all verified by the stage")
    print(f"triage wall time    {wall:.1f} s with {args.workers} workers "
          f"({cpu:.1f} s CPU in workers and sandboxes)")
    if not args.no_recheck:
        ok = made = 0
        for audit in summary.tasks:
            good, checks = recheck(audit)
            ok, made = ok + good, made + checks
        print(f"re-checked here     {ok} of {made} suggested-test checks hold")


if __name__ == "__main__":
    main()
