"""`testaudit verify`: a stored audit's suggested tests replayed, each program in a fresh sandbox.

Real audits of real HumanEval tasks (the built-in copy), then the results file as a reader gets
it, intact or tampered with the ways a figure could be wrong.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from testaudit.cli import cli

TASKS = ("HumanEval/0", "HumanEval/35", "HumanEval/152")


@pytest.fixture(scope="module")
def audited(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("verify") / "out"
    args = ["audit", "humaneval", "--workers", "2", "--no-cache", "--no-html", "--out", str(out)]
    for task in TASKS:
        args += ["--tasks", task]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code in (0, 1), result.output
    return out / "results.json"


def _survivors_with_tests(data: dict) -> list[tuple[dict, dict]]:
    return [(t, m) for t in data["tasks"] for m in t["mutants"] if m.get("suggested_test")]


def _verify(path: Path, *options: str):
    return CliRunner().invoke(cli, ["verify", str(path), *options])


def test_every_suggested_test_of_a_real_audit_reproduces(audited: Path) -> None:
    data = json.loads(audited.read_text())
    expected = len(_survivors_with_tests(data))
    assert expected >= len(TASKS)  # each of these tasks has a confirmed-wrong survivor
    result = _verify(audited)
    assert result.exit_code == 0, result.output
    assert f"verify: {expected} of {expected} suggested tests pass on the reference" in result.output


def test_a_changed_expected_value_fails_on_the_reference(audited: Path, tmp_path: Path) -> None:
    data = json.loads(audited.read_text())
    task, mutant = _survivors_with_tests(data)[0]
    test = mutant["suggested_test"]
    head, _, value = test.rpartition("==")
    mutant["suggested_test"] = f"{head}== ({value.strip()}, 'tampered')"
    tampered = tmp_path / "results.json"
    tampered.write_text(json.dumps(data))
    result = _verify(tampered)
    assert result.exit_code == 1, result.output
    assert f"NOT REPRODUCED {task['task_id']} mutant {mutant['id']}" in result.output
    assert "fails on the reference" in result.output


def test_a_mutant_that_is_really_the_reference_passes_its_test(audited: Path, tmp_path: Path) -> None:
    # A survivor whose recorded mutation is a no-op: the test it is credited with cannot fail on it.
    data = json.loads(audited.read_text())
    task, mutant = _survivors_with_tests(data)[0]
    mutant["replacement"] = mutant["original"]
    tampered = tmp_path / "results.json"
    tampered.write_text(json.dumps(data))
    result = _verify(tampered, "--only", mutant["survivor_kind"])
    assert result.exit_code == 1, result.output
    assert f"NOT REPRODUCED {task['task_id']} mutant {mutant['id']}" in result.output
    assert "passes on the mutant" in result.output


def test_hostile_mutants_are_contained_and_the_replay_goes_on(audited: Path, tmp_path: Path) -> None:
    # Untrusted code in a results file: a "mutant" that raises SystemExit at import fails its
    # test (a program that cannot load fails every test); one that kills its own process gives
    # no verdict, which is reported, never counted as reproduced. The other tests still run.
    data = json.loads(audited.read_text())
    pairs = _survivors_with_tests(data)
    assert len(pairs) >= 3
    for (_, mutant), code in zip(pairs, ("raise SystemExit(0)\n", "import os\nos._exit(0)\n"), strict=False):
        mutant["start"] = mutant["end"] = 0
        mutant["original"], mutant["replacement"] = "", code
    tampered = tmp_path / "results.json"
    tampered.write_text(json.dumps(data))
    result = _verify(tampered)
    assert result.exit_code == 1, result.output
    killer = pairs[1][1]
    assert f"NOT REPRODUCED {pairs[1][0]['task_id']} mutant {killer['id']}" in result.output
    assert "gives no verdict on the mutant" in result.output
    assert f"NOT REPRODUCED {pairs[0][0]['task_id']} mutant {pairs[0][1]['id']}" not in result.output
    assert f"verify: {len(pairs) - 1} of {len(pairs)}" in result.output


def test_an_audit_without_triage_has_nothing_to_replay(tmp_path: Path) -> None:
    out = tmp_path / "out"
    audit = CliRunner().invoke(cli, ["audit", "humaneval", "--tasks", "HumanEval/0", "--no-triage",
                                     "--no-cache", "--no-html", "--workers", "1", "--out", str(out)])
    assert audit.exit_code in (0, 1), audit.output
    result = _verify(out / "results.json")
    assert result.exit_code == 1
    assert "no suggested test to replay" in result.output
