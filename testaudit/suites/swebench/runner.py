"""One repository task's job: the reference with and without the gold patch, then its mutants.

It runs in a pool worker (spawned) and drives the instance's own pytest, in the interpreter of
the instance's environment, through testaudit's pytest plugin (pytest_plugin.py):

1. the reference: every FAIL_TO_PASS and PASS_TO_PASS test with the gold patch applied, under
   coverage.py with one context per test (which test executes which patched line), timing each;
2. the gold patch reversed (test_patch only): the FAIL_TO_PASS tests must fail;
3. each mutant against the tests that execute its lines, fastest first, stopping at the first
   failure: in the warm session (one pytest that collected once; a forked child per mutant with
   the function's code object swapped), or in a fresh pytest (`--isolate`, and every mutant the
   warm session cannot swap in).
"""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import select
import shutil
import subprocess
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from testaudit.config import ExecSettings
from testaudit.records import (
    JobDone,
    JobFailed,
    Mutant,
    MutantResult,
    MutantStatus,
    ReferenceRun,
    RepositoryData,
    ResultBatch,
    TaskJob,
    Witness,
)
from testaudit.sandbox import isolate
from testaudit.suites.swebench import workspace

Emit = Callable[[object], None]
PLUGIN = "testaudit_swe_plugin"
# A mutant's budget: factor x its selected tests' own time + a constant, plus what starting its
# run costs: a fork and the fixtures' set-up (warm), or a whole new pytest (fresh).
WARM_OVERHEAD_S = 2.0
FRESH_OVERHEAD_FACTOR = 3.0  # x the reference run's own start-up (its wall time minus its tests)
FRESH_OVERHEAD_MIN_S = 5.0
REFERENCE_TIMEOUT_S = 900.0
SERVER_GRACE_S = 30.0  # past a mutant's budget, how long the warm session may stay silent


class TestsCannotRun(Exception):
    """The instance's tests cannot even be collected here: str() is the one-line reason."""


@dataclass(frozen=True)
class TestRun:
    """What one pytest run reported (pytest_plugin.py's `out`)."""

    tests: dict[str, dict]
    lines: dict[str, dict[str, list[str]]]
    first_failure: str | None
    wall: float
    exitstatus: int

    def entries(self, test: str) -> list[dict]:
        """The runs of a test id; SWE-bench cuts some parametrized ids at their first space
        ("test_x[a b]" is stored "test_x[a"): such an id stands for every test it begins."""
        if test in self.tests:
            return [self.tests[test]]
        if "[" in test and not test.endswith("]"):
            return [e for n, e in self.tests.items() if n.startswith(test)]
        return []

    def failing(self, ids: tuple[str, ...]) -> list[str]:
        """The ids among `ids` that did not pass (or never ran)."""
        return [t for t in ids
                if not self.entries(t) or any(e["outcome"] != "passed" for e in self.entries(t))]

    def passing(self, ids: tuple[str, ...]) -> list[str]:
        return [t for t in ids if t not in self.failing((t,))]

    def why(self, test: str) -> str:
        entries = self.entries(test)
        if not entries:
            return "not run (no such test collected)"
        bad = next((e for e in entries if e["outcome"] != "passed"), entries[0])
        return bad.get("message") or bad["outcome"]


