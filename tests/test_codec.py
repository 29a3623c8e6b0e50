"""store/codec.py: every persisted record survives record -> JSON -> record, in the old JSON forms."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FIXTURES, REPO

from testaudit.gate.policy import TaskBaseline, read_baseline
from testaudit.records import (
    AuditSummary,
    CandidateResult,
    CandidateVerdict,
    Dataset,
    Location,
    Mutant,
    MutantResult,
    MutantStatus,
    Origin,
    Position,
    ReferenceRun,
    SuiteKind,
    Task,
    TaskAudit,
    TaskStatus,
    Witness,
)
from testaudit.report.stryker import stryker_report
from testaudit.store import codec, results_json
from testaudit.store.cache import CachedTask, ResultCache
from testaudit.store.session import Store

BEFORE = FIXTURES / "results_before_codec"  # written by testaudit before the codec existed
EXAMPLE = REPO / "reports" / "humaneval-sample" / "results.json"

WITNESS = Witness("[2], 'é\\n'", "2", "raises IndexError: list index out of range")
LOCATION = Location(Position(3, 5), Position(4, 1))
REFERENCE = ReferenceRun("T/1", True, None, 1.25e-05, suite_calls_entry_point=False)
SOURCE = "def f(xs):\n    return xs[0]\n"
TASK = Task("T/1", "f", SOURCE, "def check(c):\n    assert c([1]) == 1\n", 11, len(SOURCE),
            SuiteKind.ASSERTS, Origin("tasks.jsonl", 7))
MUTANT = Mutant("m1", "T/1", "index", LOCATION, 28, 29, "0", "-1", "--- a\n+++ b\n")
SURVIVOR = MutantResult("m1", "T/1", MutantStatus.SURVIVED, None, 0.125, WITNESS,
                        "assert candidate([2]) == 2", 40)
SAMPLE = CandidateResult("T/1", 3, "    return xs[-1]\n", CandidateVerdict.WRONG, None, WITNESS,
                         "assert candidate([2, 1]) == 2", 12)


def test_witness_round_trips_with_the_old_key_order() -> None:
    data = codec.witness_to_json(WITNESS)
    assert list(data) == ["input", "expected", "actual"]
    assert codec.witness_from_json(json.loads(json.dumps(data))) == WITNESS
    assert codec.witness_to_json(None) is None
    assert codec.witness_from_json(None) is None
    assert codec.witness_from_json({}) is None  # an empty object has always meant no witness


def test_location_round_trips_in_strykers_form() -> None:
    data = codec.location_to_json(LOCATION)
    assert data == {"start": {"line": 3, "column": 5}, "end": {"line": 4, "column": 1}}
    assert codec.location_from_json(data) == LOCATION


def test_reference_run_round_trips() -> None:
    data = codec.reference_to_json(REFERENCE)
    assert "task_id" not in data  # the task entry around it says which task
    assert codec.reference_from_json(json.loads(json.dumps(data)), "T/1") == REFERENCE
    old = {"passed": True, "message": None, "suite_seconds": 0.5}  # before suite_calls_entry_point
    assert codec.reference_from_json(old, "T/1").suite_calls_entry_point is True


@pytest.mark.parametrize("result", [
    SURVIVOR,
    MutantResult("m2", "T/1", MutantStatus.KILLED, "AssertionError", 0.5),
    MutantResult("m3", "T/1", MutantStatus.NO_COVERAGE, "never run", 0.0, None, None, 7),
])
def test_mutant_result_round_trips_with_its_witness(result: MutantResult) -> None:
    data = json.loads(json.dumps(codec.mutant_result_to_json(result)))
    assert codec.mutant_result_from_json(data) == result


def test_mutant_entry_round_trips() -> None:
    data = json.loads(json.dumps(codec.mutant_entry_to_json(MUTANT, SURVIVOR)))
    assert data["witness"] == {"input": WITNESS.input, "expected": WITNESS.expected,
                               "actual": WITNESS.actual}
    assert codec.mutant_entry_from_json(data, "T/1") == (MUTANT, SURVIVOR)


def test_candidate_result_round_trips_with_its_witness() -> None:
    data = json.loads(json.dumps(codec.candidate_to_json(SAMPLE)))
    assert list(data) == ["sample", "verdict", "detail", "witness", "suggested_test",
                          "inputs_tried", "completion"]
    assert codec.candidate_from_json(data, "T/1") == SAMPLE
    plain = CandidateResult("T/1", 4, "pass", CandidateVerdict.FAILS, "AssertionError")
    assert codec.candidate_from_json(codec.candidate_to_json(plain), "T/1") == plain


def _audit() -> TaskAudit:
    killed = MutantResult("m2", "T/1", MutantStatus.KILLED, "AssertionError", 0.5)
    other = Mutant("m2", "T/1", "return_value", LOCATION, 22, 29, "xs[0]", "None", "diff")
    return TaskAudit(TASK, [MUTANT, other], {"m1": SURVIVOR, "m2": killed}, REFERENCE,
                     TaskStatus.OK, None, ["assert candidate([2]) == 2"], [SAMPLE])


def test_task_audit_round_trips() -> None:
    audit = _audit()
    data = json.loads(json.dumps(codec.task_audit_to_json(audit)))
    assert codec.task_audit_from_json(data) == audit
    assert codec.origin_from_json(codec.origin_to_json(None)) is None


def test_dataset_and_a_whole_summary_round_trip_through_results_json(tmp_path: Path) -> None:
    audit = _audit()
    dataset = Dataset("demo", "tasks.jsonl", "mbpp", (TASK,), "MBPP code")
    assert codec.dataset_from_json(codec.dataset_to_json(dataset), (TASK,)) == dataset
    summary = AuditSummary(dataset, {"seed": 0}, [audit], seconds=1.5, triage_seconds=0.75)
    results_json.write(summary, tmp_path / "results.json", "test")
    back = results_json.read(tmp_path / "results.json")
    assert (back.dataset, back.settings, back.tasks, back.seconds, back.triage_seconds) == \
           (dataset, {"seed": 0}, [audit], 1.5, 0.75)
    assert results_json.to_json(back, "test") == results_json.to_json(summary, "test")


def test_the_cache_keeps_its_entry_form(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path)
    cache.put("ab" + "0" * 62, _audit())
    data = json.loads(next(tmp_path.rglob("*.json")).read_text())
    assert data["reference"] == {"task_id": "T/1", "passed": True, "message": None,
                                 "suite_seconds": 1.25e-05, "suite_calls_entry_point": False}
    assert data["results"][0]["witness"] == codec.witness_to_json(WITNESS)
    assert cache.get("ab" + "0" * 62) == CachedTask(REFERENCE, _audit().results,
                                                   ["assert candidate([2]) == 2"], None)


def test_the_session_store_keeps_witnesses_as_json_text(tmp_path: Path) -> None:
    from testaudit.records import TriageOutcome

    store = Store(tmp_path / "session.sqlite")
    outcome = TriageOutcome("T/1", (SURVIVOR,), ("assert candidate([2]) == 2",), (SAMPLE,), 40)
    store.add_triage(outcome, "key")
    (text,) = store.db.execute("SELECT witness FROM triage_results").fetchone()
    assert json.loads(text) == codec.witness_to_json(WITNESS) and text.startswith('{"input"')
    assert store.triage("T/1") == outcome
    store.close()


# --- files written before the codec ---------------------------------------------------------


@pytest.mark.parametrize("path", [BEFORE / "results.json", EXAMPLE], ids=["audit", "example"])
def test_an_old_results_file_reads_into_the_same_records_and_back_to_the_same_json(path) -> None:
    old = json.loads(path.read_text())
    summary = results_json.read(path)
    new = results_json.to_json(summary, old["tool"]["version"])
    # The three kinds of survivor added keys (nothing else changed): a witness of an old file is
    # confirmed, since no file before them held a witness outside the tested domain.
    assert new["summary"].pop("outside_domain") in (0, None)
    if "work" not in old["summary"]:  # the work split came later: an old file has none
        assert new["summary"].pop("work") is None
    if new["summary"].get("candidates"):
        assert new["summary"]["candidates"].pop("passes_differs_outside_domain") == 0
    for task in new["tasks"]:
        for entry in task["mutants"]:
            kind = entry.pop("survivor_kind")
            if entry["status"] in ("survived", "no_coverage"):
                assert kind == ("confirmed_wrong" if entry["witness"] else "unconfirmed")
            else:
                assert kind is None
    assert new == old
    for audit in summary.tasks:
        for mutant in audit.mutants:
            witness = audit.outcome(mutant).witness
            assert witness is None or type(witness) is Witness
        assert all(c.witness is None or type(c.witness) is Witness for c in audit.candidates)


def test_the_old_audit_reads_as_typed_records() -> None:
    summary = results_json.read(BEFORE / "results.json")
    audits = {a.task.task_id: a for a in summary.tasks}
    hum35 = audits["HumanEval/35"]
    assert hum35.outcome(hum35.mutants[0]) == MutantResult(
        "8d960299315f6449", "HumanEval/35", MutantStatus.SURVIVED, None,
        hum35.outcome(hum35.mutants[0]).seconds,
        Witness("[2]", "2", "raises IndexError: list index out of range"),
        "assert candidate([2]) == 2", hum35.outcome(hum35.mutants[0]).inputs_tried)
    assert [(c.sample, c.verdict, c.witness) for c in hum35.candidates] == [
        (1, CandidateVerdict.WRONG, Witness("[-1]", "-1", "0")),
        (2, CandidateVerdict.PASSES, None),
        (3, CandidateVerdict.FAILS, None),
    ]
    assert hum35.reference == ReferenceRun("HumanEval/35", True, None, 6.699999999998374e-06)
    assert (summary.confirmed_wrong, summary.unconfirmed, summary.suggested_test_count) == (2, 1, 2)
    assert len(summary.samples) == 6 and summary.triaged


def test_the_stryker_report_of_an_old_audit_is_unchanged() -> None:
    old = json.loads((BEFORE / "mutation-report.json").read_text())
    new = json.loads(json.dumps(stryker_report(results_json.read(BEFORE / "results.json")),
                                default=str))
    old.pop("framework"), new.pop("framework")  # the installed version
    # Added with the three kinds of survivor: a survivor's kind, and the count outside the domain.
    assert new["testaudit"].pop("outsideDomain") == 0
    for entry in new["files"].values():
        for mutant in entry["mutants"]:
            kind = mutant["testaudit"].pop("survivorKind", None)
            assert (kind is None) == (mutant["status"] not in ("Survived", "NoCoverage"))
            assert kind != "outside_domain"
    assert new == old


def test_the_baseline_reads_the_old_file_through_the_records() -> None:
    baseline = read_baseline(BEFORE / "results.json")
    old = json.loads((BEFORE / "results.json").read_text())
    assert baseline == {
        t["task_id"]: TaskBaseline(t["mutation_score"],
                                   sum(1 for m in t["mutants"] if m["witness"]), t["status"])
        for t in old["tasks"]
    }
    assert baseline["HumanEval/35"] == TaskBaseline(0.666667, 1, "ok")
