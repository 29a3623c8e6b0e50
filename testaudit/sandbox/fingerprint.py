"""A cheap snapshot of process state that a candidate could damage for the ones after it."""

from __future__ import annotations

import builtins
import os
import sys
import threading
import types


class Fingerprint:
    """Cheap snapshot of process state a mutant could damage for the mutants after it."""

    def __init__(self, modules: list[types.ModuleType]) -> None:
        self.modules = [builtins, *modules]
        self.value = self._take()

    def _take(self) -> tuple:
        return (
            tuple(tuple(map(id, vars(m).values())) for m in self.modules),
            sys.getrecursionlimit(),
            id(sys.stdout),
            id(sys.stderr),
            threading.active_count(),
            os.getcwd(),
        )

    def damaged(self) -> bool:
        try:
            return self._take() != self.value
        except BaseException:
            return True


def modules_in(namespace: dict) -> list[types.ModuleType]:
    """Modules the program and its test reach by name (math, re, ...): worth watching."""
    return [v for v in namespace.values() if isinstance(v, types.ModuleType) and v is not builtins]


