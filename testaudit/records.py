"""Typed records that pass between the pipeline's stages and across process boundaries.

Anyone may import this module. Every record here is frozen (or, for the audit being built, a
plain dataclass owned by the pipeline) and pickleable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from testaudit.config import TriageSettings


class TaskStatus(StrEnum):
    OK = "ok"
    BROKEN = "broken"  # the reference fails its own tests
    ERROR = "error"  # the task cannot be loaded or run at all


class MutantStatus(StrEnum):
    PENDING = "pending"  # generated, not yet run (never in a finished report)
    KILLED = "killed"
    SURVIVED = "survived"
    TIMEOUT = "timeout"
    NO_COVERAGE = "no_coverage"
    EQUIVALENT = "equivalent"
    ERROR = "error"


# Statuses that count as detected / undetected in the mutation score (Stryker's definition).
DETECTED = frozenset({MutantStatus.KILLED, MutantStatus.TIMEOUT})
UNDETECTED = frozenset({MutantStatus.SURVIVED, MutantStatus.NO_COVERAGE})
# Statuses of mutants that really ran against a suite (no_coverage is judged without running).
RAN = frozenset({MutantStatus.KILLED, MutantStatus.SURVIVED, MutantStatus.TIMEOUT})


class SuiteKind(StrEnum):
    """How a task's tests are run against a candidate."""

    CHECK = "check"  # HumanEval: the test defines check(candidate); we call it
    ASSERTS = "asserts"  # MBPP: top-level asserts that name the entry point
    UNITTEST = "unittest"  # BigCodeBench: a unittest TestCases class
    STDIO = "stdio"  # APPS / CodeContests: a program fed stdin, judged on stdout
    INPUTS = "inputs"  # EvalPlus: argument lists; expected outputs come from running the reference
    REPOSITORY = "repository"  # SWE-bench: a repository, a gold patch, FAIL_TO_PASS/PASS_TO_PASS tests


# --- what a task's suite kind needs besides its code and test text (Task.suite_data) -------


@dataclass(frozen=True)
class EvalPlusData:
    """SuiteKind.INPUTS: EvalPlus's argument lists, tolerance and contract."""

    inputs: list  # the audited suite's argument lists, converted as EvalPlus converts its JSON
    extra_inputs: list  # the other suite's: more chances for a witness (never run as the suite)
    atol: float = 0.0  # the task's own tolerance (0: EvalPlus's default rules)
    family: str = "humaneval"  # "humaneval" or "mbpp": which of EvalPlus's special oracles apply
    contract: list[str] = field(default_factory=list)  # the contract's assert lines
    contract_check: str | None = None  # a function with the entry point's parameters and the contract as body


@dataclass(frozen=True)
class StdioData:
    """SuiteKind.STDIO: the (stdin, expected stdout) cases."""

    cases: list[tuple[str, str]]


@dataclass(frozen=True)
class UnittestData:
    """SuiteKind.UNITTEST: the libraries the task declares (BigCodeBench's `libs`)."""

    libs: list[str]


@dataclass(frozen=True)
class PatchedFile:
    """SuiteKind.REPOSITORY: one Python file the gold patch changes, as it reads once patched."""

    path: str  # relative to the repository's root, as the patch names it
    text: str  # the whole file with the gold patch applied (what is mutated)
    lines: tuple[int, ...]  # 1-based lines of `text` that the patch adds or changes


@dataclass(frozen=True)
class EnvPlan:
    """SuiteKind.REPOSITORY: the interpreter an instance's tests run with (docs/swebench.md)."""

    kind: str  # "current" (testaudit's own interpreter) or "venv" (built from an --env-spec entry)
    python: str  # the interpreter's path
    test_command: tuple[str, ...] = ("-m", "pytest")  # after the interpreter: how the tests start
    pythonpath: tuple[str, ...] = ()  # folders of the work tree put first on sys.path ("src")
    # Not a verdict's input (where the cache lives): left out of cache keys (store/cache.py).
    spec_hash: str = ""  # the spec entry's hash: a changed spec is another environment


