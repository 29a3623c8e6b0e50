"""Forked, hardened children that run task code, and the frame protocol they speak over a pipe.

Everything that comes from a task (the reference, mutants, model samples, suggested assertions)
runs in one of these: a fork of the worker with memory and file caps, no terminal, a private
cwd and death with the parent. The parent reads length-prefixed pickled frames with a CPU-time
budget per frame. The worker itself never executes task code.
"""

from __future__ import annotations

import ctypes
import io
import math
import os
import pickle
import resource
import select
import signal
import struct
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from testaudit.config import WALL_FACTOR, ExecSettings
from testaudit.sandbox import isolate

_HEADER = struct.Struct("!I")
# A frame longer than this is garbage, not a frame: verdicts and tracebacks are small.
MAX_FRAME = 64 << 20
PR_SET_PDEATHSIG = 1
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

# The child's way out, taken when this module is imported, before any task code runs: a mutant
# that replaces os._exit or os.kill (or the signal module) cannot make the child return from
# fork() into the worker's code.
_EXIT = os._exit
_KILL = os.kill
_GETPID = os.getpid
_SIGKILL = int(signal.SIGKILL)

# A frame is late when the child has used its budget in CPU time, or WALL_FACTOR times its
# budget in wall time (a sleeping or blocked child uses no CPU). CPU time, not wall time, is
# what keeps verdicts stable on a loaded machine: a child that waits for a core is not late.
# CPU time is read from /proc by the parent, never taken from the child.

Send = Callable[[object], None]
Body = Callable[[Send], None]


@dataclass(frozen=True)
class Started:
    """An isolated child's first frame, sent before any task code runs: the pid (as the worker
    sees it) of the process that runs the body, whose CPU time the budgets are counted in."""

    pid: int


_STARTED = frozenset({("testaudit.sandbox.child", "Started")})
START_SECONDS = 30.0  # wall-clock bound on setting up an isolated child (it runs no task code)


class CallTimeout(BaseException):
    """Raised inside a child by the CPU-time alarm of one call (BaseException: hard to swallow)."""


@dataclass(frozen=True)
class InternalError:
    """The last frame of a child whose body raised: a bug of ours, with its traceback."""

    traceback: str

    @property
    def summary(self) -> str:
        """The exception line of the traceback: what a one-line message can show."""
        lines = [line for line in self.traceback.strip().splitlines() if line.strip()]
        return lines[-1].strip() if lines else "unknown error"


def _alarm(signum: int, frame: object) -> None:
    raise CallTimeout()


def arm_alarm() -> None:
    """In a child: make SIGPROF raise CallTimeout, for signal.setitimer(ITIMER_PROF, ...)."""
    signal.signal(signal.SIGPROF, _alarm)


class CpuAlarm:
    """A child's own CPU-time budget for one run (the run stage's mutants): ITIMER_PROF raises
    CallTimeout once the process has used `seconds` of CPU, and again every REPEAT_S after, so
    that a run which swallows one still ends. `fired` records that it rang even if the task's
    code caught every CallTimeout: such a run is a timeout, whatever the suite said after.

    The handler raises only while `armed`: disarming is a plain attribute store (no call, so no
    signal handler can run before it), after which a SIGPROF still pending raises nothing.
    The parent's watchdog stays: it catches a run stuck in C code or asleep, which this alarm
    cannot interrupt (and the kernel's RLIMIT_CPU backstop catches a stuck parent).
    """

    REPEAT_S = 0.005
    __slots__ = ("armed", "fired")

    def __init__(self) -> None:
        self.armed = False
        self.fired = False

    def install(self) -> None:
        """Once per child, before the damage fingerprint is taken (it compares handlers)."""
        signal.signal(signal.SIGPROF, self._ring)

    def _ring(self, signum: int, frame: object) -> None:
        if self.armed:
            self.fired = True
            raise CallTimeout()

    def arm(self, seconds: float) -> None:
        self.fired = False
        self.armed = True
        signal.setitimer(signal.ITIMER_PROF, max(seconds, 0.001), self.REPEAT_S)

    def disarm(self) -> None:
        self.armed = False  # first: from here on a late SIGPROF is harmless
        signal.setitimer(signal.ITIMER_PROF, 0)


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies, so nothing outlives an audit."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the orphan check in workers still applies
        pass


