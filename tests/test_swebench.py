"""SWE-bench instances (repository tasks): loading, work trees, mutants of the gold patch, the
reference with and without it, and whole audits, on a small repository built here with git.

The repository `calc` has a bug (clamp never caps at `hi`); the gold patch fixes it and adds a
guard and a function no test calls; the test patch adds the FAIL_TO_PASS test. Known verdicts:
`return hi` -> `return None` is killed by the F2P test; `x > hi` -> `x >= hi` survives (no test has
x == hi), as does dropping the `lo > hi` guard (no test passes lo > hi); `describe` is never run
(no_coverage); dropping `i += 1` from `total`'s loop never ends (timeout). The last test rebuilds
pallets__flask-4045 from its sdist and audits it.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from testaudit.config import RepoSettings, RunConfig
from testaudit.load import load
from testaudit.mutate import generate
from testaudit.pipeline import run
from testaudit.records import MutantStatus, RepositoryData, TaskStatus
from testaudit.sandbox import isolate
from testaudit.suites.swebench import patch as patches
from testaudit.suites.swebench import prepare, pytest_plugin, workspace

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA = REPO_ROOT.parent / "shared" / "data" / "swebench"

BASE_CORE = '''\
def clamp(x, lo, hi):
    """Clamp x into [lo, hi]."""
    if x < lo:
        return lo
    return x


def scale(values, factor):
    return [v * factor for v in values]
'''

GOLD_CORE = '''\
def clamp(x, lo, hi):
    """Clamp x into [lo, hi]."""
    if lo > hi:
        raise ValueError("lo must not exceed hi")
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x


def scale(values, factor):
    return [v * factor for v in values]


def describe(x):
    return "big" if x > 100 else "small"


def total(values):
    result = 0
    i = 0
    while i < len(values):
        result += values[i]
        i += 1
    return result


def span(values):
    return min(values), max(values)
'''

BASE_TESTS = '''\
from calc.core import clamp, scale


def test_clamp_low():
    assert clamp(-5, 0, 10) == 0
    assert clamp(5, 0, 10) == 5


def test_scale():
    assert scale([1, 2], 3) == [3, 6]
'''

NEW_TEST = '''

def test_clamp_high():
    assert clamp(15, 0, 10) == 10


def test_total():
    from calc.core import total

    assert total([1, 2, 3]) == 6


def test_span():
    from calc.core import span

    assert span([3, 1, 2])[0] == 1
'''

F2P = ["tests/test_core.py::test_clamp_high", "tests/test_core.py::test_total",
       "tests/test_core.py::test_span"]

NET_TEST = '''\
import socket

import pytest


def test_loopback_only():
    with socket.create_server(("127.0.0.1", 0)) as server:  # loopback works
        socket.create_connection(server.getsockname(), timeout=5).close()
    with pytest.raises(OSError):  # nothing else is reachable
        socket.create_connection(("pypi.org", 443), timeout=5).close()
'''

P2P = ["tests/test_core.py::test_clamp_low", "tests/test_core.py::test_scale"]


def _git(args: list[str], cwd: Path) -> str:
    env = {**os.environ, **workspace.GIT_ENV, "HOME": str(cwd)}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout


def _diff(repo: Path, path: str, new: str) -> str:
    """The patch that turns `path` into `new` (made with git, then undone)."""
    (repo / path).write_text(new)
    diff = _git(["diff", "--", path], repo)
    _git(["checkout", "--", path], repo)
    return diff


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A clone at DIR/acme/calc, its base commit, and the instance record."""
    repos = tmp_path_factory.mktemp("repos")
    repo = repos / "acme" / "calc"
    (repo / "calc").mkdir(parents=True)
    (repo / "tests").mkdir()
    (repo / "calc" / "__init__.py").write_text("")
    (repo / "calc" / "core.py").write_text(BASE_CORE)
    (repo / "tests" / "test_core.py").write_text(BASE_TESTS)
    _git(["init", "-q"], repo)
    _git(["add", "-A"], repo)
    _git(["commit", "-q", "-m", "base"], repo)
    base = _git(["rev-parse", "HEAD"], repo).strip()
    gold = _diff(repo, "calc/core.py", GOLD_CORE)
    test_patch = _diff(repo, "tests/test_core.py", BASE_TESTS + NEW_TEST)
    (repo / "tests" / "test_net.py").write_text(NET_TEST)
    _git(["add", "-N", "tests/test_net.py"], repo)
    net_patch = _git(["diff", "--", "tests/test_net.py"], repo)
    _git(["rm", "-q", "--cached", "tests/test_net.py"], repo)
    (repo / "tests" / "test_net.py").unlink()
    (repo / "tests" / "conftest.py").write_text("import no_such_package_here  # noqa\n")
    _git(["add", "-N", "tests/conftest.py"], repo)
    missing_package = _git(["diff", "--", "tests/conftest.py"], repo)
    _git(["rm", "-q", "--cached", "tests/conftest.py"], repo)
    (repo / "tests" / "conftest.py").unlink()
    # A later commit: the audit must export base_commit, not whatever the clone has checked out.
    (repo / "calc" / "core.py").write_text(BASE_CORE + "\n# later\n")
    _git(["commit", "-qam", "later"], repo)
    record = {"repo": "acme/calc", "instance_id": "acme__calc-1", "base_commit": base, "patch": gold,
              "test_patch": test_patch, "version": "1.0", "FAIL_TO_PASS": json.dumps(F2P),
              "PASS_TO_PASS": json.dumps(P2P), "environment_setup_commit": base}
    return {"repos": repos, "repo": repo, "record": record, "net_patch": net_patch,
            "missing_package": missing_package}


