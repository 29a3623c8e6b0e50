"""References that read the machine's state get witnesses but never a pinned test (triage/volatile.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from testaudit.cli import cli
from testaudit.triage.volatile import volatile_reads


@pytest.mark.parametrize(("source", "found"), [
    ("import psutil\ndef f():\n    return psutil.virtual_memory().percent", "psutil.virtual_memory"),
    ("import psutil as ps\ndef f():\n    return ps.cpu_percent()", "ps.cpu_percent"),
    ("from time import time\ndef f():\n    return time()", "time"),
    ("from datetime import datetime\ndef f():\n    return datetime.now().year", "datetime.now"),
    ("import datetime\ndef f():\n    return datetime.datetime.now()", "datetime.datetime.now"),
    ("from datetime import date\ndef f():\n    return date.today()", "date.today"),
    ("import os\ndef f():\n    return os.environ['HOME']", "os.environ"),
    ("from os import getpid as g\ndef f():\n    return g()", "g"),
    ("import os\ndef f(d):\n    return sorted(os.listdir(d))", "os.listdir"),
    ("import platform\ndef f():\n    return platform.system()", "platform.system"),
])
def test_reads_of_the_machine_state_are_found_through_every_import_form(source, found) -> None:
    assert volatile_reads(source) == found


@pytest.mark.parametrize("source", [
    "import time\ndef f(n):\n    time.sleep(0)\n    return n",  # sleeping reads nothing
    "import datetime\ndef f():\n    return datetime.date(2020, 1, 1)",  # a fixed date
    "import os\ndef f(a):\n    return os.path.join(a, 'b')",  # string work
    "import random\ndef f():\n    return random.random()",  # re-seeded before every call
    "def f(xs):\n    return sorted(xs)",
    "def f(:\n",  # does not parse: nothing to say
])
def test_deterministic_references_are_not_flagged(source) -> None:
    assert volatile_reads(source) is None


TASK = {
    "task_id": "Volatile/0",
    "prompt": "import time\n\ndef double(x):\n    \"\"\"Twice x.\"\"\"\n",
    # The clock is read, though here it cannot change the result: flagged all the same (report
    # less, never more: the detector does not prove that a read is harmless).
    "canonical_solution": "    started = time.time()\n    return x * 2 if started > 0 else x\n",
    "test": "def check(candidate):\n    assert candidate(0) == 0\n",
    "entry_point": "double",
}


def test_a_reference_that_reads_the_clock_keeps_witnesses_but_gets_no_suggested_test(tmp_path: Path) -> None:
    data = tmp_path / "volatile.jsonl"
    data.write_text(json.dumps(TASK) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["audit", str(data), "--workers", "1", "--no-html", "--no-cache",
                                      "--out", str(tmp_path / "out")])
    report = json.loads((tmp_path / "out" / "results.json").read_text())
    (task,) = report["tasks"]
    survivors = [m for m in task["mutants"] if m["status"] == "survived"]
    witnessed = [m for m in survivors if m["witness"]]
    assert witnessed, result.output  # `x * 2` -> `x * 3` and the like differ on x = 1
    assert all(m["suggested_test"] is None for m in survivors)
    assert task["suggested_tests"] == []
    assert "reads the machine's state (time.time)" in task["message"]