def cpu_limit(used: float, budget: float) -> int:
    """RLIMIT_CPU's soft limit while a child has `budget` CPU seconds for its next frame: past
    what the parent allows, so that only a child the parent cannot stop in time meets it."""
    return math.ceil(used + 2 * budget) + 1


def harden(memory_cap: int, file_cap: int, workdir: str) -> None:
    """Contain a hostile candidate: memory and file-size caps, no terminal I/O, a private cwd.

    The CPU cap (RLIMIT_CPU) is set by the parent, frame by frame: see Frames.backstop.
    """
    for limit, value in ((resource.RLIMIT_AS, memory_cap), (resource.RLIMIT_FSIZE, file_cap)):
        try:
            resource.setrlimit(limit, (value, value))
        except (ValueError, OSError):
            pass
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ValueError, OSError):
        pass
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    sink = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the child
    sys.stdout = sys.stderr = sink
    sys.stdin = open(os.devnull)  # noqa: SIM115 - input() gets EOF, never blocks
    os.chdir(workdir)
    warnings.simplefilter("ignore")


def send_frame(fd: int, obj: object) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def cpu_seconds(pid: int) -> float | None:
    """A process's CPU time (user + system) so far, read from /proc."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS
    except (OSError, IndexError, ValueError):
        return None


# What a frame may name besides plain data (scalars, str, bytes, lists, tuples, dicts, sets):
# the records children send. A pickle that names anything else is garbage: unpickling what
# task code wrote on the pipe must never call a function of its choosing in the worker.
FRAME_CLASSES = frozenset({
    ("builtins", "complex"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("testaudit.records", "ReferenceRun"),
    ("testaudit.records", "MutantResult"),
    ("testaudit.records", "MutantStatus"),
    ("testaudit.values", "Input"),
    ("testaudit.sandbox.child", "InternalError"),
})


class _FrameUnpickler(pickle.Unpickler):
    def __init__(self, data: bytes, allowed: frozenset[tuple[str, str]]) -> None:
        super().__init__(io.BytesIO(data))
        self.allowed = allowed

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in self.allowed:
            raise pickle.UnpicklingError(f"a frame may not name {module}.{name}")
        return super().find_class(module, name)


def load_frame(data: bytes, allowed: frozenset[tuple[str, str]] = FRAME_CLASSES) -> object:
    """One frame's payload; UnpicklingError when it names a class no child of ours sends."""
    return _FrameUnpickler(data, allowed).load()


