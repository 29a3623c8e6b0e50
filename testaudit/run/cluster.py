"""Run jobs on a Dask cluster (`--dask ADDRESS`): the local pool's Executor, over many machines.

Dask is an engine that exists (schedulers, worker deaths, SLURM and Kubernetes deployments):
we do not write a scheduler of our own. The unit of work stays a job (TaskJob, TaskPart,
TriageJob), never a mutant: each job is one Dask task, and its events come back to this
process, the only writer of the session store, when the task ends. A Split's parts are
submitted by this process as new tasks, so that other workers run them.

On a Dask worker, a job runs in a `_Slot`: a thread of its own holding a PoolExecutor of one
spawned testaudit process, which forks the sandboxes as the local pool's workers do. Dask's
workers are threaded (forking from them is unsafe; spawning is fork+exec) and daemonic, and
the slot's thread lives as long as its process: Linux's PR_SET_PDEATHSIG (which that process
sets) fires when the *thread* that spawned it ends, and Dask's task threads may come and go.
The slots belong to a WorkerPlugin that this process registers for the session and
unregisters at its end, which stops them.

This module imports Dask (it is an optional extra): only `pipeline` and `cli` import it, and
only when --dask is given.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import pickle
import queue
import re
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from testaudit.config import ExecSettings
from testaudit.errors import UsageError
from testaudit.records import (
    Event,
    Incident,
    JobDone,
    JobFailed,
    MutantResult,
    MutantStatus,
    ResultBatch,
    Split,
    TaskJob,
    TaskPart,
)
from testaudit.run.pool import Cost, Handler, PoolExecutor
from testaudit.sandbox import reaper

try:
    import distributed
except ImportError:  # the extra is not installed: check_address says how to get it
    distributed = None

INSTALL = "pip install 'testaudit[dask]'"
# `local:N`, or a scheduler's address as Dask spells it: [scheme://]host:port.
_LOCAL = re.compile(r"local:(\d+)")
_REMOTE = re.compile(r"(?:(?:tcp|tls|ws|wss|ucx)://)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})")


def check_address(address: str) -> int | str:
    """`local:N` -> N; a scheduler's address -> itself. UsageError when it is neither, or when
    Dask is not installed (asked before the audit starts, so that it fails at once)."""
    local = _LOCAL.fullmatch(address)
    remote = _REMOTE.fullmatch(address)
    if local is not None and int(local.group(1)) < 1 or local is None and (
            remote is None or not 0 < int(remote.group(2)) < 65536):
        raise UsageError(f"--dask {address}: not an address: give tcp://HOST:PORT (a Dask "
                         f"scheduler's) or local:N (a cluster of N workers on this machine)")
    if distributed is None:
        raise UsageError(f"--dask needs Dask, which is not installed: {INSTALL}")
    return int(local.group(1)) if local is not None else address


# --- the session: one client (and, for local:N, one cluster) per address, shared ------------


@dataclass
class _Session:
    client: Any  # distributed.Client
    cluster: Any  # distributed.LocalCluster for local:N, else None
    plugin: str  # our WorkerPlugin's name on this cluster: the slots of this session
    users: int = 0  # executors using it now
    holds: int = 0  # callers keeping it open between executors (pipeline.run, strengthen)


_SESSIONS: dict[str, _Session] = {}
_HOLDS: dict[str, int] = {}


@contextmanager
def kept(address: str) -> Iterator[None]:
    """Keep the session of `address` open for the block once an executor opened it: an
    audit's run and triage stages, and strengthen's audits, share one cluster (a LocalCluster
    takes seconds to start). Opens nothing itself: a fully cached audit needs no cluster."""
    _HOLDS[address] = _HOLDS.get(address, 0) + 1
    try:
        yield
    finally:
        _HOLDS[address] -= 1
        if not _HOLDS[address]:
            del _HOLDS[address]
            opened = _SESSIONS.get(address)
            if opened is not None and not opened.users:
                _close(_SESSIONS.pop(address))


@contextmanager
def _session(address: str) -> Iterator[_Session]:
    opened = _SESSIONS.get(address)
    if opened is None:
        opened = _SESSIONS[address] = _open(address)
    opened.users += 1
    try:
        yield opened
    finally:
        opened.users -= 1
        if not opened.users and not _HOLDS.get(address):
            _close(_SESSIONS.pop(address))


def _open(address: str) -> _Session:
    where = check_address(address)
    cluster = None
    try:
        if isinstance(where, int):
            # Over TCP on the loopback, as a real cluster talks; no dashboard (no port to
            # collide with). memory_limit=0: Dask sees only its worker's own memory, never the
            # sandboxes' (each capped by us, --memory-cap), so its limit would guard nothing.
            cluster = distributed.LocalCluster(
                n_workers=where, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address=None, memory_limit=0, silence_logs=logging.ERROR)
            client = distributed.Client(cluster)
        else:
            client = distributed.Client(address)
    except Exception as exc:
        if cluster is not None:
            cluster.close()
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UsageError(f"--dask {address}: cannot reach a Dask scheduler: {first}") from exc
    name = f"testaudit-{uuid.uuid4().hex[:12]}"
    try:
        client.register_plugin(_Slots(), name=name)
    except Exception:
        _close(_Session(client, cluster, name))
        raise
    return _Session(client, cluster, name)


def _close(opened: _Session) -> None:
    """Stop the session's slots on every worker (the plugin's teardown), then disconnect."""
    try:
        opened.client.unregister_worker_plugin(opened.plugin)
    except Exception:  # a worker gone meanwhile: its slots went with it
        pass
    opened.client.close()
    if opened.cluster is not None:
        opened.cluster.close()


# --- the worker side ------------------------------------------------------------------------

# A slot nobody used for this long stops its process: a session that ended without
# unregistering its plugin (testaudit killed) leaves no idle process behind for long.
IDLE_S = 300.0


class _Slot:
    """A thread on a Dask worker that runs jobs, one at a time, through a PoolExecutor of one
    spawned process (its own: spawned from this long-lived thread)."""

    def __init__(self, settings: ExecSettings, handler: Handler, owner: _Slots) -> None:
        self.settings, self.handler, self.owner = settings, handler, owner
        self.inbox: queue.SimpleQueue = queue.SimpleQueue()
        self.pool: PoolExecutor | None = None
        self.stopping = False
        self.thread = threading.Thread(target=self._main, name="testaudit-slot", daemon=True)
        self.thread.start()

    def run(self, job: Any, on_event) -> list[Event]:
        reply: queue.SimpleQueue = queue.SimpleQueue()
        self.inbox.put((job, on_event, reply))
        while True:
            try:
                outcome = reply.get(timeout=1.0)
            except queue.Empty:
                if self.thread.is_alive():
                    continue
                raise RuntimeError("testaudit's process on this Dask worker stopped") from None
            if isinstance(outcome, BaseException):
                raise outcome
            return outcome

    def _main(self) -> None:
        try:
            with PoolExecutor(self.settings, 1, self.handler, keep_splits=False) as pool:
                self.pool = pool
                while not self.stopping:
                    item = self._next()
                    if item is None:
                        return
                    job, on_event, reply = item
                    try:
                        reply.put(self._run(pool, job, on_event))
                    except BaseException as exc:  # our bug: the task fails with it
                        reply.put(exc)
        finally:
            self.pool = None
            self.owner.forget(self)

    def _next(self) -> Any:
        while True:
            try:
                return self.inbox.get(timeout=IDLE_S)
            except queue.Empty:
                if self.owner.retire(self):
                    return None

    def _run(self, pool: PoolExecutor, job: Any, on_event) -> list[Event]:
        events: list[Event] = []
        for event in pool.run([job]):
            events.append(event)
            on_event(event)
            if self.stopping:  # the session ended: its job's result has no reader
                break
        return events

    def stop(self) -> None:
        self.stopping = True
        self.inbox.put(None)
        pool = self.pool
        if pool is not None:  # busy: end its job now (the pool's exit kills what it runs)
            for worker in list(pool.workers):
                reaper.kill_tree(worker.process.pid)


class _Slots(distributed.WorkerPlugin if distributed is not None else object):
    """A session's slots on one Dask worker: one per job running there at once (one with
    `--nthreads 1`), made on first use and kept, so that a process starts once per worker."""

    def setup(self, worker: Any) -> None:
        self.lock = threading.Lock()
        self.free: dict[tuple, list[_Slot]] = {}
        self.slots: list[_Slot] = []

    def teardown(self, worker: Any) -> None:
        with self.lock:
            slots, self.slots, self.free = self.slots, [], {}
        for slot in slots:
            slot.stop()
        for slot in slots:
            slot.thread.join(timeout=5.0)

    def run(self, job: Any, settings: ExecSettings, handler: Handler, on_event) -> list[Event]:
        key = (handler, settings)
        with self.lock:
            free = self.free.setdefault(key, [])
            slot = free.pop() if free else None
            if slot is None:
                slot = _Slot(settings, handler, self)
                self.slots.append(slot)
        try:
            return slot.run(job, on_event)
        finally:
            with self.lock:
                if slot in self.slots and slot.thread.is_alive():
                    self.free.setdefault(key, []).append(slot)

    def retire(self, slot: _Slot) -> bool:
        """An idle slot's request to stop: granted unless a job has just taken it."""
        with self.lock:
            free = self.free.get((slot.handler, slot.settings), [])
            if slot not in free:
                return False
            free.remove(slot)
            self.slots.remove(slot)
            return True

    def forget(self, slot: _Slot) -> None:
        with self.lock:
            if slot in self.slots:
                self.slots.remove(slot)
            free = self.free.get((slot.handler, slot.settings), [])
            if slot in free:
                free.remove(slot)


