"""One to-JSON / from-JSON pair per persisted record: the only place their JSON forms are written.

The session store (witness column), the result cache and results.json all go through here, so a
record has one JSON form wherever it is kept. The forms are those testaudit has always written
(results-1, cache format 3, session schema 2): files written before this module still read.

A record's JSON form leaves out what its container already says: a ReferenceRun or a
CandidateResult inside a task entry has no task_id; `reference_from_json` and
`candidate_from_json` take it from the caller.
"""

from __future__ import annotations

from testaudit.records import (
    UNDETECTED,
    AddedTest,
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
    ShardInfo,
    SuiteKind,
    Task,
    TaskAudit,
    TaskStatus,
    Witness,
    survivor_kind,
)

SCORE_DIGITS = 6  # scores and seconds are rounded to this many places in results.json


def rounded(value: float | None) -> float | None:
    """A score as results.json stores it."""
    return None if value is None else round(value, SCORE_DIGITS)


# --- Location (Stryker's schema uses the same form) ----------------------------------------


def location_to_json(location: Location) -> dict:
    return {
        "start": {"line": location.start.line, "column": location.start.column},
        "end": {"line": location.end.line, "column": location.end.column},
    }


def location_from_json(data: dict) -> Location:
    return Location(
        Position(data["start"]["line"], data["start"]["column"]),
        Position(data["end"]["line"], data["end"]["column"]),
    )


# --- Witness ---------------------------------------------------------------------------------


def witness_to_json(witness: Witness | None) -> dict | None:
    if witness is None:
        return None
    data = {"input": witness.input, "expected": witness.expected, "actual": witness.actual}
    if witness.outside is not None:  # only then: a confirmed witness reads as it always has
        data["outside_domain"] = witness.outside
    return data


def witness_from_json(data: dict | None) -> Witness | None:
    # An empty object has always meant "no witness" to the readers of these files.
    if not data:
        return None
    # Files written before the three kinds of survivor have no "outside_domain": confirmed.
    return Witness(data["input"], data["expected"], data["actual"], data.get("outside_domain"))


# --- ReferenceRun ----------------------------------------------------------------------------


def reference_to_json(run: ReferenceRun) -> dict:
    """Without the task id, which the task entry (or cache entry) around it gives."""
    return {
        "passed": run.passed,
        "message": run.message,
        "suite_seconds": run.suite_seconds,
        "suite_calls_entry_point": run.suite_calls_entry_point,
    }


def reference_from_json(data: dict, task_id: str) -> ReferenceRun:
    return ReferenceRun(task_id, data["passed"], data["message"], data["suite_seconds"],
                        data.get("suite_calls_entry_point", True))


# --- MutantResult (the cache's form: every field) --------------------------------------------


def mutant_result_to_json(result: MutantResult) -> dict:
    return {
        "mutant_id": result.mutant_id,
        "task_id": result.task_id,
        "status": result.status.value,
        "detail": result.detail,
        "seconds": result.seconds,
        "witness": witness_to_json(result.witness),
        "suggested_test": result.suggested_test,
        "inputs_tried": result.inputs_tried,
    }


def mutant_result_from_json(data: dict) -> MutantResult:
    return MutantResult(
        data["mutant_id"], data["task_id"], MutantStatus(data["status"]), data.get("detail"),
        data.get("seconds", 0.0), witness_from_json(data.get("witness")),
        data.get("suggested_test"), data.get("inputs_tried", 0),
    )


# --- Mutant and its verdict, as one entry of a task in results.json --------------------------


def mutant_entry_to_json(mutant: Mutant, outcome: MutantResult) -> dict:
    """A mutant with its final verdict (`TaskAudit.outcome`), without the task id."""
    entry = {
        "id": mutant.id,
        "operator": mutant.operator,
        "location": location_to_json(mutant.location),
        "start": mutant.start,
        "end": mutant.end,
        "original": mutant.original,
        "replacement": mutant.replacement,
        "status": outcome.status.value,
        "detail": outcome.detail,
        "seconds": round(outcome.seconds, SCORE_DIGITS),
        "diff": mutant.diff,
        "witness": witness_to_json(outcome.witness),
        # Of a survivor: confirmed_wrong, outside_domain or unconfirmed (records.SurvivorKind).
        "survivor_kind": survivor_kind(outcome).value if outcome.status in UNDETECTED else None,
        "suggested_test": outcome.suggested_test,
        "inputs_tried": outcome.inputs_tried,
    }
    if mutant.file is not None:  # a repository task's patched file (function tasks' files stay as they were)
        entry["file"] = mutant.file
    return entry


def mutant_entry_from_json(data: dict, task_id: str) -> tuple[Mutant, MutantResult]:
    """The mutant (status pending: its verdict is the result) and its result."""
    mutant = Mutant(
        id=data["id"], task_id=task_id, operator=data["operator"],
        location=location_from_json(data["location"]), start=data["start"], end=data["end"],
        original=data["original"], replacement=data["replacement"], diff=data["diff"],
        file=data.get("file"),
    )
    result = MutantResult(
        mutant.id, task_id, MutantStatus(data["status"]), data.get("detail"),
        data.get("seconds", 0.0), witness_from_json(data.get("witness")),
        data.get("suggested_test"), data.get("inputs_tried", 0),
    )
    return mutant, result