@dataclass
class Session:
    """The environment and folders of one job's pytest runs."""

    data: RepositoryData
    tree: Path
    scratch: Path
    settings: ExecSettings
    forks: int = 0
    fresh_runs: int = 0
    config_count: int = field(default=0)
    # The worker's network namespace with only loopback up (sandbox/isolate.py), which every
    # test process joins; None where namespaces are refused (or --no-isolation): then the tests
    # reach the network (docs/swebench.md, "Containment").
    network: int | None = None

    def env(self, config: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_", "COVERAGE_"))}
        paths = [str(self.scratch / "plugin")] + [str(self.tree / p) for p in self.data.env.pythonpath]
        env.update({
            "PYTHONPATH": os.pathsep.join(paths),
            # No stale bytecode: a mutant written into a file must never run as its old .pyc.
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONPYCACHEPREFIX": str(self.scratch / "pycache"),
            "PYTHONHASHSEED": str(self.settings.seed),
            "TMPDIR": str(self.scratch / "tmp"),
            "TESTAUDIT_SWE": str(config),
        })
        return env

    def config(self, payload: dict) -> Path:
        self.config_count += 1
        path = self.scratch / f"config-{self.config_count}.json"
        path.write_text(json.dumps(payload), encoding="utf-8")
        return path

    def command(self, args: list[str]) -> list[str]:
        return [self.data.env.python, *self.data.env.test_command, "-p", PLUGIN, "-p", "no:cacheprovider",
                "-q", "--rootdir", str(self.tree), *args]

    def limits(self) -> None:
        """In the test process: the memory cap, its own session (killed as a group), no network
        but loopback."""
        cap = self.settings.memory_cap_bytes
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        os.setsid()
        if self.network is not None:
            isolate.join_network(self.network)

    def run(self, tests: list[str], timeout: float, coverage: bool = False,
            stop_first: bool = False) -> TestRun | None:
        """A fresh pytest on `tests` (in that order); None when it ran out of time."""
        out = self.scratch / f"out-{self.config_count + 1}.json"
        config = self.config({"mode": "run", "tests": tests, "out": str(out), "stop_first": stop_first,
                              "keep_order": True,
                              "coverage_files": [str(self.tree / f.path) for f in self.data.files]
                              if coverage else []})
        files = list(dict.fromkeys(t.split("::")[0] for t in tests))
        private = Path(tempfile.mkdtemp(prefix="tmp-", dir=self.scratch))  # this run's own TMPDIR
        env = {**self.env(config), "TMPDIR": str(private)}
        started = time.perf_counter()
        self.fresh_runs += 1
        process = subprocess.Popen(self.command(files), cwd=self.tree, env=env,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, preexec_fn=self.limits)
        try:
            _, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        finally:
            _kill_group(process)  # whatever a test started in its group goes with it
            shutil.rmtree(private, ignore_errors=True)
        wall = time.perf_counter() - started
        if not out.is_file():
            message = " ".join(stderr.decode(errors="replace").split())[-300:]
            return TestRun({"<pytest>": {"outcome": "failed", "seconds": 0.0,
                                         "message": f"pytest exited {process.returncode}: {message}"}},
                           {}, "<pytest>", wall, process.returncode)
        data = json.loads(out.read_text(encoding="utf-8"))
        out.unlink()
        return TestRun(data["tests"], data["lines"], data["first_failure"], wall, data["exitstatus"])


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, 9)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def _plugin_dir(scratch: Path) -> None:
    folder = scratch / "plugin"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(Path(__file__).with_name("pytest_plugin.py"), folder / f"{PLUGIN}.py")


# --- the reference -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    run: ReferenceRun
    seconds: dict[str, float]  # each test's own time
    covering: dict[str, dict[int, tuple[str, ...]]]  # patched file -> line -> tests executing it
    startup: float  # the reference pytest's wall time beyond its tests' own


def reference(session: Session) -> Reference:
    data = session.data
    tests = list(data.tests)
    ran = session.run(tests, REFERENCE_TIMEOUT_S, coverage=True)
    task_id = data.instance_id
    if ran is None:
        over = f"the reference ran over {REFERENCE_TIMEOUT_S:.0f} s"
        return Reference(ReferenceRun(task_id, False, over, 0.0), {}, {}, 0.0)
    broken_run = [(t, e) for t, e in ran.tests.items() if t.startswith("<")]
    if broken_run and not ran.passing(data.tests):
        # Nothing collected ran: an environment that cannot run these tests (a missing package,
        # a pytest too new), not a benchmark bug; the instance is in error, not broken.
        test, entry = broken_run[0]
        raise TestsCannotRun(f"the tests cannot run in this environment ({data.env.kind}): "
                             f"{test.strip('<>')}: {entry.get('message') or 'failed'}")
    failing = ran.failing(data.tests)
    seconds = {t: e["seconds"] for t, e in ran.tests.items()}
    suite = sum(seconds.get(t, 0.0) for t in tests)
    if failing:
        shown = "; ".join(f"{t} ({ran.why(t)})" for t in failing[:5])
        more = f" and {len(failing) - 5} more" if len(failing) > 5 else ""
        message = (f"{len(failing)} of {len(tests)} FAIL_TO_PASS/PASS_TO_PASS tests fail with the gold "
                   f"patch: {shown}{more}")
        return Reference(ReferenceRun(task_id, False, message, suite), seconds, {}, 0.0)
    covering: dict[str, dict[int, tuple[str, ...]]] = {}
    for patched in data.files:
        per_line = ran.lines.get(os.path.realpath(session.tree / patched.path), {})
        covering[patched.path] = {int(n): tuple(c) for n, c in per_line.items()}
    note = without_gold(session)
    startup = max(0.0, ran.wall - suite)
    return Reference(ReferenceRun(task_id, True, note, suite), seconds, covering, startup)


def without_gold(session: Session) -> str | None:
    """Run FAIL_TO_PASS with the test patch only; a warning when some pass anyway."""
    data = session.data
    workspace.apply(session.tree, data.patch, "patch", reverse=True)
    try:
        ran = session.run(list(data.fail_to_pass), REFERENCE_TIMEOUT_S)
    finally:
        workspace.apply(session.tree, data.patch, "patch")
    if ran is None:
        return None
    passing = ran.passing(data.fail_to_pass)
    if not passing:
        return None
    return (f"warning: {len(passing)} FAIL_TO_PASS test(s) pass without the gold patch, so they do "
            f"not test it: {', '.join(passing[:3])}")


