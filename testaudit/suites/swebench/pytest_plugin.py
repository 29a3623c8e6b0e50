"""testaudit's pytest plugin, loaded (`-p testaudit_swe_plugin`) into the instance's own pytest.

It runs in the instance's interpreter (a venv without testaudit), so it imports only the standard
library, pytest and coverage. The run stage copies it into a private folder under that name (the
folder of this file holds modules named like the repositories' own: env, patch...). Its
configuration is a JSON file named by $TESTAUDIT_SWE:

- mode "run": run the selected tests (ids in `tests`), record each one's outcome and time, and,
  with `coverage_files`, which lines of those files each test executes (coverage.py, one context
  per test); with `stop_first`, stop at the first failing test. Writes `out` (JSON).
- mode "serve": collect the selected tests once, then read one mutant per line from fd `fd_in`
  and answer on fd `fd_out`: fork a child that puts the mutant's code object into the live
  function (`func.__code__ = ...`: every `from m import f` binding sees it), runs the mutant's
  tests in the given order, stopping at the first failure, and reports; a mutant whose change is
  not inside a live function (module or class level, a file not imported) is answered "fallback":
  the caller runs it in a fresh pytest.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import select
import signal
import sys
import tempfile
import time
import traceback
import types
from dataclasses import dataclass

import pytest

# Without $TESTAUDIT_SWE (imported by testaudit's own tests, for swap_plan) the plugin does nothing.
CONFIG = json.loads(open(os.environ["TESTAUDIT_SWE"], encoding="utf-8").read()) \
    if "TESTAUDIT_SWE" in os.environ else {"mode": "none"}
WANTED = list(CONFIG.get("tests", []))
# SWE-bench cuts some parametrized ids at their first space ("test_x[select"): a prefix then.
_PREFIXES = tuple(t for t in WANTED if "[" in t and not t.endswith("]"))
_EXACT = set(WANTED)


def _wanted(nodeid: str) -> bool:
    return nodeid in _EXACT or (bool(_PREFIXES) and nodeid.startswith(_PREFIXES))


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Recorder:
    """Outcomes and times of the tests run, by node id."""

    def __init__(self) -> None:
        self.tests: dict[str, dict] = {}
        self.first_failure: str | None = None

    def add(self, report: pytest.TestReport) -> None:
        entry = self.tests.setdefault(report.nodeid, {"outcome": "passed", "seconds": 0.0, "message": None})
        entry["seconds"] += getattr(report, "duration", 0.0)
        if report.failed or (report.when == "call" and report.skipped and hasattr(report, "wasxfail")):
            if entry["outcome"] != "failed":
                entry["outcome"] = "failed"
                entry["message"] = _message(report)
            if self.first_failure is None:
                self.first_failure = report.nodeid
        elif report.skipped and entry["outcome"] == "passed":
            entry["outcome"] = "skipped"


def _message(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return _short(crash.message)
    return _short(str(report.longrepr).strip().splitlines()[-1] if report.longrepr else report.when)


RECORDER = Recorder()
COVERAGE = None


def pytest_configure(config: pytest.Config) -> None:
    global COVERAGE
    if CONFIG["mode"] == "run" and CONFIG.get("coverage_files"):
        import coverage

        COVERAGE = coverage.Coverage(data_file=None, include=CONFIG["coverage_files"], branch=False,
                                     config_file=False)
        COVERAGE.start()


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    kept = [item for item in items if _wanted(item.nodeid)]
    order = {t: i for i, t in enumerate(WANTED)}
    if CONFIG.get("keep_order"):
        kept.sort(key=lambda item: order.get(item.nodeid, len(order)))
    config.hook.pytest_deselected(items=[i for i in items if not _wanted(i.nodeid)])
    items[:] = kept


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    if COVERAGE is not None:
        COVERAGE.switch_context(item.nodeid)
    yield
    if CONFIG.get("stop_first") and RECORDER.first_failure is not None:
        item.session.shouldstop = "testaudit: first failure"


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    RECORDER.add(report)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        RECORDER.tests.setdefault(f"<collect {report.nodeid}>", {
            "outcome": "failed", "seconds": 0.0, "message": _short(str(report.longrepr))[-300:]})
        if RECORDER.first_failure is None:
            RECORDER.first_failure = f"<collect {report.nodeid}>"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if CONFIG["mode"] != "run":
        return
    lines: dict[str, dict[int, list[str]]] = {}
    if COVERAGE is not None:
        COVERAGE.stop()
        data = COVERAGE.get_data()
        for path in data.measured_files():
            per_line = data.contexts_by_lineno(path)
            lines[os.path.realpath(path)] = {n: sorted(c for c in ctx if c) for n, ctx in per_line.items()}
    result = {"tests": RECORDER.tests, "lines": lines, "first_failure": RECORDER.first_failure,
              "exitstatus": int(exitstatus)}
    with open(CONFIG["out"], "w", encoding="utf-8") as handle:
        json.dump(result, handle)


# --- serve: the warm session ------------------------------------------------------------------


def _index(module: types.CodeType) -> dict[str, tuple[types.CodeType, str | None]]:
    """Every code object under a module's, keyed "qualname#n" (the n-th of that qualname, in
    order: a qualname names its enclosing functions, so a key never moves to another function),
    with its parent's key."""
    out: dict[str, tuple[types.CodeType, str | None]] = {}
    seen: dict[str, int] = {}

    def walk(code: types.CodeType, parent: str | None) -> None:
        n = seen.get(code.co_qualname, 0)
        seen[code.co_qualname] = n + 1
        key = f"{code.co_qualname}#{n}"
        out[key] = (code, parent)
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                walk(const, key)

    walk(module, None)
    return out


