"""Issue 13 (speed): split tasks, assertions run in the order of their kills, the child's own
CPU alarm, and progress a user can plan by. Real processes throughout; never a time asserted."""

from __future__ import annotations

import io

import pytest
from test_execute import PROMPT, SOLUTION, make_mutant, make_task

from testaudit import suites
from testaudit.config import ExecSettings
from testaudit.records import (
    JobDone,
    MutantResult,
    MutantStatus,
    ReferenceRun,
    ResultBatch,
    Split,
    Task,
    TaskJob,
    TaskPart,
)
from testaudit.report.terminal import TerminalProgress
from testaudit.run import job as run_job_module
from testaudit.run.job import part_sizes, run_job
from testaudit.run.pool import PoolExecutor, SerialExecutor
from testaudit.suites import order

SETTINGS = ExecSettings(timeout_constant_s=0.1, memory_cap_bytes=512 << 20, isolate=False)
LOOP = "(lambda: [0 for _ in iter(int, 1) if 0])() or x + 1"  # a Python-level infinite loop, no allocation
MIXED = ["x + 1", "x + 2", "x", "x + 1 if x > 0 else x + 1", "x - 1", "x + 1 if x != 5 else 0",
         "x * 2", "abs(x) + 1", "x + 1 if x < 3 else x", "-x"]


def _verdicts(events) -> dict[str, MutantResult]:
    return {r.mutant_id: r for e in events if isinstance(e, ResultBatch) for r in e.results}


# --- 1. no stragglers: split tasks ----------------------------------------------------------


def test_part_sizes_split_only_expensive_tasks_and_cover_every_mutant() -> None:
    assert part_sizes(1e-5, 40) == [40]  # cheap: one job
    sizes = part_sizes(0.33, 40)  # HumanEval/75: 40 mutants of a 0.33 s suite
    assert len(sizes) > 1 and sum(sizes) == 40 and max(sizes) - min(sizes) <= 1


def test_a_split_task_gives_the_same_verdicts_as_unsplit(monkeypatch) -> None:
    task = make_task()
    mutants = tuple(make_mutant(task, r) for r in [*MIXED, LOOP])
    whole = list(SerialExecutor(SETTINGS, run_job).run([TaskJob(task, mutants)]))
    assert not any(isinstance(e, Split) for e in whole)
    # Make this cheap task "expensive": parts of two mutants (the pool's workers are spawned and
    # keep the real constants: split here, in-process, and run the parts on the pool below).
    monkeypatch.setattr(run_job_module, "SPLIT_ABOVE_S", 0.0)
    monkeypatch.setattr(run_job_module, "PART_S", 0.0)
    monkeypatch.setattr(run_job_module, "PART_MIN_MUTANTS", 2)
    split = list(SerialExecutor(SETTINGS, run_job).run([TaskJob(task, mutants)]))
    splits = [e for e in split if isinstance(e, Split)]
    assert len(splits) == 1 and len(splits[0].jobs) >= 4
    assert sum(isinstance(e, ReferenceRun) for e in split) == 1  # timed once per task
    reference = next(e for e in split if isinstance(e, ReferenceRun))
    assert all(part.reference == reference for part in splits[0].jobs)
    assert sum(isinstance(e, JobDone) for e in split) == 1 + len(splits[0].jobs)
    before, after = _verdicts(whole), _verdicts(split)
    # A timeout's detail names the budget, which moves with the reference's timing of each run.
    assert {k: (v.status, v.status is MutantStatus.TIMEOUT or v.detail) for k, v in after.items()} == \
        {k: (v.status, v.status is MutantStatus.TIMEOUT or v.detail) for k, v in before.items()}
    assert len(after) == len(mutants)
    # The parts are self-contained records: another process runs them as they are.
    with PoolExecutor(SETTINGS, 2, run_job) as pool:
        parted = _verdicts(pool.run(list(splits[0].jobs)))
    assert {k: v.status for k, v in parted.items()} == \
        {k: before[k].status for k in parted} and parted


