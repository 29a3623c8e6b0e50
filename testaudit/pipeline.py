"""The audit, top to bottom: load, generate, run, store, report."""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import itertools
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from testaudit import __version__
from testaudit import shard as sharding
from testaudit.config import RunConfig
from testaudit.errors import UsageError
from testaudit.load import dataset_name, load
from testaudit.mutate import GenerationError, generate, select
from testaudit.records import (
    RAN,
    AddedTest,
    AuditSummary,
    Dataset,
    Event,
    Incident,
    JobDone,
    JobFailed,
    Mutant,
    MutantResult,
    MutantStatus,
    ReferenceRun,
    RepositoryData,
    ResultBatch,
    ShardInfo,
    StrengthenReport,
    SuiteKind,
    Task,
    TaskAudit,
    TaskJob,
    TaskRules,
    TaskStatus,
    Work,
)
from testaudit.run.dask import DaskExecutor, local_clusters
from testaudit.run.job import job_cost, run_job
from testaudit.run.pool import Executor, PoolExecutor, sigint_handler
from testaudit.sandbox import isolate, scratch
from testaudit.store import results_json
from testaudit.store.cache import CachedTask, ResultCache, task_key
from testaudit.store.files import write_atomic
from testaudit.store.session import FILENAME as STORE_FILENAME
from testaudit.store.session import Store
from testaudit.suites import suite_for
from testaudit.text import cleaned
from testaudit.triage import StageConfig

__all__ = ["RunConfig", "run", "executed", "unrun", "out_dir", "write_outputs", "merge"]

LOG_FILE = "testaudit.log"  # in OUT: the tracebacks of our own bugs, one entry each


class Progress(Protocol):
    def start(self, tasks: int) -> None: ...
    def planned(self, task_id: str, mutants: int) -> None: ...
    def scanned(self, tasks: int) -> None: ...
    def event(self, event: Event) -> None: ...
    def finish(self) -> None: ...
    def triage(self, done: int, total: int) -> None: ...
    def notice(self, text: str) -> None: ...


class _Silent:
    def start(self, tasks: int) -> None:
        pass

    def planned(self, task_id: str, mutants: int) -> None:
        pass

    def scanned(self, tasks: int) -> None:
        pass

    def event(self, event: Event) -> None:
        pass

    def finish(self) -> None:
        pass

    def triage(self, done: int, total: int) -> None:
        pass

    def notice(self, text: str) -> None:
        pass


def select_tasks(tasks: tuple[Task, ...], patterns: tuple[str, ...], limit: int | None) -> list[Task]:
    chosen = [t for t in tasks if not patterns or any(fnmatch.fnmatchcase(t.task_id, p)
                                                       for p in patterns)]
    if not chosen:
        raise UsageError(f"--tasks {' '.join(patterns)}: no task id matches")
    return chosen[:limit] if limit is not None else chosen


def out_dir(config: RunConfig, dataset: Dataset) -> Path:
    return config.out if config.out is not None else Path("reports") / dataset.name


def settings_json(config: RunConfig, operators: list[str]) -> dict:
    """The settings as results.json shows them."""
    s = config.settings
    return {
        "workers": config.workers,
        "timeout_factor": s.timeout_factor,
        "timeout_constant_s": s.timeout_constant_s,
        "memory_cap_bytes": s.memory_cap_bytes,
        "seed": s.seed,
        "operators": operators,
        "suite": config.suite,
        "challenge": config.challenge,
    }


def data_digest(dataset: Dataset) -> str:
    """The dataset file's SHA-256: the data a run key, and a shard's checks, stand for."""
    return hashlib.sha256(Path(dataset.source).read_bytes()).hexdigest()


def run_key(dataset: Dataset, tasks: list[Task], config: RunConfig, operators: list[str]) -> str:
    """What must match for --resume: the data, the selection, and what decides verdicts."""
    key = {
        "data": data_digest(dataset),
        "tasks": [t.task_id for t in tasks],
        "operators": operators,
        "settings": config.settings.to_json(),
        "version": __version__,
        # The same task ids get other tests under another format, suite or --challenge.
        "load": [dataset.format, config.suite, config.challenge],
    }
    if any(t.suite_kind is SuiteKind.REPOSITORY for t in tasks):  # other keys stay as they were
        key["repo"] = config.repo.to_json()
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


