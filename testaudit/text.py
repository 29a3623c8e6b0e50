"""Small text helpers every stage shares: one way to shorten, count and show a percentage.

Anyone may import this module.
"""

from __future__ import annotations

import reprlib

MESSAGE_LIMIT = 300  # a kill reason, a task message: one line a reader can take in


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
