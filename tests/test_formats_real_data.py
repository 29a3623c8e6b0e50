"""The real benchmark files in ../shared/data: every task loads, and a few audit end to end.

Each test skips, saying why, when the folder is absent (a fresh clone has no such folder).
"""

from __future__ import annotations

from conftest import shared_data

from testaudit.config import ExecSettings
from testaudit.load import LoadOptions, load
from testaudit.mutate import generate
from testaudit.records import (
    MutantStatus,
    ReferenceRun,
    ResultBatch,
    SuiteKind,
    Task,
    TaskJob,
    TaskStatus,
)
from testaudit.run.job import run_job
from testaudit.run.pool import SerialExecutor

SETTINGS = ExecSettings(timeout_constant_s=0.3)
VERDICTS = {MutantStatus.KILLED, MutantStatus.SURVIVED, MutantStatus.TIMEOUT, MutantStatus.NO_COVERAGE}


def pick(name: str, ids: list[str], **options) -> list[Task]:
    tasks = {t.task_id: t for t in load(str(shared_data(name)), None, LoadOptions(**options)).tasks}
    return [tasks[i] for i in ids]


def audit(tasks: list[Task]) -> dict[str, tuple[bool, list]]:
    """task id -> (reference passed, verdicts of all its runnable mutants)."""
    jobs = [TaskJob(t, tuple(m for m in generate(t) if m.status is MutantStatus.PENDING)) for t in tasks]
    events = list(SerialExecutor(SETTINGS, run_job).run(jobs))
    passed = {e.task_id: e.passed for e in events if isinstance(e, ReferenceRun)}
    results = [r for e in events if isinstance(e, ResultBatch) for r in e.results]
    return {t.task_id: (passed[t.task_id], [r.status for r in results if r.task_id == t.task_id])
            for t in tasks}


def assert_all_judged(outcome: dict[str, tuple[bool, list]]) -> None:
    for task_id, (passed, statuses) in outcome.items():
        assert passed, task_id
        assert statuses and set(statuses) <= VERDICTS, (task_id, statuses)
        assert MutantStatus.KILLED in statuses, task_id


def test_every_real_task_loads_and_only_missing_libraries_are_errors() -> None:
    expected = {"mbpp.jsonl": 974, "sanitized-mbpp.json": 427, "MbppPlus-v0.2.0.jsonl.gz": 378,
                "BigCodeBench-v0.1.0_hf.jsonl.gz": 1140}
    for name, count in expected.items():
        dataset = load(str(shared_data(name)))
        assert len(dataset.tasks) == count, name
        errors = [t for t in dataset.tasks if t.status is not TaskStatus.OK]
        if name.startswith("BigCodeBench"):
            assert all(": missing library: " in t.message for t in errors)
        else:
            assert errors == [], errors[:3]


def test_mbpp_and_sanitized_mbpp_tasks_audit() -> None:
    tasks = pick("mbpp.jsonl", ["Mbpp/1", "Mbpp/2", "Mbpp/3"])
    assert "\r" not in tasks[0].source and tasks[0].entry_point == "min_cost"
    assert_all_judged(audit(tasks))
    # 264 and 747 indent with tabs and spaces mixed: libcst only parses them once expanded.
    mixed = pick("sanitized-mbpp.json", ["Mbpp/264", "Mbpp/747"])
    assert all("\t" not in t.source for t in mixed)
    assert_all_judged(audit(mixed))


def test_mbpp_plus_both_suites_with_tuple_inputs_and_an_empty_plus_input() -> None:
    base = pick("MbppPlus-v0.2.0.jsonl.gz", ["Mbpp/2", "Mbpp/793"])
    assert base[0].suite_kind is SuiteKind.INPUTS
    assert isinstance(base[0].suite_data.inputs[0][0], tuple)  # JSON lists made tuples, as EvalPlus does
    assert len(base[0].suite_data.extra_inputs) > 100
    assert base[1].suite_data.extra_inputs == []  # plus_input is {} in v0.2.0
    assert_all_judged(audit(base))
    plus = pick("MbppPlus-v0.2.0.jsonl.gz", ["Mbpp/2"], suite="plus")
    assert len(plus[0].suite_data.inputs) == len(base[0].suite_data.inputs) + len(
        base[0].suite_data.extra_inputs)
    assert_all_judged(audit(plus))


def test_bigcodebench_standard_library_tasks_audit() -> None:
    tasks = pick("BigCodeBench-v0.1.0_hf.jsonl.gz", ["BigCodeBench/1", "BigCodeBench/4"])
    assert all(t.status is TaskStatus.OK and t.suite_kind is SuiteKind.UNITTEST for t in tasks)
    assert_all_judged(audit(tasks))
