"""Containment (issue 10, parts 1-3): task code can neither stop the audit nor leave processes.

Every case runs in a subprocess of its own session under a wall-clock timeout: a hang fails the
test (subprocess.TimeoutExpired) instead of the CI run, and a regression that signals a whole
process group cannot take pytest down with it.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from conftest import REPO, isolation_modes

HERE = Path(__file__).resolve().parent
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([os.environ.get("CONTAIN_CODE", str(REPO)), str(HERE)])}

# The expressions stand where `x + 1` stood in `inc` (tests/test_execute.py's task).
EXIT_NOOP = "(setattr(__import__('os'), '_exit', lambda *a: None), x + 1)[1]"
KILL_NOOP = "(setattr(__import__('os'), 'kill', lambda *a: None), x + 1)[1]"
EXIT_CALL = "__import__('os')._exit(0)"
KILL_SELF = "__import__('os').kill(__import__('os').getpid(), 9)"
GARBAGE = ('exec("import os\\nfor fd in range(3, 21):\\n    try: os.write(fd, b\'\\\\xff\' * 64)\\n'
           '    except OSError: pass\\nwhile True: pass") or x + 1')
# A well-formed length, then bytes that do not unpickle: read as end-of-file before, after which
# the worker waited for ever on a child that still looped.
UNPICKLABLE = GARBAGE.replace("b\'\\\\xff\' * 64", "b\'\\\\x00\\\\x00\\\\x00\\\\x08\' + b\'\\\\xff\' * 8")
STOP_PARENT = "(__import__('os').kill(__import__('os').getppid(), __import__('signal').SIGSTOP), x + 1)[1]"
TERM_PARENT = "(__import__('os').kill(__import__('os').getppid(), 15), x + 1)[1]"
INT_PARENT = "(__import__('os').kill(__import__('os').getppid(), 2), x + 1)[1]"
INT_PARENT_GROUP = ("(__import__('os').killpg(__import__('os').getpgid(__import__('os').getppid()), 2),"
                    " x + 1)[1]")
TERM_PARENT_GROUP = ("(__import__('os').killpg(__import__('os').getpgid(__import__('os').getppid()), 15),"
                     " x + 1)[1]")
TERM_OWN_GROUP = "(__import__('os').killpg(0, 15), x + 1)[1]"
INT_OWN_GROUP = "(__import__('os').killpg(0, 2), x + 1)[1]"
KILLED, SURVIVED = "x + 2", "x + 1 + 0"


def _pool_main() -> None:  # pragma: no cover - runs in the subprocess
    """Run one task's mutants (stdin: {"replacements": [...], "settings": {...}}) on a pool of
    two workers; print each mutant's [status, detail] as JSON."""
    from test_execute import make_mutant, make_task

    from testaudit.config import ExecSettings
    from testaudit.records import ResultBatch, TaskJob
    from testaudit.run.job import run_job
    from testaudit.run.pool import PoolExecutor

    spec = json.load(sys.stdin)
    task = make_task()
    mutants = tuple(make_mutant(task, r) for r in spec["replacements"])
    settings = ExecSettings(**spec["settings"])
    with PoolExecutor(settings, 2, run_job) as pool:
        events = list(pool.run([TaskJob(task, mutants)]))
    results = {r.mutant_id: r for e in events if isinstance(e, ResultBatch) for r in e.results}
    print(json.dumps([[results[m.id].status.value, results[m.id].detail] for m in mutants]))


