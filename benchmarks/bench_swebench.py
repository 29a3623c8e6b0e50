"""Audit the two SWE-bench instances that rebuild from registry sdists, warm and fresh, in one run.

    python benchmarks/bench_swebench.py [--data DIR] [--work DIR] [--only INSTANCE]

For pallets__flask-4045 (flask==2.0.0) and marshmallow-code__marshmallow-1359
(marshmallow==3.0.0), as ../shared/data/swebench/README.md describes: downloads the sdist with
pip, unpacks it, and audits the instance twice with `--env venv` (the seeded spec): with the warm
forked pytest session, then with `--isolate` (a fresh pytest per mutant). Prints, per instance:
task status, mutants and their statuses, wall seconds of each audit, the per-mutant cost of each
mode (the mean time of a mutant that ran, timed by the run stage), their ratio, and whether the
two modes gave every mutant the same verdict. The venvs are cached under WORK/cache (the first
run builds them). Never asserts a time: machines are noisy. No result cache: times are real.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from testaudit.config import RepoSettings, RunConfig
from testaudit.pipeline import run
from testaudit.records import RAN, AuditSummary, MutantStatus

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "swebench"
INSTANCES = {
    "pallets__flask-4045": ("swe-bench-lite.json", "flask==2.0.0"),
    "marshmallow-code__marshmallow-1359": ("swe-bench-lite-dev.json", "marshmallow==3.0.0"),
}


def source_tree(requirement: str, work: Path) -> Path:
    """The unpacked sdist (downloaded once into WORK/sdists)."""
    sdists = work / "sdists"
    name = requirement.split("==")[0].lower()
    found = [p for p in sdists.glob("*.tar.gz") if p.name.lower().startswith(name)] if sdists.is_dir() else []
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
                        requirement, "-d", str(sdists)], check=True)
        found = [p for p in sdists.glob("*.tar.gz") if p.name.lower().startswith(name)]
    target = work / "src" / name
    if target.exists():
        shutil.rmtree(target)
    shutil.unpack_archive(found[0], target)
    (tree,) = target.iterdir()
    return tree


def audit(dataset: Path, instance: str, tree: Path, work: Path, isolate: bool) -> tuple[AuditSummary, float]:
    # No result cache (every audit runs), but the venvs are kept in WORK/cache.
    config = RunConfig(dataset=str(dataset), tasks=(instance,), workers=1, cache_dir=None,
                       out=work / "out" / f"{instance}{'-isolate' if isolate else ''}", triage=False,
                       repo=RepoSettings(source=tree, env="venv", isolate=isolate, env_cache=work / "cache"))
    # The venv is built (once) before either audit is timed: see main().
    started = time.perf_counter()
    summary = run(config)
    return summary, time.perf_counter() - started


def per_mutant(summary: AuditSummary, warm_only: bool = False) -> tuple[float, int]:
    """Mean seconds of a mutant that ran, and how many ran; `warm_only`: of those that ran in
    the warm session (not sent to a fresh pytest)."""
    (task,) = summary.tasks
    ran = [r.seconds for r in task.results.values() if r.status in RAN
           and not (warm_only and "(fresh pytest:" in (r.detail or ""))]
    return (sum(ran) / len(ran) if ran else 0.0), len(ran)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--work", type=Path, default=None,
                        help="downloads, venvs, outputs (default: a temp dir)")
    parser.add_argument("--only", choices=sorted(INSTANCES))
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-swebench-"))
    print(f"work folder: {work}")
    for instance, (file, requirement) in INSTANCES.items():
        if args.only and instance != args.only:
            continue
        tree = source_tree(requirement, work)
        # A first audit of no mutant would build the venv inside the timed audits: warm it up by
        # running the warm audit twice and timing the second.
        audit(args.data / file, instance, tree, work, isolate=False)
        warm, warm_wall = audit(args.data / file, instance, tree, work, isolate=False)
        fresh, fresh_wall = audit(args.data / file, instance, tree, work, isolate=True)
        (task,) = warm.tasks
        (other,) = fresh.tasks
        statuses = Counter(task.outcome(m).status.value for m in task.mutants)
        same = all(task.outcome(m).status is other.outcome(m).status for m in task.mutants)
        warm_cost, warm_ran = per_mutant(warm)
        fresh_cost, fresh_ran = per_mutant(fresh)
        fallback = sum(1 for r in task.results.values() if "(fresh pytest:" in (r.detail or ""))
        print(f"\n{instance}: {task.status.value}{' - ' + task.message if task.message else ''}")
        counts = ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))
        print(f"  mutants: {len(task.mutants)}  {counts}")
        print(f"  wall: warm {warm_wall:.1f} s, isolate {fresh_wall:.1f} s")
        print(f"  per mutant that ran: warm fork {warm_cost * 1000:.0f} ms ({warm_ran}, {fallback} of "
              f"them fell back to a fresh pytest), fresh pytest {fresh_cost * 1000:.0f} ms ({fresh_ran})")
        forked_cost, forked = per_mutant(warm, warm_only=True)
        ratio = fresh_cost / warm_cost if warm_cost else float("nan")
        forked_ratio = fresh_cost / forked_cost if forked_cost else float("nan")
        print(f"  ratio fresh/warm: {ratio:.1f}x over all that ran; {forked_ratio:.1f}x over the {forked} "
              f"that ran forked ({forked_cost * 1000:.0f} ms each); verdicts equal: {same}")
        for m in task.mutants:
            result = task.outcome(m)
            if result.status in (MutantStatus.SURVIVED, MutantStatus.NO_COVERAGE):
                print(f"    {result.status.value}: {m.file}:{m.location.start.line} "
                      f"{m.original!r} -> {m.replacement!r}")


if __name__ == "__main__":
    main()
