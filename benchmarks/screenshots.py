"""Take the screenshots in docs/ of the HTML report, with headless Chromium.

    python benchmarks/screenshots.py                        # demo report of a few HumanEval tasks
    python benchmarks/screenshots.py --report reports/humaneval   # an existing report instead

The demo loads a few real HumanEval tasks, makes their mutants with testaudit's own generator, and
decides each verdict with a deliberately tiny runner (one forked process per mutant, a fixed time
limit): enough for a realistic picture, not a substitute for `testaudit audit`.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from testaudit.loaders import load  # noqa: E402
from testaudit.mutate import generate  # noqa: E402
from testaudit.records import (  # noqa: E402
    AuditSummary,
    Mutant,
    MutantResult,
    MutantStatus,
    Task,
    TaskAudit,
)
from testaudit.report.html import write_html  # noqa: E402
from testaudit.report.stryker import STRYKER_STATUS, write_stryker  # noqa: E402

DEMO_TASKS = ("HumanEval/0", "HumanEval/2", "HumanEval/12", "HumanEval/13", "HumanEval/24",
              "HumanEval/35", "HumanEval/52", "HumanEval/55")
TIME_LIMIT = 1.0  # seconds per mutant: every demo reference runs in milliseconds
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars")
assert STRYKER_STATUS  # the demo also writes the Stryker JSON beside the pages


def _suite(program: str, task: Task) -> None:
    """In the child: exit 0 if the suite passes, 1 if it fails; print nothing either way."""
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - the child exits right after
    try:
        namespace: dict = {"__name__": "__demo__"}
        exec(compile(program + "\n" + task.test, task.task_id, "exec"), namespace)
        namespace["check"](namespace[task.entry_point])
    except BaseException:
        os._exit(1)
    os._exit(0)


def _verdict(task: Task, mutant: Mutant) -> MutantResult:
    """Run the suite on the mutant in a forked child: exit 0 means the suite passed."""
    child = multiprocessing.get_context("fork").Process(
        target=_suite, args=(mutant.apply(task.source), task)
    )
    start = time.perf_counter()
    child.start()
    child.join(TIME_LIMIT)
    seconds = time.perf_counter() - start
    if child.is_alive():
        child.kill()
        child.join()
        status, detail = MutantStatus.TIMEOUT, f"exceeded {TIME_LIMIT:.0f} s"
    elif child.exitcode == 0:
        status, detail = MutantStatus.SURVIVED, None
    else:
        status, detail = MutantStatus.KILLED, "the suite failed (assertion or exception)"
    return MutantResult(mutant.id, task.task_id, status, detail, seconds)


def demo_summary() -> AuditSummary:
    dataset = load("humaneval")
    by_id = {t.task_id: t for t in dataset.tasks}
    audits = []
    for task_id in DEMO_TASKS:
        task = by_id[task_id]
        mutants = generate(task)
        results = {
            m.id: _verdict(task, m) for m in mutants if m.status is MutantStatus.PENDING
        }
        audits.append(TaskAudit(task, mutants, results))
    tasks = tuple(a.task for a in audits)
    return AuditSummary(
        type(dataset)(dataset.name, dataset.source, dataset.format, tasks),
        {"tasks": ", ".join(DEMO_TASKS), "runner": "benchmarks/screenshots.py demo"},
        audits,
    )


def _page_with_most_survivors(index: Path) -> str:
    links = re.findall(r'href="([^"#]+)#survivors"[^>]*>(\d+)<', index.read_text())
    if not links:
        raise SystemExit(f"{index}: no task with survivors to show")
    return max(links, key=lambda link: int(link[1]))[0]


def screenshot(chromium: str, url: str, png: Path, height: int) -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
             f"--window-size=1200,{height}", f"--screenshot={png}", url],
            check=True, capture_output=True, timeout=60,
        )
    print(f"wrote {png}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", type=Path, help="an existing report folder to photograph")
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="where the PNGs go")
    args = parser.parse_args(argv)
    chromium = next(filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None)
    if chromium is None:
        raise SystemExit("no chromium on PATH: apt-get install chromium")
    report = args.report
    if report is None:
        report = Path(tempfile.mkdtemp(prefix="testaudit-demo-"))
        summary = demo_summary()
        write_stryker(summary, report / "mutation-report.json")
        write_html(summary, report)
        print(f"demo report in {report}")
    index = report / "index.html"
    task_page = report / _page_with_most_survivors(index)
    screenshot(chromium, index.resolve().as_uri(), args.out / "report-index.png", 1350)
    screenshot(chromium, task_page.resolve().as_uri(), args.out / "report-task.png", 1500)


if __name__ == "__main__":
    main()