@dataclass(frozen=True)
class RepositoryData:
    """SuiteKind.REPOSITORY: a SWE-bench instance (the fields of its record) and, once the
    pipeline prepared it (pipeline._prepare_repositories), its patched files and environment."""

    repo: str  # owner/name
    instance_id: str
    base_commit: str
    patch: str  # the gold patch: the reference, and what is mutated
    test_patch: str
    version: str
    fail_to_pass: tuple[str, ...]
    pass_to_pass: tuple[str, ...]
    environment_setup_commit: str = ""
    files: tuple[PatchedFile, ...] = ()  # filled by the preparation
    env: EnvPlan | None = None  # filled by the preparation
    # The prepared work tree (base + test_patch + gold patch, a git repository); a temporary
    # folder of this run, so it is no part of a cache key (store/cache.py skips it).
    workspace: str = field(default="", metadata={"material": False})
    isolate: bool = False  # --isolate: a fresh pytest per mutant, never the warm forked session
    differential: bool = False  # triage on: each survivor's recorded calls are run on it too

    @property
    def tests(self) -> tuple[str, ...]:
        """The tests that judge a patch: FAIL_TO_PASS then PASS_TO_PASS, without repeats."""
        return tuple(dict.fromkeys(self.fail_to_pass + self.pass_to_pass))


SuiteData = EvalPlusData | StdioData | UnittestData | RepositoryData


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based


@dataclass(frozen=True)
class Location:
    start: Position
    end: Position  # exclusive, as in Stryker's schema


@dataclass(frozen=True)
class Origin:
    """Where a task came from, for error messages and CI annotations."""

    path: str
    line: int  # 1-based line of the task's record in the dataset file


@dataclass(frozen=True)
class Task:
    """One benchmark item, normalised. pickleable: sent to worker processes."""

    task_id: str
    entry_point: str
    source: str  # the assembled program under test: prompt (given) + reference solution
    test: str  # the test code, run in the program's namespace
    solution_start: int  # char offset in `source` where the mutable solution begins
    solution_end: int  # char offset where it ends (exclusive)
    suite_kind: SuiteKind = SuiteKind.CHECK
    origin: Origin | None = None
    status: TaskStatus = TaskStatus.OK
    message: str | None = None  # why the task is in error, when it is
    suite_data: SuiteData | None = field(default=None, compare=False)  # per suite kind, see above

    @property
    def solution_lines(self) -> tuple[int, int]:
        """1-based first and last line of the solution inside `source`."""
        first = self.source.count("\n", 0, self.solution_start) + 1
        last = self.source.count("\n", 0, max(self.solution_start, self.solution_end - 1)) + 1
        return first, last


@dataclass(frozen=True)
class Dataset:
    name: str
    source: str  # the file it was read from
    format: str
    tasks: tuple[Task, ...]
    # Which solution is mutated, e.g. "EvalPlus canonical_solution": EvalPlus rewrote most of the
    # originals, so an audit of HumanEval+ mutates other programs than one of HumanEval.
    reference: str = ""


@dataclass(frozen=True)
class Mutant:
    """One plausible wrong program: `source[start:end]` replaced by `replacement`.

    pickleable: sent to worker processes. A span, not the whole program, crosses the process
    boundary (jobs stay small): the mutated text is rebuilt where it runs (`apply`), so the run
    stage guards against a replacement that did not apply, and the program is compiled once at
    generation (the equivalence check) and again in each child that runs it.
    """

    id: str
    task_id: str
    operator: str
    location: Location
    start: int  # char offset into the task's source
    end: int  # char offset, exclusive
    original: str
    replacement: str
    diff: str
    # Set at generation time for mutants that are never run (equivalent, error); else PENDING.
    status: MutantStatus = MutantStatus.PENDING
    detail: str | None = None
    # A repository task's mutant: the patched file it changes; `start`, `end` and `location` are
    # then in that file's text (RepositoryData.files), not in the task's source.
    file: str | None = None

    def apply(self, source: str) -> str:
        return source[: self.start] + self.replacement + source[self.end :]


