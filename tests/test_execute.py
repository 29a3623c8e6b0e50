"""Running mutants: every status, and hostile mutants that must not hang, crash or leak."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest
from conftest import isolation_modes, process_alive

from testaudit.config import ExecSettings
from testaudit.mutate import mutant_id
from testaudit.records import (
    JobDone,
    Location,
    Mutant,
    MutantStatus,
    Position,
    ReferenceRun,
    ResultBatch,
    Task,
    TaskJob,
)
from testaudit.run.job import run_job
from testaudit.run.pool import PoolExecutor, SerialExecutor

PROMPT = 'def inc(x):\n    """x + 1"""\n'
SOLUTION = "    return x + 1\n"
TEST = "def check(candidate):\n    assert candidate(1) == 2\n    assert candidate(-1) == 0\n"


def make_task(test: str = TEST, task_id: str = "t/inc") -> Task:
    source = PROMPT + SOLUTION
    return Task(task_id, "inc", source, test, len(PROMPT), len(source))


def make_mutant(task: Task, replacement: str, original: str = "x + 1") -> Mutant:
    start = task.source.index(original, task.solution_start)
    end = start + len(original)
    return Mutant(
        id=mutant_id(task.task_id, "test", start, end, replacement),
        task_id=task.task_id, operator="test",
        location=Location(Position(3, start - task.solution_start + 1), Position(3, 1)),
        start=start, end=end, original=original, replacement=replacement, diff="",
    )


SETTINGS = ExecSettings(timeout_constant_s=0.2, memory_cap_bytes=512 << 20)


def run_serial(task: Task, replacements: list[str], settings: ExecSettings = SETTINGS):
    mutants = tuple(make_mutant(task, r) for r in replacements)
    events = list(SerialExecutor(settings, run_job).run([TaskJob(task, mutants)]))
    results = {r.mutant_id: r for e in events if isinstance(e, ResultBatch) for r in e.results}
    reference = next(e for e in events if isinstance(e, ReferenceRun))
    return [results[m.id] for m in mutants], reference


def test_statuses_killed_survived_timeout_and_kill_reasons() -> None:
    # Loops forever without allocating (`if 0` keeps the list empty): with a growing list, a fast
    # machine reached the memory cap (MemoryError: killed) before the 0.2 s budget.
    loop = "(lambda: [0 for _ in iter(int, 1) if 0])()"
    results, reference = run_serial(make_task(), ["x + 2", "x + 1 + 0 * x", loop])
    killed, survived, timeout = results
    assert reference.passed and reference.suite_calls_entry_point
    assert killed.status is MutantStatus.KILLED
    assert killed.detail == "assertion failed at test line 2: assert candidate(1) == 2"
    assert survived.status is MutantStatus.SURVIVED and survived.detail is None
    assert timeout.status is MutantStatus.TIMEOUT


def test_exception_in_the_mutant_is_a_kill_with_its_type_and_place() -> None:
    (result,), _ = run_serial(make_task(), ["x + [][5]"])
    assert result.status is MutantStatus.KILLED
    assert result.detail == "IndexError: list index out of range (in the program at line 3)"


def test_broken_reference_and_a_suite_that_never_calls_the_entry_point() -> None:
    broken = make_task(test="def check(candidate):\n    assert candidate(1) == 3\n")
    events = list(SerialExecutor(SETTINGS, run_job).run([TaskJob(broken, (make_mutant(broken, "x + 2"),))]))
    reference = next(e for e in events if isinstance(e, ReferenceRun))
    assert not reference.passed
    assert reference.message == "assertion failed at test line 2: assert candidate(1) == 3"
    assert not [e for e in events if isinstance(e, ResultBatch)], "a broken task's mutants must not run"

    idle = make_task(test="def check(candidate):\n    pass\n")
    _, reference = run_serial(idle, ["x + 2"])
    assert reference.passed and not reference.suite_calls_entry_point


HOSTILE = {
    "infinite loop": ("while True: pass", MutantStatus.TIMEOUT),
    "sleep": ("__import__('time').sleep(30)", MutantStatus.TIMEOUT),
    "deep recursion": ("inc(x)", MutantStatus.KILLED),
    # Recursion past the C stack crashes the process (a kill) unless the budget ends it first.
    "huge recursion limit": ("(__import__('sys').setrecursionlimit(10**9), inc(x))[1]",
                             (MutantStatus.KILLED, MutantStatus.TIMEOUT)),
    "gigabyte allocation": ("len(bytearray(4 << 30)) + x", MutantStatus.KILLED),
    "megabytes of output": ("(print('y' * 20_000_000), x + 1)[1]", MutantStatus.SURVIVED),
    "sys.exit": ("__import__('sys').exit(0)", MutantStatus.KILLED),
    "os._exit": ("__import__('os')._exit(0)", MutantStatus.KILLED),
    "BaseException": ("(_ for _ in ()).throw(KeyboardInterrupt)", MutantStatus.KILLED),
    "SIGKILL itself": ("__import__('os').kill(__import__('os').getpid(), 9)", MutantStatus.KILLED),
    "reads stdin": ("int(input()) + x", MutantStatus.KILLED),
}


def _replacement(expression: str) -> str:
    # `while True: pass` is a statement: wrap it so it can stand where `x + 1` stood.
    if expression.startswith("while"):
        return "[0 for _ in iter(int, 1) if 0]"  # no allocation: the budget, not the memory cap, ends it
    return expression


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_mutants_are_contained(name: str, capfd) -> None:
    expression, expected = HOSTILE[name]
    started = time.monotonic()
    (result,), _ = run_serial(make_task(), [_replacement(expression)])
    allowed = expected if isinstance(expected, tuple) else (expected,)
    assert result.status in allowed, result.detail
    assert time.monotonic() - started < 10
    out, err = capfd.readouterr()
    assert len(out) + len(err) < 1000, "a mutant's output must not reach the terminal"


def test_kill_reasons_for_exit_and_memory() -> None:
    results, _ = run_serial(make_task(), [
        "__import__('sys').exit(3)",
        "__import__('os')._exit(7)",
        "len(bytearray(4 << 30)) + x",
    ])
    assert results[0].detail.startswith("SystemExit: 3")
    assert results[1].detail == "the process exited with code 7 during the suite"
    assert results[2].detail.startswith("MemoryError")


def test_a_mutant_that_tampers_with_builtins_does_not_change_the_next_verdicts() -> None:
    tamper = "(__import__('builtins').__setattr__('abs', lambda v: 0), x + 1)[1]"
    honest = "abs(x) + 1"  # inc(-1) == 2 with the real abs: killed
    alone, _ = run_serial(make_task(), [honest])
    after, _ = run_serial(make_task(), [tamper, honest, honest.replace("+ 1", "+ 1 ")])
    assert alone[0].status is MutantStatus.KILLED
    assert after[0].status is MutantStatus.SURVIVED
    assert [r.status for r in after[1:]] == [MutantStatus.KILLED, MutantStatus.KILLED]


def test_mutants_that_touch_files_write_in_a_private_directory(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (result,), _ = run_serial(make_task(), ["(open('junk.txt', 'w').write('x'), x + 1)[1]"])
    assert result.status is MutantStatus.SURVIVED
    assert not (tmp_path / "junk.txt").exists()


def test_every_verdict_is_kept_in_order_after_timeouts_and_crashes() -> None:
    replacements = ["x + 2", "[0 for _ in iter(int, 1) if 0]", "x + 1 + 0", "__import__('os')._exit(0)",
                    "x - 1", "x + True"]
    results, _ = run_serial(make_task(), replacements)
    assert [r.status for r in results] == [
        MutantStatus.KILLED, MutantStatus.TIMEOUT, MutantStatus.SURVIVED, MutantStatus.KILLED,
        MutantStatus.KILLED, MutantStatus.SURVIVED,
    ]


def test_the_mutated_code_is_what_ran() -> None:
    task = make_task()
    bogus = make_mutant(task, "x + 2")
    # A mutant whose recorded span does not match the program cannot be applied: error, not survivor.
    bogus = Mutant(**{**bogus.__dict__, "start": 0, "end": 0, "replacement": ""})
    events = list(SerialExecutor(SETTINGS, run_job).run([TaskJob(task, (bogus,))]))
    (result,) = [r for e in events if isinstance(e, ResultBatch) for r in e.results]
    assert result.status is MutantStatus.ERROR
    assert result.detail == "the mutation did not apply to the program"


@pytest.mark.parametrize("isolate", isolation_modes())
def test_a_mutant_that_kills_its_worker_is_contained_by_the_pool(isolate: bool) -> None:
    task = make_task()
    mutants = tuple(make_mutant(task, r) for r in [
        "x + 2", "(__import__('os').kill(__import__('os').getppid(), 9), x + 1)[1]", "x + 1 + 0",
    ])
    other = make_task(task_id="t/other")
    settings = dataclasses.replace(SETTINGS, isolate=isolate)
    with PoolExecutor(settings, 2, run_job) as pool:
        events = list(pool.run([TaskJob(task, mutants), TaskJob(other, (make_mutant(other, "x"),))]))
    results = {r.mutant_id: r for e in events if isinstance(e, ResultBatch) for r in e.results}
    assert results[mutants[0].id].status is MutantStatus.KILLED
    assert results[mutants[2].id].status is MutantStatus.SURVIVED
    culprit = results[mutants[1].id]
    if isolate:  # its parent is its namespace's init: SIGKILL from inside does not end it
        assert culprit.status is MutantStatus.SURVIVED
    else:  # the worker killer is isolated by one-mutant retries: an error for it alone
        assert culprit.status is MutantStatus.ERROR
        assert culprit.detail == "the mutant killed the worker process that ran it"
    assert len(results) == 4
    assert {e.task_id for e in events if isinstance(e, JobDone)} == {"t/inc", "t/other"}


def test_pool_and_serial_agree() -> None:
    task = make_task()
    replacements = ["x + 2", "x * 1 + 1", "[0 for _ in iter(int, 1) if 0]", "x - 1", "abs(x) + 1"]
    serial, _ = run_serial(task, replacements)
    mutants = tuple(make_mutant(task, r) for r in replacements)
    with PoolExecutor(SETTINGS, 2, run_job) as pool:
        events = list(pool.run([TaskJob(task, mutants)]))
    pooled = {r.mutant_id: r.status for e in events if isinstance(e, ResultBatch) for r in e.results}
    assert [pooled[m.id] for m in mutants] == [r.status for r in serial]


def test_no_worker_outlives_the_pool() -> None:
    with PoolExecutor(SETTINGS, 2, run_job) as pool:
        pids = [w.process.pid for w in pool.workers]
        list(pool.run([TaskJob(make_task(), (make_mutant(make_task(), "x + 2"),))]))
    time.sleep(0.2)
    for pid in pids:
        assert not process_alive(pid)


def test_budget_rounds_the_reference_time_up_to_a_power_of_two() -> None:
    settings = ExecSettings(timeout_factor=10, timeout_constant_s=0.1)
    # Two measurements of one reference that differ by a few percent give one budget.
    assert settings.budget(0.1316) == settings.budget(0.1390) == pytest.approx(10 * 0.25 + 0.1)
    assert settings.budget(16e-6) == pytest.approx(10 * 2 ** -15 + 0.1)
    assert settings.budget(0.0) == pytest.approx(0.1)


def test_a_slow_task_gives_a_timed_out_mutant_a_second_try_at_twice_the_budget() -> None:
    # The reference burns 20 ms of CPU per call (2 calls: budget 10 x 0.0625 + 0.05 = 0.675 s).
    prompt = "import time\n\ndef inc(x):\n    \"\"\"x + 1, slowly\"\"\"\n"
    solution = ("    t = time.process_time()\n    while time.process_time() - t < 0.02:\n        pass\n"
                "    return x + 1\n")
    source = prompt + solution
    task = Task("t/slow", "inc", source, TEST, len(prompt), len(source))
    # 0.5 s per call: 1.0 s in all, past one budget but within two: a verdict, not a timeout.
    slower = make_mutant(task, "0.5", original="0.02")
    endless = make_mutant(task, "1e9", original="0.02")
    events = list(SerialExecutor(ExecSettings(), run_job).run([TaskJob(task, (slower, endless))]))
    results = {r.mutant_id: r for e in events if isinstance(e, ResultBatch) for r in e.results}
    assert results[slower.id].status is MutantStatus.SURVIVED
    assert results[endless.id].status is MutantStatus.TIMEOUT
    assert results[endless.id].detail == "exceeded its time budget of 1.35 s"