@dataclass
class _Plan:
    audits: dict[str, TaskAudit]
    kept: int
    keys: dict[str, str] = field(default_factory=dict)  # task id -> cache key
    cached: set[str] = field(default_factory=set)  # task ids served from the cache
    messages: dict[str, str | None] = field(default_factory=dict)  # cached tasks' messages
    incidents: int = 0  # bugs of ours that cost a verdict (logged in OUT/testaudit.log)
    # The work split (records.Work): measured as the run goes.
    generation_seconds: float = 0.0
    run_seconds: float = 0.0
    busy_seconds: float = 0.0
    jobs: int = 0
    forks: int = 0


def _from_cache(audit: TaskAudit, cache: ResultCache | None, key: str, store: Store) -> CachedTask | None:
    """Fill a task from the cache when every mutant has a cached verdict; keep the store whole."""
    entry = cache.get(key) if cache is not None else None
    runnable = [m for m in audit.mutants if m.status is MutantStatus.PENDING]
    if entry is None or (entry.reference.passed and any(m.id not in entry.results for m in runnable)):
        return None
    results = tuple(entry.results[m.id] for m in runnable if m.id in entry.results)
    audit.results.update({r.mutant_id: r for r in results})
    audit.suggested_tests = list(entry.suggested_tests)
    store.add_reference(entry.reference)
    if results:
        store.add_results(results)
    return entry


def _plan(tasks: list[Task], operators, store: Store, cache: ResultCache | None = None,
          run_material: dict | None = None,
          scanned: Callable[[int], None] | None = None,
          premade: dict[str, list[Mutant]] | None = None) -> tuple[_Plan, Iterator[TaskJob]]:
    """Generate mutants and decide what is left to run given what the store and cache hold.

    The jobs come lazily, so that the pool runs the first tasks while later ones are still
    being mutated; the plan's audits, counts and cache keys are complete once they are drained.
    `scanned(n)`: n tasks are planned so far (the progress display's estimate of the total).
    `premade`: mutants already made (by the --shard split), by task id.
    """
    plan = _Plan({}, 0)
    for task in tasks:
        plan.audits[task.task_id] = TaskAudit(task, [], {}, status=task.status, message=task.message)
    return plan, _jobs(plan, tasks, operators, store, cache, run_material or {}, scanned, premade or {})


def _jobs(plan: _Plan, tasks: list[Task], operators, store: Store, cache: ResultCache | None,
          run_material: dict, scanned: Callable[[int], None] | None = None,
          premade: dict[str, list[Mutant]] | None = None) -> Iterator[TaskJob]:
    stored = store.results()
    references = store.references()
    errors = store.task_errors()
    triaged = store.triage_keys()
    for number, task in enumerate(tasks):
        if scanned is not None and number:
            scanned(number)
        audit = plan.audits[task.task_id]
        if task.status is not TaskStatus.OK:
            continue
        generating = time.perf_counter()
        try:
            if premade and task.task_id in premade:
                audit.mutants = list(premade[task.task_id])
            else:
                with _sigint_deferred():
                    audit.mutants = generate(task, operators)
        except GenerationError as exc:
            audit.status, audit.message = TaskStatus.ERROR, _where(task, str(exc))
            continue
        finally:
            plan.generation_seconds += time.perf_counter() - generating
        plan.keys[task.task_id] = key = task_key(task, run_material)
        # On --resume the store has the task's results, but it holds the triage only of tasks
        # that were triaged, not of those served from the cache: those are served again.
        resumed = task.task_id in references and task.task_id in triaged
        entry = None if resumed else _from_cache(audit, cache, key, store)
        if entry is not None:
            plan.cached.add(task.task_id)
            audit.reference = entry.reference
            # Applied after _finish_audit, which would otherwise set the task's message anew.
            plan.messages[task.task_id] = entry.message
            continue
        runnable = [m for m in audit.mutants if m.status is MutantStatus.PENDING]
        done = {m.id: stored[m.id] for m in runnable if m.id in stored}
        audit.results.update(done)
        plan.kept += len(done)
        reference = audit.reference = references.get(task.task_id)
        if task.task_id in errors:
            audit.status, audit.message = TaskStatus.ERROR, _where(task, errors[task.task_id])
            continue
        if reference is not None and not reference.passed:
            continue
        rest = tuple(m for m in runnable if m.id not in done)
        if rest or reference is None:
            yield TaskJob(task, rest)
    if scanned is not None:
        scanned(len(tasks))


@contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Hold Ctrl-C while libcst works: it turns a KeyboardInterrupt raised inside its visitors
    into an error of its own, and the interrupt must stay an interrupt (exit 130, --resume)."""
    received: list[int] = []
    with sigint_handler(lambda signum, _frame: received.append(signum)):
        yield
    if received:
        raise KeyboardInterrupt


def _counted(jobs: Iterator[TaskJob], progress: Progress) -> Iterator[TaskJob]:
    """Tell the progress display about each job's mutants as the job is planned."""
    for job in jobs:
        progress.planned(job.task.task_id, len(job.mutants))
        yield job


def _where(task: Task, message: str) -> str:
    return f"{task.origin.path}:{task.origin.line}: {message}" if task.origin else message


def _record(event: Event, store: Store, plan: _Plan, log: Path) -> Event:
    """Store one event and keep it on its audit; returns it as kept, its text made safe
    (a task's code can put a lone surrogate or NUL in a kill reason: `text.clean`)."""
    event = cleaned(event)
    audits = plan.audits
    if isinstance(event, ResultBatch):
        store.add_results(event.results)
        for result in event.results:
            audits[result.task_id].results[result.mutant_id] = result
    elif isinstance(event, ReferenceRun):
        store.add_reference(event)
        audits[event.task_id].reference = event
    elif isinstance(event, JobFailed):
        store.add_task_error(event.task_id, event.message)
        audit = audits[event.task_id]
        audit.status, audit.message = TaskStatus.ERROR, _where(audit.task, event.message)
        if event.traceback:
            _log(log, event.task_id, event.message, event.traceback)
    elif isinstance(event, Incident):
        plan.incidents += 1
        _log(log, event.task_id, event.message, event.traceback)
    elif isinstance(event, JobDone):
        plan.jobs += 1
        plan.busy_seconds += event.busy_seconds
        plan.forks += event.forks
    return event


def _work(plan: _Plan, workers: int, ran: list[TaskAudit]) -> Work:
    """Where this run's time went, over the mutants it ran itself (not the cached or resumed)."""
    results = [r for a in ran for r in a.results.values() if r.status in RAN]
    timeouts = [r for r in results if r.status is MutantStatus.TIMEOUT]
    suite = sum((r.seconds for r in results), 0.0)
    waited = sum((r.seconds for r in timeouts), 0.0)
    return Work(workers, plan.generation_seconds, plan.run_seconds, plan.busy_seconds,
                suite, waited, len(timeouts), plan.jobs, plan.forks)


