"""The gate's output: a CI log for humans, JUnit XML, and GitHub Actions annotations and summary."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path
from typing import TextIO

from testaudit.gate.policy import Violation
from testaudit.records import AuditSummary, Mutant, TaskAudit
from testaudit.store.files import write_atomic
from testaudit.text import one_line, percent


def _where(audit: TaskAudit) -> str:
    origin = audit.task.origin
    return f"{origin.path}:{origin.line}" if origin else audit.task.task_id


def survivor_line(audit: TaskAudit, mutant: Mutant) -> str:
    """`tasks.jsonl:4: line 8: `<` -> `<=` (compare_boundary) [witness: f(0) == 1, got 0]`."""
    result = audit.outcome(mutant)
    text = (f"{_where(audit)}: program line {mutant.location.start.line}: "
            f"`{one_line(mutant.original, 80)}` -> `{one_line(mutant.replacement, 80)}` "
            f"({mutant.operator}, {result.status.value})")
    w = result.witness
    if w is not None:
        # Never "wrong" outside the tested domain: that is an edge case for the maintainer.
        verdict = "wrong on input" if w.confirmed else "differs only outside the tested domain, on input"
        text += (f" {verdict} {one_line(w.input, 60)}: expected "
                 f"{one_line(w.expected, 40)}, got {one_line(w.actual, 40)}")
        if not w.confirmed:
            text += f" ({one_line(w.outside or '', 80)})"
    return text


def _by_task(violations: list[Violation]) -> dict[str | None, list[str]]:
    grouped: dict[str | None, list[str]] = defaultdict(list)
    for v in violations:
        grouped[v.task_id].append(v.reason)
    return grouped


def write_log(summary: AuditSummary, violations: list[Violation], stream: TextIO) -> None:
    """One block per failing task: where, why, each survivor as a one-line diff, the fixes."""
    grouped = _by_task(violations)
    audits = {a.task.task_id: a for a in summary.tasks}
    for task_id, reasons in grouped.items():
        if task_id is None:
            continue
        audit = audits[task_id]
        stream.write(f"FAIL {task_id} at {_where(audit)}: score {percent(audit.score.mutation_score)}\n")
        for reason in reasons:
            stream.write(f"  - {reason}\n")
        for mutant in audit.survivors:
            stream.write(f"  survivor {survivor_line(audit, mutant)}\n")
            if audit.outcome(mutant).suggested_test:
                test = _indent(audit.outcome(mutant).suggested_test, "      ")
                stream.write(f"    kill it with: {test}\n")
        if audit.suggested_tests:
            stream.write("  paste into the task's tests to kill every confirmed survivor:\n")
            for line in audit.suggested_tests:
                stream.write(f"    {_indent(line, '    ')}\n")
    for reason in grouped.get(None, []):
        stream.write(f"FAIL dataset: {reason}\n")
    failing = len([t for t in grouped if t is not None])
    verdict = "fails" if violations else "passes"
    stream.write(f"gate {verdict}: {failing} of {len(summary.tasks)} tasks fail; dataset score "
                 f"{percent(summary.score.mutation_score)}, {summary.confirmed_wrong} confirmed wrong\n")


def _indent(test: str, pad: str) -> str:
    """A test's later lines indented like its first (EvalPlus tests and oracle asserts have several)."""
    return test.replace("\n", "\n" + pad)


def junit_xml(summary: AuditSummary, violations: list[Violation]) -> bytes:
    """One testcase per task; a failing task's failure message lists its survivors."""
    grouped = _by_task(violations)
    suite = ET.Element("testsuite", name=f"testaudit {summary.dataset.name}",
                       tests=str(len(summary.tasks) + (1 if None in grouped else 0)),
                       failures=str(len(grouped)), errors="0", time=f"{summary.seconds:.3f}")
    for audit in summary.tasks:
        task_id = audit.task.task_id
        case = ET.SubElement(suite, "testcase", classname=summary.dataset.name, name=task_id,
                             file=audit.task.origin.path if audit.task.origin else "")
        if task_id in grouped:
            failure = ET.SubElement(case, "failure", message="; ".join(grouped[task_id]),
                                    type="testaudit.threshold")
            lines = [survivor_line(audit, m) for m in audit.survivors]
            lines += [f"suggested: {t}" for t in audit.suggested_tests]
            failure.text = "\n".join(lines)
    if None in grouped:
        case = ET.SubElement(suite, "testcase", classname=summary.dataset.name, name="(dataset)")
        ET.SubElement(case, "failure", message="; ".join(grouped[None]), type="testaudit.threshold")
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def write_junit(summary: AuditSummary, violations: list[Violation], path: Path) -> None:
    write_atomic(path, junit_xml(summary, violations))


def _escape(text: str, property_: bool = False) -> str:
    # GitHub's workflow-command escaping: data needs %, CR, LF; properties also : and ,.
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if property_ else text


def _repo_path(path: str) -> str:
    """GitHub attaches annotations by path relative to the checkout ($GITHUB_WORKSPACE)."""
    root = os.environ.get("GITHUB_WORKSPACE") or os.getcwd()
    relative = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    return path if relative.startswith("..") else relative


def github_annotations(summary: AuditSummary, violations: list[Violation]) -> list[str]:
    """`::error file=...,line=...::message` at the dataset file's line of each failing task."""
    audits = {a.task.task_id: a for a in summary.tasks}
    out = []
    for task_id, reasons in _by_task(violations).items():
        message = "; ".join(reasons)
        if task_id is None:
            out.append(f"::error title=testaudit::{_escape(message)}")
            continue
        origin = audits[task_id].task.origin
        where = f"file={_escape(_repo_path(origin.path), True)},line={origin.line}," if origin else ""
        title = _escape(f"testaudit: {task_id}", True)
        out.append(f"::error {where}title={title}::{_escape(message)}")
    return out


def github_summary(summary: AuditSummary, violations: list[Violation]) -> str:
    grouped = _by_task(violations)
    audits = {a.task.task_id: a for a in summary.tasks}
    lines = [f"## testaudit gate: {'failed' if violations else 'passed'}", "",
             f"{summary.dataset.name}: {len(summary.tasks)} tasks, mutation score "
             f"{percent(summary.score.mutation_score)}, {summary.confirmed_wrong} confirmed wrong programs "
             "pass the tests.", ""]
    if grouped:
        lines += ["| task | where | score | why |", "| --- | --- | --- | --- |"]
        for task_id, reasons in grouped.items():
            audit = audits.get(task_id) if task_id else None
            where = _where(audit) if audit else ""
            score = percent(audit.score.mutation_score) if audit else ""
            why = "; ".join(reasons).replace("|", "\\|")
            lines.append(f"| {task_id or '(dataset)'} | {where} | {score} | {why} |")
    return "\n".join(lines) + "\n"


def emit_github(summary: AuditSummary, violations: list[Violation], stream: TextIO) -> None:
    """When running in GitHub Actions: annotations on stdout, a summary in $GITHUB_STEP_SUMMARY."""
    if os.environ.get("GITHUB_ACTIONS") != "true":
        return
    for line in github_annotations(summary, violations):
        stream.write(line + "\n")
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if target:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(github_summary(summary, violations))