def run_script(script: str, timeout: float = 60, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `script` in a fresh interpreter, in a session of its own (signals it sends to its
    group stay there)."""
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=ENV if env is None else env, timeout=timeout, start_new_session=True)


def run_pool(replacements: list[str], timeout: float = 60, **settings) -> list[tuple[str, str]]:
    settings = {"timeout_constant_s": 0.2, "memory_cap_bytes": 512 << 20, **settings}
    proc = subprocess.run(
        [sys.executable, "-c", "from test_containment import _pool_main; _pool_main()"],
        input=json.dumps({"replacements": replacements, "settings": settings}),
        capture_output=True, text=True, env=ENV, timeout=timeout, start_new_session=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [tuple(r) for r in json.loads(proc.stdout.strip().splitlines()[-1])]


def test_a_mutant_that_disables_os_exit_or_os_kill_cannot_return_into_the_worker() -> None:
    results = run_pool([EXIT_NOOP, KILLED, EXIT_CALL, SURVIVED, KILL_NOOP, KILLED, KILL_SELF, SURVIVED])
    statuses = [status for status, _ in results]
    # The saboteurs themselves return x + 1: survivors. What follows them in the same child
    # is judged as ever (os._exit(0) or os.kill(self) now no-ops: inc returns None, killed).
    assert statuses == ["survived", "killed", "killed", "survived",
                        "survived", "killed", "killed", "survived"], results


def test_a_child_that_returns_from_its_body_with_os_exit_disabled_still_exits(tmp_path: Path) -> None:
    script = (
        "import os\n"
        "from testaudit.config import ExecSettings\n"
        "from testaudit.sandbox.child import Frames, fork\n"
        "def body(send):\n"
        "    os._exit = lambda *a: None\n"
        "    os.kill = lambda *a: None\n"
        "    send('hi')\n"
        f"child = fork(body, ExecSettings(), {str(tmp_path)!r})\n"
        "first, end = child.frames.read(10), child.frames.read(10)\n"
        "print(first, 'parent', end is Frames.EOF, os.waitstatus_to_exitcode(child.stop()))\n"
    )
    proc = run_script(script)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines == ["hi parent True 0"], proc.stdout  # one process printed: the child exited, code 0


def test_stop_and_reap_refuse_pids_that_name_process_groups() -> None:
    from testaudit.sandbox.child import Child, Frames

    for pid in (0, -1):
        child = Child(pid, Frames(-1, pid))
        with pytest.raises(ValueError):
            child.stop()
        with pytest.raises(ValueError):
            child.reap()


@pytest.mark.parametrize("garbage", [GARBAGE, UNPICKLABLE], ids=["huge length", "unpicklable"])
def test_garbage_on_every_descriptor_while_looping_forever(garbage: str) -> None:
    assert garbage.startswith("exec(") and (garbage == GARBAGE or "x08" in garbage)
    started = time.monotonic()
    results = run_pool([KILLED, garbage, SURVIVED, KILLED])
    # A frame that claims 4 GiB, or one that does not unpickle: the reader kills the child at
    # once and the mutant is an error (it attacked the harness; its suite judged nothing), not
    # a timeout, and never a wait on a child that still loops.
    assert results[1] == ("error", "sandbox protocol error: garbage on the frame pipe"), results
    assert [status for status, _ in results] == ["killed", "error", "survived", "killed"]
    assert time.monotonic() - started < 30


@pytest.mark.parametrize("isolate", isolation_modes())
def test_a_mutant_that_stops_its_worker_is_an_error_and_the_rest_go_on(isolate: bool) -> None:
    started = time.monotonic()
    results = run_pool([KILLED, STOP_PARENT, SURVIVED, KILLED], worker_deadline_s=3.0, isolate=isolate)
    if isolate:
        # Its parent is its namespace's init, which ignores signals from inside: the worker is
        # out of reach, and the mutant (which returns x + 1) survives.
        assert results[1] == ("survived", None), results
        assert [status for status, _ in results] == ["killed", "survived", "survived", "killed"]
    else:
        assert results[1] == ("error", "the mutant stopped the worker process that ran it"), results
        assert [status for status, _ in results] == ["killed", "error", "survived", "killed"]
    assert time.monotonic() - started < 45


@pytest.mark.parametrize("isolate", isolation_modes())
def test_signals_to_the_parent_and_to_the_own_group_do_not_stop_the_audit(isolate: bool) -> None:
    hostile = [TERM_PARENT, INT_PARENT, INT_PARENT_GROUP, TERM_PARENT_GROUP, INT_OWN_GROUP, TERM_OWN_GROUP]
    results = run_pool([KILLED, *hostile, SURVIVED], isolate=isolate)
    statuses = [status for status, _ in results]
    # The worker ignores SIGTERM and SIGINT; its group is its own. The child's own group is
    # the child alone: SIGINT is ignored there (as it was), SIGTERM kills it (a kill verdict).
    # Isolated, the parent is the namespace's init (it ignores both), and the parent's group
    # as the child sees it is pid 1: killpg(1) means kill(-1), "every process I may signal",
    # and there is none (the init is exempt), so the call raises: the mutant is killed by it.
    expected = ["killed", "survived", "survived", "killed" if isolate else "survived",
                "killed" if isolate else "survived", "survived", "killed", "survived"]
    assert statuses == expected, results
    if isolate:
        assert "ProcessLookupError" in results[3][1] and "ProcessLookupError" in results[4][1]
    assert "SIGTERM" in results[6][1]


# --- processes a task starts ------------------------------------------------------------------

def _spawner(marker: str) -> str:
    """Python statements that start a `sleep`, a double-forked orphan and a setsid daemon, each
    a shell whose command line carries the marker."""
    def shell(tag: str) -> str:
        return f"['sh', '-c', 'sleep 60; : {marker}-{tag}']"
    return (
        "import os, subprocess\n"
        f"subprocess.Popen({shell('popen')})\n"
        "if os.fork() == 0:\n"
        "    if os.fork() == 0:\n"
        f"        os.execv('/bin/sh', {shell('orphan')})\n"
        "    os._exit(0)\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        f"        os.execv('/bin/sh', {shell('daemon')})\n"
        "    os._exit(0)\n"
    )


def _marked(marker: str) -> list[str]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                    text = cmdline.read().decode(errors="replace")
            except OSError:
                continue
            if marker in text:
                found.append(f"{entry}: {text}")
    return found


def _carrying(name: str, in_solution: str, in_test: str) -> list[dict]:
    """Two HumanEval-format tasks: one whose solution execs `in_solution` on every call, one
    whose suite execs `in_test` before its asserts."""
    return [
        {"task_id": f"hostile/{name}_in_solution", "prompt": "def add(a, b):\n    \"\"\"a + b\"\"\"\n",
         "canonical_solution": f"    exec({in_solution!r})\n    return a + b\n",
         "test": "def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(0, 0) == 0\n",
         "entry_point": "add"},
        {"task_id": f"hostile/{name}_in_test", "prompt": "def sub(a, b):\n    \"\"\"a - b\"\"\"\n",
         "canonical_solution": "    return a - b\n",
         "test": (f"def check(candidate):\n    exec({in_test!r})\n"
                  "    assert candidate(3, 2) == 1\n    assert candidate(0, 2) == -2\n"),
         "entry_point": "sub"},
    ]


def _hostile_dataset(path: Path, marker: str, names: tuple[str, ...]) -> Path:
    spawn = _spawner(marker)
    # Each call may fail (isolated, the parent's group as the child sees it is pid 1, and
    # killpg(1) means "every process": none it may signal): the task goes on either way.
    signals = "import os, signal\n" + "".join(
        f"try:\n    {call}\nexcept OSError:\n    pass\n" for call in (
            "os.kill(os.getppid(), signal.SIGTERM)", "os.kill(os.getppid(), signal.SIGINT)",
            "os.killpg(0, signal.SIGINT)", "os.killpg(os.getpgid(os.getppid()), signal.SIGINT)",
            "os.killpg(os.getpgid(os.getppid()), signal.SIGTERM)"))
    # The solution starts processes (every reference and mutant run does), and the suite does.
    tasks = [*_carrying("spawn", spawn, spawn.replace(marker, marker + "t")),
        # The solution signals its parent, its parent's group and its own group on every run.
        {"task_id": "hostile/signals", "prompt": "def mul(a, b):\n    \"\"\"a * b\"\"\"\n",
         "canonical_solution": f"    exec({signals!r})\n    return a * b\n",
         "test": "def check(candidate):\n    assert candidate(2, 3) == 6\n    assert candidate(1, 1) == 1\n",
         "entry_point": "mul"},
    ]
    tasks = [t for t in tasks if t["task_id"] in names]
    path.write_text("".join(json.dumps(t) + "\n" for t in tasks))
    return path


SPAWNERS = ("hostile/spawn_in_solution", "hostile/spawn_in_test")


@pytest.mark.parametrize("names", [SPAWNERS, ("hostile/signals",), (*SPAWNERS, "hostile/signals")],
                         ids=["processes", "signals", "both"])
def test_an_audit_of_hostile_tasks_ends_well_and_leaves_no_process(tmp_path: Path, names) -> None:
    marker = f"ta-mark-{uuid.uuid4().hex[:12]}"
    dataset = _hostile_dataset(tmp_path / "hostile.jsonl", marker, names)
    out = tmp_path / "out"
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "testaudit", "audit", str(dataset), "--workers", "2", "--no-html",
             "--no-cache", "--no-triage", "--out", str(out)],
            capture_output=True, text=True, env=ENV, cwd=tmp_path, timeout=180, start_new_session=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        data = json.loads((out / "results.json").read_text())
        tasks = {t["task_id"]: t for t in data["tasks"]}
        assert set(tasks) == set(names)
        for task in tasks.values():
            assert task["mutants"], task["task_id"]
            statuses = {m["status"] for m in task["mutants"]}
            assert "killed" in statuses and "error" not in statuses, (task["task_id"], statuses)
        time.sleep(0.5)
        assert _marked(marker) == [], "processes a task started outlived the audit"
    finally:
        for line in _marked(marker):  # never leave them to the next test
            os.kill(int(line.split(":")[0]), signal.SIGKILL)


def _stored(out: Path) -> int:
    try:
        with sqlite3.connect(out / "session.sqlite") as conn:
            return conn.execute("SELECT count(*) FROM results").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_sigterm_stops_the_audit_like_ctrl_c_and_resume_finishes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = [sys.executable, "-m", "testaudit", "audit", "humaneval", "--tasks", "HumanEval/3*",
            "--workers", "2", "--no-html", "--no-cache", "--no-triage", "--timeout-constant", "0.2",
            "--out", str(out)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
                            cwd=tmp_path, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while _stored(out) < 20 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert proc.poll() is None, "the audit finished before it could be stopped"
        os.kill(proc.pid, signal.SIGTERM)  # the process alone, as `kill` or a CI runner does
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted: results so far are in the session store" in err and "--resume" in err
    assert "Traceback" not in err
    resumed = subprocess.run([*args, "--resume"], capture_output=True, text=True, env=ENV, cwd=tmp_path,
                             timeout=180, start_new_session=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "resume: kept" in resumed.stdout


def test_ctrl_c_during_a_worker_spawn_is_deferred_not_lost() -> None:
    script = (
        "import os, signal\n"
        "from testaudit.config import ExecSettings\n"
        "from testaudit.run.job import run_job\n"
        "from testaudit.run.pool import PoolExecutor\n"
        "pool = PoolExecutor(ExecSettings(), 1, run_job)\n"
        "real = pool.context.Process\n"
        "def process(*args, **kwargs):\n"
        "    os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while the worker is being spawned\n"
        "    started.append(real(*args, **kwargs))\n"
        "    return started[-1]\n"
        "started = []\n"
        "pool.context.Process = process\n"
        "try:\n"
        "    pool._start()\n"
        "    print('lost')\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted', started[0].is_alive())\n"
        "started[0].kill()\n"
    )
    proc = run_script(script)
    # Held while the spawn ran (the worker did start), delivered right after it.
    assert proc.stdout.split() == ["interrupted", "True"], proc.stdout + proc.stderr


def test_the_cpu_backstop_ends_a_runaway_child_the_parent_stopped_watching(tmp_path: Path) -> None:
    script = (
        "import os, signal\n"
        "from testaudit.config import ExecSettings\n"
        "from testaudit.sandbox.child import Frames, fork\n"
        "def body(send):\n"
        "    send('go')\n"
        "    while True:\n"
        "        pass\n"
        f"child = fork(body, ExecSettings(), {str(tmp_path)!r})\n"
        "assert child.frames.read(10) == 'go'\n"
        "child.frames.backstop = True\n"
        "assert child.frames.read(0.01) is Frames.TIMEOUT  # and the parent looks away\n"
        "status = child.reap()  # the wait status of the process that ran the body\n"
        "print(signal.Signals(os.WTERMSIG(status)).name if os.WIFSIGNALED(status) else status)\n"
    )
    proc = run_script(script, timeout=30)
    assert proc.stdout.strip() == "SIGXCPU", proc.stdout + proc.stderr


def test_the_reference_is_timed_without_a_cpu_limit_armed() -> None:
    # An armed RLIMIT_CPU makes the process clock tick-granular: a 10 us suite would time as 0.
    from test_execute import make_task, run_serial

    _, reference = run_serial(make_task(), ["x + 2"])
    assert reference.passed and reference.suite_seconds > 0


# --- a whole hostile audit: what it leaves behind ---------------------------------------------

def _reach_everything(marker: str, outside: Path) -> str:
    """Statements that try every way out of the sandbox: testaudit's terminal through /proc,
    files at absolute paths and after chdir, the network, and processes."""
    return (
        "import glob, os, socket, sys\n"
        f"marker = {marker!r}\n"
        "print(marker)\n"
        "sys.__stderr__.write(marker)\n"
        "for fd in glob.glob('/proc/[0-9]*/fd/[12]'):\n"
        "    pid = fd.split('/')[2]\n"
        "    try:\n"
        "        cmdline = open(f'/proc/{pid}/cmdline', 'rb').read()\n"
        "        if b'testaudit' in cmdline or b'multiprocess' in cmdline:\n"
        "            with open(fd, 'w') as out:\n"
        "                out.write(marker)\n"
        "    except OSError:\n"
        "        pass\n"
        f"for target in ({str(outside)!r}, '/tmp/' + marker, os.path.expanduser('~/' + marker)):\n"
        "    try:\n"
        "        open(target, 'w').write(marker)\n"
        "    except OSError:\n"
        "        pass\n"
        "try:\n"
        "    os.chdir('/tmp')\n"
        "    open(marker + '.relative', 'w').write(marker)\n"
        "except OSError:\n"
        "    pass\n"
        "try:\n"
        "    socket.create_connection(('1.1.1.1', 53), timeout=0.2).close()\n"
        "    open(marker + '.net', 'w').write('reached')\n"
        "except OSError:\n"
        "    pass\n"
    ) + _spawner(marker)


def test_a_hostile_audit_leaves_nothing_outside_its_out_folder_and_cache(tmp_path: Path) -> None:
    from testaudit.sandbox import isolate

    if not isolate.status().isolated:
        pytest.skip(f"needs sandbox namespaces: {isolate.status().reason}")
    marker = f"ta-mark-{uuid.uuid4().hex[:12]}"
    outside = tmp_path / "outside.txt"
    hostile = _reach_everything(marker, outside)
    tasks = _carrying("everything", hostile, hostile)
    dataset = tmp_path / "hostile.jsonl"
    dataset.write_text("".join(json.dumps(t) + "\n" for t in tasks))
    temp = tmp_path / "tmp"
    temp.mkdir()
    before = set(os.listdir(tmp_path))
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "testaudit", "audit", str(dataset), "--workers", "2",
             "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "out")],
            capture_output=True, text=True, env={**ENV, "TMPDIR": str(temp)}, cwd=tmp_path,
            timeout=240, start_new_session=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        data = json.loads((tmp_path / "out" / "results.json").read_text())
        for task in data["tasks"]:
            statuses = {m["status"] for m in task["mutants"]}
            assert "killed" in statuses and "error" not in statuses, (task["task_id"], statuses)
        # Nothing on the terminal but testaudit's own words; no file where it does not write.
        assert marker not in proc.stdout and marker not in proc.stderr
        assert "note: sandboxes share" not in proc.stderr
        assert set(os.listdir(tmp_path)) == before | {"out", "cache"}
        assert not outside.exists() and not Path("/tmp", marker).exists()
        assert not Path(os.path.expanduser("~"), marker).exists()
        assert os.listdir(temp) == [], "temporary folders outlived the audit"
        for folder in (tmp_path / "out", tmp_path / "cache"):
            leaked = [p for p in folder.rglob("*") if marker in p.name]
            assert leaked == [], leaked
        time.sleep(0.5)
        assert _marked(marker) == [], "processes a task started outlived the audit"
    finally:
        for line in _marked(marker):
            os.kill(int(line.split(":")[0]), signal.SIGKILL)
        for path in (outside, Path("/tmp", marker), Path(os.path.expanduser("~"), marker)):
            path.unlink(missing_ok=True)


def test_scratch_folders_of_dead_owners_are_swept_and_live_ones_kept(tmp_path: Path) -> None:
    from testaudit.sandbox import scratch

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    mine, gone, forged = (tmp_path / f"{scratch.PREFIX}{name}" for name in ("mine", "gone", "forged"))
    for folder in (mine, gone, forged):
        (folder / "work").mkdir(parents=True)
    (mine / scratch.OWNER).write_text(f"{os.getpid()} {scratch._start_time(os.getpid())}\n")
    (gone / scratch.OWNER).write_text(f"{dead.pid} 1\n")
    # Our pid with another start time: a reused pid, not this process.
    (forged / scratch.OWNER).write_text(f"{os.getpid()} 1\n")
    assert scratch.sweep(str(tmp_path)) == 2
    assert mine.exists() and not gone.exists() and not forged.exists()


def test_a_killed_audit_leaves_temporary_folders_only_until_the_next_run(tmp_path: Path) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    out = tmp_path / "out"
    args = [sys.executable, "-m", "testaudit", "audit", "humaneval", "--tasks", "HumanEval/3*",
            "--workers", "2", "--no-html", "--no-cache", "--no-triage", "--out", str(out)]
    env = {**ENV, "TMPDIR": str(temp)}
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                            cwd=tmp_path, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while _stored(out) < 5 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert proc.poll() is None, "the audit finished before it could be killed"
        left = os.listdir(temp)
        os.killpg(proc.pid, signal.SIGKILL)  # testaudit and its workers, with no chance to clean
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert any(name.startswith("testaudit-pool-") for name in left), left
    resumed = subprocess.run([*args, "--resume"], capture_output=True, text=True, env=env, cwd=tmp_path,
                             timeout=180, start_new_session=True)
    assert resumed.returncode == 0, resumed.stderr
    assert os.listdir(temp) == []


def test_an_isolated_child_imports_lazily_from_folders_under_tmp(tmp_path: Path) -> None:
    from testaudit.sandbox import isolate

    if not isolate.status().isolated:
        pytest.skip(f"needs sandbox namespaces: {isolate.status().reason}")
    # A venv or a checkout in /tmp (CI's are): the masked /tmp must not hide what the
    # interpreter imports once a task runs. pytest's tmp_path lies under /tmp.
    assert str(tmp_path).startswith("/tmp/")
    (tmp_path / "lazy_pkg").mkdir()
    (tmp_path / "lazy_pkg" / "__init__.py").write_text("VALUE = 42\n")
    script = (
        "import os\n"
        "from testaudit.config import ExecSettings\n"
        "from testaudit.sandbox.child import fork, frames\n"
        "def body(send):\n"
        "    import lazy_pkg\n"
        "    try:\n"
        "        open(os.path.join(os.path.dirname(lazy_pkg.__file__), 'x'), 'w')\n"
        "        writable = True\n"
        "    except OSError:\n"
        "        writable = False\n"
        "    send((lazy_pkg.VALUE, writable))\n"
        f"print(list(frames(fork(body, ExecSettings(), {str(tmp_path / 'work')!r}), 10, 10)))\n"
    )
    (tmp_path / "work").mkdir()
    env = {**ENV, "PYTHONPATH": os.pathsep.join([ENV["PYTHONPATH"], str(tmp_path)])}
    proc = run_script(script, env=env)
    assert proc.returncode == 0, proc.stderr
    # Imported, and the folder it came from is visible read-only.
    assert proc.stdout.strip() == "[(42, False)]", proc.stdout + proc.stderr


def test_a_runner_gone_before_its_last_frame_is_read_still_has_its_cpu_time_counted(tmp_path: Path) -> None:
    # A runner that burns CPU, sends a frame and exits at once (as a child does after a first
    # try's timeout) is gone from /proc before the frame is parsed. Its CPU time must still be
    # known, or the timeout it claimed looks forged: the init reports it (wait4) with the status.
    script = (
        "import os, time\n"
        "from testaudit.config import ExecSettings\n"
        "from testaudit.sandbox import isolate\n"
        "from testaudit.sandbox.child import fork\n"
        "def body(send):\n"
        "    started = time.process_time()\n"
        "    while time.process_time() - started < 0.3:\n"
        "        pass\n"
        "    send('done')\n"
        f"child = fork(body, ExecSettings(), {str(tmp_path)!r})\n"
        "time.sleep(1.0)  # the runner has ended meanwhile\n"
        "frame = child.frames.read(10)\n"
        "child.reap()\n"
        "print(frame, isolate.status().isolated, round(child.frames.cpu, 2))\n"
    )
    proc = run_script(script)
    assert proc.returncode == 0, proc.stderr
    frame, isolated, cpu = proc.stdout.split()
    assert frame == "done"
    assert float(cpu) >= 0.25, proc.stdout  # its 0.3 s of CPU, whether from /proc or from wait4
