"""Differential tests for `testaudit strengthen`: the reference's own results on valid inputs,
chosen greedily for what they add to the suite, each verified on the reference.

Runs in the triage worker after a task's survivors are triaged (task.py calls `added_tests`):

1. candidates: the kept inputs inside the tested domain (never one `Domain.outside` labels), not
   the suite's own, on which the reference returns a value fast enough (no slower per call than
   the whole suite, or 2 ms), whose test reads back as short literals;
2. trace (a sandbox child): the reference's suite runs under a line tracer, then the reference on
   each candidate: the arcs (line -> next line) each runs, and whether its result hinges on float
   noise (one ulp more or less in any float argument changes it beyond the tolerance; or a float
   result too large for the tolerance to absorb rounding);
3. choose: greedily, the candidate that adds most to the suite and the tests chosen so far:
   survivors it tells from the reference, then arcs of the reference the suite never takes, then
   a kind of result not seen yet (type, sign, empty...), boundary values (empty, zero, negative,
   one element, the program's own constants +-1), then any result not seen, then distance from
   the suite's inputs; ties go to the shorter test. The order is a prefix order: `--max-tests k`
   chooses the first k of what a larger k chooses (benchmarks/bench_strengthen.py relies on it);
4. verify: every chosen test runs on the reference in two fresh children (task.py's
   `passing_on_reference`); only one that passes both times is kept.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from testaudit import suites
from testaudit.config import power_of_two
from testaudit.records import AddedTest, TriageJob
from testaudit.sandbox import child as children
from testaudit.triage.compare import call, load_program, reseed
from testaudit.triage.explore import Arcs
from testaudit.values import Input, harvest

MAX_CANDIDATES = 240  # inputs traced per task, spread over the kept ones
MAX_TEXT = 200  # a longer test is not one a maintainer reads in a pull request
MIN_CALL_S = 0.002  # an added input may cost this much CPU time even when the suite is faster
TRACE_BUDGET_S = 2.0  # CPU seconds for the tracing child: it stops sending when it runs out
NOISE_REL = 1e-12  # a float result |v| with |v| x this > tolerance: rounding could exceed it
OVERSHOOT = 2  # choose this many times --max-tests, verify them all, keep the first that pass


@dataclass
class _Traced:
    suite_arcs: set = field(default_factory=set)
    arcs: dict[int, frozenset] = field(default_factory=dict)  # candidate index -> arcs it runs
    noisy: set[int] = field(default_factory=set)  # candidates whose result hinges on float noise


def _nudged(value: object, direction: float) -> object:
    """The value with every float moved one ulp toward `direction`, inside lists, tuples, dicts."""
    kind = type(value)
    if kind is float:
        return math.nextafter(value, direction) if math.isfinite(value) else value
    if kind in (list, tuple):
        return kind(_nudged(v, direction) for v in value)
    if kind is dict:
        return {k: _nudged(v, direction) for k, v in value.items()}
    return value


def _has_float(value: object) -> bool:
    kind = type(value)
    if kind is float:
        return True
    if kind in (list, tuple, set, frozenset):
        return any(_has_float(v) for v in value)
    if kind is dict:
        return any(_has_float(v) for v in value.values())
    return False


def _too_big(value: object, tolerance: float) -> bool:
    """A float result whose rounding error alone could pass the tolerance (or that has none)."""
    kind = type(value)
    if kind is float:
        return not math.isfinite(value) or abs(value) * NOISE_REL > max(tolerance, 1e-300)
    if kind in (list, tuple):
        return any(_too_big(v, tolerance) for v in value)
    if kind is dict:
        return any(_too_big(v, tolerance) for v in value.values())
    return False


def _trace_body(job: TriageJob, prepared: suites.PreparedTask, path: str, seed: int,
                candidates: list[tuple[int, Input, object]], tolerance: float,
                send: children.Send) -> None:
    """Child body. Frames: ("suite", arcs), then ("input", index, arcs, noisy) per candidate."""
    task = job.task
    suite = suites.suite_for(task)
    code = suites.compile_program(task.source, path)
    with Arcs(path) as tracer:
        suites.run_suite(prepared, code)
    send(("suite", sorted(tracer.arcs)))
    _, function = load_program(task.source, path, task.entry_point, seed, suite)
    seed_or_none = reseed(task.source, seed)
    compare = suite.comparison(task, job.settings.atol)
    limit = max(MIN_CALL_S, job.suite_seconds) * 20
    started = time.process_time()
    for index, inp, expected in candidates:
        if time.process_time() - started > 2 * TRACE_BUDGET_S:  # only a net: see _affordable
            break
        with Arcs(path) as tracer:
            outcome = call(function, inp, limit, seed_or_none)
        noisy = outcome.kind != "value" or _too_big(outcome.value, tolerance)
        if not noisy and _has_float((inp.args, inp.kwargs)):
            for direction in (math.inf, -math.inf):
                moved = Input(_nudged(inp.args, direction), _nudged(inp.kwargs, direction))
                other = call(function, moved, limit, seed_or_none)
                if other.kind != "value" or not compare.same(moved, expected, other.value):
                    noisy = True
                    break
        send(("input", index, sorted(tracer.arcs), noisy))


def trace(job: TriageJob, prepared: suites.PreparedTask, settings, workdir: str, path: str,
          candidates: list[tuple[int, Input, object]], tolerance: float) -> _Traced:
    found = _Traced()
    budget = 2 * (5 * job.suite_seconds + 0.5) + 1.0

    def body(send: children.Send) -> None:
        _trace_body(job, prepared, path, settings.seed, candidates, tolerance, send)

    for frame in children.frames(children.fork(body, settings, workdir), settings.reference_timeout_s,
                                 budget):
        if frame[0] == "suite":
            found.suite_arcs = {tuple(a) for a in frame[1]}
        elif frame[0] == "input":
            found.arcs[frame[1]] = frozenset(tuple(a) for a in frame[2])
            if frame[3]:
                found.noisy.add(frame[1])
    return found


# --- what an input adds -----------------------------------------------------------------------


def result_kind(value: object) -> tuple:
    """A coarse class of a result, for "a kind of output the suite never shows"."""
    kind = type(value).__name__
    if isinstance(value, bool) or value is None:
        return (kind, value)
    if isinstance(value, int | float):
        return (kind, (value > 0) - (value < 0))
    if isinstance(value, str | bytes | list | tuple | dict | set | frozenset):
        size = len(value)
        return (kind, min(size, 2))  # empty, one, several
    return (kind,)


def int_constants(source: str) -> set[int]:
    """The program's integer constants: a boundary is a constant or one off it."""
    return {c + d for c in harvest(source)[0] for d in (-1, 0, 1)}


