"""Plain data shared by suites and triage: inputs, plain-value checks, type-aware mutation.

Anyone may import this module.
"""

from __future__ import annotations

import ast
import math
import random
import re
import string
from dataclasses import dataclass, field

# Only plain data crosses process boundaries and appears in witnesses and suggested tests: its repr
# can be read back, and it cannot run code when it is compared, copied or pickled.
_SCALARS = (bool, int, float, complex, str, bytes, type(None))
_MAX_DEPTH = 12
CO_VARARGS, CO_VARKEYWORDS = 0x04, 0x08


def is_plain(value: object, depth: int = 0) -> bool:
    """True for builtin scalars and (nested) lists, tuples, dicts and sets of them, exact types."""
    kind = type(value)
    if kind in _SCALARS:
        return True
    if depth >= _MAX_DEPTH:
        return False
    if kind in (list, tuple, set, frozenset):
        return all(is_plain(v, depth + 1) for v in value)
    if kind is dict:
        return all(is_plain(k, depth + 1) and is_plain(v, depth + 1)
                   for k, v in value.items())
    return False


def opaque_type(value: object, depth: int = 0) -> str:
    """The name of the first type inside `value` that makes it not plain data (for messages)."""
    kind = type(value)
    if depth < _MAX_DEPTH and kind in (list, tuple, set, frozenset, dict):
        items = [x for pair in value.items() for x in pair] if kind is dict else list(value)
        for item in items:
            if not is_plain(item, depth + 1):
                return opaque_type(item, depth + 1)
    return kind.__name__


def fresh(value: object) -> object:
    """A copy of plain data that the callee may mutate freely: a cheap deepcopy."""
    kind = type(value)
    if kind is list:
        return [fresh(v) for v in value]
    if kind is dict:
        return {k: fresh(v) for k, v in value.items()}
    if kind is set:
        return set(value)
    if kind is tuple:
        return tuple(fresh(v) for v in value)
    return value


def call_text(args: tuple, kwargs: dict) -> str:
    """The arguments as written inside a call's parentheses: `[1, 2], 3, key='x'`."""
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return ", ".join(parts)


@dataclass(frozen=True)
class Input:
    """One call of the entry point. pickleable: sent from the sandbox child to its worker."""

    args: tuple
    kwargs: dict = field(default_factory=dict)
    # Mutation steps from an input the suite itself uses (0: the suite's own call). A witness
    # close to the suite's own inputs is easier to judge and to turn into a test.
    distance: int = 0
    # How many soft properties of the tested domain it breaks (triage/domain.py `Domain.soft`):
    # of two inputs inside the domain, the one that breaks fewer is likelier valid, tried first.
    strain: int = 0
    # Whether it breaks a soft relation between parameters (`Domain.unwritable`): inside the
    # tested domain, but never the input of a written test.
    unwritable: bool = False

    @property
    def text(self) -> str:
        return call_text(self.args, self.kwargs)


# --- type-aware mutation (after EvalPlus) -----------------------------------------------------