def test_the_pool_runs_the_costliest_job_first() -> None:
    first, cheap, costly = (make_task(task_id=f"t/{name}") for name in ("first", "cheap", "costly"))
    reference = ReferenceRun(costly.task_id, True, None, 1e-5)
    jobs = [TaskJob(first, (make_mutant(first, "x + 2"),)), TaskJob(cheap, (make_mutant(cheap, "x + 2"),)),
            TaskPart(costly, (make_mutant(costly, "x + 2"),), reference, 1, 2, 5.0)]
    # The first job starts at once (jobs are planned lazily); the rest are planned while it runs.
    with PoolExecutor(SETTINGS, 1, run_job, run_job_module.job_cost) as pool:
        done = [e.task_id for e in pool.run(jobs) if isinstance(e, JobDone)]
    assert done == ["t/first", "t/costly", "t/cheap"]


# --- 2. cheaper kills: independent assertions, reordered by kills ----------------------------


def _prepared(test: str, source: str = PROMPT + SOLUTION, kind: str = "check") -> suites.PreparedTask:
    task = make_task(test)
    if source != task.source or kind != "check":
        from testaudit.records import SuiteKind

        task = Task(task.task_id, "inc", source, test, len(PROMPT), len(source),
                    suite_kind=SuiteKind.CHECK if kind == "check" else SuiteKind.ASSERTS)
    return suites.prepare(task, 0)


INDEPENDENT = ("def check(candidate):\n    assert candidate(1) == 2\n    assert candidate(2) == 3\n"
               "    assert abs(candidate(-3)) == 2, 'message'\n")


@pytest.mark.parametrize("test", [
    # an assignment between the assertions
    "def check(candidate):\n    assert candidate(1) == 2\n    y = candidate(2)\n    assert y == 3\n",
    # a loop
    "def check(candidate):\n    for x in range(3):\n        assert candidate(x) == x + 1\n"
    "    assert candidate(5) == 6\n",
    # shared state: a module-level list the assertions name
    "DATA = [1, 2]\ndef check(candidate):\n    assert candidate(DATA.pop()) == 3\n"
    "    assert candidate(DATA.pop()) == 2\n",
    # a walrus inside an assertion
    "def check(candidate):\n    assert (y := candidate(1)) == 2\n    assert candidate(y) == 3\n",
    # random draws depend on what ran before
    "import random\ndef check(candidate):\n    assert candidate(random.randint(1, 1)) == 2\n"
    "    assert candidate(1) == 2\n",
])
def test_dependent_assertions_are_not_reordered(test: str) -> None:
    assert order.assertions(_prepared(test), "check") is None


@pytest.mark.parametrize("solution", [
    "    global CALLS\n    CALLS = 1\n    return x + 1\n",  # global state
    # a mutable default
    "    return _helper(x)\n\ndef _helper(x, seen=[]):\n    seen.append(x)\n    return x + 1\n",
    "    inc.calls = 1\n    return x + 1\n",  # state on the function
])
def test_a_program_with_state_between_calls_keeps_the_written_order(solution: str) -> None:
    assert order.assertions(_prepared(INDEPENDENT, PROMPT + solution), "check") is None


def test_independent_assertions_run_most_killing_first_and_name_the_one_that_failed() -> None:
    prepared = _prepared(INDEPENDENT)
    assertions = order.assertions(prepared, "check")
    assert assertions is not None and assertions.order() == [0, 1, 2]
    # Fails the second and third assertions: the written order names the second.
    wrong = suites.compile_program(PROMPT + "    return x + 1 if x == 1 else 0\n", "<mutant a>")
    passed, failure, _ = suites.run_suite(prepared, wrong)
    assert not passed and "test line 3" in failure
    assert assertions.order() == [1, 0, 2]  # the second has killed one
    # Fails only the third, twice: it then runs first, and a mutant failing it and the second
    # is reported at the third.
    third = suites.compile_program(PROMPT + "    return x + 1 if x > 0 else 7\n", "<mutant b>")
    for _ in range(2):
        assert "test line 4" in suites.run_suite(prepared, third)[1]
    assert assertions.order() == [2, 1, 0]
    assert "test line 4" in suites.run_suite(prepared, wrong)[1]
    # The reference passes in any order, and the broken candidate teaches nothing.
    assert suites.run_suite(prepared, prepared.reference_code)[0]
    assert not suites.run_suite(prepared, prepared.reference_code, broken=True)[0]
    assert assertions.kills == [0, 1, 3]  # the last kill was the third's; the broken run is not one


