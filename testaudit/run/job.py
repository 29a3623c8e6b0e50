"""Run one task's mutants against its suite: one forked child per task, time budgets, retries.

The scheme, measured in benchmarks/bench_humaneval.py: each task's job forks one child from a
warm worker; the child runs the reference (timing it, and once under coverage to learn which
lines the suite executes), then the mutants one after another in fresh namespaces, reporting
each verdict over a pipe. A mutant whose changed lines the suite never executes is
`no_coverage` without running: no deterministic suite can notice it. The parent enforces a
per-mutant time budget and replaces the child when a mutant times out, crashes it, or leaves it
damaged (builtins patched, threads left running...). A fork per task, not per mutant, is what
makes HumanEval's 10-50 us suites cheap to audit.
"""

from __future__ import annotations

import os
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from testaudit import suites
from testaudit.config import ExecSettings
from testaudit.records import (
    Event,
    Incident,
    JobDone,
    JobFailed,
    Mutant,
    MutantResult,
    MutantStatus,
    ReferenceRun,
    ResultBatch,
    TaskJob,
)
from testaudit.run import coverage
from testaudit.sandbox.child import Child, Frames, InternalError, Send, death_reason, fork
from testaudit.sandbox.fingerprint import Fingerprint, modules_in

Emit = Callable[[Event], None]

# Verdicts go to the parent in batches of this many, or after this long: per-mutant IPC would
# dominate HumanEval's 10-50 us suites, and a long task must still show progress.
BATCH_SIZE, BATCH_SECONDS = 64, 0.25


# --- the child: runs inside a fresh fork, reports frames over a pipe ------------------------


def _run_mutant(prepared: suites.PreparedTask, mutant: Mutant) -> MutantResult:
    task = prepared.task
    started = time.perf_counter()

    def result(status: MutantStatus, detail: str | None) -> MutantResult:
        return MutantResult(mutant.id, task.task_id, status, detail, time.perf_counter() - started)

    program = mutant.apply(task.source)
    # Guard against the classic silent failure: a "survivor" that ran the reference.
    if program == task.source or not program.startswith(mutant.replacement, mutant.start):
        return result(MutantStatus.ERROR, "the mutation did not apply to the program")
    filename = f"<mutant {mutant.id}>"
    try:
        code = suites.compile_program(program, filename)
    except (SyntaxError, ValueError) as exc:
        return result(MutantStatus.ERROR, f"mutant does not compile: {exc}")
    passed, failure, namespace = suites.run_suite(prepared, code)
    if not passed:
        return result(MutantStatus.KILLED, failure)
    if not suites.suite_for(task).has_entry_function:
        # A stdin/stdout program has no entry function to check: run_suite exec'd `code`, the
        # mutant's own code object, once per test case, so nothing else can have run instead.
        return result(MutantStatus.SURVIVED, None)
    candidate = namespace.get(task.entry_point)
    ran = getattr(getattr(candidate, "__code__", None), "co_filename", None)
    if ran != filename:
        return result(MutantStatus.ERROR, "the suite did not run the mutant's entry point")
    return result(MutantStatus.SURVIVED, None)


@dataclass(frozen=True)
class _ChildPlan:
    """What one child of a task does: measure the reference (the first child) or just warm up
    (a replacement), then run mutants[first:]."""

    prepared: suites.PreparedTask
    mutants: tuple[Mutant, ...]
    first: int
    measure: bool
    traced_path: str  # a real file holding the task's source, for coverage.py
    # The reference's lines that its suite executes, as the first child measured them: every
    # later child skips the same mutants. None: unknown, so every mutant runs.
    executed: frozenset[int] | None = None


def _measure(plan: _ChildPlan, send: Send) -> tuple[dict, frozenset[int] | None] | None:
    """The first child's reference runs: timing, the broken candidate, then coverage (sent in
    frames of their own, so that a suite too slow under tracing costs coverage, not the task).
    None: the reference fails its suite."""
    prepared = plan.prepared
    passed, failure, seconds, namespace = suites.time_reference(prepared)
    calls = True
    if passed:
        calls = not suites.run_suite(prepared, prepared.reference_code, broken=True)[0]
    send(ReferenceRun(prepared.task.task_id, passed, failure, seconds, calls))
    if not passed:
        return None
    lines = coverage.suite_lines(prepared, plan.traced_path)
    executed = frozenset(lines) if lines else None
    send(_Coverage(executed))
    return namespace, executed


