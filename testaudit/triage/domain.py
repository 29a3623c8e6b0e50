"""The domain a task's tests use: properties every input of its own suite satisfies.

Triage grows new inputs from the suite's own; a witness on an input the task rules out (a list
with duplicates where the docstring says there are none, `lo > hi` for a range) proves nothing a
maintainer can act on. So each input is labelled: inside the tested domain, or outside it, and
why (the first property it breaks). Two sources of properties:

- **the suite's inputs** (`infer`): per parameter of the entry point, what all of the suite's
  values share: their type, non-emptiness, a minimum length, the sign of numbers (and of the
  elements of sequences of numbers), a lower bound, unique elements, sortedness, the characters
  of strings, the shape of nested values; and relations between two parameters (`lo <= hi`,
  equal lengths, `n == len(xs)`).
- **the task's own words** (`stated`): "positive", "non-negative", "non-empty", "no
  duplicates", "of equal length", "consisting only of 0s and 1s", "lowercase letters", "a
  sorted array", "the first even and first odd number" of a list, `n > 1`, in the prompt or the
  entry point's docstring. A stated property is kept only if every one of
  the suite's inputs meets it (a misread sentence must not rule out the suite's own inputs).

Conservative by rule: a property is inferred only from enough evidence. A number's sign, a
string's characters, non-emptiness, grid shapes and `n == len(xs)` (or `<`, `<=`) need MIN_EVIDENCE distinct
values (a sign: distinct calls); the rest of structure (unique or sorted elements, a tuple's
length, a minimum length, properties of elements) and every other relation between two
parameters needs MIN_BOUND. Measured on
MBPP+, whose plus inputs are valid by its contracts, the structural properties of three base
inputs are broken by valid inputs in most tasks (duplicates in 112 of 113 tasks, unsorted lists in
34 of 39), a sign in about half. Upper bounds are never inferred: a larger number or a longer list
is rarely invalid, only slower. A property the reference's own code guards against (`if n < 0:`,
`if not xs:`) is not inferred either: the reference was written for those values.

Everything here is plain data and pure functions of it: no task code runs. Inputs are labelled in
the explore child, where they are made.
"""

from __future__ import annotations

import ast
import dataclasses
import math
import re
import string
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import pairwise

from testaudit.values import Input

MIN_EVIDENCE = 3  # distinct values a property must hold on before it is inferred
MIN_BOUND = 8  # distinct values for a lower bound other than a sign, or a minimum length >= 2
MIN_PAIRS = 6  # adjacent pairs (sum of len - 1) before "unique" or "sorted" is inferred
MIN_CHARS = 12  # characters in all before a character class is inferred
SMALL_ALPHABET = 4  # at most this many distinct characters: the alphabet itself is the property



@dataclass
class _Evidence:
    """The evidence thresholds `infer` applies: MIN_BOUND and MIN_PAIRS for the tested domain,
    lower ones for the soft properties that only order inputs (`soft`)."""

    bound: int
    pairs: int


_LEVEL = _Evidence(MIN_BOUND, MIN_PAIRS)
SOFT = _Evidence(MIN_EVIDENCE, 2)  # what three of the suite's inputs share, by chance or not

Values = list  # one input's arguments bound to parameter positions (MISSING where not given)


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()


@dataclass(frozen=True)
class Rule:
    """One property of the tested domain: a test on an input's bound arguments, and its text."""

    text: str  # e.g. "`nums` is non-empty", shown with a witness that breaks it
    origin: str  # "suite" (inferred from its inputs) or "prompt" (stated in the task's words)
    test: Callable[[Values], bool]
    # Between two parameters (`n` < len(`xs`), `lo` <= `hi`): even when soft, a precondition
    # more often than chance (Domain.unwritable).
    relation: bool = False
    # How to move an input that breaks the property back inside it, where one obvious way
    # exists (`n` == len(`xs`): set `n`; a sorted list: sort it), else None (Domain.repaired).
    repair: Callable[[Values], Values | None] | None = None

    def holds(self, values: Values) -> bool:
        try:
            return bool(self.test(values))
        except Exception:  # a value the property cannot even inspect breaks it
            return False


@dataclass(frozen=True)
class Domain:
    names: tuple[str, ...]
    rules: tuple[Rule, ...] = ()
    # Properties the suite's inputs share on too little evidence to rule anything out (three
    # sorted lists, three pairs of equal length): an input that breaks them is inside the
    # domain, but one that keeps them is tried first, so that a witness breaks as few as it can.
    soft: tuple[Rule, ...] = ()

    def strain(self, inp: Input) -> int:
        """How many soft properties the input breaks (0 for one that keeps them all)."""
        values = self.bind(inp)
        return 0 if values is None else sum(not rule.holds(values) for rule in self.soft)

    def unwritable(self, inp: Input) -> bool:
        """Whether the input breaks a soft relation between two parameters (`lo` < `hi` in three
        calls). Inside the tested domain (a witness there is confirmed), but such a relation is
        a precondition more often than chance (MBPP+ `Mbpp/4` `heap_queue_largest(nums, n)`,
        whose three tests all have `n` < len(`nums`), asks for it in its contract; a relation
        to a length is firm from three calls since). A test written into a benchmark
        (strengthen) never uses such an input: a right program may do anything there, and a
        maintainer merging the test would reject it. (Soft character classes were tried too, on
        `bench_strengthen.py --limit 60`: they cost a third of the wrong programs rejected, as
        valid strings often hold other characters: `Mbpp/7`'s final '.'.)"""
        values = self.bind(inp)
        return values is not None and any(r.relation and not r.holds(values) for r in self.soft)

    def bind(self, inp: Input) -> Values | None:
        return bind(inp, list(self.names))

    def outside(self, inp: Input) -> str | None:
        """The first property the input breaks, or None when it is inside the tested domain."""
        values = self.bind(inp)
        if values is None:
            return None
        for rule in self.rules:
            if not rule.holds(values):
                return rule.text
        return None

    def describe(self) -> list[str]:
        return [f"{r.text} ({r.origin})" for r in self.rules]

    def repaired(self, inp: Input) -> Input | None:
        """The input moved inside the tested domain by the repairs of the properties it breaks
        (`Rule.repair`), or None when one of them has none or the result is still outside.

        Generation mutates one argument at a time, so an input whose list grew by one breaks
        `n` == len(`arr`) (MBPP's `arr, n` tasks), and a sorted list rarely stays sorted: most
        of their neighbours would be wasted outside the domain, and witnesses there are not
        confirmed. Repaired, they are the in-domain neighbours a mutation of one argument
        cannot reach."""
        values = self.bind(inp)
        if values is None:
            return None
        for rule in self.rules:
            if rule.holds(values):
                continue
            fixed = None
            if rule.repair is not None:
                try:
                    fixed = rule.repair(list(values))
                except Exception:  # values the repair cannot handle: no repair
                    fixed = None
            if fixed is None:
                return None
            values = fixed
        if any(not rule.holds(values) for rule in self.rules):
            return None
        positional = len(inp.args)
        kwargs = {key: values[self.names.index(key)] for key in inp.kwargs}
        return dataclasses.replace(inp, args=tuple(values[:positional]), kwargs=kwargs)


