"""Page data for the HTML report, built from an AuditSummary before any markup is written."""

from __future__ import annotations

import builtins
import hashlib
import io
import keyword
import re
import tokenize
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from testaudit.records import (
    DETECTED,
    UNDETECTED,
    AuditSummary,
    CandidateResult,
    CandidateVerdict,
    Mutant,
    MutantResult,
    MutantStatus,
    RepositoryData,
    Score,
    StrengthenReport,
    Task,
    TaskAudit,
    TaskStatus,
    Witness,
)
from testaudit.text import percent, plural

STATUS_LABELS = {
    MutantStatus.KILLED: "killed",
    MutantStatus.SURVIVED: "survived",
    MutantStatus.TIMEOUT: "timeout",
    MutantStatus.NO_COVERAGE: "no coverage",
    MutantStatus.EQUIVALENT: "equivalent",
    MutantStatus.ERROR: "error",
    MutantStatus.PENDING: "not run",
}
# The order in which a line's status counts are shown: what needs attention first.
STATUS_ORDER = (
    MutantStatus.SURVIVED,
    MutantStatus.NO_COVERAGE,
    MutantStatus.KILLED,
    MutantStatus.TIMEOUT,
    MutantStatus.EQUIVALENT,
    MutantStatus.ERROR,
    MutantStatus.PENDING,
)

# A line of highlighted code: (css class, text) pairs; "" is unstyled text.
Tokens = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "hdr", "hunk", "add", "del" or "ctx"
    text: str


@dataclass(frozen=True)
class MutantView:
    id: str
    anchor: str  # html id of its entry on the task page
    operator: str
    status: str  # MutantStatus value, used as a css class
    status_label: str
    line: int
    column: int
    original: str
    replacement: str
    change: str  # "original → replacement" on one short line, for lists
    diff: tuple[DiffLine, ...]
    detail: str | None  # why it was killed, or why it was not run
    witness: Witness | None  # the record itself: an input on which it and the reference disagree
    suggested_test: str | None


@dataclass(frozen=True)
class LineView:
    number: int
    tokens: Tokens
    in_solution: bool
    mark: str  # "survived", "killed", "other", or "" for a line with no mutant
    counts: tuple[tuple[str, str, int], ...]  # (status, label, count) of the mutants starting here
    mutants: tuple[MutantView, ...]


@dataclass(frozen=True)
class TaskLink:
    task_id: str
    href: str


@dataclass(frozen=True)
class TaskRow:
    """One task in the index table."""

    task_id: str
    href: str
    status: str
    message: str | None
    mutants: int
    killed: int
    survived: int  # survived + no coverage: every mutant the suite lets through
    no_coverage: int
    timeout: int
    equivalent: int
    error: int
    score: float | None
    score_text: str
    confirmed: int  # survivors with a witness


@dataclass(frozen=True)
class TaskPage:
    dataset: str
    task_id: str
    href: str
    entry_point: str
    status: str
    message: str | None
    origin: str | None
    row: TaskRow
    solution_lines: tuple[int, int] | None
    lines: tuple[LineView, ...]
    test_lines: tuple[LineView, ...]
    survivors: tuple[MutantView, ...]  # confirmed ones first
    detected: tuple[MutantView, ...]  # killed and timed out
    unscored: tuple[MutantView, ...]  # equivalent, error, or in a task that is not ok
    prev: TaskLink | None
    next: TaskLink | None
    # Triage: verified assertions that together kill every confirmed survivor, ready to paste.
    suggested_tests: tuple[str, ...] = ()
    samples: tuple[SampleView, ...] = ()  # --candidates: model-written programs and verdicts


@dataclass(frozen=True)
class SampleView:
    """A model-written program (--candidates) and what triage concluded about it."""

    sample: int  # its line in the samples file
    verdict: str  # a CandidateVerdict value, used as a css class
    label: str
    detail: str | None
    witness: Witness | None
    suggested_test: str | None
    completion: str


SAMPLE_LABELS = {
    CandidateVerdict.FAILS: "fails the tests",
    CandidateVerdict.PASSES: "passes the tests",
    CandidateVerdict.WRONG: "passes the tests, but wrong",
    CandidateVerdict.OUTSIDE: "passes the tests, differs only outside the tested domain",
    CandidateVerdict.ERROR: "not judged",
}