def _log(log: Path, task_id: str, message: str, traceback: str) -> None:
    """Append one internal error, with its traceback, to the audit's log."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as handle:
        handle.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {task_id}: {message}\n{traceback.rstrip()}\n\n")


def _finish_audit(audit: TaskAudit) -> None:
    """Task status from its reference run: broken when the reference fails its own suite."""
    if audit.status is not TaskStatus.OK or audit.reference is None:
        return
    if not audit.reference.passed:
        audit.status = TaskStatus.BROKEN
        audit.message = f"the reference fails its own tests: {audit.reference.message}"
        for mutant in audit.mutants:
            if audit.outcome(mutant).status is MutantStatus.PENDING:
                audit.results[mutant.id] = MutantResult(
                    mutant.id, mutant.task_id, MutantStatus.ERROR,
                    "not run: the task's reference fails its own tests")
    elif audit.reference.message:  # passed, with a warning (FAIL_TO_PASS passing without the gold patch)
        audit.message = audit.reference.message
    elif not audit.reference.suite_calls_entry_point:
        audit.message = (
            f"warning: the suite passes a candidate that always raises; it never calls "
            f"{audit.task.entry_point}, so no mutant of it can be killed"
        )


def make_executor(config: RunConfig) -> Executor:
    """Always a pool, even of one worker: spawned workers get the fixed hash seed that makes
    set order, and so verdicts, repeatable. With --dask, a Dask cluster's workers each run
    such a pool (run/dask.py)."""
    if config.dask_address is not None:
        return DaskExecutor(config.settings, run_job, job_cost, config.dask_address)
    return PoolExecutor(config.settings, config.workers, run_job, job_cost)


def _isolation_notice(config: RunConfig, progress: Progress) -> None:
    """Say once, before the first verdict, when sandboxes cannot be isolated here."""
    isolate.protect_self()
    status = isolate.status()
    if config.settings.isolate and not status.isolated:
        progress.notice(f"note: sandboxes share testaudit's user, network and file system here "
                        f"({status.reason}); see docs/architecture.md, 'Containment'")


def run(config: RunConfig, progress: Progress | None = None) -> AuditSummary:
    """Audit a dataset. Results stream into OUT/session.sqlite; OUT/results.json at the end."""
    with local_clusters():  # --dask local:N: one cluster for the run stage and triage
        return _audit(config, progress)


def _audit(config: RunConfig, progress: Progress | None) -> AuditSummary:
    started = time.perf_counter()
    progress = progress or _Silent()
    dataset = load(config.dataset, config.format, config.load_options)
    tasks = select_tasks(dataset.tasks, config.tasks, config.limit)
    try:
        operators = select(list(config.operators))
    except KeyError as exc:
        raise UsageError(f"--operator: unknown operator {exc}; see `testaudit operators`") from exc
    names = [op.name for op in operators]
    triage_input = _triage_input(config, tasks)  # before the long part: bad files fail fast
    split = None
    if config.shard is not None:  # after the checks above: they are of the whole selection
        split = _split(config, dataset, tasks, operators, names)
        mine = set(split.info.tasks)
        if not mine:  # N > tasks: legitimate in a CI matrix, and said so
            progress.notice(f"--shard {config.shard}: no task falls to this shard ({len(tasks)} tasks "
                            f"over {config.shard.count} shards); it writes an empty part for "
                            "`testaudit merge`")
        tasks = [t for t in tasks if t.task_id in mine]
    if not any(t.suite_kind is SuiteKind.REPOSITORY for t in tasks):
        return _run(config, progress, started, dataset, tasks, operators, names, triage_input, split)
    # The work trees live in a scratch folder of ours: removed at the end, and by the next
    # audit if this one is killed (sandbox/scratch.py).
    trees = scratch.make()
    try:
        tasks = _prepare_repositories(tasks, config, Path(trees))
        return _run(config, progress, started, dataset, tasks, operators, names, triage_input, split)
    finally:
        scratch.remove(trees)


@dataclass(frozen=True)
class _Split:
    """This shard's part of the selection, and the mutants made to count its tasks' cost."""

    info: ShardInfo
    mutants: dict[str, list[Mutant]]  # this shard's tasks': the plan does not make them again
    seconds: float  # spent making every selected task's mutants


def _split(config: RunConfig, dataset: Dataset, selection: list[Task], operators,
           names: list[str]) -> _Split:
    """--shard K/N: split the selection by cost (shard.split), the same on every machine.

    Each shard makes every selected task's mutants to count them (BigCodeBench's 1140 tasks
    take about 35 s; HumanEval's 164, 4 s) and keeps only its own tasks' for its plan."""
    assert config.shard is not None
    generating = time.perf_counter()
    made: dict[str, list[Mutant]] = {}
    costs = []
    for task in selection:
        count = None
        if task.status is TaskStatus.OK and not isinstance(task.suite_data, RepositoryData):
            try:
                with _sigint_deferred():
                    made[task.task_id] = generate(task, operators)
                count = len(made[task.task_id])  # equivalent ones too: bytecode-independent
            except GenerationError:
                pass  # the plan makes it again and reports the error on the task
        costs.append((task.task_id, sharding.cost(task, count)))
    mine = set(sharding.split(costs, config.shard.count)[config.shard.index - 1])
    info = ShardInfo(config.shard.index, config.shard.count,
                     tuple(t.task_id for t in selection if t.task_id in mine),
                     tuple(t.task_id for t in selection),
                     run_key(dataset, selection, config, names),
                     sharding.checks(config, dataset, data_digest(dataset), names, __version__))
    return _Split(info, {t: m for t, m in made.items() if t in mine}, time.perf_counter() - generating)


def _prepare_repositories(tasks: list[Task], config: RunConfig, trees: Path) -> list[Task]:
    """Repository tasks (SWE-bench) get their work trees, patched files and environments here:
    the mutants are made from the patched files, and the trees must outlive the run stage."""
    from testaudit.suites.swebench.prepare import prepare

    envs = config.repo.env_cache or config.cache_dir or Path(".testaudit-cache")  # --no-cache keeps venvs
    return prepare(tasks, config.repo, trees, envs, differential=config.triage)


def _run(config: RunConfig, progress: Progress, started: float, dataset: Dataset, tasks: list[Task],
         operators, names: list[str], triage_input: StageConfig | None,
         split: _Split | None = None) -> AuditSummary:
    out = out_dir(config, dataset)
    if config.resume and not (out / STORE_FILENAME).is_file():
        # Not an error: a CI step that always passes --resume must work on its first run too.
        progress.notice(f"--resume: {out} holds no session to resume; starting afresh")
    store = Store.open(out, run_key(dataset, tasks, config, names), config.resume)
    try:
        cache = _cache(config)
        plan, jobs = _plan(tasks, operators, store, cache, _run_material(config, names), progress.scanned,
                           split.mutants if split is not None else None)
        if split is not None:
            plan.generation_seconds += split.seconds
        first = next(jobs, None)
        if first is not None:  # a fully cached or resumed run needs no workers
            _isolation_notice(config, progress)
            progress.start(len(tasks))
            with make_executor(config) as executor:
                running = time.perf_counter()
                for event in executor.run(_counted(itertools.chain([first], jobs), progress)):
                    progress.event(_record(event, store, plan, out / LOG_FILE))
                plan.run_seconds = time.perf_counter() - running
            progress.finish()
    finally:
        store.close()
    for audit in plan.audits.values():
        _finish_audit(audit)
        if audit.task.task_id in plan.messages:  # the cached task's final words, triage's included
            audit.message = plan.messages[audit.task.task_id]
    fresh = [plan.audits[t.task_id] for t in tasks if t.task_id not in plan.cached]
    # Kinds that run their whole job themselves (repository tasks) have no function to triage.
    triaged = [a for a in fresh if getattr(suite_for(a.task), "run_job", None) is None]
    triage_seconds = _triage(triage_input, triaged, out, progress, config)
    if config.triage and len(triaged) < len(fresh) and triage_seconds is None:
        # Repository tasks are triaged inside their own job (the differential run of each
        # survivor, suites/swebench/runner.py): triage did run.
        triage_seconds = 0.0
    if cache is not None:  # after triage, so that entries carry witnesses and suggested tests
        for audit in fresh:
            if audit.task.task_id in plan.keys:
                cache.put(plan.keys[audit.task.task_id], audit)
    summary = AuditSummary(
        Dataset(dataset.name, dataset.source, dataset.format, tuple(tasks), dataset.reference),
        settings_json(config, names),
        [plan.audits[t.task_id] for t in tasks],
        time.perf_counter() - started,
        plan.kept,
        len(plan.cached),
        triage_seconds,
        plan.incidents,
        _work(plan, config.workers, fresh),
        split.info if split is not None else None,
    )
    write_outputs(summary, out, config.html)
    return summary


def _cache(config: RunConfig) -> ResultCache | None:
    """The result cache, unless disabled; samples (--candidates) are judged afresh every time."""
    if config.cache_dir is None or config.candidates is not None:
        return None
    return ResultCache(config.cache_dir)


def _run_material(config: RunConfig, operators: list[str]) -> dict:
    """What besides a task's own text decides its cached results."""
    triage = None
    if config.triage:
        rules = config.preconditions.read_bytes() if config.preconditions is not None else b""
        contracts = config.contracts.read_bytes() if config.contracts is not None else b""
        triage = {"settings": config.triage_settings.to_json(),
                  "preconditions": hashlib.sha256(rules).hexdigest(),
                  "contracts": hashlib.sha256(contracts).hexdigest()}
    return {"operators": operators, "settings": config.settings.to_json(), "triage": triage,
            "version": __version__}