def bind(inp: Input, names: list[str]) -> Values | None:
    """The input's arguments by parameter position; None when they do not fit the parameters."""
    if len(inp.args) > len(names) or any(k not in names for k in inp.kwargs):
        return None
    values: list = list(inp.args) + [MISSING] * (len(names) - len(inp.args))
    for key, value in inp.kwargs.items():
        values[names.index(key)] = value
    return values


# --- value kinds -------------------------------------------------------------------------------


def _is_number(v: object) -> bool:
    return type(v) in (int, float)


def _is_sized(v: object) -> bool:
    return type(v) in (str, list, tuple, dict, set, frozenset)


def _is_sequence(v: object) -> bool:
    return type(v) in (list, tuple)


def _kind(v: object) -> str:
    return "number" if type(v) is float else type(v).__name__


def _hashable(xs: Iterable) -> bool:
    try:
        for x in xs:
            hash(x)
    except TypeError:
        return False
    return True


def _distinct(values: list) -> list:
    seen: dict[str, object] = {}
    for v in values:
        seen.setdefault(repr(v), v)
    return list(seen.values())


_CLASSES: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("lowercase letters", str.islower),
    ("uppercase letters", str.isupper),
    ("digits", lambda c: c in string.digits),
    ("spaces", lambda c: c == " "),
    ("punctuation", lambda c: c in string.punctuation),
)


def _class_of(c: str) -> str:
    for name, test in _CLASSES:
        if test(c):
            return name
    return "other characters"


# --- one parameter (or the pooled elements of one) ---------------------------------------------


def _at(i: int) -> Callable[[Values], object]:
    return lambda values: values[i]


Every = Callable[[Callable[[object], bool]], Callable[[Values], bool]]


def _scalar_rules(label: str, values: list, get: Callable[[Values], Iterable],
                  containers: int = 0, calls: int = 0) -> list[Rule]:
    """Properties of one parameter's values (`get` yields the values of an input to test).

    For the pooled elements of a sequence, `containers` is how many distinct sequences they come
    from: ten elements of three lists are three observations of how the suite builds a list, so
    value properties of elements need MIN_BOUND sequences, not MIN_BOUND elements. A number's
    sign counts the suite's distinct calls (`calls`): `n` of 1, 2 and 1 in three different calls
    are three observations that the suite never passes a number below 1."""
    distinct = _distinct(values)
    if not distinct:
        return []

    def every(test: Callable[[object], bool]) -> Callable[[Values], bool]:
        return lambda vs: all(v is MISSING or test(v) for v in get(vs))

    rules = [*_type_rules(label, distinct, every), *_sequence_rules(label, distinct, every)]
    if len(_distinct(values)) >= MIN_EVIDENCE and not containers:
        rules += _shape_rules(label, distinct, every)
    if not containers or containers >= _LEVEL.bound:
        rules += _size_rules(label, distinct, every)
        rules += [*_number_rules(label, distinct, every, max(calls, len(distinct))),
                  *_text_rules(label, distinct, every)]
    return rules


def _type_rules(label: str, distinct: list, every: Every) -> list[Rule]:
    kinds = {_kind(v) for v in distinct}
    if len(kinds) != 1:
        return []
    # One type (ints count as numbers where floats are seen): the generator keeps it anyway.
    kind = kinds.pop()
    allowed = (int, float) if kind == "number" else (type(distinct[0]),)
    rules = [Rule(f"{label} is {'a number' if kind == 'number' else 'of type ' + kind}", "suite",
                  every(lambda v: type(v) in allowed))]
    if type(distinct[0]) is tuple and len({len(v) for v in distinct}) == 1 and len(distinct) >= _LEVEL.bound:
        size = len(distinct[0])
        rules.append(Rule(f"{label} is a tuple of {size}", "suite", every(lambda v: len(v) == size)))
    return rules


def _number_rules(label: str, distinct: list, every: Every, evidence: int) -> list[Rule]:
    if evidence < MIN_EVIDENCE or not all(_is_number(v) for v in distinct):
        return []
    rules = []
    low = min(distinct)
    if low > 0:
        rules.append(Rule(f"{label} is positive", "suite", every(lambda v: v > 0)))
    elif low >= 0:
        rules.append(Rule(f"{label} is non-negative", "suite", every(lambda v: v >= 0)))
    if len(distinct) >= _LEVEL.bound and low > 1 and all(type(v) is int for v in distinct):
        rules.append(Rule(f"{label} >= {low}", "suite", every(lambda v: v >= low)))
    return rules


