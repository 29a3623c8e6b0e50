"""References whose results depend on the machine they run on: no test can pin them down.

BigCodeBench/21 returns the machine's memory use (`psutil.virtual_memory().percent`): two runs a
second apart agree, so triage's checks (the same result twice, again in a fresh process) pass,
and a suggested `assertEqual(task_func(), {..., 'Memory Usage': '4.02%'})` fails on the next
machine, or on the same one a minute later. A test like that must never be offered, or written
into a benchmark by `strengthen`.

So the reference is read, once per task, for calls that report the state of the machine, the
process or the clock. Where it makes one, triage keeps its witnesses (the program and the reference
were compared side by side, in the same moment) but suggests and adds no test, and says why in
the task's note. `random` is not listed: triage re-seeds it before every call.
"""

from __future__ import annotations

import ast

# Module -> the attributes that read volatile state; None: every attribute of it does.
_READERS: dict[str, frozenset[str] | None] = {
    "psutil": None,
    "platform": None,
    "socket": None,
    "secrets": None,
    "getpass": None,
    "resource": None,
    "time": frozenset({"time", "time_ns", "perf_counter", "perf_counter_ns", "monotonic",
                       "monotonic_ns", "process_time", "process_time_ns", "localtime", "gmtime",
                       "ctime", "asctime", "thread_time"}),
    "datetime": frozenset({"now", "today", "utcnow"}),
    "date": frozenset({"today"}),
    "os": frozenset({"getpid", "getppid", "getcwd", "getlogin", "cpu_count", "uname", "times",
                     "getloadavg", "urandom", "environ", "getenv", "listdir", "scandir", "walk",
                     "stat", "statvfs"}),
    "uuid": frozenset({"uuid1", "uuid4", "getnode"}),
    "shutil": frozenset({"disk_usage"}),
    "multiprocessing": frozenset({"cpu_count"}),
    "sys": frozenset({"getrefcount", "getallocatedblocks"}),
}


def _dotted(node: ast.expr) -> list[str]:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return parts[::-1]


def _reads(module: str, name: str | None) -> bool:
    if module not in _READERS:
        return False
    names = _READERS[module]
    return names is None or (name is not None and name in names)


def _aliases(tree: ast.AST) -> dict[str, tuple[str, str | None]]:
    """Local name -> (module, attribute) for every import in the tree."""
    aliases: dict[str, tuple[str, str | None]] = {}  # local name -> (module, attribute)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                aliases[alias.asname or top] = (alias.name.split(".")[-1] if alias.asname else top, None)
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module.split(".")[-1]
            for alias in node.names:
                if _reads(base, alias.name) or alias.name not in _READERS:  # from os import getpid
                    aliases[alias.asname or alias.name] = (base, alias.name)
                else:  # from datetime import datetime: the class, whose `now` reads the clock
                    aliases[alias.asname or alias.name] = (alias.name, None)
    return aliases


def volatile_reads(source: str) -> str | None:
    """The first call (or `os.environ` read) in `source` that reports the machine's state, as
    written (`psutil.virtual_memory`), or None. Imports are followed through aliases
    (`import psutil as ps`, `from datetime import datetime`)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    aliases = _aliases(tree)
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Call, ast.Attribute, ast.Subscript)):
            continue
        target = node.func if isinstance(node, ast.Call) else node
        if isinstance(target, ast.Subscript):
            target = target.value
        parts = _dotted(target)
        if not parts or parts[0] not in aliases:
            continue
        module, attribute = aliases[parts[0]]
        rest = ([attribute] if attribute else []) + parts[1:]
        if attribute is None and not rest and isinstance(node, ast.Call):
            continue  # calling a module: not a thing
        if any(_reads(module, name) for name in rest[:2]) or (not rest and _reads(module, None)):
            return ".".join(parts)
    return None