# --- the mutants ---------------------------------------------------------------------------------


def selected(mutant: Mutant, ref: Reference) -> list[str]:
    """The reference's tests that execute a line of the mutant, fastest first (then by id)."""
    lines = range(mutant.location.start.line, mutant.location.end.line + 1)
    per_line = ref.covering.get(mutant.file or "", {})
    tests = {t for n in lines for t in per_line.get(n, ())}
    return sorted(tests, key=lambda t: (ref.seconds.get(t, 0.0), t))


def budget(session: Session, ref: Reference, tests: list[str], fresh: bool) -> float:
    s = session.settings
    own = s.timeout_factor * sum(ref.seconds.get(t, 0.0) for t in tests) + s.timeout_constant_s
    if fresh:
        return own + max(FRESH_OVERHEAD_MIN_S, FRESH_OVERHEAD_FACTOR * ref.startup)
    return own + WARM_OVERHEAD_S


def _text(data: RepositoryData, path: str) -> str:
    return next(f.text for f in data.files if f.path == path)


def run_fresh(session: Session, ref: Reference, mutant: Mutant, tests: list[str]) -> MutantResult:
    """The mutant written into its file, a new pytest on its tests; the file restored after."""
    path = session.tree / (mutant.file or "")
    original = _text(session.data, mutant.file or "")
    limit = budget(session, ref, tests, fresh=True)
    started = time.perf_counter()
    path.write_text(mutant.apply(original), encoding="utf-8")
    try:
        ran = session.run(tests, limit, stop_first=True)
    finally:
        path.write_text(original, encoding="utf-8")
    seconds = time.perf_counter() - started
    if ran is None:
        return MutantResult(mutant.id, mutant.task_id, MutantStatus.TIMEOUT, f"over its {limit:.2f} s budget",
                            seconds)
    if ran.first_failure is not None:
        return killed(mutant, ran.first_failure, ran.why(ran.first_failure), seconds)
    failing = ran.failing(tuple(tests))
    if failing:
        return killed(mutant, failing[0], ran.why(failing[0]), seconds)
    return MutantResult(mutant.id, mutant.task_id, MutantStatus.SURVIVED, _passed(tests), seconds)


def killed(mutant: Mutant, test: str, why: str | None, seconds: float) -> MutantResult:
    # "killed by <test id>: reason": report/stryker.py reads the test id back for killedBy.
    return MutantResult(mutant.id, mutant.task_id, MutantStatus.KILLED,
                        f"killed by {test}: {why or 'failed'}", seconds)


def _passed(tests: list[str]) -> str:
    return f"passed its {len(tests)} covering test(s)"


class WarmSession:
    """One pytest that collected the tests once; each mutant runs in a child it forks."""

    def __init__(self, session: Session, tests: list[str]) -> None:
        self.session = session
        to_child, self.to_server = os.pipe()
        self.from_server, from_child = os.pipe()
        config = session.config({"mode": "serve", "tests": tests, "fd_in": to_child, "fd_out": from_child,
                                 "files": [str(session.tree / f.path) for f in session.data.files]})
        files = list(dict.fromkeys(t.split("::")[0] for t in tests))
        (session.scratch / "tmp").mkdir(exist_ok=True)
        self.process = subprocess.Popen(session.command(files), cwd=session.tree, env=session.env(config),
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, pass_fds=(to_child, from_child),
                                        preexec_fn=session.limits)
        os.close(to_child)
        os.close(from_child)
        self.writer = os.fdopen(self.to_server, "w", encoding="utf-8")
        self.reader = os.fdopen(self.from_server, "r", encoding="utf-8")
        self.dead = False
        ready, _, _ = select.select([self.reader], [], [], REFERENCE_TIMEOUT_S)
        line = self.reader.readline() if ready else ""
        self.ready = bool(line) and "ready" in json.loads(line)

    def run(self, mutant: Mutant, tests: list[str], limit: float, diff: bool = False) -> dict | None:
        """The server's answer, or None when the server is gone. `diff`: the differential run
        of a survivor instead of its verdict."""
        original = _text(self.session.data, mutant.file or "")
        command = {"id": mutant.id, "file": str(self.session.tree / (mutant.file or "")),
                   "text": mutant.apply(original), "tests": tests, "budget": limit,
                   "memory": self.session.settings.memory_cap_bytes, "diff": diff}
        try:
            self.writer.write(json.dumps(command) + "\n")
            self.writer.flush()
            # The server kills a child at its budget; a server silent well past it is stuck.
            ready, _, _ = select.select([self.reader], [], [], limit + SERVER_GRACE_S)
            line = self.reader.readline() if ready else ""
        except (BrokenPipeError, OSError, ValueError):
            line = ""
        if not line:
            self.dead = True
            return None
        self.session.forks += 1
        return json.loads(line)

    def close(self) -> None:
        try:
            self.writer.write(json.dumps({"quit": True}) + "\n")
            self.writer.flush()
        except (BrokenPipeError, OSError):
            pass
        for handle in (self.writer, self.reader):
            try:
                handle.close()
            except OSError:
                pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        _kill_group(self.process)


