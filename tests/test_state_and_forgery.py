"""State that crosses mutants and forged verdicts: the fingerprint, the survivor re-run in a
fresh child, and the re-check of claimed kills (issue 10, parts 4 and 5)."""

from __future__ import annotations

import dataclasses
import os
import signal
import time

import pytest
from test_execute import SETTINGS as FAST
from test_execute import make_mutant, make_task

from testaudit.records import MutantStatus, ResultBatch, TaskJob
from testaudit.run import job
from testaudit.run.job import run_job
from testaudit.run.pool import SerialExecutor

# No mutant here loops: a roomy budget, so that a loaded machine cannot turn a survivor into a
# timeout (seen with 0.2 s while other audits ran beside the suite).
SETTINGS = dataclasses.replace(FAST, timeout_constant_s=1.0)


@pytest.fixture(autouse=True)
def _no_hang():
    """A hang fails the test (SIGALRM) instead of the CI run."""
    def expired(signum, frame):
        raise TimeoutError("the test hung")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(120)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _in_child(damage: str) -> bool:
    """In a forked child: take a fingerprint, run `damage`, and say whether it noticed."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 3
        try:
            import math

            from testaudit.sandbox.fingerprint import Fingerprint, clear_status
            fingerprint = Fingerprint([math])
            exec(damage, {})
            clear_status()
            code = 1 if fingerprint.damaged() else 0
        finally:
            os._exit(code)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            assert code in (0, 1), f"the child failed ({code}) on: {damage}"
            return code == 1
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise AssertionError(f"the child hung on: {damage}")


DAMAGE = {
    "sys.settrace": "import sys; sys.settrace(lambda *a: None)",
    "sys.setprofile": "import sys; sys.setprofile(lambda *a: None)",
    "threading.settrace": "import threading; threading.settrace(lambda *a: None)",
    "threading.setprofile": "import threading; threading.setprofile(lambda *a: None)",
    "ITIMER_REAL": "import signal; signal.signal(signal.SIGALRM, signal.SIG_IGN); "
                   "signal.setitimer(signal.ITIMER_REAL, 100)",
    "ITIMER_VIRTUAL": "import signal; signal.setitimer(signal.ITIMER_VIRTUAL, 100)",
    "ITIMER_PROF timer": "import signal; signal.setitimer(signal.ITIMER_PROF, 100)",
    "a signal handler": "import signal; signal.signal(signal.SIGUSR1, lambda *a: None)",
    "an ignored signal": "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN)",
    "a blocked signal": "import signal; signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGPROF])",
    "gc.disable": "import gc; gc.disable()",
    "gc.set_threshold": "import gc; gc.set_threshold(1, 1, 1)",
    "gc.callbacks": "import gc; gc.callbacks.append(lambda *a: None)",
    "decimal precision": "import decimal; decimal.getcontext().prec = 3",
    "decimal rounding": "import decimal; decimal.getcontext().rounding = decimal.ROUND_DOWN",
    "decimal traps": "import decimal; decimal.getcontext().traps[decimal.Inexact] = True",
    "decimal context": "import decimal; decimal.setcontext(decimal.Context())",
    "decimal default": "import decimal; decimal.DefaultContext.prec = 3",
    "a replaced module": "import sys, types; sys.modules['json'] = types.ModuleType('json')",
    "a fake new module": "import sys, types; sys.modules['numpy_fake'] = types.ModuleType('numpy_fake')",
    "a removed module": "import sys; del sys.modules['math']",
    "random.random patched": "import random; random.random = lambda: 0.5",
    "random.Random patched": "import random; random.Random.randrange = lambda self, *a: 0",
    "time.process_time": "import time; time.process_time = lambda: 0.0",
    "time.perf_counter": "import time; time.perf_counter = lambda: 0.0",
    "math.pi": "import math; math.pi = 3",
    "re.compile": "import re; re.compile = lambda *a: None",
    "os.getpid": "import os; os.getpid = lambda: 1",
    "builtins.abs": "import builtins; builtins.abs = lambda v: 0",
    "sys.path": "import sys; sys.path.insert(0, '/tmp/fake-modules')",
    "sys.meta_path": "import sys; sys.meta_path.insert(0, object())",
    "an environment variable": "import os; os.environ['TZ'] = 'Asia/Kolkata'",
    "int max str digits": "import sys; sys.set_int_max_str_digits(640)",
    "a thread": "import threading, time; threading.Thread(target=time.sleep, args=(5,), daemon=True).start()",
    "the cwd": "import os; os.chdir('/')",
    "an rlimit": "import resource; resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))",
}

HARMLESS = {
    "nothing": "pass",
    "a genuine new import": "import colorsys, sys; assert 'colorsys' in sys.modules",
    "decimal arithmetic (flags)": "import decimal; decimal.Decimal(1) / 3",
    "random numbers": "import random; [random.random() for _ in range(5)]; random.seed(1)",
    "a regex": "import re; re.match('a+b', 'aab')",
    "a timer that is stopped": "import signal; signal.setitimer(signal.ITIMER_PROF, 10); "
                               "signal.setitimer(signal.ITIMER_PROF, 0)",
    # The parent moves the child's CPU limit at every frame it reads (the backstop): a slow
    # mutant sees it change, and must not make every later mutant need a fresh child.
    "the CPU limit the parent moves": "import resource; hard = resource.getrlimit(resource.RLIMIT_CPU)[1]; "
                                      "resource.setrlimit(resource.RLIMIT_CPU, (12345, hard))",
}


@pytest.mark.parametrize("name", list(DAMAGE))
def test_the_fingerprint_notices_state_a_mutant_leaves_behind(name: str) -> None:
    assert _in_child(DAMAGE[name]), f"not noticed: {name}"


@pytest.mark.parametrize("name", list(HARMLESS))
def test_the_fingerprint_ignores_what_is_not_damage(name: str) -> None:
    assert not _in_child(HARMLESS[name]), f"noticed, but harmless: {name}"


def _run(replacements: list[str], task=None):
    task = task or make_task()
    mutants = tuple(make_mutant(task, r) for r in replacements)
    events = list(SerialExecutor(SETTINGS, run_job).run([TaskJob(task, mutants)]))
    batches = [r for e in events if isinstance(e, ResultBatch) for r in e.results]
    final = {r.mutant_id: r for r in batches}
    return [final[m.id] for m in mutants]


# Damage the fingerprint cannot see (the suite registry's contents): every later mutant passes.
UNSEEN = ("(__import__('sys').modules['testaudit.suites'].KINDS.__setitem__("
          "__import__('testaudit.records', fromlist=['SuiteKind']).SuiteKind.CHECK, "
          "type('S', (), {'run': lambda *a: None, 'has_entry_function': False, 'namespace': lambda *a: {}, "
          "'harness': __import__('testaudit.suites.base', fromlist=['HUMAN_EVAL']).HUMAN_EVAL})()), "
          "x + 1)[1]")


def test_a_survivor_after_unseen_damage_is_re_run_in_a_fresh_child() -> None:
    results = _run(["x + 1 + 0", UNSEEN, "x + 2", "x - 1", "x * 1 + 1"])
    assert [r.status for r in results] == [
        MutantStatus.SURVIVED, MutantStatus.SURVIVED, MutantStatus.KILLED, MutantStatus.KILLED,
        MutantStatus.SURVIVED,
    ]
    for killed in results[2:4]:
        assert killed.detail.startswith("assertion failed at test line 2")
        assert "other mutants of the task had run before it" in killed.detail
    assert results[4].detail is None


# A tracer that jumps from the first assert of check() to its last line: no assert runs.
TRACER = """
import sys
def local(frame, event, arg):
    if event == "line" and frame.f_lineno == frame.f_code.co_firstlineno + 1:
        frame.f_lineno = frame.f_code.co_firstlineno + 3
    return local