@dataclass(frozen=True)
class Witness:
    """An input on which a program and the reference disagree, reproduced in a fresh process.

    Each part is text as a reader sees it (store/codec.py keeps it as {"input", "expected",
    "actual"} in every file).
    """

    input: str  # the arguments as in a call, or a stdin program's text
    expected: str  # the reference's result (repr), or what it raised
    actual: str  # the program's result (repr), or what it raised
    # The property of the tested domain the input breaks (triage/domain.py), or None when it meets
    # every known and inferred precondition. A witness outside the domain shows an edge case to
    # check against the task's intent, never a confirmed wrong program.
    outside: str | None = None

    @property
    def confirmed(self) -> bool:
        return self.outside is None


class SurvivorKind(StrEnum):
    """The three kinds of survivor, by the evidence triage found (see docs/triage.md)."""

    CONFIRMED = "confirmed_wrong"  # a witness that meets every known and inferred precondition
    OUTSIDE = "outside_domain"  # witnesses only outside the tested domain: an edge case to judge
    UNCONFIRMED = "unconfirmed"  # no witness: possibly equivalent


def survivor_kind(result: MutantResult) -> SurvivorKind:
    if result.witness is None:
        return SurvivorKind.UNCONFIRMED
    return SurvivorKind.CONFIRMED if result.witness.confirmed else SurvivorKind.OUTSIDE


@dataclass(frozen=True)
class MutantResult:
    """The verdict on one mutant. pickleable: returned across the process pool."""

    mutant_id: str
    task_id: str
    status: MutantStatus
    detail: str | None = None
    seconds: float = 0.0
    # Survivor triage (filled by the triage stage; None/0 until then):
    witness: Witness | None = None
    suggested_test: str | None = None  # verified: passes on the reference, fails on the mutant
    inputs_tried: int = 0


class CandidateVerdict(StrEnum):
    """What triage concludes about a model-written program (a sample) of a task."""

    FAILS = "fails_tests"  # the task's suite rejects it
    PASSES = "passes"  # passes the suite and agrees with the reference on every input tried
    WRONG = "passes_but_wrong"  # passes the suite, yet a reproduced witness shows it is wrong
    # passes the suite; differs from the reference only on inputs outside the tested domain
    OUTSIDE = "passes_differs_outside_domain"
    ERROR = "error"  # could not be judged (the task is broken, or triage could not run)


@dataclass(frozen=True)
class CandidateResult:
    """The verdict on one sample. pickleable: returned across the process pool."""

    task_id: str
    sample: int  # 1-based line of the sample in its samples file
    completion: str
    verdict: CandidateVerdict
    detail: str | None = None  # why it fails the suite, or why it could not be judged
    witness: Witness | None = None  # as MutantResult.witness
    suggested_test: str | None = None
    inputs_tried: int = 0


@dataclass(frozen=True)
class ReferenceRun:
    """The reference solution run against its own suite. pickleable: returned across the pool."""

    task_id: str
    passed: bool
    message: str | None  # the failure, when it failed
    suite_seconds: float  # median CPU time of one suite run (suites.time_reference)
    # False when a candidate that always raises passes the suite: the suite never calls it.
    suite_calls_entry_point: bool = True


@dataclass(frozen=True)
class Candidate:
    """One model-written sample of a task (--candidates). pickleable: sent to worker processes."""

    task_id: str
    sample: int  # 1-based line in the samples file
    completion: str
    # EvalPlus samples may give the whole program (`solution`) instead of a completion of the
    # prompt: then it is run as it is, as EvalPlus's evaluator runs it.
    whole: bool = False

    def program(self, task: Task) -> str:
        """The program the benchmark's harness would run: prompt + completion (+ what follows)."""
        if self.whole:
            return self.completion if self.completion.endswith("\n") else self.completion + "\n"
        text = task.source[: task.solution_start] + self.completion
        if not text.endswith("\n"):
            text += "\n"
        return text + task.source[task.solution_end :]


@dataclass(frozen=True)
class TaskRules:
    """A task's precondition and oracle expressions. pickleable: sent to worker processes."""

    precondition: str | None = None
    oracle: str | None = None
    # A borrowed contract (--contracts): the source of a function, with the parameters of the
    # task's counterpart in the other benchmark, whose body is that task's contract asserts.
    contract: str | None = None


