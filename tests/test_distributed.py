"""--dask: the same verdicts as the local pool, on a real LocalCluster (2 workers, TCP on
127.0.0.1); a Dask worker SIGKILLed mid-audit costs no verdict; nothing is left running."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import process_alive

from testaudit.cli import cli
from testaudit.config import RunConfig
from testaudit.pipeline import run, unrun
from testaudit.records import AuditSummary, Event, ResultBatch

distributed = pytest.importorskip("distributed")
psutil = pytest.importorskip("psutil")

SELECTION = {"dataset": "humaneval", "tasks": ("HumanEval/1*",), "limit": 8, "cache_dir": None, "html": False}


def _verdicts(summary: AuditSummary) -> dict[str, tuple]:
    """Mutant id -> (status, witness): what must not depend on where the mutants ran."""
    return {m: (r.status, r.witness) for a in summary.tasks for m, r in a.results.items()}


def _descendants() -> set[int]:
    """Our descendants, but for the resource trackers (multiprocessing's and multiprocess's):
    one per interpreter, started on first use, by design alive until this process ends."""
    found = set()
    for process in psutil.Process().children(recursive=True):
        try:
            if not any("resource_tracker" in part for part in process.cmdline()):
                found.add(process.pid)
        except psutil.Error:  # gone meanwhile
            pass
    return found


def _settled(before: set[int], seconds: float = 15.0) -> set[int]:
    """Our descendants that are not in `before`, once they had time to exit (none, we expect)."""
    deadline = time.monotonic() + seconds
    while True:
        left = {pid for pid in _descendants() - before if process_alive(pid)}
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


@pytest.fixture(scope="module")
def local_summary(tmp_path_factory) -> AuditSummary:
    return run(RunConfig(**SELECTION, workers=2, out=tmp_path_factory.mktemp("local")))


def test_dask_gives_the_local_pool_s_verdicts_and_witnesses(local_summary: AuditSummary,
                                                            tmp_path: Path) -> None:
    before = _descendants()
    summary = run(RunConfig(**SELECTION, workers=2, out=tmp_path, dask_address="local:2"))
    assert summary.tasks[0].results, "nothing ran"
    assert _verdicts(summary) == _verdicts(local_summary)
    assert any(r.witness is not None for a in summary.tasks for r in a.results.values()), "triage ran"
    assert not _settled(before), "processes outlived the audit"


class _KillOneWorker:
    """Progress that SIGKILLs a Dask worker process that is running a job, when the first
    verdicts are in."""

    def __init__(self, client, pids: dict[str, int]) -> None:
        self.client, self.pids, self.killed = client, pids, None
        self.orphans: list[int] = []  # its descendants: reparented away from us once it dies

    def event(self, event: Event) -> None:
        if isinstance(event, ResultBatch) and self.killed is None:
            busy = [address for address, keys in self.client.processing().items() if keys]
            if busy:
                # A lambda: cloudpickle sends it by value (workers cannot import this module).
                self.orphans = self.client.run(
                    lambda: [p.pid for p in __import__("psutil").Process().children(recursive=True)],
                    workers=[busy[0]])[busy[0]]
                self.killed = self.pids[busy[0]]
                os.kill(self.killed, signal.SIGKILL)

    def __getattr__(self, name: str):  # the other Progress calls: nothing to do
        return lambda *args, **kwargs: None


def test_a_dask_worker_killed_mid_audit_costs_no_verdict_and_leaves_nothing(tmp_path: Path) -> None:
    before = _descendants()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None, silence_logs=40) as cluster, \
            distributed.Client(cluster) as client:
        progress = _KillOneWorker(client, client.run(os.getpid))
        config = RunConfig(**{**SELECTION, "limit": 6}, out=tmp_path, triage=False,
                           dask_address=cluster.scheduler_address)
        summary = run(config, progress)
    assert progress.killed is not None, "no worker was busy when the first verdicts came"
    assert not process_alive(progress.killed)
    # Its job process (and any sandbox) died with it (parent-death signal): _settled below
    # cannot see them, as they are no longer our descendants.
    assert progress.orphans, "the busy worker had no job process"
    deadline = time.monotonic() + 15.0
    while [pid for pid in progress.orphans if process_alive(pid)] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in progress.orphans if process_alive(pid)], "outlived their Dask worker"
    assert not unrun(summary), "mutants without a verdict"
    # Dask reran the dead worker's job elsewhere: no verdict was lost to the death.
    assert not [r for a in summary.tasks for r in a.results.values() if "Dask worker" in (r.detail or "")]
    assert all(a.results for a in summary.tasks)
    assert not _settled(before), "processes outlived the audit"


@pytest.mark.parametrize("address", ["localhost:8786", "local:0", "local:x", "http://host:8786", "tcp://"])
def test_a_malformed_dask_address_fails_in_one_line(address: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["audit", "humaneval", "--limit", "1", "--dask", address,
                                      "--out", str(tmp_path), "--no-cache", "--no-html"])
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1 and "--dask" in result.output
    assert "Traceback" not in result.output


def test_an_unreachable_scheduler_fails_in_one_line(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("testaudit.run.dask.CONNECT_TIMEOUT_S", 1)
    result = CliRunner().invoke(cli, ["audit", "humaneval", "--limit", "1", "--dask", "tcp://127.0.0.1:9",
                                      "--out", str(tmp_path), "--no-cache", "--no-html", "--no-triage"])
    assert result.exit_code == 2
    assert "cannot reach the Dask scheduler" in result.output
    assert "Traceback" not in result.output
    assert len([line for line in result.output.splitlines() if line.startswith("Error")]) == 1


def test_without_dask_installed_dask_fails_in_one_line(tmp_path: Path, monkeypatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "distributed" else real(name, *a))
    result = CliRunner().invoke(cli, ["audit", "humaneval", "--limit", "1", "--dask", "local:2",
                                      "--out", str(tmp_path), "--no-cache", "--no-html"])
    assert result.exit_code == 2
    assert result.output.strip() == "Error: --dask needs Dask: pip install 'testaudit[dask]'"


def test_a_job_that_never_comes_back_gets_error_verdicts_or_fails_its_task() -> None:
    from types import SimpleNamespace

    from testaudit.records import JobDone, JobFailed, MutantStatus, TaskJob
    from testaudit.run.dask import DaskExecutor, lost
    from testaudit.run.job import run_job

    mutant = SimpleNamespace(id="m1", task_id="T/1")
    job = TaskJob(SimpleNamespace(task_id="T/1"), (mutant,))  # type: ignore[arg-type]
    batch, done = lost(job, RuntimeError("KilledWorker"))
    assert [(r.mutant_id, r.status) for r in batch.results] == [("m1", MutantStatus.ERROR)]
    assert "the Dask worker running it died" in batch.results[0].detail and done == JobDone("T/1")
    # Through a real cluster: settings that break the worker's pool make the Dask task raise
    # (twice: Dask retries it once); the job's events say so, and the run ends.
    triage_like = SimpleNamespace(task_id="T/2")
    with DaskExecutor(None, run_job, None, "local:1") as executor:  # type: ignore[arg-type]
        events = list(executor.run([triage_like]))
    assert [type(e) for e in events] == [JobFailed, JobDone]
    assert events[0].task_id == "T/2" and "Dask worker" in events[0].message


def test_mutants_on_dask_workers_see_this_machine_s_environment_not_the_nanny_s(
        tmp_path: Path, monkeypatch) -> None:
    """Dask's nanny sets MALLOC_TRIM_THRESHOLD_=65536 (and OMP_NUM_THREADS...) in its workers'
    environment, and in the process that starts a LocalCluster. It changed a verdict of
    HumanEval/39 (a mutant growing a list of big ints timed out at the watchdog, not its own
    alarm); the mutants must run in the environment a local audit gives them, and the audit
    must leave its own process's environment as it found it."""
    import json

    for name in ("MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    test = ("import os\n\ndef check(candidate):\n"
            "    assert os.environ.get('MALLOC_TRIM_THRESHOLD_') is None\n"
            "    assert os.environ.get('OMP_NUM_THREADS') is None\n"
            "    assert candidate(1) == 2\n")
    task = {"task_id": "Env/0", "prompt": "def inc(x):\n", "entry_point": "inc",
            "canonical_solution": "    return x + 1\n", "test": test}
    data = tmp_path / "env.jsonl"
    data.write_text(json.dumps(task) + "\n")
    saved = dict(os.environ)
    summary = run(RunConfig(dataset=str(data), workers=1, out=tmp_path / "out", cache_dir=None,
                            html=False, dask_address="local:1"))
    audit = summary.tasks[0]
    assert audit.reference is not None and audit.reference.passed, audit.message
    assert audit.results and all(r.status.value == "killed" for r in audit.results.values())
    assert dict(os.environ) == saved


def test_an_audit_s_stages_share_one_local_cluster() -> None:
    """Within local_clusters() (an audit, a strengthen), every `local:N` executor connects to the
    same LocalCluster: the run stage and triage do not each start one."""
    from testaudit.run.dask import DaskExecutor, local_clusters
    from testaudit.run.job import run_job

    with local_clusters():
        with DaskExecutor(None, run_job, None, "local:1") as first:  # type: ignore[arg-type]
            address = first.client.scheduler.address
        with DaskExecutor(None, run_job, None, "local:1") as second:  # type: ignore[arg-type]
            assert second.client.scheduler.address == address
            assert second.cluster is None  # not its own: closed by local_clusters
    with DaskExecutor(None, run_job, None, "local:1") as alone:  # type: ignore[arg-type]
        assert alone.client.scheduler.address != address