def _triage_input(config: RunConfig, tasks: list[Task]) -> StageConfig | None:
    """The triage stage's configuration, with its files read; None with --no-triage."""
    if not config.triage:
        if config.candidates is not None:
            raise UsageError("--candidates needs the triage stage: drop --no-triage")
        return None
    from testaudit.triage.samples import read_samples

    samples = read_samples(config.candidates) if config.candidates is not None else {}
    if samples and not {t.task_id for t in tasks} & samples.keys():
        raise UsageError(f"{config.candidates}: no sample's task_id is among the audited tasks")
    return StageConfig(
        settings=config.triage_settings,
        exec_settings=config.settings,
        workers=config.workers,
        candidates=samples,
        rules=_rules(config, tasks),
    )


def _rules(config: RunConfig, tasks: list[Task]) -> dict[str, TaskRules]:
    """The --preconditions sidecar's rules, with the --contracts file's contracts borrowed by
    task id (EvalPlus spells HumanEval's and MBPP's ids as testaudit does: HumanEval/N, Mbpp/N)."""
    from testaudit.load.evalplus import borrowed_contracts
    from testaudit.triage.rules import read_sidecar

    rules = read_sidecar(config.preconditions) if config.preconditions is not None else {}
    if config.contracts is None:
        return rules
    contracts = borrowed_contracts(config.contracts)
    ids = {t.task_id for t in tasks}
    if not ids & contracts.keys():
        raise UsageError(f"{config.contracts}: --contracts: no contract's task_id is among the audited tasks")
    for task_id in ids & contracts.keys():
        given = rules.get(task_id, TaskRules())
        rules[task_id] = dataclasses.replace(given, contract=contracts[task_id])
    return rules


