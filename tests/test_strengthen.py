"""`testaudit strengthen`: the benchmark written back in its own format, proven by a re-audit.

Real runs, no mocks: each test strengthens a small fixture (or a few real tasks) end to end and
checks the written file: it loads, its untouched records are the same bytes, its references pass,
and its re-audit has no confirmed wrong program left.
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FIXTURES, shared_data

from testaudit.cli import cli
from testaudit.config import RunConfig, TriageSettings
from testaudit.load import load
from testaudit.pipeline import strengthen
from testaudit.records import TaskStatus
from testaudit.store import strengthen_json
from testaudit.strengthen.jsontext import object_at, replace_fields
from testaudit.triage.differential import Candidate, Seen, boundaries, choose
from testaudit.values import Input


def _run(dataset: Path, target: Path, max_tests: int = 3, **options):
    # A third of the default triage budget: the fixtures' tasks are small.
    config = RunConfig(dataset=str(dataset), workers=2, html=True, cache_dir=None,
                       triage_settings=TriageSettings(seconds=0.3), **options)
    return strengthen(config, target, max_tests, Path("reports"))


def _lines(path: Path) -> list[bytes]:
    raw = path.read_bytes()
    return (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).split(b"\n")


def _check(done, source: Path, target: Path) -> dict:
    """What every strengthened file must satisfy; returns the report as JSON."""
    report = done.report
    assert report.tests_added > 0
    assert report.confirmed_after == 0, [t for t in report.tasks if t.confirmed_after]
    assert all(t.reference_passes for t in report.tasks if t.tests)
    written = {t.task_id for t in report.tasks if t.tests}
    lines = {t.task_id: t.origin.line for t in load(str(source)).tasks}
    before, after = _lines(source), _lines(target)
    assert len(before) == len(after)
    changed = {i + 1 for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b}
    assert changed == {lines[t] for t in written}  # only the records that gained tests
    again = {t.task_id: t for t in load(str(target)).tasks}
    assert all(again[t].status is TaskStatus.OK for t in written)
    data = json.loads((done.after_out / strengthen_json.FILENAME).read_text())
    assert data["summary"]["confirmed_wrong_after"] == 0 and data["summary"]["references_pass"]
    assert 'id="strengthen"' in (done.after_out / "index.html").read_text()
    return data


def test_humaneval_fixture_gains_asserts_inside_check_and_its_gap_closes(tmp_path) -> None:
    source = FIXTURES / "triage_tasks.jsonl"
    target = tmp_path / "strong.jsonl"
    done = _run(source, target)
    data = _check(done, source, target)
    assert done.report.confirmed_before > 0  # triage/clamp, /mean, /sign: confirmed survivors
    clamp = next(t for t in data["tasks"] if t["task_id"] == "triage/clamp")
    kinds = [t["kind"] for t in clamp["tests"]]
    assert kinds[0] == "suggested" and kinds.count("differential") <= 3
    assert clamp["tests"][0]["kills"]  # the suggested test names the survivors it kills
    assert 0 < clamp["score_before"] < clamp["score_after"]
    test = next(json.loads(line) for line in target.read_text().splitlines()
                if '"triage/clamp"' in line)["test"]
    body = test.split("def check(candidate):", 1)[1]
    assert body.count("# testaudit strengthen:") == 1  # one comment line per task
    for added in clamp["tests"]:
        assert f"    {added['text']}" in body  # in check's body, in the suite's own style
        assert added["text"].startswith("assert candidate(") and len(added["text"]) <= 200


def test_resume_takes_the_first_audits_added_tests_from_its_session_store(tmp_path) -> None:
    # A killed strengthen loses its long first audit no more: the tests triage chose are in the
    # session store. Marked there, they must come back as stored, not be chosen again.
    import sqlite3

    source = FIXTURES / "triage_tasks.jsonl"
    done = _run(source, tmp_path / "strong.jsonl")
    db = sqlite3.connect(done.before_out / "session.sqlite")
    task_id, stored = db.execute("SELECT task_id, added_tests FROM triage_tasks "
                                 "WHERE task_id = 'triage/clamp'").fetchone()
    tests = json.loads(stored)
    assert tests and tests[0]["kind"] == "suggested"
    tests[0]["reason"] = "marked in the session store"
    db.execute("UPDATE triage_tasks SET added_tests = ? WHERE task_id = ?", (json.dumps(tests), task_id))
    db.commit()
    db.close()
    again = _run(source, tmp_path / "again.jsonl", resume=True)
    clamp = next(t for t in again.report.tasks if t.task_id == "triage/clamp")
    assert clamp.tests[0].reason == "marked in the session store"
    assert [t.text for t in clamp.tests] == [t["text"] for t in tests]
    assert again.report.confirmed_after == 0
    fresh = _run(source, tmp_path / "fresh.jsonl")  # without --resume: chosen afresh
    assert next(t for t in fresh.report.tasks if t.task_id == "triage/clamp").tests[0].reason != \
        "marked in the session store"


def test_mbpp_test_list_gains_asserts_and_damaged_lines_stay_as_they_were(tmp_path) -> None:
    source = FIXTURES / "mbpp_tasks.jsonl"
    target = tmp_path / "strong.jsonl"
    done = _run(source, target)
    _check(done, source, target)
    record = json.loads(_lines(target)[0])
    original = json.loads(_lines(source)[0])
    assert record["test_list"][: len(original["test_list"])] == original["test_list"]
    assert all(t.startswith("assert first_greater(") or "(" in t for t in record["test_list"])
    assert {k: v for k, v in record.items() if k != "test_list"} == \
        {k: v for k, v in original.items() if k != "test_list"}


def test_evalplus_gains_base_inputs_that_its_loader_runs(tmp_path) -> None:
    source = FIXTURES / "evalplus_tasks.jsonl"
    target = tmp_path / "strong.jsonl"
    done = _run(source, target)
    _check(done, source, target)
    before = {t.task_id: t for t in load(str(source)).tasks}
    after = {t.task_id: t for t in load(str(target)).tasks}
    grown = [t for t in done.report.tasks if t.tests]
    for task in grown:
        assert len(after[task.task_id].suite_data.inputs) == \
            len(before[task.task_id].suite_data.inputs) + len(task.tests)


def test_stdio_cases_and_a_gzip_round_trip(tmp_path) -> None:
    plain = FIXTURES / "stdio_tasks.jsonl"
    source = tmp_path / "stdio.jsonl.gz"
    source.write_bytes(gzip.compress(plain.read_bytes()))
    target = tmp_path / "strong.jsonl.gz"
    done = _run(source, target)
    _check(done, source, target)
    assert target.read_bytes()[:2] == b"\x1f\x8b"
    grown = next(t for t in done.report.tasks if t.tests)
    task = next(t for t in load(str(target)).tasks if t.task_id == grown.task_id)
    original = next(t for t in load(str(plain)).tasks if t.task_id == grown.task_id)
    assert len(task.suite_data.cases) == len(original.suite_data.cases) + len(grown.tests)


def test_sanitized_mbpp_keeps_its_pretty_printed_array(tmp_path) -> None:
    source = FIXTURES / "mbpp_sanitized.json"
    target = tmp_path / "strong.json"
    done = _run(source, target, max_tests=2)
    report = done.report
    assert report.confirmed_after == 0
    text = target.read_text()
    json.loads(text)  # still one JSON array
    assert load(str(target)).format == "mbpp-sanitized"
    original = json.loads((FIXTURES / "mbpp_sanitized.json").read_text())
    written = json.loads(text)
    assert len(written) == len(original) and report.tests_added
    for old, new in zip(original, written, strict=True):
        if isinstance(old, dict):
            assert new["test_list"][: len(old["test_list"])] == old["test_list"]
            assert {k: v for k, v in new.items() if k != "test_list"} == \
                {k: v for k, v in old.items() if k != "test_list"}
    indents = {line[: len(line) - len(line.lstrip())] for line in text.splitlines()
               if line.lstrip().startswith('"assert ')}
    assert len(indents) == 1  # the added strings indented as the file's own


def test_json_splicing_keeps_every_other_byte() -> None:
    line = '{"a": "caf\\u00e9", "test_list": ["assert f(1) == 1"],  "z": [1,2]}'
    start, end, spans = object_at(line, 0)
    assert (start, end) == (0, len(line)) and set(spans) == {"a", "test_list", "z"}
    out = replace_fields(line, 0, {"test_list": ["assert f(1) == 1", "assert f(2) == 4"]})
    assert out == '{"a": "caf\\u00e9", "test_list": ["assert f(1) == 1", "assert f(2) == 4"],  "z": [1,2]}'
    pretty = '[\n    {\n        "t": [\n            "x"\n        ],\n        "n": 1\n    }\n]'
    out = replace_fields(pretty, 2, {"t": ["x", "y"]})
    assert out == ('[\n    {\n        "t": [\n            "x",\n            "y"\n        ],\n'
                   '        "n": 1\n    }\n]')


def test_greedy_choice_prefers_new_branches_then_stops_when_nothing_is_new() -> None:
    def cand(i: int, arcs: set, value: str) -> Candidate:
        return Candidate(i, f"assert f({i}) == {value}", frozenset(arcs), ("int", 1), value,
                         frozenset(), frozenset(), 1)

    suite = Seen(arcs={(1, 2)}, kinds={("int", 1)}, values={"1"})
    a, b, c = cand(1, {(1, 2)}, "1"), cand(2, {(1, 2), (2, 5)}, "7"), cand(3, {(1, 2)}, "1")
    assert choose([a, b, c], suite, 5) == [b]  # a and c add nothing the suite lacks
    assert boundaries(Input(([], 0, -3)), set()) == {(0, "empty"), (1, "0"), (2, "negative")}


def test_bad_input_is_one_line_and_exit_2(tmp_path) -> None:
    runner = CliRunner()
    same = tmp_path / "t.jsonl"
    shutil.copy(FIXTURES / "weak_tasks.jsonl", same)
    for args, words in (
        ([str(FIXTURES / "not_a_dataset.txt"), "--out", str(tmp_path / "x.jsonl")], "not_a_dataset.txt"),
        ([str(same), "--out", str(same)], "is the dataset itself"),
        ([str(same), "--out", str(tmp_path / "x.jsonl.gz")], "must be a name that does not end with .gz"),
        (["humaneval", "--out", str(tmp_path / "he.jsonl")], "must be a name that ends with .gz"),
    ):
        result = runner.invoke(cli, ["strengthen", *args, "--workers", "1", "--no-cache"])
        assert result.exit_code == 2, result.output
        assert words in result.output and "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) == 1


def test_a_record_that_cannot_take_tests_names_file_line_and_field(tmp_path) -> None:
    from testaudit.config import LoadOptions
    from testaudit.errors import DatasetError
    from testaudit.strengthen import write

    source = tmp_path / "t.jsonl"
    source.write_text('{"task_id": 1, "text": "t", "code": "def f(x):\\n    return x", '
                      '"test_list": "assert f(1) == 1"}\n')
    with pytest.raises(DatasetError) as caught:
        write(source, "mbpp", LoadOptions(), {1: ["assert f(2) == 2"]}, tmp_path / "o.jsonl")
    assert str(caught.value) == f"{source}:1: cannot add tests: field 'test_list' must be a list of strings"


# --- real data ----------------------------------------------------------------------------


def test_humaneval_tasks_strengthened_through_the_command_line(tmp_path) -> None:
    target = tmp_path / "he.jsonl.gz"
    result = CliRunner().invoke(cli, ["strengthen", "humaneval", "--out", str(target), "--tasks",
                                      "HumanEval/1[0-2]", "--workers", "2", "--no-cache",
                                      "--max-tests", "3"])
    assert result.exit_code == 0, result.output
    assert "confirmed wrong programs that pass the tests:" in result.output
    report = strengthen_json.read(Path("reports/he") / strengthen_json.FILENAME)
    assert report.confirmed_after == 0 and report.tests_added > 0
    again = {t.task_id: t for t in load(str(target)).tasks}
    for task in report.tasks:
        assert len(task.tests) <= 3 + task.confirmed_before  # at most --max-tests besides the suggested
        assert again[task.task_id].test.count("assert candidate(") >= len(task.tests)


def test_real_mbpp_tasks(tmp_path) -> None:
    source = tmp_path / "mbpp.jsonl"
    lines = shared_data("mbpp.jsonl").read_bytes().split(b"\n")
    source.write_bytes(b"\n".join(lines[10:14]) + b"\n")
    target = tmp_path / "strong.jsonl"
    done = _run(source, target, max_tests=3)
    _check(done, source, target)


def test_bigcodebench_gains_a_test_method_in_testcases(tmp_path) -> None:
    source = FIXTURES / "bigcodebench_tasks.jsonl"
    target = tmp_path / "strong.jsonl"
    done = _run(source, target, max_tests=2, tasks=("BigCodeBench/f1",))
    report = done.report
    assert report.confirmed_before > 0 and report.confirmed_after == 0  # r == 0 is never tried
    task = next(t for t in report.tasks if t.task_id == "BigCodeBench/f1")
    assert task.tests and task.reference_passes
    written = next(t for t in load(str(target)).tasks if t.task_id == "BigCodeBench/f1")
    assert "    def test_strengthened(self):" in written.test
    for added in task.tests:
        assert f"        {added.text}" in written.test and added.text.startswith("self.assert")
    before, after = _lines(source), _lines(target)
    assert [a == b for a, b in zip(before, after, strict=True)].count(False) == 1


def test_added_tests_keep_the_suite_s_relations_between_parameters(tmp_path) -> None:
    """MBPP+ Mbpp/4, `heap_queue_largest(nums, n)`, with its contract withheld: its three base
    tests all have n < len(nums), which its contract asks for, and right programs return [] past
    it. The tests strengthen writes keep the relation (it is firm now, and a soft one would be
    kept too: Domain.unwritable); at 0f77f3c 11 of its 20 broke it and rejected a right one."""
    record = next(json.loads(line) for line in gzip.open(shared_data("MbppPlus-v0.2.0.jsonl.gz"), "rt")
                  if json.loads(line)["task_id"] == "Mbpp/4")
    record.update(contract="", plus_input=[])
    source = tmp_path / "mbpp4.jsonl"
    source.write_text(json.dumps(record) + "\n")
    done = _run(source, tmp_path / "strong.jsonl", max_tests=20)
    added = [json.loads(t.text.split("\n", 1)[0][len("# input: "):]) for t in done.report.tasks[0].tests]
    assert len(added) >= 5, "too few tests added to say anything"
    assert all(n <= len(nums) for nums, n in added), [a for a in added if a[1] > len(a[0])]


def test_one_slow_clock_reading_changes_at_most_one_differential_candidate() -> None:
    # A 20 us call once measured at 4 ms (a page fault, a timer tick: seen on MBPP+ Mbpp/74)
    # used to shift the whole even spread of candidates, so two runs wrote different tests.
    from types import SimpleNamespace

    from testaudit.triage import differential
    from testaudit.triage.compare import Outcome
    from testaudit.values import Input

    job = SimpleNamespace(suite_seconds=2e-5)

    def explored(slow: int | None) -> SimpleNamespace:
        inputs = [Input((i,), distance=1) for i in range(1000)]
        expected = [Outcome("value", i, seconds=0.004 if i == slow else 2e-5) for i in range(1000)]
        return SimpleNamespace(inputs=inputs, expected=expected, outside=[None] * 1000)

    def picked(found) -> list[int]:
        return differential._fast(job, found, differential._spread(differential._pool(job, found), 240))

    steady = picked(explored(None))
    for slow in (0, 1, 5, 499, 998):
        hiccup = picked(explored(slow))
        assert slow not in hiccup
        assert set(steady) - set(hiccup) <= {slow} and set(hiccup) <= set(steady)
    # The tracing budget is decided from those readings in the parent, by count: the same
    # readings always give the same candidates traced.
    costly = explored(None)
    for i in range(1000):
        costly.expected[i] = Outcome("value", i, seconds=0.01)
    assert differential._affordable(costly, steady) == steady[:len(differential._affordable(costly, steady))]
    assert 0 < len(differential._affordable(costly, steady)) < len(steady)
