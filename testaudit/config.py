"""Every settings record of a run, and the material each one contributes to cache and resume keys.

Anyone may import this module: it holds data, no stage logic.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

DEFAULT_CACHE_DIR = Path(".testaudit-cache")

# A sandbox child's frame is late when it has used its budget in CPU time, or WALL_FACTOR times
# its budget in wall time (a sleeping or blocked child uses no CPU): see sandbox/child.py.
WALL_FACTOR = 4.0


@dataclass(frozen=True)
class ExecSettings:
    """How mutants are run: budgets, caps, seed. pickleable: sent to worker processes."""

    timeout_factor: float = 10.0
    timeout_constant_s: float = 0.05  # CPU seconds: see budget() and docs/architecture.md
    memory_cap_bytes: int = 1 << 30
    file_cap_bytes: int = 64 << 20
    seed: int = 0
    reference_timeout_s: float = 60.0
    # Wall seconds the pool waits for any word from a busy worker before it kills and replaces
    # it (a stopped or stuck worker: its job's mutants then go on as after a worker's death).
    # None: derived from the budgets (silence_bound). Not a verdict's budget: not in to_json.
    worker_deadline_s: float | None = None
    # Namespaces for sandbox children where the kernel allows them (sandbox/isolate.py). They
    # change no verdict of a task that stays in its folder: not in to_json either.
    isolate: bool = True

    def budget(self, reference_seconds: float) -> float:
        """factor x the reference's suite time + constant, in CPU seconds.

        The reference time is first rounded up to a power of two: measured times wobble by a
        few percent between runs, and a budget that wobbles with them flips the verdict of any
        mutant that needs about that long (HumanEval/75's `%` -> `//` needs ~1.4 s against a
        budget of 1.42-1.45 s). Rounding moves the boundary only when the reference's time
        crosses a power of two.
        """
        return self.timeout_factor * power_of_two(reference_seconds) + self.timeout_constant_s

    def silence_bound(self, reference_seconds: float | None) -> float:
        """How long a worker may say nothing while it runs one job: longer than any read of a
        child can wait (the reference, coverage or a replacement's warm-up: the reference
        timeout; a mutant: twice its budget), in wall time, plus slack. `reference_seconds`:
        the reference's suite time once the job has reported it, else None."""
        if self.worker_deadline_s is not None:
            return self.worker_deadline_s
        longest = self.reference_timeout_s
        if reference_seconds is not None:
            longest = max(longest, 2 * self.budget(reference_seconds))
        return WALL_FACTOR * longest + 30.0

    def to_json(self) -> dict:
        material = asdict(self)
        del material["worker_deadline_s"]  # liveness, not verdicts: keeps cache and resume keys
        del material["isolate"]
        return material


def power_of_two(seconds: float) -> float:
    """`seconds` rounded up to a power of two (0 stays 0): a measured time made stable."""
    return 2.0 ** math.ceil(math.log2(seconds)) if seconds > 0 else 0.0


MIN_PROGRAM_S, MAX_PROGRAM_S = 0.1, 1.0


@dataclass(frozen=True)
class TriageSettings:
    """Budgets and tolerance of the triage stage. pickleable: sent to worker processes."""

    max_inputs: int = 1000  # kept inputs per task (the suite's own plus generated ones)
    seconds: float = 1.0  # CPU time per task for generating inputs and running the reference
    # CPU time per task for running its survivors and samples over the inputs, shared among them
    # (at least MIN_PROGRAM_S and at most MAX_PROGRAM_S each). A program that disagrees stops
    # early; this bounds the cost of the ones that never do, on tasks with slow references.
    diff_seconds: float = 2.0
    atol: float = 1e-6  # absolute tolerance for floats, recursively inside containers
    seed: int = 0  # for input generation (the suite runs use ExecSettings.seed)
    # `testaudit strengthen --max-tests`: differential tests per task to choose and verify
    # (triage/differential.py), besides the suggested ones; None (an audit): no strengthening.
    differential: int | None = None

    def to_json(self) -> dict:
        material = asdict(self)
        if self.differential is None:  # an audit's keys stay what they were before strengthen existed
            del material["differential"]
        return material

    def program_budget(self, programs: int) -> float:
        return min(MAX_PROGRAM_S, max(MIN_PROGRAM_S, self.diff_seconds / max(programs, 1)))


