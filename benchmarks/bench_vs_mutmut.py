"""HumanEval under tuned mutmut 3 and under testaudit, in one run: walls, mutant counts, ratio.

    python benchmarks/bench_vs_mutmut.py [--workers N] [--limit N] [--keep DIR]
                                         [--mutmut-only | --testaudit-only]

Installs mutmut==3.8.1 and pytest into a throwaway venv (`python -m venv`, not timed), writes
the first --limit HumanEval tasks (default all 164, loaded by testaudit's own loader, so both
tools see the same reference programs) as the pytest project mutmut needs:

    pyproject.toml                    [tool.mutmut] config
    src/humaneval_tasks/task_000.py   prompt + canonical_solution
    tests/test_task_000.py            `from humaneval_tasks.task_000 import *`, the task's
                                      `test` code, and one test calling check(entry_point)

and times `mutmut run --max-children N` end to end (copying, mutant generation, stats and
clean-test runs included), then `python -m testaudit audit humaneval --no-triage --no-cache
--no-html --workers N --limit L --out DIR`, both with time.perf_counter around the subprocess.

Prints both walls, mutmut's mutants by status (from mutants/**/*.meta, which `mutmut results`
reads too) with the summed per-mutant durations, testaudit's summary counts from results.json
and its work split (summary["work"] where the audit writes it, else what the per-mutant records
give), mutants per second for each, the ratio mutmut_wall / testaudit_wall and the goal line.
Never asserts a time: the machine may be shared.

mutmut 3.8.1's tuning, as its configuration.py reads it (pyproject.toml [tool.mutmut] first,
setup.cfg [mutmut] otherwise):
  timeout_constant = 0.1, timeout_multiplier = 5 (defaults 1.0 and 15). Both exist. A mutant
    gets a CPU limit (RLIMIT_CPU) of ceil((estimated test time + constant) * multiplier * 2) s,
    so at least 1 s, and, under the default fork runner, a wall limit of (estimated test time +
    constant) * multiplier, at least 0.5 s here (workers/isolation.py).
  max_children is no config option in 3.8.1: it is `mutmut run --max-children N` (default
    os.cpu_count()); it sizes both the mutant-generation pool and the test workers.
  source_paths = ["src"] (paths_to_mutate is deprecated in 3.8.1 and warns);
  use_git_change_detection = false (the project is no git repository).

The counts differ by design: each tool has its own operators; mutmut mutates every function of
the module, helpers that the prompt defines included (HumanEval/32's poly, /38's encode_cyclic),
while testaudit mutates the canonical solution only and runs no mutant whose code the suite never
executes, or that is equivalent to another. So the per-mutant rates are printed beside the ratio.

If a test fails under mutmut's trampolines, mutmut stops at "Failed to run clean test"; the
script then names the failing tests from mutmut's output, drops those tasks from both runs
(mutmut's tries are timed and printed apart, not added to its wall) and tries again.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from testaudit.load import load
from testaudit.records import Task, TaskStatus

MUTMUT = "mutmut==3.8.1"
REPO = Path(__file__).resolve().parent.parent  # so the audit runs this checkout's testaudit
GOAL = 30.0
PACKAGE = "humaneval_tasks"

PYPROJECT = """\
[project]
name = "humaneval-tasks"
version = "0"

[tool.mutmut]
source_paths = ["src"]
pytest_add_cli_args_test_selection = ["tests"]
timeout_constant = 0.1
timeout_multiplier = 5
use_git_change_detection = false