def _triage(stage: StageConfig | None, audits: list[TaskAudit], out: Path, progress: Progress,
            config: RunConfig) -> float | None:
    """Run the triage stage on the finished audits; its results go to the same session store."""
    if stage is None:
        return None
    from testaudit.triage import run_stage
    from testaudit.triage.task import run_job as triage_job

    store = Store(out / STORE_FILENAME)
    try:
        # Spawned workers, as for the suite runs: their fixed hash seed makes set order, and so
        # the generated inputs and every verdict, repeatable between runs.
        address = config.dask_address

        def executors(n: int) -> Executor:
            if address is not None:  # the cluster's workers, whatever n the stage asks for
                return DaskExecutor(config.settings, triage_job, None, address)
            return PoolExecutor(config.settings, n, triage_job)

        return run_stage(audits, stage, store, executors, progress.triage)
    finally:
        store.close()


def write_outputs(summary: AuditSummary, out: Path, html: bool) -> None:
    results_json.write(summary, out / "results.json", __version__)
    if html:
        from testaudit.report.html import STRYKER_FILE, write_html
        from testaudit.report.stryker import write_stryker

        write_stryker(summary, out / STRYKER_FILE)
        write_html(summary, out)


def merge(folders: list[Path], out: Path, html: bool = True) -> AuditSummary:
    """`testaudit merge`: the shards' output folders joined into OUT as one unsharded run:
    results.json, session.sqlite (under the unsharded run's key), the HTML and Stryker reports."""
    if any(f.resolve() == out.resolve() for f in folders):
        raise UsageError(f"{out}: --out is one of the parts; merge into another folder")
    parts = [sharding.read_part(f) for f in folders]
    sharding.check_parts(parts)
    for part in parts:
        missing = unrun(part.summary)
        if missing:
            tasks = len({m.task_id for m in missing})
            raise UsageError(f"{part.folder}: {len(missing)} mutants of {tasks} tasks have no verdict "
                             "(an interrupted shard): rerun its audit with --resume, then merge")
    summary = sharding.merged_summary(parts)
    sharding.merge_stores(parts, out, parts[0].shard.run_key)
    # The parts' own bugs' tracebacks, so that the merged folder keeps them as an audit's would.
    logs = [p.folder / LOG_FILE for p in parts if (p.folder / LOG_FILE).is_file()]
    (out / LOG_FILE).unlink(missing_ok=True)
    if logs:
        write_atomic(out / LOG_FILE, "".join(log.read_text(encoding="utf-8", errors="replace")
                                             for log in logs))
    write_outputs(summary, out, html)
    return summary