@dataclass(frozen=True)
class _Coverage:
    """The first child's second frame: the lines the suite executes (None: unknown)."""

    executed: frozenset[int] | None


def _child_body(plan: _ChildPlan, send: Send) -> None:
    if plan.measure:
        measured = _measure(plan, send)
        if measured is None:
            return
        namespace, executed = measured
    else:  # a replacement child: warm imports and caches the same way, untimed
        namespace = suites.run_suite(plan.prepared, plan.prepared.reference_code)[2]
        executed = plan.executed
        send("ready")
    unreached = coverage.unreached(plan.prepared.task.source, plan.mutants[plan.first:], executed)
    fingerprint = Fingerprint(modules_in(namespace))
    for index in range(plan.first, len(plan.mutants)):
        mutant = plan.mutants[index]
        if mutant.id in unreached:
            result = MutantResult(mutant.id, mutant.task_id, MutantStatus.NO_COVERAGE, unreached[mutant.id])
        else:
            result = _run_mutant(plan.prepared, mutant)
        damaged = fingerprint.damaged()
        send((index, result, damaged))
        if damaged:
            break


# --- the parent side of one task ------------------------------------------------------------


@dataclass
class _Batcher:
    """Sends results to the parent in small batches: per-mutant IPC would dominate."""

    emit: Emit
    pending: list[MutantResult] = field(default_factory=list)
    last: float = field(default_factory=time.monotonic)

    def add(self, result: MutantResult) -> None:
        self.pending.append(result)
        if len(self.pending) >= BATCH_SIZE or time.monotonic() - self.last > BATCH_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.emit(ResultBatch(tuple(self.pending)))
            self.pending = []
        self.last = time.monotonic()


def run_job(job: TaskJob, settings: ExecSettings, emit: Emit) -> None:
    """Run one task's reference and mutants. Never raises: failures become events."""
    task = job.task
    try:
        prepared = suites.prepare(task, settings.seed)
    except (SyntaxError, ValueError) as exc:
        emit(JobFailed(task.task_id, f"task does not compile: {exc}"))
        emit(JobDone(task.task_id))
        return
    batch = _Batcher(emit)
    with tempfile.TemporaryDirectory(prefix="testaudit-") as workdir, \
            tempfile.TemporaryDirectory(prefix="testaudit-source-") as private:
        # coverage.py needs a real-looking absolute filename; the file itself is never read.
        traced = Path(private) / "reference.py"
        traced.write_text(task.source, encoding="utf-8")
        runner = _Runner(prepared, job.mutants, settings, workdir, str(traced), batch, emit)
        try:
            runner.run()
        except Exception as exc:  # a bug of ours must not take the other tasks down
            import traceback

            emit(JobFailed(task.task_id, f"internal error: {type(exc).__name__}: {exc}",
                           traceback.format_exc()))
        finally:
            batch.flush()
    emit(JobDone(task.task_id))