@dataclass(frozen=True)
class Headline:
    figure: str
    text: str
    tone: str  # "bad", "good" or "neutral": a css class
    note: str | None = None


@dataclass(frozen=True)
class Bar:
    """One bar of the score histogram, in SVG user units."""

    label: str
    count: int
    x: float
    y: float
    width: float
    height: float
    tone: str
    title: str


@dataclass(frozen=True)
class Histogram:
    width: int
    height: int
    baseline: float
    bars: tuple[Bar, ...]
    unscored: int  # tasks with no scored mutant, left out of the chart
    description: str


@dataclass(frozen=True)
class OperatorRow:
    name: str
    scored: int
    survived: int
    detected: int
    rate: float  # share of its scored mutants that survive
    rate_text: str


@dataclass(frozen=True)
class IndexPage:
    dataset: str
    dataset_source: str
    headlines: tuple[Headline, ...]
    score: Score
    score_text: str
    broken: tuple[TaskRow, ...]  # broken and error tasks, with their messages
    rows: tuple[TaskRow, ...]
    histogram: Histogram
    operators: tuple[OperatorRow, ...]
    settings: tuple[tuple[str, str], ...]
    seconds: float
    task_counts: tuple[tuple[str, int], ...]  # (task status, count)
    triaged: bool  # witnesses exist, so the confirmed counts are meaningful
    strengthen: StrengthenView | None = None  # strengthen-report.json of this dataset, when there is one


@dataclass(frozen=True)
class AddedTestView:
    text: str
    kind: str  # "suggested" or "differential"
    reason: str


@dataclass(frozen=True)
class StrengthenRow:
    task_id: str
    href: str | None
    tests: tuple[AddedTestView, ...]
    score: str  # "85.0% -> 100.0%"
    confirmed: str  # "2 -> 0"
    confirmed_after: int
    reference_passes: bool
    note: str | None


@dataclass(frozen=True)
class StrengthenView:
    """The strengthen section: what `testaudit strengthen` added, and its re-audit's figures."""

    dataset: str
    output: str
    max_tests: int
    rounds: int
    tests_added: int
    tasks_changed: int
    tasks: int
    score: str
    confirmed: str
    confirmed_after: int
    references_pass: bool
    rows: tuple[StrengthenRow, ...]  # the tasks that gained tests


# ---------------------------------------------------------------- formatting


def _text(value: object) -> str:
    return value if isinstance(value, str) else repr(value)


def _short(text: str, limit: int = 60) -> str:
    """One line of at most `limit` characters: a multi-line edit is summarised, not shown whole."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_RESERVED = {"index", "status", "mutation-report"}


def page_names(task_ids: Sequence[str]) -> dict[str, str]:
    """A distinct, portable file name for every task id: "HumanEval/0" -> "HumanEval_0.html"."""
    names: dict[str, str] = {}
    used: set[str] = set()
    for task_id in task_ids:
        stem = _UNSAFE.sub("_", task_id).strip("_")[:80] or "task"
        # Case-insensitive file systems would merge "A" and "a"; a hash suffix keeps them apart.
        if stem.lower() in used or stem.lower() in _RESERVED:
            stem = f"{stem}_{hashlib.sha256(task_id.encode()).hexdigest()[:8]}"
        used.add(stem.lower())
        names[task_id] = f"{stem}.html"
    return names


def _anchor(mutant_id: str) -> str:
    return "m-" + _UNSAFE.sub("_", mutant_id)


# ---------------------------------------------------------------- syntax highlighting

_BUILTINS = frozenset(name for name in dir(builtins) if not name.startswith("_"))
_PUNCTUATION = frozenset("()[]{},:.;")
_SKIP = (tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER)
# Python 3.12 splits f-strings into several tokens; 3.11 has one STRING token.
_STRING_TYPES = frozenset(
    t
    for t in (tokenize.STRING, *(getattr(tokenize, n, None) for n in ("FSTRING_START",
              "FSTRING_MIDDLE", "FSTRING_END")))
    if t is not None
)


def _token_class(tok: tokenize.TokenInfo, prev: tokenize.TokenInfo | None) -> str:
    if tok.type == tokenize.NAME:
        if keyword.iskeyword(tok.string):
            return "k"
        if prev is not None and prev.type == tokenize.NAME and prev.string in ("def", "class"):
            return "nf"
        return "nb" if tok.string in _BUILTINS else ""
    if tok.type in _STRING_TYPES:
        return "s"
    if tok.type == tokenize.NUMBER:
        return "m"
    if tok.type == tokenize.COMMENT:
        return "c"
    if tok.type == tokenize.OP and tok.string not in _PUNCTUATION:
        return "o"
    return ""


def _spans(source: str, line_starts: list[int]) -> list[tuple[int, int, str]]:
    """(start, end, class) character spans of the styled tokens of `source`."""
    spans = []
    prev = None
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type in _SKIP:
                continue
            cls = _token_class(tok, prev)
            if cls:
                start = line_starts[tok.start[0] - 1] + tok.start[1]
                end = line_starts[tok.end[0] - 1] + tok.end[1]
                spans.append((start, end, cls))
            if tok.type != tokenize.COMMENT:
                prev = tok
    except (tokenize.TokenError, SyntaxError):
        # A program that does not tokenize to the end is shown with what could be styled.
        pass
    return spans


def _segments(source: str, line_starts: list[int]) -> list[tuple[str, str]]:
    """The whole of `source` as consecutive (class, text) pieces."""
    segments: list[tuple[str, str]] = []
    cursor = 0
    for start, end, cls in _spans(source, line_starts):
        if start < cursor:
            continue
        if start > cursor:
            segments.append(("", source[cursor:start]))
        segments.append((cls, source[start:end]))
        cursor = end
    segments.append(("", source[cursor:]))
    return segments


def _without_cr(tokens: list[tuple[str, str]]) -> Tokens:
    if tokens and tokens[-1][1].endswith("\r"):
        cls, text = tokens.pop()
        if text[:-1]:
            tokens.append((cls, text[:-1]))
    return tuple(tokens)


def highlight(source: str) -> list[Tokens]:
    """Split `source` into lines of (class, text) tokens, using the stdlib tokenizer.

    Lines are split on "\\n" only (a CRLF's "\\r" is dropped), the way mutant locations count them.
    """
    raw_lines = source.split("\n")
    if len(raw_lines) > 1 and raw_lines[-1] == "":
        raw_lines.pop()
    line_starts = [0]
    for line in raw_lines:
        line_starts.append(line_starts[-1] + len(line) + 1)
    lines: list[list[tuple[str, str]]] = [[]]
    for cls, text in _segments(source, line_starts):
        for i, part in enumerate(text.split("\n")):
            if i:
                lines.append([])
            if part:
                lines[-1].append((cls, part))
    return [_without_cr(tokens) for tokens in lines[: len(raw_lines)]]


# ---------------------------------------------------------------- mutants


def parse_diff(diff: str) -> tuple[DiffLine, ...]:
    lines = []
    for text in diff.splitlines():
        if text.startswith(("---", "+++")):
            kind = "hdr"
        elif text.startswith("@@"):
            kind = "hunk"
        elif text.startswith("+"):
            kind = "add"
        elif text.startswith("-"):
            kind = "del"
        else:
            kind = "ctx"
        lines.append(DiffLine(kind, text.rstrip("\r")))
    return tuple(lines)


def mutant_view(mutant: Mutant, result: MutantResult, first_line: int = 1) -> MutantView:
    """`first_line`: where the mutant's file begins in the page's listing (a repository task's
    page lists its patched files one after another)."""
    change = f"{_short(mutant.original)} → {_short(mutant.replacement) or '(removed)'}"
    if mutant.file is not None:  # a repository task's mutant: say where, as file:line
        change = f"{mutant.file}:{mutant.location.start.line}: {change}"
    return MutantView(
        id=mutant.id,
        anchor=_anchor(mutant.id),
        operator=mutant.operator,
        status=result.status.value,
        status_label=STATUS_LABELS[result.status],
        line=mutant.location.start.line + first_line - 1,
        column=mutant.location.start.column,
        original=mutant.original,
        replacement=mutant.replacement,
        change=change,
        diff=parse_diff(mutant.diff),
        detail=result.detail,
        witness=result.witness,
        suggested_test=result.suggested_test or None,
    )


def _line_mark(statuses: Iterable[str]) -> str:
    found = set(statuses)
    if found & {s.value for s in UNDETECTED}:
        return "survived"
    if found & {s.value for s in DETECTED}:
        return "killed"
    return "other"


def _line_views(
    source: str, solution: tuple[int, int] | None, mutants: Iterable[MutantView]
) -> tuple[LineView, ...]:
    # A mutant belongs to the line it starts on, as in PIT's and coverage.py's line reports.
    by_line: dict[int, list[MutantView]] = defaultdict(list)
    for view in mutants:
        by_line[view.line].append(view)
    views = []
    for number, tokens in enumerate(highlight(source), start=1):
        here = tuple(sorted(by_line.get(number, ()), key=lambda v: (v.column, v.operator)))
        counts = Counter(v.status for v in here)
        views.append(
            LineView(
                number=number,
                tokens=tokens,
                in_solution=solution is not None and solution[0] <= number <= solution[1],
                mark=_line_mark(counts) if here else "",
                counts=tuple(
                    (s.value, STATUS_LABELS[s], counts[s.value])
                    for s in STATUS_ORDER
                    if counts[s.value]
                ),
                mutants=here,
            )
        )
    return tuple(views)


# ---------------------------------------------------------------- tasks


def task_row(audit: TaskAudit, href: str) -> TaskRow:
    score = audit.score
    ok = audit.status is TaskStatus.OK
    return TaskRow(
        task_id=audit.task.task_id,
        href=href,
        status=audit.status.value,
        message=audit.message or audit.task.message,
        mutants=len(audit.mutants),
        killed=score.killed,
        survived=score.undetected,
        no_coverage=score.no_coverage,
        timeout=score.timeout,
        equivalent=score.equivalent,
        error=score.error,
        score=score.mutation_score,
        score_text=percent(score.mutation_score) if ok else audit.status.value,
        confirmed=audit.confirmed_wrong,
    )


def _origin(audit: TaskAudit) -> str | None:
    origin = audit.task.origin
    return f"{origin.path}:{origin.line}" if origin else None


def _listing(task: Task) -> tuple[str, dict[str, int]]:
    """The text a task's page lists, and where each patched file begins in it: the program, or
    a repository task's patched files, each after a `# === path ===` line (its patch is the
    test listing's neighbour in results.json)."""
    data = task.suite_data
    if not isinstance(data, RepositoryData) or not data.files:
        return task.source, {}
    parts, starts, line = [], {}, 1
    for patched in data.files:
        text = patched.text if patched.text.endswith("\n") else patched.text + "\n"
        parts.append(f"# === {patched.path} (with the gold patch) ===\n{text}")
        starts[patched.path] = line + 1
        line += 1 + text.count("\n")
    return "".join(parts), starts


def task_page(
    dataset: str,
    audit: TaskAudit,
    row: TaskRow,
    prev: TaskLink | None,
    next_: TaskLink | None,
) -> TaskPage:
    task = audit.task
    source, starts = _listing(task)
    views = [mutant_view(m, audit.outcome(m), starts.get(m.file or "", 1)) for m in audit.mutants]
    ok = audit.status is TaskStatus.OK
    undetected = {s.value for s in UNDETECTED}
    detected = {s.value for s in DETECTED}
    solution = task.solution_lines if task.solution_end > task.solution_start and not starts else None
    return TaskPage(
        dataset=dataset,
        task_id=task.task_id,
        href=row.href,
        entry_point=task.entry_point,
        status=audit.status.value,
        message=row.message,
        origin=_origin(audit),
        row=row,
        solution_lines=solution,
        lines=_line_views(source, solution, views),
        test_lines=_line_views(task.test, None, ()),
        survivors=tuple(
            sorted(
                (v for v in views if ok and v.status in undetected),
                key=lambda v: (v.witness is None, v.witness is not None and v.witness.outside is not None,
                               v.line, v.column),
            )
        ),
        detected=tuple(v for v in views if ok and v.status in detected),
        unscored=tuple(
            v for v in views if not ok or v.status not in undetected | detected
        ),
        prev=prev,
        next=next_,
        suggested_tests=tuple(audit.suggested_tests),
        samples=tuple(_sample_view(c) for c in audit.candidates),
    )


def _sample_view(result: CandidateResult) -> SampleView:
    return SampleView(
        sample=result.sample,
        verdict=result.verdict.value,
        label=SAMPLE_LABELS[result.verdict],
        detail=result.detail,
        witness=result.witness,
        suggested_test=result.suggested_test or None,
        completion=result.completion,
    )


def task_pages(summary: AuditSummary) -> list[TaskPage]:
    names = page_names([a.task.task_id for a in summary.tasks])
    rows = [task_row(a, names[a.task.task_id]) for a in summary.tasks]
    links = [TaskLink(r.task_id, r.href) for r in rows]
    return [
        task_page(
            summary.dataset.name,
            audit,
            rows[i],
            links[i - 1] if i > 0 else None,
            links[i + 1] if i + 1 < len(links) else None,
        )
        for i, audit in enumerate(summary.tasks)
    ]


# ---------------------------------------------------------------- index


HIST_WIDTH, HIST_HEIGHT = 560, 220
_HIST_MARGIN = (36, 18, 24, 14)  # left, top, bottom, right, in SVG units


def histogram(scores: Sequence[float | None]) -> Histogram:
    """Per-task mutation scores in ten 10% bins plus one bar for exactly 100%."""
    counts = [0] * 11
    for value in scores:
        if value is not None:
            counts[10 if value >= 1.0 else min(int(value * 10), 9)] += 1
    labels = [f"{i * 10}" for i in range(10)] + ["100"]
    left, top, bottom, right = _HIST_MARGIN
    plot_w = HIST_WIDTH - left - right
    plot_h = HIST_HEIGHT - top - bottom
    slot = plot_w / len(counts)
    peak = max(counts) or 1
    bars = []
    for i, count in enumerate(counts):
        height = plot_h * count / peak
        span = "exactly 100%" if i == 10 else f"{i * 10}% to under {i * 10 + 10}%"
        bars.append(
            Bar(
                label=labels[i],
                count=count,
                x=round(left + i * slot + 2, 2),
                y=round(top + plot_h - height, 2),
                width=round(slot - 4, 2),
                height=round(height, 2),
                tone="good" if i == 10 else "mid" if i >= 8 else "bad",
                title=f"{count} task{'s' if count != 1 else ''} scored {span}",
            )
        )
    scored = sum(counts)
    unscored = len(scores) - scored
    return Histogram(
        width=HIST_WIDTH,
        height=HIST_HEIGHT,
        baseline=top + plot_h,
        bars=tuple(bars),
        unscored=unscored,
        description=(
            f"Histogram of the mutation scores of {scored} tasks: "
            + ", ".join(f"{b.count} at {b.label}%" for b in bars if b.count)
        ),
    )


def operator_rows(summary: AuditSummary) -> tuple[OperatorRow, ...]:
    """Operators ordered by how many of their mutants survive: the mistakes the tests miss."""
    scored: Counter[str] = Counter()
    survived: Counter[str] = Counter()
    for audit in summary.tasks:
        if audit.status is not TaskStatus.OK:
            continue
        for mutant in audit.mutants:
            status = audit.outcome(mutant).status
            if status in DETECTED or status in UNDETECTED:
                scored[mutant.operator] += 1
                survived[mutant.operator] += status in UNDETECTED
    rows = [
        OperatorRow(
            name=name,
            scored=n,
            survived=survived[name],
            detected=n - survived[name],
            rate=survived[name] / n,
            rate_text=percent(survived[name] / n),
        )
        for name, n in scored.items()
    ]
    return tuple(sorted(rows, key=lambda r: (-r.survived, -r.rate, r.name)))


def _confirmed_total(summary: AuditSummary) -> int | None:
    """Confirmed wrong programs, or None when no triage has run.

    A summary says whether triage ran (triage_seconds); a hand-built one without that mark
    counts as triaged when some survivor carries a witness.
    """
    total = summary.confirmed_wrong
    return total if summary.triaged or total else None


def headlines(summary: AuditSummary, rows: Sequence[TaskRow]) -> tuple[Headline, ...]:
    score = summary.score
    ok_rows = [r for r in rows if r.status == TaskStatus.OK.value]
    accepting = sum(1 for r in ok_rows if r.survived)
    confirmed = _confirmed_total(summary)
    lines = []
    if confirmed is not None:
        confirmed_tasks = sum(1 for r in ok_rows if r.confirmed)
        lines.append(Headline(
            str(confirmed),
            "confirmed wrong program passes all tests" if confirmed == 1
            else "confirmed wrong programs pass all tests",
            "bad" if confirmed else "good",
            note="a mutant that returns a different result from the reference on an input we "
            "found, yet passes the task's tests",
        ))
        lines.append(Headline(
            f"{confirmed_tasks} of {len(ok_rows)}",
            "tasks accept at least one wrong program",
            "bad" if confirmed_tasks else "good",
        ))
    unconfirmed = summary.unconfirmed
    if confirmed is not None and summary.outside_domain:
        lines.append(Headline(
            str(summary.outside_domain),
            "survivors differ only outside the tested domain",
            "neutral",
            note="witnesses on inputs that break a property of the tasks' own test inputs or stated "
            "preconditions: edge cases to check against each task's intent, never counted as wrong",
        ))
    lines.append(Headline(
        f"{score.undetected} of {score.scored}",
        "mutants of the reference solutions pass all tests",
        "bad" if score.undetected else "good",
        note=(
            f"{unconfirmed} of them unconfirmed: possibly equivalent to the reference"
            if confirmed is not None
            else "not yet confirmed wrong: a survivor may be equivalent to the reference"
        ) if score.undetected else None,
    ))
    if confirmed is None:
        lines.append(Headline(
            f"{accepting} of {len(ok_rows)}",
            "tasks accept at least one mutant of their reference solution",
            "bad" if accepting else "good",
        ))
    left_out = [plural(n, word) for n, word in ((score.equivalent, "equivalent mutant"),
                                                  (score.error, "error")) if n]
    lines.append(Headline(
        percent(score.mutation_score),
        "benchmark mutation score",
        "neutral",
        note="share of the scored mutants that the tests detect"
        + (f"; {' and '.join(left_out)} left out" if left_out else ""),
    ))
    return tuple(lines)


def _setting(value: object) -> str:
    text = _text(value)
    return text if len(text) <= 200 else text[:199] + "…"


def strengthen_view(report: StrengthenReport, hrefs: dict[str, str]) -> StrengthenView:
    rows = tuple(
        StrengthenRow(t.task_id, hrefs.get(t.task_id),
                      tuple(AddedTestView(a.text, a.kind, a.reason) for a in t.tests),
                      f"{percent(t.score_before)} → {percent(t.score_after)}",
                      f"{t.confirmed_before} → {t.confirmed_after}", t.confirmed_after,
                      t.reference_passes, t.note)
        for t in report.tasks if t.tests)
    return StrengthenView(
        report.dataset, report.output, report.max_tests, report.rounds, report.tests_added,
        report.tasks_changed, len(report.tasks),
        f"{percent(report.before.mutation_score)} → {percent(report.after.mutation_score)}",
        f"{report.confirmed_before} → {report.confirmed_after}", report.confirmed_after,
        all(r.reference_passes for r in rows), rows)


def index_page(summary: AuditSummary, rows: Sequence[TaskRow] | None = None,
               strengthen: StrengthenReport | None = None) -> IndexPage:
    if rows is None:
        names = page_names([a.task.task_id for a in summary.tasks])
        rows = [task_row(a, names[a.task.task_id]) for a in summary.tasks]
    ok_scores = [r.score for r in rows if r.status == TaskStatus.OK.value]
    return IndexPage(
        dataset=summary.dataset.name,
        dataset_source=summary.dataset.source,
        headlines=headlines(summary, rows),
        score=summary.score,
        score_text=percent(summary.score.mutation_score),
        broken=tuple(r for r in rows if r.status != TaskStatus.OK.value),
        rows=tuple(rows),
        histogram=histogram(ok_scores),
        operators=operator_rows(summary),
        settings=tuple((str(k), _setting(v)) for k, v in sorted(summary.settings.items())),
        seconds=summary.seconds,
        task_counts=tuple((s.value, summary.count_tasks(s)) for s in TaskStatus),
        triaged=_confirmed_total(summary) is not None,
        strengthen=strengthen_view(strengthen, {r.task_id: r.href for r in rows}) if strengthen else None,
    )
