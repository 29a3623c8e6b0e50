"""EvalPlus format (HumanEval+ and MBPP+): argument lists whose expected outputs come from the reference."""

from __future__ import annotations

import ast
import copy
import textwrap
from collections.abc import Callable

from testaudit.loaders.common import (
    FieldError,
    LoadOptions,
    compiles,
    error_task,
    identifier,
    literal_list,
    record_id,
    text,
    top_level_functions,
    with_newline,
)
from testaudit.loaders.jsonl import Record
from testaudit.records import Origin, SuiteKind, Task

REQUIRED = frozenset({"task_id", "prompt", "canonical_solution", "entry_point", "base_input", "plus_input"})
SUITES = ("base", "plus")
CONTRACT_FUNCTION = "__testaudit_contract__"


# --- JSON lists back into tuples and sets -----------------------------------------------------
# JSON has no tuple, set or complex, so EvalPlus stores MBPP+ inputs as lists (and complex numbers
# as strings) and converts them back by task number when it loads the file
# (evalplus/data/mbpp.py, mbpp_deserialize_inputs). The table below makes the same conversions
# for the same tasks; a program that expects a tuple and gets a list can fail (or pass) for the
# wrong reason, and the contract of such a task asserts the tuple.

Args = list


def _each_arg_tuple(args: Args) -> Args:
    return [tuple(a) for a in args]


def _each_arg_tuples(args: Args) -> Args:
    return [[tuple(x) for x in a] for a in args]


def _first_tuples(args: Args) -> Args:
    return [[tuple(x) for x in args[0]], args[1]]


def _second_tuple(args: Args) -> Args:
    return [args[0], tuple(args[1])]


def _sets(args: Args) -> Args:
    # EvalPlus turns an empty list into {} (a dict, not a set): kept, since that is what it runs.
    return [[set(x) if isinstance(x, list) and x else {} for x in args[0]]]


def _float_complex(args: Args) -> Args:
    return [float(args[0]), complex(args[1])]


def _first_tuple(args: Args) -> Args:
    return [tuple(args[0]), args[1]]


def _each_arg_tuple_of_tuples(args: Args) -> Args:
    return [tuple(tuple(x) for x in a) for a in args]


def _tuple_of_mixed(args: Args) -> Args:
    return [tuple(tuple(x) if isinstance(x, list) else x for x in args[0])]


def _first_tuple_of_three(args: Args) -> Args:
    return [tuple(args[0]), args[1], args[2]]


def _dict_of_tuples(args: Args) -> Args:
    return [{k: tuple(v) for k, v in args[0].items()}, *args[1:]]


def _complex(args: Args) -> Args:
    return [complex(args[0])]


def _all_tuples(value: object) -> object:
    return tuple(_all_tuples(x) for x in value) if isinstance(value, list) else value


_CONVERSIONS: tuple[tuple[Callable[[Args], object], tuple[int, ...]], ...] = (
    (_each_arg_tuple, (2, 116, 132, 143, 222, 261, 273, 394, 399, 421, 424, 429, 470, 560, 579,
                       596, 616, 630, 726, 740, 744, 809)),
    (_each_arg_tuples, (63, 64, 70, 94, 120, 237, 272, 299, 400, 409, 417, 438, 473, 614, 780)),
    (_first_tuples, (75, 413, 444, 753)),
    (_second_tuple, (106, 750)),
    (_sets, (115,)),
    (_float_complex, (124,)),
    (_first_tuple, (250, 405, 446, 617, 720, 763, 808)),
    (_each_arg_tuple_of_tuples, (259, 401, 445)),
    (_tuple_of_mixed, (278,)),
    (_first_tuple_of_three, (307,)),
    (_dict_of_tuples, (722,)),
    (_complex, (252,)),
    (_all_tuples, (580, 615, 791)),
)
CONVERSIONS: dict[int, Callable[[Args], object]] = {
    number: fn for fn, numbers in _CONVERSIONS for number in numbers
}


def mbpp_number(task_id: str) -> int | None:
    head, _, number = task_id.partition("/")
    return int(number) if head == "Mbpp" and number.isdigit() else None


def deserialize(task_id: str, field: str, inputs: list) -> list:
    """The inputs as EvalPlus runs them: JSON lists made tuples/sets for the MBPP+ tasks that need it."""
    number = mbpp_number(task_id)
    convert = CONVERSIONS.get(number) if number is not None else None
    result = []
    for i, args in enumerate(inputs):
        if not isinstance(args, list):
            raise FieldError(f"field '{field}' item {i + 1} must be a list of arguments, "
                             f"got {type(args).__name__}")
        if convert is not None:
            try:
                args = convert(args)
            except (TypeError, ValueError, IndexError, AttributeError) as exc:
                raise FieldError(f"field '{field}' item {i + 1} cannot be converted as EvalPlus "
                                 f"converts {task_id}'s inputs: {exc}") from exc
        result.append(args)
    return result


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
    tree = compiles(source, "canonical_solution")
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
        metadata={
            "reference": "EvalPlus canonical_solution",
            "suite": options.suite,
            "inputs": inputs,
            "extra_inputs": extra,  # the other suite's inputs: more chances for a witness
            "atol": atol,
            "oracle": family,  # which of EvalPlus's special comparisons apply
            "contract": contract_lines(contract),
            "contract_check": contract_check(tree, entry_point, contract),
        },
    )