[tool.pytest.ini_options]
testpaths = ["tests"]
"""

# mutmut's status names (stats.status_by_exit_code), in the order they are printed.
MUTMUT_ORDER = ("killed", "survived", "timeout", "no tests", "suspicious", "segfault", "skipped",
                "caught by type check", "check was interrupted by user", "not checked")
# testaudit's verdicts whose seconds are suite runs: the rest are decided without running.
RUN = ("killed", "survived", "timeout")


def module_name(index: int) -> str:
    return f"task_{index:03d}"


def test_file(index: int, task: Task) -> str:
    # HumanEval runs program and test in one namespace (HumanEval/32's test calls the prompt's
    # poly, /38's its encode_cyclic), hence the star import; the test's own names come after.
    name = module_name(index)
    return (f"# {task.task_id}\nfrom {PACKAGE}.{name} import *  # noqa: F403\n"
            f"from {PACKAGE}.{name} import {task.entry_point} as _entry_point\n\n"
            f"{task.test}\n\n\ndef test_{name}():\n    check(_entry_point)\n")


def write_project(root: Path, tasks: list[tuple[int, Task]]) -> None:
    package = root / "src" / PACKAGE
    package.mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT)
    (package / "__init__.py").write_text("")
    for index, task in tasks:
        (package / f"{module_name(index)}.py").write_text(f"# {task.task_id}\n{task.source}")
        (root / "tests" / f"test_{module_name(index)}.py").write_text(test_file(index, task))


def make_venv(where: Path) -> Path:
    print(f"installing {MUTMUT} and pytest into a venv in {where} (not timed)", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
    python = where / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    MUTMUT, "pytest"], check=True, stderr=subprocess.DEVNULL)
    return where / "bin" / "mutmut"


def run_mutmut(mutmut: Path, root: Path, workers: int) -> tuple[float, int, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # mutmut's own imports only
    log = root / "mutmut-run.log"
    started = time.perf_counter()
    with log.open("w") as out:
        code = subprocess.run([str(mutmut), "run", "--max-children", str(workers)], cwd=root,
                              env=env, stdout=out, stderr=subprocess.STDOUT).returncode
    return time.perf_counter() - started, code, log.read_text(errors="replace")


def failing_tests(output: str) -> set[str]:
    """Task module names whose tests failed mutmut's clean run (pytest's FAILED/ERROR lines)."""
    return set(re.findall(r"(?:FAILED|ERROR) tests/test_(task_\d{3})\.py", output))


def mutmut_results(root: Path) -> tuple[Counter, dict[str, float]]:
    """Mutants by status, and their summed test durations by status, from the .meta files."""
    counts: Counter = Counter()
    seconds: dict[str, float] = {}
    for meta in sorted((root / "mutants").rglob("*.py.meta")):
        data = json.loads(meta.read_text())
        durations = data.get("durations_by_key", {})
        for key, code in data["exit_code_by_key"].items():
            status = mutmut_status(code)
            counts[status] += 1
            seconds[status] = seconds.get(status, 0.0) + (durations.get(key) or 0.0)
    return counts, seconds


def mutmut_status(code: int | None) -> str:
    # mutmut 3.8.1's stats.status_by_exit_code; anything else is "suspicious" there too.
    table = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 2: "check was interrupted by user",
             None: "not checked", 33: "no tests", 34: "skipped", 35: "suspicious", 36: "timeout",
             37: "caught by type check", -24: "timeout", 24: "timeout", 152: "timeout",
             255: "timeout", -11: "segfault", -9: "segfault"}
    return table.get(code, "suspicious")


def run_testaudit(tasks: list[tuple[int, Task]], workers: int, out: Path) -> tuple[float, dict]:
    cmd = [sys.executable, "-m", "testaudit", "audit", "humaneval", "--no-triage", "--no-cache",
           "--no-html", "--workers", str(workers), "--out", str(out)]
    if [i for i, _ in tasks] == list(range(len(tasks))):
        cmd += ["--limit", str(len(tasks))]
    else:  # some were dropped for mutmut: name the rest (--tasks takes globs; an id matches itself)
        for _, task in tasks:
            cmd += ["--tasks", task.task_id]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO),
                                                                     os.environ.get("PYTHONPATH")]))}
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)  # its progress: noise here
    wall = time.perf_counter() - started
    if done.returncode:
        print(done.stderr[-3000:])
        raise SystemExit(f"testaudit audit exited {done.returncode}")
    return wall, json.loads((out / "results.json").read_text())


def work_split(results: dict, wall: float, workers: int) -> tuple[str, dict]:
    """summary["work"] if the audit wrote one, else the same figures from the mutant records."""
    work = results["summary"].get("work")
    if work:
        return "summary.work", work
    mutants = [m for t in results["tasks"] for m in t["mutants"]]
    ran = [m for m in mutants if m["status"] in RUN]
    suite = sum((m["seconds"] for m in ran if m["status"] != "timeout"), 0.0)
    timeouts = [m for m in ran if m["status"] == "timeout"]
    spent = sum((m["seconds"] for m in timeouts), 0.0)
    reference = sum(((t["reference"] or {}).get("suite_seconds") or 0.0 for t in results["tasks"]), 0.0)
    busy = suite + spent
    return "per-mutant records (no summary.work)", {
        "mutants_run": len(ran), "suite_seconds": suite, "timeouts": len(timeouts),
        "timeout_seconds": spent, "reference_suite_seconds": reference,
        "busy_seconds": busy,
        # Not summary.work's idle_seconds: all worker time outside suite runs (startup, loading,
        # generation, forks, waits), as wall x workers - busy.
        "other_seconds": wall * workers - busy,
    }


def number(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def print_mutmut(wall: float, output: str, counts: Counter, seconds: dict[str, float],
                 tries: list[str]) -> None:
    total = sum(counts.values())
    print(f"mutmut wall          {wall:.2f} s ({MUTMUT}, `mutmut run` end to end)")
    generated = re.search(r"done in (\d+)ms \(([^)]*)\)", output)
    if generated:
        print(f"mutmut generation    {int(generated[1]) / 1000:.2f} s ({generated[2]})")
    rate = re.search(r"([\d.]+) mutations/second", output)
    if rate:
        print(f"mutmut own rate      {rate[1]} mutations/second (its mutation-testing phase only)")
    for line in tries:
        print(f"mutmut earlier try   {line}")
    print(f"mutmut mutants       {total}")
    for status in sorted(counts, key=lambda s: MUTMUT_ORDER.index(s) if s in MUTMUT_ORDER else 99):
        print(f"  {status:<19}{counts[status]:>6}   {seconds.get(status, 0.0):8.2f} s of test runs")
    checked = total - counts["not checked"] - counts["no tests"]
    print(f"mutmut rate          {checked / wall:.1f} mutants tested per second")


def print_testaudit(wall: float, results: dict, workers: int) -> None:
    summary = results["summary"]
    print(f"testaudit wall       {wall:.2f} s (`python -m testaudit audit`, end to end; "
          f"its own clock {summary['seconds']:.2f} s)")
    print(f"testaudit tasks      {summary['tasks']} ({summary['broken']} broken, {summary['errors']} error)")
    print(f"testaudit mutants    {summary['mutants']}")
    for status in ("killed", "survived", "timeout", "no_coverage", "equivalent", "error"):
        print(f"  {status:<19}{summary[status]:>6}")
    source, work = work_split(results, wall, workers)
    print(f"testaudit work       from {source}")
    for key, value in work.items():
        print(f"  {key:<19}{number(value):>12}")
    ran = summary["killed"] + summary["survived"] + summary["timeout"]
    print(f"testaudit rate       {ran / wall:.1f} mutants run per second")


def selected_tasks(limit: int | None) -> list[tuple[int, Task]]:
    tasks = [t for t in load("humaneval").tasks if t.status is not TaskStatus.ERROR]
    return list(enumerate(tasks[:limit] if limit else tasks))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--limit", type=int, default=None, help="first N tasks (default all)")
    parser.add_argument("--keep", type=Path, default=None,
                        help="write the mutmut project here and keep it (must not exist)")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--mutmut-only", action="store_true")
    only.add_argument("--testaudit-only", action="store_true")
    args = parser.parse_args()
    tasks = selected_tasks(args.limit)
    print(f"tasks {len(tasks)} of HumanEval, workers {args.workers}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-mutmut-") as tmp:
        work = Path(tmp)
        mutmut_wall = audit_wall = None
        if not args.testaudit_only:
            root = args.keep or work / "project"
            mutmut = make_venv(work / "venv")
            tries: list[str] = []
            while True:
                write_project(root, tasks)
                print(f"mutmut run in {root}", flush=True)
                mutmut_wall, code, output = run_mutmut(mutmut, root, args.workers)
                bad = failing_tests(output) if code else set()
                if not code or not bad:
                    break
                # Only the clean run can fail this way: leave those tasks out and start afresh.
                dropped = [t.task_id for i, t in tasks if module_name(i) in bad]
                tries.append(f"{mutmut_wall:.2f} s, stopped: clean tests failed for {', '.join(dropped)}")
                print(f"mutmut: {tries[-1]}; dropping them", flush=True)
                tasks = [(i, t) for i, t in tasks if module_name(i) not in bad]
                subprocess.run(["rm", "-rf", str(root)], check=True)
            if code:
                print(output[-3000:])
                raise SystemExit(f"mutmut run exited {code} (log: {root / 'mutmut-run.log'})")
            counts, seconds = mutmut_results(root)
            print_mutmut(mutmut_wall, output, counts, seconds, tries)
        if not args.mutmut_only:
            print("testaudit audit", flush=True)
            audit_wall, results = run_testaudit(tasks, args.workers, work / "audit")
            print_testaudit(audit_wall, results, args.workers)
        if mutmut_wall is not None and audit_wall is not None:
            ratio = mutmut_wall / audit_wall
            print(f"ratio                mutmut_wall / testaudit_wall = {ratio:.1f}x")
            print(f"goal: testaudit at least {GOAL:.0f}x faster than tuned mutmut: measured {ratio:.1f}x, "
                  f"{'met' if ratio >= GOAL else 'not met'}")


if __name__ == "__main__":
    main()
