"""--shard K/N and `testaudit merge`: the split is a balanced, deterministic partition, and the
merged shards are the unsharded run, verdict by verdict; merge refuses parts of another audit."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REPO

from testaudit.cli import cli
from testaudit.config import Shard
from testaudit.records import RepositoryData, SuiteKind, Task
from testaudit.shard import cost, split

# Ten real HumanEval tasks (142 mutants, timeouts and confirmed wrong survivors among them).
# --triage-inputs bounds triage by count, not by its CPU-time budget, so that its verdicts do
# not move with the machine's load between the runs compared here.
SELECTION = ["humaneval", "--tasks", "HumanEval/1*", "--limit", "10", "--workers", "1", "--no-cache",
             "--triage-inputs", "64"]
TIMING = {"seconds", "suite_seconds", "triage_seconds", "work"}


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def comparable(data: object) -> object:
    """results.json without what a clock decides: times, and the budget a timeout names
    (a power-of-two rounding of the measured reference time, plus the constant)."""
    if isinstance(data, dict):
        return {k: comparable(v) for k, v in data.items() if k not in TIMING}
    if isinstance(data, list):
        return [comparable(v) for v in data]
    if isinstance(data, str):
        return re.sub(r"time budget of [0-9.]+ s", "time budget of ? s", data)
    return data


def results(folder: Path) -> dict:
    return json.loads((folder / "results.json").read_text())


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    """An unsharded audit (whole/), the same audit in 3 shards (part1..3/), and their merge (all/)."""
    root = tmp_path_factory.mktemp("shards")
    code, output = invoke("audit", *SELECTION, "--out", str(root / "whole"))
    assert code == 0, output
    for k in (1, 2, 3):
        code, output = invoke("audit", *SELECTION, "--shard", f"{k}/3", "--out", str(root / f"part{k}"))
        assert code == 0, output
        assert f"shard {k}/3:" in output
    # In any order: the merge puts the tasks in the dataset's.
    code, output = invoke("merge", *(str(root / f"part{k}") for k in (3, 1, 2)), "--out", str(root / "all"))
    assert code == 0, output
    return root


# --- (a) the split ------------------------------------------------------------------------------


def test_the_split_is_a_deterministic_balanced_partition() -> None:
    rng = random.Random(15)
    for count in (1, 2, 3, 4, 8, 13):
        costs = [(f"t/{i}", rng.choice([1, 1, 2, 5, 30, 90, rng.randint(1, 120)]))
                 for i in range(rng.randint(0, 70))]
        shards = split(costs, count)
        assert len(shards) == count
        ids = [t for shard in shards for t in shard]
        assert sorted(ids) == sorted(t for t, _ in costs)  # each task in exactly one shard
        # The input's order decides nothing: every machine of a matrix gets the same split.
        assert split(rng.sample(costs, len(costs)), count) == shards
        cost = dict(costs)
        loads = [sum(cost[t] for t in shard) for shard in shards]
        if costs:
            ideal = sum(cost.values()) / count
            assert max(loads) <= ideal + max(cost.values())  # LPT's bound: ideal + one task
    # Ties: by task id, then to the lowest shard.
    assert split([("b", 1), ("a", 1), ("c", 1)], 2) == [("a", "c"), ("b",)]
    assert split([("x", 5)], 3) == [("x",), (), ()]


def test_a_cost_is_a_count_known_before_anything_runs() -> None:
    task = Task("t/1", "f", "def f():\n    return 1\n", "", 0, 24)
    assert cost(task, 7) == 8 and cost(task, None) == 1  # its mutants, plus its reference run
    # A repository task has no mutants before its tree is built: the lines its gold patch adds.
    patch = "--- a/x.py\n+++ b/x.py\n@@ -1,2 +1,3 @@\n a = 1\n-b = 2\n+b = 3\n+c = 4\n"
    data = RepositoryData("o/r", "o__r-1", "abc", patch, "", "1.0", (), ())
    repo = Task("o__r-1", "", "", "", 0, 0, SuiteKind.REPOSITORY, suite_data=data)
    assert cost(repo, None) == 3


def test_shard_values_are_checked() -> None:
    assert Shard.parse("2/8") == Shard(2, 8)
    for bad in ("0/3", "4/3", "3", "a/b", "1/0", "-1/2", "2/ 3", ""):
        with pytest.raises(ValueError):
            Shard.parse(bad)
    code, output = invoke("audit", "humaneval", "--shard", "4/3")
    assert code == 2 and "Invalid value for '--shard'" in output and "K must be between 1 and N" in output


def test_the_split_of_real_tasks_is_the_same_in_another_process(runs: Path) -> None:
    # A fresh interpreter with another hash seed: no set order may leak into the split.
    parts = [tuple(results(runs / f"part{k}")["shard"]["tasks"]) for k in (1, 2, 3)]
    code = ("import sys, json; from testaudit.cli import cli; "
            "from testaudit.store import results_json; from pathlib import Path; "
            f"cli({json.dumps(['audit', *SELECTION, '--shard', '2/3', '--no-triage', '--no-html'])} "
            "+ ['--out', sys.argv[1]], standalone_mode=False)")
    out = runs / "again"
    subprocess.run([sys.executable, "-c", code, str(out)], check=True, capture_output=True,
                   env={**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(REPO)})
    assert tuple(results(out)["shard"]["tasks"]) == parts[1]
    selection = results(runs / "whole")["tasks"]
    assert sorted(t for p in parts for t in p) == sorted(t["task_id"] for t in selection)
    assert all(parts), "10 tasks over 3 shards: none is empty"
    # Balanced by mutant count (+1 each): within one task's cost of the ideal.
    cost = {t["task_id"]: 1 + len(t["mutants"]) for t in selection}
    loads = [sum(cost[t] for t in p) for p in parts]
    assert max(loads) <= sum(loads) / 3 + max(cost.values())


# --- (b) merged shards are the unsharded run -------------------------------------------------------


def test_merged_shards_equal_the_unsharded_run_mutant_by_mutant(runs: Path) -> None:
    whole, merged = results(runs / "whole"), results(runs / "all")
    assert "shard" not in merged and "shard" in results(runs / "part1")
    assert [t["task_id"] for t in merged["tasks"]] == [t["task_id"] for t in whole["tasks"]]  # dataset order
    for ours, theirs in zip(merged["tasks"], whole["tasks"], strict=True):
        assert comparable(ours) == comparable(theirs), ours["task_id"]
    assert comparable(merged) == comparable(whole)  # totals and headline too
    summary = merged["summary"]
    assert summary["confirmed_wrong"] > 0 and summary["timeout"] > 0  # the comparison had teeth
    # The parts' times add up.
    assert summary["seconds"] == pytest.approx(sum(results(runs / f"part{k}")["summary"]["seconds"]
                                                   for k in (1, 2, 3)), abs=0.01)


def test_the_merged_store_has_the_unsharded_run_key_and_resumes_with_nothing_to_run(runs: Path) -> None:
    def meta(folder: Path) -> dict:
        with sqlite3.connect(folder / "session.sqlite") as db:
            return dict(db.execute("SELECT key, value FROM meta"))

    assert meta(runs / "all")["run_key"] == meta(runs / "whole")["run_key"]
    assert meta(runs / "part1")["run_key"] != meta(runs / "whole")["run_key"]  # a shard's own tasks
    resumed = runs / "resumed"
    shutil.copytree(runs / "all", resumed)
    code, output = invoke("audit", *SELECTION, "--out", str(resumed), "--resume")
    assert code == 0, output
    assert "resume: kept 142 results" in output  # every verdict came from the merged store
    assert comparable(results(resumed)) == comparable(results(runs / "whole"))


# --- (c) what merge refuses ---------------------------------------------------------------------


def refused(*parts: Path, out: Path) -> str:
    code, output = invoke("merge", *map(str, parts), "--out", str(out))
    assert code != 0
    assert "Traceback" not in output and len(output.strip().splitlines()) == 1, output
    return output


@pytest.mark.parametrize("option, value, field", [("--seed", "1", "seed"),
                                                  ("--timeout-constant", "0.1", "timeout_constant_s")])
def test_merge_refuses_a_shard_of_other_settings(runs: Path, tmp_path: Path, option: str, value: str,
                                                  field: str) -> None:
    other = tmp_path / "other3"
    # --no-triage makes it cheap; `field` is checked before triage's settings, so it is named.
    code, output = invoke("audit", *SELECTION, "--shard", "3/3", option, value, "--no-triage", "--no-html",
                          "--out", str(other))
    assert code == 0, output
    output = refused(runs / "part1", runs / "part2", other, out=tmp_path / "m")
    assert str(other) in output and f"field '{field}'" in output


def test_merge_refuses_a_missing_or_repeated_shard_and_another_n(runs: Path, tmp_path: Path) -> None:
    p1, p2, p3 = (runs / f"part{k}" for k in (1, 2, 3))
    assert "missing shard 3 of 3" in refused(p1, p2, out=tmp_path / "m")
    output = refused(p1, p2, p2, p3, out=tmp_path / "m")
    assert "shard 2/3 again" in output and str(p2) in output
    halves = tmp_path / "half1"
    code, output = invoke("audit", *SELECTION, "--shard", "1/2", "--no-triage", "--no-html",
                          "--out", str(halves))
    assert code == 0, output
    output = refused(p1, p2, p3, halves, out=tmp_path / "m")
    assert str(halves) in output and "field 'shard'" in output and "1/2" in output
    assert not (tmp_path / "m" / "results.json").exists()


def test_merge_refuses_what_is_not_a_finished_shard(runs: Path, tmp_path: Path) -> None:
    p1, p2, p3 = (runs / f"part{k}" for k in (1, 2, 3))
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "not a testaudit output folder" in refused(p1, p2, empty, out=tmp_path / "m")
    assert "not a folder" in refused(p1, p2, tmp_path / "absent", out=tmp_path / "m")
    # An unsharded output is not a shard.
    assert "no field 'shard'" in refused(p1, p2, runs / "whole", out=tmp_path / "m")
    # A shard whose mutants were not all judged (a worker lost, an interrupted run).
    interrupted = tmp_path / "part3"
    shutil.copytree(p3, interrupted)
    data = results(interrupted)
    data["tasks"][0]["mutants"][0]["status"] = "pending"
    (interrupted / "results.json").write_text(json.dumps(data))
    output = refused(p1, p2, interrupted, out=tmp_path / "m")
    assert str(interrupted) in output and "1 mutants of 1 tasks have no verdict" in output
    assert "--out is one of the parts" in refused(p1, p2, p3, out=p1)


# --- (d) the merged folder is an output like any other; an empty shard -----------------------------


def test_report_renders_the_merged_folder(runs: Path, tmp_path: Path) -> None:
    code, output = invoke("report", str(runs / "all" / "results.json"), "--out", str(tmp_path))
    assert code == 0, output
    pages = {p.name for p in tmp_path.glob("HumanEval_*.html")}
    assert len(pages) == 10 and (tmp_path / "mutation-report.json").is_file()
    stryker = json.loads((tmp_path / "mutation-report.json").read_text())
    assert sum(len(f["mutants"]) for f in stryker["files"].values()) == 145


def test_an_empty_shard_by_construction_passes_and_merges(tmp_path: Path) -> None:
    two = ["humaneval", "--tasks", "HumanEval/1*", "--limit", "2", "--workers", "1", "--no-cache",
           "--no-triage", "--no-html"]
    outputs = []
    for k in (1, 2, 3):
        code, output = invoke("audit", *two, "--shard", f"{k}/3", "--out", str(tmp_path / f"p{k}"))
        assert code == 0, output
        outputs.append(output)
    assert "no task falls to this shard (2 tasks over 3 shards)" in outputs[2]
    assert results(tmp_path / "p3")["tasks"] == []
    code, output = invoke("merge", *(str(tmp_path / f"p{k}") for k in (1, 2, 3)), "--no-html",
                          "--out", str(tmp_path / "all"))
    assert code == 0, output
    assert [t["task_id"] for t in results(tmp_path / "all")["tasks"]] == ["HumanEval/1", "HumanEval/10"]
    # An audit that selects nothing still fails; so does a gate with dataset thresholds on a shard.
    code, output = invoke("audit", "humaneval", "--tasks", "nothing/*", "--shard", "1/2")
    assert code == 2 and "no task id matches" in output
    code, output = invoke("gate", *two, "--shard", "1/2", "--dataset-min-score", "0.5")
    assert code == 2 and "dataset thresholds" in output
    code, output = invoke("strengthen", "humaneval", "--out", str(tmp_path / "x.jsonl"), "--shard", "1/2")
    assert code == 2 and "No such option" in output
