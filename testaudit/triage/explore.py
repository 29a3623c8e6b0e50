"""Inputs for triage: record the suite's calls to the entry point, then grow them by mutation."""

from __future__ import annotations

import random
import sys
import types
from collections.abc import Iterator
from dataclasses import replace

from testaudit.values import (
    CO_VARARGS,
    CO_VARKEYWORDS,
    WIDE_INT,
    Bounds,
    Input,
    Mutator,
    call_text,
    fresh,
    is_plain,
    scalars,
)

NOVEL_SHARE = 0.3  # of parents drawn from the inputs that found new arcs of the reference


def bound_arguments(frame: types.FrameType) -> tuple[tuple, dict]:
    """The arguments a function was called with, read from its frame at the 'call' event."""
    code = frame.f_code
    names = code.co_varnames
    local = frame.f_locals
    positional = [local[name] for name in names[: code.co_argcount]]
    end = code.co_argcount + code.co_kwonlyargcount
    keywords = {name: local[name] for name in names[code.co_argcount : end]}
    if code.co_flags & CO_VARARGS:
        positional.extend(local[names[end]])
        end += 1
    if code.co_flags & CO_VARKEYWORDS:
        keywords.update(local[names[end]])
    return tuple(positional), keywords


class Recorder:
    """A profile hook that keeps deep copies of the arguments the suite passes to the entry point.

    A profile hook rather than a wrapper around the candidate: it needs no change to how a suite
    is run (whatever its kind), and it sees the arguments before the callee can mutate them.
    Calls from inside the program itself (recursion, helpers) are not the suite's inputs.
    """

    def __init__(self, entry_point: str, program_file: str, limit: int = 1000) -> None:
        self.entry_point = entry_point
        self.program_file = program_file
        self.limit = limit
        self.inputs: list[Input] = []
        self.seen: set[str] = set()
        self.skipped = 0  # calls whose arguments are not plain data

    def hook(self, frame: types.FrameType, event: str, arg: object) -> None:
        if event != "call":
            return
        code = frame.f_code
        if code.co_name != self.entry_point or code.co_filename != self.program_file:
            return
        caller = frame.f_back
        if caller is not None and caller.f_code.co_filename == self.program_file:
            return
        try:
            args, kwargs = bound_arguments(frame)
            if not (is_plain(args) and is_plain(kwargs)):
                self.skipped += 1
                return
            key = call_text(args, kwargs)
            if key not in self.seen and len(self.inputs) < self.limit:
                self.seen.add(key)
                self.inputs.append(Input(fresh(args), fresh(kwargs)))
        except Exception:  # a frame we cannot read is a call we do not record
            self.skipped += 1

    def __enter__(self) -> Recorder:
        sys.setprofile(self.hook)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.setprofile(None)


class Arcs:
    """sys.settrace over the frames of one file: the (line, next line) pairs a block runs, as
    coverage.py writes arcs (a function's entry is (-first line, line), its exit (line, -first
    line)). Coverage feedback for the generator, and what strengthen's differential tests cover.

    After each block, `arcs` holds its arcs and `new` the count of those no earlier block with
    this tracer ran. `max_events` caps the line events a block traces (then its frames stop
    tracing: a long loop repeats its arcs), so that a traced call costs a bounded amount more.
    """

    def __init__(self, program_file: str, max_events: int | None = None) -> None:
        self.program_file = program_file
        self.max_events = max_events
        self.arcs: set[tuple[int, int]] = set()
        self.seen: set[tuple[int, int]] = set()
        self.new = 0
        self._events = 0

    def _full(self) -> bool:
        return self.max_events is not None and self._events >= self.max_events

    def _global(self, frame: types.FrameType, event: str, arg: object) -> object:
        if event != "call" or self._full() or frame.f_code.co_filename != self.program_file:
            return None
        first = frame.f_code.co_firstlineno
        last = [-first]
        arcs = self.arcs

        def local(frame: types.FrameType, event: str, arg: object) -> object:
            if self.max_events is not None:
                if self._full():
                    # Returning None does not stop a frame's line events (CPython 3.11 keeps
                    # the local hook): switching them off does.
                    frame.f_trace_lines = False
                    return None
                self._events += 1
            if event == "line":
                arcs.add((last[0], frame.f_lineno))
                last[0] = frame.f_lineno
            elif event == "return":
                arcs.add((last[0], -first))
            return local

        return local

    def __enter__(self) -> Arcs:
        self.arcs = set()
        self._events = 0
        sys.settrace(self._global)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.settrace(None)
        self.new = len(self.arcs - self.seen)
        self.seen |= self.arcs