def run_warm(warm: WarmSession, session: Session, ref: Reference, mutant: Mutant,
             tests: list[str]) -> MutantResult:
    if warm.dead:
        result = run_fresh(session, ref, mutant, tests)
        return dataclasses.replace(result, detail=f"{result.detail} (fresh pytest: the warm session is gone)")
    limit = budget(session, ref, tests, fresh=False)
    answer = warm.run(mutant, tests, limit)
    if answer is None or answer["status"] == "fallback":
        result = run_fresh(session, ref, mutant, tests)
        why = "the warm session is gone" if answer is None else answer.get("message")
        return dataclasses.replace(result, detail=f"{result.detail} (fresh pytest: {why})")
    status = answer["status"]
    if status == "killed":
        test = answer.get("test") or "the test session"
        return killed(mutant, test, answer.get("message"), answer["seconds"])
    if status == "timeout":
        return MutantResult(mutant.id, mutant.task_id, MutantStatus.TIMEOUT, answer.get("message"),
                            answer["seconds"])
    return MutantResult(mutant.id, mutant.task_id, MutantStatus.SURVIVED, _passed(tests), answer["seconds"])


def run_job(job: TaskJob, settings: ExecSettings, emit: Emit) -> None:
    """The job of a repository task. Never raises: failures become events."""
    task = job.task
    data = task.suite_data
    started = time.perf_counter()
    session = None
    try:
        assert isinstance(data, RepositoryData) and data.env is not None and data.workspace
        with tempfile.TemporaryDirectory(prefix="testaudit-swe-") as scratch:
            session = Session(data, Path(data.workspace), Path(scratch), settings)
            if settings.isolate and isolate.status().isolated:
                session.network = isolate.sandbox_network()
            _plugin_dir(session.scratch)
            _run(session, job, emit)
    except (workspace.WorkspaceError, TestsCannotRun) as exc:
        emit(JobFailed(task.task_id, str(exc)))
    except Exception as exc:  # a bug of ours must not take the other tasks down
        emit(JobFailed(task.task_id, f"internal error: {type(exc).__name__}: {exc}", traceback.format_exc()))
    emit(JobDone(task.task_id, time.perf_counter() - started, session.forks if session else 0))


def _run(session: Session, job: TaskJob, emit: Emit) -> None:
    ref = reference(session)
    emit(ref.run)
    if not ref.run.passed:
        return
    plans = [(m, selected(m, ref)) for m in job.mutants]
    uncovered = [MutantResult(m.id, m.task_id, MutantStatus.NO_COVERAGE,
                              "no FAIL_TO_PASS or PASS_TO_PASS test executes this line")
                 for m, tests in plans if not tests]
    if uncovered:
        emit(ResultBatch(tuple(uncovered)))
    plans = [(m, tests) for m, tests in plans if tests]
    if not plans:
        return
    warm = None
    if not session.data.isolate:
        union = sorted({t for _, tests in plans for t in tests})
        warm = WarmSession(session, union)
        if not warm.ready:
            warm.close()
            warm = None
    try:
        for mutant, tests in plans:
            result = run_warm(warm, session, ref, mutant, tests) if warm is not None \
                else run_fresh(session, ref, mutant, tests)
            if result.status is MutantStatus.SURVIVED and warm is not None and session.data.differential:
                result = differential(warm, session, ref, mutant, tests, result)
            emit(ResultBatch((result,)))
    finally:
        if warm is not None:
            warm.close()


def differential(warm: WarmSession, session: Session, ref: Reference, mutant: Mutant, tests: list[str],
                 result: MutantResult) -> MutantResult:
    """The survivor's tests run again on the gold patch, each call to the mutated function with
    plain-data arguments made on the mutant too (pytest_plugin._diff_child): the first call on
    which they differ is the witness. The call came from the instance's own tests, so it lies in
    the tested domain: the survivor is a confirmed wrong patch."""
    if warm.dead:
        return result
    limit = 2 * budget(session, ref, tests, fresh=False)  # every call is made twice
    answer = warm.run(mutant, tests, limit, diff=True)
    found = (answer or {}).get("witness")
    if not found:
        return result
    witness = Witness(found["input"], found["expected"], found["actual"])
    return dataclasses.replace(result, witness=witness, suggested_test=found.get("test"),
                               inputs_tried=int((answer or {}).get("calls", 0)))