def _run_on_worker(job: Any, settings: ExecSettings, handler: Handler, plugin: str, topic: str,
                   token: int) -> list[Event]:
    """The Dask task: run one job in this worker's slot, return its events. A Split is also
    sent at once (an event on `topic`), so that its parts start elsewhere while this job runs
    its own part; the returned events hold it too, in case that message is lost."""
    worker = distributed.get_worker()
    slots = worker.plugins.get(plugin)
    if slots is None:
        raise RuntimeError(f"this Dask worker lacks testaudit's plugin {plugin}")

    def on_event(event: Event) -> None:
        if isinstance(event, Split):
            # A message must be msgpack data: the parts as mutant ids (the parent has the
            # job, its task and mutants), pickled with the reference they share.
            parts = [(tuple(m.id for m in p.mutants), p.part, p.parts, p.estimated_seconds,
                      p.reference) for p in event.jobs]
            try:
                worker.log_event(topic, pickle.dumps((token, parts)))
            except Exception:  # the final events carry the Split anyway
                pass

    return slots.run(job, settings, handler, on_event)


# --- the parent side ------------------------------------------------------------------------


@dataclass
class _Flight:
    """A job submitted to the cluster, until its events are in."""

    job: Any
    future: Any
    handed: set[str] = field(default_factory=set)  # mutant ids its Splits gave to other jobs


