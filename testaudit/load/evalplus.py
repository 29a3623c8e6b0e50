"""EvalPlus format (HumanEval+ and MBPP+): argument lists whose expected outputs come from the reference."""

from __future__ import annotations

import ast
import copy
import textwrap
from pathlib import Path

from testaudit.config import LoadOptions
from testaudit.errors import DatasetError, FieldError, UsageError
from testaudit.load.fields import (
    compiles_program,
    error_task,
    identifier,
    literal_list,
    record_id,
    text,
    top_level_functions,
    with_newline,
)
from testaudit.records import EvalPlusData, Origin, SuiteKind, Task
from testaudit.store.files import Record, read_records
from testaudit.suites.evalplus import CONTRACT_FUNCTION, deserialize, mbpp_number

REQUIRED = frozenset({"task_id", "prompt", "canonical_solution", "entry_point", "base_input", "plus_input"})
SUITES = ("base", "plus")


# --- contracts --------------------------------------------------------------------------------


def contract_lines(contract: str) -> list[str]:
    """The contract's statements, one a line, without their `# $_CONTRACT_$` markers."""
    lines = []
    for line in contract.splitlines():
        code = line.split("# $_CONTRACT_$")[0].strip()
        if code:
            lines.append(code)
    return lines


def contract_check(tree: ast.Module, entry_point: str, contract: str) -> str | None:
    """Source of a function with the entry point's parameters whose body is the contract.

    EvalPlus writes contracts as asserts to put at the top of the reference's body; a separate
    checker with the same signature tells, without running the reference, whether an input
    is one the task accepts. It is run in the reference's namespace (contracts use its imports).
    """
    if not contract.strip():
        return None
    node = next(n for n in reversed(tree.body)
                if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == entry_point)
    params = copy.deepcopy(node.args)
    for arg in (*params.posonlyargs, *params.args, params.vararg, *params.kwonlyargs, params.kwarg):
        if arg is not None:
            arg.annotation = None  # an annotation the checker cannot resolve must not break it
    body = textwrap.indent(textwrap.dedent(contract).strip("\n"), "    ")
    checker = f"def {CONTRACT_FUNCTION}({ast.unparse(params)}):\n{body}\n    return None\n"
    try:
        compile(checker, "contract", "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        raise FieldError(f"field 'contract' does not parse: {getattr(exc, 'msg', exc)}") from exc
    return checker


# --- records ----------------------------------------------------------------------------------


def tasks_from(records: list[Record], path: str, options: LoadOptions) -> list[Task]:
    return [_task(r, path, options) for r in records]


def _task(record: Record, path: str, options: LoadOptions) -> Task:
    if record.data is None:
        return error_task(record, path, None, record.error or "damaged record")
    try:
        return _build(record, path, options)
    except FieldError as exc:
        return error_task(record, path, record_id(record.data, "task_id"), str(exc))


def _inputs(data: dict, name: str) -> list:
    if name not in data:
        raise FieldError(f"field '{name}' is missing")
    value = data[name]
    if isinstance(value, dict) and not value:
        return []  # MBPP+ v0.2.0 writes Mbpp/793's empty plus_input as {}: EvalPlus runs none
    if not isinstance(value, list):
        raise FieldError(f"field '{name}' must be a list of argument lists, got {type(value).__name__}")
    return value


def _atol(data: dict) -> float:
    value = data.get("atol", 0) or 0
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise FieldError("field 'atol' must be a non-negative number")
    return float(value)


def _build(record: Record, path: str, options: LoadOptions) -> Task:
    data = record.data
    task_id = identifier(data, "task_id")
    prompt, solution = text(data, "prompt"), text(data, "canonical_solution")
    entry_point = text(data, "entry_point")
    source = with_newline(prompt + solution)
    tree = compiles_program(prompt, solution, "prompt")
    if entry_point not in top_level_functions(tree):
        raise FieldError(f"field 'entry_point': '{entry_point}' is not a function that "
                         "prompt + canonical_solution defines")
    base = deserialize(task_id, "base_input", _inputs(data, "base_input"))
    plus = deserialize(task_id, "plus_input", _inputs(data, "plus_input"))
    contract = text(data, "contract", "")
    atol = _atol(data)
    inputs, extra = (base, plus) if options.suite == "base" else (base + plus, [])
    family = "mbpp" if mbpp_number(task_id) is not None else "humaneval"
    intro = [
        f"EvalPlus {options.suite} suite of {task_id}: {entry_point}(*args) for each args below.",
        "The expected output of each is the reference's own, computed once per sandbox; outputs",
        f"compare as EvalPlus compares them (atol={atol:g}, special oracles), and inputs that break",
        "the contract are skipped. Shown for reading: the same inputs run, loaded from the dataset.",
    ]
    return Task(
        task_id=task_id,
        entry_point=entry_point,
        source=source,
        test=literal_list("inputs", inputs, intro),
        solution_start=len(prompt),
        solution_end=len(prompt) + len(solution),
        suite_kind=SuiteKind.INPUTS,
        origin=Origin(path, record.line),
        suite_data=EvalPlusData(
            inputs=inputs,
            extra_inputs=extra,  # the other suite's inputs: more chances for a witness
            atol=atol,
            family=family,  # which of EvalPlus's special comparisons apply
            contract=contract_lines(contract),
            contract_check=contract_check(tree, entry_point, contract),
        ),
    )


# --- borrowed contracts (--contracts) ----------------------------------------------------------


def borrowed_contracts(path: Path) -> dict[str, str]:
    """EvalPlus task id -> its contract checker's source, from a HumanEval+ or MBPP+ file.

    For --contracts: the same tasks of the original benchmark (HumanEval/N, and MBPP's and
    sanitized MBPP's task numbers, which testaudit spells Mbpp/N as EvalPlus does) borrow them.
    The checker keeps EvalPlus's parameter names; triage calls it with the arguments by position.
    A file that is not EvalPlus's, or a damaged record, is a one-line error naming it.
    """
    if not path.exists():
        raise UsageError(f"{path}: --contracts: no such file")
    try:
        records = read_records(path)
    except DatasetError as exc:
        raise UsageError(f"{path}: --contracts: {exc}") from exc
    found: dict[str, str] = {}
    for record in records:
        data = record.data
        if data is None:
            raise UsageError(f"{path}:{record.line}: --contracts: {record.error or 'damaged record'}")
        if not {"task_id", "prompt", "canonical_solution", "entry_point"} <= data.keys():
            raise UsageError(f"{path}:{record.line}: --contracts: not an EvalPlus record (it needs "
                             "task_id, prompt, canonical_solution, entry_point and contract)")
        contract = data.get("contract") or ""
        if not isinstance(contract, str) or not contract.strip():
            continue
        try:
            tree = compiles_program(data["prompt"], data["canonical_solution"], "prompt")
            checker = contract_check(tree, data["entry_point"], contract)
        except (FieldError, StopIteration) as exc:
            raise UsageError(f"{path}:{record.line}: --contracts: {exc}") from exc
        if checker is not None:
            found[str(data["task_id"])] = checker
    if not found:
        raise UsageError(f"{path}: --contracts: holds no contracts")
    return found