class Frames:
    """Reads length-prefixed pickled frames from a child's pipe, with time budgets."""

    TIMEOUT = object()
    EOF = object()  # the pipe closed: the child exited or died
    # The child wrote something that is not a frame: it is killed (by the reader, so that no
    # caller can wait on a live child that looks closed), and reads as EOF from then on.
    GARBAGE = object()

    def __init__(self, fd: int, pid: int, accepts: frozenset[tuple[str, str]] = frozenset()) -> None:
        self.fd = fd
        self.pid = pid
        self.allowed = FRAME_CLASSES | accepts  # (module, class) a frame may name
        self.buffer = b""
        self.cpu = 0.0  # the child's CPU time (from /proc) when its last frame arrived
        # CPU seconds the parent waits past a read's budget before it calls the frame late: set
        # when the child enforces the budget itself (CpuAlarm), so that its own report of the
        # timeout, not this watchdog, ends the run. The wall limit does not move.
        self.grace = 0.0
        self.broken = False
        # RLIMIT_CPU as a backstop for when the parent cannot act (it is stopped): each read
        # moves the soft limit past the budget it enforces; the kernel's SIGXCPU ends a child
        # the parent did not. The hard limit stays unlimited (an unprivileged parent could
        # never raise it again), so task code can lift it: a backstop, not a wall. Off until
        # the caller sets it: while a CPU limit is armed, Linux reads CLOCK_PROCESS_CPUTIME_ID
        # at tick granularity (10 us suites time as 0), so the reference is timed without one.
        self.backstop = False
        self.pending: object | None = None  # a frame read early (while adopting), returned first

    def _garbage(self) -> object:
        self.broken = True
        self.buffer = b""
        if self.pid > 0:
            for kill in (os.killpg, os.kill):
                try:
                    kill(self.pid, signal.SIGKILL)
                except OSError:
                    pass
        return self.GARBAGE

    def _frame(self) -> object | None:
        if len(self.buffer) < _HEADER.size:
            return None
        (size,) = _HEADER.unpack_from(self.buffer)
        if size > MAX_FRAME:
            return self._garbage()
        if len(self.buffer) < _HEADER.size + size:
            return None
        data = self.buffer[_HEADER.size : _HEADER.size + size]
        self.buffer = self.buffer[_HEADER.size + size :]
        try:
            payload = load_frame(data, self.allowed)
        except Exception:
            return self._garbage()
        cpu = cpu_seconds(self.pid)
        if cpu is not None:
            self.cpu = cpu
        return payload

    def _expired(self, started: float, budget: float) -> bool:
        waited = time.monotonic() - started
        if waited < budget:
            return False
        if waited >= budget * WALL_FACTOR:
            return True
        cpu = cpu_seconds(self.pid)
        return cpu is None or cpu - self.cpu >= budget + self.grace

    def read(self, budget: float) -> object:
        if self.pending is not None:
            frame, self.pending = self.pending, None
            return frame
        if self.broken:
            return self.GARBAGE
        started = time.monotonic()
        if self.backstop:
            try:
                resource.prlimit(self.pid, resource.RLIMIT_CPU,
                                 (cpu_limit(self.cpu, budget + self.grace), resource.RLIM_INFINITY))
            except (OSError, ValueError, AttributeError):
                pass
        while True:
            frame = self._frame()
            if frame is not None:
                return frame
            if self._expired(started, budget):
                return self.TIMEOUT
            waited = time.monotonic() - started
            wait = budget - waited if waited < budget else min(0.02, budget)
            ready, _, _ = select.select([self.fd], [], [], max(wait, 0.001))
            if ready:
                chunk = os.read(self.fd, 1 << 16)
                if not chunk:
                    return self.EOF
                self.buffer += chunk


@dataclass
class Child:
    """A sandbox child. `pid` is the process the worker forked, the leader of the child's group
    (waited for, killed as a group); when isolated, the body runs in a descendant of it in a PID
    namespace of its own, `frames.pid`, whose CPU time budgets count (see isolate.py)."""

    pid: int
    frames: Frames

    status: int | None = None
    closed: bool = False
    # Isolated: where the namespace's init writes the wait status of the process that ran the
    # body (the init's own status says only how the init ended).
    status_fd: int = -1

    def _wait(self) -> int:
        if self.status_fd >= 0:
            # The init writes the runner's status, then exits. Its exit tears down a mount
            # namespace, which waits for an RCU grace period (~10 ms of wall time): with the
            # status in hand, it is reaped later (_reap_deferred), not waited for here.
            size = struct.calcsize(_STATUS)
            try:
                data = os.read(self.status_fd, size)
            except OSError:
                data = b""
            os.close(self.status_fd)
            self.status_fd = -1
            if len(data) == size:
                if os.waitpid(self.pid, os.WNOHANG)[0] == 0:
                    _UNREAPED.append(self.pid)
                status, cpu = struct.unpack(_STATUS, data)
                self.frames.cpu = max(self.frames.cpu, cpu)
                return status
        return os.waitpid(self.pid, 0)[1]

    def stop(self) -> int:
        """Kill (if still running) with its process group, and reap, once; returns the wait status."""
        _check_pid(self.pid)
        if self.status is None:
            # The group first: the child's own (setsid) group holds what it started. Before
            # its setsid the group does not exist yet, and the child alone is killed.
            for kill, pid in ((os.killpg, self.pid), (os.kill, self.pid), (os.kill, self.frames.pid)):
                try:
                    kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.status = self._wait()
        if not self.closed:
            os.close(self.frames.fd)
            self.closed = True
        return self.status

    def reap(self) -> int:
        """Wait for a child whose pipe closed: it exited, or the task code killed it."""
        _check_pid(self.pid)
        if self.status is None:
            self.status = self._wait()
        return self.status