def test_mbpp_top_level_asserts_reorder_and_a_statement_after_them_stops_it() -> None:
    asserts = "import math\nassert inc(1) == 2\nassert math.floor(inc(2.5)) == 3\n"
    assert order.assertions(_prepared(asserts, kind="asserts"), "asserts") is not None
    assert order.assertions(_prepared(asserts + "x = 1\nassert inc(x) == 2\n", kind="asserts"),
                            "asserts") is None


# --- 3. cheaper timeouts: the child's own CPU alarm ------------------------------------------

PID = "(_ for _ in ()).throw(ValueError(str(__import__('os').getpid())))"  # a kill naming its child


def test_an_infinite_loop_times_out_in_the_child_and_the_next_mutant_runs_in_the_same_child() -> None:
    task = make_task()
    replacements = [PID, LOOP, PID, "x + 2", "x + 1 if x != 9 else 0"]
    mutants = tuple(make_mutant(task, r) for r in replacements)
    results = _verdicts(SerialExecutor(SETTINGS, run_job).run([TaskJob(task, mutants)]))
    first, loop, after, killed, survived = (results[m.id] for m in mutants)
    assert loop.status is MutantStatus.TIMEOUT and "time budget" in loop.detail
    assert first.status is after.status is MutantStatus.KILLED
    assert first.detail.split(":")[1] == after.detail.split(":")[1]  # the same pid: no new fork
    assert killed.status is MutantStatus.KILLED
    assert survived.status is MutantStatus.SURVIVED


def test_a_mutant_that_swallows_the_alarm_is_still_a_timeout() -> None:
    # A given helper that catches every BaseException around an endless loop, then returns the
    # right value: the suite would pass, but the alarm rang.
    helper = ("\n\ndef _swallow(x):\n    try:\n        while True:\n            pass\n"
              "    except BaseException:\n        return x + 1\n")
    source = PROMPT + SOLUTION + helper
    task = Task("t/swallow", "inc", source, make_task().test, len(PROMPT), len(PROMPT + SOLUTION))
    mutant = make_mutant(task, "_swallow(x)")
    results = _verdicts(SerialExecutor(SETTINGS, run_job).run([TaskJob(task, (mutant,))]))
    assert results[mutant.id].status is MutantStatus.TIMEOUT


@pytest.mark.parametrize("stuck", [
    "__import__('time').sleep(30) or x + 1",  # asleep: no CPU, the wall limit ends it
    "sum(range(10 ** 12)) and x + 1",  # in C code: no signal handler runs until it returns
])
def test_a_mutant_stuck_in_c_or_asleep_is_caught_by_the_watchdog(stuck: str) -> None:
    task = make_task()
    mutants = tuple(make_mutant(task, r) for r in [stuck, "x + 2"])
    results = _verdicts(SerialExecutor(SETTINGS, run_job).run([TaskJob(task, mutants)]))
    assert results[mutants[0].id].status is MutantStatus.TIMEOUT
    assert results[mutants[1].id].status is MutantStatus.KILLED


# --- 6. progress a user can plan by -----------------------------------------------------------


def test_progress_estimates_the_total_until_every_task_is_planned_and_shows_an_eta() -> None:
    stream = io.StringIO()
    progress = TerminalProgress(stream, tty=False)
    progress.start(4)
    progress.scanned(1)
    progress.planned("a", 10)
    progress.event(ReferenceRun("a", True, None, 0.001))
    progress.event(ResultBatch(tuple(MutantResult(f"m{i}", "a", MutantStatus.KILLED, "x")
                                     for i in range(5))))
    status = progress._status()
    assert "5/~40 mutants" in status and "1/~4 tasks" not in status and "ETA" in status
    assert "ETA ?" not in status
    progress.scanned(4)
    progress.planned("b", 5)
    assert "5/15 mutants" in progress._status()
    progress.finish()
    progress.triage(3, 3)  # the last one is always shown
    assert "triage: 3/3 tasks" in stream.getvalue() and "tasks/s" in stream.getvalue()
