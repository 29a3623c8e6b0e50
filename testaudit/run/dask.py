"""Run jobs on a Dask cluster (`--dask ADDRESS`): one job per Dask task, its events sent back whole.

Dask is imported here only, and only when a DaskExecutor is entered: without `--dask`, testaudit
neither needs nor loads it.

On each Dask worker a job runs through a long-lived PoolExecutor of one spawned process, the same
worker a local audit uses (fixed hash seed, sandbox children forked from a single-threaded
process, never from the threaded Dask worker; a mutant that kills it is isolated there, with
one-mutant retries). The parent collects each job's events in order and stays the only writer of
the session store. A Split's parts come back to the parent, which submits them as jobs of their
own, so that a big task spreads over the cluster. A job whose Dask worker dies is rerun by Dask
elsewhere; one that still fails gets error verdicts for its mutants (or a JobFailed for a triage
job): nothing waits for it.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from testaudit.config import ExecSettings
from testaudit.errors import UsageError
from testaudit.records import (
    Event,
    JobDone,
    JobFailed,
    MutantResult,
    MutantStatus,
    ResultBatch,
    Split,
    TaskJob,
)
from testaudit.run.pool import Cost, Handler, PoolExecutor

INSTALL_HINT = "--dask needs Dask: pip install 'testaudit[dask]'"
CONNECT_TIMEOUT_S = 10  # reaching the scheduler; past it, a one-line error
_LOCAL = re.compile(r"local:([1-9][0-9]*)")
_REMOTE = re.compile(r"(tcp|tls)://[^\s/]+")


def check_address(address: str) -> int | None:
    """The number of workers of a `local:N` address, None for a scheduler's `tcp://`/`tls://`
    address; anything else is a usage error (before any work starts)."""
    local = _LOCAL.fullmatch(address)
    if local:
        return int(local.group(1))
    if _REMOTE.fullmatch(address):
        return None
    raise UsageError(f"--dask {address!r}: expected local:N (N workers on this machine) or a "
                     "scheduler address, tcp://HOST:PORT or tls://HOST:PORT")


def require(address: str) -> None:
    """Fail in one line, before any work, on a malformed address or without Dask installed."""
    check_address(address)
    import importlib.util

    if importlib.util.find_spec("distributed") is None:
        raise UsageError(INSTALL_HINT)


# --- on a Dask worker ------------------------------------------------------------------------

# The worker's inner pools, one per (handler, settings): started by its first job and kept for
# the next ones (spawning a process per job would cost more than most jobs).
_pools: dict[tuple[str, str, ExecSettings], tuple[PoolExecutor, threading.Lock]] = {}
_pools_lock = threading.Lock()


def _undo_nanny_environ() -> None:
    """Take back what Dask's nanny put into this worker's environment before starting it
    (`distributed.nanny.pre-spawn-environ`: MALLOC_TRIM_THRESHOLD_=65536, OMP_NUM_THREADS=1...),
    so that the inner pool's processes, and the mutants, run as they would in a local audit.
    MALLOC_TRIM_THRESHOLD_ alone changed a verdict: HumanEval/39's `is_prime(f[1])` mutant,
    which appends ever larger ints, ran out of its budget at the watchdog instead of at its own
    alarm, so its sandbox was replaced and a later mutant ran its assertions in another order.
    A variable is kept where its value is not the nanny's (someone set it on purpose)."""
    import dask.config

    given = dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {}
    for name, value in given.items():
        if name != "PYTHONHASHSEED" and os.environ.get(name) == str(value):
            del os.environ[name]


def _pool(settings: ExecSettings, handler: Handler) -> tuple[PoolExecutor, threading.Lock]:
    key = (handler.__module__, handler.__qualname__, settings)
    with _pools_lock:
        entry = _pools.get(key)
        if entry is None:
            _undo_nanny_environ()
            pool = PoolExecutor(settings, 1, handler, keep_splits=False)
            pool.__enter__()
            if not _pools:  # a worker stopped without its plugin's teardown still stops them
                atexit.register(close_pools)
            entry = _pools[key] = (pool, threading.Lock())
    return entry


def _on_worker(job: Any, settings: ExecSettings, handler: Handler) -> list[Event]:
    """A Dask task: run one job on this worker's inner pool; its events, in order."""
    pool, lock = _pool(settings, handler)
    with lock:  # a pool runs one job at a time: a worker given several threads queues here
        return list(pool.run([job]))


def close_pools() -> None:
    """Stop this worker's inner pools (and whatever their processes still run)."""
    with _pools_lock:
        entries = list(_pools.values())
        _pools.clear()
    for pool, _lock in entries:
        pool.__exit__(None, None, None)


def _plugin() -> Any:
    """A WorkerPlugin that stops the inner pools when the Dask worker closes. Defined here, not
    at the top, so that importing this module needs no Dask (cloudpickle sends it by value)."""
    from distributed import WorkerPlugin

    class ClosePools(WorkerPlugin):
        name = "testaudit-close-pools"
        # Registered again by every executor, of this audit or of another one sharing the
        # cluster: without this, each registration tears the old plugin down, closing pools
        # that are running jobs (a mutant was then blamed for killing its worker process).
        idempotent = True

        def teardown(self, worker: object) -> None:
            close_pools()

    return ClosePools()