@dataclass(frozen=True)
class TaskJob:
    """One task and the mutants of it still to run. pickleable: sent to worker processes."""

    task: Task
    mutants: tuple[Mutant, ...]

    @property
    def task_id(self) -> str:
        return self.task.task_id


@dataclass(frozen=True)
class TriageJob:
    """One task to triage. pickleable: sent to worker processes."""

    task: Task
    survivors: tuple[Mutant, ...]
    results: tuple[MutantResult, ...]  # the survivors' verdicts from the suite runs
    candidates: tuple[Candidate, ...]
    settings: TriageSettings
    suite_seconds: float  # the reference's suite time, for the samples' suite budget
    rules: TaskRules = field(default_factory=TaskRules)  # precondition and oracle

    @property
    def task_id(self) -> str:
        return self.task.task_id


@dataclass(frozen=True)
class AddedTest:
    """A test triage offers for strengthening a task's suite (`testaudit strengthen`), with why.

    pickleable: returned across the process pool. `text` is in the suite's own style (what
    `Suite.write_test` writes); it was run on the reference, and passed, in two fresh children.
    """

    text: str
    kind: str  # "suggested" (kills confirmed wrong survivors) or "differential" (the reference's result)
    reason: str  # one line: what it adds (mutants killed, lines of the reference, boundary, output)
    kills: tuple[str, ...] = ()  # ids of the survivors it fails on (triage's evidence)
    lines: tuple[int, ...] = ()  # lines of the program it runs that the suite never runs


@dataclass(frozen=True)
class TriageOutcome:
    """What triage found for one task. pickleable: returned across the process pool."""

    task_id: str
    results: tuple[MutantResult, ...]  # the survivors, with status, witness and suggested test
    suggested_tests: tuple[str, ...]  # a verified set that kills every confirmed survivor
    candidates: tuple[CandidateResult, ...]
    inputs: int  # inputs kept (the suite's own and generated)
    note: str | None = None  # why triage could prove little or nothing for this task
    # --max-tests (strengthen): the suggested tests, then differential ones, each with its reason
    added: tuple[AddedTest, ...] = ()


# --- events: what a job running in a worker reports to the parent, in order -----------------


@dataclass(frozen=True)
class ResultBatch:
    """Verdicts on some of a task's mutants."""

    results: tuple[MutantResult, ...]


@dataclass(frozen=True)
class JobFailed:
    """A job could not do its work for the task (its task is in error, or its triage failed)."""

    task_id: str
    message: str
    traceback: str | None = None  # when a bug of ours is why: for the audit's log


@dataclass(frozen=True)
class Incident:
    """A bug of ours that cost one verdict (that mutant's status is error), not the whole task."""

    task_id: str
    message: str
    traceback: str


@dataclass(frozen=True)
class JobDone:
    """The last event of every job; a mutant job's carries what it cost (the work split)."""

    task_id: str
    busy_seconds: float = 0.0  # the worker's wall time on this job
    forks: int = 0  # sandbox children the job forked


# --- scheduling (issue 13, "Speed"): split tasks ------------------------------------------
# A task whose estimated cost (its reference's suite time x the mutants to run) is large is
# split: its first job times the reference, measures coverage, and hands the rest of its
# mutants back as TaskParts, which any worker (or, later, any machine) can run on its own.


@dataclass(frozen=True)
class TaskPart(TaskJob):
    """Some of a task's mutants, to run against a reference that its task's first job already
    timed: the budget is the one that timing gave, shared by all the task's parts. Every mutant
    here needs running (the first job gave the unreached ones no_coverage). pickleable, and
    self-contained: a part needs no other job's state."""

    reference: ReferenceRun
    part: int  # 1..parts-1 (the first job keeps part 0)
    parts: int
    estimated_seconds: float  # CPU seconds the cost model expects it to take


@dataclass(frozen=True)
class Split:
    """A task's first job split it: these parts are to run besides it, most expensive first.
    Its JobDone then ends only its own part; each part ends with a JobDone of its own."""

    task_id: str
    jobs: tuple[TaskPart, ...]


# --- end of the scheduling block -----------------------------------------------------------