def boundaries(inp: Input, constants: set[int]) -> set[tuple]:
    """The boundary values an input holds, per argument: empty, zero, negative, one element..."""
    found = set()
    values = list(enumerate(inp.args)) + list(inp.kwargs.items())
    for name, value in values:
        kind = type(value)
        if kind in (int, float):
            if value == 0:
                found.add((name, "0"))
            elif value < 0:
                found.add((name, "negative"))
            if kind is int and value in constants:
                found.add((name, f"= {value}"))
        elif kind in (str, list, tuple, dict, set):
            if len(value) <= 1:
                found.add((name, "empty" if not value else "one element"))
            if kind in (list, tuple) and value and len(set(map(repr, value))) < len(value):
                found.add((name, "duplicates"))
            if kind in (list, tuple) and any(type(v) in (int, float) and v < 0 for v in value):
                found.add((name, "a negative element"))
    return found


def _bucket(size: int) -> int:
    """0, 1, 2-3, 4-7, 8 and more: sizes far enough apart to be other kinds of input."""
    return min(size.bit_length(), 4)


def _digits(value: float) -> int:
    """0, 1-9, 10-99, 100-999, 1000 and more (and fractions below 1, as 1)."""
    return min(len(str(int(min(abs(value), 1e18)))) if value else 0, 4)


def _classes(text: str) -> str:
    return "".join(sorted({"a" if c.islower() else "A" if c.isupper() else "9" if c.isdigit()
                           else "_" if c.isspace() else "." for c in text}))


def shapes(inp: Input) -> set[tuple]:
    """What an input looks like, per argument: its type, its size or magnitude (an order apart),
    a string's character classes. New shapes are inputs far from the ones before."""
    found = set()
    for name, value in list(enumerate(inp.args)) + list(inp.kwargs.items()):
        kind = type(value)
        if kind is int or kind is float:
            found.add((name, kind.__name__, "digits", _digits(value)))
        elif kind in (str, list, tuple, dict, set):
            found.add((name, kind.__name__, _bucket(len(value))))
            if kind is str:
                found.add((name, "chars", _classes(value)))
            elif value and kind is not dict:
                found.add((name, "items", tuple(sorted({type(v).__name__ for v in value}))))
        else:
            found.add((name, kind.__name__))
    return found


