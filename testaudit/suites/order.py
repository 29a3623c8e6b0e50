"""Independent assertions, run in the order of their kills so far (issue 13, "cheaper kills").

A suite made only of independent assertions (HumanEval's `check` whose body is a list of
asserts, MBPP's top-level asserts) fails a mutant as soon as any one of them fails: which one
runs first changes only how soon. So, as PIT and mutmut order tests, a sandbox child runs first
the assertion that has killed the most of the task's mutants so far in that child (ties: the
written order). Killed mutants of HumanEval/75, which mostly fail at a late assertion after the
slow early ones pass, then fail at the first one run.

Reordering must not change a verdict, so it is done only where it provably cannot:

- the assertions are consecutive statements with nothing between them (no assignment, no
  loop, no other statement), and nothing follows them;
- an assertion names only the candidate, builtins, and names bound once before the assertions
  run to a module, a function or an immutable constant (no walrus inside one);
- the program and the test keep no state between calls: no `global`/`nonlocal`, no decorators,
  no class, no mutable default, no store into an attribute or item of a module-level name, no
  module-level statement but imports, functions, docstrings and constant assignments, and no
  mention of `random` (reseeded once per suite run, so each draw depends on what ran before).

Then a mutant passes all the assertions in one order iff it passes them all in any order: it
survives either way, and is killed either way, unless it both fails one assertion and loops on
another, when whichever comes first decides between `killed` and `timeout` (both detected).
A killed mutant's reason names the assertion that failed first in the order run.
"""

from __future__ import annotations

import ast
import builtins
import types
import warnings
from dataclasses import dataclass, field

from testaudit.sandbox.child import CallTimeout

# The key in PreparedTask.cache (a child's own: the kill counts are learnt in each child).
CACHE_KEY = "testaudit.suites.order"


@dataclass
class Assertions:
    """A suite's independent assertions, compiled one by one (with their own line numbers, so
    kill reasons read as the written suite's), and how many mutants each has killed here."""

    prefix: types.CodeType | None  # MBPP: the statements before the asserts, run first
    codes: tuple[types.CodeType, ...]
    kills: list[int] = field(default_factory=list)
    in_function: bool = False  # HumanEval's check: each code is a function of `candidate`

    def __post_init__(self) -> None:
        self.kills = [0] * len(self.codes)

    def order(self) -> list[int]:
        return sorted(range(len(self.codes)), key=lambda i: (-self.kills[i], i))

    def run(self, namespace: dict, candidate: object, learn: bool) -> None:
        """Run the assertions in `namespace`, most killing first; raises what the first failing
        one raises. `learn`: count the failure as that assertion's kill (not for the broken
        candidate, which every assertion fails)."""
        if self.prefix is not None:
            exec(self.prefix, namespace)
        functions = [types.FunctionType(code, namespace) for code in self.codes] if self.in_function else None
        for index in self.order():
            try:
                if functions is not None:
                    functions[index](candidate)
                else:
                    exec(self.codes[index], namespace)
            except CallTimeout:
                raise  # a timeout is no kill: ranking on it would make timeouts come first
            except BaseException:
                if learn:
                    self.kills[index] += 1
                raise


def assertions(prepared, kind: str) -> Assertions | None:
    """The task's independent assertions (kind "check" or "asserts"), or None where the
    suite's order must stay as written. Worked out once per process."""
    cache = prepared.cache
    if CACHE_KEY not in cache:
        try:
            cache[CACHE_KEY] = _analyse(prepared.task.source, prepared.task.test, kind,
                                        prepared.test_filename, prepared.task.entry_point)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            cache[CACHE_KEY] = None
    return cache[CACHE_KEY]


def _compile(tree: ast.Module, filename: str) -> types.CodeType:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return compile(tree, filename, "exec", dont_inherit=True)


def _analyse(program: str, test: str, kind: str, filename: str, entry_point: str) -> Assertions | None:
    if "random" in program or "random" in test:
        return None
    program_tree, test_tree = ast.parse(program), ast.parse(test)
    bindings = _safe_bindings(program_tree)
    if bindings is None or not _stateless(program_tree, bindings[0]):
        return None
    safe = bindings[0]
    if kind == "check":
        return _check_assertions(test_tree, safe, filename)
    return _top_level_assertions(test_tree, safe, filename, entry_point)