_UNREAPED: list[int] = []  # inits whose status is known, still exiting: reaped at the next fork


def _reap_deferred() -> None:
    for pid in list(_UNREAPED):
        try:
            done = os.waitpid(pid, os.WNOHANG)[0]
        except ChildProcessError:  # reaped by someone else (the worker's orphan sweep)
            done = pid
        if done:
            _UNREAPED.remove(pid)


def _check_pid(pid: int) -> None:
    # kill(0) and kill(-1) signal whole groups, ours included: never a child's pid.
    if pid <= 0:
        raise ValueError(f"refusing to signal or wait for pid {pid}")


def fork(body: Body, settings: ExecSettings, workdir: str,
         accepts: frozenset[tuple[str, str]] = frozenset(), expose: tuple[str, ...] = ()) -> Child:
    """Fork a hardened child that runs body(send) and exits; the parent reads its frames.

    `accepts`: the (module, class) names of the caller's own frame records, besides
    FRAME_CLASSES; a frame that names any other class is garbage (the child is killed).
    `expose`: folders the body reads (a task's source files) that an isolated child sees
    read-only; its `workdir` is the one folder it may write.

    A body that raises (a bug of ours: task code runs under its own guards) sends a last
    InternalError frame with the traceback, so that the parent can report it as such.
    """
    isolated = settings.isolate and isolate.status().isolated
    _reap_deferred()
    read_fd, write_fd = os.pipe()
    status_r, status_w = os.pipe() if isolated else (-1, -1)
    network = isolate.sandbox_network() if isolated else -1
    if isolated:
        isolate.fork_into_new_pid_namespace(True)
    try:
        pid = os.fork()
    finally:
        if isolated and os.getpid() != 1:  # in the worker (the child is PID 1 of the new one)
            isolate.fork_into_new_pid_namespace(False)
    if pid == 0:  # pragma: no cover - runs in the child, which never returns
        try:
            _child_main(body, settings, workdir, read_fd, write_fd, expose if isolated else None,
                        status_w, network)
        finally:
            # Through references taken at import: task code may have replaced os._exit.
            try:
                _EXIT(0)
            finally:
                _KILL(_GETPID(), _SIGKILL)
    if pid < 0:  # pragma: no cover - os.fork raises instead
        raise OSError("fork failed")
    os.close(write_fd)
    if isolated:
        os.close(status_w)
    child = Child(pid, Frames(read_fd, pid, accepts), status_fd=status_r)
    if isolated:
        _adopt(child)
    return child


def _adopt(child: Child) -> None:
    """Read an isolated child's Started frame: from then on its budgets count the body's process.
    Anything else (an InternalError from a failed set-up, the pipe closing) is kept as the
    child's first frame, so that the caller sees it where it reads the first frame."""
    frames = child.frames
    allowed = frames.allowed
    frames.allowed = allowed | _STARTED  # only here: later, a Started frame is garbage
    try:
        frame = frames.read(START_SECONDS)
    finally:
        frames.allowed = allowed
    if isinstance(frame, Started) and frame.pid > 0:
        frames.pid = frame.pid
    elif isinstance(frame, InternalError):
        frames.pending = frame
    else:
        child.stop()
        frames.pending = InternalError("sandbox set-up failed: the isolated child sent no pid\n")