def _name(where: object, names: list[str] | None) -> str:
    if where == "result":
        return "the result"
    if isinstance(where, int):
        return f"`{names[where]}`" if names and where < len(names) else f"argument {where + 1}"
    return f"`{where}`"


BOUNDARY_TEXT = {"0": "{} = 0", "negative": "{} < 0", "empty": "{} empty", "one element": "{} of one element",
                 "duplicates": "{} with duplicates", "a negative element": "{} with a negative element"}


def _describe_boundary(names: list[str] | None, mark: tuple) -> str:
    where, what = mark
    if what.startswith("="):
        return f"{_name(where, names)} {what}"
    return BOUNDARY_TEXT.get(what, "{} " + what).format(_name(where, names))


@dataclass(frozen=True)
class Candidate:
    index: int  # into the explored inputs
    text: str  # the test, in the suite's style
    arcs: frozenset
    kind: tuple  # result_kind of the reference's result
    value: str  # the result's repr, for "not seen yet"
    marks: frozenset  # boundary values
    kills: frozenset  # survivors that disagree with the reference on it
    distance: int
    shapes: frozenset = frozenset()  # `shapes` of the input, and the result's size


@dataclass
class Seen:
    """What the suite and the tests chosen so far already cover."""

    arcs: set = field(default_factory=set)
    kinds: set = field(default_factory=set)
    values: set = field(default_factory=set)
    marks: set = field(default_factory=set)
    killed: set = field(default_factory=set)
    shapes: set = field(default_factory=set)

    def gain(self, c: Candidate) -> tuple:
        """What `c` adds, weighted by the order of the module's docstring; then distance (up to
        5 steps), then the shorter test. 0 first: it adds nothing."""
        new = (len(c.kills - self.killed), len(c.arcs - self.arcs), c.kind not in self.kinds,
               len(c.marks - self.marks), len(c.shapes - self.shapes), c.value not in self.values)
        score = 1000 * new[0] + 100 * new[1] + 30 * new[2] + 10 * new[3] + 5 * new[4] + 3 * new[5]
        return score + min(c.distance, 5) if score else 0, -len(c.text), -c.index

    def add(self, c: Candidate) -> None:
        self.arcs |= c.arcs
        self.kinds.add(c.kind)
        self.values.add(c.value)
        self.marks |= c.marks
        self.killed |= c.kills
        self.shapes |= c.shapes

    def copy(self) -> Seen:
        return Seen(set(self.arcs), set(self.kinds), set(self.values), set(self.marks),
                    set(self.killed), set(self.shapes))


def choose(candidates: list[Candidate], seen: Seen, count: int) -> list[Candidate]:
    """Greedy: each next test is the one that adds most to the suite and the tests before it."""
    seen = seen.copy()
    left, chosen = list(candidates), []
    while left and len(chosen) < count:
        best = max(left, key=seen.gain)
        if seen.gain(best)[0] == 0:
            break  # nothing it would add: no more tests for the sake of a count
        chosen.append(best)
        left.remove(best)
        seen.add(best)
    return chosen


def _reason(c: Candidate, seen: Seen, source_lines: list[str], inp: Input,
            names: list[str] | None) -> tuple[str, tuple[int, ...]]:
    """One line saying what the test adds, and the program lines it runs that the suite does not."""
    lines = new_lines(c, seen)
    parts = []
    if c.kills - seen.killed:
        n = len(c.kills - seen.killed)
        parts.append(f"tells {n} survivor{'s' if n > 1 else ''} from the reference")
    if lines:
        shown = source_lines[lines[0] - 1].strip() if lines[0] <= len(source_lines) else ""
        more = f" (+{len(lines) - 1} more)" if len(lines) > 1 else ""
        parts.append(f"runs line {lines[0]} `{shown[:40]}`{more}, which the tests never run")
    elif c.arcs - seen.arcs:
        a, b = sorted(c.arcs - seen.arcs)[0]
        parts.append(f"takes the branch {abs(a)} -> {abs(b)}, which the tests never take")
    if c.kind not in seen.kinds:
        parts.append(f"a kind of result the tests never show ({c.kind[0]}{_kind_text(c.kind)})")
    if c.marks - seen.marks:
        marks = sorted(_describe_boundary(names, m) for m in c.marks - seen.marks)
        parts.append("boundary: " + ", ".join(marks))
    if not parts and c.shapes - seen.shapes:
        shape = sorted(c.shapes - seen.shapes, key=repr)[0]
        parts.append(f"an input unlike the tests' ({_shape_text(shape, names)})")
    if not parts:
        parts.append(f"a result the tests never check: {c.value[:40]}")
    return "; ".join(parts), lines