def _write(path: Path, records: list[dict]) -> Path:
    path.write_text(json.dumps(records))
    return path


# Three operators give every status the audit tests look for; a fresh pytest costs 1-3 s here,
# and --isolate pays it per mutant.
OPERATORS = ("compare_boundary", "delete_statement", "return_value", "builtin")


def _audit(tmp_path: Path, records: list[dict], repos: Path, name: str, isolate: bool = False,
           triage: bool = False):
    dataset = _write(tmp_path / f"{name}.json", records)
    config = RunConfig(dataset=str(dataset), workers=1, out=tmp_path / f"out-{name}", cache_dir=None,
                       triage=triage, operators=OPERATORS, repo=RepoSettings(repos=repos, isolate=isolate))
    return run(config)


# --- loading ---------------------------------------------------------------------------------


def test_instances_load_from_an_array_json_lines_or_gzip_with_ids_as_strings_or_lists(
        tmp_path: Path, instance: dict) -> None:
    record = instance["record"]
    listed = {**record, "instance_id": "acme__calc-2", "FAIL_TO_PASS": F2P, "PASS_TO_PASS": P2P}
    array = _write(tmp_path / "a.json", [record, listed])
    lines = tmp_path / "b.jsonl.gz"
    with gzip.open(lines, "wt") as handle:
        handle.write(json.dumps(record) + "\n" + json.dumps(listed) + "\n")
    for path in (array, lines):
        dataset = load(str(path))
        assert dataset.format == "swebench"
        assert [t.task_id for t in dataset.tasks] == ["acme__calc-1", "acme__calc-2"]
        for task in dataset.tasks:
            assert task.status is TaskStatus.OK
            data = task.suite_data
            assert isinstance(data, RepositoryData)
            assert data.fail_to_pass == tuple(F2P) and data.pass_to_pass == tuple(P2P)
            assert data.tests == tuple(F2P + P2P) and task.source == record["patch"]


@pytest.mark.parametrize(("change", "field"), [
    ({"FAIL_TO_PASS": "[not json"}, "FAIL_TO_PASS"),
    ({"FAIL_TO_PASS": "[]"}, "FAIL_TO_PASS"),
    ({"PASS_TO_PASS": [1, 2]}, "PASS_TO_PASS"),
    ({"repo": "no-slash"}, "repo"),
    ({"base_commit": "main"}, "base_commit"),
    ({"patch": "just text"}, "patch"),
])
def test_a_bad_record_is_an_error_task_naming_file_line_and_field(tmp_path: Path, instance: dict,
                                                                   change: dict, field: str) -> None:
    path = tmp_path / "bad.jsonl"
    bad = {**instance["record"], "instance_id": "acme__calc-bad", **change}
    path.write_text(json.dumps(instance["record"]) + "\n" + json.dumps(bad) + "\n")
    good, bad = load(str(path)).tasks
    assert good.status is TaskStatus.OK and bad.status is TaskStatus.ERROR
    assert bad.message.startswith(f"{path}:2: field '{field}'") and "\n" not in bad.message


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run([sys.executable, "-m", "testaudit", "audit", *args], capture_output=True,
                          text=True, env=env, timeout=120)