def _shallow(code: types.CodeType) -> tuple:
    consts = tuple(("<code>", c.co_qualname) if isinstance(c, types.CodeType) else (type(c).__name__, repr(c))
                   for c in code.co_consts)
    return (code.co_code, code.co_names, code.co_varnames, code.co_freevars, code.co_cellvars,
            code.co_flags, consts)


def _live_functions(paths: set[str]) -> dict[tuple[str, str, int], list[types.FunctionType]]:
    """The function objects of the patched files alive in this process, by (file, qualname, line)."""
    found: dict[tuple[str, str, int], list[types.FunctionType]] = {}
    for obj in gc.get_objects():
        if type(obj) is types.FunctionType:
            code = obj.__code__
            path = os.path.realpath(code.co_filename) if code.co_filename in paths or \
                os.path.realpath(code.co_filename) in paths else None
            if path is not None:
                found.setdefault((path, code.co_qualname, code.co_firstlineno), []).append(obj)
    return found


def swap_plan(path: str, original: str, mutated: str, live: dict) -> tuple[list, str | None]:
    """[(function objects, new code)] that turn the original file into the mutant, or a reason
    why the mutant must run in a fresh pytest.

    Each code object that differs (or exists on one side only: a `True` condition can make the
    compiler drop a nested lambda) is traced up to the nearest enclosing function that is alive
    in this process; that function gets the mutant's code object for it."""
    try:
        old = _index(compile(original, path, "exec", dont_inherit=True))
        new = _index(compile(mutated, path, "exec", dont_inherit=True))
    except (SyntaxError, ValueError) as exc:
        return [], f"does not compile: {exc}"
    module = next(iter(old))

    def live_key(code: types.CodeType) -> tuple[str, str, int]:
        return (path, code.co_qualname, code.co_firstlineno)

    targets: dict[str, None] = {}
    for key in dict.fromkeys([*old, *new]):
        if key in old and key in new and _shallow(old[key][0]) == _shallow(new[key][0]):
            continue
        tree = old if key in old else new
        climb: str | None = key
        while climb is not None and not (climb in old and climb in new and live_key(old[climb][0]) in live):
            climb = tree[climb][1]
        if climb is None or climb == module:
            return [], "the mutant changes module-level or class-level code"
        targets[climb] = None
    plan = []
    for key in targets:
        functions = live[live_key(old[key][0])]
        code = new[key][0]
        if any(len(f.__code__.co_freevars) != len(code.co_freevars) for f in functions):
            return [], "the mutant changes a closure's free variables"
        plan.append((functions, code))
    if not plan:
        return [], "no code object changed"
    return plan, None


