"""Tests of the HTML report: page data, escaping, file names, assets and incremental rendering."""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from testaudit.records import (
    AuditSummary,
    Dataset,
    Location,
    Mutant,
    MutantResult,
    MutantStatus,
    Position,
    Task,
    TaskAudit,
    TaskStatus,
    Witness,
)
from testaudit.report import pages
from testaudit.report.html import STATUS_FILE, write_html

XSS = '"<script>alert(1)</script>'


def make_task(task_id: str, prompt: str, solution: str, test: str, entry: str) -> Task:
    source = prompt + solution
    return Task(task_id, entry, source, test, len(prompt), len(source))


def _position(text: str, offset: int) -> Position:
    line = text.count("\n", 0, offset) + 1
    return Position(line, offset - (text.rfind("\n", 0, offset) + 1) + 1)


def make_mutant(task: Task, old: str, new: str, operator: str, nth: int = 0) -> Mutant:
    """The mutant replacing the nth occurrence of `old` in the task's solution by `new`."""
    start = task.solution_start - 1
    for _ in range(nth + 1):
        start = task.source.index(old, start + 1)
    end = start + len(old)
    mutated = task.source[:start] + new + task.source[end:]
    diff = "".join(difflib.unified_diff(
        task.source.splitlines(keepends=True), mutated.splitlines(keepends=True),
        f"{task.task_id} (reference)", f"{task.task_id} (mutant)", n=2,
    ))
    location = Location(_position(task.source, start), _position(task.source, end))
    ident = f"{task.task_id.replace('/', '-')}-{operator}-{start}"
    return Mutant(ident, task.task_id, operator, location, start, end, old, new, diff)


def make_audit(task: Task, verdicts: list[tuple], status: TaskStatus = TaskStatus.OK,
               message: str | None = None) -> TaskAudit:
    """verdicts: (old, new, operator, status, detail[, result extras]) per mutant."""
    mutants, results = [], {}
    for old, new, operator, mstatus, detail, *extra in verdicts:
        nth = sum(1 for m in mutants if m.original == old)
        mutant = make_mutant(task, old, new, operator, nth)
        if mstatus is MutantStatus.EQUIVALENT:
            mutant = replace(mutant, status=mstatus, detail=detail)
        else:
            kwargs = extra[0] if extra else {}
            results[mutant.id] = MutantResult(mutant.id, task.task_id, mstatus, detail, **kwargs)
        mutants.append(mutant)
    return TaskAudit(task, mutants, results, status=status, message=message)


BELOW_ZERO = make_task(
    "Demo/0",
    'def below_zero(operations):\n    """True if the balance ever falls below zero."""\n',
    "    balance = 0\n    for op in operations:\n        balance += op\n"
    "        if balance < 0:\n            return True\n    return False\n",
    "def check(candidate):\n    assert candidate([]) is False\n"
    "    assert candidate([1, -2, 3]) is True\n",
    "below_zero",
)
ADD = make_task(
    "Demo/1",
    'def add(a, b):\n    """Sum of a and b."""\n',
    "    return a + b\n",
    "def check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(-1, 1) == 0\n",
    "add",
)
MAXIMUM = make_task(
    "Demo/10",
    'def maximum(xs):\n    """The largest of xs."""\n',
    "    best = xs[0]\n    for x in xs:\n        if x > best:\n            best = x\n"
    "    return best\n",
    "def check(candidate):\n    assert candidate([3]) == 3\n",
    "maximum",
)
BROKEN = make_task(
    "Demo/2", "def wrong():\n", "    return 1\n",
    "def check(candidate):\n    assert candidate() == 2\n", "wrong",
)

K, S, T, N, E = (MutantStatus.KILLED, MutantStatus.SURVIVED, MutantStatus.TIMEOUT,
                 MutantStatus.NO_COVERAGE, MutantStatus.EQUIVALENT)


