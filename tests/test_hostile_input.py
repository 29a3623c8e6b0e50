"""Hostile text and bad input (issue 10, parts 6 and 7): text that is not valid Unicode never ends
an audit, and input that is not a bad record gets one line, exit 2, naming the path (and line and
field where there is one), never an internal error or a hang."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REPO

from testaudit.cli import cli
from testaudit.text import clean, cleaned

ROOT = os.geteuid() == 0
FAST = ["--workers", "1", "--no-cache", "--no-triage", "--no-html"]


def record(**fields) -> dict:
    task = {"task_id": "t/1", "prompt": "def f(x):\n", "canonical_solution": "    return x + 1\n",
            "test": "def check(candidate):\n    assert candidate(1) == 2\n", "entry_point": "f"}
    task.update(fields)
    return task


def write(path: Path, *records: dict | str) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n")
    return path


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """The CLI in a subprocess under a wall-clock timeout: a hang fails the test, not the run."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "testaudit", *args], capture_output=True,
                          text=True, timeout=timeout, env=env)


def one_error_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1, output
    assert "internal error" not in lines[0], output
    return lines[0]


# --- part 6: text that is not valid Unicode ---------------------------------------------------


def test_clean_escapes_lone_surrogates_and_nul_and_keeps_everything_else() -> None:
    assert clean("a\ud800b\udfffc") == "a\\ud800b\\udfffc"
    assert clean("x\x00y") == "x\\x00y"
    assert clean("é ✓ \U0001f600 \\ud800") == "é ✓ \U0001f600 \\ud800"
    text = "plain"
    assert clean(text) is text
    assert cleaned({"k\ud800": ["\x00", ("a", 1, None)]}) == {"k\\ud800": ["\\x00", ("a", 1, None)]}
    clean("\ud800").encode("utf-8")  # never raises


def test_lone_surrogates_and_nul_from_task_code_and_task_ids_reach_no_file_unclean(tmp_path: Path) -> None:
    raising = record(
        task_id="bad/\ud800id\x00",
        canonical_solution="    if x > 1:\n        raise ValueError('\\ud800 and \\x00')\n    return x + 1\n",
        test="def check(candidate):\n    assert candidate(1) == 2\n    assert candidate(0) == 1\n",
    )
    failing = record(
        task_id="bad/2",
        test="def check(candidate):\n    if candidate(1) != 2:\n"
             "        raise ValueError('\\ud800 \\x00 wrong')\n",
    )
    # x <= 0 survives the suite and raises on 0: triage's witness shows the message.
    witnessed = record(
        task_id="bad/3",
        canonical_solution="    if x < 0:\n        raise ValueError('\\ud800 negative \\x00')\n"
                           "    return x + 1\n",
    )
    data = write(tmp_path / "hostile.jsonl", raising, failing, witnessed)
    assert "\\ud800" in data.read_text()  # JSON's escape: the file itself is valid UTF-8
    out = tmp_path / "out"
    result = run_cli("audit", str(data), "--out", str(out), "--workers", "1", "--no-cache")
    assert result.returncode == 0, result.stdout + result.stderr
    raw = (out / "results.json").read_bytes()
    results = json.loads(raw.decode("utf-8"))  # strict UTF-8
    tasks = {t["task_id"]: t for t in results["tasks"]}
    assert set(tasks) == {"bad/\\ud800id\\x00", "bad/2", "bad/3"}
    witnesses = [m["witness"]["actual"] for m in tasks["bad/3"]["mutants"] if m["witness"]]
    assert "raises ValueError: \\ud800 negative \\x00" in witnesses, tasks["bad/3"]["mutants"]
    details = [m["detail"] or "" for t in results["tasks"] for m in t["mutants"]]
    assert any("\\ud800" in d for d in details), details
    assert not any(ch in json.dumps(results, ensure_ascii=False) for ch in ("\ud800", "\x00"))
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "bad/\\ud800id\\x00" in index
    for page in out.glob("*.html"):
        page.read_bytes().decode("utf-8")
    with sqlite3.connect(out / "session.sqlite") as db:
        details = db.execute("SELECT detail FROM results").fetchall()
        stored_witnesses = db.execute("SELECT witness FROM triage_results").fetchall()
    assert any("\\ud800" in (d or "") for (d,) in details)
    assert any("\\ud800" in (w or "") for (w,) in stored_witnesses)


# --- part 7: bad input that is not a bad record -----------------------------------------------


@pytest.mark.skipif(ROOT, reason="running as root: chmod 000 does not stop root reading the file "
                                 "(the I/O error case below covers an unreadable file for root)")
def test_an_unreadable_dataset_is_a_one_line_error(tmp_path: Path) -> None:
    data = write(tmp_path / "locked.jsonl", record())
    data.chmod(0)
    code, output = invoke("audit", str(data), "--out", str(tmp_path / "out"), *FAST)
    assert code == 2, output
    assert one_error_line(output) == f"Error: {data}: cannot read (Permission denied)"


