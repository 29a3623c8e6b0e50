"""Suggested tests: assertions in the suite's own style, and a small set of them that kills every survivor."""

from __future__ import annotations

import ast
from collections.abc import Hashable, Mapping, Sequence

from testaudit.inputs import Input
from testaudit.records import SuiteKind

MAX_LENGTH = 400  # a longer assertion is not something a maintainer will paste into a suite


def literal(value: object) -> str | None:
    """repr(value) if it reads back as the same value (no nan, inf, or objects), else None."""
    try:
        text = repr(value)
        if repr(ast.literal_eval(text)) != text:
            return None
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return text


def callee(kind: SuiteKind, entry_point: str) -> str:
    """The name a suite calls the program by: HumanEval's check() gets it as `candidate`."""
    return "candidate" if kind is SuiteKind.CHECK else entry_point


def _flat_floats(value: object) -> bool:
    return (type(value) in (list, tuple) and any(type(v) is float for v in value)
            and all(type(v) in (int, float) for v in value))


def assertion(inp: Input, expected: object, name: str, atol: float) -> str | None:
    """`assert candidate(args) == expected`, with a tolerance for floats; None if not writable."""
    parts = [literal(a) for a in inp.args] + [
        None if (text := literal(v)) is None else f"{k}={text}" for k, v in inp.kwargs.items()
    ]
    wanted = literal(expected)
    if wanted is None or any(p is None for p in parts):
        return None
    call = f"{name}({', '.join(parts)})"
    tolerance = f"{atol:g}"
    if type(expected) is float:
        text = f"assert abs({call} - {wanted}) <= {tolerance}"
    elif _flat_floats(expected):
        size = len(expected)
        text = (f"assert len(out := {call}) == {size} and "
                f"all(abs(a - b) <= {tolerance} for a, b in zip(out, {wanted}))")
    elif expected is None or type(expected) is bool:
        text = f"assert {call} is {wanted}"
    else:
        text = f"assert {call} == {wanted}"
    return text if len(text) <= MAX_LENGTH else None


def oracle_assertion(inp: Input, names: list[str] | None, oracle: str, name: str) -> str | None:
    """For a task with several right answers: bind the arguments, call, assert the oracle."""
    if names is None or len(inp.args) > len(names):
        return None
    bound = {**dict(zip(names, inp.args, strict=False)), **inp.kwargs}
    texts = {k: literal(v) for k, v in bound.items()}
    if any(t is None for t in texts.values()):
        return None
    lines = [f"{k} = {t}" for k, t in texts.items()]
    positional = names[: len(inp.args)]
    arguments = positional + [f"{k}={k}" for k in inp.kwargs]
    lines += [f"result = {name}({', '.join(arguments)})", f"assert {oracle}"]
    text = "\n".join(lines)
    return text if len(text) <= MAX_LENGTH else None


def greedy_cover(kills: Mapping[str, set[Hashable]], order: Sequence[str]) -> list[str]:
    """A small set of tests that together kill everything any of them kills (greedy set cover).

    `order` is the tests in order of preference (closest to the suite's inputs, then shortest):
    ties go to the earlier one. Greedy is within a log factor of the smallest cover.
    """
    rank = {test: i for i, test in enumerate(order)}
    left: set[Hashable] = set().union(*kills.values()) if kills else set()
    chosen: list[str] = []
    while left:
        best = min(kills, key=lambda t: (-len(kills[t] & left), rank.get(t, len(rank))))
        gained = kills[best] & left
        if not gained:
            break
        chosen.append(best)
        left -= gained
    return sorted(chosen, key=lambda t: rank.get(t, len(rank)))
