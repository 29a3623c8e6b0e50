"""Replay a stored audit's evidence: does each suggested test still pass on the reference and
fail on its mutant? (`testaudit verify`)

A reader who doubts a published figure checks a witness by hand: rebuild the mutant, run the
test. This does it for every survivor that has a suggested test, from results.json alone,
with no input generation (so no clock or load can change what is replayed): each program runs
in a fresh sandbox child, as triage verified it when it wrote the test. A test that no longer
passes on the reference, or that its mutant now passes, is reported by name.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass

from testaudit import suites
from testaudit.config import ExecSettings, TriageSettings
from testaudit.records import UNDETECTED, SuiteKind, SurvivorKind, TaskAudit, TaskStatus
from testaudit.sandbox import child as children
from testaudit.triage.compare import (
    Outcome,
    VerifyPlan,
    call,
    load_program,
    program_filename,
    reseed,
    verify_body,
)
from testaudit.values import Input

FRAMES = frozenset({("testaudit.triage.compare", "Outcome")})
CALL_TIMEOUT_S = 5.0  # per call of a test: a correct program that is merely slow still passes
FRAME_SLACK_S = 1.0


@dataclass(frozen=True)
class Replayed:
    """One suggested test, replayed on the reference and on the mutant it was written for."""

    task_id: str
    mutant_id: str
    kind: SurvivorKind
    test: str
    on_reference: bool | None  # True: passes (as it must); None: neither passed nor failed
    on_mutant: bool | None  # False: fails (as it must)

    @property
    def holds(self) -> bool:
        return self.on_reference is True and self.on_mutant is False

    def problem(self) -> str:
        if self.on_reference is not True:
            return ("fails on the reference" if self.on_reference is False
                    else "gives no verdict on the reference")
        return "passes on the mutant" if self.on_mutant is True else "gives no verdict on the mutant"


@dataclass(frozen=True)
class Skipped:
    task_id: str
    reason: str


def replayable(audit: TaskAudit) -> str | None:
    """Why a task's tests cannot be replayed here, or None."""
    if audit.status is not TaskStatus.OK:
        return f"the task was not audited ({audit.status.value})"
    if audit.task.suite_kind is SuiteKind.REPOSITORY:
        return "a repository task: its tests run in the instance's environment (docs/swebench.md)"
    return None


def _expected(task, texts: list[str], settings: ExecSettings, workdir: str) -> list[Outcome | None]:
    """The reference's outcome on each EvalPlus test's input line, which that kind's check needs
    (other kinds' tests are self-contained: None), all in one child per task."""
    from testaudit.suites.evalplus import EVALPLUS_INPUT, read_evalplus_input

    inputs = {k: args for k, text in enumerate(texts) if text.startswith(EVALPLUS_INPUT)
              and (args := read_evalplus_input(text, task.task_id)) is not None}
    found: list[Outcome | None] = [None] * len(texts)
    if not inputs:
        return found
    suite = suites.suite_for(task)

    def body(send: children.Send) -> None:
        _, function = load_program(task.source, program_filename("reference", task.task_id),
                                   task.entry_point, settings.seed, suite)
        seed = reseed(task.source, settings.seed)
        for k, args in inputs.items():
            send(("outcome", k, call(function, Input(tuple(args)), CALL_TIMEOUT_S, seed)))

    budget = CALL_TIMEOUT_S + FRAME_SLACK_S
    child = children.fork(body, settings, workdir, FRAMES)
    for frame in children.frames(child, max(budget, settings.reference_timeout_s / 4), budget):
        if frame[0] == "outcome":
            found[frame[1]] = frame[2]
    return found


def _verdicts(task, source: str, filename: str, texts: list[str], expected: list[Outcome | None],
              settings: ExecSettings, atol: float, workdir: str) -> list[bool | None]:
    """Run tests on one program in a fresh child: per test True passes, False fails, else None."""
    suite = suites.suite_for(task)
    plan = VerifyPlan(source, filename, task.entry_point, (), tuple(texts), suite.callee(task.entry_point),
                      CALL_TIMEOUT_S, suite.comparison(task, atol), settings.seed, task.source,
                      None, tuple(expected))
    found: list[bool | None] = [None] * len(texts)
    budget = 2 * CALL_TIMEOUT_S + FRAME_SLACK_S
    child = children.fork(lambda send: verify_body(plan, send), settings, workdir, FRAMES)
    for frame in children.frames(child, max(budget, settings.reference_timeout_s / 4), budget):
        if frame[0] == "broken":
            return [False] * len(texts)  # a program that cannot even load fails every test
        if frame[0] == "assert":
            found[frame[1]] = frame[2]
    return found


def replay_task(audit: TaskAudit, settings: ExecSettings, kinds: frozenset[SurvivorKind] = frozenset(),
                atol: float = TriageSettings().atol) -> list[Replayed]:
    """Replay every suggested test of one task's survivors (of these kinds; empty: all): the
    reference runs each distinct test once, in one child; each mutant its own, in its own."""
    task = audit.task
    chosen = [m for m in audit.mutants
              if audit.outcome(m).status in UNDETECTED and audit.outcome(m).suggested_test
              and (not kinds or audit.kind(m) in kinds)]
    if not chosen:
        return []
    texts = list(dict.fromkeys(audit.outcome(m).suggested_test for m in chosen))
    position = {text: k for k, text in enumerate(texts)}
    with tempfile.TemporaryDirectory(prefix="testaudit-verify-") as workdir:
        expected = _expected(task, texts, settings, workdir)
        on_reference = _verdicts(task, task.source, program_filename("reference", task.task_id),
                                 texts, expected, settings, atol, workdir)
        found = []
        for mutant in chosen:
            k = position[audit.outcome(mutant).suggested_test]
            on_mutant = _verdicts(task, mutant.apply(task.source), program_filename("mutant", mutant.id),
                                  [texts[k]], [expected[k]], settings, atol, workdir)[0]
            found.append(Replayed(task.task_id, mutant.id, audit.kind(mutant), texts[k], on_reference[k],
                                  on_mutant))
    return found


def replay(audits: list[TaskAudit], settings: ExecSettings,
           kinds: frozenset[SurvivorKind] = frozenset()) -> tuple[list[Replayed], list[Skipped]]:
    """Replay the suggested tests of every task; the tasks that cannot be replayed, and why."""
    replayed, skipped = [], []
    for audit in audits:
        if not any(audit.outcome(m).suggested_test for m in audit.mutants):
            continue
        reason = replayable(audit)
        if reason is not None:
            skipped.append(Skipped(audit.task.task_id, reason))
            continue
        replayed.extend(replay_task(audit, settings, kinds))
    return replayed, skipped
