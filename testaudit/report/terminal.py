"""What the audit prints: live progress (a bar on a TTY, log lines otherwise) and the summary."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from testaudit.records import (
    AuditSummary,
    CandidateVerdict,
    Event,
    JobDone,
    MutantStatus,
    ReferenceRun,
    ResultBatch,
    Split,
    StrengthenReport,
    TaskStatus,
)
from testaudit.text import percent, plural


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds >= 60 else f"{seconds}s"


# The cost model's fixed part of a mutant's cost, besides its task's suite time (the run
# stage's MUTANT_OVERHEAD_S: the report stage does not import the run stage). Only the ETA
# depends on it.
MUTANT_OVERHEAD_S = 0.0004


class TerminalProgress:
    """Counts verdicts as they arrive and shows them; redraws at most 10 times a second.

    The plan: every task's mutants are counted as the task is planned, and the pipeline plans
    all of them ahead while the first ones run; until then the total is estimated from the
    tasks planned so far (shown with a `~`). The ETA comes from the cost model: each mutant
    costs about its task's reference suite time plus a fixed overhead (the typical one until
    its task's reference is timed), and the remaining cost is divided by the cost done per
    second so far. Triage shows its tasks done, their rate and an ETA likewise.
    """

    def __init__(self, stream: TextIO | None = None, tty: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.total = self.done = self.killed = self.survived = self.timeout = 0
        self.tasks = self.tasks_done = 0
        self.all_tasks = 0  # the tasks of the audit
        self.scanned_tasks: int | None = None  # tasks whose plan is known (None: not told)
        self.finished: set[str] = set()
        self.per_task: dict[str, int] = {}  # planned mutants, to drop those of broken tasks
        self.judged: dict[str, int] = {}  # verdicts per task
        self.suite_s: dict[str, float] = {}  # reference suite time per task, once timed
        self.jobs: dict[str, int] = {}  # jobs of a task still running (a split task has more)
        self.cost_done = 0.0
        self.started = self.last = time.monotonic()
        self.triage_started: float | None = None

    def start(self, tasks: int) -> None:
        self.tasks, self.total, self.done, self.all_tasks = 0, 0, 0, tasks
        self.started = self.last = time.monotonic()
        self._line(f"auditing {tasks} tasks (mutants to judge: estimated (~) until every task is "
                   "planned; ETA from the cost model)")

    def planned(self, task_id: str, mutants: int) -> None:
        self.total += mutants
        self.tasks += 1
        self.per_task[task_id] = mutants
        self.jobs[task_id] = self.jobs.get(task_id, 0) + 1

    def scanned(self, tasks: int) -> None:
        """`tasks` of the audit's tasks are planned (with or without mutants left to run)."""
        self.scanned_tasks = tasks

    def _cost(self, task_id: str) -> float:
        """One mutant's estimated cost in the task: its suite time, or the median known one."""
        seconds = self.suite_s.get(task_id)
        if seconds is None:
            known = sorted(self.suite_s.values())
            seconds = known[len(known) // 2] if known else 0.0
        return seconds + MUTANT_OVERHEAD_S

    def event(self, event: Event) -> None:
        if isinstance(event, ResultBatch):
            for result in event.results:
                self.done += 1
                self.judged[result.task_id] = self.judged.get(result.task_id, 0) + 1
                self.cost_done += self._cost(result.task_id)
                if result.status is MutantStatus.KILLED:
                    self.killed += 1
                elif result.status is MutantStatus.SURVIVED:
                    self.survived += 1
                elif result.status is MutantStatus.TIMEOUT:
                    self.timeout += 1
        elif isinstance(event, ReferenceRun):
            self.suite_s[event.task_id] = event.suite_seconds
            if not event.passed:
                # A broken task's mutants are never run: they leave the count to judge.
                self.total -= self.per_task.pop(event.task_id, 0)
        elif isinstance(event, Split):
            self.jobs[event.task_id] = self.jobs.get(event.task_id, 0) + len(event.jobs)
        elif isinstance(event, JobDone):
            left = self.jobs[event.task_id] = self.jobs.get(event.task_id, 1) - 1
            if left <= 0:
                self.finished.add(event.task_id)  # a set: a retried task reports done twice
            self.tasks_done = len(self.finished)
        now = time.monotonic()
        if now - self.last >= (0.1 if self.tty else 5.0):
            self.last = now
            self._show()

    def _estimated(self) -> bool:
        return self.scanned_tasks is not None and self.scanned_tasks < self.all_tasks

    def _totals(self) -> tuple[int, int]:
        """Mutants and tasks to judge: counted, or estimated while the plan is incomplete."""
        if not self._estimated() or not self.scanned_tasks:
            return self.total, self.tasks
        scale = self.all_tasks / self.scanned_tasks
        return round(self.total * scale), round(self.tasks * scale)

    def _remaining_cost(self, total: int) -> float:
        left = sum(max(0, planned - self.judged.get(task_id, 0)) * self._cost(task_id)
                   for task_id, planned in self.per_task.items())
        unplanned = max(0, total - self.total)  # estimated, of tasks not planned yet
        return left + unplanned * self._cost("")

    def _status(self) -> str:
        elapsed = time.monotonic() - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        total, tasks = self._totals()
        cost_rate = self.cost_done / elapsed if elapsed > 0 else 0.0
        eta = f"ETA {_clock(self._remaining_cost(total) / cost_rate)}" if cost_rate > 0 else "ETA ?"
        mark = "~" if self._estimated() else ""
        return (
            f"{self.done}/{mark}{total} mutants, {self.tasks_done}/{mark}{tasks} tasks | "
            f"killed {self.killed} survived {self.survived} timeout {self.timeout} | "
            f"{rate:.0f}/s {eta}"
        )

    def _show(self) -> None:
        if self.tty:
            width = 24
            total = self._totals()[0]
            filled = min(width, int(width * self.done / total)) if total else width
            bar = "#" * filled + "-" * (width - filled)
            self.stream.write(f"\r[{bar}] {self._status()}\x1b[K")
            self.stream.flush()
        else:
            self._line(self._status())

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.tty:
            self._show()
            self.stream.write("\n")
        else:
            self._line(self._status())
        self.triage_started = time.monotonic()  # triage follows the suite runs

    def notice(self, text: str) -> None:
        """One line the user should read before the audit starts (nothing to resume)."""
        self._line(text)

    def triage(self, done: int, total: int) -> None:
        """Progress of the triage stage, which follows the suite runs: tasks done of all it
        triages, their rate and an ETA from it."""
        now = time.monotonic()
        if self.triage_started is None:
            self.triage_started = now
        if done < total and now - self.last < (0.1 if self.tty else 5.0):
            return
        self.last = now
        elapsed = now - self.triage_started
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = f"ETA {_clock((total - done) / rate)}" if rate > 0 else "ETA ?"
        text = (f"triage: {done}/{total} tasks (witness inputs, suggested tests) | "
                f"{rate:.1f} tasks/s {eta}")
        if self.tty:
            self.stream.write(f"\r{text}\x1b[K" + ("\n" if done == total else ""))
            self.stream.flush()
        else:
            self._line(text)


def print_summary(summary: AuditSummary, out: str, stream: TextIO | None = None) -> None:
    """The closing summary: counts, score, wall time, broken tasks and the ten weakest tasks."""
    stream = stream or sys.stdout
    score = summary.score
    w = stream.write
    w(f"\ntestaudit: {summary.dataset.name} ({len(summary.tasks)} tasks) in {summary.seconds:.1f} s\n")
    if summary.shard is not None:
        shard = summary.shard
        w(f"  shard {shard.index}/{shard.count}: {len(shard.tasks)} of the {len(shard.selection)} selected "
          f"tasks; join the {shard.count} parts with `testaudit merge`\n")
    _triage_lines(summary, w)
    if summary.dataset.reference:
        w(f"  format: {summary.dataset.format}; mutated: {summary.dataset.reference}\n")
    w(
        f"  tasks: {summary.count_tasks(TaskStatus.OK)} ok, "
        f"{summary.count_tasks(TaskStatus.BROKEN)} broken, "
        f"{summary.count_tasks(TaskStatus.ERROR)} error\n"
    )
    w(
        f"  mutants: {score.mutants} | killed {score.killed}, survived {score.survived}, "
        f"timeout {score.timeout}, no_coverage {score.no_coverage}, "
        f"equivalent {score.equivalent}, error {score.error}\n"
    )
    w(f"  mutation score: {percent(score.mutation_score)}  "
      f"({score.undetected} of {score.scored} scored mutants pass all tests)\n")
    for audit in summary.tasks:
        if audit.status is not TaskStatus.OK or audit.message:
            message = audit.message or ""
            # A record too damaged to have an id is named by its file:line, as its message is.
            named = message if message.startswith(audit.task.task_id) else f"{audit.task.task_id}: {message}"
            w(f"  {audit.status.value} {named}\n")
    weak = sorted(
        (a for a in summary.tasks if a.score.mutation_score is not None and a.score.undetected),
        key=lambda a: (a.score.mutation_score, -a.score.undetected, a.task.task_id),
    )[:10]
    if weak:
        w("  weakest tasks:\n")
        for audit in weak:
            s = audit.score
            w(f"    {audit.task.task_id:<24} score {percent(s.mutation_score):>6}  "
              f"{s.undetected} of {s.scored} mutants survive\n")
    if summary.kept_from_resume:
        w(f"  resume: kept {summary.kept_from_resume} results from the session store\n")
    if summary.cached_tasks:
        w(f"  cache: {summary.cached_tasks} unchanged tasks served from the result cache\n")
    if summary.incidents:
        w(f"  internal errors: {plural(summary.incidents, 'mutant')} without a verdict because of a bug "
          f"in testaudit (status error; tracebacks in {out}/testaudit.log)\n")
    w(f"  results: {out}\n")


def _triage_lines(summary: AuditSummary, w) -> None:
    """The headline: wrong programs proven to pass the tests, then what triage could not prove."""
    if not summary.triaged:
        return
    wrong, tasks = summary.confirmed_wrong, summary.tasks_accepting_wrong
    w(f"  {plural(wrong, 'wrong program')} {'passes' if wrong == 1 else 'pass'} the tests of "
      f"{plural(tasks, 'task')} (survivors with a reproduced witness input inside the tested domain)\n")
    if summary.outside_domain:
        edge = summary.outside_domain
        w(f"  triage: {plural(edge, 'survivor')} {'differs' if edge == 1 else 'differ'} "
          "only outside the tested domain (edge cases to check against the tasks' intent)\n")
    w(f"  triage: {summary.unconfirmed} survivors unconfirmed (possibly equivalent), "
      f"{plural(summary.suggested_test_count, 'verified suggested test')}, "
      f"in {summary.triage_seconds:.1f} s\n")
    samples = summary.samples
    if not samples:
        return
    passing = [c for c in samples if c.verdict in (CandidateVerdict.PASSES, CandidateVerdict.WRONG,
                                                    CandidateVerdict.OUTSIDE)]
    bad = [c for c in passing if c.verdict is CandidateVerdict.WRONG]
    edge = sum(1 for c in passing if c.verdict is CandidateVerdict.OUTSIDE)
    w(f"  samples: {len(samples)} judged, {len(passing)} pass the tests, "
      f"{len(bad)} of those wrong" + (f", {edge} differ only outside the tested domain" if edge else "")
      + "\n")
    for c in bad[:10]:
        witness = c.witness
        shown = (witness.input, witness.actual, witness.expected) if witness else (None,) * 3
        w(f"    {c.task_id} (sample line {c.sample}): passes the tests, but wrong: on "
          f"({shown[0]}) it returns {shown[1]}, the reference {shown[2]}\n")


def print_strengthen(report: StrengthenReport, out: str, stream: TextIO | None = None) -> None:
    """strengthen's closing lines: what was written, and the re-audit's proof."""
    w = (stream or sys.stdout).write
    changed = report.tasks_changed
    passing = sum(1 for t in report.tasks if t.tests and t.reference_passes)
    w(f"\nstrengthen: wrote {report.output}: {report.tests_added} tests added to {changed} of "
      f"{len(report.tasks)} tasks ({report.tests_added / max(changed, 1):.1f} per changed task)\n")
    before, after = report.before.mutation_score, report.after.mutation_score
    w(f"  mutation score: {percent(before)} -> {percent(after)}\n")
    w(f"  confirmed wrong programs that pass the tests: {report.confirmed_before} -> "
      f"{report.confirmed_after} (re-audit of the written file, {report.rounds} "
      f"round{'s' if report.rounds != 1 else ''})\n")
    w(f"  references pass their strengthened suites: {passing} of {changed}\n")
    w(f"  report: {out}/strengthen-report.json\n")
