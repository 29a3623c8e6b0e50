"""Task rules for triage: which inputs are valid (preconditions), and which results are right (oracles).

A sidecar file (--preconditions) is JSON: an object mapping a task id to a precondition, a Python
expression over the entry point's parameter names (or a list of them, all of which must hold), or
to an object with a precondition and/or an oracle:

    {"HumanEval/13": "a > 0 and b > 0",
     "HumanEval/55": ["isinstance(n, int)", "0 <= n <= 30"],
     "HumanEval/32": {"oracle": "abs(poly(xs, result)) < 1e-4"}}

An input that makes a precondition false (or raise) is outside the task's domain and is dropped.
An oracle is an expression over the parameters and `result`, true when `result` is a right answer
for those arguments: a task with several right answers needs one, or a program that returns
another right answer than the reference's would be called wrong. Both run in the reference
program's namespace (they may use its imports and helpers), inside sandbox children.

An EvalPlus-style contract (`Suite.precondition`, from `EvalPlusData.contract`: `assert` lines,
as a string or a list of lines) is a precondition too.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Callable
from pathlib import Path

from testaudit.errors import UsageError
from testaudit.records import TaskRules
from testaudit.store.files import read_json
from testaudit.suites.evalplus import CONTRACT_FUNCTION
from testaudit.values import CO_VARARGS, CO_VARKEYWORDS

Check = Callable[[tuple, dict], bool]
Oracle = Callable[[tuple, dict, object], bool]


# Tasks whose own suite accepts several answers, keyed by (task id, entry point): the oracle says
# what the suite checks. HumanEval/32's check accepts any zero of the polynomial.
KNOWN: dict[tuple[str, str], TaskRules] = {
    ("HumanEval/32", "find_zero"): TaskRules(oracle="abs(poly(xs, result)) < 1e-4"),
}


def rules_for(task_id: str, entry_point: str, sidecar: dict[str, TaskRules]) -> TaskRules:
    """The sidecar's rules for a task, falling back field by field on the known ones."""
    known = KNOWN.get((task_id, entry_point), TaskRules())
    given = sidecar.get(task_id, TaskRules())
    return TaskRules(given.precondition or known.precondition, given.oracle or known.oracle,
                     given.contract or known.contract)


def read_sidecar(path: Path) -> dict[str, TaskRules]:
    """task id -> its rules; a bad file or field is a one-line error naming it."""
    data = read_json(path)
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a JSON object mapping task ids to preconditions")
    return {task_id: _rules(path, task_id, value) for task_id, value in data.items()}


def _rules(path: Path, task_id: str, value: object) -> TaskRules:
    if isinstance(value, dict):
        unknown = set(value) - {"precondition", "oracle"}
        if unknown:
            raise UsageError(f"{path}: field '{task_id}': unknown key '{sorted(unknown)[0]}' "
                             "(expected 'precondition' and/or 'oracle')")
        pre = value.get("precondition")
        oracle = value.get("oracle")
        if oracle is not None and not isinstance(oracle, str):
            raise UsageError(f"{path}: field '{task_id}.oracle': expected an expression")
        return TaskRules(None if pre is None else _expression(path, task_id, pre),
                         None if oracle is None else _expression(path, f"{task_id}.oracle", oracle))
    return TaskRules(_expression(path, task_id, value))


def _expression(path: Path, field: str, value: object) -> str:
    parts = value if isinstance(value, list) else [value]
    if not parts or not all(isinstance(p, str) and p.strip() for p in parts):
        raise UsageError(f"{path}: field '{field}': expected an expression or a list of them")
    for part in parts:
        try:
            ast.parse(part.strip(), mode="eval")
        except SyntaxError as exc:
            raise UsageError(
                f"{path}: field '{field}': not an expression: {part!r} ({exc.msg})") from exc
    return " and ".join(f"({p.strip()})" for p in parts)


def source_for(expression: str | None, contract: str | list | None) -> str | None:
    """The body of a precondition function: the contract's asserts, then the sidecar expression."""
    lines = []
    if isinstance(contract, list):
        contract = "\n".join(str(line) for line in contract)
    if contract and contract.strip():
        lines.append(textwrap.dedent(contract).strip("\n"))
    if expression:
        lines.append(f"assert {expression}")
    return "\n".join(lines) if lines else None


def parameters(function: object) -> list[str] | None:
    """The names of a function's positional parameters, or None when it takes *args/**kwargs."""
    code = getattr(function, "__code__", None)
    if code is None or code.co_flags & (CO_VARARGS | CO_VARKEYWORDS):
        return None
    return list(code.co_varnames[: code.co_argcount + code.co_kwonlyargcount])


def compile_check(body: str | None, function: object, namespace: dict) -> Check | None:
    """A predicate over (args, kwargs) for the entry point `function`, or None if there is none."""
    checker = _define(body, function, namespace, "")
    if checker is None:
        return None

    def holds(args: tuple, kwargs: dict) -> bool:
        try:
            checker(*args, **kwargs)
        except Exception:
            return False
        return True

    return holds


def compile_borrowed(source: str | None, function: object, namespace: dict) -> Check | None:
    """A borrowed contract (--contracts, `TaskRules.contract`): a function source with the
    parameters of the task's counterpart elsewhere, called with the arguments by position (the
    two benchmarks may name them differently). Run in the reference's namespace, in a child."""
    if not source:
        return None
    scope = dict(namespace)
    exec(compile(source, "<borrowed contract>", "exec", dont_inherit=True), scope)
    checker = scope[CONTRACT_FUNCTION]
    names = parameters(function) or []

    def holds(args: tuple, kwargs: dict) -> bool:
        values = list(args) + [kwargs[n] for n in names[len(args):] if n in kwargs]
        try:
            checker(*values)
        except Exception:
            return False
        return True

    return holds


def both(first: Check | None, second: Check | None) -> Check | None:
    """A check that holds when both do (either may be absent)."""
    if first is None or second is None:
        return first or second
    return lambda args, kwargs: first(args, kwargs) and second(args, kwargs)


def compile_oracle(expression: str | None, function: object, namespace: dict) -> Oracle | None:
    """A predicate over (args, kwargs, result): is result a right answer? None if no oracle."""
    if not expression:
        return None
    judge = _define(f"return bool({expression})", function, namespace, "result")
    if judge is None:
        return None

    def right(args: tuple, kwargs: dict, result: object) -> bool:
        try:
            return judge(result, *args, **kwargs)
        except Exception:
            return False

    return right


def _define(body: str | None, function: object, namespace: dict, first: str):
    """A function with the entry point's parameters (and `first` before them) and this body."""
    code = getattr(function, "__code__", None)
    if not body or code is None:
        return None
    signature = _signature(code)
    if first:
        signature = f"{first}, {signature}" if signature else first
    source = f"def __testaudit_rule__({signature}):\n" + textwrap.indent(body, "    ")
    scope = dict(namespace)
    exec(compile(source, "<task rule>", "exec", dont_inherit=True), scope)
    return scope["__testaudit_rule__"]


def _signature(code) -> str:
    """The parameter list of a code object, without defaults (every input passes all of them)."""
    names = code.co_varnames
    end = code.co_argcount + code.co_kwonlyargcount
    keyword_only = list(names[code.co_argcount : end])
    parts = list(names[: code.co_argcount])
    if code.co_flags & CO_VARARGS:
        parts.append("*" + names[end])
        end += 1
    elif keyword_only:
        parts.append("*")
    parts.extend(keyword_only)
    if code.co_flags & CO_VARKEYWORDS:
        parts.append("**" + names[end])
    return ", ".join(parts)
