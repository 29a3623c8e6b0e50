"""Generate a task's mutants: apply every operator to the solution part of its program."""

from __future__ import annotations

import bisect
import dataclasses
import difflib
import hashlib
import io
import tokenize
import types
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from testaudit.mutate.operators import OPERATORS, Operator
from testaudit.records import Location, Mutant, MutantStatus, Position, Task


class GenerationError(Exception):
    """The task's program cannot be parsed for mutation."""


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    replacement: str


class _Offsets:
    """Converts between (1-based line, 0-based column) and character offsets of one text."""

    def __init__(self, text: str) -> None:
        self.starts = [0]
        for i, ch in enumerate(text):
            if ch == "\n":
                self.starts.append(i + 1)

    def offset(self, line: int, column: int) -> int:
        return self.starts[line - 1] + column

    def position(self, offset: int) -> Position:
        line = bisect.bisect_right(self.starts, offset)
        return Position(line, offset - self.starts[line - 1] + 1)


@dataclass(frozen=True)
class _Tokens:
    """(start, end) offsets of every real token of a task's program, and their starts for
    bisection: made once per task, used to widen each mutant's textual diff to whole tokens."""

    bounds: list[tuple[int, int]]
    starts: list[int]


def _token_bounds(source: str, offsets: _Offsets) -> _Tokens:
    bounds = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type in (tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT,
                            tokenize.ENDMARKER, tokenize.COMMENT):
                continue
            bounds.append((offsets.offset(*tok.start), offsets.offset(*tok.end)))
    except (tokenize.TokenError, SyntaxError):
        bounds = []
    return _Tokens(bounds, [b[0] for b in bounds])


_OPERATOR_CHARS = frozenset("<>=!+-*/%&|^~@")


def _joined(text: str, i: int) -> bool:
    """True when text[i - 1] and text[i] belong to one word or one operator."""
    if i <= 0 or i >= len(text):
        return False
    a, b = text[i - 1], text[i]
    word = (a.isalnum() or a == "_") and (b.isalnum() or b == "_")
    return word or (a in _OPERATOR_CHARS and b in _OPERATOR_CHARS)