# A job's events: a ReferenceRun first (suite runs), verdicts in batches, a TriageOutcome
# (triage), a JobFailed or Incidents, a Split (a task split into parts), and always a JobDone
# last.
Event = ReferenceRun | ResultBatch | TriageOutcome | JobFailed | Incident | JobDone | Split


@dataclass
class Score:
    """Mutant counts of a task or a benchmark. Allows sum() over tasks."""

    killed: int = 0
    survived: int = 0
    timeout: int = 0
    no_coverage: int = 0
    equivalent: int = 0
    error: int = 0

    @property
    def mutants(self) -> int:
        return (
            self.killed
            + self.survived
            + self.timeout
            + self.no_coverage
            + self.equivalent
            + self.error
        )

    @property
    def detected(self) -> int:
        return self.killed + self.timeout

    @property
    def undetected(self) -> int:
        return self.survived + self.no_coverage

    @property
    def scored(self) -> int:
        return self.detected + self.undetected

    @property
    def mutation_score(self) -> float | None:
        """(killed + timeout) / (killed + timeout + survived + no_coverage); None if nothing scored."""
        return self.detected / self.scored if self.scored else None

    def count(self, status: MutantStatus) -> None:
        if status is not MutantStatus.PENDING:
            setattr(self, status.value, getattr(self, status.value) + 1)

    def __add__(self, other: Score) -> Score:
        return Score(
            self.killed + other.killed,
            self.survived + other.survived,
            self.timeout + other.timeout,
            self.no_coverage + other.no_coverage,
            self.equivalent + other.equivalent,
            self.error + other.error,
        )

    def __radd__(self, other: int | Score) -> Score:
        # sum() starts from 0.
        if other == 0:
            return self
        return NotImplemented if not isinstance(other, Score) else other + self


@dataclass
class TaskAudit:
    """Everything known about one task after a run."""

    task: Task
    mutants: list[Mutant]
    results: dict[str, MutantResult]  # by mutant id
    reference: ReferenceRun | None = None
    status: TaskStatus = TaskStatus.OK
    message: str | None = None
    # Triage: a small set of verified assertions that together kill every confirmed survivor.
    suggested_tests: list[str] = field(default_factory=list)
    candidates: list[CandidateResult] = field(default_factory=list)  # --candidates samples
    added_tests: list[AddedTest] = field(default_factory=list)  # strengthen: TriageOutcome.added

    def outcome(self, mutant: Mutant) -> MutantResult:
        """The final verdict on a mutant: its run result, or its generation-time status."""
        if mutant.id in self.results:
            return self.results[mutant.id]
        return MutantResult(mutant.id, mutant.task_id, mutant.status, mutant.detail)

    @property
    def survivors(self) -> list[Mutant]:
        """The mutants the suite lets through (survived or no coverage), in generation order."""
        return [m for m in self.mutants if self.outcome(m).status in UNDETECTED]

    def kind(self, mutant: Mutant) -> SurvivorKind:
        return survivor_kind(self.outcome(mutant))

    def _count(self, kind: SurvivorKind) -> int:
        if self.status is not TaskStatus.OK:
            return 0
        return sum(1 for m in self.survivors if self.kind(m) is kind)

    @property
    def confirmed_wrong(self) -> int:
        """Survivors with a reproduced witness inside the tested domain: wrong programs that pass."""
        return self._count(SurvivorKind.CONFIRMED)

    @property
    def outside_domain(self) -> int:
        """Survivors whose only reproduced witnesses lie outside the tested domain (edge cases)."""
        return self._count(SurvivorKind.OUTSIDE)

    @property
    def score(self) -> Score:
        score = Score()
        if self.status is TaskStatus.OK:
            for mutant in self.mutants:
                score.count(self.outcome(mutant).status)
        return score


@dataclass(frozen=True)
class Work:
    """Where a run's time went (benchmarks/bench_vs_mutmut.py prints it): measured, never judged."""

    workers: int
    generation_seconds: float  # the parent's wall time generating mutants (overlaps the runs)
    run_seconds: float  # wall time of the suite-run phase, first job to last verdict
    busy_seconds: float  # the workers' wall time on jobs, summed
    suite_seconds: float  # the mutants' own in-sandbox CPU time, summed (timeouts included)
    timeout_seconds: float  # of which mutants that ran out of budget
    timeouts: int
    jobs: int
    forks: int  # sandbox children forked; one per job is the floor

    @property
    def reforks(self) -> int:
        return max(0, self.forks - self.jobs)

    @property
    def idle_seconds(self) -> float:
        """Worker time with no job, over the run phase."""
        return max(0.0, self.run_seconds * self.workers - self.busy_seconds)


