"""One temporary folder per pool of workers, so that nothing of a killed run stays behind.

Every folder a worker makes (sandbox working directories, the source files coverage.py names)
lies inside its pool's scratch folder: the pool removes it when it ends, also when a worker
was killed mid-job. A pool that never got to remove it (testaudit itself was killed) is found
by the next pool: the folder names its owner by pid and process start time, and a folder
whose owner is gone is removed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from pathlib import Path

PREFIX = "testaudit-pool-"
OWNER = "owner"


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot: with the pid, it names one process
    (a pid alone is reused)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return None


def make() -> str:
    """A fresh scratch folder owned by this process; sweeps the folders of dead owners first."""
    sweep()
    path = tempfile.mkdtemp(prefix=PREFIX)
    Path(path, OWNER).write_text(f"{os.getpid()} {_start_time(os.getpid())}\n", encoding="ascii")
    return path


def remove(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _alive(owner: Path) -> bool:
    try:
        pid_text, started = owner.read_text(encoding="ascii").split()
        pid = int(pid_text)
    except (OSError, ValueError):
        return False
    return pid > 0 and _start_time(pid) == started


def sweep(base: str | None = None) -> int:
    """Remove the scratch folders whose owner process is gone; how many were removed."""
    removed = 0
    root = Path(base or tempfile.gettempdir())
    with contextlib.suppress(OSError):
        for folder in root.glob(PREFIX + "*"):
            owner = folder / OWNER
            # A folder without an owner file may be one being made right now: left alone
            # unless it is old.
            if not owner.exists():
                with contextlib.suppress(OSError):
                    if time.time() - folder.stat().st_mtime < 3600:
                        continue
            elif _alive(owner):
                continue
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed
