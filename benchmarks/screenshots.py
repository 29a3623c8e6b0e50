"""Take the screenshots in docs/ of the HTML report, with headless Chromium.

    python benchmarks/screenshots.py                        # demo report of a few HumanEval tasks
    python benchmarks/screenshots.py --report reports/humaneval   # an existing report instead

The demo audits a few real HumanEval tasks with the same pipeline as `testaudit audit` (triage
included), renders the report, and photographs the index and the task with the most survivors.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from testaudit.config import RunConfig  # noqa: E402
from testaudit.pipeline import run  # noqa: E402
from testaudit.records import AuditSummary  # noqa: E402
from testaudit.report.html import write_html  # noqa: E402
from testaudit.report.stryker import write_stryker  # noqa: E402

DEMO_TASKS = ("HumanEval/0", "HumanEval/2", "HumanEval/12", "HumanEval/13", "HumanEval/24",
              "HumanEval/35", "HumanEval/52", "HumanEval/55")
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars")


def demo_summary() -> AuditSummary:
    """A real audit of a few HumanEval tasks (the same pipeline as `testaudit audit`)."""
    with tempfile.TemporaryDirectory() as out:
        return run(RunConfig(tasks=DEMO_TASKS, workers=2, out=Path(out), html=False, cache_dir=None))


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
