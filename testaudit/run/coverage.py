"""Which lines of the reference its own suite executes (coverage.py), and which mutants it never reaches.

Measured once per task, in the run stage's first sandbox child, before any mutant runs: a
mutant whose changed statements the suite never executes is `no_coverage` without running.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from testaudit import suites
from testaudit.records import Mutant


@contextmanager
def measure(path: str) -> Iterator[set[int]]:
    """Measure line coverage of the code compiled with filename `path` while the block runs.

    Yields a set that is filled with the executed line numbers when the block ends. It drives
    coverage.py's own C tracer directly: the lines are the ones coverage.py records, without
    the ~20 ms per task that `coverage.Coverage` spends on its configuration, file matchers
    and in-memory SQLite (more than the suites of a HumanEval task cost all together).
    """
    try:
        from coverage.tracer import CFileDisposition, CTracer  # see pool.worker_main
    except ImportError:  # no C tracer: coverage.py's whole machinery, same lines
        with _measure_with_coverage(path) as lines:
            yield lines
        return
    with _measure_with_tracer(path, CTracer, CFileDisposition) as lines:
        yield lines


@contextmanager
def _measure_with_tracer(path: str, tracer_class: type, disposition_class: type) -> Iterator[set[int]]:
    """What coverage.py's Collector does for `include=[path]`, branch=False: a CTracer on this
    thread and one on each thread started meanwhile (threading.settrace), all filling one
    dict of file -> executed lines; only `path` is traced."""
    import threading

    data: dict[str, set[int]] = {}
    lock = threading.Lock()
    cache: dict[str, object] = {}
    tracers: list = []

    def should_trace(filename: str, frame: object) -> object:
        disposition = disposition_class()
        disposition.original_filename = disposition.canonical_filename = filename
        disposition.source_filename = filename if filename == path else None
        disposition.trace = filename == path
        disposition.reason = "" if filename == path else "not the traced file"
        disposition.file_tracer = None
        disposition.has_dynamic_filename = False
        return disposition

    def start() -> object:
        tracer = tracer_class()
        tracer.data = data
        tracer.lock_data, tracer.unlock_data = lock.acquire, lock.release
        tracer.trace_arcs = False
        tracer.should_trace = should_trace
        tracer.should_trace_cache = cache
        tracer.warn = lambda message, slug=None, once=False: None
        for name, value in (("concur_id_func", None), ("file_tracers", {}), ("threading", threading),
                            ("should_start_context", None), ("switch_context", None)):
            if hasattr(tracer, name):
                setattr(tracer, name, value)
        trace = tracer.start()
        tracers.append(tracer)
        return trace

    def on_new_thread(frame: object, event: str, arg: object) -> object:
        sys.settrace(None)
        trace = start()
        return trace(frame, event, arg) if trace else None

    lines: set[int] = set()
    start()
    threading.settrace(on_new_thread)
    try:
        yield lines
    finally:
        for tracer in tracers:
            tracer.stop()
        threading.settrace(None)  # type: ignore[arg-type]
        lines.update(data.get(path, ()))


@contextmanager
def _measure_with_coverage(path: str) -> Iterator[set[int]]:
    import coverage

    # data_file=None keeps the data in memory; config_file=False ignores the project's settings.
    cov = coverage.Coverage(data_file=None, include=[path], config_file=False, branch=False)
    lines: set[int] = set()
    cov.start()
    try:
        yield lines
    finally:
        cov.stop()
        lines.update(cov.get_data().lines(path) or ())


def suite_lines(prepared: suites.PreparedTask, path: str) -> set[int] | None:
    """The reference's lines that its suite executes; None when that cannot be known (the
    traced run failed, or coverage could not be set up): then every mutant is run."""
    try:
        code = suites.compile_program(prepared.task.source, path)
        with measure(path) as executed:
            passed = suites.run_suite(prepared, code)[0]
    except Exception:
        return None
    return executed if passed else None


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


def unreached(source: str, mutants: Iterable[Mutant], executed: set[int] | None) -> dict[str, str]:
    """Mutant id -> why it is no_coverage, for the mutants the suite never reaches."""
    if executed is None:
        return {}
    starts = statement_starts(source)
    found = {}
    for mutant in mutants:
        if uncovered(mutant, executed, starts):
            lines = mutant_lines(mutant)
            where = f"line {lines[0]}" if len(lines) == 1 else f"lines {lines[0]}-{lines[-1]}"
            found[mutant.id] = f"the suite never runs {where}"
    return found
