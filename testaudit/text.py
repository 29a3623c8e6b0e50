"""Small text helpers every stage shares: one way to shorten, count and show a percentage, and
one way to make text from a task or a child safe to store and show (`clean`).

Anyone may import this module.
"""

from __future__ import annotations

import dataclasses
import re
import reprlib

MESSAGE_LIMIT = 300  # a kill reason, a task message: one line a reader can take in


# What sqlite, UTF-8 files and C strings refuse: a lone surrogate (JSON's "\ud800", an exception
# message from task code) cannot be encoded as UTF-8, and NUL ends a C string.
_UNSAFE = re.compile("[\x00\ud800-\udfff]")


def _escape(match: re.Match) -> str:
    char = match.group()
    return "\\x00" if char == "\x00" else f"\\u{ord(char):04x}"


def clean(text: str) -> str:
    """`text` safe to store, encode as UTF-8 and show: each lone surrogate becomes the six
    characters of its Python escape (U+D800 -> `\\ud800`) and NUL the four of `\\x00`; any other
    text is returned as it is (the same object).

    Escapes, not U+FFFD: a reader still sees which character it was, two task ids that differ
    only there stay distinct, and inside a (non-raw) string literal of a program the escape
    means the very character it replaces.
    """
    return _UNSAFE.sub(_escape, text) if _UNSAFE.search(text) else text


def cleaned(value):
    """`value` with `clean` applied to every string in it: in dicts (keys too), lists, tuples and
    dataclass instances (frozen ones are copied); other values as they are. What holds no
    unsafe text is returned as it is."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        items = [(cleaned(k), cleaned(v)) for k, v in value.items()]
        if all(k is k0 and v is v0 for (k, v), (k0, v0) in zip(items, value.items(), strict=True)):
            return value
        return dict(items)
    if isinstance(value, list | tuple):
        items = [cleaned(v) for v in value]
        if all(v is v0 for v, v0 in zip(items, value, strict=True)):
            return value
        return type(value)(items) if type(value) in (list, tuple) else type(value)(*items)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {}
        for f in dataclasses.fields(value):
            old = getattr(value, f.name)
            new = cleaned(old)
            if new is not old:
                changes[f.name] = new
        return dataclasses.replace(value, **changes) if changes else value
    return value


def one_line(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """Whitespace collapsed to single spaces, cut to `limit` characters with "..."."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def clip(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """`text` as it is (line breaks kept), cut to `limit` characters with "…"."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def percent(value: float | None) -> str:
    """A score as a percentage: 0.9996 is "99.9%", never "100.0%" (that would claim every
    mutant was caught), and 0.0004 is "0.1%"; exactly 0 and 1 are "0%" and "100%"."""
    if value is None:
        return "n/a"
    if value in (0.0, 1.0):
        return f"{value * 100:.0f}%"
    text = f"{value * 100:.1f}"
    return ("99.9" if text == "100.0" else "0.1" if text == "0.0" else text) + "%"


def plural(count: int, word: str, many: str | None = None) -> str:
    """"1 task", "2 tasks"; `many` for irregular plurals."""
    return f"{count} {word if count == 1 else many or word + 's'}"


def short_repr(value: object, limit: int = 60) -> str:
    """A short repr that never builds the whole text of a huge value (reprlib elides); never
    raises (a hostile __repr__, an int past the digit limit)."""
    shorter = reprlib.Repr()
    shorter.maxlist = shorter.maxtuple = shorter.maxset = shorter.maxdict = 8
    shorter.maxstring = shorter.maxother = limit
    try:
        return one_line(shorter.repr(value), limit)
    except Exception:
        return f"<{type(value).__name__}>"


def describe_exception(exc: BaseException) -> tuple[str, str]:
    """(type name, message) of an exception; a hostile __str__ gives "<unprintable>"."""
    try:
        message = str(exc)
    except BaseException:
        message = "<unprintable>"
    return type(exc).__name__, message