def test_bad_command_lines_end_in_one_line_and_exit_code_2(tmp_path: Path, instance: dict) -> None:
    dataset = _write(tmp_path / "one.json", [instance["record"]])
    spec = tmp_path / "spec.toml"
    spec.write_text('[[env]]\nrepo = "acme/calc"\nversion = "1.0"\ninstall = "not a list"\n')
    cases = [
        ((str(dataset), "--no-cache", "--out", str(tmp_path / "o1")), "need --repos DIR"),
        ((str(dataset), "--no-cache", "--out", str(tmp_path / "o2"), "--repos", str(instance["repos"]),
          "--env-spec", str(spec)), f"{spec}: env 1: field 'install'"),
    ]
    for args, expected in cases:
        done = _cli(*args)
        assert done.returncode == 2, done.stderr
        assert expected in done.stderr and "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr


# --- patches, trees and mutants ----------------------------------------------------------------


def test_the_patch_parser_gives_each_files_added_lines(instance: dict) -> None:
    (change,) = patches.parse(instance["record"]["patch"])
    # The guard (3-4), the cap (7-8), and the blank lines and function after scale (14-17).
    assert change.path == "calc/core.py" and change.added == (3, 4, 7, 8, *range(14, 31))


def test_mutants_touch_only_added_lines_inside_functions_never_messages(tmp_path: Path,
                                                                        instance: dict) -> None:
    task = load(str(_write(tmp_path / "one.json", [instance["record"]]))).tasks[0]
    (task,) = prepare.prepare([task], RepoSettings(repos=instance["repos"]), tmp_path / "trees", tmp_path)
    data = task.suite_data
    assert task.status is TaskStatus.OK, task.message
    assert (Path(data.workspace) / "calc" / "core.py").read_text() == GOLD_CORE  # base_commit + gold
    assert "test_clamp_high" in (Path(data.workspace) / "tests" / "test_core.py").read_text()
    mutants = generate(task)
    (patched,) = data.files
    assert mutants and all(m.file == "calc/core.py" for m in mutants)
    for m in mutants:
        assert all(n in patched.lines for n in range(m.location.start.line, m.location.end.line + 1)), m
        assert "lo must not exceed hi" not in m.original + m.replacement or m.replacement.strip() == "pass"
        assert m.location.start.line not in (1, 2, 5, 6, 9, 12, 13)  # lines the patch did not add
    assert [m.id for m in generate(task)] == [m.id for m in mutants]  # deterministic
    assert {"x >= hi", "x <= hi"} <= {m.apply(patched.text).splitlines()[6].strip()[3:-1] for m in mutants}


def test_a_patch_that_does_not_apply_makes_the_instance_an_error_naming_the_file(
        tmp_path: Path, instance: dict) -> None:
    broken = instance["record"]["patch"].replace("     if x < lo:", "     if y < lo:")
    record = {**instance["record"], "patch": broken}
    task = load(str(_write(tmp_path / "one.json", [record]))).tasks[0]
    (task,) = prepare.prepare([task], RepoSettings(repos=instance["repos"]), tmp_path / "trees", tmp_path)
    assert task.status is TaskStatus.ERROR
    assert "field 'patch' does not apply" in task.message and "calc/core.py" in task.message


def test_swap_plan_refuses_module_level_changes_and_finds_the_function_otherwise(tmp_path: Path) -> None:
    path = str(tmp_path / "m.py")
    original = "K = 1\n\ndef f(x):\n    return x + K\n"
    code = compile(original, path, "exec")
    namespace: dict = {}
    exec(code, namespace)
    live = {(path, "f", 3): [namespace["f"]]}
    plan, why = pytest_plugin.swap_plan(path, original, original.replace("x + K", "x - K"), live)
    assert why is None and plan[0][0] == [namespace["f"]]
    plan[0][0][0].__code__ = plan[0][1]
    assert namespace["f"](5) == 4
    assert pytest_plugin.swap_plan(path, original, original.replace("K = 1", "K = 2"), live)[1] \
        == "the mutant changes module-level or class-level code"


# --- whole audits ------------------------------------------------------------------------------


def _by_change(summary) -> dict[str, tuple[MutantStatus, str | None]]:
    (audit,) = summary.tasks
    (patched,) = audit.task.suite_data.files
    out = {}
    for m in audit.mutants:
        line = m.apply(patched.text).splitlines()[m.location.start.line - 1].strip()
        result = audit.outcome(m)
        out[f"{m.location.start.line}: {line}"] = (result.status, result.detail)
    return out


