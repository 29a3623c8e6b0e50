"""Suggested tests: an oracle's assertion, and a small set of tests that kills every survivor.

The tests in each suite's own style are written by its kind (suites/, `Suite.write_test`).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

from testaudit.suites.base import MAX_LENGTH, literal
from testaudit.values import Input


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