def new_lines(c: Candidate, seen: Seen) -> tuple[int, ...]:
    return tuple(sorted({b for _, b in c.arcs if b > 0} - {b for _, b in seen.arcs if b > 0}))


def _shape_text(shape: tuple, names: list[str] | None) -> str:
    where = _name(shape[0], names)
    if shape[1] == "chars":
        return f"{where} with characters of classes {shape[2]!r}"
    if shape[1] == "items":
        return f"{where} with items of type {', '.join(shape[2])}"
    if len(shape) == 4:  # a number's digits
        return f"{where} of {shape[3]}{'+' if shape[3] == 4 else ''} digits"
    if len(shape) == 3:
        low, top = (0 if shape[2] == 0 else 2 ** (shape[2] - 1)), 2 ** shape[2] - 1
        size = f"{low}" if shape[2] <= 1 else f"{low}+" if shape[2] == 4 else f"{low} to {top}"
        return f"{where} of size {size}"
    return f"{where} of type {shape[1]}"


def _kind_text(kind: tuple) -> str:
    if len(kind) < 2:
        return ""
    what = kind[1]
    if kind[0] in ("int", "float"):
        return {-1: ", negative", 0: ", zero", 1: ", positive"}[what]
    if kind[0] in ("bool", "NoneType"):
        return f" {what}"
    return {0: ", empty", 1: ", one element", 2: ""}[what]


# --- the hook task.py calls -------------------------------------------------------------------


def _spread(indices: list[int], count: int) -> list[int]:
    """`count` of the indices, evenly spread (the kept inputs come closest to the suite first)."""
    if len(indices) <= count:
        return indices
    step = len(indices) / count
    return sorted({indices[int(i * step)] for i in range(count)})


def _pool(job: TriageJob, explored) -> list[int]:
    """The inputs a differential test may use: generated (not the suite's own), inside the tested
    domain and not `Domain.unwritable`, on which the reference returns a value."""
    return [i for i, inp in enumerate(explored.inputs)
            if inp.distance > 0 and explored.outside[i] is None and not inp.unwritable
            and explored.expected[i].kind == "value"]


TRACED_COST = 10  # a traced call, in untraced ones (the line tracer's overhead, measured roughly)


def _affordable(explored, indices: list[int]) -> list[int]:
    """The first of `indices` whose traced calls fit TRACE_BUDGET_S, at their measured costs
    rounded up to a power of two: decided here from explore's readings, once, so that the
    tracing child's own clock (a net at twice the budget) does not decide how many it traces."""
    kept, spent = [], 0.0
    for i in indices:
        spent += TRACED_COST * power_of_two(max(explored.expected[i].seconds, 2e-6))
        if spent > TRACE_BUDGET_S and kept:
            break
        kept.append(i)
    return kept


def _fast(job: TriageJob, explored, indices: list[int]) -> list[int]:
    """Those of `indices` on which the reference took no longer than an added test may cost.

    Applied after the spread, never before: one call's measured time is a clock reading (a
    page fault or a timer tick can make a 20 us call take 4 ms), and a pool that loses one
    input to it would shift every spread index after it, so two runs would trace different
    candidates and choose different tests (seen on MBPP+ Mbpp/74). After the spread, such a
    reading costs at most the one candidate it hits."""
    limit = max(MIN_CALL_S, job.suite_seconds)
    return [i for i in indices if explored.expected[i].seconds <= limit]


def _kills_of(disagree: dict[str, Iterable[int]]) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for ident, indices in disagree.items():
        for i in indices:
            found.setdefault(i, set()).add(ident)
    return found


def _indices_of(cover: list[str], candidates: Iterable[int],
                write: Callable[[int], str | None]) -> dict[str, int]:
    """Where each suggested test's input is, so that its coverage counts before the new ones'."""
    found: dict[str, int] = {}
    for i in candidates:
        if len(found) == len(cover):
            break
        text = write(i)
        if text in cover and text not in found:
            found[text] = i
    return found


