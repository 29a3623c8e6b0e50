"""A cheap snapshot of process state that a candidate could damage for the ones after it.

A sandbox child runs a task's mutants one after another; whatever one of them leaves behind
(a patched module, a tracer, a timer, a signal handler, a fake `sys.modules` entry...) could
change the verdicts of the next ones. After every mutant the child compares this fingerprint
and, if anything changed, exits so that a fresh child runs the rest. It must stay cheap (it runs
after every mutant: tens of microseconds), so it compares identities and small values, never
contents. The watched namespaces (about 2000 values) are compared through CPython's dict version
tags first (PEP 509: every write to a dict gives it a new tag), and value by value only when a
tag moved. No fingerprint is complete: the run stage also re-runs survivors in fresh children.
"""

from __future__ import annotations

import builtins
import ctypes
import decimal
import gc
import importlib
import importlib.machinery
import math
import os
import random
import re
import resource
import signal
import sys
import threading
import time
import types
from collections.abc import Callable
from typing import TypeVar

# Always watched, whatever the program names: what suites, reseeding and timing rely on.
CORE_MODULES = (builtins, sys, os, time, random, decimal, math, re, signal, gc, threading)

_SIGNALS = tuple(sorted(s for s in signal.valid_signals()
                        if s not in (signal.SIGKILL, signal.SIGSTOP)))
# The C function: signal.getsignal converts every answer to an enum, ten times slower.
_getsignal = importlib.import_module("_signal").getsignal
_TIMERS = (signal.ITIMER_REAL, signal.ITIMER_VIRTUAL, signal.ITIMER_PROF)
# Not RLIMIT_CPU: the parent moves that one itself at every frame it reads (sandbox.child's
# backstop), so it changes under every mutant that runs for a second or more.
_LIMITS = tuple(getattr(resource, name) for name in (
    "RLIMIT_AS", "RLIMIT_FSIZE", "RLIMIT_NOFILE", "RLIMIT_STACK", "RLIMIT_NPROC",
) if hasattr(resource, name))
# What a genuine import leaves in sys.modules: a module made by one of importlib's own loaders.
_LOADERS = (importlib.machinery.SourceFileLoader, importlib.machinery.SourcelessFileLoader,
            importlib.machinery.ExtensionFileLoader, importlib.machinery.BuiltinImporter,
            importlib.machinery.FrozenImporter, importlib.machinery.NamespaceLoader)
_IMMUTABLE_TYPE = 1 << 8  # Py_TPFLAGS_IMMUTABLETYPE: C types whose attributes cannot be set
_T = TypeVar("_T")
_MONITORING = getattr(sys, "monitoring", None)  # 3.12+: PEP 669 tools can observe every line


def _version_tags() -> bool:
    """Whether this interpreter keeps PEP 509 dict version tags where _tag reads them: CPython
    3.11-3.13 do (the field is deprecated, still maintained). Checked on a dict of our own:
    a write of a new value, a deletion and a clear move the tag; storing the same value does
    not (neither does it change an identity, which is what the deep comparison looks at)."""
    if sys.implementation.name != "cpython" or not (3, 11) <= sys.version_info[:2] <= (3, 13):
        return False
    try:
        probe: dict[str, object] = {"a": 1}
        tag = _tag(probe)
        if ctypes.c_ssize_t.from_address(id(probe) + _USED_OFFSET).value != 1:
            return False
        seen = [tag.value]
        for change in (lambda: probe.__setitem__("a", 2), lambda: probe.__setitem__("b", 3),
                       lambda: probe.pop("a"), probe.clear):
            change()
            if tag.value in seen:
                return False
            seen.append(tag.value)
        value = object()
        probe["c"] = value
        before = tag.value
        probe["c"] = value
        return tag.value == before
    except Exception:
        return False


# PyDictObject in CPython 3.11-3.13: ob_refcnt, ob_type, ma_used, then ma_version_tag.
_USED_OFFSET, _TAG_OFFSET = 16, 24


def _tag(mapping: dict) -> ctypes.c_uint64:
    """A live view of the dict's version tag (the caller keeps the dict alive)."""
    return ctypes.c_uint64.from_address(id(mapping) + _TAG_OFFSET)


_TAGS = _version_tags()


