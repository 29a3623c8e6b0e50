"""Nothing a task starts outlives its task: the worker is a child subreaper that kills orphans.

A sandbox child runs in a session and process group of its own, and is killed as a group. What
escapes the group (a double fork, a `setsid` daemon) is reparented, once its parent dies, to the
nearest subreaper: the worker, which after each job kills and reaps every child it still has
(the job's own sandbox children are reaped by then). Linux only; elsewhere these are no-ops.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import time

PR_SET_CHILD_SUBREAPER = 36
SWEEP_SECONDS = 2.0  # bound on one sweep: a process that forks faster than we kill is left


def become_subreaper() -> bool:
    """Make orphaned descendants of this process its children (not init's). False: not allowed."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def children(pid: int) -> list[int]:
    """The live or zombie children of `pid`, read from /proc (the `children` files if the kernel
    has them, else every process's parent pid)."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    try:
        for tid in tasks:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as listing:
                found.extend(int(word) for word in listing.read().split())
        return found
    except OSError:  # no CONFIG_PROC_CHILDREN: scan every process
        found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                if int(stat.read().rsplit(b")", 1)[1].split()[1]) == pid:
                    found.append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    return found


def _reap_any() -> bool:
    """Reap every exited child; True while some child (live or not yet exited) remains."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return False
        if pid == 0:
            return True


def _kill(pid: int) -> None:
    if pid <= 0:
        return
    with contextlib.suppress(OSError):
        if os.getpgid(pid) == pid:  # a group leader: its group is its own descendants
            os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)


def kill_orphans() -> int:
    """Kill and reap every child of this process; call it when none of them is ours to keep.
    Killing one reparents its own children to us: repeat until none is left. Returns how many
    processes were killed."""
    killed = 0
    deadline = time.monotonic() + SWEEP_SECONDS
    while _reap_any() and time.monotonic() < deadline:
        pids = [pid for pid in children(os.getpid()) if pid != os.getpid()]
        for pid in pids:
            _kill(pid)
        killed += len(pids)
        time.sleep(0.005 if pids else 0.02)
    return killed


def kill_tree(pid: int) -> None:
    """SIGKILL a process and every descendant it has (stopped first, so that none forks or is
    reparented away while we collect them)."""
    if pid <= 0:
        return
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGSTOP)
    seen: list[int] = []
    todo = [pid]
    while todo and len(seen) < 10_000:
        current = todo.pop()
        seen.append(current)
        kids = children(current)
        for kid in kids:
            with contextlib.suppress(OSError):
                os.kill(kid, signal.SIGSTOP)
        todo.extend(kid for kid in kids if kid not in seen)
    for current in seen:
        _kill(current)
