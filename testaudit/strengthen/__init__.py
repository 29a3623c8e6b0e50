"""The strengthen stage: the benchmark written back in its own format, with added tests per task.

The pipeline gives it the dataset file, its format, and per record (by line) the verified tests
triage chose (`TaskAudit.added_tests`, in the suite's own style); it rewrites only those records'
test fields (jsontext.py splices them into the original text) and leaves every other byte as it
was. One module per format, as load/ has: humaneval, mbpp (both MBPP layouts), evalplus,
bigcodebench, stdio (ours and APPS). It imports no other stage.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path

from testaudit.config import LoadOptions
from testaudit.errors import DatasetError, FieldError, UsageError
from testaudit.store.files import NotReadable, read_bytes, write_atomic
from testaudit.strengthen import bigcodebench, evalplus, humaneval, mbpp, stdio
from testaudit.strengthen.jsontext import NotAnObject, object_at, replace_fields
from testaudit.strengthen.report import build_report

__all__ = ["WRITERS", "build_report", "comment", "write"]

Writer = Callable[[dict, list[str], str, LoadOptions], dict[str, object]]
# By the loader's format name (load.FORMATS): the fields a record's added tests go into.
WRITERS: dict[str, Writer] = {
    "humaneval": humaneval.fields,
    "mbpp": mbpp.fields,
    "mbpp-sanitized": mbpp.fields,
    "evalplus": evalplus.fields,
    "bigcodebench": bigcodebench.fields,
    "stdio": stdio.fields,
    "apps": stdio.apps_fields,
}


def comment(count: int) -> str:
    """The one comment line a task's code-based tests get."""
    return (f"# testaudit strengthen: {count} verified test{'s' if count != 1 else ''} added "
            "(why each: strengthen-report.json)")


def _decode(path: Path) -> tuple[str, bool, bool]:
    """The file's text as the loader reads it, whether it was gzip, and whether it had a BOM."""
    try:
        raw = read_bytes(path)
    except NotReadable as exc:
        raise DatasetError(str(path), None, str(exc)) from exc
    zipped = raw[:2] == b"\x1f\x8b"
    if zipped:
        raw = gzip.decompress(raw)
    bom = raw.startswith(b"\xef\xbb\xbf")
    return raw.decode("utf-8-sig"), zipped, bom


def check_target(source: Path, target: Path) -> None:
    """Refuse, in one line, an --out that would overwrite the input or lose its compression."""
    if target.exists() and target.resolve() == source.resolve():
        raise UsageError(f"{target}: --out is the dataset itself; write the strengthened copy elsewhere")
    if target.is_dir():
        raise UsageError(f"{target}: --out is a folder; give a file name")
    zipped = read_bytes(source)[:2] == b"\x1f\x8b"
    if zipped != (target.suffix == ".gz"):
        want = ("ends with .gz (the dataset is gzip)" if zipped
                else "does not end with .gz (the dataset is not gzip)")
        raise UsageError(f"{target}: --out must be a name that {want}")


def write(source: Path, format_name: str, options: LoadOptions, additions: dict[int, list[str]],
          target: Path) -> dict[int, int]:
    """Write `source` to `target` with `additions` (record line -> tests) in its records; returns
    the tests written per line. A record that cannot take them is a one-line DatasetError
    naming the file, line and field."""
    writer = WRITERS[format_name]
    text, zipped, bom = _decode(source)
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    written: dict[int, int] = {}
    # Bottom to top, so that the offsets of the records above stay valid.
    for line in sorted(additions, reverse=True):
        tests = [t for t in additions[line] if t.strip()]
        if not tests:
            continue
        start = starts[line - 1]
        try:
            first, end, _ = object_at(text, start)
            data = json.loads(text[first:end])
            values = writer(data, tests, comment(len(tests)), options)
            text = replace_fields(text, start, values)
        except (FieldError, NotAnObject, ValueError, KeyError) as exc:
            raise DatasetError(str(source), line, f"cannot add tests: {exc}") from exc
        written[line] = len(tests)
    data_out = ("\ufeff" if bom else "") + text
    payload = data_out.encode("utf-8")
    write_atomic(target, gzip.compress(payload, mtime=0) if zipped else payload)
    return written