def _size_rules(label: str, distinct: list, every: Every) -> list[Rule]:
    if len(distinct) < MIN_EVIDENCE or not all(_is_sized(v) for v in distinct):
        return []
    shortest = min(len(v) for v in distinct)
    if shortest >= 2 and len(distinct) >= _LEVEL.bound:
        unit = "characters" if type(distinct[0]) is str else "elements"
        return [Rule(f"{label} has at least {shortest} {unit}", "suite",
                     every(lambda v: len(v) >= shortest))]
    # Unless the reference itself guards against an empty value (`guards`): then it is meant.
    if shortest >= 1:
        return [Rule(f"{label} is non-empty", "suite", every(lambda v: len(v) > 0))]
    return []


def _sequence_rules(label: str, distinct: list, every: Every) -> list[Rule]:
    if (len(distinct) < _LEVEL.bound or not all(_is_sequence(v) for v in distinct)
            or sum(max(len(v) - 1, 0) for v in distinct) < _LEVEL.pairs):
        return []  # (shapes are checked on their own, from fewer values: _shape_rules)
    rules = []
    if all(_hashable(v) and len(set(v)) == len(v) for v in distinct):
        rules.append(Rule(f"{label} has no duplicate elements", "suite",
                          every(lambda v: not _is_sequence(v) or len(set(v)) == len(v))))
    ints = all(all(type(x) is int for x in v) for v in distinct)
    if ints and all({x % 2 for x in v} == {0, 1} for v in distinct):
        # Every list holds an even and an odd number (MBPP+ Mbpp/594 `diff_even_odd` asks for one
        # of each; a list of odd numbers only makes its reference return a sentinel's difference).
        rules.append(Rule(f"{label} has an even and an odd element", "suite",
                          every(lambda v: not _is_sequence(v) or {x % 2 for x in v} == {0, 1})))
    for name, ordered in (("ascending", _ascending), ("descending", _descending)):
        constant = all(len(set(map(repr, v))) <= 1 for v in distinct)
        if not constant and all(ordered(v) for v in distinct):
            rules.append(Rule(f"{label} is sorted in {name} order", "suite",
                              every(lambda v, o=ordered: not _is_sequence(v) or o(v))))
            break
    return rules


def _shape_rules(label: str, distinct: list, every: Every) -> list[Rule]:
    """Rows of equal length, and square: three grids of one shape are no chance (MBPP+ Mbpp/721's
    contract asks for a square matrix; its three base inputs are square)."""
    rules: list[Rule] = []
    if not all(_is_sequence(v) for v in distinct):
        return rules
    rows = [v for v in distinct if len(v) >= 2 and all(_is_sequence(r) for r in v)]
    if len(rows) >= MIN_EVIDENCE and all(len({len(r) for r in v}) == 1 for v in rows):
        rules.append(Rule(f"{label} is rectangular (rows of equal length)", "suite",
                          every(lambda v: not (_is_sequence(v) and all(_is_sequence(r) for r in v))
                                or len({len(r) for r in v}) <= 1)))
        if all(len(r) == 2 for v in rows for r in v):
            # Pairs in every call: records of two fields, not a 2-wide matrix by chance (MBPP+
            # Mbpp/612 "each sublist has two elements", Mbpp/259 and /445 ask for pairs too).
            rules.append(Rule(f"each element of {label} is a pair", "suite",
                              every(lambda v: not (_is_sequence(v) and all(_is_sequence(r) for r in v))
                                    or all(len(r) == 2 for r in v))))
        if all(len(v) == len(v[0]) for v in rows):
            rules.append(Rule(f"{label} is square", "suite",
                              every(lambda v: not (_is_sequence(v) and all(_is_sequence(r) for r in v))
                                    or all(len(r) == len(v) for r in v))))
    return rules


def _text_rules(label: str, distinct: list, every: Every) -> list[Rule]:
    if len(distinct) < MIN_EVIDENCE or not all(type(v) is str for v in distinct):
        return []
    if all(len(v) == 1 for v in distinct):
        return [Rule(f"{label} is a single character", "suite",
                     every(lambda v: type(v) is not str or len(v) == 1))]
    chars = set("".join(distinct))
    if sum(map(len, distinct)) < MIN_CHARS:
        return []
    if len(chars) <= SMALL_ALPHABET:
        shown = " ".join(repr(c) for c in sorted(chars))
        return [Rule(f"{label} consists only of {shown}", "suite",
                     every(lambda v: type(v) is not str or set(v) <= chars))]
    classes = {_class_of(c) for c in chars}
    if len(classes) > len(_CLASSES) or len(distinct) < _LEVEL.bound:
        return []  # every class is seen, or too few strings to say which classes are meant
    named = [name for name, _ in _CLASSES if name in classes] + (
        ["other characters"] if "other characters" in classes else [])
    return [Rule(f"{label} has only {', '.join(named)}", "suite",
                 every(lambda v: type(v) is not str or all(_class_of(x) in classes for x in v)))]


def _ascending(v: list | tuple) -> bool:
    try:
        return all(a <= b for a, b in zip(v, v[1:], strict=False))
    except TypeError:
        return False


def _descending(v: list | tuple) -> bool:
    try:
        return all(a >= b for a, b in zip(v, v[1:], strict=False))
    except TypeError:
        return False


def _elements(get: Callable[[Values], object]) -> Callable[[Values], Iterable]:
    """The elements of the sequences (and sets) an input passes at this place."""
    def elements(values: Values) -> Iterable:
        v = get(values)
        if v is MISSING or type(v) not in (list, tuple, set, frozenset):
            return ()
        return list(v)
    return elements


def _one(get: Callable[[Values], object]) -> Callable[[Values], Iterable]:
    return lambda values: (get(values),)