@dataclass(frozen=True)
class LoadOptions:
    """Choices that change which tests a task gets."""

    suite: str = "base"  # EvalPlus: "base" (the original inputs) or "plus" (base + plus_input)
    challenge: bool = False  # MBPP: also run challenge_test_list


@dataclass(frozen=True)
class RepoSettings:
    """Repository tasks (SWE-bench): where the repositories are, and how their tests run."""

    repos: Path | None = None  # --repos DIR: DIR/owner/name or DIR/owner__name, a clone or a mirror
    source: Path | None = None  # --source DIR: the one instance's tree, taken as it is
    env: str = "current"  # --env: "current" (this interpreter) or "venv" (built from --env-spec)
    env_spec: Path | None = None  # --env-spec FILE; None: the spec shipped with testaudit
    isolate: bool = False  # --isolate: a fresh pytest per mutant instead of the warm forked session
    env_cache: Path | None = None  # where venvs are kept; None: under --cache-dir (or its default)

    def to_json(self) -> dict:
        """What decides verdicts (not where the trees come from): hash material."""
        return {"env": self.env, "isolate": self.isolate}


@dataclass(frozen=True)
class Shard:
    """--shard K/N: audit the K-th (1-based) of N parts of the selected tasks (docs/shards.md)."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not 1 <= self.index <= self.count:
            raise ValueError(f"shard {self.index}/{self.count}: K must be between 1 and N")

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @classmethod
    def parse(cls, text: str) -> Shard:
        """'2/8' -> Shard(2, 8); ValueError with a one-line reason otherwise."""
        k, sep, n = text.partition("/")
        if not (sep and k.isdigit() and n.isdigit() and k.isascii() and n.isascii()):
            raise ValueError(f"{text!r} is not K/N (e.g. 2/8)")
        return cls(int(k), int(n))


@dataclass(frozen=True)
class RunConfig:
    """Everything a run needs, from the command line or from a caller."""

    dataset: str = "humaneval"
    format: str | None = None
    tasks: tuple[str, ...] = ()  # glob patterns on task ids
    limit: int | None = None
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    out: Path | None = None  # default: reports/<dataset name>
    resume: bool = False
    operators: tuple[str, ...] = ()
    settings: ExecSettings = field(default_factory=ExecSettings)
    html: bool = True
    cache_dir: Path | None = DEFAULT_CACHE_DIR  # None: no cache (--no-cache)
    suite: str = "base"  # EvalPlus: audit the "base" or the "plus" suite
    challenge: bool = False  # MBPP: add challenge_test_list to the tests
    triage: bool = True  # survivor triage: witnesses, suggested tests (--no-triage skips it)
    triage_settings: TriageSettings = field(default_factory=TriageSettings)
    candidates: Path | None = None  # --candidates: a HumanEval samples file to audit
    preconditions: Path | None = None  # --preconditions: a sidecar of task preconditions
    contracts: Path | None = None  # --contracts: an EvalPlus file whose contracts the tasks borrow
    repo: RepoSettings = field(default_factory=RepoSettings)  # repository tasks (SWE-bench)
    shard: Shard | None = None  # --shard K/N: only this part of the selected tasks
    # --dask: run the jobs on a Dask cluster, "local:N" or a scheduler's tcp:// or tls:// address
    dask_address: str | None = None

    @property
    def load_options(self) -> LoadOptions:
        return LoadOptions(self.suite, self.challenge)
