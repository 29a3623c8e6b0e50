"""A pool of spawned worker processes (multiprocess) that run task jobs in parallel."""

from __future__ import annotations

import os
import signal
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import multiprocess
from multiprocess.connection import wait

from testaudit import sandbox
from testaudit.execute import Event, ExecSettings, Executor, TaskJob, hash_seed, run_job
from testaudit.records import MutantResult, MutantStatus


def worker_main(conn, settings: ExecSettings) -> None:
    """A worker: receive a job, run it, stream its events back; until told to stop."""
    sandbox.die_with_parent()
    # Ctrl-C reaches the whole process group: the parent handles it and stops us cleanly, so a
    # worker must not die mid-frame with a traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if os.getppid() == 1:  # the parent died before we asked to die with it
        return
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        if isinstance(job, TaskJob):
            run_job(job, settings, conn.send)
        else:  # another kind of job (triage): job.run never raises and ends with "done"
            job.run(settings, conn.send)


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


@dataclass
class _Worker:
    process: object
    conn: object
    job: TaskJob | None = None
    done_ids: set[str] = field(default_factory=set)


class PoolExecutor(Executor):
    """Runs jobs on `workers` spawned processes; a worker that dies is replaced.

    Workers are spawned, not forked, so that they start with PYTHONHASHSEED fixed (set
    iteration order then matches between runs) and without this process's state.
    """

    def __init__(self, settings: ExecSettings, workers: int) -> None:
        self.settings = settings
        self.size = max(1, workers)
        self.context = multiprocess.get_context("spawn")
        self.workers: list[_Worker] = []
        self.source: Iterator | None = None  # jobs not yet planned
        self.singles: set[int] = set()  # ids of one-mutant retry jobs
        self.keep: list[TaskJob] = []  # holds retry jobs alive so their ids stay unique

    def _start(self) -> _Worker:
        parent, child = self.context.Pipe()
        # Spawned with SIGINT ignored: an ignored signal stays ignored across exec and Python
        # then installs no KeyboardInterrupt handler, so Ctrl-C cannot hit a worker that is
        # still importing (the parent stops the workers itself).
        with hash_seed(str(self.settings.seed)), sigint_handler(signal.SIG_IGN):
            process = self.context.Process(
                target=worker_main, args=(child, self.settings), daemon=True
            )
            process.start()
        child.close()
        return _Worker(process, parent)

    def __enter__(self) -> PoolExecutor:
        # Set early so that __exit__ can clean up even if a later start fails.
        self.workers = []
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
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(timeout=2)
            worker.conn.close()
        self.workers = []

    def run(self, jobs: Iterable[TaskJob]) -> Iterator[Event]:
        """Run jobs, pulled lazily: while workers are busy, the next jobs are planned ahead."""
        self.source = iter(jobs)
        queue: deque = deque()
        for worker in self.workers:
            self._dispatch(worker, queue)
        while any(w.job is not None for w in self.workers):
            busy = {w.conn: w for w in self.workers if w.job is not None}
            ahead = len(queue) < len(self.workers) and self.source is not None
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
                if event.kind == "results":
                    worker.done_ids.update(r.mutant_id for r in event.payload)
                yield event
                if event.kind == "done":
                    worker.job = None
                    self._dispatch(worker, queue)
            for worker in list(self.workers):
                if worker.job is not None and not worker.process.is_alive() and not worker.conn.poll():
                    yield from self._replace(worker, queue)

    def _prefetch(self, queue: deque) -> None:
        job = next(self.source, None) if self.source is not None else None
        if job is None:
            self.source = None
        else:
            queue.append(job)

    def _dispatch(self, worker: _Worker, queue: deque) -> None:
        if not queue:
            self._prefetch(queue)
        if queue:
            worker.job = queue.popleft()
            worker.done_ids = set()
            worker.conn.send(worker.job)

    def _replace(self, worker: _Worker, queue: deque) -> Iterator[Event]:
        """A worker died mid-job (a mutant killed it): retry the rest of the job once."""
        job = worker.job
        worker.process.join(timeout=1)
        worker.conn.close()
        self.workers.remove(worker)
        fresh = self._start()
        self.workers.append(fresh)
        if job is not None:
            yield from self._salvage(job, worker.done_ids, queue)
        self._dispatch(fresh, queue)

    def _salvage(self, job: TaskJob, done_ids: set[str], queue: deque) -> Iterator[Event]:
        if not isinstance(job, TaskJob):
            # A triage job runs task code only in forked children: its worker dying is our bug
            # or the machine's; report it for the task rather than retry.
            yield Event("triage_error", (job.task.task_id, "the worker process died"))
            yield Event("done", job.task.task_id)
            return
        rest = tuple(m for m in job.mutants if m.id not in done_ids)
        if id(job) in self.singles:
            # Alone in its job, this mutant is the one that kills workers.
            for culprit in rest:
                yield Event("results", (MutantResult(
                    culprit.id, culprit.task_id, MutantStatus.ERROR,
                    "the mutant killed the worker process that ran it"),))
            yield Event("done", job.task.task_id)
        elif rest:
            # Unknown culprit: rerun what is left, one mutant per job, to isolate it.
            for mutant in reversed(rest):
                single = TaskJob(job.task, (mutant,))
                self.singles.add(id(single))
                self.keep.append(single)
                queue.appendleft(single)
        else:
            yield Event("done", job.task.task_id)
