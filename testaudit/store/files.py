"""Files: JSON Lines (plain or gzip) read into numbered records, keeping damaged lines as errors;
whole JSON files (results, baselines, sidecars) read with one-line errors; atomic writes.

Any stage may use it: it knows no record but its own `Record` of a line.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from testaudit.errors import DatasetError, UsageError
from testaudit.text import clean, cleaned

# JSON escapes that decode to text `text.clean` must rewrite (a lone surrogate, NUL): a line
# without one needs no walk. A false alarm (an escaped backslash before "ud800") only costs a walk.
_UNSAFE_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")
# Deeper JSON is refused record by record: every later walk of a value (the cache key, pickling
# to a worker, repr) recurses per level, and Python's recursion limit is about 1000 frames.
MAX_DEPTH = 100
TOO_DEEP = f"JSON nested more than {MAX_DEPTH} levels deep"

_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISDIR, "a directory"))


class NotReadable(Exception):
    """A file we refuse or fail to read; str() is the reason ("not a regular file (a FIFO)")."""


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a plain file")


def read_bytes(path: Path) -> bytes:
    """The bytes of a regular file. A FIFO, socket or device is refused before it is opened (a
    FIFO would block, a device may never end), and checked again on the open descriptor, so a
    file swapped in between is refused too; NotReadable says why, as does any OSError."""
    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            raise NotReadable(f"not a regular file ({_kind(mode)})")
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            if not stat.S_ISREG(mode):
                raise NotReadable(f"not a regular file ({_kind(mode)})")
            return handle.read()
    except OSError as exc:
        raise NotReadable(f"cannot read ({exc.strerror or exc})") from exc


def _too_deep(data: object) -> bool:
    """Whether a JSON value nests more than MAX_DEPTH lists and objects, walked without recursion."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                return True
            stack.extend((v, depth + 1) for v in (value.values() if isinstance(value, dict) else value))
    return False


def _loads(text: str, whole: bool = False) -> object:
    """json.loads, with lone surrogates and NUL in its strings made safe (`text.clean`);
    RecursionError when it nests more than MAX_DEPTH levels (one more for a whole-file array,
    whose elements are the records)."""
    data = json.loads(text)
    if text.count("[") + text.count("{") > MAX_DEPTH and _too_deep([data] if not whole else data):
        raise RecursionError(TOO_DEEP)
    return cleaned(data) if _UNSAFE_ESCAPE.search(text) else data


def read_json(path: Path) -> object:
    """A whole JSON file; unreadable or invalid is a one-line UsageError naming file and line."""
    try:
        return _loads(read_bytes(path).decode("utf-8"))
    except NotReadable as exc:
        raise UsageError(f"{path}: {exc}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        line = f":{exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise UsageError(f"{path}{line}: not valid JSON ({getattr(exc, 'msg', exc)})") from exc
    except RecursionError as exc:
        raise UsageError(f"{path}: cannot be read: {TOO_DEEP}") from exc


@dataclass(frozen=True)
class Record:
    line: int  # 1-based line in the file
    data: dict | None  # None when the line is damaged
    error: str | None = None


def _text(path: Path) -> str:
    try:
        raw = read_bytes(path)
    except NotReadable as exc:
        raise DatasetError(str(path), None, str(exc)) from exc
    if raw[:2] == b"\x1f\x8b":  # gzip magic, whatever the file is called
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise DatasetError(str(path), None, f"damaged gzip file: {exc}") from exc
    try:
        return raw.decode("utf-8-sig")  # a BOM (Windows editors write one) is not data
    except UnicodeDecodeError as exc:
        raise DatasetError(str(path), None, f"not UTF-8 text (byte {exc.start})") from exc


def read_records(path: Path) -> list[Record]:
    text = _text(path)
    stripped = text.lstrip()
    if stripped.startswith("["):
        return _json_array(path, text)
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = _loads(line)
        except json.JSONDecodeError as exc:
            records.append(Record(number, None, f"not valid JSON ({exc.msg}, column {exc.colno})"))
            continue
        except ValueError as exc:  # an integer past Python's 4300-digit limit for int(str)
            records.append(Record(number, None, f"cannot be read: {exc}"))
            continue
        except RecursionError:  # this line only: the others still load
            records.append(Record(number, None, f"cannot be read: {TOO_DEEP}"))
            continue
        if not isinstance(data, dict):
            records.append(Record(number, None, f"expected a JSON object, got {type(data).__name__}"))
            continue
        records.append(Record(number, data))
    return records


def _json_array(path: Path, text: str) -> list[Record]:
    """A whole-file JSON array (sanitized MBPP); each element's line is where it starts."""
    try:
        items = _loads(text, whole=True)
    except json.JSONDecodeError as exc:
        raise DatasetError(str(path), exc.lineno, f"not valid JSON ({exc.msg})") from exc
    except ValueError as exc:  # an integer past Python's 4300-digit limit
        raise DatasetError(str(path), None, f"cannot be read: {exc}") from exc
    except RecursionError as exc:
        raise DatasetError(str(path), None, f"cannot be read: {TOO_DEEP}") from exc
    records = []
    decoder = json.JSONDecoder()
    # Find each element's starting line by re-scanning; cheap next to running the tasks.
    pos = text.index("[") + 1
    for item in items:
        while text[pos] in " \t\r\n,":
            pos += 1
        _, end = decoder.raw_decode(text, pos)
        line = text.count("\n", 0, pos) + 1
        if isinstance(item, dict):
            records.append(Record(line, item))
        else:
            records.append(Record(line, None, f"expected a JSON object, got {type(item).__name__}"))
        pos = end
    return records


# --- writing ------------------------------------------------------------------------------


def prepare_folder(folder: Path, option: str) -> None:
    """Create a folder we write into (--out, --cache-dir), or say in one line why it cannot be."""
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder}: {option} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{folder}: {option} cannot be created ({exc.strerror or exc})") from exc
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"{folder}: {option} is not writable")

# mkstemp creates files readable by the owner only; a report is meant to be served and shared.
_MODE = 0o644


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write `data` to a temporary file beside `path`, then rename it over `path`.

    The temporary file lives in the target directory so that os.replace is a same-filesystem rename.
    If anything fails, the temporary file is removed and `path` is left as it was.
    """
    # Text is cleaned (`text.clean`): a lone surrogate from a task would make encoding fail.
    payload = clean(data).encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        os.chmod(tmp, _MODE)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