@dataclass(frozen=True)
class ShardInfo:
    """What a shard's output says of itself, so that `testaudit merge` can check its parts."""

    index: int  # K of --shard K/N, 1-based
    count: int  # N
    tasks: tuple[str, ...]  # the task ids this shard audited, in dataset order
    selection: tuple[str, ...]  # every task id of the unsharded selection, in dataset order
    run_key: str  # the unsharded run's key: the merged session store's, so --resume accepts it
    # (name, value) of everything that must be equal in every shard: the dataset's digest,
    # operators, budgets, seed, triage settings, version...; values as short JSON text.
    checks: tuple[tuple[str, str], ...]


@dataclass
class AuditSummary:
    """The whole run, as stored and reported."""

    dataset: Dataset
    settings: dict
    tasks: list[TaskAudit]
    seconds: float = 0.0
    kept_from_resume: int = 0
    cached_tasks: int = 0  # tasks whose results came from the content-addressed cache
    triage_seconds: float | None = None  # None: no triage ran, so no survivor is confirmed or not
    incidents: int = 0  # bugs of ours that cost a verdict, with tracebacks in OUT/testaudit.log
    work: Work | None = None  # None: read back from a results file of an older version
    shard: ShardInfo | None = None  # set when this run is one shard of a split audit (--shard K/N)

    @property
    def score(self) -> Score:
        return sum((t.score for t in self.tasks), Score())

    @property
    def confirmed_wrong(self) -> int:
        return sum(t.confirmed_wrong for t in self.tasks)

    @property
    def outside_domain(self) -> int:
        return sum(t.outside_domain for t in self.tasks)

    @property
    def tasks_accepting_wrong(self) -> int:
        return sum(1 for t in self.tasks if t.confirmed_wrong)

    @property
    def triaged(self) -> bool:
        """Whether triage ran; if not, no survivor is confirmed wrong, or unconfirmed."""
        return self.triage_seconds is not None

    @property
    def unconfirmed(self) -> int:
        """Survivors without a reproduced witness: possibly equivalent to the reference."""
        return self.score.undetected - self.confirmed_wrong - self.outside_domain

    @property
    def suggested_test_count(self) -> int:
        return sum(len(t.suggested_tests) for t in self.tasks)

    @property
    def samples(self) -> list[CandidateResult]:
        """Every judged model sample (--candidates), task by task."""
        return [c for t in self.tasks for c in t.candidates]

    def count_tasks(self, status: TaskStatus) -> int:
        return sum(1 for t in self.tasks if t.status is status)


# --- strengthen: the benchmark written back with added tests, and the re-audit's proof ------


@dataclass(frozen=True)
class StrengthenedTask:
    """One task of a strengthened benchmark: what was added, and what the re-audit found."""

    task_id: str
    tests: tuple[AddedTest, ...]  # as written into the task's record, in order
    score_before: float | None
    score_after: float | None
    confirmed_before: int
    confirmed_after: int
    survivors_before: int
    survivors_after: int
    reference_passes: bool  # the re-audit ran the reference on the strengthened suite: it passed
    note: str | None = None  # why nothing was added, or what the re-audit says


@dataclass(frozen=True)
class StrengthenReport:
    """strengthen-report.json: the written file and the proof from its re-audit."""

    dataset: str  # the file strengthened
    output: str  # the file written
    format: str
    max_tests: int
    rounds: int  # audits of the written file (a re-audit may confirm more; their tests are added)
    before: Score
    after: Score
    confirmed_before: int
    confirmed_after: int
    tasks: tuple[StrengthenedTask, ...]

    @property
    def tests_added(self) -> int:
        return sum(len(t.tests) for t in self.tasks)

    @property
    def tasks_changed(self) -> int:
        return sum(1 for t in self.tasks if t.tests)