sys.settrace(lambda frame, event, arg: local if frame.f_code.co_name == "check" else None)
"""


def test_a_tracer_that_skips_the_asserts_does_not_reach_later_mutants() -> None:
    from test_execute import TEST
    task = make_task(test=TEST + "    return\n")
    results = _run([f"(exec({TRACER!r}, {{}}), x + 1)[1]", "x + 2", "x - 1"], task)
    assert [r.status for r in results] == [MutantStatus.SURVIVED, MutantStatus.KILLED, MutantStatus.KILLED]
    assert all("other mutants" not in r.detail for r in results[1:]), "the fingerprint missed it"


# Finds the frame pipe as any code in the child can (/proc/self/fd), and writes on it what
# sandbox.child.send_frame writes: "killed" for itself and every later mutant, then exits.
FORGER = """
import os, pickle, struct, sys, time
from testaudit.records import MutantResult, MutantStatus
frame = sys._getframe()
while frame.f_code.co_name != "_child_body":
    frame = frame.f_back
plan, me = frame.f_locals["plan"], frame.f_locals["index"]
pipes = []
for name in os.listdir("/proc/self/fd"):
    try:
        if os.readlink("/proc/self/fd/" + name).startswith("pipe:"):
            pipes.append(int(name))
    except OSError:
        pass