def sample_summary() -> AuditSummary:
    """Four small tasks: a mixed one, a perfect one, a weak one and a broken one."""
    witness = Witness("below_zero([0, -1])", "True", "False")
    audits = [
        make_audit(BELOW_ZERO, [
            ("<", "<=", "swap_compare", S, None),
            ("< 0", "< -1", "shift_constant", S, None,
             {"witness": witness,
              "suggested_test": "    assert candidate([0, -1]) is True"}),
            ("+=", "-=", "swap_augassign", K, "AssertionError: candidate([1, -2, 3]) is True"),
            ("True", "False", "swap_bool", K, "AssertionError"),
            ("op", "operations", "swap_name", T, "exceeded 0.25 s (10x the reference + 0.2 s)"),
            ("0", "0", "noop", E, "same syntax tree as the reference"),
            ("False", XSS, "xss_probe", S, XSS),
        ]),
        make_audit(ADD, [
            ("+", "-", "swap_binop", K, "AssertionError: assert -1 == 5"),
            ("a + b", "a", "drop_operand", K, "AssertionError"),
        ]),
        make_audit(MAXIMUM, [
            (">", ">=", "swap_compare", S, None),
            ("xs[0]", "xs[-1]", "swap_index", S, None),
            ("best = x", "pass", "drop_statement", N, None),
        ]),
        make_audit(BROKEN, [("1", "2", "shift_constant", MutantStatus.PENDING, None)],
                   TaskStatus.BROKEN, f"AssertionError: assert 1 == 2 {XSS}"),
    ]
    dataset = Dataset("demo-bench", "demo.jsonl", "humaneval", tuple(a.task for a in audits))
    return AuditSummary(dataset, {"seed": 0, "jobs": 2}, audits, seconds=1.5)


# ---------------------------------------------------------------- page data


def test_page_names_are_safe_and_distinct() -> None:
    names = pages.page_names(["HumanEval/0", "HumanEval_0", "a/../../b", "index", "HUMANEVAL/0"])
    assert names["HumanEval/0"] == "HumanEval_0.html"
    assert len(set(n.lower() for n in names.values())) == 5
    for name in names.values():
        assert re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9._-]*\.html", name), name
        assert ".." not in name
    assert names["index"] != "index.html"


def test_highlight_keeps_every_character_and_styles_tokens() -> None:
    source = 'def f(x):\r\n    """doc\r\n    more"""\r\n    return len(x) + 1  # note\r\n'
    lines = pages.highlight(source)
    assert len(lines) == 4
    texts = ["".join(t for _, t in line) for line in lines]
    assert texts == [line.rstrip("\r") for line in source.split("\n")[:4]]
    classes = {cls for line in lines for cls, _ in line}
    assert {"k", "nf", "s", "nb", "m", "c", "o"} <= classes
    # A multi-line string keeps its class on both lines.
    assert lines[2][0] == ("", "    ") or lines[2][0][0] == "s"


def test_highlight_survives_untokenizable_source() -> None:
    lines = pages.highlight('x = """never closed\ny = 1\n')
    assert ["".join(t for _, t in line) for line in lines] == ['x = """never closed', "y = 1"]


def test_percent_never_rounds_to_a_perfect_score() -> None:
    assert pages.percent(0.9996) == "99.9%"
    assert pages.percent(1.0) == "100%"
    assert pages.percent(0.0004) == "0.1%"
    assert pages.percent(None) == "n/a"


def test_task_page_groups_mutants_and_marks_lines() -> None:
    summary = sample_summary()
    built = pages.task_pages(summary)
    page = built[0]
    assert page.href == "Demo_0.html" and page.next.href == "Demo_1.html" and page.prev is None
    assert [m.operator for m in page.survivors][0] == "shift_constant"  # confirmed first
    assert page.survivors[0].witness == Witness("below_zero([0, -1])", "True", "False")
    assert {m.status for m in page.detected} == {"killed", "timeout"}
    assert [m.status for m in page.unscored] == ["equivalent"]
    assert page.solution_lines == (3, 8)
    marks = {line.number: line.mark for line in page.lines}
    assert marks[6] == "survived" and marks[5] == "killed" and marks[1] == ""
    assert [line.in_solution for line in page.lines[:3]] == [False, False, True]
    broken = built[3]
    assert broken.survivors == () and len(broken.unscored) == 1


def test_index_headlines_and_histogram() -> None:
    summary = sample_summary()
    index = pages.index_page(summary)
    figures = [(h.figure, h.text) for h in index.headlines]
    # A witness exists, so the confirmed counts lead.
    assert figures[0] == ("1", "confirmed wrong program passes all tests")
    assert figures[1] == ("1 of 3", "tasks accept at least one wrong program")
    assert figures[2] == ("6 of 11", "mutants of the reference solutions pass all tests")
    assert index.triaged
    assert [r.task_id for r in index.broken] == ["Demo/2"]
    assert sum(b.count for b in index.histogram.bars) == 3
    assert index.histogram.bars[-1].count == 1  # Demo/1 at 100%
    assert index.operators[0].name == "swap_compare"