def _check_assertions(tree: ast.Module, safe: set[str], filename: str) -> Assertions | None:
    checks = [s for s in tree.body if isinstance(s, ast.FunctionDef) and s.name == "check"]
    if len(checks) != 1:
        return None
    check = checks[0]
    rest = [s for s in tree.body if s is not check]
    bindings = _safe_bindings(ast.Module(rest, []), lenient=True)
    if bindings is None or not _stateless(tree, safe | bindings[0] | bindings[1]):
        return None
    test_safe, unsafe = bindings
    args = check.args
    if (check.decorator_list or len(args.args) != 1 or args.posonlyargs or args.kwonlyargs
            or args.vararg or args.kwarg or args.defaults):
        return None
    candidate = args.args[0].arg
    body = _without_docstring(check.body)
    allowed = (safe | test_safe | {candidate}) - unsafe
    if len(body) < 2 or not all(_independent(s, allowed, unsafe) for s in body):
        return None
    codes = []
    for statement in body:
        # def check(candidate): <assert>, at the assert's own lines: a code object for each.
        function = ast.parse(f"def check({candidate}): pass").body[0]
        ast.increment_lineno(function, statement.lineno - 1)  # before the body goes in: it is placed
        function.body = [statement]  # type: ignore[attr-defined]
        module = _compile(ast.Module([function], []), filename)
        codes.append(next(c for c in module.co_consts if isinstance(c, types.CodeType)))
    return Assertions(None, tuple(codes), in_function=True)


def _top_level_assertions(tree: ast.Module, safe: set[str], filename: str,
                          entry_point: str) -> Assertions | None:
    body = tree.body
    first = next((i for i, s in enumerate(body) if isinstance(s, ast.Assert)), None)
    if first is None:
        return None
    prefix, asserts = body[:first], body[first:]
    bindings = _safe_bindings(ast.Module(prefix, []))
    if bindings is None or not _stateless(tree, safe | bindings[0]):
        return None
    allowed = safe | bindings[0] | {entry_point}
    if len(asserts) < 2 or not all(_independent(s, allowed, set()) for s in asserts):
        return None
    prefix_code = _compile(ast.Module(prefix, []), filename) if prefix else None
    codes = tuple(_compile(ast.Module([s], []), filename) for s in asserts)
    return Assertions(prefix_code, codes)


def _without_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        return body[1:]
    return body


def _constant(node: ast.expr | None) -> bool:
    """An immutable constant: a literal, a tuple or frozen literal of them, a signed number."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Tuple):
        return all(_constant(e) for e in node.elts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        return _constant(node.operand)
    return False


def _safe_bindings(tree: ast.Module, lenient: bool = False) -> tuple[set[str], set[str]] | None:
    """The names a module binds to modules, functions and immutable constants, and the names
    it binds otherwise; None if it has any other statement. Not `lenient`, any other binding
    is refused too (HumanEval's tests bind a METADATA dict that no assertion names)."""
    names: set[str] = set()
    unsafe: set[str] = set()
    for statement in tree.body:
        if isinstance(statement, ast.Import):
            names.update((a.asname or a.name).split(".")[0] for a in statement.names)
        elif isinstance(statement, ast.ImportFrom):
            if any(a.name == "*" for a in statement.names):
                return None
            names.update(a.asname or a.name for a in statement.names)
        elif isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(statement.name)
        elif isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
            pass
        elif isinstance(statement, ast.Assign | ast.AnnAssign):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            if not all(isinstance(t, ast.Name) for t in targets):
                return None
            bound = {t.id for t in targets}  # type: ignore[attr-defined]
            if _constant(statement.value):
                names |= bound
            elif lenient:
                unsafe |= bound
            else:
                return None
        else:
            return None
    return names - unsafe, unsafe


def _stateless(tree: ast.Module, module_names: set[str]) -> bool:
    """No state kept between calls anywhere in the module (see the module's docstring)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Global | ast.Nonlocal | ast.ClassDef | ast.Yield | ast.YieldFrom
                      | ast.Await):
            return False
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            if not isinstance(node, ast.Lambda) and node.decorator_list:
                return False
            defaults = [*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)]
            if not all(_constant(d) for d in defaults):
                return False
        if isinstance(node, ast.Attribute | ast.Subscript) and isinstance(node.ctx, ast.Store | ast.Del):
            root = node.value
            while isinstance(root, ast.Attribute | ast.Subscript):
                root = root.value
            if not isinstance(root, ast.Name) or root.id in module_names or hasattr(builtins, root.id):
                return False
    return True


def _independent(statement: ast.stmt, allowed: set[str], shadowed: set[str]) -> bool:
    """An assert that names only `allowed` names and builtins not `shadowed` (and its own
    comprehension variables), and binds nothing."""
    if not isinstance(statement, ast.Assert):
        return False
    local: set[str] = set()
    loaded: set[str] = set()
    for node in ast.walk(statement):
        if isinstance(node, ast.NamedExpr | ast.Lambda | ast.Yield | ast.YieldFrom | ast.Await):
            return False
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else local).add(node.id)
    return all(name in allowed or name in local or (hasattr(builtins, name) and name not in shadowed)
               for name in loaded)
