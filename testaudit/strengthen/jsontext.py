"""JSON text edited in place: one record's fields replaced, every other byte kept.

A strengthened file must differ from its original only where tests were added: an untouched
JSON Lines record stays the same line, byte for byte, and so does every other field of a record
that gains tests (its key order, spacing, escapes). So the new value of a field is spliced into
the original text at that value's span, written in the style of the value it replaces: with
`\\uXXXX` escapes only if the original has no raw non-ASCII text, and indented like it when it
spans lines (sanitized MBPP's pretty-printed array).
"""

from __future__ import annotations

import json
import re

_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


class NotAnObject(ValueError):
    """The text at a record's line is not one JSON object (the loader called it damaged)."""


def object_at(text: str, start: int) -> tuple[int, int, dict[str, tuple[int, int]]]:
    """The JSON object beginning at `start` (after whitespace): its span and each top-level
    field's value span, by key."""
    pos = _WS.match(text, start).end()
    if pos >= len(text) or text[pos] != "{":
        raise NotAnObject("not a JSON object")
    first = pos
    spans: dict[str, tuple[int, int]] = {}
    pos = _WS.match(text, pos + 1).end()
    if text.startswith("}", pos):
        return first, pos + 1, spans
    while True:
        key, pos = _DECODER.raw_decode(text, pos)
        pos = _WS.match(text, pos).end()
        if not text.startswith(":", pos):
            raise NotAnObject("expected ':'")
        pos = _WS.match(text, pos + 1).end()
        _, end = _DECODER.raw_decode(text, pos)
        spans[key] = (pos, end)
        pos = _WS.match(text, end).end()
        if text.startswith(",", pos):
            pos = _WS.match(text, pos + 1).end()
            continue
        if text.startswith("}", pos):
            return first, pos + 1, spans
        raise NotAnObject("expected ',' or '}'")


def _indent_of(text: str, pos: int) -> str:
    line_start = text.rfind("\n", 0, pos) + 1
    line = text[line_start:pos]
    return line[: len(line) - len(line.lstrip(" \t"))]


def styled(value: object, original: str, text: str, pos: int) -> str:
    """`value` as JSON in the style of `original`, the text it replaces at `pos` in `text`."""
    ascii_only = original.isascii()
    if "\n" not in original:
        return json.dumps(value, ensure_ascii=ascii_only)
    base = _indent_of(text, pos)
    second = original.split("\n", 1)[1]
    unit = len(second) - len(second.lstrip(" ")) - len(base)
    dumped = json.dumps(value, ensure_ascii=ascii_only, indent=max(unit, 1))
    return dumped.replace("\n", "\n" + base)


def replace_fields(text: str, start: int, values: dict[str, object]) -> str:
    """`text` with the fields of the object at `start` replaced by `values` (each must exist)."""
    _, _, spans = object_at(text, start)
    # Right to left, so that earlier spans stay where they are.
    for key in sorted(values, key=lambda k: -spans[k][0]):
        a, b = spans[key]
        text = text[:a] + styled(values[key], text[a:b], text, a) + text[b:]
    return text
