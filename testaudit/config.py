"""Every settings record of a run, and the material each one contributes to cache and resume keys.

Anyone may import this module: it holds data, no stage logic.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

DEFAULT_CACHE_DIR = Path(".testaudit-cache")


@dataclass(frozen=True)
class ExecSettings:
    """How mutants are run: budgets, caps, seed. pickleable: sent to worker processes."""

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
        return self.timeout_factor * power_of_two(reference_seconds) + self.timeout_constant_s

    def to_json(self) -> dict:
        return asdict(self)


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

    def to_json(self) -> dict:
        return asdict(self)

    def program_budget(self, programs: int) -> float:
        return min(MAX_PROGRAM_S, max(MIN_PROGRAM_S, self.diff_seconds / max(programs, 1)))


@dataclass(frozen=True)
class LoadOptions:
    """Choices that change which tests a task gets."""

    suite: str = "base"  # EvalPlus: "base" (the original inputs) or "plus" (base + plus_input)
    challenge: bool = False  # MBPP: also run challenge_test_list

    def to_json(self) -> dict:
        return asdict(self)


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

    @property
    def load_options(self) -> LoadOptions:
        return LoadOptions(self.suite, self.challenge)
