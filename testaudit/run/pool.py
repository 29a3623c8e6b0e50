"""Run jobs in parallel on spawned worker processes (multiprocess), or serially in this one.

Generic over the job: a handler `handle(job, settings, emit)` does the work in the worker and
emits records (records.Event), ending with JobDone. The run stage's TaskJobs and triage's
TriageJobs both run here; only TaskJobs are split when a worker dies, since their mutants run in
the worker's children and one of them may be the culprit.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import multiprocess
from multiprocess import resource_tracker
from multiprocess.connection import wait

from testaudit.config import ExecSettings
from testaudit.records import (
    Event,
    JobDone,
    JobFailed,
    MutantResult,
    MutantStatus,
    ReferenceRun,
    ResultBatch,
    Split,
    TaskJob,
)
from testaudit.sandbox import isolate, reaper, scratch
from testaudit.sandbox.child import die_with_parent

Emit = Callable[[Event], None]
# A module-level function, so that it pickles by name into spawned workers.
Handler = Callable[[Any, ExecSettings, Emit], None]
# A job's estimated cost (any unit): with one, the pool plans every job ahead and runs the
# costliest first. Module-level, like Handler.
Cost = Callable[[Any], float]


class Executor(Protocol):
    """Runs jobs and yields their events; a context manager that owns its workers."""

    def run(self, jobs: Iterable[Any]) -> Iterator[Event]: ...
    def __enter__(self) -> Executor: ...
    def __exit__(self, *exc: object) -> None: ...


def worker_main(conn, settings: ExecSettings, handler: Handler, scratch_dir: str | None = None) -> None:
    """A worker: receive a job, run it, stream its events back; until told to stop.

    `scratch_dir`: the pool's scratch folder, where every temporary folder of ours goes.
    """
    die_with_parent()
    isolate.protect_self()  # our /proc/<pid>/fd (the audit's stderr) out of task code's reach
    if scratch_dir is not None:
        import tempfile

        tempfile.tempdir = scratch_dir
    # The parent stops us itself (a message, else SIGKILL): a signal from task code (its
    # parent's pid, its parent's group) must not end a worker mid-job. We were spawned with
    # both blocked (PoolExecutor._start): ignore them, then unblock, so a pending one is dropped.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _DEFERRED)
    # A process group of our own: a sandbox child's killpg(getpgid(getppid())) reaches this
    # worker only, not testaudit (Ctrl-C on the terminal reaches testaudit, which stops us).
    try:
        os.setpgid(0, 0)
    except OSError:
        pass
    reaper.become_subreaper()  # orphans of task code become ours: killed after each job
    if os.getppid() == 1:  # the parent died before we asked to die with it
        return
    import coverage  # noqa: F401 - once per worker, not once per forked child (run/coverage.py)

    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        handler(job, settings, conn.send)
        reaper.kill_orphans()  # our sandbox children are reaped: anything left is a task's


_DEFERRED = {signal.SIGINT, signal.SIGTERM}


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Block SIGINT and SIGTERM for the block: one that arrives meanwhile is delivered (not
    lost) when it ends. Children started inside inherit the mask (worker_main unblocks)."""
    try:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, _DEFERRED)
    except (AttributeError, OSError):  # no POSIX signal masks
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextmanager
def sigint_handler(handler) -> Iterator[None]:
    """Handle SIGINT with `handler` for the duration of the block, then restore the old one."""
    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread: signals cannot reach us here anyway
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


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


@dataclass
class _Worker:
    process: object
    conn: object
    job: Any = None
    done_ids: set[str] = field(default_factory=set)
    heard: float = field(default_factory=time.monotonic)  # when it last sent an event
    reference_s: float | None = None  # its job's reference suite time, once reported


@dataclass(frozen=True)
class _Single:
    """A one-mutant retry of a TaskJob whose worker died: if it dies again, the mutant did it."""

    job: TaskJob


