"""The layout's rules, checked on the code itself: stages never import each other, no cycles.

Every import is parsed with ast, lazy ones inside functions and TYPE_CHECKING ones included.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "testaudit"

STAGES = {"load", "mutate", "run", "triage", "store", "report", "gate", "strengthen"}
SHARED = {"records", "config", "errors", "text", "values", "__init__"}
TOP = {"cli", "pipeline", "shard", "__main__"}
# What each unit may import besides itself. Stages may use store/ (persistence), suites/ and
# sandbox/; store/ itself, like the shared modules, imports only shared modules.
ALLOWED = {
    "shared": {"shared"},
    "sandbox": {"shared"},
    "suites": {"shared", "sandbox"},
    "store": {"shared"},
    "stage": {"shared", "suites", "sandbox", "store"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _imports(path: Path, name: str, known: set[str]) -> set[str]:
    """The testaudit modules `path` imports (a submodule when `from X import sub` names one)."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "testaudit")
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.split(".")[0] != "testaudit":
                continue
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                found.add(sub if sub in known else module)
    return {m for m in found if m in known} - {name}


def _unit(module: str) -> tuple[str, str]:
    """(kind, name): ("stage", "triage"), ("shared", "records"), ("top", "cli")..."""
    parts = module.split(".")
    first = parts[1] if len(parts) > 1 else "__init__"
    if first in STAGES:
        return ("store" if first == "store" else "stage"), first
    if first in ("suites", "sandbox"):
        return first, first
    if first in SHARED or len(parts) == 1:
        return "shared", first
    if first in TOP:
        return "top", first
    return "unknown", first


GRAPH = {name: _imports(path, name, set(_modules())) for name, path in _modules().items()}


def test_every_module_belongs_to_a_known_part_of_the_layout() -> None:
    unknown = sorted(m for m in GRAPH if _unit(m)[0] == "unknown")
    assert not unknown, f"modules outside the layout (docs/architecture.md): {unknown}"


def test_no_stage_imports_another_stage_and_shared_modules_import_only_shared_ones() -> None:
    bad = []
    for module, targets in GRAPH.items():
        kind, unit = _unit(module)
        if kind == "top":
            continue
        for target in targets:
            target_kind, target_unit = _unit(target)
            if target_unit == unit and target_kind == kind:
                continue  # within the same package
            if target_kind not in ALLOWED[kind]:
                bad.append(f"{module} -> {target}")
    assert not bad, "imports that break the layout's rule:\n" + "\n".join(sorted(bad))


def test_the_import_graph_has_no_cycle() -> None:
    visiting: list[str] = []
    done: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        if node in done:
            return
        if node in visiting:
            cycles.append(visiting[visiting.index(node):] + [node])
            return
        visiting.append(node)
        for target in sorted(GRAPH[node]):
            # A package importing its own submodules (re-exports) is not a cycle of design.
            if not target.startswith(node + "."):
                visit(target)
        visiting.pop()
        done.add(node)

    for module in sorted(GRAPH):
        visit(module)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_rule_checker_sees_lazy_imports() -> None:
    # pipeline imports triage only inside functions: the graph must still show it.
    assert "testaudit.triage" in GRAPH["testaudit.pipeline"]
    assert "testaudit.triage.task" in GRAPH["testaudit.pipeline"]


@pytest.mark.parametrize("forbidden", ["testaudit.triage", "testaudit.run", "testaudit.report",
                                       "testaudit.gate", "testaudit.load", "testaudit.mutate"])
def test_importing_the_store_loads_no_stage(forbidden: str) -> None:
    code = ("import sys, testaudit.store, testaudit.store.cache, testaudit.store.results_json; "
            "print('\\n'.join(m for m in sys.modules if m.startswith('testaudit')))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout.split()
    assert "testaudit.store.session" in loaded
    assert not [m for m in loaded if m == forbidden or m.startswith(forbidden + ".")], loaded