def _parameter_rules(name: str, values: list, get: Callable[[Values], object], depth: int = 0,
                     containers: int = 0) -> list[Rule]:
    label = f"`{name}`" if depth == 0 else f"each element of {name}"
    rules = _scalar_rules(label, values, _one(get) if depth == 0 else get, containers,
                          len(values) if depth == 0 else 0)
    seqs = [v for v in values if type(v) in (list, tuple, set, frozenset)]
    if depth < 2 and seqs and len(seqs) == len(values):
        pooled = [x for v in seqs for x in v]
        inner = _elements(get) if depth == 0 else _flatten(get)
        # Nested: the evidence stays the number of distinct top-level values.
        rules += _parameter_rules(f"`{name}`" if depth == 0 else f"{name}'s elements", pooled, inner,
                                  depth + 1, containers or len(_distinct(seqs)))
    return rules


def _flatten(get: Callable[[Values], Iterable]) -> Callable[[Values], Iterable]:
    def elements(values: Values) -> Iterable:
        return [x for v in get(values) if type(v) in (list, tuple, set, frozenset) for x in v]
    return elements


# --- relations between two parameters ----------------------------------------------------------


def _relation_rules(names: list[str], bound: list[Values]) -> list[Rule]:
    rules: list[Rule] = []
    distinct = _distinct(bound)
    if len(distinct) < MIN_EVIDENCE:
        return rules
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            if i == j:
                continue
            pairs = [(vs[i], vs[j]) for vs in distinct if vs[i] is not MISSING and vs[j] is not MISSING]
            # Distinct calls are the evidence (an index below a length in three calls of one list).
            if len(pairs) < MIN_EVIDENCE or len(pairs) != len(distinct):
                continue
            rule = _relation(a, b, i, j, pairs)
            # An integer equal to, below or at most a length in three calls is an index or a
            # count within a list (`n == len(arr)`, `n <= len(nums)`, as MBPP+'s contracts
            # say); any other relation needs MIN_BOUND calls.
            if rule is not None and (len(pairs) >= _LEVEL.bound or "len(" in rule.text):
                rules.append(dataclasses.replace(rule, relation=True))
    return rules


def _relation(a: str, b: str, i: int, j: int, pairs: list[tuple]) -> Rule | None:
    numbers = all(_is_number(x) and _is_number(y) for x, y in pairs)
    if numbers and i < j and len(_distinct(pairs)) >= _LEVEL.bound:
        if all(x < y for x, y in pairs):
            return Rule(f"`{a}` < `{b}`", "suite", lambda vs: vs[i] < vs[j])
        if all(x <= y for x, y in pairs) and not all(x == y for x, y in pairs):
            return Rule(f"`{a}` <= `{b}`", "suite", lambda vs: vs[i] <= vs[j])
        if all(x > y for x, y in pairs):
            return Rule(f"`{a}` > `{b}`", "suite", lambda vs: vs[i] > vs[j])
        if all(x >= y for x, y in pairs) and not all(x == y for x, y in pairs):
            return Rule(f"`{a}` >= `{b}`", "suite", lambda vs: vs[i] >= vs[j])
    if all(_is_sized(x) and _is_sized(y) for x, y in pairs) and i < j:
        if all(len(x) == len(y) for x, y in pairs) and any(len(x) for x, _ in pairs):
            return Rule(f"`{a}` and `{b}` have equal lengths", "suite",
                        lambda vs: not (_is_sized(vs[i]) and _is_sized(vs[j])) or len(vs[i]) == len(vs[j]))
    if all(type(x) is int and _is_sized(y) for x, y in pairs):
        if all(x == len(y) for x, y in pairs):
            return Rule(f"`{a}` == len(`{b}`)", "suite", lambda vs: vs[i] == len(vs[j]),
                        repair=_length_at(i, j))
        if all(x < len(y) for x, y in pairs):
            return Rule(f"`{a}` < len(`{b}`)", "suite", lambda vs: vs[i] < len(vs[j]))
        if all(x <= len(y) for x, y in pairs):
            return Rule(f"`{a}` <= len(`{b}`)", "suite", lambda vs: vs[i] <= len(vs[j]))
    return None


def infer(inputs: list[Input], names: list[str]) -> list[Rule]:
    """The properties every one of the suite's inputs satisfies (see the module's rules)."""
    bound = [b for b in (bind(inp, names) for inp in inputs) if b is not None]
    if not bound:
        return []
    rules: list[Rule] = []
    for i, name in enumerate(names):
        values = [vs[i] for vs in bound if vs[i] is not MISSING]
        if values:
            rules += _parameter_rules(name, values, _at(i))
    return rules + _relation_rules(names, bound)


# --- preconditions stated in words ---------------------------------------------------------------