class DaskExecutor:
    """Runs jobs on a Dask cluster; events come back job by job, into this process only.

    Like PoolExecutor: jobs are pulled lazily, planned ahead while the cluster is busy, and
    with a cost model the costliest planned job goes next. A little more than the cluster's
    threads' worth of jobs is in flight, so that a worker that finishes finds its next job at
    the scheduler without waiting for us.
    """

    def __init__(self, address: str, settings: ExecSettings, handler: Handler,
                 cost: Cost | None = None) -> None:
        self.address = address
        self.settings = settings
        self.handler = handler
        self.cost = cost
        self.flights: dict[int, _Flight] = {}
        self.tokens = itertools.count()
        # Finished jobs and Split messages, both put here from the client's thread: one wait.
        self.inbox: queue.SimpleQueue = queue.SimpleQueue()
        self.topic = f"testaudit-split-{uuid.uuid4().hex}"
        self.source: Iterator | None = None
        self._threads, self._counted = 1, 0.0
        self._context: Any = None
        self.session: _Session | None = None

    def __enter__(self) -> DaskExecutor:
        self._context = _session(self.address)
        self.session = self._context.__enter__()
        self.session.client.subscribe_topic(self.topic, lambda event: self.inbox.put(("split", event[1])))
        return self

    def __exit__(self, *exc: object) -> None:
        session, self.session = self.session, None
        if session is None:
            return
        try:
            if self.flights:  # interrupted: what still runs has no reader (its slot stops it)
                session.client.cancel([f.future for f in self.flights.values()], force=True)
                self.flights = {}
            session.client.unsubscribe_topic(self.topic)
        finally:
            self._context.__exit__(*exc)

    def run(self, jobs: Iterable[Any]) -> Iterator[Event]:
        self.source = iter(jobs)
        planned: deque = deque()
        while True:
            self._fill(planned)
            if not self.flights:
                return
            ahead = self.source is not None and (self.cost is not None or len(planned) < self._capacity())
            try:
                kind, item = self.inbox.get_nowait() if ahead else self.inbox.get(timeout=1.0)
            except queue.Empty:
                if ahead:
                    self._prefetch(planned)
                continue
            if kind == "done":
                yield from self._finished(self.flights.pop(item))
            else:
                yield from self._split_message(item)

    def _capacity(self) -> int:
        """Jobs to keep in flight: the cluster's threads, twice (asked every few seconds:
        workers come and go)."""
        if time.monotonic() - self._counted > 5.0:
            try:
                self._threads = max(1, sum(self.session.client.nthreads().values()))
            except Exception:
                pass
            self._counted = time.monotonic()
        return 2 * self._threads

    def _fill(self, planned: deque) -> None:
        while len(self.flights) < self._capacity():
            if not planned:
                self._prefetch(planned)
            if not planned:
                return
            self._submit(self._next(planned))

    def _prefetch(self, planned: deque) -> None:
        job = next(self.source, None) if self.source is not None else None
        if job is None:
            self.source = None
        else:
            planned.append(job)

    def _next(self, planned: deque) -> Any:
        if self.cost is None:
            return planned.popleft()
        cost = self.cost
        best = max(range(len(planned)), key=lambda i: (cost(planned[i]), -i))
        job = planned[best]
        del planned[best]
        return job

    def _submit(self, job: Any) -> None:
        token = next(self.tokens)
        session = self.session
        # Costlier first among the jobs waiting at the scheduler too (Dask runs higher first).
        priority = round(self.cost(job) * 1e6) if self.cost is not None else 0
        future = session.client.submit(
            _run_on_worker, job, self.settings, self.handler, session.plugin, self.topic, token,
            key=f"testaudit-{type(job).__name__}-{uuid.uuid4().hex}", pure=False, priority=priority)
        self.flights[token] = _Flight(job, future)
        future.add_done_callback(lambda _future: self.inbox.put(("done", token)))

    def _finished(self, flight: _Flight) -> Iterator[Event]:
        future = flight.future
        try:
            events = future.result() if future.status == "finished" else None
        except Exception:  # its result could not be read back
            events = None
        if events is None:
            yield from self._failed(flight)
            return
        for event in events:
            if isinstance(event, Split):
                event = self._handed(flight, event)
                if event is None:
                    continue
            yield event

    def _split_message(self, message: bytes) -> Iterator[Event]:
        token, parts = pickle.loads(message)
        flight = self.flights.get(token)
        if flight is None:  # already finished: its events held the Split
            return
        job = flight.job
        by_id = {m.id: m for m in job.mutants}
        split = Split(job.task.task_id, tuple(
            TaskPart(job.task, tuple(by_id[i] for i in ids if i in by_id), reference, part, parts_,
                     seconds)
            for ids, part, parts_, seconds, reference in parts))
        event = self._handed(flight, split)
        if event is not None:
            yield event

    def _handed(self, flight: _Flight, split: Split) -> Split | None:
        """Submit a Split's parts, but not mutants an earlier Split of the same job handed out:
        a job whose worker died runs again and may split again (its reference timed anew,
        perhaps into other parts), and its message and its final events both hold its Split.
        A mutant both in the rerun's own part and in an earlier part runs twice, to the same
        verdict; none is left out."""
        parts = []
        for part in split.jobs:
            rest = tuple(m for m in part.mutants if m.id not in flight.handed)
            if not rest:
                continue
            flight.handed.update(m.id for m in rest)
            share = len(rest) / len(part.mutants)
            parts.append(dataclasses.replace(part, mutants=rest,
                                             estimated_seconds=part.estimated_seconds * share))
        for part in parts:
            self._submit(part)
        return Split(split.task_id, tuple(parts)) if parts else None

    def _failed(self, flight: _Flight) -> Iterator[Event]:
        """A job the cluster could not run: its Dask workers died past the scheduler's
        allowed-failures (it was retried on others meanwhile), or it raised (a bug of ours).
        Its mutants not handed to other jobs are `error` with the reason; a triage job fails
        for its task, as PoolExecutor._salvage does."""
        job, future = flight.job, flight.future
        exc, trace = None, None
        if future.status == "error":
            exc = future.exception()
            trace = "".join(traceback.format_exception(type(exc), exc, future.traceback()))
        killed = distributed is not None and isinstance(exc, distributed.KilledWorker)
        if killed:
            reason = (f"the Dask workers that ran its job died ({exc.allowed_failures + 1} times; "
                      f"distributed.scheduler.allowed-failures)")
        elif exc is not None:
            first = (str(exc).strip().splitlines() or [""])[0][:200]
            reason = f"its job failed on the Dask cluster: {type(exc).__name__}: {first}"
        else:
            reason = f"its job ended on the Dask cluster without a result ({future.status})"
        task_id = job.task.task_id
        if isinstance(job, TaskJob):
            rest = tuple(m for m in job.mutants if m.id not in flight.handed)
            if rest:
                yield ResultBatch(tuple(MutantResult(m.id, m.task_id, MutantStatus.ERROR, f"not run: {reason}")
                                        for m in rest))
            if trace is not None and not killed:
                yield Incident(task_id, reason, trace)
            yield JobDone(task_id)
            return
        yield JobFailed(task_id, reason, trace if not killed else None)
        yield JobDone(task_id)


__all__ = ["DaskExecutor", "INSTALL", "check_address", "kept"]
