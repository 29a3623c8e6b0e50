"""Acceptance: a benchmark repository gated in CI, as a maintainer lives it (issue 5)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import REPO

STRONG = {
    "task_id": "bench/add",
    "prompt": 'def add(a, b):\n    """Sum of a and b."""\n',
    "canonical_solution": "    return a + b\n",
    "test": "def check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(-1, 1) == 0\n"
            "    assert candidate(0, 7) == 7\n",
    "entry_point": "add",
}
WEAK = {
    "task_id": "bench/clamp",
    "prompt": 'def clamp(x, lo, hi):\n    """Clamp x into the range [lo, hi]."""\n',
    "canonical_solution": "    if x < lo:\n        return lo\n    if x > hi:\n        return hi\n"
                          "    return x\n",
    "test": "def check(candidate):\n    assert candidate(5, 0, 10) == 5\n"
            "    assert candidate(-3, 0, 10) == 0\n",
    "entry_point": "clamp",
}


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"})


def _write(repo: Path, tasks: list[dict]) -> None:
    (repo / "tasks.jsonl").write_text("".join(json.dumps(t) + "\n" for t in tasks))


def _gate(repo: Path, *extra: str) -> tuple[int, str, float]:
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "testaudit", "gate", "tasks.jsonl", "--workers", "2", "--no-html",
         "--out", "audit", "--junit", "audit.xml", *extra],
        cwd=repo, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    return proc.returncode, proc.stdout + proc.stderr, time.perf_counter() - started


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_weak_task_fails_the_gate_until_its_suggested_tests_are_pasted(tmp_path: Path) -> None:
    repo = tmp_path / "bench"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "pyproject.toml").write_text("[tool.testaudit]\nmax-confirmed-wrong = 0\n")
    _write(repo, [STRONG])
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "a strong task")
    code, output, _ = _gate(repo)
    assert code == 0, output

    # A pull request adds a weak task on line 2 of the dataset.
    _write(repo, [STRONG, WEAK])
    _git(repo, "commit", "-qam", "add a weak task")
    code, output, _ = _gate(repo)
    assert code == 1, output
    assert "FAIL bench/clamp at tasks.jsonl:2" in output
    assert "confirmed wrong programs pass its tests (max-confirmed-wrong 0)" in output
    assert "bench/add" not in [line.split()[1] for line in output.splitlines() if line.startswith("FAIL")]
    cases = ET.parse(repo / "audit.xml").getroot().findall(".//testcase")
    assert [c.get("name") for c in cases if c.find("failure") is not None] == ["bench/clamp"]

    # The maintainer pastes the suggested tests into the task's check function.
    results = json.loads((repo / "audit" / "results.json").read_text())
    clamp = next(t for t in results["tasks"] if t["task_id"] == "bench/clamp")
    suggested = clamp["suggested_tests"]
    assert suggested and all(line.startswith("assert candidate(") for line in suggested)
    fixed = dict(WEAK, test=WEAK["test"] + "".join(f"    {line}\n" for line in suggested))
    _write(repo, [STRONG, fixed])
    _git(repo, "commit", "-qam", "strengthen the weak task")
    code, output, _ = _gate(repo)
    assert code == 0, output
    assert "cache: 1 unchanged tasks served from the result cache" in output  # bench/add

    # Nothing changed: the whole gate is served from the cache.
    code, output, seconds = _gate(repo)
    assert code == 0, output
    assert "cache: 2 unchanged tasks served from the result cache" in output
    assert "mutants to judge" not in output
    print(f"gate re-run served from the cache in {seconds:.2f} s")
