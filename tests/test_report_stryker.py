"""The Stryker JSON is valid against the real mutation-testing-report-schema file."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from testaudit.records import AuditSummary, Dataset
from testaudit.report.stryker import file_names, stryker_report, write_stryker

# One set of sample records for all report tests. pytest imports test modules by their bare name
# while tests/ has no __init__.py, and as tests.<name> once it has one.
try:
    from test_report_html import XSS, sample_summary
except ImportError:
    from tests.test_report_html import XSS, sample_summary

SCHEMA = (
    Path(__file__).resolve().parent.parent
    / "fixtures" / "mutation-testing-report-schema" / "mutation-testing-report-schema.json"
)


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())


def _mutants(report: dict, key: str) -> dict[str, dict]:
    return {m["mutatorName"] + ":" + m["replacement"]: m for m in report["files"][key]["mutants"]}


def test_report_is_valid_against_the_schema(validator, tmp_path: Path) -> None:
    path = tmp_path / "mutation-report.json"
    write_stryker(sample_summary(), path)
    report = json.loads(path.read_text())
    errors = sorted(validator.iter_errors(report), key=lambda e: list(e.path))
    assert errors == [], [f"{list(e.path)}: {e.message}" for e in errors]
    assert report["schemaVersion"] == "2"


def test_schema_check_is_not_vacuous(validator) -> None:
    report = stryker_report(sample_summary())
    report["files"]["Demo/0.py"]["mutants"][0]["status"] = "Dead"
    del report["files"]["Demo/1.py"]["mutants"][0]["location"]["end"]
    assert len(list(validator.iter_errors(report))) == 2


def test_one_file_per_task_with_its_program_and_tests() -> None:
    summary = sample_summary()
    report = stryker_report(summary)
    assert list(report["files"]) == ["Demo/0.py", "Demo/1.py", "Demo/10.py", "Demo/2.py"]
    first = report["files"]["Demo/0.py"]
    assert first["language"] == "python"
    assert first["source"] == summary.tasks[0].task.source
    assert first["testaudit"]["taskId"] == "Demo/0"
    assert report["testFiles"]["Demo/0_test.py"]["source"] == summary.tasks[0].task.test


def test_statuses_are_mapped() -> None:
    report = stryker_report(sample_summary())
    demo0 = _mutants(report, "Demo/0.py")
    assert demo0["swap_compare:<="]["status"] == "Survived"
    assert demo0["swap_augassign:-="]["status"] == "Killed"
    assert demo0["swap_augassign:-="]["statusReason"].startswith("AssertionError")
    assert demo0["swap_augassign:-="]["killedBy"] == ["Demo/0::below_zero"]
    assert demo0["swap_name:operations"]["status"] == "Timeout"
    assert demo0["noop:0"]["status"] == "Ignored"
    assert _mutants(report, "Demo/10.py")["drop_statement:pass"]["status"] == "NoCoverage"
    assert {m["testsCompleted"] for m in demo0.values() if m["status"] == "Survived"} == {1}
    # Untrusted text is data here, carried as is; JSON encoding is what makes it safe.
    assert demo0[f"xss_probe:{XSS}"]["replacement"] == XSS


def test_mutants_of_a_broken_task_are_ignored_with_the_reason() -> None:
    report = stryker_report(sample_summary())
    (mutant,) = report["files"]["Demo/2.py"]["mutants"]
    assert mutant["status"] == "Ignored"
    assert mutant["statusReason"].startswith("task broken: AssertionError")
    assert report["files"]["Demo/2.py"]["testaudit"]["status"] == "broken"


def test_our_own_fields_ride_along() -> None:
    report = stryker_report(sample_summary())
    confirmed = _mutants(report, "Demo/0.py")["shift_constant:< -1"]["testaudit"]
    assert confirmed["witness"]["input"] == "below_zero([0, -1])"
    assert confirmed["suggestedTest"].strip() == "assert candidate([0, -1]) is True"
    assert confirmed["status"] == "survived" and confirmed["original"] == "< 0"
    assert report["testaudit"]["counts"]["survived"] == 5
    assert report["config"] == {"seed": 0, "jobs": 2}


def test_file_names_stay_distinct() -> None:
    assert file_names(["a", "a.py", "b/c"]) == {"a": "a.py", "a.py": "a~2.py", "b/c": "b/c.py"}


def test_empty_audit_is_valid(validator) -> None:
    summary = AuditSummary(Dataset("empty", "none", "humaneval", ()), {}, [])
    assert list(validator.iter_errors(stryker_report(summary))) == []


def test_confirmed_wrong_is_null_when_no_triage_ran_as_in_results_json() -> None:
    from testaudit.store import results_json

    untriaged = sample_summary()
    assert untriaged.triage_seconds is None
    assert results_json.to_json(untriaged, "test")["summary"]["confirmed_wrong"] is None
    assert stryker_report(untriaged)["testaudit"]["confirmedWrong"] is None
    untriaged.triage_seconds = 1.0
    assert results_json.to_json(untriaged, "test")["summary"]["confirmed_wrong"] == 1
    assert stryker_report(untriaged)["testaudit"]["confirmedWrong"] == 1