class Generator:
    """New inputs from a pool of in-domain ones: mutation of one or two arguments, or crossover.

    Only inputs the caller `keep()`s (the reference accepted them) become parents, as in
    EvalPlus: mutating an out-of-domain input rarely leads back into the domain. Inputs kept
    with `novel=True` (they took the reference down arcs no earlier input took) are favoured as
    parents: their neighbours reach the branches a blind walk rarely does (a valid date with
    day 0, only reachable past the month check).
    """

    def __init__(self, seeds: list[Input], rng: random.Random, program: str = "",
                 variants: tuple[str, ...] = (), wide: bool = False) -> None:
        """`wide`: now and then try ints far past the suite's scale (WIDE_INT), for a reference
        cheap enough that a call it cannot finish in time costs little."""
        self.rng = rng
        self.seeds = [s for s in seeds if s.args or s.kwargs]
        self.pool = list(self.seeds)
        self.novel: list[Input] = []
        self.bounds = Bounds.around(self.seeds, program, variants)
        if wide:
            self.bounds = replace(self.bounds, wide_int=WIDE_INT)
        self.mutator = Mutator(rng, self.bounds)

    def keep(self, inp: Input, novel: bool = False) -> None:
        self.pool.append(inp)
        if novel:
            self.novel.append(inp)

    def __iter__(self) -> Iterator[Input]:
        while self.pool:
            inp = self._one()
            if inp is not None and len(inp.text) <= self.bounds.max_text:
                yield inp

    def _one(self) -> Input | None:
        rng = self.rng
        # Favour the suite's own inputs as parents: witnesses near them are easier to read.
        draw = rng.random()
        if self.novel and draw < NOVEL_SHARE:
            parents = self.novel
        else:
            parents = self.seeds if self.seeds and draw < NOVEL_SHARE + 0.3 else self.pool
        parent = rng.choice(parents)
        if len(self.pool) > 1 and rng.random() < 0.1:
            return self._crossover(parent, rng.choice(self.pool))
        return self._mutate(parent)

    def _mutate(self, parent: Input) -> Input | None:
        args, kwargs = list(parent.args), dict(parent.kwargs)
        slots = [("a", i) for i in range(len(args))] + [("k", k) for k in kwargs]
        found: dict[str, object] = {}
        for value in (*args, *kwargs.values()):
            scalars(value, found)
        self.mutator.context = tuple(found.values())
        for _ in range(2 if self.rng.random() < 0.2 else 1):
            where, key = self.rng.choice(slots)
            if where == "a":
                args[key] = self.mutator.value(args[key])
            else:
                kwargs[key] = self.mutator.value(kwargs[key])
        return Input(tuple(args), kwargs, parent.distance + 1)

    def _crossover(self, a: Input, b: Input) -> Input | None:
        if len(a.args) != len(b.args) or a.kwargs.keys() != b.kwargs.keys() or a is b:
            return None
        args = []
        for x, y in zip(a.args, b.args, strict=True):
            if type(x) is type(y) and type(x) in (list, str) and self.rng.random() < 0.5:
                # Splice two sequences: the head of one, the tail of the other.
                args.append(x[: self.rng.randrange(len(x) + 1)] + y[self.rng.randrange(len(y) + 1) :])
            else:
                args.append(self.rng.choice((x, y)))
        return Input(tuple(fresh(v) for v in args), fresh(a.kwargs),
                     max(a.distance, b.distance) + 1)
