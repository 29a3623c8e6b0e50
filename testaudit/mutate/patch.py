"""Mutants of a gold patch: the operators on the lines the patch adds or changes, in functions.

What is not mutated (docs/swebench.md, "What is mutated"):
- lines the patch does not add or change, and code outside functions and methods (module and
  class level: imports, constants, class attributes, decorators);
- docstrings, and text that carries no behaviour a test could fairly pin down: the message of a
  `raise` (the arguments of the exception it builds), of an `assert`, and of a logging or
  `warnings.warn` call.
A mutant is kept only when every line it changes is a line the patch added.
"""

from __future__ import annotations

import libcst as cst
from libcst.metadata import MetadataWrapper

from testaudit.mutate.generate import GenerationError, _Collector, _Offsets, _Span, generate_text
from testaudit.mutate.operators import Operator
from testaudit.records import Mutant, RepositoryData, Task

LOG_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "log",
                         "fatal"})
_TEXT = (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)


class _PatchCollector(_Collector):
    """The base collector over a whole file, keeping only nodes inside a function that lie on
    the patch's lines, and leaving message text alone."""

    def __init__(self, lines: frozenset[int], offsets: _Offsets, wrapper: MetadataWrapper, size: int) -> None:
        super().__init__(0, size, offsets, wrapper)
        self.lines = lines
        self.depth = 0
        self.inside: set[int] = set()  # ids of nodes collected inside a function

    def _skip_text(self, args: object) -> None:
        for arg in args or ():
            value = arg.value if isinstance(arg, cst.Arg) else arg
            if isinstance(value, _TEXT):
                self.skip.add(id(value))

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        super().visit_FunctionDef(node)
        self.depth += 1

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.depth -= 1

    def visit_Raise(self, node: cst.Raise) -> None:
        if isinstance(node.exc, cst.Call):
            self._skip_text(node.exc.args)

    def visit_Assert(self, node: cst.Assert) -> None:
        if node.msg is not None:
            self._skip_text([node.msg])

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in LOG_METHODS:
            self._skip_text(node.args)

    def on_visit(self, node: cst.CSTNode) -> bool:
        before = len(self.nodes)
        inside = self.depth > 0 and not isinstance(node, cst.FunctionDef)
        descend = super().on_visit(node)
        if len(self.nodes) > before:
            _, start, end = self.nodes[-1]
            first = self.offsets.position(start).line
            last = self.offsets.position(max(start, end - 1)).line
            if not inside or not any(n in self.lines for n in range(first, last + 1)):
                self.nodes.pop()
        return descend


def generate_patched(task: Task, data: RepositoryData, operators: tuple[Operator, ...]) -> list[Mutant]:
    """The mutants of every patched file, in the patch's file order."""
    if not data.files:
        raise GenerationError("the gold patch changes no Python file: nothing to mutate")
    mutants: list[Mutant] = []
    for patched in data.files:
        lines = frozenset(patched.lines)

        def collector(offsets: _Offsets, wrapper: MetadataWrapper, lines: frozenset[int] = lines,
                      size: int = len(patched.text)) -> _Collector:
            return _PatchCollector(lines, offsets, wrapper, size)

        def keep(span: _Span, offsets: _Offsets, lines: frozenset[int] = lines) -> bool:
            first = offsets.position(span.start).line
            last = offsets.position(max(span.start, span.end - 1)).line
            return all(n in lines for n in range(first, last + 1))

        mutants.extend(generate_text(task.task_id, patched.text, operators, collector, patched.path, keep))
    return mutants
