"""Run mutants against their task's suite: forked children, time budgets, worker pools.

The scheme, measured in benchmarks/bench_humaneval.py: each task's job forks one child from a
warm worker; the child runs the reference (timing it), then the mutants one after another in
fresh namespaces, reporting each verdict over a pipe. The parent enforces a per-mutant time
budget and replaces the child when a mutant times out, crashes it, or leaves it damaged
(builtins patched, threads left running...). A fork per task, not per mutant, is what makes
HumanEval's 10-50 us suites cheap to audit.
"""

from __future__ import annotations

import math
import os
import pickle
import select
import signal
import struct
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from testaudit import sandbox
from testaudit.records import Mutant, MutantResult, MutantStatus, ReferenceRun, SuiteKind, Task

_HEADER = struct.Struct("!I")


@dataclass(frozen=True)
class ExecSettings:
    timeout_factor: float = 10.0
    timeout_constant_s: float = 0.05  # CPU seconds: see budget() and docs/architecture.md
    memory_cap_bytes: int = 1 << 30
    file_cap_bytes: int = 64 << 20
    seed: int = 0
    reference_timeout_s: float = 60.0

    def budget(self, reference_seconds: float) -> float:
        """factor x the reference's suite time + constant, in CPU seconds.

        The reference time is first rounded up to a power of two: measured times wobble by a
        few percent between runs, and a budget that wobbles with them flips the verdict of any
        mutant that needs about that long (HumanEval/75's `%` -> `//` needs ~1.4 s against a
        budget of 1.42-1.45 s). Rounding moves the boundary only when the reference's time
        crosses a power of two.
        """
        rounded = 2.0 ** math.ceil(math.log2(reference_seconds)) if reference_seconds > 0 else 0.0
        return self.timeout_factor * rounded + self.timeout_constant_s


@dataclass(frozen=True)
class TaskJob:
    """One task and the mutants of it still to run. pickleable: sent to worker processes."""

    task: Task
    mutants: tuple[Mutant, ...]


@dataclass(frozen=True)
class Event:
    """A message from a job to the parent. pickleable: returned across the process pool.

    kind: "reference" (payload ReferenceRun), "results" (tuple of MutantResult),
    "done" (task id), "error" (task id, message).
    """

    kind: str
    payload: object


Emit = Callable[[Event], None]


# --- the child: runs inside a fresh fork, reports frames over a pipe ------------------------