@dataclass(frozen=True)
class Bounds:
    """Limits that keep generated inputs near the scale of the suite's own."""

    max_int: int
    max_len: int
    max_text: int  # longest call_text of a generated input
    alphabet: str
    # Constants of the program: the boundaries its comparisons test (`x > 100` needs 100 and 101)
    # and the words it looks for. Fuzzers call this constant harvesting.
    numbers: tuple[int, ...] = ()
    words: tuple[str, ...] = ()
    # Float constants of the program (`x < 0.5`), and the lengths its comparisons and slices
    # name (`len(s) > 3`, `s[:4]`): a length is a boundary too, reached by resizing a sequence.
    reals: tuple[float, ...] = ()
    lengths: tuple[int, ...] = ()
    # Scalars the suite's own inputs hold (the tests' literals, at any depth): a target to look
    # for is often one of the list's elements, a key one of the dict's.
    literals: tuple[object, ...] = ()
    # Now and then an int far past the suite's scale, up to this (0: never): no upper bound is
    # ever inferred, and `/` -> `//` or a float's rounding shows only past 2**53.
    wide_int: int = 0

    @staticmethod
    def around(inputs: list[Input], program: str = "", variants: tuple[str, ...] = ()) -> Bounds:
        """`variants`: the survivors' programs, whose mutated lines name boundaries of their own
        (`range(2, n)` -> `range(3, n)` needs an input where 2 and 3 differ)."""
        ints: list[int] = [0]
        lengths: list[int] = [0]
        chars: set[str] = set()
        for inp in inputs:
            for value in (*inp.args, *inp.kwargs.values()):
                _measure(value, ints, lengths, chars)
        texts = [len(inp.text) for inp in inputs] or [0]
        base = string.ascii_letters + string.digits + " .,-_!"
        alphabet = "".join(sorted(chars)) + base
        numbers, words = harvest(program)
        reals, sizes = boundaries(program)
        for variant in variants:
            more, _ = harvest(variant)
            more_reals, more_sizes = boundaries(variant)
            numbers = tuple(sorted({*numbers, *more}))
            reals, sizes = tuple(sorted({*reals, *more_reals})), tuple(sorted({*sizes, *more_sizes}))
        literals: dict[str, object] = {}
        for inp in inputs:
            for value in (*inp.args, *inp.kwargs.values()):
                scalars(value, literals)
        return Bounds(
            max_int=max(1000, 10 * max(ints), *(abs(n) + 1 for n in numbers)),
            max_len=max(8, 2 * max(lengths), *(n + 1 for n in sizes)),
            max_text=max(200, 4 * max(texts)),
            alphabet=alphabet,
            numbers=numbers,
            words=words,
            reals=reals,
            lengths=sizes,
            literals=tuple(literals.values())[:_MAX_LITERALS],
        )


def harvest(program: str) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """The small int and short str constants of a program, sorted (docstrings are too long)."""
    try:
        tree = ast.parse(program)
    except (SyntaxError, ValueError):
        return (), ()
    numbers: set[int] = set()
    words: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant):
            value = node.value
            if type(value) is int and abs(value) <= 10**6:
                numbers.add(value)
            elif type(value) is str and 0 < len(value) <= 12:
                words.add(value)
    return tuple(sorted(numbers)), tuple(sorted(words))


_MAX_LITERALS = 256
WIDE_SHARE = 0.03  # of int mutations, those that go past the suite's scale (Bounds.wide_int)
WIDE_INT = 10**10
_MAX_LENGTH_CONSTANT = 64  # a longer length constant is a table size, not a boundary to reach


def boundaries(program: str) -> tuple[tuple[float, ...], tuple[int, ...]]:
    """The float constants of a program, and the lengths it compares or slices by.

    `len(xs) > 3` and `s[:4]` (or `s[4]`) name lengths 3 and 4: a sequence of exactly that many
    elements, and one more or fewer, sits on the boundary (MBPP+ Mbpp/93-style `n <= 1` guards
    compare a number instead, which `harvest` covers)."""
    try:
        tree = ast.parse(program)
    except (SyntaxError, ValueError):
        return (), ()
    reals: set[float] = set()
    sizes: set[int] = set()

    def small_int(node: ast.AST) -> int | None:
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = small_int(node.operand)
            return None if inner is None else -inner
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return node.value
        return None

    def is_len(node: ast.AST) -> bool:
        return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len"

    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and type(node.value) is float and math.isfinite(node.value):
            reals.add(node.value)
        elif isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(is_len(x) for x in sides):
                sizes.update(n for n in map(small_int, sides) if n is not None)
        elif isinstance(node, ast.Subscript):
            where = node.slice
            parts = [where.lower, where.upper] if isinstance(where, ast.Slice) else [where]
            sizes.update(n for n in map(small_int, [p for p in parts if p is not None]) if n is not None)
    sizes = {abs(n) + d for n in sizes for d in (-1, 0, 1) if 0 <= abs(n) + d <= _MAX_LENGTH_CONSTANT}
    return tuple(sorted(reals)), tuple(sorted(sizes))


def scalars(value: object, found: dict[str, object], depth: int = 0) -> None:
    """The ints, floats and short strings inside a value (keys of a dict too)."""
    if depth > _MAX_DEPTH or len(found) >= _MAX_LITERALS:
        return
    if type(value) in (int, float) or (type(value) is str and 0 < len(value) <= 12):
        found.setdefault(repr(value), value)
    elif type(value) in (list, tuple, set, frozenset):
        for v in list(value)[:64]:
            scalars(v, found, depth + 1)
    elif type(value) is dict:
        for k, v in list(value.items())[:64]:
            scalars(k, found, depth + 1)
            scalars(v, found, depth + 1)