def _child(items: list, plan: list, memory: int, workdir: str, result_fd: int) -> None:
    """In the forked child: contain, swap, run the tests in order, stop at the first failure."""
    status, test, message = "survived", None, None
    try:
        os.setsid()
        if memory:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.environ["TMPDIR"] = workdir
        tempfile.tempdir = workdir
        for functions, code in plan:
            for function in functions:
                function.__code__ = code
        RECORDER.tests, RECORDER.first_failure = {}, None  # the child's own record only
        for i, item in enumerate(items):
            following = items[i + 1] if i + 1 < len(items) else None
            item.ihook.pytest_runtest_protocol(item=item, nextitem=following)
            if RECORDER.first_failure is not None:
                status, test = "killed", RECORDER.first_failure
                message = RECORDER.tests.get(test, {}).get("message")
                break
    except BaseException as exc:  # a mutant that breaks pytest itself is still a failing suite
        status, message = "killed", f"{type(exc).__name__}: {_short(str(exc))}"
        if not isinstance(exc, Exception):
            message += " " + _short(traceback.format_exc(), 200)
    os.write(result_fd, json.dumps({"status": status, "test": test, "message": message}).encode() + b"\n")
    os._exit(0)


def _run_one(items: list, plan: list, command: dict) -> dict:
    read_end, write_end = os.pipe()
    workdir = tempfile.mkdtemp(prefix="testaudit-mutant-")
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        body = _diff_child if command.get("diff") else _child
        body(items, plan, int(command.get("memory", 0)), workdir, write_end)
    os.close(write_end)
    deadline = started + float(command["budget"])
    chunks = b""
    timed_out = False
    while True:
        left = deadline - time.perf_counter()
        if left <= 0:
            timed_out = True
            break
        ready, _, _ = select.select([read_end], [], [], left)
        if not ready:
            continue
        chunk = os.read(read_end, 65536)
        if not chunk:
            break
        chunks += chunk
    for target in (-pid, pid):  # the child leads its own group: nothing of it is left running
        try:
            os.kill(target, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    _, wait_status = os.waitpid(pid, 0)
    os.close(read_end)
    _remove(workdir)
    seconds = time.perf_counter() - started
    if timed_out:
        return {"status": "timeout", "test": None, "message": f"over its {command['budget']:.2f} s budget",
                "seconds": seconds}
    try:
        answer = json.loads(chunks.decode().splitlines()[0])
    except (IndexError, ValueError):
        code = os.waitstatus_to_exitcode(wait_status)
        answer = {"status": "killed", "test": None, "message": f"the test process died (exit {code})"}
    answer["seconds"] = seconds
    return answer


def _remove(folder: str) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


# --- diff: a survivor against the gold patch on the calls the tests make ----------------------

PLAIN_DEPTH = 4
CALLS_LIMIT = 200  # recorded calls compared per survivor


def _plain(value: object, depth: int = 0) -> bool:
    """Plain data: what a witness can show and a suggested test can write back as a literal."""
    if value is None or isinstance(value, bool | int | float | str | bytes):
        return True
    if depth >= PLAIN_DEPTH:
        return False
    if isinstance(value, list | tuple | set | frozenset):
        return type(value) in (list, tuple, set, frozenset) and all(_plain(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return type(value) is dict and all(_plain(k, depth + 1) and _plain(v, depth + 1)
                                           for k, v in value.items())
    return False


def _outcome(function: types.FunctionType, args: tuple, kwargs: dict) -> tuple[str, str, object]:
    """("value", repr, value) or ("raises", "Type: message", exception)."""
    try:
        result = function(*args, **kwargs)
    except Exception as exc:
        return "raises", f"{type(exc).__name__}: {_short(str(exc), 200)}", exc
    return "value", repr(result), result


def _owners(function: types.FunctionType) -> list[tuple[object, str, bool]]:
    """(module or class, attribute name, is a method) under which `function` is reachable."""
    found = []
    for referrer in gc.get_referrers(function):
        if type(referrer) is not dict:
            continue
        names = [k for k, v in referrer.items() if v is function and isinstance(k, str)]
        if not names:
            continue
        for module in list(sys.modules.values()):
            if getattr(module, "__dict__", None) is referrer:
                found += [(module, n, False) for n in names]
        for owner in gc.get_referrers(referrer):
            if isinstance(owner, type) and owner.__dict__.get(names[0]) is function:
                found += [(owner, n, True) for n in names]
    return found


def _call_text(name: str, args: tuple, kwargs: dict, method: bool) -> str:
    shown = ([f"<{type(args[0]).__name__}>"] + [repr(a) for a in args[1:]]) if method \
        else [repr(a) for a in args]
    shown += [f"{k}={v!r}" for k, v in kwargs.items()]
    return _short(f"{name}({', '.join(shown)})", 1000)


def _suggested(owner: object, name: str, args: tuple, kwargs: dict, expected: tuple) -> str | None:
    """A pytest-style test of a module-level function's call, in the repository's own terms."""
    if not isinstance(owner, types.ModuleType):
        return None
    call = f"{name}({', '.join([repr(a) for a in args] + [f'{k}={v!r}' for k, v in kwargs.items()])})"
    head = f"def test_{name}_on_a_recorded_call():\n    from {owner.__name__} import {name}\n\n"
    if expected[0] == "raises":
        exc = type(expected[2])
        if exc.__module__ != "builtins":
            return None
        return head + f"    with pytest.raises({exc.__name__}):\n        {call}\n"
    try:
        if eval(repr(expected[2])) != expected[2]:  # noqa: S307 - the literal must round-trip
            return None
    except Exception:
        return None
    return head + f"    assert {call} == {expected[1]}\n"


def _check_test(text: str, target: _Target) -> bool:
    """The suggested test passes on the gold patch and fails on the mutant (run here, in the
    child, with the real function put back under its name while it runs)."""
    standing = getattr(target.owner, target.name)
    setattr(target.owner, target.name, target.function)
    results = []
    try:
        for code in (target.reference_code, target.mutant_code):
            target.function.__code__ = code
            namespace: dict = {"pytest": pytest}
            try:
                exec(text, namespace)  # noqa: S102 - our own test text, on plain-data literals
                namespace[f"test_{target.name}_on_a_recorded_call"]()
                results.append(True)
            except Exception:
                results.append(False)
    finally:
        target.function.__code__ = target.reference_code
        setattr(target.owner, target.name, standing)
    return results == [True, False]


@dataclass
class _Target:
    """One mutated function as reachable under one name, and what the diff found so far."""

    function: types.FunctionType
    mutant: types.FunctionType
    owner: object
    name: str
    method: bool
    reference_code: types.CodeType
    mutant_code: types.CodeType


@dataclass
class _DiffState:
    found: dict | None = None
    calls: int = 0


def _compare(state: _DiffState, target: _Target, args: tuple, kwargs: dict) -> tuple | None:
    """Run one recorded call on the gold patch and on the mutant; the gold's outcome, or None
    when the call is not one to compare (not plain data, or cannot be copied)."""
    import copy

    shown = args[1:] if target.method else args
    if state.found is not None or state.calls >= CALLS_LIMIT or not (_plain(shown) and _plain(kwargs)):
        return None
    try:
        copies = copy.deepcopy((args, kwargs))
    except Exception:
        return None
    state.calls += 1
    expected = _outcome(target.function, args, kwargs)
    actual = _outcome(target.mutant, *copies)
    comparable = all(kind == "raises" or _plain(value) for kind, _, value in (expected, actual))
    if comparable and expected[:2] != actual[:2]:
        test = _suggested(target.owner, target.name, args, kwargs, expected)
        if test is not None and not _check_test(test, target):
            test = None
        state.found = {"input": _call_text(target.function.__qualname__, args, kwargs, target.method),
                       "expected": expected[1], "actual": actual[1], "test": test}
    return expected


def _recorder(state: _DiffState, target: _Target) -> types.FunctionType:
    """A function (so that a class binds `self` to it) that stands in for the mutated one."""

    def recorder(*args: object, **kwargs: object) -> object:
        expected = _compare(state, target, args, kwargs)
        if expected is None:
            return target.function(*args, **kwargs)
        if expected[0] == "raises":
            raise expected[2]
        return expected[2]

    return recorder


def _diff_child(items: list, plan: list, memory: int, workdir: str, result_fd: int) -> None:
    """In a forked child: the tests run on the gold patch, and every call to a mutated function
    whose arguments are plain data is also made on the mutant (on deep copies); the first call
    on which the two differ is the witness."""
    state = _DiffState()
    try:
        os.setsid()
        if memory:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.environ["TMPDIR"] = workdir
        tempfile.tempdir = workdir
        for functions, code in plan:
            for function in functions:
                mutant = types.FunctionType(code, function.__globals__, function.__name__,
                                            function.__defaults__, function.__closure__)
                mutant.__kwdefaults__ = function.__kwdefaults__
                for owner, name, method in _owners(function):
                    target = _Target(function, mutant, owner, name, method, function.__code__, code)
                    setattr(owner, name, _recorder(state, target))
        RECORDER.tests, RECORDER.first_failure = {}, None
        for i, item in enumerate(items):
            following = items[i + 1] if i + 1 < len(items) else None
            item.ihook.pytest_runtest_protocol(item=item, nextitem=following)
            if state.found is not None:
                break
        answer = {"witness": state.found, "calls": state.calls}
    except BaseException as exc:
        answer = {"witness": None, "message": f"{type(exc).__name__}: {_short(str(exc))}"}
    os.write(result_fd, json.dumps(answer).encode() + b"\n")
    os._exit(0)


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> bool | None:
    if CONFIG["mode"] != "serve":
        return None
    by_id = {item.nodeid: item for item in session.items}
    paths = {os.path.realpath(p) for p in CONFIG.get("files", [])}
    live = _live_functions(paths)
    originals = {p: open(p, encoding="utf-8").read() for p in paths}
    reader = os.fdopen(CONFIG["fd_in"], "r", encoding="utf-8")
    writer = os.fdopen(CONFIG["fd_out"], "w", encoding="utf-8")
    writer.write(json.dumps({"ready": sorted(by_id)}) + "\n")
    writer.flush()
    for line in reader:
        command = json.loads(line)
        if command.get("quit"):
            break
        path = os.path.realpath(command["file"])
        plan, why = swap_plan(path, originals.get(path, ""), command["text"], live) if path in originals \
            else ([], "not a patched file")
        missing = [t for t in command["tests"] if t not in by_id]
        if why is None and missing:
            why = f"test not collected: {missing[0]}"
        if why is not None:
            answer = {"status": "fallback", "message": why, "seconds": 0.0}
        else:
            answer = _run_one([by_id[t] for t in command["tests"]], plan, command)
        answer["id"] = command["id"]
        writer.write(json.dumps(answer) + "\n")
        writer.flush()
    return True