def _send(fd: int, obj: object) -> None:
    # Every frame carries the child's CPU time so far: the parent's timeout clock.
    data = pickle.dumps((obj, time.process_time()), protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def _run_mutant(prepared: sandbox.PreparedTask, mutant: Mutant) -> MutantResult:
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
        code = sandbox.compile_program(program, filename)
    except (SyntaxError, ValueError) as exc:
        return result(MutantStatus.ERROR, f"mutant does not compile: {exc}")
    passed, failure, namespace = sandbox.run_suite(prepared, code)
    if not passed:
        return result(MutantStatus.KILLED, failure)
    if task.suite_kind is SuiteKind.STDIO:
        # A stdin/stdout program has no entry function to check: run_suite exec'd `code`, the
        # mutant's own code object, once per test case, so nothing else can have run instead.
        return result(MutantStatus.SURVIVED, None)
    candidate = namespace.get(task.entry_point)
    ran = getattr(getattr(candidate, "__code__", None), "co_filename", None)
    if ran != filename:
        return result(MutantStatus.ERROR, "the suite did not run the mutant's entry point")
    return result(MutantStatus.SURVIVED, None)


def _child(fd: int, prepared: sandbox.PreparedTask, mutants: tuple[Mutant, ...], first: int,
           measure: bool, settings: ExecSettings, workdir: str) -> None:
    """Body of a forked child. Never returns: ends with os._exit."""
    try:
        sandbox.die_with_parent()
        # Drop every inherited descriptor but our pipe: the worker's channel to the parent,
        # the session database... are none of a mutant's business.
        os.closerange(3, fd)
        os.closerange(fd + 1, 1 << 16)
        sandbox.harden(settings.memory_cap_bytes, settings.file_cap_bytes, workdir)
        if measure:
            passed, failure, seconds, namespace = sandbox.time_reference(prepared)
            calls = True
            if passed:
                calls = not sandbox.run_suite(prepared, prepared.reference_code, broken=True)[0]
            _send(fd, ReferenceRun(prepared.task.task_id, passed, failure, seconds, calls))
            if not passed:
                os._exit(0)
        else:  # a replacement child: warm imports and caches the same way, untimed
            namespace = sandbox.run_suite(prepared, prepared.reference_code)[2]
            _send(fd, "ready")
        fingerprint = sandbox.Fingerprint(sandbox.modules_in(namespace))
        for index in range(first, len(mutants)):
            result = _run_mutant(prepared, mutants[index])
            damaged = fingerprint.damaged()
            _send(fd, (index, result, damaged))
            if damaged:
                break
    except BaseException:
        pass
    os._exit(0)


# --- the parent side of one task ------------------------------------------------------------


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

# A mutant is timed out when it has used its budget in CPU time, or WALL_FACTOR times its
# budget in wall time (a sleeping or blocked mutant uses no CPU). CPU time, not wall time, is
# what keeps verdicts stable on a loaded machine: a child that waits for a core is not late.
WALL_FACTOR = 4.0


def _cpu_seconds(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS
    except (OSError, IndexError, ValueError):
        return None


class _Frames:
    """Reads length-prefixed pickled frames from a child's pipe, with time budgets."""

    TIMEOUT = object()
    EOF = object()

    def __init__(self, fd: int, pid: int) -> None:
        self.fd = fd
        self.pid = pid
        self.buffer = b""
        self.cpu = 0.0  # the child's CPU time at its last frame

    def _frame(self) -> object | None:
        if len(self.buffer) < _HEADER.size:
            return None
        (size,) = _HEADER.unpack_from(self.buffer)
        if len(self.buffer) < _HEADER.size + size:
            return None
        data = self.buffer[_HEADER.size : _HEADER.size + size]
        self.buffer = self.buffer[_HEADER.size + size :]
        try:
            payload, self.cpu = pickle.loads(data)
        except Exception:
            return self.EOF  # a child that wrote garbage is a dead child
        return payload

    def _expired(self, started: float, budget: float) -> bool:
        waited = time.monotonic() - started
        if waited < budget:
            return False
        if waited >= budget * WALL_FACTOR:
            return True
        cpu = _cpu_seconds(self.pid)
        return cpu is None or cpu - self.cpu >= budget

    def read(self, budget: float) -> object:
        started = time.monotonic()
        while True:
            frame = self._frame()
            if frame is not None:
                return frame
            if self._expired(started, budget):
                return self.TIMEOUT
            waited = time.monotonic() - started
            wait = budget - waited if waited < budget else min(0.02, budget)
            ready, _, _ = select.select([self.fd], [], [], max(wait, 0.001))
            if ready:
                chunk = os.read(self.fd, 1 << 16)
                if not chunk:
                    return self.EOF
                self.buffer += chunk


@dataclass
class _Child:
    pid: int
    frames: _Frames

    status: int | None = None
    closed: bool = False

    def stop(self) -> int:
        """Kill (if still running) and reap, once; returns the wait status."""
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.status = os.waitpid(self.pid, 0)[1]
        if not self.closed:
            os.close(self.frames.fd)
            self.closed = True
        return self.status

    def reap(self) -> int:
        """Wait for a child whose pipe closed: it exited, or the mutant killed it."""
        if self.status is None:
            self.status = os.waitpid(self.pid, 0)[1]
        return self.status


def _fork_child(prepared, mutants, first, measure, settings, workdir) -> _Child:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child(write_fd, prepared, mutants, first, measure, settings, workdir)
    os.close(write_fd)
    return _Child(pid, _Frames(read_fd, pid))


def _death_reason(status: int) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        name = signal.Signals(sig).name if sig in signal.valid_signals() else str(sig)
        return f"the process died from signal {name} during the suite"
    return f"the process exited with code {os.waitstatus_to_exitcode(status)} during the suite"


@dataclass
class _Batcher:
    """Sends results to the parent in small batches: per-mutant IPC would dominate."""

    emit: Emit
    pending: list[MutantResult] = field(default_factory=list)
    last: float = field(default_factory=time.monotonic)

    def add(self, result: MutantResult) -> None:
        self.pending.append(result)
        if len(self.pending) >= 64 or time.monotonic() - self.last > 0.25:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.emit(Event("results", tuple(self.pending)))
            self.pending = []
        self.last = time.monotonic()


def run_job(job: TaskJob, settings: ExecSettings, emit: Emit) -> None:
    """Run one task's reference and mutants. Never raises: failures become events."""
    task = job.task
    try:
        prepared = sandbox.prepare(task, settings.seed)
    except (SyntaxError, ValueError) as exc:
        emit(Event("error", (task.task_id, f"task does not compile: {exc}")))
        emit(Event("done", task.task_id))
        return
    batch = _Batcher(emit)
    with tempfile.TemporaryDirectory(prefix="testaudit-") as workdir:
        try:
            _run_job(prepared, job.mutants, settings, workdir, emit, batch)
        except Exception as exc:  # a bug of ours must not take the other tasks down
            emit(Event("error", (task.task_id, f"internal error: {type(exc).__name__}: {exc}")))
        finally:
            batch.flush()
    emit(Event("done", task.task_id))


def _measure_reference(prepared, mutants, settings, workdir) -> tuple[_Child, ReferenceRun]:
    task = prepared.task
    child = _fork_child(prepared, mutants, 0, True, settings, workdir)
    frame = child.frames.read(settings.reference_timeout_s)
    if isinstance(frame, ReferenceRun):
        return child, frame
    status = child.stop()
    if frame is _Frames.TIMEOUT:
        message = f"the reference did not finish its suite in {settings.reference_timeout_s:g} s"
    else:
        message = "the reference crashed: " + _death_reason(status)
    return child, ReferenceRun(task.task_id, False, message, 0.0)


def _run_job(prepared, mutants, settings, workdir, emit, batch) -> None:
    child, reference = _measure_reference(prepared, mutants, settings, workdir)
    emit(Event("reference", reference))
    if not reference.passed:
        child.stop()
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
        index = _drain(child, mutants, index, budget, batch, second_try if retry else None)
        child.stop()
        if index >= len(mutants):
            return
        child = _fork_child(prepared, mutants, index, False, settings, workdir)
        if child.frames.read(settings.reference_timeout_s) != "ready":
            # A replacement child that cannot even rerun the reference: give up on the rest.
            for mutant in mutants[index:]:
                batch.add(MutantResult(mutant.id, mutant.task_id, MutantStatus.ERROR,
                                       "could not restart the sandbox for this task"))
            child.stop()
            return


def _drain(child: _Child, mutants, index: int, budget: float, batch: _Batcher,
           second_try: set[str] | None) -> int:
    """Collect verdicts from one child until it is done, times out, dies or is damaged.

    With `second_try` (a slow task), a mutant that times out is tried again by a fresh child
    (the index returned is its own) with twice the budget; the set holds those mutants.
    """
    while index < len(mutants):
        mutant = mutants[index]
        retrying = second_try is not None and mutant.id in second_try
        limit = budget * 2 if retrying else budget
        frame = child.frames.read(limit)
        if frame is _Frames.TIMEOUT:
            if second_try is not None and not retrying:
                second_try.add(mutant.id)
                return index  # a fresh child tries it again, with twice the budget
            batch.add(MutantResult(mutant.id, mutant.task_id, MutantStatus.TIMEOUT,
                                   f"exceeded its time budget of {limit:.3g} s", limit))
            return index + 1
        if frame is _Frames.EOF:
            status = child.reap()
            batch.add(MutantResult(mutant.id, mutant.task_id, MutantStatus.KILLED,
                                   _death_reason(status)))
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


# --- executors --------------------------------------------------------------------------


class Executor:
    """Runs task jobs and yields their events. Subclasses: SerialExecutor, PoolExecutor."""

    def run(self, jobs: list[TaskJob]) -> Iterator[Event]:  # pragma: no cover - interface
        raise NotImplementedError

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


class SerialExecutor(Executor):
    """Runs jobs in this process (still forking a child per job): for --workers 1 and tests."""

    def __init__(self, settings: ExecSettings) -> None:
        self.settings = settings

    def run(self, jobs: list[TaskJob]) -> Iterator[Event]:
        for job in jobs:
            events: list[Event] = []
            run_job(job, self.settings, events.append)
            yield from events


@contextmanager
def hash_seed(value: str) -> Iterator[None]:
    """Spawned workers read PYTHONHASHSEED at start: fixing it makes set order repeatable."""
    old = os.environ.get("PYTHONHASHSEED")
    os.environ["PYTHONHASHSEED"] = value
    try:
        yield
    finally:
        if old is None:
            del os.environ["PYTHONHASHSEED"]
        else:
            os.environ["PYTHONHASHSEED"] = old