for i in range(me, len(plan.mutants)):
    m = plan.mutants[i]
    verdict = MutantResult(m.id, m.task_id, MutantStatus.KILLED, "forged")
    data = pickle.dumps((i, verdict, False), protocol=pickle.HIGHEST_PROTOCOL)
    for fd in pipes:
        os.write(fd, struct.pack("!I", len(data)) + data)
os._exit(0)
"""


def test_forged_kills_for_later_mutants_are_found_and_the_task_re_run() -> None:
    forge = f"(exec({FORGER!r}, {{}}), x + 1)[1]"
    results = _run(["x + 2", forge, "x + 1 + 0", "x - 1", "abs(x) + 1", "x + 3", "x * 1 + 1"])
    assert [r.status for r in results] == [
        MutantStatus.KILLED, MutantStatus.KILLED, MutantStatus.SURVIVED, MutantStatus.KILLED,
        MutantStatus.KILLED, MutantStatus.KILLED, MutantStatus.SURVIVED], [r.detail for r in results]
    # The forger claims its own kill even alone (its own code decides its own verdict), and
    # exits during the suite anyway. The others' verdicts are their own.
    assert all("forged" not in (r.detail or "").split(" (")[0] for r in results[2:])
    assert results[3].detail.startswith("assertion failed at test line 2")
    assert "re-run alone in a fresh sandbox" in results[3].detail
    assert "was claimed killed but is survived when it runs alone" in results[3].detail


# Patches the child's own send_frame (a module the fingerprint does not watch) so that every
# survivor but the task's last is claimed killed, and the child goes on as if nothing happened.
SUBSET_FORGER = """
import sys
from testaudit.records import MutantResult, MutantStatus
frame = sys._getframe()
while frame.f_code.co_name != "_child_body":
    frame = frame.f_back
last = len(frame.f_locals["plan"].mutants) - 1
child = sys.modules["testaudit.sandbox.child"]
real = child.send_frame
def forged(fd, obj):
    if isinstance(obj, tuple) and len(obj) == 3 and obj[0] != last \\
            and obj[1].status is MutantStatus.SURVIVED:
        obj = (obj[0], MutantResult(obj[1].mutant_id, obj[1].task_id, MutantStatus.KILLED, "forged"), False)
    real(fd, obj)
child.send_frame = forged
"""


def test_forged_kills_in_the_middle_are_caught_by_the_keyed_sample(monkeypatch) -> None:
    monkeypatch.setattr(job, "SAMPLED_KILLS", 100)  # sample every claimed kill: deterministic
    forge = f"(exec({SUBSET_FORGER!r}, {{}}), x + 1)[1]"
    results = _run(["x + 2", forge, "x + 1 + 0", "x - 1", "x * 1 + 1", "x + True"])
    # The forger's own verdict is its own code's to decide (it claims a kill even alone): what
    # must hold is that it decides no other mutant's.
    assert [r.status for r in results[2:]] == [
        MutantStatus.SURVIVED, MutantStatus.KILLED, MutantStatus.SURVIVED, MutantStatus.SURVIVED,
    ], [r.detail for r in results]
    assert "forged verdict" in results[3].detail


def test_a_frame_for_another_mutant_makes_the_task_re_run_alone() -> None:
    swap = FORGER.replace("m = plan.mutants[i]", "m = plan.mutants[0]")
    forge = f"(exec({swap!r}, {{}}), x + 1)[1]"
    results = _run(["x + 2", forge, "x + 1 + 0"])
    assert results[2].status is MutantStatus.SURVIVED
    assert "sandbox child sent a verdict for another mutant" in results[0].detail


# Writes on the frame pipe a pickle that, unpickled as it is, would run a command in the worker
# that reads it (the worker is this test process: SerialExecutor forks from it).
PICKLE_BOMB = """
import os, pickle, struct
class Bomb:
    def __reduce__(self):
        return (os.system, ("touch " + MARKER,))