@dataclass
class _Runner:
    prepared: suites.PreparedTask
    mutants: tuple[Mutant, ...]
    settings: ExecSettings
    workdir: str
    traced_path: str
    batch: _Batcher
    emit: Emit

    def _fork(self, first: int, measure: bool, executed: frozenset[int] | None = None) -> Child:
        plan = _ChildPlan(self.prepared, self.mutants, first, measure, self.traced_path, executed)
        return fork(lambda send: _child_body(plan, send), self.settings, self.workdir)

    def _coverage(self, child: Child) -> tuple[Child | None, frozenset[int] | None]:
        """The first child's coverage frame. A suite that does not finish under tracing within
        the reference's time limit (tracing slows some suites a hundredfold) leaves coverage
        unknown: that child is replaced, and every mutant runs."""
        frame = child.frames.read(self.settings.reference_timeout_s)
        if isinstance(frame, _Coverage):
            return child, frame.executed
        if isinstance(frame, InternalError):
            self._internal(frame)
        child.stop()
        return self._replacement(0, None), None

    def _replacement(self, first: int, executed: frozenset[int] | None) -> Child | None:
        """A fresh child for mutants[first:], once it has warmed up; None if it cannot."""
        child = self._fork(first, False, executed)
        if child.frames.read(self.settings.reference_timeout_s) == "ready":
            return child
        child.stop()
        for mutant in self.mutants[first:]:
            self.batch.add(MutantResult(mutant.id, mutant.task_id, MutantStatus.ERROR,
                                        "could not restart the sandbox for this task"))
        return None

    def _measure_reference(self) -> tuple[Child, ReferenceRun]:
        task = self.prepared.task
        child = self._fork(0, True)
        timeout = self.settings.reference_timeout_s
        frame = child.frames.read(timeout)
        if isinstance(frame, ReferenceRun):
            return child, frame
        status = child.stop()
        if frame is Frames.TIMEOUT:
            message = f"the reference did not finish its suite in {timeout:g} s"
        elif isinstance(frame, InternalError):
            self._internal(frame)
            message = f"internal error while running the reference: {frame.summary}"
        elif frame is Frames.GARBAGE:
            message = "the reference wrote garbage on the sandbox's frame pipe"
        else:
            message = "the reference crashed: " + death_reason(status)
        return child, ReferenceRun(task.task_id, False, message, 0.0)

    def _internal(self, error: InternalError) -> None:
        self.emit(Incident(self.prepared.task.task_id,
                           f"internal error in a sandbox child: {error.summary}", error.traceback))

    def run(self) -> None:
        child, reference = self._measure_reference()
        self.emit(reference)
        if not reference.passed:
            child.stop()
            return
        settings = self.settings
        child, executed = self._coverage(child)
        if child is None:
            return
        budget = settings.budget(reference.suite_seconds)
        # On a slow task (its budget is mostly the reference's own time), mutants that really end
        # can need about the budget; one that times out gets a second try at twice the budget, so
        # that its verdict does not flip with a few percent of CPU noise. On fast tasks the budget
        # is the constant, hundreds of times what an ending mutant needs: no second try.
        retry = budget - settings.timeout_constant_s > settings.timeout_constant_s
        second_try: set[str] = set()
        index = 0
        while True:
            index = self._drain(child, index, budget, second_try if retry else None)
            child.stop()
            if index >= len(self.mutants):
                return
            # A replacement child that cannot even rerun the reference: give up on the rest.
            child = self._replacement(index, executed)
            if child is None:
                return

    def _drain(self, child: Child, index: int, budget: float, second_try: set[str] | None) -> int:
        """Collect verdicts from one child until it is done, times out, dies or is damaged.

        With `second_try` (a slow task), a mutant that times out is tried again by a fresh child
        (the index returned is its own) with twice the budget; the set holds those mutants.
        """
        mutants, batch = self.mutants, self.batch
        child.frames.backstop = True  # the reference is timed: a CPU limit may be armed now
        while index < len(mutants):
            mutant = mutants[index]
            retrying = second_try is not None and mutant.id in second_try
            limit = budget * 2 if retrying else budget
            frame = child.frames.read(limit)
            if frame is Frames.TIMEOUT:
                if second_try is not None and not retrying:
                    second_try.add(mutant.id)
                    return index  # a fresh child tries it again, with twice the budget
                batch.add(MutantResult(mutant.id, mutant.task_id, MutantStatus.TIMEOUT,
                                       f"exceeded its time budget of {limit:.3g} s", limit))
                return index + 1
            if frame is Frames.GARBAGE:
                # The child wrote on its frame pipe what no child of ours writes: the reader
                # killed it. Task code attacked the harness; its suite judged nothing.
                batch.add(MutantResult(mutant.id, mutant.task_id, MutantStatus.ERROR,
                                       "sandbox protocol error: garbage on the frame pipe"))
                return index + 1
            if frame is Frames.EOF:
                status = child.reap()
                if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGXCPU:
                    # The kernel's CPU backstop (sandbox.child.harden) ended it: out of budget.
                    batch.add(MutantResult(mutant.id, mutant.task_id, MutantStatus.TIMEOUT,
                                           f"exceeded its time budget of {limit:.3g} s", limit))
                else:
                    batch.add(MutantResult(mutant.id, mutant.task_id, MutantStatus.KILLED,
                                           death_reason(status)))
                return index + 1
            if isinstance(frame, InternalError):
                # Our own code failed around this mutant: no verdict on it, and the log says why.
                self._internal(frame)
                batch.add(MutantResult(mutant.id, mutant.task_id, MutantStatus.ERROR,
                                       f"internal error: {frame.summary}"))
                return index + 1
            position, result, damaged = frame
            if position != index:  # cannot happen unless the child was subverted
                batch.add(MutantResult(mutant.id, mutant.task_id, MutantStatus.ERROR,
                                       "sandbox protocol error"))
                return index + 1
            batch.add(result)
            index += 1
            if damaged:
                return index
        return index
