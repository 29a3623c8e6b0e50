"""The triage stage: after the suites have run, prove which survivors are wrong programs.

Runs between the run stage and the reports, parallel over tasks on the executor the pipeline
gives it (the same kind of spawned worker pool as the mutant runs); the per-task work is in
task.py. Results are committed to the session store task by task, so --resume keeps them.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from testaudit import __version__
from testaudit.config import ExecSettings, TriageSettings
from testaudit.records import (
    Candidate,
    CandidateResult,
    CandidateVerdict,
    Event,
    JobDone,
    JobFailed,
    TaskAudit,
    TaskRules,
    TaskStatus,
    TriageJob,
    TriageOutcome,
)
from testaudit.store.cache import suite_material
from testaudit.store.session import Store
from testaudit.text import cleaned
from testaudit.triage.rules import rules_for

__all__ = ["StageConfig", "run_stage"]

OnTask = Callable[[int, int], None]  # (tasks done, tasks to triage)
# Runs triage jobs on `workers` processes with triage.task.run_job as the handler: the pipeline's
# pool (the stage does not pick one, and imports no other stage).
Executors = Callable[[int], "_Executor"]


class _Executor(Protocol):
    def run(self, jobs: Iterable[TriageJob]) -> Iterator[Event]: ...
    def __enter__(self) -> _Executor: ...
    def __exit__(self, *exc: object) -> None: ...


@dataclass(frozen=True)
class StageConfig:
    settings: TriageSettings = field(default_factory=TriageSettings)
    exec_settings: ExecSettings = field(default_factory=ExecSettings)
    workers: int = 1
    candidates: dict[str, list[Candidate]] = field(default_factory=dict)  # by task id
    rules: dict[str, TaskRules] = field(default_factory=dict)  # --preconditions, by task id


def make_job(audit: TaskAudit, config: StageConfig) -> TriageJob | None:
    """The task's triage job, or None when there is nothing to triage."""
    task = audit.task
    if audit.status is not TaskStatus.OK or audit.reference is None or not audit.reference.passed:
        return None
    survivors = tuple(audit.survivors)
    samples = tuple(config.candidates.get(task.task_id, ()))
    if not survivors and not samples and config.settings.differential is None:
        return None  # (strengthen chooses differential tests for every healthy task)
    return TriageJob(
        task=task,
        survivors=survivors,
        results=tuple(audit.outcome(m) for m in survivors),
        candidates=samples,
        settings=config.settings,
        suite_seconds=audit.reference.suite_seconds,
        rules=rules_for(task.task_id, task.entry_point, config.rules),
    )


def job_key(job: TriageJob, exec_settings: ExecSettings) -> str:
    """What must match for a stored triage to be reused: its inputs, settings and code."""
    material = {
        "version": __version__,
        "settings": job.settings.to_json(),
        "seed": exec_settings.seed,
        "memory": exec_settings.memory_cap_bytes,
        "source": job.task.source,
        "test": job.task.test,
        "suite_data": suite_material(job.task),  # the dataset's inputs, contract, cases...
        "rules": [job.rules.precondition, job.rules.oracle, job.rules.contract],
        "survivors": [(r.mutant_id, r.status.value) for r in job.results],
        "samples": [(c.sample, c.completion) for c in job.candidates],
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def apply(audit: TaskAudit, outcome: TriageOutcome) -> None:
    """Overlay a task's triage on its audit."""
    known = {m.id for m in audit.mutants}
    for result in outcome.results:
        if result.mutant_id in known:
            audit.results[result.mutant_id] = result
    audit.suggested_tests = list(outcome.suggested_tests)
    audit.candidates = list(outcome.candidates)
    audit.added_tests = list(outcome.added)
    if outcome.note:
        audit.message = f"{audit.message}; {outcome.note}" if audit.message else outcome.note


def _unjudged(audit: TaskAudit, samples: list[Candidate], reason: str | None = None) -> list[CandidateResult]:
    why = f"not judged: the task is {audit.status.value}"
    if reason is not None:
        why = f"not judged: {reason}"
    elif audit.status is TaskStatus.OK:
        why = "not judged: the task's reference did not run"
    return [CandidateResult(c.task_id, c.sample, c.completion, CandidateVerdict.ERROR, why)
            for c in samples]


def run_stage(audits: list[TaskAudit], config: StageConfig, store: Store, executors: Executors,
              on_task: OnTask | None = None) -> float:
    """Triage every task that has survivors or samples; returns the stage's wall time."""
    started = time.perf_counter()
    stored = store.triage_keys()
    pending: list[tuple[TriageJob, str]] = []
    by_id = {a.task.task_id: a for a in audits}
    for audit in audits:
        job = make_job(audit, config)
        if job is None:
            audit.candidates = _unjudged(audit, config.candidates.get(audit.task.task_id, []))
            continue
        key = job_key(job, config.exec_settings)
        reused = store.triage(audit.task.task_id) if stored.get(audit.task.task_id) == key else None
        if reused is not None:
            apply(audit, reused)
        else:
            pending.append((job, key))
    # Costliest first: a big task started last would leave the other workers idle at the end.
    pending.sort(key=lambda p: -_cost(p[0]))
    keys = {job.task.task_id: key for job, key in pending}
    done = 0
    for event in _events([job for job, _ in pending], config, executors):
        event = cleaned(event)  # witnesses and details hold text from task code (`text.clean`)
        if isinstance(event, TriageOutcome):
            store.add_triage(event, keys[event.task_id])
            apply(by_id[event.task_id], event)
        elif isinstance(event, JobFailed):
            audit = by_id[event.task_id]
            audit.message = f"{audit.message}; {event.message}" if audit.message else event.message
            audit.candidates = _unjudged(audit, config.candidates.get(event.task_id, []), event.message)
        elif isinstance(event, JobDone):
            done += 1
            if on_task is not None:
                on_task(done, len(pending))
    return time.perf_counter() - started


# Scheduling estimates (CPU seconds): exploring costs a fixed part plus about this many suite
# runs' worth of reference calls; each program's differential run likewise, each capped by its
# budget. Only the order of the jobs depends on them, never a verdict.
EXPLORE_FIXED_S, EXPLORE_SUITES = 0.05, 500
DIFF_FIXED_S, DIFF_SUITES = 0.02, 200


def _cost(job: TriageJob) -> float:
    """A rough CPU-time estimate of a job, for scheduling: slow references make costly tasks."""
    programs = len(job.survivors) + len(job.candidates)
    explore = min(job.settings.seconds, EXPLORE_FIXED_S + EXPLORE_SUITES * job.suite_seconds)
    diff = programs * (DIFF_FIXED_S + DIFF_SUITES * job.suite_seconds)
    return explore + min(job.settings.diff_seconds, diff)


def _events(jobs: list[TriageJob], config: StageConfig, executors: Executors) -> Iterator[Event]:
    if not jobs:
        return
    with executors(min(config.workers, len(jobs))) as pool:
        yield from pool.run(jobs)