# Each form: a pattern, and what it says about a parameter's value (or, for a sequence, about its
# elements): (label, test on a value, which values it applies to).
_NUMBER = _is_number
_WORD_FORMS: tuple[tuple[re.Pattern, str, Callable[[object], bool], Callable[[object], bool]], ...] = (
    (re.compile(r"\bnon[- ]?negative\b", re.I), "is non-negative", lambda v: v >= 0, _NUMBER),
    (re.compile(r"(?<!non-)(?<!non )\bpositive\b", re.I), "is positive", lambda v: v > 0, _NUMBER),
    (re.compile(r"\bnon[- ]?empty\b", re.I), "is non-empty", lambda v: len(v) > 0, _is_sized),
    (re.compile(r"\bno duplicates?\b|\bwithout duplicates?\b|\b(?:are|is) (?:all )?(?:unique|distinct)\b"
                r"|\b(?:unique|distinct) (?:integers|numbers|elements|values|items)\b", re.I),
     "has no duplicate elements", lambda v: len(set(v)) == len(v), _is_sequence),
    (re.compile(r"\b(?:consist(?:s|ing)? (?:only )?of|only contains?|contains? only|made up of) "
                r"(?:only )?(?:0s and 1s|1s and 0s|zeros and ones|ones and zeros|0 and 1|1 and 0)\b"
                r"|\bbinary strings?\b", re.I),
     "consists only of 0s and 1s", lambda v: set(v) <= {"0", "1"}, lambda v: type(v) is str),
    (re.compile(r"\blower[- ]?case (?:english )?(?:letters|characters|alphabets?)\b", re.I),
     "has only lowercase letters", lambda v: all("a" <= c <= "z" for c in v), lambda v: type(v) is str),
    (re.compile(r"\bupper[- ]?case (?:english )?(?:letters|characters|alphabets?)\b", re.I),
     "has only uppercase letters", lambda v: all("A" <= c <= "Z" for c in v), lambda v: type(v) is str),
)
# "takes in a sorted array", "in a sorted array", "from the given two sorted arrays": a sorted
# input. Not "return a sorted list" nor "into a single sorted list": those describe the result.
_SORTED_INPUT = re.compile(r"(?<!return )(?<!returns )(?<!get )\b(?:a|an|the|in|of|from|given|two)"
                           r"(?:\s+(?:the|given|two))*\s+sorted\s+(?:arrays?|lists?|sequences?)\b", re.I)