def _measure(value: object, ints: list[int], lengths: list[int], chars: set[str], depth: int = 0) -> None:
    if depth > _MAX_DEPTH:
        return
    if type(value) is int:
        ints.append(min(abs(value), 10**9))
    elif type(value) is float and math.isfinite(value):
        ints.append(min(int(abs(value)), 10**9))
    elif type(value) is str:
        lengths.append(len(value))
        chars.update(value[:200])
    elif type(value) in (list, tuple, set, frozenset):
        lengths.append(len(value))
        for v in value:
            _measure(v, ints, lengths, chars, depth + 1)
    elif type(value) is dict:
        lengths.append(len(value))
        for k, v in value.items():
            _measure(k, ints, lengths, chars, depth + 1)
            _measure(v, ints, lengths, chars, depth + 1)


class Mutator:
    """Type-aware mutation of plain values: each call returns a new value of the same type."""

    def __init__(self, rng: random.Random, bounds: Bounds) -> None:
        self.rng = rng
        self.bounds = bounds
        # The scalars of the input being mutated (set by its generator): a value of one argument
        # is often meant to occur in another (a target in the list, a key in the dict).
        self.context: tuple[object, ...] = ()

    def _like(self, value: object) -> object | None:
        """A scalar of the same type from the input itself or the suite's literals, or None."""
        pool = self.context if self.context and self.rng.random() < 0.5 else self.bounds.literals
        same = [v for v in pool if type(v) is type(value)]
        return self.rng.choice(same) if same else None

    def value(self, value: object, depth: int = 0) -> object:
        kind = type(value)
        if depth > 4:
            return value
        if kind is bool:
            return not value
        if kind is int:
            return self.integer(value)
        if kind is float:
            return self.real(value)
        if kind is str:
            return self.text(value)
        if kind is list:
            return self.sequence(value, depth)
        if kind is tuple:
            return self.record(value, depth)
        if kind is dict:
            return self.mapping(value, depth)
        if kind in (set, frozenset):
            return kind(self.sequence(sorted(value, key=repr), depth))
        return value  # None, bytes, complex: left as they are

    def integer(self, n: int) -> int:
        top = self.bounds.max_int
        rng = self.rng
        # Small steps and sign changes most of the time; now and then a value of any magnitude
        # up to the bound, spread evenly over orders of magnitude (a guard like `x > 100` needs
        # a value past it, a loop bound one in range).
        far = int(10 ** rng.uniform(0, math.log10(top))) * rng.choice((1, -1))
        choices = [n + 1, n - 1, -n, 0, 1, -1, n * 2, n // 2, rng.randint(-10, 10),
                   rng.randint(0, max(1, abs(n) + 1)), far]
        if self.bounds.numbers:
            choices.append(rng.choice(self.bounds.numbers) + rng.choice((-1, 0, 1)))
        like = self._like(n)
        if like is not None:
            choices.append(like)
        if self.bounds.wide_int > top and rng.random() < WIDE_SHARE:
            far = int(10 ** rng.uniform(math.log10(top), math.log10(self.bounds.wide_int)))
            return far if n >= 0 else -far
        return max(-top, min(top, rng.choice(choices)))

    def real(self, x: float) -> float:
        if not math.isfinite(x):
            return self.rng.choice((0.0, 1.0, -1.0))
        top = float(self.bounds.max_int)
        choices = [x + 1.0, x - 1.0, -x, 0.0, x * 2.0, x / 2.0, round(x), round(x, 1),
                   x + self.rng.uniform(-1.0, 1.0), self.rng.uniform(-top, top)]
        if self.bounds.reals:  # a float the program compares with, on it and just either side
            c = self.rng.choice(self.bounds.reals)
            choices.append(self.rng.choice((c, c + 1e-3 * max(1.0, abs(c)), c - 1e-3 * max(1.0, abs(c)))))
        like = self._like(x)
        if like is not None:
            choices.append(like)
        return max(-top, min(top, float(self.rng.choice(choices))))

    def text(self, s: str) -> str:
        rng = self.rng
        i = rng.randrange(len(s) + 1)
        j = rng.randrange(i, len(s) + 1)
        char = rng.choice(self.bounds.alphabet)
        word = rng.choice(self.bounds.words) if self.bounds.words else " "
        ops = (
            lambda: s[:i] + char + s[i:],  # insert
            lambda: s[:i] + s[i + 1 :],  # delete
            lambda: s[:i] + char + s[i + 1 :],  # replace
            lambda: s[:i] + s[i : i + 1].swapcase() + s[i + 1 :],
            lambda: rng.choice((s.upper(), s.lower(), s.swapcase())),
            lambda: "",
            lambda: s[:j] + s[i:j] + s[j:],  # repeat a part
            lambda: s[i:j],  # keep a part
            lambda: s[:i] + " " + s[i:],
            lambda: s[:i] + word + s[i:],  # a string the program looks for
            lambda: self._digits(s),
            lambda: self._like(s) or s,  # one of the suite's own strings, or the input's
            lambda: self._stretch(s),  # a length the program compares or slices by
        )
        out = ops[0]() if not s else rng.choice(ops)()
        return out[: self.bounds.max_len]

    def _stretch(self, s: str) -> str:
        if not self.bounds.lengths:
            return s
        size = self.rng.choice(self.bounds.lengths)
        while len(s) < size:
            i = self.rng.randrange(len(s) + 1)
            s = s[:i] + (self.rng.choice(s) if s else self.rng.choice(self.bounds.alphabet)) + s[i:]
        return s[:size]

    def _digits(self, s: str) -> str:
        """Mutate a run of digits as a number, keeping its width: '06-04-2020' -> '06-31-2020'."""
        runs = [m.span() for m in re.finditer(r"\d+", s)]
        if not runs:
            return s
        start, end = self.rng.choice(runs)
        number = abs(self.integer(int(s[start:end])))
        return s[:start] + str(number).zfill(end - start) + s[end:]

    def sequence(self, xs: list, depth: int) -> list:
        rng = self.rng
        out = list(xs)
        if not out:
            return out
        op = rng.randrange(10 if self.bounds.lengths or self.context else 8)
        i = rng.randrange(len(out))
        if op in (0, 1):  # mutate one element, twice as often as the others
            out[i] = self.value(out[i], depth + 1)
        elif op == 2:
            del out[i]
        elif op == 3:
            out.insert(i, fresh(out[i]))
        elif op == 4:
            j = rng.randrange(len(out))
            out[i], out[j] = out[j], out[i]
        elif op == 5:
            out.insert(rng.randrange(len(out) + 1), self.value(out[i], depth + 1))
        elif op == 6:
            out = []
        elif op == 7:
            out = rng.choice((out[::-1], sorted(out, key=repr), out[: rng.randrange(len(out) + 1)]))
        elif op == 8 and self.bounds.lengths:
            out = self._resize(out, rng.choice(self.bounds.lengths), depth)
        else:  # put a value of another argument in (or a literal of the suite's): `x in xs`
            like = self._like(out[i])
            if like is not None:
                out.insert(rng.randrange(len(out) + 1), fresh(like))
        return out[: self.bounds.max_len]

    def _resize(self, xs: list, size: int, depth: int) -> list:
        """`xs` cut or grown (by mutated copies of its elements) to a length the program names."""
        out = xs[:size]
        while len(out) < size:
            out.insert(self.rng.randrange(len(out) + 1), self.value(self.rng.choice(xs), depth + 1))
        return out

    def record(self, xs: tuple, depth: int) -> tuple:
        # A short tuple is usually a fixed-shape record (a pair, a range): keep its length.
        if len(xs) <= 3 and xs:
            out = list(xs)
            i = self.rng.randrange(len(out))
            out[i] = self.value(out[i], depth + 1)
            return tuple(out)
        return tuple(self.sequence(list(xs), depth))

    def mapping(self, d: dict, depth: int) -> dict:
        out = dict(d)
        if not out:
            return out
        keys = list(out)
        key = self.rng.choice(keys)
        op = self.rng.randrange(4)
        if op == 0:
            out[key] = self.value(out[key], depth + 1)
        elif op == 1:
            del out[key]
        elif op == 2:
            new_key = self.value(key, depth + 1)
            try:
                out[new_key] = self.value(out[key], depth + 1)
            except TypeError:  # unhashable: leave the mapping as it was
                pass
        else:
            out = {}
        return out