def _class_dict(cls: type) -> dict | None:
    """The class's own namespace dict (vars() gives a read-only proxy of it), or None."""
    inner = gc.get_referents(vars(cls))
    if len(inner) == 1 and type(inner[0]) is dict and inner[0].keys() == vars(cls).keys():
        return inner[0]
    return None


def _classes(module: types.ModuleType) -> list[type]:
    """The module's own classes whose attributes code can patch (random.Random.randrange...)."""
    name = module.__name__
    return [v for v in vars(module).values()
            if isinstance(v, type) and not v.__flags__ & _IMMUTABLE_TYPE
            and getattr(v, "__module__", None) == name and not issubclass(v, BaseException)]


# What every child would work out again after its fork (which classes a module has, the
# identities in a dict, the sys.modules snapshot), worked out once in the worker (prime) and
# reused while the dict's version tag shows that it was not written since: (what, id(dict)) ->
# (the dict, its tag then, the result). A tag that moved means a fresh computation.
_MEMO: dict[tuple[str, int], tuple[dict, int, object]] = {}


def _memo(what: str, mapping: dict, compute: Callable[[], _T]) -> _T:
    if not _TAGS:
        return compute()
    tag = _tag(mapping).value  # before computing: a write meanwhile makes the entry stale
    key = (what, id(mapping))
    entry = _MEMO.get(key)
    if entry is not None and entry[0] is mapping and entry[1] == tag:
        return entry[2]  # type: ignore[return-value]
    value = compute()
    _MEMO[key] = (mapping, tag, value)
    return value


def _watched_classes(module: types.ModuleType) -> list[type]:
    """_classes(module), reused while neither the module nor any of those classes (their
    __module__ is in their own dict) was written."""
    if not _TAGS:
        return _classes(module)

    def scan() -> tuple[list[type], list[dict | None], list[int]]:
        classes = _classes(module)
        dicts = [_class_dict(c) for c in classes]
        return classes, dicts, [_tag(d).value if d is not None else -1 for d in dicts]
    classes, dicts, tags = _memo("classes", vars(module), scan)
    if any(d is None or _tag(d).value != t for d, t in zip(dicts, tags, strict=True)):
        _MEMO.pop(("classes", id(vars(module))), None)
        classes = scan()[0]
    return classes


def _ids(mapping: dict) -> tuple[int, ...]:
    return _memo("ids", mapping, lambda: tuple(map(id, mapping.values())))


def _module_snapshot() -> tuple[dict[str, int], tuple[int, ...]]:
    def take() -> tuple[dict[str, int], tuple[int, ...]]:
        known = {name: id(module) for name, module in sys.modules.items()}
        return known, tuple(known.values())
    return _memo("modules", sys.modules, take)


def prime() -> None:
    """In the worker, before it forks: work out what every child's Fingerprint needs about
    the core modules, so that children reuse it (see _MEMO) instead of each touching (and
    copying, after a fork) every watched value."""
    if not _TAGS:
        return
    for module in CORE_MODULES:
        _ids(vars(module))
        for cls in _watched_classes(module):
            inner = _class_dict(cls)
            if inner is not None:
                _ids(inner)
    _module_snapshot()


def genuine_import(name: str, module: object) -> bool:
    """Whether a new sys.modules entry looks like a real import, not a planted fake."""
    if not isinstance(module, types.ModuleType):
        return False
    spec = getattr(module, "__spec__", None)
    if spec is None or getattr(spec, "name", None) != name or module.__name__ != name:
        return False
    loader = spec.loader
    return loader is None or isinstance(loader, _LOADERS) or loader in _LOADERS