class PoolExecutor:
    """Runs jobs on `workers` spawned processes; a worker that dies is replaced.

    Workers are spawned, not forked, so that they start with PYTHONHASHSEED fixed (set
    iteration order then matches between runs) and without this process's state.
    """

    def __init__(self, settings: ExecSettings, workers: int, handler: Handler,
                 cost: Cost | None = None, keep_splits: bool = True) -> None:
        self.settings = settings
        # False (a Dask worker's inner pool, run/dask.py): a Split's parts are not run here but
        # only reported, so that the caller spreads them over other machines.
        self.keep_splits = keep_splits
        self.size = max(1, workers)
        self.handler = handler
        # With a cost model, the jobs are all planned ahead while the workers are busy (planning
        # is the parent's idle work) and the costliest queued job goes next: a big job started
        # last would leave the other workers idle at the end. Without one: in order, planned
        # just ahead of the workers.
        self.cost = cost
        self.context = multiprocess.get_context("spawn")
        self.workers: list[_Worker] = []
        self.source: Iterator | None = None  # jobs not yet planned
        self.scratch: str | None = None  # the workers' temporary folders: see sandbox/scratch.py

    def _start(self) -> _Worker:
        parent, child = self.context.Pipe()
        # Spawned with SIGINT and SIGTERM blocked: the mask survives exec, so a Ctrl-C cannot
        # hit a worker that is still importing (worker_main ignores them, then unblocks), and
        # one that reaches us meanwhile is held until the spawn is done, not lost.
        # The resource tracker first: starting it unblocks both signals, whatever the mask was.
        resource_tracker.ensure_running()
        with hash_seed(str(self.settings.seed)), signals_deferred():
            process = self.context.Process(
                target=worker_main, args=(child, self.settings, self.handler, self.scratch), daemon=True
            )
            process.start()
        child.close()
        return _Worker(process, parent)

    def __enter__(self) -> PoolExecutor:
        # Set early so that __exit__ can clean up even if a later start fails.
        self.workers = []
        self.scratch = scratch.make()
        try:
            for _ in range(self.size):
                self.workers.append(self._start())
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for worker in self.workers:
            try:
                worker.conn.send(None)
            except (OSError, ValueError):
                pass
        for worker in self.workers:
            worker.process.join(timeout=2)
            if worker.process.is_alive():  # with whatever it still runs: nothing outlives us
                reaper.kill_tree(worker.process.pid)
                worker.process.join(timeout=2)
            worker.conn.close()
        self.workers = []
        if self.scratch is not None:  # what killed workers' jobs left behind goes with it
            scratch.remove(self.scratch)
            self.scratch = None

    def run(self, jobs: Iterable[Any]) -> Iterator[Event]:
        """Run jobs, pulled lazily: while workers are busy, the next jobs are planned ahead."""
        self.source = iter(jobs)
        queue: deque = deque()
        for worker in self.workers:
            self._dispatch(worker, queue)
        while any(w.job is not None for w in self.workers):
            busy = {w.conn: w for w in self.workers if w.job is not None}
            ahead = self.source is not None and (self.cost is not None or len(queue) < len(self.workers))
            ready = wait(list(busy), timeout=0 if ahead else 1.0)
            if not ready and ahead:
                self._prefetch(queue)
                continue
            for conn in ready:
                worker = busy[conn]
                try:
                    event = conn.recv()
                except (EOFError, OSError):
                    yield from self._replace(worker, queue)
                    continue
                worker.heard = time.monotonic()
                self._note(worker, event, queue)
                yield event
                if isinstance(event, JobDone):
                    worker.job = None
                    self._dispatch(worker, queue)
            for worker in list(self.workers):
                if worker.job is not None and not worker.process.is_alive() and not worker.conn.poll():
                    yield from self._replace(worker, queue)
                elif worker.job is not None and self._silent(worker):
                    # Stopped (SIGSTOP) or stuck: it and all it runs go, as after a death.
                    reaper.kill_tree(worker.process.pid)
                    yield from self._replace(worker, queue, "stopped")

    def _note(self, worker: _Worker, event: Event, queue: deque) -> None:
        """What the pool keeps of a worker's event: what its job has done, and new jobs."""
        if isinstance(event, ResultBatch):
            worker.done_ids.update(r.mutant_id for r in event.results)
        elif isinstance(event, ReferenceRun):
            worker.reference_s = event.suite_seconds
        elif isinstance(event, Split):
            # The parts are other jobs now: if this worker dies, they are not its to retry.
            for part in event.jobs:
                worker.done_ids.update(m.id for m in part.mutants)
            if self.keep_splits:
                queue.extend(event.jobs)

    def _silent(self, worker: _Worker) -> bool:
        silence = time.monotonic() - worker.heard
        return silence > self.settings.silence_bound(worker.reference_s) and not worker.conn.poll()

    def _prefetch(self, queue: deque) -> None:
        job = next(self.source, None) if self.source is not None else None
        if job is None:
            self.source = None
        else:
            queue.append(job)

    def _next(self, queue: deque) -> Any:
        """The next job: retries of a dead worker's job first, then the costliest (the earliest
        queued among equals), or the earliest without a cost model."""
        if self.cost is None or isinstance(queue[0], _Single):
            return queue.popleft()
        cost = self.cost
        best = max(range(len(queue)), key=lambda i: (isinstance(queue[i], _Single), cost(queue[i]), -i))
        job = queue[best]
        del queue[best]
        return job

    def _dispatch(self, worker: _Worker, queue: deque) -> None:
        if not queue:
            self._prefetch(queue)
        if queue:
            worker.job = self._next(queue)
            worker.done_ids = set()
            worker.heard, worker.reference_s = time.monotonic(), None
            worker.conn.send(worker.job.job if isinstance(worker.job, _Single) else worker.job)

    def _replace(self, worker: _Worker, queue: deque, how: str = "killed") -> Iterator[Event]:
        """A worker died mid-job (a mutant killed it) or was killed for its silence (a mutant
        stopped it): retry the rest of the job once."""
        job = worker.job
        worker.process.join(timeout=1)
        worker.conn.close()
        self.workers.remove(worker)
        fresh = self._start()
        self.workers.append(fresh)
        if job is not None:
            yield from self._salvage(job, worker.done_ids, queue, how)
        self._dispatch(fresh, queue)

    def _salvage(self, job: Any, done_ids: set[str], queue: deque, how: str = "killed") -> Iterator[Event]:
        if isinstance(job, _Single):
            # Alone in its job, this mutant is the one that kills (or stops) workers.
            for culprit in job.job.mutants:
                if culprit.id not in done_ids:
                    yield ResultBatch((MutantResult(
                        culprit.id, culprit.task_id, MutantStatus.ERROR,
                        f"the mutant {how} the worker process that ran it"),))
            yield JobDone(job.job.task_id)
            return
        if not isinstance(job, TaskJob):
            # Other jobs (triage) run task code only in forked children: their worker dying is
            # our bug or the machine's; report it for the task rather than retry.
            what = "died" if how == "killed" else "stopped answering"
            yield JobFailed(job.task_id, f"the worker process {what}")
            yield JobDone(job.task_id)
            return
        rest = tuple(m for m in job.mutants if m.id not in done_ids)
        if rest:
            # Unknown culprit: rerun what is left, one mutant per job, to isolate it.
            for mutant in reversed(rest):  # a TaskPart stays one: its reference is timed
                queue.appendleft(_Single(dataclasses.replace(job, mutants=(mutant,))))
        else:
            yield JobDone(job.task_id)


class SerialExecutor:
    """Runs jobs in this process (still forking a child per job): for tests and callers that
    need no pool. The audit itself always uses PoolExecutor, for its fixed hash seed."""

    def __init__(self, settings: ExecSettings, handler: Handler) -> None:
        self.settings = settings
        self.handler = handler

    def __enter__(self) -> SerialExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def run(self, jobs: Iterable[Any]) -> Iterator[Event]:
        queue = deque(jobs)
        while queue:
            events: list[Event] = []
            self.handler(queue.popleft(), self.settings, events.append)
            for event in events:
                if isinstance(event, Split):  # a split task's parts run next, as in a pool
                    queue.extendleft(reversed(event.jobs))
            yield from events
