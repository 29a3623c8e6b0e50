"""Forked, hardened children for triage work, speaking execute.py's frame protocol over a pipe.

Everything triage runs that comes from a task (the reference, mutants, model samples, suggested
assertions) runs in one of these: a fork of the worker with the same containment as the mutant
runs (memory and file caps, no terminal, private cwd, death with the parent), read by the parent
with CPU-time budgets per frame. The worker itself never executes task code.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator

from testaudit import sandbox
from testaudit.execute import ExecSettings, _Child, _Frames, _send

Send = Callable[[object], None]
Body = Callable[[Send], None]


class CallTimeout(BaseException):
    """Raised inside a child by the CPU-time alarm of one call (BaseException: hard to swallow)."""


def _alarm(signum: int, frame: object) -> None:
    raise CallTimeout()


def arm_alarm() -> None:
    """In a child: make SIGPROF raise CallTimeout, for signal.setitimer(ITIMER_PROF, ...)."""
    signal.signal(signal.SIGPROF, _alarm)


def fork(body: Body, settings: ExecSettings, workdir: str) -> _Child:
    """Fork a hardened child that runs body(send) and exits; the parent reads its frames."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child, which never returns
        try:
            os.close(read_fd)
            sandbox.die_with_parent()
            # Drop every inherited descriptor but our pipe (the worker's channel, the database).
            os.closerange(3, write_fd)
            os.closerange(write_fd + 1, 1 << 16)
            sandbox.harden(settings.memory_cap_bytes, settings.file_cap_bytes, workdir)
            arm_alarm()
            body(lambda obj: _send(write_fd, obj))
        except BaseException:
            pass
        os._exit(0)
    os.close(write_fd)
    return _Child(pid, _Frames(read_fd, pid))


def frames(child: _Child, first_budget: float, budget: float) -> Iterator[object]:
    """The child's frames until it ends: EOF, or no frame within its CPU budget (then killed).

    `first_budget` bounds the first frame (setup such as running a suite), `budget` each later one.
    Always stops and reaps the child, also when the caller stops iterating early.
    """
    try:
        limit = first_budget
        while True:
            frame = child.frames.read(limit)
            if frame is _Frames.EOF or frame is _Frames.TIMEOUT:
                return
            yield frame
            limit = budget
    finally:
        child.stop()


def run(body: Body, settings: ExecSettings, workdir: str, first_budget: float,
        budget: float) -> list[object]:
    """Fork a child for body and collect all of its frames."""
    return list(frames(fork(body, settings, workdir), first_budget, budget))