def test_an_io_error_while_reading_the_dataset_is_a_one_line_error(tmp_path: Path) -> None:
    # /proc/self/mem is a regular file whose first page cannot be read: EIO, even for root.
    code, output = invoke("audit", "/proc/self/mem", "--out", str(tmp_path / "out"), *FAST)
    assert code == 2, output
    assert one_error_line(output) == "Error: /proc/self/mem: cannot read (Input/output error)"


def test_a_fifo_as_dataset_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "tasks.jsonl"
    os.mkfifo(fifo)
    result = run_cli("audit", str(fifo), "--out", str(tmp_path / "out"), *FAST, timeout=60)
    assert result.returncode == 2, result.stderr
    assert one_error_line(result.stderr) == f"Error: {fifo}: not a regular file (a FIFO)"


def test_a_socket_as_dataset_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tasks.jsonl"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))
        code, output = invoke("audit", str(path), "--out", str(tmp_path / "out"), *FAST)
    assert code == 2, output
    assert one_error_line(output) == f"Error: {path}: not a regular file (a socket)"


def test_a_device_as_dataset_is_refused_without_reading_it(tmp_path: Path) -> None:
    result = run_cli("audit", "/dev/zero", "--out", str(tmp_path / "out"), *FAST, timeout=60)
    assert result.returncode == 2, result.stderr
    assert one_error_line(result.stderr) == "Error: /dev/zero: not a regular file (a character device)"


def test_out_that_is_an_existing_file_is_a_one_line_error(tmp_path: Path) -> None:
    data = write(tmp_path / "tasks.jsonl", record())
    out = tmp_path / "out.txt"
    out.write_text("not a folder\n")
    code, output = invoke("audit", str(data), "--out", str(out), *FAST)
    assert code == 2, output
    assert one_error_line(output) == f"Error: {out}: --out is a file, not a folder"
    code, output = invoke("audit", str(data), "--out", str(out / "sub"), *FAST)
    assert code == 2, output
    assert one_error_line(output).startswith(f"Error: {out / 'sub'}: --out cannot be created (")


def test_a_cache_dir_that_is_a_file_is_a_one_line_error_before_the_audit(tmp_path: Path) -> None:
    data = write(tmp_path / "tasks.jsonl", record())
    cache = tmp_path / "cache"
    cache.write_text("")
    code, output = invoke("audit", str(data), "--out", str(tmp_path / "out"), "--cache-dir", str(cache),
                          "--workers", "1", "--no-triage", "--no-html")
    assert code == 2, output
    assert one_error_line(output) == f"Error: {cache}: --cache-dir is a file, not a folder"
    assert "mutants" not in output  # refused before the audit, not after it


def test_a_fifo_as_candidates_or_preconditions_is_refused_without_blocking(tmp_path: Path) -> None:
    data = write(tmp_path / "tasks.jsonl", record())
    fifo = tmp_path / "side.json"
    os.mkfifo(fifo)
    for option in ("--candidates", "--preconditions"):
        result = run_cli("audit", str(data), "--out", str(tmp_path / "out"), option, str(fifo),
                         "--workers", "1", "--no-cache", "--no-html", timeout=60)
        assert result.returncode == 2, result.stderr
        assert one_error_line(result.stderr) == f"Error: {fifo}: not a regular file (a FIFO)"


def test_out_that_is_not_writable_is_a_one_line_error(tmp_path: Path) -> None:
    data = write(tmp_path / "tasks.jsonl", record())
    if ROOT:
        # root may write anywhere chmod allows; sysfs refuses a new folder even to root.
        out = Path("/sys/testaudit-out")
        if not Path("/sys/kernel").is_dir():
            pytest.skip("running as root without /sys: no folder root cannot write")
        expected = f"Error: {out}: --out cannot be created (Operation not permitted)"
    else:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        out = locked
        expected = f"Error: {out}: --out is not writable"
    code, output = invoke("audit", str(data), "--out", str(out), *FAST)
    assert code == 2, output
    assert one_error_line(output) == expected