class Fingerprint:
    """Cheap snapshot of process state a mutant could damage for the mutants after it."""

    def __init__(self, modules: list[types.ModuleType]) -> None:
        watched = {id(m): m for m in (*CORE_MODULES, *modules)}
        self.modules = list(watched.values())
        self.classes = [c for m in self.modules for c in _watched_classes(m)]
        # The dicts whose tags stand for the values' identities (kept alive by the modules
        # and classes above); None: no usable tags, the values are compared every time.
        self.dicts: list[dict] | None = None
        if _TAGS:
            dicts = [vars(m) for m in self.modules] + [_class_dict(c) for c in self.classes]
            if all(d is not None for d in dicts):
                self.dicts = dicts  # type: ignore[assignment]
                self.tags = [_tag(d) for d in self.dicts]
        self.identities = self._identities()
        self.tag_values = self._tag_values()
        self.value = self._take()
        self._snapshot_modules()

    def _snapshot_modules(self) -> None:
        self.module_map, self.module_ids = _module_snapshot()
        self.module_dict = sys.modules
        self.module_tag = _tag(sys.modules).value if _TAGS else None

    def _identities(self) -> tuple:
        if self.dicts is not None:
            return tuple(map(_ids, self.dicts))
        return (tuple(tuple(map(id, vars(m).values())) for m in self.modules),
                tuple(tuple(map(id, vars(c).values())) for c in self.classes))

    def _tag_values(self) -> list[int] | None:
        return [t.value for t in self.tags] if self.dicts is not None else None

    def _namespaces_damaged(self) -> bool:
        """Whether a value in a watched module or class was replaced, added or removed.

        Fast path: no watched dict was written since the last check (its tag did not move).
        A write that left every identity as it was (a value stored again) is not damage.
        """
        now = self._tag_values()
        if now is not None and now == self.tag_values:
            return False
        if self._identities() != self.identities:
            return True
        self.tag_values = now
        return False

    def _take(self) -> tuple:
        context = decimal.getcontext()
        default = decimal.DefaultContext
        return (
            # Trace, profile and monitoring hooks: a tracer can skip a test's lines.
            sys.gettrace(), sys.getprofile(), threading.gettrace(), threading.getprofile(),
            tuple(map(_MONITORING.get_tool, range(6))) if _MONITORING else None,
            # Import machinery: a finder or path that serves fake modules to later imports.
            tuple(map(id, sys.meta_path)), tuple(map(id, sys.path_hooks)), tuple(sys.path),
            sys.getrecursionlimit(), sys.getswitchinterval(), sys.get_int_max_str_digits(),
            id(sys.stdout), id(sys.stderr), id(sys.stdin),
            # Timers armed or not (the time left changes as it runs), handlers, the blocked mask.
            tuple(signal.getitimer(t) != (0.0, 0.0) for t in _TIMERS),
            tuple(map(_getsignal, _SIGNALS)),
            tuple(signal.pthread_sigmask(signal.SIG_BLOCK, ())),
            gc.isenabled(), gc.get_threshold(), gc.get_debug(), len(gc.callbacks),
            # The decimal context: its identity and settings. Its flags are status that every
            # use of decimal changes, not settings: they are not compared (see clear_status).
            id(context), context.prec, context.rounding, context.Emin, context.Emax,
            context.capitals, context.clamp, tuple(context.traps.values()),
            default.prec, default.rounding, tuple(default.traps.values()),
            tuple(map(resource.getrlimit, _LIMITS)),
            threading.active_count(),
            os.getcwd(),
            id(os.environ), tuple(os.environ._data.items()),  # type: ignore[attr-defined]
        )

    def _modules_damaged(self) -> bool:
        """A replaced or removed sys.modules entry is damage; a new one is only if it is fake.

        Fast path: the same entries in the same order. A genuine new import (a solution that
        imports inside a function) joins the watched entries from now on.
        """
        current = sys.modules
        if current is self.module_dict and self.module_tag is not None and \
                _tag(current).value == self.module_tag:
            return False  # not written since the last check
        if len(current) == len(self.module_ids) and tuple(map(id, current.values())) == self.module_ids:
            return False
        known = self.module_map
        for name, module_id in known.items():
            if id(current.get(name)) != module_id:
                return True
        for name, module in list(current.items()):
            if name not in known and not genuine_import(name, module):
                return True
        self._snapshot_modules()
        return False

    def damaged(self) -> bool:
        try:
            return self._namespaces_damaged() or self._take() != self.value or self._modules_damaged()
        except BaseException:
            return True


def clear_status() -> None:
    """Before a candidate runs: clear the decimal flags an earlier one raised (status, not
    settings: a fresh process starts with none)."""
    try:
        decimal.getcontext().clear_flags()
    except BaseException:
        pass


def modules_in(namespace: dict) -> list[types.ModuleType]:
    """Modules the program and its test reach by name (math, re, ...): worth watching."""
    return [v for v in namespace.values() if isinstance(v, types.ModuleType) and v is not builtins]
