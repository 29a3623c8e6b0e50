"""End to end: the CLI on hand-made and real HumanEval tasks, resume after kill -9, determinism."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner
from conftest import FIXTURES, REPO, process_alive

from testaudit.cli import cli


def audit(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["audit", *args])
    return result.exit_code, result.output


def results_of(out: Path) -> dict:
    return json.loads((out / "results.json").read_text())


def verdicts(data: dict) -> dict[str, str]:
    return {m["id"]: m["status"] for t in data["tasks"] for m in t["mutants"]}


def test_weak_fixture_tasks_give_the_verdicts_a_careful_reader_expects(tmp_path: Path) -> None:
    code, output = audit(str(FIXTURES / "weak_tasks.jsonl"), "--workers", "2", "--out", str(tmp_path),
                         "--no-html")
    assert code == 0, output
    data = results_of(tmp_path)
    tasks = {t["task_id"]: t for t in data["tasks"]}

    clamp = tasks["weak/clamp"]
    survivors = {(m["location"]["start"]["line"], m["original"], m["replacement"])
                 for m in clamp["mutants"] if m["status"] in ("survived", "no_coverage")}
    # Line 6 (`return hi`) never runs under this suite: its mutants are no_coverage survivors.
    assert {m["status"] for m in clamp["mutants"] if m["location"]["start"]["line"] == 6} == {"no_coverage"}
    # The suite never tries x > hi: every change to lines 5-6 that keeps the tested paths passes.
    assert (5, ">", ">=") in survivors
    assert (6, "hi", "None") in survivors
    assert (5, "if x > hi:\n        return hi", "pass") in survivors
    assert (3, "<", "<=") in survivors  # x == lo returns lo either way: the equivalent boundary
    assert all(line in (3, 5, 6) for line, _, _ in survivors)
    assert clamp["solution_lines"] == [3, 7]

    assert tasks["weak/broken_add"]["status"] == "broken"
    assert "assert candidate(2, 3) == 5" in tasks["weak/broken_add"]["message"]
    assert tasks["weak/broken_add"]["mutation_score"] is None

    count_down = {(m["original"], m["replacement"]): m["status"] for m in tasks["weak/count_down"]["mutants"]}
    assert count_down[("-=", "+=")] == "timeout"
    assert count_down[("i -= 1", "pass")] == "timeout"

    assert "never calls double" in tasks["weak/never_called"]["message"]
    assert data["summary"]["broken"] == 1
    assert "broken weak/broken_add" in output and "weakest tasks" in output


def test_results_json_has_the_documented_fields_and_replays_exactly(tmp_path: Path) -> None:
    code, output = audit(str(FIXTURES / "weak_tasks.jsonl"), "--workers", "1", "--out", str(tmp_path),
                         "--no-html")
    assert code == 0, output
    data = results_of(tmp_path)
    assert data["schema"] == "testaudit/results-1"
    assert data["tool"]["name"] == "testaudit" and data["dataset"]["format"] == "humaneval"
    assert set(data["settings"]) >= {"workers", "timeout_factor", "timeout_constant_s", "operators"}
    summary = data["summary"]
    kinds = ("killed", "survived", "timeout", "no_coverage", "equivalent", "error")
    counted = sum(summary[k] for k in kinds)
    assert counted == summary["mutants"]
    detected = summary["killed"] + summary["timeout"]
    scored = counted - summary["equivalent"] - summary["error"]
    assert abs(summary["mutation_score"] - detected / scored) < 1e-6
    for task in data["tasks"]:
        for m in task["mutants"]:
            fields = {"id", "operator", "location", "original", "replacement", "status", "detail", "diff"}
            assert set(m) >= fields
            source = task["source"]
            assert source[m["start"]:m["end"]] == m["original"]
            mutated = source[:m["start"]] + m["replacement"] + source[m["end"]:]
            assert mutated != source
            assert m["status"] != "pending"


def test_a_run_that_tests_nothing_fails_loudly(tmp_path: Path) -> None:
    code, output = audit(str(FIXTURES / "weak_tasks.jsonl"), "--tasks", "weak/broken_add",
                         "--out", str(tmp_path))
    assert code == 1
    assert "no mutant ran" in output


def test_bad_inputs_exit_2_with_one_line(tmp_path: Path) -> None:
    code, output = audit(str(FIXTURES / "not_a_dataset.txt"), "--out", str(tmp_path))
    assert code == 2 and "not_a_dataset.txt:1: not a dataset" in output
    assert "Traceback" not in output
    code, output = audit(str(FIXTURES / "weak_tasks.jsonl"), "--tasks", "nothing/*", "--out", str(tmp_path))
    assert code == 2 and "no task id matches" in output
    code, output = audit(str(FIXTURES / "weak_tasks.jsonl"), "--operator", "nope", "--out", str(tmp_path))
    assert code == 2 and "unknown operator" in output


def test_operators_command_lists_every_operator_with_an_example() -> None:
    from testaudit.mutate.operators import OPERATORS

    result = CliRunner().invoke(cli, ["operators"])
    assert result.exit_code == 0
    for op in OPERATORS:
        assert op.name in result.output
    assert result.output.count("e.g.") == len(OPERATORS)


def test_identical_runs_give_identical_verdicts(tmp_path: Path) -> None:
    # HumanEval/38, /50 and /53 draw random inputs: seeding every run keeps verdicts stable.
    args = ["--tasks", "HumanEval/38", "--tasks", "HumanEval/50", "--tasks", "HumanEval/53",
            "--workers", "2", "--no-html", "--no-cache"]
    assert audit(*args, "--out", str(tmp_path / "a"))[0] == 0
    assert audit(*args, "--out", str(tmp_path / "b"))[0] == 0
    a, b = results_of(tmp_path / "a"), results_of(tmp_path / "b")
    assert verdicts(a) == verdicts(b)
    assert len(verdicts(a)) > 10


def test_real_humaneval_slice_end_to_end(tmp_path: Path) -> None:
    code, output = audit("humaneval", "--tasks", "HumanEval/1*", "--limit", "12", "--workers", "2",
                         "--out", str(tmp_path))
    assert code == 0, output
    data = results_of(tmp_path)
    assert data["summary"]["tasks"] == 12 and data["summary"]["errors"] == 0
    assert [t["task_id"] for t in data["tasks"]][:3] == ["HumanEval/1", "HumanEval/10", "HumanEval/11"]
    assert data["summary"]["killed"] > 100 and data["summary"]["survived"] > 0
    assert (tmp_path / "index.html").exists() and (tmp_path / "mutation-report.json").exists()
    assert (tmp_path / "session.sqlite").exists()
    # Prompt helpers are given, not solution: HumanEval/10's is_palindrome is never mutated.
    task10 = next(t for t in data["tasks"] if t["task_id"] == "HumanEval/10")
    first_solution_line = task10["solution_lines"][0]
    assert all(m["location"]["start"]["line"] >= first_solution_line for m in task10["mutants"])


def _stored_results(out: Path) -> int:
    db = out / "session.sqlite"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db) as conn:
            return conn.execute("SELECT count(*) FROM results").fetchone()[0]
    except sqlite3.Error:
        return 0


def _children(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.add(int(entry))
    return found


def test_kill_9_then_resume_loses_nothing_and_leaves_no_worker(tmp_path: Path) -> None:
    # Tasks with many infinite-loop mutants make the run long enough to interrupt.
    args = ["audit", "humaneval", "--tasks", "HumanEval/3*", "--workers", "2", "--no-html",
            "--timeout-constant", "0.2", "--no-cache", "--no-triage"]
    reference_out, out = tmp_path / "full", tmp_path / "interrupted"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "testaudit", *args, "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=tmp_path)
    deadline = time.monotonic() + 60
    while _stored_results(out) < 40 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    workers = _children(proc.pid)
    assert proc.poll() is None, "the audit finished before it could be interrupted"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    kept = _stored_results(out)
    assert kept >= 40
    time.sleep(1.0)
    assert workers and not [pid for pid in workers if process_alive(pid)], "workers outlived the audit"

    resumed = subprocess.run([sys.executable, "-m", "testaudit", *args, "--out", str(out), "--resume"],
                             capture_output=True, text=True, env=env, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resume: kept {kept} results" in resumed.stdout
    full = subprocess.run([sys.executable, "-m", "testaudit", *args, "--out", str(reference_out)],
                          capture_output=True, text=True, env=env, cwd=tmp_path)
    assert full.returncode == 0, full.stderr
    resumed_verdicts, full_verdicts = verdicts(results_of(out)), verdicts(results_of(reference_out))
    # Nothing lost, nothing changed, but for what reordering allows (suites/order.py): the
    # resumed child learnt its kills from fewer mutants, so a mutant that both fails an
    # assertion and loops on another may be found by the other first: killed <-> timeout.
    assert resumed_verdicts.keys() == full_verdicts.keys()
    swaps = {i for i in full_verdicts if resumed_verdicts[i] != full_verdicts[i]}
    assert all({resumed_verdicts[i], full_verdicts[i]} == {"killed", "timeout"} for i in swaps), \
        {i: (resumed_verdicts[i], full_verdicts[i]) for i in swaps}


def test_resume_refuses_a_session_of_other_settings(tmp_path: Path) -> None:
    weak = str(FIXTURES / "weak_tasks.jsonl")
    assert audit(weak, "--workers", "1", "--out", str(tmp_path), "--no-html")[0] == 0
    code, output = audit(weak, "--workers", "1", "--out", str(tmp_path), "--no-html", "--resume",
                         "--seed", "5")
    assert code == 2 and "another dataset or other settings" in output
    code, output = audit(weak, "--workers", "1", "--out", str(tmp_path), "--no-html", "--resume")
    assert code == 0 and "resume: kept" in output


def test_report_command_rerenders_from_results(tmp_path: Path) -> None:
    assert audit(str(FIXTURES / "weak_tasks.jsonl"), "--workers", "1", "--out", str(tmp_path / "a"),
                 "--no-html")[0] == 0
    assert not (tmp_path / "a" / "index.html").exists()
    result = CliRunner().invoke(cli, ["report", str(tmp_path / "a" / "results.json"), "--out",
                                      str(tmp_path / "site")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "site" / "index.html").exists()
    assert "weak/clamp" in (tmp_path / "site" / "index.html").read_text()
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "other"}')
    result = CliRunner().invoke(cli, ["report", str(bad)])
    assert result.exit_code == 2 and "not a testaudit results file" in result.output


def test_cached_results_equal_fresh_ones_and_skip_the_run(tmp_path: Path) -> None:
    weak = str(FIXTURES / "weak_tasks.jsonl")
    cache = str(tmp_path / "cache")
    code, first = audit(weak, "--out", str(tmp_path / "a"), "--cache-dir", cache, "--no-html")
    assert code == 0 and "cache:" not in first
    code, second = audit(weak, "--out", str(tmp_path / "b"), "--cache-dir", cache, "--no-html")
    assert code == 0 and "cache: 5 unchanged tasks served from the result cache" in second
    assert "mutants to judge" not in second  # nothing ran
    a, b = results_of(tmp_path / "a"), results_of(tmp_path / "b")
    assert a["tasks"] == b["tasks"]
    # Editing one task re-audits that task only.
    lines = (FIXTURES / "weak_tasks.jsonl").read_text().splitlines()
    lines[0] = lines[0].replace("assert candidate(5, 0, 10) == 5", "assert candidate(50, 0, 10) == 10")
    edited = tmp_path / "weak_tasks.jsonl"
    edited.write_text("\n".join(lines) + "\n")
    code, third = audit(str(edited), "--out", str(tmp_path / "c"), "--cache-dir", cache, "--no-html")
    assert code == 0 and "cache: 4 unchanged tasks" in third
    c = results_of(tmp_path / "c")
    clamp = next(t for t in c["tasks"] if t["task_id"] == "weak/clamp")
    statuses = {(m["original"], m["replacement"]): m["status"] for m in clamp["mutants"]}
    assert statuses[("hi", "None")] == "killed"  # survived before: the new assert tries x > hi
    assert statuses[(">", ">=")] == "survived"  # x == hi is still never tried


def test_ctrl_c_stops_cleanly_and_keeps_results(tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "testaudit", "audit", "--tasks", "HumanEval/3*", "--workers", "2",
         "--no-html", "--no-cache", "--no-triage", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path,
        start_new_session=True,  # its own process group, as a terminal gives it
    )
    deadline = time.monotonic() + 60
    while _stored_results(out) < 20 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    workers = _children(proc.pid)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole group
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "interrupted: results so far are in the session store" in err
    assert "Traceback" not in err
    assert _stored_results(out) >= 20
    time.sleep(0.5)
    assert not [pid for pid in workers if process_alive(pid)]