data = pickle.dumps(Bomb(), protocol=pickle.HIGHEST_PROTOCOL)
for name in os.listdir("/proc/self/fd"):
    try:
        if os.readlink("/proc/self/fd/" + name).startswith("pipe:"):
            os.write(int(name), struct.pack("!I", len(data)) + data)
    except OSError:
        pass
"""


def test_a_frame_that_names_a_function_is_garbage_and_never_runs(tmp_path) -> None:
    marker = tmp_path / "the-worker-ran-task-code"
    bomb = PICKLE_BOMB.replace("MARKER", repr(str(marker)))
    results = _run(["x + 2", f"(exec({bomb!r}, {{}}), x + 1)[1]", "x - 1"])
    assert not marker.exists(), "a pickle from the child ran a command in the worker"
    assert results[1].status is MutantStatus.ERROR
    assert results[1].detail == "sandbox protocol error: garbage on the frame pipe"
    assert results[0].status is MutantStatus.KILLED and results[2].status is MutantStatus.KILLED


def test_frames_name_only_the_records_children_send() -> None:
    import pickle

    from testaudit.records import MutantResult
    from testaudit.sandbox.child import load_frame

    verdict = MutantResult("m", "t", MutantStatus.KILLED, "reason")
    assert load_frame(pickle.dumps((0, verdict, False), protocol=5)) == (0, verdict, False)
    for evil in (os.system, eval, print):
        with pytest.raises(pickle.UnpicklingError):
            load_frame(pickle.dumps(evil, protocol=5))


def test_the_fingerprint_reads_dict_version_tags_here() -> None:
    """On CPython 3.11-3.13 the fast path (dict version tags) is the one that runs."""
    import sys

    from testaudit.sandbox import fingerprint
    if sys.implementation.name == "cpython" and (3, 11) <= sys.version_info[:2] <= (3, 13):
        assert fingerprint._TAGS
        assert fingerprint.Fingerprint([]).dicts is not None


def test_a_value_put_back_is_not_damage_and_later_damage_is_still_seen() -> None:
    """A write moves a dict's tag; the values are then compared one by one, and a patch that
    was undone is not damage. The next patch is seen all the same (in a module and in a class)."""
    import types

    from testaudit.sandbox.fingerprint import Fingerprint
    scratch = types.ModuleType("testaudit_scratch")
    exec("class Box:\n    size = 1\nvalue = 1.5\n", vars(scratch))
    fingerprint = Fingerprint([scratch])
    assert not fingerprint.damaged()
    original = scratch.value
    scratch.value = 2.5
    scratch.value = original
    scratch.Box.size = 2
    scratch.Box.size = 1
    assert not fingerprint.damaged(), "a value put back is not damage"
    scratch.value = 3.5
    assert fingerprint.damaged(), "a patched module value"
    scratch.value = original
    assert not fingerprint.damaged()
    scratch.Box.size = 3
    assert fingerprint.damaged(), "a patched class attribute"
    scratch.Box.size = 1
    scratch.extra = 1
    assert fingerprint.damaged(), "a new module value"


def test_what_the_worker_primed_is_reused_only_while_unwritten() -> None:
    """prime() in the worker; a child whose core module was written after it must baseline
    on what is there now, and still see the next patch (also of a primed class)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 3
        try:
            import math
            import random

            from testaudit.sandbox import fingerprint
            fingerprint.prime()
            math.tau = 6  # after prime: the primed identities of math are stale
            first = fingerprint.Fingerprint([])
            clean = not first.damaged()
            math.tau = 7
            seen_module = first.damaged()
            second = fingerprint.Fingerprint([])
            random.Random.getrandbits = lambda self, k: 0
            seen_class = second.damaged()
            code = 0 if clean and seen_module and seen_class else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
