"""Loading the other benchmark formats: detection, fields, damaged records, files of another format."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FIXTURES, REPO

from testaudit.cli import cli
from testaudit.errors import DatasetError
from testaudit.load import FORMATS, LoadOptions, load
from testaudit.load.bigcodebench import imported_modules
from testaudit.load.fields import expand_mixed_indentation
from testaudit.records import SuiteKind, TaskStatus
from testaudit.suites.evalplus import deserialize


def by_id(path: Path, **options) -> dict:
    return {t.task_id: t for t in load(str(path), None, LoadOptions(**options)).tasks}


@pytest.mark.parametrize(
    "name, fmt, kind, ok, errors",
    [
        ("mbpp_tasks.jsonl", "mbpp", SuiteKind.ASSERTS, 3, 2),
        ("mbpp_sanitized.json", "mbpp-sanitized", SuiteKind.ASSERTS, 3, 1),
        ("evalplus_tasks.jsonl", "evalplus", SuiteKind.INPUTS, 5, 1),
        ("bigcodebench_tasks.jsonl", "bigcodebench", SuiteKind.UNITTEST, 4, 3),
        ("stdio_tasks.jsonl", "stdio", SuiteKind.STDIO, 4, 2),
        ("apps_tasks.jsonl", "apps", SuiteKind.STDIO, 3, 2),
    ],
)
def test_each_format_is_detected_from_its_fields(name, fmt, kind, ok, errors) -> None:
    dataset = load(str(FIXTURES / name))
    assert dataset.format == fmt and dataset.reference
    healthy = [t for t in dataset.tasks if t.status is TaskStatus.OK]
    assert len(healthy) == ok
    assert sum(t.status is TaskStatus.ERROR for t in dataset.tasks) == errors
    assert {t.suite_kind for t in healthy} == {kind}
    for task in dataset.tasks:  # every message is one line naming the file and the record's line
        if task.message:
            assert "\n" not in task.message
            assert task.message.startswith(f"{FIXTURES / name}:{task.origin.line}: ")


@pytest.mark.parametrize(
    "name, forced, line, expected",
    [
        ("weak_tasks.jsonl", "mbpp", 1,
         "expected an MBPP record with fields code, task_id, test_list, text; this record lacks "
         "code, test_list, text; it looks like 'humaneval' (try --format humaneval)"),
        ("mbpp_tasks.jsonl", "evalplus", 1,
         "expected an EvalPlus (HumanEval+/MBPP+) record with fields base_input, canonical_solution, "
         "entry_point, plus_input, prompt, task_id; this record lacks base_input, canonical_solution, "
         "entry_point, plus_input, prompt; it looks like 'mbpp' (try --format mbpp)"),
        ("mbpp_sanitized.json", "bigcodebench", 2,
         "expected a BigCodeBench record with fields canonical_solution, complete_prompt, entry_point, "
         "task_id, test; this record lacks canonical_solution, complete_prompt, entry_point, test; "
         "it looks like 'mbpp-sanitized' (try --format mbpp-sanitized)"),
    ],
)
def test_a_file_of_another_format_is_refused_naming_file_line_and_expectation(
        name: str, forced: str, line: int, expected: str) -> None:
    with pytest.raises(DatasetError) as info:
        load(str(FIXTURES / name), forced)
    assert str(info.value) == f"{FIXTURES / name}:{line}: {expected}"


def test_the_cli_refuses_a_wrong_format_with_exit_code_2_before_running_anything(tmp_path) -> None:
    result = CliRunner().invoke(cli, ["audit", str(FIXTURES / "stdio_tasks.jsonl"), "--format", "apps",
                                      "--out", str(tmp_path), "--no-html"])
    assert result.exit_code == 2
    assert f"{FIXTURES / 'stdio_tasks.jsonl'}:1: expected an APPS record" in result.output
    assert not (tmp_path / "results.json").exists()
    unknown = CliRunner().invoke(cli, ["audit", str(FIXTURES / "stdio_tasks.jsonl"), "--format", "nope"])
    assert unknown.exit_code == 2 and "'nope' is not one of" in unknown.output


def test_mbpp_code_is_the_whole_solution_with_unix_line_endings() -> None:
    tasks = by_id(FIXTURES / "mbpp_tasks.jsonl")
    add_one = tasks["Mbpp/1"]
    assert "\r" not in add_one.source and add_one.source.startswith("def add_one(x):\n    if x > 100:")
    assert (add_one.solution_start, add_one.solution_end) == (0, len(add_one.source) - 1)
    assert add_one.entry_point == "add_one"
    assert add_one.test == "assert add_one(1) == 2\nassert add_one(5) == 6\n"
    # test_setup_code runs before the asserts, in the same namespace.
    assert tasks["Mbpp/3"].test.startswith("class Box:\n    def __init__(self, value):")
    challenge = by_id(FIXTURES / "mbpp_tasks.jsonl", challenge=True)["Mbpp/1"]
    assert challenge.test.endswith("assert add_one(200) == 200\nassert add_one(101) == 101\n")


def test_sanitized_mbpp_is_a_json_array_with_test_imports() -> None:
    tasks = by_id(FIXTURES / "mbpp_sanitized.json")
    hyp = tasks["Mbpp/11"]
    assert hyp.origin.line == 2 and tasks["Mbpp/12"].origin.line == 15
    assert hyp.test.startswith("import math\nassert math.isclose(hypotenuse(3, 4), 5.0)")
    assert hyp.entry_point == "hypotenuse" and hyp.solution_start == 0
    (damaged,) = [t for t in load(str(FIXTURES / "mbpp_sanitized.json")).tasks if t.message]
    assert damaged.message == f"{FIXTURES / 'mbpp_sanitized.json'}:36: expected a JSON object, got str"


def test_evalplus_inputs_suites_contract_and_mbpp_conversions() -> None:
    base = by_id(FIXTURES / "evalplus_tasks.jsonl")
    clip = base["HumanEval/fx1"]
    assert clip.suite_data.inputs == [[5, 0, 10], [-3, 0, 10], [1, 5, 0]]
    assert clip.suite_data.extra_inputs == [[15, 0, 10], [10, 0, 10], [0, 0, 10]]
    assert clip.suite_data.contract == ['assert lo <= hi, "invalid inputs"']
    assert clip.suite_data.contract_check.startswith("def __testaudit_contract__(x, lo, hi):")
    assert load(str(FIXTURES / "evalplus_tasks.jsonl")).reference == "EvalPlus canonical_solution"
    assert clip.source[clip.solution_start:].startswith("    if x < lo:")
    compile(clip.test, "shown", "exec")  # the readable rendering is valid Python
    plus = by_id(FIXTURES / "evalplus_tasks.jsonl", suite="plus")["HumanEval/fx1"]
    assert len(plus.suite_data.inputs) == 6 and plus.suite_data.extra_inputs == []
    # JSON lists become tuples for the MBPP+ tasks EvalPlus converts; {} is an empty input list.
    similar = base["Mbpp/2"]
    assert similar.suite_data.inputs == [[(3, 4, 5, 6), (5, 7, 4, 10)], [(1, 2, 3, 4), (5, 4, 3, 7)]]
    assert similar.suite_data.family == "mbpp" and similar.suite_data.extra_inputs == []
    assert base["HumanEval/fx1"].suite_data.family == "humaneval"


@pytest.mark.parametrize(
    "task_id, given, expected",
    [
        ("Mbpp/115", [[[[1, 2], []]]], [[[{1, 2}, {}]]]),  # EvalPlus makes an empty list {} (a dict)
        ("Mbpp/124", [["1", "1+2j"]], [[1.0, 1 + 2j]]),
        ("Mbpp/580", [[[1, [2, 3]], 4]], [((1, (2, 3)), 4)]),
        ("Mbpp/722", [[{"a": [1, 2]}, 3]], [[{"a": (1, 2)}, 3]]),
        ("Mbpp/9999", [[[1, 2]]], [[[1, 2]]]),
        ("HumanEval/2", [[[1, 2]]], [[[1, 2]]]),
    ],
)
def test_deserialize_follows_evalplus_per_task(task_id: str, given: list, expected: list) -> None:
    assert deserialize(task_id, "base_input", given) == expected


def test_bigcodebench_missing_library_is_an_error_that_names_it_not_a_broken_task() -> None:
    tasks = by_id(FIXTURES / "bigcodebench_tasks.jsonl")
    missing = tasks["BigCodeBench/f4"]
    assert missing.status is TaskStatus.ERROR
    assert missing.message.endswith(
        "bigcodebench_tasks.jsonl:4: missing library: testaudit_fixture_missing_lib")
    assert missing.source  # the task is whole, only not runnable here
    assert tasks["BigCodeBench/f5"].message.endswith("field 'test' defines no TestCases class")
    area = tasks["BigCodeBench/f1"]
    assert area.suite_data.libs == ["math"] and area.source[area.solution_start:].startswith("    if r < 0")
    tree = ast.parse("import a.b\ndef f():\n    from c.d import e\n    if x:\n        import g\n")
    assert imported_modules(tree) == ["a.b", "c.d", "g"]


def test_stdio_and_apps_layouts() -> None:
    io_tasks = by_id(FIXTURES / "stdio_tasks.jsonl")
    assert io_tasks["io/sum"].suite_data.cases == [("1 2\n", "3\n"), ("10 -4\n", "6")]
    assert io_tasks["io/sum"].entry_point == "<program>" and io_tasks["io/sum"].solution_start == 0
    compile(io_tasks["io/sum"].test, "shown", "exec")
    assert io_tasks["io/no-tests"].message.endswith("stdio_tasks.jsonl:5: field 'tests' is missing")
    damaged = io_tasks[f"{FIXTURES / 'stdio_tasks.jsonl'}:6"]
    assert damaged.message.endswith("stdio_tasks.jsonl:6: not valid JSON (Expecting value, column 63)")
    apps = by_id(FIXTURES / "apps_tasks.jsonl")
    # The first solution is Python 2: the first that compiles is the reference.
    first = json.loads((FIXTURES / "apps_tasks.jsonl").read_text().splitlines()[0])
    assert apps["APPS/1"].source == json.loads(first["solutions"])[1] + "\n"  # solutions[1] is the reference
    assert apps["APPS/1"].source == "print(input()[::-1])\n"
    assert apps["APPS/2"].suite_data.cases == [("1\n2\n3", "6")]  # lists of lines are joined
    assert apps["APPS/3"].message.endswith("call-based APPS task (fn_name 'f'): only stdin/stdout "
                                           "tasks are supported")


def test_damaged_records_of_each_format_name_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    good = json.loads((FIXTURES / "evalplus_tasks.jsonl").read_text().splitlines()[0])
    rows = [good, {**good, "task_id": "x/2", "base_input": "[1]"}, {**good, "task_id": "x/3", "atol": -1},
            {**good, "task_id": "x/4", "entry_point": "nope"}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    messages = [t.message for t in load(str(path)).tasks]
    assert messages == [
        None,
        f"{path}:2: field 'base_input' must be a list of argument lists, got str",
        f"{path}:3: field 'atol' must be a non-negative number",
        f"{path}:4: field 'entry_point': 'nope' is not a function that prompt + canonical_solution defines",
    ]


def test_mixed_tab_and_space_indentation_is_expanded_only_when_the_program_is_unchanged() -> None:
    mixed = "def f(x):\n if x:\n \treturn 1\n return 2\n"  # as in sanitized MBPP 264 and 747
    expanded = expand_mixed_indentation(mixed)
    assert expanded == "def f(x):\n if x:\n        return 1\n return 2\n"
    assert ast.dump(ast.parse(expanded)) == ast.dump(ast.parse(mixed))
    in_string = 'def f():\n s = """\n \tkept"""\n if s:\n \treturn s\n'
    assert expand_mixed_indentation(in_string) == in_string  # the tab in the string would change
    assert expand_mixed_indentation("def f():\n\treturn 1\n") == "def f():\n\treturn 1\n"


def test_every_format_has_its_section_in_the_docs() -> None:
    doc = (REPO / "docs" / "formats.md").read_text()
    for name in FORMATS:
        assert f"\n## {name}\n" in doc, name
        assert f"| `{name}` |" in doc, name