def executed(summary: AuditSummary) -> int:
    """Mutants that actually ran against a suite in this audit (or a resumed part of it)."""
    return sum(1 for a in summary.tasks for r in a.results.values() if r.status in RAN)


def unrun(summary: AuditSummary) -> list[Mutant]:
    """Mutants of healthy tasks left without a verdict (an interrupted run)."""
    return [
        m for a in summary.tasks if a.status is TaskStatus.OK
        for m in a.mutants if a.outcome(m).status is MutantStatus.PENDING
    ]


# --- strengthen: write the benchmark back with the tests triage chose, then re-audit it --------

STRENGTHEN_ROUNDS = 5  # audits of the written file at most: each may confirm survivors the last missed


@dataclass(frozen=True)
class StrengthenRun:
    """What `strengthen` did: the report, and where its two audits' outputs are."""

    report: StrengthenReport
    before_out: Path
    after_out: Path
    before: AuditSummary
    after: AuditSummary


def strengthen(config: RunConfig, target: Path, max_tests: int, reports: Path = Path("reports"),
               progress: Callable[[], Progress] = _Silent) -> StrengthenRun:
    """Audit `config.dataset` with strengthening triage, write it to `target` with the tests it
    chose, and re-audit the written file (REPORTS/<its name>/, with strengthen-report.json).

    A re-audit that confirms survivors the first audit could not (its suite, and so its inputs,
    changed) adds its suggested tests and audits again, up to STRENGTHEN_ROUNDS; a task whose
    reference fails its strengthened suite (never seen: every test passed on it twice) is
    written back as it was."""

    with local_clusters():  # --dask local:N: one cluster for every audit of it
        return _strengthen(config, target, max_tests, reports, progress)


def _strengthen(config: RunConfig, target: Path, max_tests: int, reports: Path,
                progress: Callable[[], Progress]) -> StrengthenRun:
    from testaudit import strengthen as stage
    from testaudit.store import strengthen_json

    source = Path(load(config.dataset, config.format, config.load_options).source)
    stage.check_target(source, target)
    # config.resume (`strengthen --resume`): the first audit, the long one, goes on from its
    # session store, triage's added tests included; the re-audits are of a new file each round.
    first = dataclasses.replace(
        config, out=reports / dataset_name(config.dataset), triage=True, cache_dir=None,
        triage_settings=dataclasses.replace(config.triage_settings, differential=max_tests))
    before = run(first, progress())  # a fresh Progress per audit: each counts its own verdicts
    added = {a.task.task_id: tuple(a.added_tests) for a in before.tasks
             if a.status is TaskStatus.OK and a.added_tests}
    lines = {a.task.task_id: a.task.origin.line for a in before.tasks if a.task.origin is not None}
    second = dataclasses.replace(config, dataset=str(target), out=reports / dataset_name(str(target)),
                                 resume=False, triage=True)
    rounds = 0
    while True:
        stage.write(source, before.dataset.format, config.load_options,
                    {lines[t]: [a.text for a in tests] for t, tests in added.items() if t in lines}, target)
        after = run(second, progress())
        rounds += 1
        if not _amend(after, added) or rounds >= STRENGTHEN_ROUNDS:
            break
    report = stage.build_report(before, after, added, str(target), max_tests, rounds)
    out = out_dir(second, after.dataset)
    strengthen_json.write(report, out / strengthen_json.FILENAME)
    write_outputs(after, out, config.html)  # again: the HTML now shows the strengthen section
    return StrengthenRun(report, out_dir(first, before.dataset), out, before, after)