def test_an_audit_finds_the_known_survivors_and_kills_and_isolate_agrees(tmp_path: Path,
                                                                         instance: dict) -> None:
    warm = _audit(tmp_path, [instance["record"]], instance["repos"], "warm", triage=True)
    (audit,) = warm.tasks
    assert audit.status is TaskStatus.OK and audit.message is None
    verdicts = _by_change(warm)
    status = {k: v[0] for k, v in verdicts.items()}
    assert status["7: pass"] is MutantStatus.KILLED
    assert status["8: return None"] is MutantStatus.KILLED  # only the F2P test reaches it
    assert verdicts["8: return None"][1].startswith("killed by tests/test_core.py::test_clamp_high: ")
    assert status["7: if x >= hi:"] is MutantStatus.SURVIVED
    assert status["3: if lo >= hi:"] is MutantStatus.SURVIVED
    assert status["25: pass"] is MutantStatus.TIMEOUT
    assert status["23: while i <= len(values):"] is MutantStatus.KILLED
    assert status["17: return None"] is MutantStatus.NO_COVERAGE
    # Triage: the survivor `max` -> `min` returns (1, 1) on the test's own call, where the gold
    # patch returns (1, 3): a confirmed wrong patch, with a suggested test checked both ways.
    (wrong,) = [m for m in audit.mutants if m.replacement == "min" and m.location.start.line == 30]
    verdict = audit.outcome(wrong)
    assert verdict.status is MutantStatus.SURVIVED and verdict.witness is not None
    assert (verdict.witness.input, verdict.witness.expected, verdict.witness.actual) == \
        ("span([3, 1, 2])", "(1, 3)", "(1, 1)")
    assert verdict.suggested_test and "assert span([3, 1, 2]) == (1, 3)" in verdict.suggested_test
    assert audit.confirmed_wrong == 1 and warm.triaged
    (boundary,) = [m for m in audit.mutants if m.replacement == ">=" and m.location.start.line == 7]
    assert audit.outcome(boundary).witness is None  # agrees with x > hi on every call the tests make
    assert all(s is not MutantStatus.NO_COVERAGE for k, s in status.items() if not k.startswith("17:"))
    isolated = _by_change(_audit(tmp_path, [instance["record"]], instance["repos"], "isolate", isolate=True))
    assert {k: v[0] for k, v in isolated.items()} == status
    # Stryker's JSON: one `files` entry per patched file, its source the patched file.
    report = json.loads((tmp_path / "out-warm" / "mutation-report.json").read_text())
    (name,) = [n for n in report["files"] if n.endswith("calc/core.py")]
    assert report["files"][name]["source"] == GOLD_CORE
    killed = [m for m in report["files"][name]["mutants"] if m["status"] == "Killed"]
    assert killed and all(m.get("killedBy") for m in killed)
    # The HTML page lists the patched file and names each survivor at file:line.
    page = (tmp_path / "out-warm" / "acme__calc-1.html").read_text()
    assert "=== calc/core.py (with the gold patch) ===" in page
    assert "calc/core.py:7: &gt; → &gt;=" in page


def test_a_reference_failing_its_tests_is_broken_with_the_failing_ids(tmp_path: Path, instance: dict) -> None:
    record = {**instance["record"], "PASS_TO_PASS": json.dumps(P2P + ["tests/test_core.py::test_missing"])}
    (audit,) = _audit(tmp_path, [record], instance["repos"], "broken").tasks
    assert audit.status is TaskStatus.BROKEN
    assert "tests/test_core.py::test_missing" in audit.message
    assert all(audit.outcome(m).status in (MutantStatus.ERROR, MutantStatus.EQUIVALENT)
               for m in audit.mutants)


def test_tests_that_cannot_be_collected_make_an_error_not_a_broken_instance(tmp_path: Path,
                                                                           instance: dict) -> None:
    test_patch = instance["record"]["test_patch"] + instance["missing_package"]
    record = {**instance["record"], "test_patch": test_patch}
    (audit,) = _audit(tmp_path, [record], instance["repos"], "env").tasks
    assert audit.status is TaskStatus.ERROR
    assert "the tests cannot run in this environment (current)" in audit.message
    assert "no_such_package_here" in audit.message and "\n" not in audit.message


def test_fail_to_pass_tests_that_pass_without_the_gold_patch_are_flagged(tmp_path: Path,
                                                                         instance: dict) -> None:
    record = {**instance["record"], "FAIL_TO_PASS": json.dumps(F2P + ["tests/test_core.py::test_scale"]),
              "PASS_TO_PASS": json.dumps(P2P[:1])}
    (audit,) = _audit(tmp_path, [record], instance["repos"], "flagged").tasks
    assert audit.status is TaskStatus.OK
    assert "pass without the gold patch" in audit.message and "test_scale" in audit.message
    assert "test_clamp_high" not in audit.message and "test_total" not in audit.message


