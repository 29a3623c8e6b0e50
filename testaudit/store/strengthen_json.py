"""strengthen-report.json: the StrengthenReport record to and from JSON, written atomically."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from testaudit.errors import UsageError
from testaudit.records import Score, StrengthenedTask, StrengthenReport
from testaudit.store import codec
from testaudit.store.files import read_json, write_atomic

FILENAME = "strengthen-report.json"
FORMAT = 1  # the file's format number; a reader refuses another


def _score(score: Score) -> dict:
    return {**asdict(score), "mutation_score": score.mutation_score}


def to_json(report: StrengthenReport) -> dict:
    return {
        "format": FORMAT,
        "dataset": report.dataset,
        "output": report.output,
        "dataset_format": report.format,
        "max_tests": report.max_tests,
        "rounds": report.rounds,
        "summary": {
            "tasks": len(report.tasks),
            "tasks_changed": report.tasks_changed,
            "tests_added": report.tests_added,
            "mutation_score_before": report.before.mutation_score,
            "mutation_score_after": report.after.mutation_score,
            "confirmed_wrong_before": report.confirmed_before,
            "confirmed_wrong_after": report.confirmed_after,
            "references_pass": all(t.reference_passes for t in report.tasks if t.tests),
        },
        "before": _score(report.before),
        "after": _score(report.after),
        "tasks": [{**asdict(t), "tests": [codec.added_test_to_json(a) for a in t.tests]}
                  for t in report.tasks],
    }


def _score_from(data: dict) -> Score:
    return Score(*(int(data.get(k, 0)) for k in ("killed", "survived", "timeout", "no_coverage",
                                                  "equivalent", "error")))


def from_json(data: dict) -> StrengthenReport:
    tasks = tuple(StrengthenedTask(**{**t, "tests": tuple(codec.added_test_from_json(a) for a in t["tests"])})
                  for t in data["tasks"])
    summary = data["summary"]
    return StrengthenReport(data["dataset"], data["output"], data["dataset_format"], data["max_tests"],
                            data["rounds"], _score_from(data["before"]), _score_from(data["after"]),
                            summary["confirmed_wrong_before"], summary["confirmed_wrong_after"], tasks)


def write(report: StrengthenReport, path: Path) -> None:
    write_atomic(path, json.dumps(to_json(report), indent=1, ensure_ascii=False) + "\n")


def read(path: Path) -> StrengthenReport:
    data = read_json(path)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise UsageError(f"{path}: not a strengthen report of format {FORMAT}")
    try:
        return from_json(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"{path}: damaged strengthen report ({type(exc).__name__}: {exc})") from exc