def _amend(after: AuditSummary, added: dict[str, tuple[AddedTest, ...]]) -> bool:
    """Fold a re-audit into the additions; True when the file must be written and audited again."""
    changed = False
    for audit in after.tasks:
        task_id = audit.task.task_id
        if audit.status is TaskStatus.BROKEN and task_id in added:
            del added[task_id]  # the original tests, as they were
            changed = True
        elif audit.status is TaskStatus.OK and audit.confirmed_wrong and audit.suggested_tests:
            more = tuple(AddedTest(t, "suggested", "kills wrong programs the re-audit confirmed",
                                   _kills(audit, t)) for t in audit.suggested_tests)
            added[task_id] = added.get(task_id, ()) + more
            changed = True
    return changed


def _kills(audit: TaskAudit, test: str) -> tuple[str, ...]:
    return tuple(sorted(r.mutant_id for r in audit.results.values()
                        if r.suggested_test == test and r.witness is not None and r.witness.confirmed))


# --- verify: replay a stored audit's suggested tests ---------------------------------------------


def verify_results(results_file: Path, kinds: tuple[str, ...], task_globs: tuple[str, ...],
                   memory_cap_mib: int | None, isolate_children: bool,
                   echo: Callable[[str], None]) -> list:
    """`testaudit verify`: replay every suggested test of results.json; raise ThresholdError when
    one does not pass on the reference and fail on its mutant, NothingTestedError when there was
    none to replay. Returns the Replayed records."""
    from testaudit.config import ExecSettings
    from testaudit.errors import NothingTestedError, ThresholdError
    from testaudit.records import SurvivorKind
    from testaudit.triage.replay import replay

    summary = results_json.read(results_file)
    stored = summary.settings
    cap = (memory_cap_mib << 20) if memory_cap_mib else int(stored.get("memory_cap_bytes", 1 << 30))
    settings = ExecSettings(memory_cap_bytes=cap, seed=int(stored.get("seed", 0)), isolate=isolate_children)
    audits = [a for a in summary.tasks
              if not task_globs or any(fnmatch.fnmatchcase(a.task.task_id, g) for g in task_globs)]
    replayed, skipped = replay(audits, settings, frozenset(SurvivorKind(k) for k in kinds))
    for item in skipped:
        echo(f"  skipped {item.task_id}: {item.reason}")
    failed = [r for r in replayed if not r.holds]
    for r in failed:
        echo(f"  NOT REPRODUCED {r.task_id} mutant {r.mutant_id} ({r.kind.value}): the test {r.problem()}")
        echo(f"      {cleaned(r.test).splitlines()[-1] if r.test.strip() else r.test}")
    kinds_seen = sorted({r.kind.value for r in replayed})
    parts = ", ".join(f"{kind} {sum(r.holds for r in replayed if r.kind.value == kind)}/"
                      f"{sum(r.kind.value == kind for r in replayed)}" for kind in kinds_seen)
    echo(f"verify: {len(replayed) - len(failed)} of {len(replayed)} suggested tests pass on the reference "
         f"and fail on their mutant ({parts or 'none'}), each program in a fresh sandbox")
    if not replayed:
        raise NothingTestedError(f"{results_file}: no suggested test to replay "
                                 "(was the audit run with --no-triage, or did it confirm nothing?)")
    if failed:
        raise ThresholdError(f"{len(failed)} suggested test(s) did not reproduce")
    return replayed