def _common(same: Callable[[int], bool], limit: int) -> int:
    """The largest n <= limit with same(n), for a same() that holds up to some n and not after:
    a binary search of slice comparisons (in C), not a character loop over the whole program."""
    lo, hi = 0, limit
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if same(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def _minimal_span(source: str, mutated: str, table: _Tokens) -> _Span:
    """The smallest whole-token span of `source` whose replacement gives `mutated`."""
    limit = min(len(source), len(mutated))
    start = _common(lambda n: source[:n] == mutated[:n], limit)
    tail = _common(lambda n: source[len(source) - n:] == mutated[len(mutated) - n:], limit - start)
    end = len(source) - tail
    # Never cut inside a word or an operator of either text (`n % i` -> `not (n % i)` must
    # not read as `ot (`), then widen to the original's tokens (`<` -> `<=`, not an inserted `=`).
    while start > 0 and (_joined(source, start) or _joined(mutated, start)):
        start -= 1
    while tail > 0 and (_joined(source, len(source) - tail)
                        or _joined(mutated, len(mutated) - tail)):
        tail -= 1
    end = len(source) - tail
    tokens, starts = table.bounds, table.starts
    i = bisect.bisect_right(starts, start) - 1
    if start == end:
        before = [t for t in tokens[max(i - 1, 0) : i + 1] if t[1] == start and t[0] < start]
        if before:  # an insertion right after a token: show that token and what follows it
            start = before[-1][0]
        elif i >= 0 and tokens[i][0] == start:
            end = tokens[i][1]
    else:
        if i >= 0 and tokens[i][0] < start < tokens[i][1]:
            start = tokens[i][0]
        j = bisect.bisect_right(starts, end - 1) - 1
        if j >= 0 and tokens[j][0] < end < tokens[j][1]:
            end = tokens[j][1]
    tail = len(source) - end
    return _Span(start, end, mutated[start : len(mutated) - tail])


class _Collector(cst.CSTVisitor):
    """Collects the nodes an operator may touch: inside the solution, outside docstrings."""

    def __init__(self, lo: int, hi: int, offsets: _Offsets, wrapper: MetadataWrapper) -> None:
        self.lo, self.hi = lo, hi
        self.offsets = offsets
        self.positions = wrapper.resolve(PositionProvider)
        self.nodes: list[tuple[cst.CSTNode, int, int]] = []
        self.spans: dict[int, tuple[int, int]] = {}  # id(node) -> span, for splicing children
        self.parents: dict[int, cst.CSTNode] = {}
        self.stack: list[cst.CSTNode] = []
        self.skip: set[int] = set()

    def _mark_docstring(self, body: Iterable[cst.CSTNode]) -> None:
        first = next(iter(body), None)
        if isinstance(first, cst.SimpleStatementLine) and first.body:
            expr = first.body[0]
            if isinstance(expr, cst.Expr) and isinstance(
                expr.value, cst.SimpleString | cst.ConcatenatedString
            ):
                self.skip.add(id(expr))

    def visit_Module(self, node: cst.Module) -> None:
        self._mark_docstring(node.body)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if isinstance(node.body, cst.IndentedBlock):
            self._mark_docstring(node.body.body)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if isinstance(node.body, cst.IndentedBlock):
            self._mark_docstring(node.body.body)

    def on_visit(self, node: cst.CSTNode) -> bool:
        if id(node) in self.skip or isinstance(
            node, cst.Annotation | cst.Import | cst.ImportFrom | cst.Decorator
        ):
            return False
        if not super().on_visit(node):
            return False
        pos = self.positions.get(node)
        if pos is not None:
            start = self.offsets.offset(pos.start.line, pos.start.column)
            end = self.offsets.offset(pos.end.line, pos.end.column)
            if end <= self.lo or start >= self.hi:
                return False  # wholly in the prompt: nothing in it may change
            if start >= self.lo and end <= self.hi:
                self.nodes.append((node, start, end))
                self.spans[id(node)] = (start, end)
        if self.stack:
            self.parents[id(node)] = self.stack[-1]
        self.stack.append(node)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        if self.stack and self.stack[-1] is original_node:
            self.stack.pop()
        super().on_leave(original_node)


def _code_key(code: types.CodeType) -> tuple:
    """Bytecode and constants, recursively, without line numbers: equal keys run the same."""
    consts = tuple(
        _code_key(c) if isinstance(c, types.CodeType) else (type(c).__name__, repr(c))
        for c in code.co_consts
    )
    return (code.co_code, code.co_names, code.co_varnames, code.co_freevars,
            code.co_cellvars, consts)


def _normal_form(program: str) -> tuple:
    """What the interpreter will run: equal forms mean equal behaviour (same AST implies it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # `x is 0` and friends warn; the verdict is the tests'
        return _code_key(compile(program, "<program>", "exec", dont_inherit=True))


def mutant_id(task_id: str, operator: str, start: int, end: int, replacement: str) -> str:
    """Deterministic across runs and machines: a hash of what the mutant is."""
    key = f"{task_id}\0{operator}\0{start}:{end}\0{replacement}".encode()
    return hashlib.sha256(key).hexdigest()[:16]


def _diff(task_id: str, source: str, mutated: str) -> str:
    return "".join(
        difflib.unified_diff(
            source.splitlines(keepends=True),
            mutated.splitlines(keepends=True),
            fromfile=f"{task_id} (reference)",
            tofile=f"{task_id} (mutant)",
            n=2,
        )
    )


def _candidates(
    module: cst.Module, collector: _Collector, operators: tuple[Operator, ...],
    spans: dict[int, tuple[int, int]],
) -> Iterator[tuple[Operator, cst.CSTNode, int, int, cst.CSTNode]]:
    module.visit(collector)
    spans.update(collector.spans)
    parents = collector.parents
    # Source order, then catalogue order: the order (and so duplicate detection) is stable.
    for node, start, end in sorted(collector.nodes, key=lambda n: (n[1], -n[2])):
        for op in operators:
            if isinstance(node, op.node_types):
                try:
                    replacements = list(op.fn(node, parents.get(id(node))))
                except cst.CSTValidationError:
                    continue  # libcst refuses the node this would build: not a program
                for replacement in replacements:
                    yield op, node, start, end, replacement


def _mutated_program(
    source: str, module: cst.Module, node: cst.CSTNode, start: int, end: int,
    replacement: cst.CSTNode, spans: dict[int, tuple[int, int]],
) -> str:
    """The whole mutated program text.

    Fast path: splice the replacement's code into the node's span, valid when the node prints
    exactly as its span (expressions do; statements print their indentation through their
    parents, so they take the slow path: re-print the whole tree with the node replaced).
    """
    if not isinstance(node, cst.BaseCompoundStatement | cst.SimpleStatementLine):
        if module.code_for_node(node) == source[start:end]:
            return source[:start] + module.code_for_node(replacement) + source[end:]
    elif type(node) is type(replacement):
        # `if c:` -> `if not c:` changes one expression child: splice just that child.
        changed = [
            f.name for f in dataclasses.fields(node)
            if getattr(node, f.name) is not getattr(replacement, f.name)
        ]
        child = getattr(node, changed[0]) if len(changed) == 1 else None
        if isinstance(child, cst.BaseExpression) and id(child) in spans:
            lo, hi = spans[id(child)]
            if module.code_for_node(child) == source[lo:hi]:
                new_child = getattr(replacement, changed[0])
                return source[:lo] + module.code_for_node(new_child) + source[hi:]
    return module.deep_replace(node, replacement).code


def generate(task: Task, operators: tuple[Operator, ...] = OPERATORS) -> list[Mutant]:
    """All mutants of a function task's solution; equivalent ones and duplicates are marked, not
    run. (A repository task's mutants come from mutate/patch.py; mutate.generate picks.)"""
    return generate_text(task.task_id, task.source, operators,
                         lambda offsets, wrapper: _Collector(task.solution_start, task.solution_end,
                                                             offsets, wrapper))


def generate_text(
    task_id: str, source: str, operators: tuple[Operator, ...],
    collector: Callable[[_Offsets, MetadataWrapper], _Collector],
    file: str | None = None, keep: Callable[[_Span, _Offsets], bool] | None = None,
) -> list[Mutant]:
    """The mutants of one text, of the nodes `collector` collects whose span `keep` accepts;
    `file` names the text (a repository task's patched file) in ids, locations and diffs."""
    try:
        wrapper = MetadataWrapper(cst.parse_module(source), unsafe_skip_copy=True)
    except cst.ParserSyntaxError as exc:
        where = f"{file}: " if file else ""
        raise GenerationError(f"{where}program does not parse: {str(exc).splitlines()[0]}") from exc
    module = wrapper.module
    offsets = _Offsets(source)
    tokens = _token_bounds(source, offsets)
    try:
        reference_form = _normal_form(source)
    except (SyntaxError, ValueError) as exc:
        raise GenerationError(f"program does not compile: {exc}") from exc
    seen: dict[object, str] = {}
    mutants: list[Mutant] = []
    ids: set[str] = set()
    spans: dict[int, tuple[int, int]] = {}
    label = task_id if file is None else f"{task_id}\0{file}"  # the id key: same text, other file
    shown = task_id if file is None else file
    nodes = _candidates(module, collector(offsets, wrapper), operators, spans)
    for op, node, start, end, replacement in nodes:
        try:
            mutated = _mutated_program(source, module, node, start, end, replacement, spans)
        except cst.CSTValidationError:
            continue  # the edit is valid alone but not in its place: libcst refuses the program
        if mutated == source:
            continue
        span = _minimal_span(source, mutated, tokens)
        if keep is not None and not keep(span, offsets):
            continue
        ident = mutant_id(label, op.name, span.start, span.end, span.replacement)
        if ident in ids:
            continue  # the same edit reached twice through nested nodes
        ids.add(ident)
        status, detail = _classify(mutated, reference_form, seen, ident)
        mutants.append(
            Mutant(
                id=ident,
                task_id=task_id,
                operator=op.name,
                location=Location(offsets.position(span.start), offsets.position(span.end)),
                start=span.start,
                end=span.end,
                original=source[span.start : span.end],
                replacement=span.replacement,
                diff=_diff(shown, source, mutated),
                status=status,
                detail=detail,
                file=file,
            )
        )
    return mutants


def _classify(
    mutated: str, reference: tuple, seen: dict[object, str], ident: str
) -> tuple[MutantStatus, str | None]:
    """Equivalent (same bytecode as the reference or an earlier mutant), error, or pending."""
    try:
        key = _normal_form(mutated)
    except (SyntaxError, ValueError) as exc:
        return MutantStatus.ERROR, f"mutant does not compile: {exc}"
    if key == reference:
        return MutantStatus.EQUIVALENT, "same bytecode as the reference"
    if key in seen:
        return MutantStatus.EQUIVALENT, f"duplicate of mutant {seen[key]}"
    seen[key] = ident
    return MutantStatus.PENDING, None
