"""Run one task's mutants against its suite: one forked child per task, time budgets, retries.

The scheme, measured in benchmarks/bench_humaneval.py: each task's job forks one child from a
warm worker; the child runs the reference (timing it, and once under coverage to learn which
lines the suite executes), then the mutants one after another in fresh namespaces, reporting
each verdict over a pipe. A mutant whose changed lines the suite never executes is
`no_coverage` without running: no deterministic suite can notice it. The parent enforces a
per-mutant time budget and replaces the child when a mutant times out, crashes it, or leaves it
damaged (builtins patched, threads left running...). A fork per task, not per mutant, is what
makes HumanEval's 10-50 us suites cheap to audit. Because no fingerprint is complete and code in
a child can write frames, a verdict a child claims after other mutants ran in it is checked
before it is final: every survivor and a sample of the kills run again in a fresh child
(`_Runner._check` says how, and why that is sound).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import signal
import tempfile
import time
import traceback
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
    Split,
    TaskJob,
    TaskPart,
)
from testaudit.run import coverage
from testaudit.sandbox import fingerprint
from testaudit.sandbox.child import (
    CallTimeout,
    Child,
    CpuAlarm,
    Frames,
    InternalError,
    Send,
    cpu_seconds,
    death_reason,
    fork,
)
from testaudit.sandbox.fingerprint import Fingerprint, clear_status, modules_in

Emit = Callable[[Event], None]

# Verdicts go to the parent in batches of this many, or after this long: per-mutant IPC would
# dominate HumanEval's 10-50 us suites, and a long task must still show progress.
BATCH_SIZE, BATCH_SECONDS = 64, 0.25

# --- the cost model: what scheduling and progress estimate; never what decides a verdict ------
#
# A mutant costs about its task's reference suite time (a killed one often less, a timeout its
# budget) plus a fixed overhead in the sandbox (compile, fresh namespace, frame).
MUTANT_OVERHEAD_S = 0.0004
# A task whose mutants are estimated to cost more than SPLIT_ABOVE_S of CPU is split into parts
# (TaskPart) that run on different workers, so that one slow task does not set the wall time.
# Each part costs about PART_FIXED_RUNS suite runs of its own (its child's warm-up, its re-check
# child's warm-up, its sampled kills), so a part holds at least PART_MIN_MUTANTS mutants and
# about PART_S of estimated work.
SPLIT_ABOVE_S = 2.0
PART_S = 1.5
PART_MIN_MUTANTS = 12


def estimated_seconds(suite_seconds: float, mutants: int) -> float:
    """The cost model: CPU seconds `mutants` mutants of a task with this suite time take."""
    return mutants * (suite_seconds + MUTANT_OVERHEAD_S)


def part_sizes(suite_seconds: float, runnable: int) -> list[int]:
    """How many of a task's runnable mutants each of its jobs runs (one job: [runnable]).

    Pure: a function of the reference's measured time and the mutant count only."""
    if estimated_seconds(suite_seconds, runnable) <= SPLIT_ABOVE_S:
        return [runnable]
    size = max(PART_MIN_MUTANTS, math.ceil(PART_S / (suite_seconds + MUTANT_OVERHEAD_S)))
    parts = max(1, runnable // size)
    base, extra = divmod(runnable, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


# What the cost model assumes of a task whose reference is not timed yet (HumanEval's median
# suite time is 12.5 us), and what timing it and measuring its coverage cost.
UNTIMED_SUITE_S = 2e-5
MEASURE_S = 0.01


def job_cost(job: object) -> float:
    """A job's estimated CPU seconds, for scheduling (PoolExecutor's cost model): a TaskPart's
    from its timed reference, any other TaskJob's from its mutant count."""
    if isinstance(job, TaskPart):
        return job.estimated_seconds
    if isinstance(job, TaskJob):
        return MEASURE_S + estimated_seconds(UNTIMED_SUITE_S, len(job.mutants))
    return 0.0


def budgets(settings: ExecSettings, suite_seconds: float) -> tuple[float, bool]:
    """A task's mutant budget and whether a mutant that exceeds it gets a second try.

    On a slow task (its budget is mostly the reference's own time), mutants that really end
    can need about the budget; one that times out gets a second try at twice the budget, so
    that its verdict does not flip with a few percent of CPU noise. On fast tasks the budget
    is the constant, hundreds of times what an ending mutant needs: no second try.
    Computed alike by the parent and by a first child, which enforces it itself (CpuAlarm).
    """
    budget = settings.budget(suite_seconds)
    return budget, budget - settings.timeout_constant_s > settings.timeout_constant_s


def watchdog_grace(limit: float) -> float:
    """CPU seconds the parent's watchdog waits past a mutant's budget, which the child enforces
    itself: enough for the child's own report to arrive first (the alarm rings within a
    scheduler tick of the budget). The wall limit (WALL_FACTOR x budget) does not move."""
    return 0.25 * limit + 0.02


# A child's timeout claims are checked against its CPU time read from /proc: the child must
# have used at least CLAIM_SHARE of the sum of the budgets it claims to have exceeded, less
# CLAIM_TOLERANCE_S. Not all of it: /proc counts in clock ticks, and it was measured to read up
# to 6% (40 ms) less than ITIMER_PROF had counted when it rang. A forger must still burn most of
# a budget for every timeout it claims.
CLAIM_SHARE, CLAIM_TOLERANCE_S = 0.8, 0.03


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
    settings: ExecSettings
    # Mutant id -> why it is no_coverage, as the parent worked it out from the first child's
    # coverage: every later child skips the same mutants (the first one works it out itself).
    unreached: dict[str, str] = field(default_factory=dict)
    # A re-check child runs just these mutants, in this order, instead of mutants[first:].
    only: tuple[int, ...] | None = None
    # The mutants' CPU budget, which the child enforces itself (None: a first child works it
    # out from its own timing of the reference, as the parent does: `budgets`).
    budget: float | None = None
    retry: bool = False  # a timeout on a first try ends the child: a fresh one tries again
    doubled: frozenset[str] = frozenset()  # mutants on their second try, at twice the budget

    def order(self) -> tuple[int, ...] | range:
        return self.only if self.only is not None else range(self.first, len(self.mutants))


def _measure(plan: _ChildPlan, send: Send) -> tuple[dict, frozenset[int] | None] | None:
    """The first child's reference runs: timing, the broken candidate, then coverage (sent in
    frames of their own, so that a suite too slow under tracing costs coverage, not the task).
    None: the reference fails its suite."""
    prepared = plan.prepared
    passed, failure, seconds, namespace = suites.time_reference(prepared)
    prepared.cache[_REFERENCE_SECONDS] = seconds
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


_REFERENCE_SECONDS = "testaudit.run.job reference seconds"  # in PreparedTask.cache, in a first child

# The records of ours a run-stage child sends besides sandbox.child.FRAME_CLASSES.
_FRAMES = frozenset({("testaudit.run.job", "_Coverage")})


@dataclass(frozen=True)
class _Coverage:
    """The first child's second frame: the lines the suite executes (None: unknown)."""

    executed: frozenset[int] | None


def _timeout(mutant: Mutant, limit: float) -> MutantResult:
    return MutantResult(mutant.id, mutant.task_id, MutantStatus.TIMEOUT,
                        f"exceeded its time budget of {limit:.3g} s", limit)


def _timed(prepared: suites.PreparedTask, mutant: Mutant, limit: float, alarm: CpuAlarm) -> MutantResult:
    """_run_mutant under the child's own CPU alarm: a run that rings it is a timeout, whatever
    it did after (task code may catch CallTimeout and go on to pass or fail the suite)."""
    result = None
    try:
        alarm.arm(limit)
        result = _run_mutant(prepared, mutant)
    except CallTimeout:
        pass
    finally:
        alarm.armed = False  # inline, not in a call: no handler can run before it (CpuAlarm)
        alarm.disarm()
    if alarm.fired or result is None:
        return _timeout(mutant, limit)
    return result


def _child_body(plan: _ChildPlan, send: Send) -> None:
    alarm = CpuAlarm()
    alarm.install()  # before the fingerprint, which compares signal handlers
    budget, retry = plan.budget, plan.retry
    if plan.measure:
        measured = _measure(plan, send)
        if measured is None:
            return
        namespace, executed = measured
        unreached = coverage.unreached(plan.prepared.task.source, plan.mutants, executed)
    else:  # a replacement child: warm imports and caches the same way, untimed
        namespace = suites.run_suite(plan.prepared, plan.prepared.reference_code)[2]
        unreached = plan.unreached
        send("ready")
    if budget is None:  # a first child: the budget its own timing of the reference gives
        budget, retry = budgets(plan.settings, plan.prepared.cache[_REFERENCE_SECONDS])
    order = plan.order()
    fingerprint = Fingerprint(modules_in(namespace))
    for index in order:
        mutant = plan.mutants[index]
        first_try = False
        if mutant.id in unreached:
            result = MutantResult(mutant.id, mutant.task_id, MutantStatus.NO_COVERAGE, unreached[mutant.id])
        else:
            clear_status()
            doubled = mutant.id in plan.doubled
            first_try = retry and not doubled
            result = _timed(plan.prepared, mutant, budget * 2 if doubled else budget, alarm)
        damaged = fingerprint.damaged()
        send((index, result, damaged))
        if damaged or (first_try and result.status is MutantStatus.TIMEOUT):
            break  # a second try runs in a fresh child (see budgets)


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
    own = getattr(suites.suite_for(task), "run_job", None)
    if own is not None:  # a kind that runs its whole job itself (repository tasks: suites/swebench)
        own(job, settings, emit)
        return
    started = time.perf_counter()
    try:
        prepared = suites.prepare(task, settings.seed)
    except (SyntaxError, ValueError) as exc:
        emit(JobFailed(task.task_id, f"task does not compile: {exc}"))
        emit(JobDone(task.task_id, time.perf_counter() - started))
        return
    batch = _Batcher(emit)
    with tempfile.TemporaryDirectory(prefix="testaudit-") as workdir, \
            tempfile.TemporaryDirectory(prefix="testaudit-source-") as private:
        # coverage.py needs a real-looking absolute filename; the file itself is never read.
        traced = Path(private) / "reference.py"
        traced.write_text(task.source, encoding="utf-8")
        runner = _Runner(prepared, job.mutants, settings, workdir, str(traced), batch, emit,
                         reference=job.reference if isinstance(job, TaskPart) else None)
        try:
            runner.run()
        except Exception as exc:  # a bug of ours must not take the other tasks down
            emit(JobFailed(task.task_id, f"internal error: {type(exc).__name__}: {exc}",
                           traceback.format_exc()))
        finally:
            batch.flush()
    emit(JobDone(task.task_id, time.perf_counter() - started, runner.forks))


@dataclass
class _Runner:
    prepared: suites.PreparedTask
    mutants: tuple[Mutant, ...]
    settings: ExecSettings
    workdir: str
    traced_path: str
    batch: _Batcher
    emit: Emit
    # What the checks of the main pass need (see _check): verdicts a child claimed after other
    # mutants had run in it, by index.
    held: dict[int, MutantResult] = field(default_factory=dict)  # survivors, not yet reported
    claimed_kills: list[int] = field(default_factory=list)
    last_kills: list[int] = field(default_factory=list)  # the last claimed kill of each child
    suspect: str | None = None  # a child broke the protocol: the whole task is re-run
    unreached: dict[str, str] = field(default_factory=dict)
    # A TaskPart's: the reference its task's first job timed (this job times none).
    reference: ReferenceRun | None = None
    budget: float | None = None  # the mutants' budget, once the reference is timed
    retry: bool = False
    second_try: set[str] = field(default_factory=set)  # mutants on their second try
    claimed_cpu: dict[int, float] = field(default_factory=dict)  # child pid -> timeouts claimed
    forks: int = 0  # children forked (the work split's re-forks)

    def _fork(self, first: int, measure: bool, only: tuple[int, ...] | None = None,
              recheck: bool = False) -> Child:
        # A re-check child runs at the re-check budget (twice the budget on a slow task), with
        # no second try of its own: _check decides.
        budget = self.budget
        if recheck and budget is not None and self.retry:
            budget = budget * 2
        doubled = frozenset() if recheck else frozenset(self.second_try)
        plan = _ChildPlan(self.prepared, self.mutants, first, measure, self.traced_path,
                          self.settings, self.unreached, only, budget, self.retry and not recheck,
                          doubled)
        self.forks += 1
        return fork(lambda send: _child_body(plan, send), self.settings, self.workdir, _FRAMES)

    def _claim(self, child: Child, mutant: Mutant, limit: float) -> bool:
        """Whether the child can have used the CPU time its timeout claims add up to, this one
        for `mutant` included. If not, the claim is forged, and the task's verdicts are not to
        be trusted (self.suspect)."""
        claimed = self.claimed_cpu.get(child.frames.pid, 0.0) + limit
        self.claimed_cpu[child.frames.pid] = claimed
        needed = CLAIM_SHARE * claimed - CLAIM_TOLERANCE_S
        if child.frames.cpu < needed and cpu_seconds(child.frames.pid) is None:
            # The runner ended before its frame was read (it does, after a first try's
            # timeout), so /proc had no CPU time to give: the kernel's count, from its end.
            child.reap()
        if child.frames.cpu < needed:
            self.suspect = (f"a sandbox child claimed that {mutant.id} exceeded its time budget "
                            "without using that much CPU time")
            return False
        return True

    def _wrong(self, child: Child, frame: object, mutant: Mutant, index: int,
               limit: float) -> MutantResult | None:
        """The verdict on `mutant` when its frame is no verdict to take (the child ended or
        broke the protocol), else None."""
        lost = self._lost(child, frame, mutant, limit)
        if lost is not None:
            return lost
        wrong = self._frame_error(frame, index)
        claimed = wrong is None and frame[1].status is MutantStatus.TIMEOUT
        if claimed and not self._claim(child, mutant, limit):
            wrong = "a timeout it cannot have reached"
        if wrong is not None:  # cannot happen unless the child was subverted
            self.suspect = self.suspect or f"a sandbox child sent {wrong}"
            return MutantResult(mutant.id, mutant.task_id, MutantStatus.ERROR, "sandbox protocol error")
        return None

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
        return self._replacement(0), None

    def _replacement(self, first: int, only: tuple[int, ...] | None = None,
                     recheck: bool = False) -> Child | None:
        """A fresh child for mutants[first:] (or just `only`), once it has warmed up; None if it
        cannot."""
        child = self._fork(first, False, only, recheck)
        if child.frames.read(self.settings.reference_timeout_s) == "ready":
            return child
        child.stop()
        for mutant in self.mutants[first:] if only is None else [self.mutants[i] for i in only]:
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
        fingerprint.prime()  # once here, not in each of the task's children (after a fork)
        if self.reference is not None:  # a TaskPart: timed already, all its mutants to run
            reference = self.reference
            self.budget, self.retry = budgets(self.settings, reference.suite_seconds)
            child = self._replacement(0)
            if child is None:
                return
        else:
            child, reference = self._measure_reference()
            self.emit(reference)
            if not reference.passed:
                child.stop()
                return
            self.budget, self.retry = budgets(self.settings, reference.suite_seconds)
            child, executed = self._coverage(child)
            if child is None:
                return
            self.unreached = coverage.unreached(self.prepared.task.source, self.mutants, executed)
            child = self._split(child, reference)
            if child is None:
                return
        budget, retry = self.budget, self.retry
        second_try = self.second_try
        index = 0
        while True:
            index = self._drain(child, index, budget, second_try if retry else None)
            child.stop()
            if index >= len(self.mutants):
                break
            # A replacement child that cannot even rerun the reference: give up on the rest.
            child = self._replacement(index)
            if child is None:
                for held in self.held.values():
                    self.batch.add(dataclasses.replace(held, status=MutantStatus.ERROR,
                                                       detail="could not re-check it in a fresh sandbox"))
                return
        self._check(budget * 2 if retry else budget)

    def _split(self, child: Child, reference: ReferenceRun) -> Child | None:
        """Split an expensive task (`part_sizes`): this job keeps the first part and hands the
        others back as TaskParts, which other workers run meanwhile. The first child, which
        has started on every mutant, gives way to one that runs only this job's part; the
        unreached mutants' no_coverage verdicts are given here, from the same coverage."""
        runnable = tuple(m for m in self.mutants if m.id not in self.unreached)
        sizes = part_sizes(reference.suite_seconds, len(runnable))
        if len(sizes) == 1:
            return child
        child.stop()
        for mutant in self.mutants:
            if mutant.id in self.unreached:
                self.batch.add(MutantResult(mutant.id, mutant.task_id, MutantStatus.NO_COVERAGE,
                                            self.unreached[mutant.id]))
        self.batch.flush()
        starts = [sum(sizes[:i]) for i in range(len(sizes))]
        chunks = [runnable[start:start + size] for start, size in zip(starts, sizes, strict=True)]
        task = self.prepared.task
        self.emit(Split(task.task_id, tuple(
            TaskPart(task, chunk, reference, part, len(chunks),
                     estimated_seconds(reference.suite_seconds, len(chunk)))
            for part, chunk in enumerate(chunks) if part > 0)))
        self.mutants, self.unreached = chunks[0], {}
        return self._replacement(0)

    def _lost(self, child: Child, frame: object, mutant: Mutant, limit: float) -> MutantResult | None:
        """The verdict when the child sent no verdict frame for `mutant` but ended (or broke),
        else None."""
        if frame is Frames.GARBAGE:
            # The child wrote on its frame pipe what no child of ours writes: the reader
            # killed it. Task code attacked the harness; its suite judged nothing.
            return MutantResult(mutant.id, mutant.task_id, MutantStatus.ERROR,
                                "sandbox protocol error: garbage on the frame pipe")
        if frame is Frames.EOF:
            return _death(mutant, child.reap(), limit)
        if isinstance(frame, InternalError):
            # Our own code failed around this mutant: no verdict on it, and the log says why.
            self._internal(frame)
            return MutantResult(mutant.id, mutant.task_id, MutantStatus.ERROR,
                                f"internal error: {frame.summary}")
        return None

    def _frame_error(self, frame: object, index: int) -> str | None:
        """What is wrong with a verdict frame for mutants[index], or None. Code in the child can
        write frames (it can find the pipe): whatever the parent can check, it checks."""
        if not (isinstance(frame, tuple) and len(frame) == 3):
            return "a frame that is not a verdict"
        position, result, damaged = frame
        mutant = self.mutants[index]
        if position != index or not isinstance(result, MutantResult) or type(damaged) is not bool:
            return "a verdict out of order"
        if result.mutant_id != mutant.id or result.task_id != mutant.task_id:
            return "a verdict for another mutant"
        if result.status not in _CLAIMABLE or (result.status is MutantStatus.NO_COVERAGE) != (
                mutant.id in self.unreached):
            return f"a verdict that a child cannot give ({result.status})"
        return None

    def _drain(self, child: Child, index: int, budget: float, second_try: set[str] | None) -> int:
        """Collect verdicts from one child until it is done, times out, dies or is damaged.

        With `second_try` (a slow task), a mutant that times out is tried again by a fresh child
        (the index returned is its own) with twice the budget; the set holds those mutants.
        A verdict the child claims after other mutants ran in it is not final yet: survivors are
        held back and kills noted, for _check.
        """
        mutants, batch = self.mutants, self.batch
        child.frames.backstop = True  # the reference is timed: a CPU limit may be armed now
        ran = False  # whether a mutant has run in this child: later verdicts are not fresh
        last_kill = None
        try:
            while index < len(mutants):
                mutant = mutants[index]
                retrying = second_try is not None and mutant.id in second_try
                limit = budget * 2 if retrying else budget
                child.frames.grace = watchdog_grace(limit)
                frame = child.frames.read(limit)
                # A timeout the watchdog saw (the child is then killed), or one the child's own
                # alarm rang and it reports (checked: _claim), going on if its state is intact.
                timed_out = frame is Frames.TIMEOUT
                if not timed_out:
                    wrong = self._wrong(child, frame, mutant, index, limit)
                    if wrong is not None:
                        batch.add(wrong)
                        return index + 1
                    _, result, damaged = frame
                    timed_out = result.status is MutantStatus.TIMEOUT
                if timed_out:
                    if second_try is not None and not retrying:
                        second_try.add(mutant.id)
                        return index  # a fresh child tries it again, with twice the budget
                    batch.add(_timeout(mutant, limit))
                    ran = True
                    index += 1
                    if frame is Frames.TIMEOUT or damaged:
                        return index
                    continue  # no new fork
                if not ran or result.status not in (MutantStatus.SURVIVED, MutantStatus.KILLED):
                    batch.add(result)
                elif result.status is MutantStatus.SURVIVED:
                    self.held[index] = result
                else:
                    batch.add(result)
                    self.claimed_kills.append(index)
                    last_kill = index
                ran = ran or result.status is not MutantStatus.NO_COVERAGE
                index += 1
                if damaged:
                    return index
            return index
        finally:
            if last_kill is not None:
                self.last_kills.append(last_kill)

    # --- the checks: no fingerprint is complete, and a child can forge frames ----------------
    #
    # A verdict is *fresh* when its mutant was the first to run in its child, after the warm-up
    # every child does: no other mutant of the task can have left state behind there, or
    # written frames in its name. Fresh verdicts, and what the parent observes itself
    # (timeouts, deaths), are final at once. The others a child *claims* are checked:
    #
    # - every claimed survival (what triage certifies, what a gate reports);
    # - a sample of the claimed kills (what a forger wants: a gate passes on kills; code in the
    #   child can find the pipe and write "killed" for every later mutant): the last claimed
    #   kill of each child (a forger that claims the rest and exits is always caught) and
    #   SAMPLED_KILLS others, ranked by a keyed hash whose key the parent draws only now, after
    #   the children that claimed them are gone (a sample a child can compute, a forger avoids).
    #
    # All of them run again in ONE re-check child per task, in the *reverse* of their order in
    # the main pass; its first is fresh. A wrong verdict can then only be confirmed if one
    # mutant before it in the main pass and another one after it both leave state behind (or
    # forge frames) that the fingerprint misses: a single culprit, like the ones the tests
    # plant, cannot make another mutant's verdict twice. The re-check child also checks its
    # fingerprint after each mutant and is replaced when damaged. A re-checked verdict that
    # disagrees is decided by one more child that runs that mutant alone: a survivor that dies
    # alone is killed (with a note), and a claimed kill that does not die alone means the main
    # pass cannot be trusted: every mutant of the task runs again, each in a child of its own.
    # Cost on HumanEval: one fork per task, and one more run of each survivor and sampled kill.

    def _check(self, budget: float) -> None:
        if self.suspect:
            self.held.clear()
            self._rerun_alone(budget, self.suspect)
            return
        order = sorted({*self.held, *self._kill_sample()}, reverse=True)
        for index, verdict, fresh in self._rerun(order, budget):
            expected = MutantStatus.SURVIVED if index in self.held else MutantStatus.KILLED
            if verdict.status is not expected and not fresh:
                verdict = self._rerun([index], budget)[0][1]
            if index not in self.held:
                # A claimed kill that times out alone is no forgery: both are detected, and with
                # assertions run in the order of their kills (suites/order.py) the fresh child,
                # which has learnt no kills, may reach the looping assertion first.
                if verdict.status not in (MutantStatus.KILLED, MutantStatus.TIMEOUT):
                    self.held.clear()
                    self._rerun_alone(budget, (
                        f"{self.mutants[index].id} was claimed killed but is {verdict.status} when "
                        "it runs alone (a forged verdict?)"))
                    return
            elif verdict.status is MutantStatus.SURVIVED:
                self.batch.add(self.held[index])  # the same verdict: keep the first run's time
            else:
                self.batch.add(_noted(verdict, "it survived in a sandbox where other mutants of the "
                                      "task had run before it, not in a fresh one: one of them left "
                                      "state behind"))
        self.held.clear()

    def _kill_sample(self) -> set[int]:
        claimed = self.claimed_kills
        if not claimed:
            return set()
        key = os.urandom(16)
        ranked = sorted(claimed, key=lambda i: hashlib.blake2b(
            self.mutants[i].id.encode(), key=key, digest_size=8).digest())
        return {*self.last_kills, *ranked[:SAMPLED_KILLS]}

    def _rerun(self, indices: list[int], budget: float) -> list[tuple[int, MutantResult, bool]]:
        """Run mutants[i] for i in indices in fresh children, in order: (index, verdict, fresh).
        A child ends at a timeout, a death or damage, and a fresh one goes on with the rest."""
        out: list[tuple[int, MutantResult, bool]] = []
        rest = list(indices)
        while rest:
            child = self._replacement(rest[0], tuple(rest), recheck=True)
            if child is None:  # _replacement reported them as errors
                return out + [(i, MutantResult(self.mutants[i].id, self.mutants[i].task_id,
                                               MutantStatus.ERROR,
                                               "could not restart the sandbox for this task"), True)
                              for i in rest]
            try:
                for position, index in enumerate(list(rest)):
                    verdict, more = self._one(child, index, budget)
                    out.append((index, verdict, position == 0))
                    rest.remove(index)
                    if not more:
                        break
            finally:
                child.stop()
        return out

    def _one(self, child: Child, index: int, budget: float) -> tuple[MutantResult, bool]:
        """The verdict on mutants[index] from a re-check child, and whether it can go on."""
        mutant = self.mutants[index]
        child.frames.backstop = True
        child.frames.grace = watchdog_grace(budget)
        frame = child.frames.read(budget)
        if frame is Frames.TIMEOUT:
            return _timeout(mutant, budget), False
        if frame is Frames.GARBAGE:
            return MutantResult(mutant.id, mutant.task_id, MutantStatus.ERROR,
                                "sandbox protocol error: garbage on the frame pipe"), False
        if frame is Frames.EOF:
            return _death(mutant, child.reap(), budget), False
        if isinstance(frame, InternalError):
            self._internal(frame)
            return MutantResult(mutant.id, mutant.task_id, MutantStatus.ERROR,
                                f"internal error: {frame.summary}"), False
        if self._frame_error(frame, index) is not None:
            return MutantResult(mutant.id, mutant.task_id, MutantStatus.ERROR,
                                "sandbox protocol error"), False
        if frame[1].status is MutantStatus.TIMEOUT:
            if not self._claim(child, mutant, budget):
                return MutantResult(mutant.id, mutant.task_id, MutantStatus.ERROR,
                                    "sandbox protocol error"), False
            return _timeout(mutant, budget), not frame[2]
        return frame[1], not frame[2]

    def _rerun_alone(self, budget: float, why: str) -> None:
        """Every mutant of the task again, each in a child of its own: the verdicts of the main
        pass are not to be trusted. Each verdict's detail says so."""
        note = f"re-run alone in a fresh sandbox: {why}"
        for index, mutant in enumerate(self.mutants):
            if mutant.id in self.unreached:
                continue
            (_, verdict, _), = self._rerun([index], budget)
            self.batch.add(_noted(verdict, note))


# The verdicts a child may claim in a frame. A claimed timeout is checked against the child's
# CPU time (_Runner._claim), and the verdict recorded is the parent's own.
_CLAIMABLE = frozenset({MutantStatus.KILLED, MutantStatus.SURVIVED, MutantStatus.NO_COVERAGE,
                        MutantStatus.ERROR, MutantStatus.TIMEOUT})
# Claimed kills per task re-run alone besides each child's last one (see _Runner._check).
SAMPLED_KILLS = 2


def _death(mutant: Mutant, status: int, limit: float) -> MutantResult:
    """The verdict on a mutant whose child died: a kill, unless the kernel's CPU backstop
    (RLIMIT_CPU, armed by the parent's frame reader) ended it, which is a timeout."""
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGXCPU:
        return _timeout(mutant, limit)
    return MutantResult(mutant.id, mutant.task_id, MutantStatus.KILLED, death_reason(status))


def _noted(result: MutantResult, note: str) -> MutantResult:
    detail = f"{result.detail} ({note})" if result.detail else note
    return dataclasses.replace(result, detail=detail)