# "the left insertion point for a specified value in sorted order" (Mbpp/736, /786): an
# insertion point keeps an order only in a sorted list.
_INSERTION = re.compile(r"\binsertion (?:point|index)\b[^.]*\bsorted order\b", re.I)
# "the first even and first odd number of a given list", "the first odd number in a list": the
# list holds one (MBPP+ Mbpp/594, /784, /807 ask for it in their contracts).
_FIRST_PARITY = re.compile(r"\bfirst (even|odd)\b(?: and (?:the )?(?:first )?(even|odd)\b)?", re.I)
# "the nth octagonal number", "the kth element", "n-th": that parameter counts or indexes from
# 0 or 1 (MBPP+ Mbpp/260 and /80 ask n >= 0, /59 n > 0). Not "the n-th power": an exponent.
_NTH = re.compile(r"\b([A-Za-z])-?th\b(?!\s+(?:powers?|roots?)\b)")
# "the given month number", "months are given as number from 1 to 12" (Mbpp/455, /762).
_MONTH = re.compile(r"\bmonth ?numbers?\b|\bmonths? (?:are|is) given as (?:a )?numbers?\b", re.I)
# "the given list of digits" (Mbpp/57): each element a single decimal digit.
_DIGITS = re.compile(r"\b(?:lists?|arrays?|sequences?|tuples?) of (?:single |decimal )?digits\b", re.I)
# "the index of the first occurrence of a given number in a sorted array" (Mbpp/733): an index
# to return, so the value is there.
_INDEX_OF = re.compile(r"\b(?:index|position) of the (?:first|last) (?:occurrence|appearance) of\b", re.I)
_EQUAL_LENGTH = re.compile(r"\b(?:of )?(?:equal|the same) (?:length|size)s?\b", re.I)
_COMPARISON = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\s*(>=|<=|>|<|≥|≤)\s*(-?\d+)(?!\w|\.\d)")
_RANGE = re.compile(r"(?<![\w.])(-?\d+)\s*(<=|<|≤)\s*([A-Za-z_]\w*)\s*(<=|<|≤)\s*(-?\d+)(?!\w|\.\d)")
_BETWEEN = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\s*(>=|<=|>|<|≥|≤)\s*([A-Za-z_]\w*)(?![\w(.\[])")
_OPS: dict[str, Callable[[object, int], bool]] = {
    ">": lambda v, k: v > k, ">=": lambda v, k: v >= k, "≥": lambda v, k: v >= k,
    "<": lambda v, k: v < k, "<=": lambda v, k: v <= k, "≤": lambda v, k: v <= k,
}


def task_words(source: str, solution_start: int, entry_point: str) -> str:
    """What the task says in words: the prompt before the solution and the entry's docstring."""
    text = source[:solution_start]
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return text
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == entry_point:
            doc = ast.get_docstring(node)
            if doc and doc not in text:
                text += "\n" + doc
    return text


def _sentences(text: str) -> list[str]:
    # Examples (doctest lines, asserts) state results, not preconditions.
    lines = [ln for ln in text.splitlines()
             if not ln.lstrip().startswith((">>>", "assert", "def ", "import ", "from "))]
    return [s for s in re.split(r"(?<=[.!?;])\s+|\n\s*\n", "\n".join(lines)) if s.strip()]


def stated(text: str, names: list[str], suite: list[Values]) -> list[Rule]:
    """The preconditions the task states in a common form, kept when every suite input meets them.

    A sentence's property applies to the parameters it names; when it names none, to the one
    parameter whose values it fits (several fit: none, it is ambiguous).
    """
    rules: list[Rule] = []
    for sentence in _sentences(text):
        named = [i for i, n in enumerate(names) if re.search(rf"(?<![\w.]){re.escape(n)}(?!\w)", sentence)]
        for pattern, what, test, fits in _WORD_FORMS:
            if pattern.search(sentence):
                rules += _word_rule(what, test, fits, named, names, suite)
        if _EQUAL_LENGTH.search(sentence):
            sized = [i for i in (named or range(len(names)))
                     if suite and all(vs[i] is MISSING or _is_sized(vs[i]) for vs in suite)]
            if len(sized) >= 2:
                rules.append(Rule(f"{' and '.join(f'`{names[i]}`' for i in sized)} have equal lengths "
                                  "(stated)", "prompt", _equal_lengths(sized)))
        if _SORTED_INPUT.search(sentence) or _INSERTION.search(sentence):
            rules += _sorted_rules(named, names, suite)
        for match in _FIRST_PARITY.finditer(sentence):
            rules += _parity_rules({p.lower() for p in match.groups() if p}, named, names, suite)
        rules += _comparisons(sentence, names)
        rules += _count_rules(sentence, named, names, suite)
    kept, seen = [], set()
    for rule in rules:  # only what the suite's own inputs all meet: a misreading rules out nothing
        if rule.text not in seen and all(rule.holds(vs) for vs in suite):
            seen.add(rule.text)
            kept.append(rule)
    return kept


def _comparisons(sentence: str, names: list[str]) -> list[Rule]:
    """`n > 1`, `0 <= k < 10`, `lo <= hi`: comparisons of a parameter with a number or another."""
    rules = []
    for name, op, number in _COMPARISON.findall(sentence):
        if name in names:
            i, k = names.index(name), int(number)
            rules.append(Rule(f"`{name}` {op} {k} (stated)", "prompt",
                              lambda vs, i=i, k=k, f=_OPS[op]: vs[i] is MISSING or f(vs[i], k)))
    for a, op, b in _BETWEEN.findall(sentence):
        if a in names and b in names and a != b:
            i, j = names.index(a), names.index(b)
            rules.append(Rule(f"`{a}` {op} `{b}` (stated)", "prompt",
                              lambda vs, i=i, j=j, f=_OPS[op]: MISSING in (vs[i], vs[j])
                              or f(vs[i], vs[j])))
    for low, op1, name, op2, high in _RANGE.findall(sentence):
        if name in names:
            i, lo, hi = names.index(name), int(low), int(high)
            rules.append(Rule(f"{lo} {op1} `{name}` {op2} {hi} (stated)", "prompt",
                              lambda vs, i=i, lo=lo, hi=hi, f=_OPS[op1], g=_OPS[op2]:
                              vs[i] is MISSING or (f(lo, vs[i]) and g(vs[i], hi))))
    return rules


def _sorted_rules(named: list[int], names: list[str], suite: list[Values]) -> list[Rule]:
    """"A sorted array": the sequence parameters the sentence names, or else every parameter
    whose suite values are all lists or tuples (MBPP+ `Mbpp/622`'s "two sorted lists" are both)."""
    sequences = [i for i in range(len(names))
                 if suite and all(vs[i] is MISSING or _is_sequence(vs[i]) for vs in suite)]
    places = [i for i in named if i in sequences] or sequences
    return [Rule(f"`{names[i]}` is sorted in ascending order (stated)", "prompt",
                 lambda vs, i=i: vs[i] is MISSING or not _is_sequence(vs[i]) or _ascending(vs[i]),
                 repair=_sort_at(i))
            for i in places]


def _parity_rules(parities: set[str], named: list[int], names: list[str], suite: list[Values]) -> list[Rule]:
    """"The first even (and odd) number of a list": that list of ints holds one of each named.
    Applies to the one parameter whose suite values are all lists of ints (none if several)."""
    lists = [i for i in range(len(names)) if suite and all(
        vs[i] is MISSING or (_is_sequence(vs[i]) and all(type(x) is int for x in vs[i])) for vs in suite)]
    places = [i for i in named if i in lists] or (lists if len(lists) == 1 else [])
    wanted = {0 if p == "even" else 1 for p in parities}
    what = " and an ".join(sorted(parities))
    return [Rule(f"`{names[i]}` holds an {what} number (stated)", "prompt",
                 lambda vs, i=i: vs[i] is MISSING or not _is_sequence(vs[i])
                 or wanted <= {x % 2 for x in vs[i] if type(x) is int})
            for i in places]


def _ints(i: int, suite: list[Values]) -> bool:
    return bool(suite) and all(vs[i] is MISSING or type(vs[i]) is int for vs in suite)


def _int_lists(i: int, suite: list[Values]) -> bool:
    return bool(suite) and all(
        vs[i] is MISSING or (_is_sequence(vs[i]) and all(type(x) is int for x in vs[i])) for vs in suite)


def _count_rules(sentence: str, named: list[int], names: list[str], suite: list[Values]) -> list[Rule]:
    """"The nth number" (n >= 0), "the month number" (1..12), "a list of digits" (each 0..9),
    "the index of the first occurrence of x in A" (x is in A). Each applies to the parameter it
    names, or else to the one parameter of the kind it fits (none when several fit)."""
    rules: list[Rule] = []
    ints = [i for i in range(len(names)) if _ints(i, suite)]

    def one(candidates: list[int]) -> list[int]:
        return [i for i in named if i in candidates] or (candidates if len(candidates) == 1 else [])

    for letter in {m.group(1) for m in _NTH.finditer(sentence)}:
        by_name = [i for i in ints if names[i] == letter]
        for i in by_name or (ints if len(ints) == 1 else []):
            rules.append(Rule(f"`{names[i]}` is non-negative (stated: {letter}th)", "prompt",
                              lambda vs, i=i: vs[i] is MISSING or type(vs[i]) is not int or vs[i] >= 0))
    if _MONTH.search(sentence):
        for i in one(ints):
            rules.append(Rule(f"1 <= `{names[i]}` <= 12 (stated: a month number)", "prompt",
                              lambda vs, i=i: vs[i] is MISSING or type(vs[i]) is not int or 1 <= vs[i] <= 12))
    if _DIGITS.search(sentence):
        for i in one([i for i in range(len(names)) if _int_lists(i, suite)]):
            rules.append(Rule(f"each element of `{names[i]}` is a digit 0-9 (stated)", "prompt",
                              lambda vs, i=i: vs[i] is MISSING or not _is_sequence(vs[i])
                              or all(type(x) is not int or 0 <= x <= 9 for x in vs[i])))
    if _INDEX_OF.search(sentence):
        sequences = [i for i in range(len(names))
                     if suite and all(vs[i] is MISSING or _is_sequence(vs[i]) for vs in suite)]
        scalars = [i for i in range(len(names)) if i not in sequences and suite and all(
            vs[i] is MISSING or _is_number(vs[i]) or type(vs[i]) is str for vs in suite)]
        if len(sequences) == 1 and len(scalars) == 1:
            i, j = scalars[0], sequences[0]
            rules.append(Rule(f"`{names[i]}` is an element of `{names[j]}` (stated)", "prompt",
                              lambda vs, i=i, j=j: MISSING in (vs[i], vs[j]) or vs[i] in vs[j],
                              relation=True, repair=_member_at(i, j)))
    return rules


def _member_at(i: int, j: int) -> Callable[[Values], Values | None]:
    """Set the value to the sequence's element nearest to it (the first, for non-numbers)."""
    def repair(vs: Values) -> Values | None:
        if not _is_sequence(vs[j]) or not vs[j]:
            return None
        numbers = _is_number(vs[i]) and all(_is_number(x) for x in vs[j])
        vs[i] = min(vs[j], key=lambda x: abs(x - vs[i])) if numbers else vs[j][0]
        return vs
    return repair


def _sort_at(i: int) -> Callable[[Values], Values]:
    def repair(vs: Values) -> Values:
        vs[i] = type(vs[i])(sorted(vs[i]))
        return vs
    return repair


def _length_at(i: int, j: int) -> Callable[[Values], Values | None]:
    def repair(vs: Values) -> Values | None:
        if not _is_sized(vs[j]):
            return None
        vs[i] = len(vs[j])
        return vs
    return repair


def _equal_lengths(places: list[int]) -> Callable[[Values], bool]:
    def holds(vs: Values) -> bool:
        sizes = {len(vs[i]) for i in places if vs[i] is not MISSING and _is_sized(vs[i])}
        return len(sizes) <= 1
    return holds


def _word_rule(what: str, test: Callable[[object], bool], fits: Callable[[object], bool],
               named: list[int], names: list[str], suite: list[Values]) -> list[Rule]:
    def values_of(i: int) -> list:
        return [vs[i] for vs in suite if vs[i] is not MISSING]

    def direct(i: int) -> bool:
        vals = values_of(i)
        return bool(vals) and all(fits(v) for v in vals)

    def elementwise(i: int) -> bool:
        vals = values_of(i)
        return bool(vals) and all(type(v) in (list, tuple, set) and all(fits(x) for x in v) for v in vals) \
            and any(len(v) for v in vals)

    places = named or [i for i in range(len(names)) if direct(i) or elementwise(i)]
    if not named and len(places) != 1:
        return []  # it names no parameter and several could be meant
    rules = []
    for i in places:
        if direct(i):
            rules.append(Rule(f"`{names[i]}` {what} (stated)", "prompt",
                              lambda vs, i=i: vs[i] is MISSING or not fits(vs[i]) or test(vs[i])))
        elif elementwise(i):
            rules.append(Rule(f"each element of `{names[i]}` {what} (stated)", "prompt",
                              lambda vs, i=i: vs[i] is MISSING or type(vs[i]) not in (list, tuple, set)
                              or all(not fits(x) or test(x) for x in vs[i])))
    return rules


def guards(solution: str, names: list[str]) -> set[tuple[str, str]]:
    """The parameters the reference itself tests for a sign or for emptiness in an `if`:
    (name, "sign") for `if n < 0:`, `if n == 0:`, `if n <= 0`, `if not n`; (name, "empty") for
    `if not xs:`, `if len(xs) == 0:`, `if xs == []`, `if len(xs) < 2:`. A reference that handles
    zero or an empty list was written for them: the suite's silence about them is no precondition.
    """
    try:
        tree = ast.parse(textwrap.dedent(solution))
    except (SyntaxError, ValueError):
        return set()
    found: set[tuple[str, str]] = set()
    tests = [n.test for n in ast.walk(tree) if isinstance(n, ast.If | ast.IfExp | ast.While)]
    for test in tests:
        for node in ast.walk(test):
            if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not) \
                    and isinstance(node.operand, ast.Name) and node.operand.id in names:
                found |= {(node.operand.id, "sign"), (node.operand.id, "empty")}
            if isinstance(node, ast.Compare) and len(node.ops) == 1:
                found |= _guarded(node.left, node.comparators[0], names)
                found |= _guarded(node.comparators[0], node.left, names)
    return found


def _guarded(side: ast.expr, other: ast.expr, names: list[str]) -> set[tuple[str, str]]:
    small = isinstance(other, ast.Constant) and type(other.value) in (int, float) and other.value <= 1
    empty = (isinstance(other, ast.List | ast.Tuple) and not other.elts) \
        or (isinstance(other, ast.Dict) and not other.keys) \
        or (isinstance(other, ast.Constant) and other.value in ("", ()))
    if isinstance(side, ast.Name) and side.id in names:
        if isinstance(other, ast.UnaryOp) and isinstance(other.op, ast.USub):
            return {(side.id, "sign")}
        if small and not (isinstance(other, ast.Constant) and other.value == 1):
            return {(side.id, "sign")}
        if empty:
            return {(side.id, "empty")}
    if isinstance(side, ast.Call) and isinstance(side.func, ast.Name) and side.func.id == "len" \
            and side.args and isinstance(side.args[0], ast.Name) and side.args[0].id in names \
            and isinstance(other, ast.Constant) and type(other.value) is int and other.value <= 2:
        return {(side.args[0].id, "empty")}
    return set()


_GUARDED = {"sign": (" is positive", " is non-negative", " >= "),
            "empty": (" is non-empty", " has at least ")}


def domain_for(inputs: list[Input], names: list[str] | None, words: str,
               solution: str = "") -> Domain | None:
    """The tested domain of a task: stated properties first (their texts name the task's words),
    then the inferred ones, less those the reference's own guards show are meant (`guards`)."""
    if not names or not inputs:
        return None
    suite = [b for b in (bind(inp, names) for inp in inputs) if b is not None]
    meant = guards(solution, names)

    def unguarded(rules: list[Rule]) -> list[Rule]:
        return [r for r in rules
                if not any(r.text.startswith(f"`{n}`" + t) for n, k in meant for t in _GUARDED[k])]

    inferred = unguarded(infer(inputs, names))
    firm = stated(words, names, suite) + inferred + zipped(solution, names, suite)
    # A guard keeps zero and empty values inside the domain, but an input without them is still
    # likelier valid: guarded properties stay soft.
    said = {f.text for f in firm} | {f.text.split(" (")[0] for f in firm}
    return Domain(tuple(names), tuple(firm), tuple(r for r in soft(inputs, names) if r.text not in said))


def zipped(solution: str, names: list[str], suite: list[Values]) -> list[Rule]:
    """Equal lengths of the parameters the reference pairs up element by element, `zip(a, b)` or
    `map(f, a, b)`, where every suite call has them equal: the reference silently drops the tail
    of the longer one, so the task means them paired (MBPP+ Mbpp/261, /282, /618, /728 ask for
    equal lengths in their contracts; three calls alone are only a soft property). Applies only
    to parameters passed as they are, never reassigned in the reference."""
    try:
        tree = ast.parse(textwrap.dedent(solution))
    except (SyntaxError, ValueError):
        return []
    assigned = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    groups: list[list[int]] = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        args = node.args if node.func.id == "zip" else node.args[1:] if node.func.id == "map" else []
        places = [names.index(a.id) for a in args
                  if isinstance(a, ast.Name) and a.id in names and a.id not in assigned]
        if len(places) >= 2 and len(places) == len(args):
            groups.append(places)
    rules: list[Rule] = []
    if len(_distinct(suite)) < MIN_EVIDENCE:
        return rules
    for places in groups:
        for i, j in pairwise(places):
            if i == j or not all(MISSING not in (vs[i], vs[j]) and _is_sized(vs[i]) and _is_sized(vs[j])
                                 and len(vs[i]) == len(vs[j]) for vs in suite):
                continue
            a, b = sorted((i, j))
            rules.append(Rule(f"`{names[a]}` and `{names[b]}` have equal lengths (the reference zips them)",
                              "suite", _equal_lengths([a, b]), relation=True))
    return list({r.text: r for r in rules}.values())


def result_strain(results: list) -> Callable[[object], int]:
    """Soft properties of the reference's results on the suite's own inputs: a result of another
    type than all of theirs (`None` where they are ints: MBPP+ `Mbpp/807` `first_odd([8])`,
    whose contract asks for an odd number), or a negative number where they are all >= 0 (the
    `-1` of "not found": `Mbpp/733` `find_first_occurrence([2, 1], 6)`, whose contract asks for
    the target in the list). Returns how many of them a result breaks (0 or 1 each)."""
    distinct = _distinct(results)
    # Evidence is the suite's distinct calls (`results` has one per call), as for a sign.
    if len(results) < MIN_EVIDENCE or not distinct:
        return lambda value: 0
    kinds = {_kind(r) for r in distinct}
    numbers = all(_is_number(r) for r in distinct)
    non_negative = numbers and min(distinct) >= 0

    def strain(value: object) -> int:
        broken = int(len(kinds) == 1 and _kind(value) not in kinds)
        if non_negative and _is_number(value) and value < 0:
            broken += 1
        return broken
    return strain


def _nonfinite(value: object, depth: int = 0) -> bool:
    if type(value) is float:
        return not math.isfinite(value)
    if depth < 4 and type(value) in (list, tuple, set, frozenset):
        return any(_nonfinite(v, depth + 1) for v in value)
    if depth < 4 and type(value) is dict:
        return any(_nonfinite(v, depth + 1) for v in value.values())
    return False


NONFINITE = "the reference's result is not finite (inf or nan), unlike every result of the task's tests"


# The reference names a non-finite float itself: `float('inf')`, `math.inf`, `float("nan")`...
_NAMES_NONFINITE = re.compile(r"""\b(?:inf|nan|infinity)\b|['"][+-]?(?:inf|nan|infinity)['"]""",
                              re.IGNORECASE)


def finite_results(results: list, solution: str = "") -> Callable[[object], str | None]:
    """A hard property of the results: where every result of the suite's own calls is finite, an
    input on which the reference returns inf or nan is outside the tested domain.

    There the reference's floats have most often overflowed (Mbpp/300 `count_binary_seq(709)`:
    its float binomials reach inf where the exact answer is finite, and the `/` -> `//` mutant
    returns that exact answer), so a program that differs there is an edge case to check against
    the task's intent, never confirmed wrong. Not where the reference's own code (`solution`)
    names inf or nan: there a non-finite result is an answer it means (Mbpp/137 `zero_count`
    returns `float('inf')` for a list of zeros, and mutants of that branch are confirmed wrong
    on one). Returns the property broken, or None."""
    if not results or any(_nonfinite(r) for r in results) or _NAMES_NONFINITE.search(solution):
        return lambda value: None
    return lambda value: NONFINITE if _nonfinite(value) else None


def soft(inputs: list[Input], names: list[str]) -> list[Rule]:
    """The properties `infer` would find if MIN_EVIDENCE distinct inputs were enough for all.

    On MBPP+ they are what its contracts often ask (`Mbpp/622`'s sorted arrays, `Mbpp/282`'s
    lists of equal length) as often as what valid inputs break (duplicates in 112 of 113 tasks),
    so they never label an input outside the domain: they only order the inputs tried."""
    global _LEVEL
    saved, _LEVEL = _LEVEL, SOFT
    try:
        return infer(inputs, names)
    finally:
        _LEVEL = saved