# --- real data ---------------------------------------------------------------------------------


def test_pallets_flask_4045_rebuilt_from_its_sdist_is_audited_end_to_end(tmp_path: Path) -> None:
    if not (DATA / "swe-bench-lite.json").is_file():
        pytest.skip(f"no SWE-bench data at {DATA}")
    got = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
                          "flask==2.0.0", "-d", str(tmp_path / "sdist")], capture_output=True, text=True,
                         timeout=300)
    if got.returncode != 0:
        pytest.skip(f"the package registry is unavailable: {got.stderr.strip().splitlines()[-1:]}")
    (sdist,) = (tmp_path / "sdist").glob("*.tar.gz")
    shutil.unpack_archive(sdist, tmp_path / "src")
    (source,) = (tmp_path / "src").iterdir()
    config = RunConfig(dataset=str(DATA / "swe-bench-lite.json"), tasks=("pallets__flask-4045",), workers=1,
                       out=tmp_path / "out", cache_dir=tmp_path / "cache", triage=False,
                       repo=RepoSettings(source=source, env="venv"))
    (audit,) = run(config).tasks
    assert audit.status is TaskStatus.OK, audit.message
    assert audit.mutants and all(m.file == "src/flask/blueprints.py" for m in audit.mutants)
    statuses = [audit.outcome(m).status for m in audit.mutants]
    assert MutantStatus.KILLED in statuses and MutantStatus.SURVIVED in statuses
    assert MutantStatus.ERROR not in statuses and MutantStatus.PENDING not in statuses


def test_a_bare_mirror_named_owner__name_serves_as_the_repository(tmp_path: Path, instance: dict) -> None:
    mirrors = tmp_path / "mirrors"
    mirrors.mkdir()
    _git(["clone", "-q", "--mirror", str(instance["repo"]), str(mirrors / "acme__calc.git")], tmp_path)
    task = load(str(_write(tmp_path / "one.json", [instance["record"]]))).tasks[0]
    (task,) = prepare.prepare([task], RepoSettings(repos=mirrors), tmp_path / "trees", tmp_path)
    assert task.status is TaskStatus.OK, task.message
    assert (Path(task.suite_data.workspace) / "calc" / "core.py").read_text() == GOLD_CORE
    other = {**instance["record"], "repo": "acme/other"}
    missing = load(str(_write(tmp_path / "two.json", [other]))).tasks[0]
    (missing,) = prepare.prepare([missing], RepoSettings(repos=mirrors), tmp_path / "trees2", tmp_path)
    assert missing.status is TaskStatus.ERROR and "no clone of acme/other" in missing.message


def test_the_gate_fails_an_instance_with_survivors_and_writes_junit(tmp_path: Path, instance: dict) -> None:
    dataset = _write(tmp_path / "one.json", [instance["record"]])
    junit = tmp_path / "swe.xml"
    args = ["gate", str(dataset), "--repos", str(instance["repos"]), "--no-cache", "--no-triage",
            "--workers", "1", "--out", str(tmp_path / "out"), "--operator", "compare_boundary",
            "--max-survivors", "0", "--junit", str(junit)]
    done = subprocess.run([sys.executable, "-m", "testaudit", *args], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, timeout=300)
    assert done.returncode == 1, done.stderr
    assert "acme__calc-1" in junit.read_text() and "Traceback" not in done.stderr


def test_the_tests_reach_loopback_and_nothing_else(tmp_path: Path, instance: dict) -> None:
    """Without the network namespace (--no-isolation) this instance is broken: checked by hand."""
    if not isolate.status().isolated:
        pytest.skip(f"no network namespace here: {isolate.status().reason}")
    reach = "import socket; socket.create_connection(('pypi.org', 443), 5)"
    probe = subprocess.run([sys.executable, "-c", reach], capture_output=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip("this machine reaches no outside host: nothing to block")
    record = {**instance["record"], "test_patch": instance["record"]["test_patch"] + instance["net_patch"],
              "PASS_TO_PASS": json.dumps(P2P + ["tests/test_net.py::test_loopback_only"])}
    (audit,) = _audit(tmp_path, [record], instance["repos"], "net").tasks
    assert audit.status is TaskStatus.OK, audit.message  # broken if the test reached pypi.org