def test_a_deeply_nested_json_line_is_that_records_error_and_the_others_load(tmp_path: Path) -> None:
    deep = "[" * 100_000 + "]" * 100_000  # past json's own recursion limit
    # Readable by json, but every later walk (the cache key, pickling) would exceed the limit.
    inputs = "[" * 950 + "]" * 950
    evalplus = json.dumps(record(task_id="t/4", base_input=[], plus_input=[])).replace(
        '"base_input": []', f'"base_input": [{inputs}]')
    data = write(tmp_path / "tasks.jsonl", record(), deep, record(task_id="t/3"), evalplus)
    out = tmp_path / "out"
    code, output = invoke("audit", str(data), "--out", str(out), *FAST, "--format", "humaneval")
    assert code == 0, output
    tasks = {t["task_id"]: t for t in json.loads((out / "results.json").read_text())["tasks"]}
    assert tasks["t/1"]["status"] == tasks["t/3"]["status"] == "ok"
    for line in (2, 4):
        damaged = tasks[f"{data}:{line}"]
        assert damaged["status"] == "error"
        assert damaged["message"] == f"{data}:{line}: cannot be read: JSON nested more than 100 levels deep"
    evalplus_only = write(tmp_path / "plus.jsonl", evalplus)
    code, output = invoke("audit", str(evalplus_only), "--out", str(tmp_path / "o2"), *FAST)
    assert code == 2, output
    assert one_error_line(output) == (f"Error: {evalplus_only}:1: not a dataset: cannot be read: "
                                      "JSON nested more than 100 levels deep")


def test_a_lone_record_missing_a_field_names_the_field(tmp_path: Path) -> None:
    task = record()
    del task["test"]
    data = write(tmp_path / "tasks.jsonl", task)
    code, output = invoke("audit", str(data), "--out", str(tmp_path / "out"), *FAST)
    assert code == 2, output
    line = one_error_line(output)
    assert line.startswith(f"Error: {data}:1: not a known dataset format: ")
    assert "closest is a HumanEval record, which lacks field 'test'" in line


def test_an_entry_point_that_names_no_function_is_a_record_error_naming_the_field(tmp_path: Path) -> None:
    data = write(tmp_path / "tasks.jsonl", record(entry_point="g"), record(task_id="t/2"))
    out = tmp_path / "out"
    code, output = invoke("audit", str(data), "--out", str(out), *FAST)
    assert code == 0, output
    tasks = {t["task_id"]: t for t in json.loads((out / "results.json").read_text())["tasks"]}
    assert tasks["t/1"]["status"] == "error"
    assert tasks["t/1"]["message"] == (f"{data}:1: field 'entry_point': 'g' is not a function that "
                                       "prompt + canonical_solution defines")
    assert tasks["t/2"]["status"] == "ok"


def test_a_prompt_that_does_not_compile_is_blamed_on_the_prompt(tmp_path: Path) -> None:
    data = write(tmp_path / "tasks.jsonl", record(prompt="def f(x:\n"),
                 record(task_id="t/2", canonical_solution="    return x +\n"))
    out = tmp_path / "out"
    code, output = invoke("audit", str(data), "--out", str(out), *FAST)
    assert code == 1, output  # no task is left to run
    tasks = {t["task_id"]: t for t in json.loads((out / "results.json").read_text())["tasks"]}
    assert tasks["t/1"]["message"].startswith(f"{data}:1: field 'prompt' does not parse: ")
    assert tasks["t/2"]["message"].startswith(f"{data}:2: field 'canonical_solution' does not parse: ")


def test_resume_without_a_session_says_so_and_starts_afresh(tmp_path: Path) -> None:
    data = write(tmp_path / "tasks.jsonl", record())
    out = tmp_path / "out"
    code, output = invoke("audit", str(data), "--out", str(out), "--resume", *FAST)
    assert code == 0, output
    assert f"--resume: {out} holds no session to resume; starting afresh" in output
    assert (out / "results.json").exists()
    code, output = invoke("audit", str(data), "--out", str(out), "--resume", *FAST)
    assert code == 0 and "holds no session" not in output, output


def test_a_session_store_of_another_schema_is_a_one_line_error(tmp_path: Path) -> None:
    data = write(tmp_path / "tasks.jsonl", record())
    out = tmp_path / "out"
    out.mkdir()
    with sqlite3.connect(out / "session.sqlite") as db:  # someone else's tables, no version
        db.execute("CREATE TABLE results (x)")
    code, output = invoke("audit", str(data), "--out", str(out), "--resume", *FAST)
    assert code == 2, output
    assert one_error_line(output) == (
        f"Error: {out / 'session.sqlite'}: not a testaudit session store (table 'results' has "
        "columns x, expected mutant_id, task_id, status, detail, seconds); audit into a fresh --out")


def test_gate_with_an_unreadable_pyproject_beside_the_dataset_is_a_one_line_error(tmp_path: Path) -> None:
    data = write(tmp_path / "tasks.jsonl", record())
    config = tmp_path / "pyproject.toml"
    if ROOT:  # chmod does not stop root: a link to a file whose reading fails (EIO)
        config.symlink_to("/proc/self/mem")
        why = "Input/output error"
    else:
        config.write_text("[tool.testaudit]\nmin-score = 0.5\n")
        config.chmod(0)
        why = "Permission denied"
    code, output = invoke("gate", str(data), "--out", str(tmp_path / "out"), "--min-score", "0.5", *FAST)
    assert code == 2, output
    assert one_error_line(output) == f"Error: {config}: cannot read ({why})"