# --- CandidateResult ---------------------------------------------------------------------------


def candidate_to_json(result: CandidateResult) -> dict:
    """Without the task id, which the task entry around it gives."""
    return {
        "sample": result.sample,
        "verdict": result.verdict.value,
        "detail": result.detail,
        "witness": witness_to_json(result.witness),
        "suggested_test": result.suggested_test,
        "inputs_tried": result.inputs_tried,
        "completion": result.completion,
    }


def candidate_from_json(data: dict, task_id: str) -> CandidateResult:
    return CandidateResult(task_id, data["sample"], data["completion"],
                           CandidateVerdict(data["verdict"]), data.get("detail"),
                           witness_from_json(data.get("witness")), data.get("suggested_test"),
                           data.get("inputs_tried", 0))


# --- Origin, Task and TaskAudit: one task entry of results.json ------------------------------


def origin_to_json(origin: Origin | None) -> dict | None:
    return None if origin is None else {"path": origin.path, "line": origin.line}


def origin_from_json(data: dict | None) -> Origin | None:
    return Origin(data["path"], data["line"]) if data else None


def task_from_json(data: dict) -> Task:
    """The task of a task entry. Its metadata is not stored: a read-back task has none."""
    start, end = data.get("solution_offsets") or [0, len(data["source"])]
    return Task(
        task_id=data["task_id"],
        entry_point=data["entry_point"],
        source=data["source"],
        test=data["test"],
        solution_start=start,
        solution_end=end,
        suite_kind=SuiteKind(data.get("suite_kind", "check")),
        origin=origin_from_json(data.get("origin")),
        status=TaskStatus(data["status"]),
        message=data.get("message"),
    )


def task_audit_to_json(audit: TaskAudit) -> dict:
    """A task entry: the task's fields interleaved with the audit's, in results-1's key order."""
    task = audit.task
    first, last = task.solution_lines
    return {
        "task_id": task.task_id,
        "status": audit.status.value,
        "message": audit.message,
        "entry_point": task.entry_point,
        "suite_kind": task.suite_kind.value,
        "origin": origin_to_json(task.origin),
        "source": task.source,
        "test": task.test,
        "solution_lines": [first, last],  # derived, for readers of the file
        "solution_offsets": [task.solution_start, task.solution_end],
        "reference": None if audit.reference is None else reference_to_json(audit.reference),
        "mutation_score": rounded(audit.score.mutation_score),  # derived, for readers
        "mutants": [mutant_entry_to_json(m, audit.outcome(m)) for m in audit.mutants],
        "suggested_tests": audit.suggested_tests,
        "candidates": [candidate_to_json(c) for c in audit.candidates],
    }


def task_audit_from_json(data: dict) -> TaskAudit:
    task = task_from_json(data)
    mutants, results = [], {}
    for entry in data["mutants"]:
        mutant, result = mutant_entry_from_json(entry, task.task_id)
        mutants.append(mutant)
        results[mutant.id] = result
    ref = data.get("reference")
    reference = None if ref is None else reference_from_json(ref, task.task_id)
    return TaskAudit(task, mutants, results, reference, TaskStatus(data["status"]),
                     data.get("message"), list(data.get("suggested_tests", [])),
                     [candidate_from_json(c, task.task_id) for c in data.get("candidates", [])])


# --- Dataset -----------------------------------------------------------------------------------


def dataset_to_json(dataset: Dataset) -> dict:
    """Without its tasks, which results.json keeps as task entries."""
    return {
        "name": dataset.name,
        "source": dataset.source,
        "format": dataset.format,
        "reference": dataset.reference,  # which solution was mutated
    }


def dataset_from_json(data: dict, tasks: tuple[Task, ...]) -> Dataset:
    return Dataset(data["name"], data["source"], data["format"], tasks, data.get("reference", ""))


def added_test_to_json(test: AddedTest) -> dict:
    return {"text": test.text, "kind": test.kind, "reason": test.reason, "kills": list(test.kills),
            "lines": list(test.lines)}


def added_test_from_json(data: dict) -> AddedTest:
    return AddedTest(data["text"], data["kind"], data["reason"], tuple(data.get("kills", ())),
                     tuple(data.get("lines", ())))


def shard_to_json(shard: ShardInfo) -> dict:
    return {"index": shard.index, "count": shard.count, "tasks": list(shard.tasks),
            "selection": list(shard.selection), "run_key": shard.run_key,
            "checks": {name: value for name, value in shard.checks}}


def shard_from_json(data: dict) -> ShardInfo:
    checks = data["checks"]
    if not isinstance(checks, dict):
        raise TypeError("checks")
    return ShardInfo(int(data["index"]), int(data["count"]), tuple(data["tasks"]),
                     tuple(data["selection"]), str(data["run_key"]),
                     tuple((str(k), str(v)) for k, v in checks.items()))