def _child_main(body: Body, settings: ExecSettings, workdir: str, read_fd: int, write_fd: int,
                expose: tuple[str, ...] | None, status_w: int = -1, network: int = -1) -> None:
    """The forked child's life; it never raises (the caller then exits). `expose`: None when
    not isolated, else the folders an isolated child sees read-only; `status_w`: isolated, where
    the init reports how the body's process ended."""
    try:
        # A session and process group of its own: killed as a group, and a mutant that signals
        # its own group (or Ctrl-C on the terminal) reaches neither the worker nor testaudit.
        os.setsid()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the worker ignores it; tasks get the default
        os.close(read_fd)
        die_with_parent()
        # Drop every inherited descriptor but our pipe: the worker's channel to the parent,
        # the session database... are none of the task code's business.
        keep = sorted({write_fd, status_w, network} - {-1})
        for low, high in zip([2, *keep], [*keep, 1 << 16], strict=True):
            os.closerange(low + 1, high)
        if expose is not None:
            _isolated(workdir, write_fd, status_w, network, expose)  # returns only in the body's
        harden(settings.memory_cap_bytes, settings.file_cap_bytes, workdir)
        arm_alarm()
        body(lambda obj: send_frame(write_fd, obj))
    except BaseException:
        try:
            send_frame(write_fd, InternalError(traceback.format_exc()))
        except BaseException:
            pass


def _isolated(workdir: str, write_fd: int, status_w: int, network: int, expose: tuple[str, ...]) -> None:
    """Two processes: this one, PID 1 of its own PID namespace (an init that reaps what the
    task orphans: signals from inside its namespace cannot end it), and the process that runs
    the body, which returns from here.

    The body must not be PID 1: the kernel drops the signals PID 1 sends itself, so a task's
    os.kill(os.getpid(), ...) would not end it as it does under the benchmark's harness.
    """
    isolate.unshare(isolate.CLONE_NEWNS | isolate.CLONE_NEWIPC)
    isolate.join_network(network)
    os.close(network)
    runner = os.fork()
    if runner != 0:
        # The init: report how the runner ended, then exit. write_fd stays open until then, so
        # the worker's EOF means "ended, and how is known".
        status, cpu = _wait_for(runner)
        os.write(status_w, struct.pack(_STATUS, status, cpu))
        _EXIT(0)
    os.close(status_w)
    die_with_parent()  # not inherited across fork
    # /proc is still the host's here, so /proc/self names this process as the worker sees it.
    send_frame(write_fd, Started(int(os.readlink("/proc/self"))))
    isolate.enter(workdir, expose)


def _wait_for(pid: int) -> tuple[int, float]:
    """Wait until `pid` ends, reaping any other child meanwhile; its wait status and CPU time."""
    while True:
        try:
            done, status, usage = os.wait4(-1, 0)
        except InterruptedError:
            continue
        except ChildProcessError:
            _EXIT(70)
        if done == pid:
            return status, usage.ru_utime + usage.ru_stime


# What an isolated child's init reports of the runner: its wait status and its CPU seconds (the
# kernel's count, from wait4: /proc no longer shows a runner that the init has reaped).
_STATUS = "!id"


def frames(child: Child, first_budget: float, budget: float) -> Iterator[object]:
    """The child's frames until it ends: EOF, or no frame within its CPU budget (then killed).

    `first_budget` bounds the first frame (setup such as running a suite), `budget` each later one.
    Always stops and reaps the child, also when the caller stops iterating early. An
    InternalError frame is raised as ChildError: a bug of ours must not pass for a verdict.
    """
    try:
        limit = first_budget
        while True:
            frame = child.frames.read(limit)
            if frame is Frames.EOF or frame is Frames.TIMEOUT or frame is Frames.GARBAGE:
                return
            if isinstance(frame, InternalError):
                raise ChildError(frame)
            yield frame
            limit = budget
    finally:
        child.stop()


class ChildError(Exception):
    """A sandbox child's body raised: testaudit's own bug. str() is the exception line."""

    def __init__(self, error: InternalError) -> None:
        super().__init__(error.summary)
        self.error = error


def death_reason(status: int) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        name = signal.Signals(sig).name if sig in signal.valid_signals() else str(sig)
        return f"the process died from signal {name} during the suite"
    return f"the process exited with code {os.waitstatus_to_exitcode(status)} during the suite"
