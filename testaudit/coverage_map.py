"""Which lines of the reference its own suite executes (coverage.py), and which mutants it never reaches."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from contextlib import contextmanager

from testaudit.records import Mutant


@contextmanager
def measure(path: str) -> Iterator[set[int]]:
    """Measure line coverage of the code compiled with filename `path` while the block runs.

    Yields a set that is filled with the executed line numbers when the block ends. Runs in the
    sandbox child, once per task: the suite runs the reference once under the tracer.
    """
    import coverage  # imported here: only the triage children trace

    # data_file=None keeps the data in memory; config_file=False ignores the project's settings.
    cov = coverage.Coverage(data_file=None, include=[path], config_file=False, branch=False)
    lines: set[int] = set()
    cov.start()
    try:
        yield lines
    finally:
        cov.stop()
        lines.update(cov.get_data().lines(path) or ())


def statement_starts(source: str) -> dict[int, int]:
    """Line -> first line of the innermost statement that contains it.

    coverage.py reports a multi-line statement by its first line, so a mutant on a continuation
    line (or in the condition of a multi-line `if`) is covered when that first line ran.
    """
    starts: dict[int, int] = {}

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.stmt):
            end = node.end_lineno or node.lineno
            for line in range(node.lineno, end + 1):
                starts[line] = node.lineno  # children visited later overwrite: innermost wins
            first = getattr(node, "decorator_list", None)
            if first:  # coverage counts a decorated def from its decorator line
                for line in range(min(d.lineno for d in first), node.lineno + 1):
                    starts[line] = min(d.lineno for d in first)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(source))
    return starts


def mutant_lines(mutant: Mutant) -> range:
    """The lines a mutant changes: its span, without a final line it only touches at column 1."""
    start, end = mutant.location.start, mutant.location.end
    last = end.line if end.column > 1 or end.line == start.line else end.line - 1
    return range(start.line, max(start.line, last) + 1)


def uncovered(mutant: Mutant, executed: set[int], starts: dict[int, int]) -> bool:
    """True when the suite never executed any statement the mutant changes."""
    return not any(starts.get(line, line) in executed for line in mutant_lines(mutant))