# --- in the parent ---------------------------------------------------------------------------


def _first_line(exc: BaseException) -> str:
    text = (str(exc).strip().splitlines() or [""])[0][:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def lost(job: Any, exc: BaseException) -> list[Event]:
    """The events of a job that did not come back: its mutants' verdicts are errors (none of
    them has one yet: a job's events arrive whole), a triage job fails for its task."""
    why = f"the Dask worker running it died: {_first_line(exc)}"
    if isinstance(job, TaskJob):  # TaskParts included
        results = tuple(MutantResult(m.id, m.task_id, MutantStatus.ERROR, why) for m in job.mutants)
        return [ResultBatch(results), JobDone(job.task_id)]
    return [JobFailed(job.task_id, why), JobDone(job.task_id)]


def _start_local(workers: int) -> Any:
    """A LocalCluster of `workers` one-threaded worker processes on 127.0.0.1.

    Its nannies would write Dask's pre-spawn variables into *this* process's environment (and
    so into everything it starts later); they get none, and the environment is put back."""
    import dask.config
    from distributed import LocalCluster

    saved = dict(os.environ)
    try:
        with dask.config.set({"distributed.nanny.pre-spawn-environ": {}}):
            # Nanny-started workers are daemonic, which forbids children to the standard
            # library's multiprocessing only: multiprocess (the inner pool's) keeps its own
            # process record, and starts its process there.
            return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR)
    finally:
        _restore(saved)


def _restore(saved: dict[str, str]) -> None:
    for name in set(os.environ) - set(saved):
        del os.environ[name]
    os.environ.update(saved)


# The LocalClusters of `with local_clusters():`, by worker count: the run stage and triage (and a
# strengthen's audits) share one, rather than each starting and stopping its own.
_shared: dict[int, Any] | None = None


@contextmanager
def local_clusters() -> Iterator[None]:
    """Within it, DaskExecutors of the same `local:N` share one LocalCluster, started by the
    first that needs it and closed on leaving (an audit: pipeline.run)."""
    global _shared
    if _shared is not None:  # nested (strengthen's audits): the outermost one owns them
        yield
        return
    _shared = {}
    saved = dict(os.environ)
    try:
        yield
    finally:
        clusters, _shared = _shared, None
        for cluster in clusters.values():
            cluster.close()
        if clusters:  # a nanny that restarted a worker wrote PYTHONHASHSEED here again
            _restore(saved)


class DaskExecutor:
    """Runs jobs on a Dask cluster: `local:N` (a LocalCluster of N worker processes on this
    machine, on 127.0.0.1) or a running scheduler's `tcp://` or `tls://` address."""

    def __init__(self, settings: ExecSettings, handler: Handler, cost: Cost | None = None,
                 address: str = "local:1") -> None:
        self.settings = settings
        self.handler = handler
        self.cost = cost
        self.address = address
        self.local = check_address(address)
        self.cluster: Any = None
        self.client: Any = None

    def __enter__(self) -> DaskExecutor:
        try:
            from distributed import Client
        except ImportError as exc:
            raise UsageError(INSTALL_HINT) from exc
        try:
            if self.local is not None and _shared is not None:
                if self.local not in _shared:
                    _shared[self.local] = _start_local(self.local)
                self.client = Client(_shared[self.local])
            elif self.local is not None:
                self.cluster = _start_local(self.local)
                self.client = Client(self.cluster)
            else:
                self.client = Client(self.address, timeout=CONNECT_TIMEOUT_S)
            self.client.register_plugin(_plugin())
        except (OSError, TimeoutError) as exc:
            self.__exit__(None, None, None)
            raise UsageError(f"--dask {self.address}: cannot reach the Dask scheduler "
                             f"({_first_line(exc)})") from exc
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        if self.cluster is not None:
            self.cluster.close()
            self.cluster = None

    def _submit(self, job: Any, running: Any, owners: dict[str, Any]) -> None:
        # The costliest first, as in the local pool: a big job started last leaves workers idle.
        priority = self.cost(job) if self.cost is not None else 0
        future = self.client.submit(_on_worker, job, self.settings, self.handler,
                                    pure=False, retries=1, priority=priority)
        owners[future.key] = job
        running.add(future)

    def run(self, jobs: Iterable[Any]) -> Iterator[Event]:
        """Submit jobs as they are planned (planning goes on while the cluster works); yield each
        finished job's events in order, and submit the parts of a job that split."""
        from distributed import as_completed

        source: Iterator[Any] | None = iter(jobs)
        running = as_completed()
        owners: dict[str, Any] = {}
        while source is not None or not running.is_empty():
            if source is not None:
                job = next(source, None)
                if job is None:
                    source = None
                else:
                    self._submit(job, running, owners)
                if source is not None and not running.has_ready():
                    continue
            if running.is_empty():
                continue
            for future in running.next_batch(block=True):
                job = owners.pop(future.key)
                try:
                    events = future.result()
                except Exception as exc:  # KilledWorker after Dask's retries, or anything else
                    events = lost(job, exc)
                future.release()
                for event in events:
                    if isinstance(event, Split):
                        for part in event.jobs:
                            self._submit(part, running, owners)
                    yield event
