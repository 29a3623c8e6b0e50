"""Linux namespaces and a capability drop for sandbox children, where the kernel allows them.

When testaudit runs as root (as CI does) each sandbox child runs, after a second fork, as PID 1
of its own PID namespace, in its own network, IPC and mount namespaces, with every capability
dropped and `no_new_privs` set. Its view of the file system: everything read-only; fresh
private tmpfs over /tmp, /var/tmp, /run and /dev/shm (so no socket of the host is reachable
through them, and /tmp works for `tempfile`); a /dev holding only null, zero, full, random,
urandom; a read-only /proc of its own namespace (testaudit's processes and their descriptors
are not in it); its working directory writable, and the paths its caller exposes read-only.
The loopback interface is up, so a test may serve and connect on 127.0.0.1 inside; nothing
else is reachable. Elsewhere (not root, an old kernel, a container that forbids it) children
run without these, and the audit says so once at its start: see status().

Why uid 0 without capabilities, not an unprivileged uid: the interpreter and its packages
often live under /root (mode 0700), which another uid cannot read, so imports inside a
sandbox would fail. Without capabilities, root can neither remount, nor signal or trace
outside its PID namespace, nor write where the mounts are read-only; what it could still
reach by owning files (raw devices, /proc/sys, /proc/sysrq-trigger) is not in its view.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import shutil
import socket
import stat
import struct
import sys
import tempfile
from dataclasses import dataclass
from functools import cache

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
NAMESPACES = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNET

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REC, MS_PRIVATE = 0x4000, 1 << 18
MOUNT_ATTR_RDONLY, MOUNT_ATTR_NOSUID = 0x1, 0x2
AT_FDCWD, AT_EMPTY_PATH, AT_RECURSIVE = -100, 0x1000, 0x8000
OPEN_TREE_CLONE, OPEN_TREE_CLOEXEC = 1, os.O_CLOEXEC
MOVE_MOUNT_F_EMPTY_PATH = 0x4
# The new mount API's syscall numbers are the same on every architecture (the unified table).
SYS_OPEN_TREE, SYS_MOVE_MOUNT, SYS_MOUNT_SETATTR = 428, 429, 442
PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 4, 24, 38
CAP_VERSION_3 = 0x20080522
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1

MASKED = ("/tmp", "/var/tmp", "/run", "/dev/shm")
DEVICES = {"null": (1, 3), "zero": (1, 5), "full": (1, 7), "random": (1, 8), "urandom": (1, 9)}
TMPFS_SIZE = "64m"  # per masked folder: a file written there is memory, not disk


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


class IsolationError(OSError):
    """A step of entering the sandbox failed: the child must not run task code."""


@cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise IsolationError(err, f"{what}: {os.strerror(err)}")
    return result


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(_libc().mount(source.encode(), target.encode(), fstype.encode() if fstype else None,
                         ctypes.c_ulong(flags), data.encode() if data else None), f"mount {target}")


def _set_attr(dfd: int, path: str, flags: int, attr_set: int, attr_clr: int = 0) -> None:
    attr = _MountAttr(attr_set, attr_clr, 0, 0)
    _check(_libc().syscall(SYS_MOUNT_SETATTR, dfd, path.encode(), flags, ctypes.byref(attr),
                           ctypes.sizeof(attr)), f"mount_setattr {path or dfd}")


def _clone_tree(path: str) -> int:
    return _check(_libc().syscall(SYS_OPEN_TREE, AT_FDCWD, path.encode(),
                                  OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE), f"open_tree {path}")


def _attach(fd: int, path: str) -> None:
    os.makedirs(path, exist_ok=True)
    _check(_libc().syscall(SYS_MOVE_MOUNT, fd, b"", AT_FDCWD, path.encode(), MOVE_MOUNT_F_EMPTY_PATH),
           f"move_mount {path}")
    os.close(fd)


def unshare(flags: int = NAMESPACES) -> None:
    """New namespaces for this process (and, for CLONE_NEWPID, for the children it forks next)."""
    _check(_libc().unshare(flags), "unshare")


@cache
def _own_pid_namespace() -> int:
    return os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)


@cache
def sandbox_network() -> int:
    """A network namespace with only loopback, up: made once per worker (an open descriptor
    keeps it alive), joined by each child. Making one per child costs ~4 ms of wall time (lo
    up waits on the kernel); sharing it lets one task's processes meet another's on
    127.0.0.1 only while both live, and none outlives its task's PID namespace."""
    ready_r, ready_w = os.pipe()
    done_r, done_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - a throw-away child: lives until its namespace is held
        code = 1
        try:
            os.close(ready_r)
            os.close(done_w)
            unshare(CLONE_NEWNET)
            _loopback_up()
            code = 0
        finally:
            os.write(ready_w, bytes([code]))
            os.read(done_r, 1)  # EOF once the parent has opened the namespace (or died)
            os._exit(code)
    os.close(ready_w)
    os.close(done_r)
    try:
        if os.read(ready_r, 1) != b"\x00":
            raise IsolationError(errno.EPERM, "could not make the sandbox network namespace")
        return os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    finally:
        for fd in (ready_r, done_w):
            os.close(fd)
        os.waitpid(pid, 0)


def join_network(fd: int) -> None:
    _check(_libc().setns(fd, CLONE_NEWNET), "setns network")