def test_headline_without_witnesses_does_not_call_survivors_wrong() -> None:
    summary = sample_summary()
    for audit in summary.tasks:
        audit.results = {k: MutantResult(r.mutant_id, r.task_id, r.status, r.detail)
                         for k, r in audit.results.items()}
    index = pages.index_page(summary)
    text = " ".join(h.text + " " + (h.note or "") for h in index.headlines)
    assert "wrong program" not in text.replace("not yet confirmed wrong", "")
    assert not index.triaged


# ---------------------------------------------------------------- rendering


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    return write_html(sample_summary(), out)


def test_writes_index_task_pages_assets_and_status(report: Path) -> None:
    out = report.parent
    names = sorted(p.name for p in out.iterdir())
    assert {"index.html", "Demo_0.html", "Demo_1.html", "Demo_10.html", "Demo_2.html",
            STATUS_FILE} <= set(names)
    assert any(re.fullmatch(r"report\.[0-9a-f]{10}\.css", n) for n in names)
    assert any(re.fullmatch(r"report\.[0-9a-f]{10}\.js", n) for n in names)
    assert not [n for n in names if n.endswith(".tmp")]


def test_untrusted_text_is_escaped(report: Path) -> None:
    for page in report.parent.glob("*.html"):
        html = page.read_text()
        assert "<script>alert" not in html, page.name
    task = (report.parent / "Demo_0.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in task
    assert "&lt;script&gt;" in (report.parent / "index.html").read_text()


def test_nothing_refers_to_the_network(report: Path) -> None:
    for page in report.parent.iterdir():
        if page.suffix in (".html", ".css", ".js"):
            text = page.read_text()
            assert not re.search(r"(src|href)=\"(https?:)?//", text), page.name
            assert "@import" not in text and "url(" not in text, page.name


def test_survivor_diff_is_one_link_from_the_index(report: Path) -> None:
    index = report.read_text()
    assert 'href="Demo_0.html#survivors"' in index
    task = (report.parent / "Demo_0.html").read_text()
    survivors = task[task.index('id="survivors"'):task.index('id="program"')]
    assert survivors.count('class="mutant survivor') == 3
    assert '<span class="d-add">+        if balance &lt;= 0:</span>' in survivors
    assert "below_zero([0, -1])" in survivors and "assert candidate([0, -1]) is True" in survivors


def test_index_lists_broken_tasks_first_with_their_message(report: Path) -> None:
    index = report.read_text()
    assert index.index('id="broken"') < index.index('id="histogram"') < index.index('id="tasks"')
    assert "AssertionError: assert 1 == 2" in index


def test_rerender_skips_unchanged_pages_and_removes_stale_ones(tmp_path: Path) -> None:
    summary = sample_summary()
    index = write_html(summary, tmp_path)
    page = tmp_path / "Demo_1.html"
    status = json.loads((tmp_path / STATUS_FILE).read_text())
    assert status["format"] == 1 and "Demo_1.html" in status["files"]
    before = page.stat().st_mtime_ns
    inode = page.stat().st_ino
    summary.tasks[0].message = "changed"
    write_html(summary, tmp_path)
    assert page.stat().st_ino == inode and page.stat().st_mtime_ns == before
    summary.tasks.pop(2)  # Demo/10 leaves; its page must go, and Demo/1's next link changes
    write_html(summary, tmp_path)
    assert not (tmp_path / "Demo_10.html").exists()
    assert page.stat().st_ino != inode
    assert index.exists()


def test_failed_render_leaves_no_partial_file(tmp_path: Path, monkeypatch) -> None:
    from testaudit.store import files as atomic

    def explode(*args: object) -> None:
        raise RuntimeError("boom")

    target = tmp_path / "x.html"
    target.write_text("old")
    monkeypatch.setattr(atomic.os, "replace", explode)
    with pytest.raises(RuntimeError):
        atomic.write_atomic(target, "new")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_empty_summary_renders(tmp_path: Path) -> None:
    summary = AuditSummary(Dataset("empty", "none", "humaneval", ()), {}, [])
    index = write_html(summary, tmp_path)
    assert "0 of 0" in index.read_text()