def _seen_by_suite(explored, traced: _Traced, constants: set[int]) -> tuple[Seen, set]:
    """What the suite's own calls cover, and their boundary marks (never counted as new)."""
    own = [i for i, inp in enumerate(explored.inputs)
           if inp.distance == 0 and explored.expected[i].kind == "value"]
    seen = Seen(set(traced.suite_arcs), {result_kind(explored.expected[i].value) for i in own},
                {_repr(explored.expected[i].value) for i in own})
    for i in own:
        seen.shapes |= _shapes_of(explored.inputs[i], explored.expected[i].value)
    marks = set().union(*(boundaries(explored.inputs[i], constants) for i in own)) if own else set()
    return seen, marks


def added_tests(job: TriageJob, explored, prepared: suites.PreparedTask, settings, workdir: str,
                path: str, disagree: dict[str, Iterable[int]], cover: list[str],
                cover_kills: dict[str, set[str]], write: Callable[[int], str | None],
                on_reference: Callable[[list[str], dict[str, int]], set[str]]) -> tuple[AddedTest, ...]:
    """The suggested tests, then up to `job.settings.differential` verified differential tests.

    `disagree`: survivor id -> the input indices where it disagrees (unverified evidence);
    `cover`: the verified suggested tests, `cover_kills` the confirmed survivors each kills;
    `write(i)`: the test for input i in the suite's style; `on_reference(texts, index_of)`: the
    texts that pass on the reference in a fresh child.
    """
    task = job.task
    compare = suites.suite_for(task).comparison(task, job.settings.atol)
    tolerance = max(getattr(compare, "atol", 0.0) or 0.0, job.settings.atol)
    kills_of = _kills_of(disagree)
    cover_index = _indices_of(cover, sorted(kills_of), write)
    picked = _fast(job, explored, _spread(_pool(job, explored), MAX_CANDIDATES - len(cover_index)))
    texts: dict[int, str] = {}
    for i in picked:
        text = write(i)
        if text is not None and len(text) <= MAX_TEXT and text not in task.test and text not in cover:
            texts[i] = text
    traced = trace(job, prepared, settings, workdir, path,
                   [(i, explored.inputs[i], explored.expected[i].value)
                    for i in _affordable(explored, [*cover_index.values(), *texts])], tolerance)
    constants = int_constants(task.source[task.solution_start:task.solution_end])
    seen, suite_marks = _seen_by_suite(explored, traced, constants)

    def candidate(i: int, text: str) -> Candidate:
        inp, value = explored.inputs[i], explored.expected[i].value
        return Candidate(i, text, traced.arcs.get(i, frozenset()), result_kind(value), _repr(value),
                         frozenset(boundaries(inp, constants) - suite_marks), frozenset(kills_of.get(i, ())),
                         inp.distance, frozenset(_shapes_of(inp, value)))

    added: list[AddedTest] = []
    for text in cover:
        kills = cover_kills.get(text, set())
        found = candidate(cover_index[text], text) if text in cover_index else None
        lines = new_lines(found, seen) if found else ()
        if found:
            seen.add(found)
        seen.killed |= kills
        n = len(kills)
        added.append(AddedTest(text, "suggested", f"kills {n} confirmed wrong program{'s' if n != 1 else ''}",
                               tuple(sorted(kills)), lines))
    wanted = job.settings.differential or 0
    ready = [candidate(i, t) for i, t in texts.items() if i in traced.arcs and i not in traced.noisy]
    chosen = choose(ready, seen, OVERSHOOT * wanted) if wanted > 0 else []
    index_of = {c.text: c.index for c in chosen}
    # Twice, each in a fresh child: a test that passes once may hinge on state or chance.
    good = set()
    if chosen:
        good = on_reference(list(index_of), index_of) & on_reference(list(index_of), index_of)
    source_lines = task.source.splitlines()
    for c in [c for c in chosen if c.text in good][:wanted]:
        reason, lines = _reason(c, seen, source_lines, explored.inputs[c.index], explored.names)
        added.append(AddedTest(c.text, "differential", reason, tuple(sorted(c.kills - seen.killed)), lines))
        seen.add(c)
    return tuple(added)


def _shapes_of(inp: Input, result: object) -> set[tuple]:
    out = shapes(inp)
    if isinstance(result, str | list | tuple | dict | set):
        out.add(("result", _bucket(len(result))))
    return out


def _repr(value: object) -> str:
    try:
        return repr(value)[:500]
    except Exception:
        return "?"