def fork_into_new_pid_namespace(new: bool) -> None:
    """In the worker, around one fork: True makes the next child PID 1 of a new PID namespace
    (the worker itself stays where it is); False makes later children the worker's own again.
    Linux allows one unshare(CLONE_NEWPID) per namespace a process is in, so the worker first
    goes back to its own (setns) each time."""
    _check(_libc().setns(_own_pid_namespace(), CLONE_NEWPID), "setns")
    if new:
        unshare(CLONE_NEWPID)


def enter(workdir: str, expose: tuple[str, ...] = ()) -> None:
    """In PID 1 of the new namespaces, before any task code: build its view, drop privileges.

    `workdir` stays writable; `expose` paths are visible read-only even under a masked folder.
    """
    _mount("none", "/", None, MS_REC | MS_PRIVATE)  # nothing we mount propagates to the host
    expose = (*interpreter_roots(), *expose)
    kept = [(_clone_tree(path), path, True) for path in expose if os.path.isdir(path)]
    kept.append((_clone_tree(workdir), workdir, False))
    for fd, _, readonly in kept:
        if readonly:
            _set_attr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, MOUNT_ATTR_RDONLY)
    _set_attr(AT_FDCWD, "/", AT_RECURSIVE, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID)
    _private_dev()
    for folder in MASKED:
        if os.path.isdir(folder) and not os.path.islink(folder):
            _mount("tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV, f"size={TMPFS_SIZE},mode=1777")
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY)
    for fd, path, _ in kept:  # the workdir last: it may lie inside an exposed folder
        _attach(fd, path)
    drop_privileges()


def interpreter_roots() -> tuple[str, ...]:
    """The folders just below a masked one (/tmp/venv, /tmp/checkout) that hold what this
    interpreter imports: sys.path, its prefixes, and every loaded module's file (an editable
    install's package is on no sys.path entry). They stay visible, read-only: a task's lazy
    import of numpy from a venv in /tmp must work inside as outside."""
    paths = {*sys.path, sys.prefix, sys.exec_prefix, sys.base_prefix}
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if isinstance(path, str):
            paths.add(path)
    roots = set()
    for path in paths:
        if not path:
            continue
        path = os.path.abspath(path)
        for folder in MASKED:
            if path.startswith(folder + os.sep):
                first = path[len(folder) + 1 :].split(os.sep, 1)[0]
                roots.add(os.path.join(folder, first))
    return tuple(sorted(root for root in roots if os.path.isdir(root)))


def _private_dev() -> None:
    _mount("tmpfs", "/dev", "tmpfs", MS_NOSUID, "size=1m,mode=755")
    for name, (major, minor) in DEVICES.items():
        os.mknod(f"/dev/{name}", 0o666 | stat.S_IFCHR, os.makedev(major, minor))
        os.chmod(f"/dev/{name}", 0o666)  # mknod is subject to the umask
    os.mkdir("/dev/shm", 0o1777)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, f"/dev/{name}")


def _loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))


def drop_privileges() -> None:
    """No capability left, in any set, nor any way to gain one (setuid programs, file caps)."""
    libc = _libc()
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    for cap in range(64):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0:
            if ctypes.get_errno() == errno.EINVAL:  # past the last capability this kernel has
                break
            _check(-1, f"drop capability {cap}")
    header = _CapHeader(CAP_VERSION_3, 0)
    data = (_CapData * 2)()
    _check(libc.capset(ctypes.byref(header), data), "capset")


def protect_self() -> None:
    """Make this process non-dumpable: a process of the same user (task code, when namespaces
    are not available) can then neither open its /proc/<pid>/fd (its stderr) nor trace it."""
    with contextlib.suppress(OSError, AttributeError):
        _libc().prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


@dataclass(frozen=True)
class Status:
    """Whether sandbox children get namespaces here, and if not, why (one line)."""

    isolated: bool
    reason: str


def _probe_child(workdir: str) -> int:
    # Exit codes: 0 all held; 1 a step failed; 2 something it should stop was possible.
    try:
        unshare()
        pid = os.fork()
        if pid == 0:
            try:
                enter(workdir)
                with open(os.path.join(workdir, "probe"), "w") as out:
                    out.write("ok")
                held = (os.getpid() == 1 and os.statvfs("/").f_flag & os.ST_RDONLY
                        and not os.statvfs(workdir).f_flag & os.ST_RDONLY)
                os._exit(0 if held else 2)
            except BaseException:
                os._exit(1)
        status = os.waitpid(pid, 0)[1]
        return os.waitstatus_to_exitcode(status)
    except BaseException:
        return 1


@cache
def status() -> Status:
    """Probe once per process, in a throw-away child: can children be isolated here?"""
    if not hasattr(os, "fork") or not os.path.exists("/proc/self/ns/pid"):
        return Status(False, "not Linux")
    if os.geteuid() != 0:
        return Status(False, "not running as root")
    scratch = tempfile.mkdtemp(prefix="testaudit-probe-")
    workdir = os.path.join(scratch, "work")
    os.mkdir(workdir)
    try:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the probe's child
            os._exit(_probe_child(workdir))
        code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        wrote = os.path.exists(os.path.join(workdir, "probe"))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if code == 0 and wrote:
        return Status(True, "PID, network, IPC and mount namespaces, no capabilities")
    if code == 2:
        return Status(False, "a namespaced probe found its root writable or its folder read-only")
    return Status(False, "the kernel refused namespaces or mounts (a container without CAP_SYS_ADMIN?)")
