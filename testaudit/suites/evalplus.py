"""EvalPlus (HumanEval+, MBPP+): argument lists, outputs compared with the reference's.

EvalPlus stores inputs, not outputs: the expected outputs come from running the reference once
per sandbox process (`oracle`), and a candidate's outputs are judged as EvalPlus's
`unsafe_execute` judges them (`EvalPlusCheck`: tolerance, special oracles).
"""

from __future__ import annotations

import copy
import json
import math
import numbers
import random
import sys
import time
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from testaudit.errors import FieldError
from testaudit.records import EvalPlusData, SuiteKind, Task
from testaudit.suites.base import (
    MAX_LENGTH,
    Comparison,
    FunctionSuite,
    Harness,
    PreparedTask,
    Probe,
    Result,
    SuiteFailure,
    all_or_none,
    arguments_text,
    assertion,
    broken_candidate,
    exception_text,
    fresh_namespace,
    has_code,
    literal,
    literal_call,
    value_text,
    wall_limit,
)
from testaudit.text import one_line
from testaudit.values import Input, fresh

# The name of the function a task's contract lines are wrapped in (see load/evalplus.py).
CONTRACT_FUNCTION = "__testaudit_contract__"


@dataclass(frozen=True)
class Oracle:
    """The reference's outputs on the suite's valid inputs, computed once per sandbox process."""

    cases: tuple[tuple[int, Any, Any], ...]  # (index in the suite, arguments, expected output)
    skipped: int  # inputs that break the task's contract
    failure: str | None  # the reference itself failed: the task is broken
    seconds: tuple[float, ...] = ()  # the reference's wall time per case, as EvalPlus records it


# evalplus 0.3.1, eval.untrusted_check: exec in an empty dict under swallow_io, with
# reliability_guard's exit, quit, help and open set to None; each input gets
# max(DEFAULT_MIN_TIME_LIMIT 1.0, DEFAULT_GT_TIME_LIMIT_FACTOR 4.0 x the reference's time), and
# the process min(60, their sum) + 2 s (sample_limit_s is that cap).
HARNESS = Harness("evalplus untrusted_check", None, disabled=("exit", "quit", "help", "open"),
                  sample_limit_s=62.0)
# evalplus.gen.util.trusted_exec, which computes the expected outputs: an empty dict, nothing else.
TRUSTED = Harness("evalplus trusted_exec", None, swallow_io=False, disabled=())
MIN_TIME_LIMIT_S = 1.0
TIME_LIMIT_FACTOR = 4.0


def input_limits(expected: Oracle) -> list[float]:
    """EvalPlus's limit for each input of a sample: from the reference's own time on it."""
    return [max(MIN_TIME_LIMIT_S, TIME_LIMIT_FACTOR * t) for t in expected.seconds]


# EvalPlus's special oracles (evalplus/eval/_special_oracle.py): tasks whose outputs are compared
# by other rules than equality. MBPP+ names them by entry point.
MBPP_OUTPUT_NOT_NONE = frozenset({"check_str", "text_match_three", "text_starta_endb"})
MBPP_OUTPUT_SET_EQ = frozenset({"similar_elements", "find_char_long", "common_in_nested_lists",
                                "extract_singly", "larg_nnum", "intersection_array",
                                "find_dissimilar", "Diff"})


def _poly(xs: list, x: float) -> float:
    return sum(coeff * math.pow(x, i) for i, coeff in enumerate(xs))


def _surface_area(base_edge: float, height: float) -> int:
    slant = math.sqrt((base_edge / 2) ** 2 + height**2)
    return round(base_edge**2 + 4 * (base_edge * slant) / 2)


def _digit_distance(a: int, b: int) -> int:
    x, y = str(a), str(b)
    width = max(len(x), len(y))
    return sum(abs(int(p) - int(q)) for p, q in zip(x.zfill(width), y.zfill(width), strict=True))


def _is_floats(x: object) -> bool:
    """EvalPlus's is_floats: a float, a non-empty list/tuple of floats, or a float array."""
    if isinstance(x, float):
        return True
    if isinstance(x, list | tuple) and x:
        return all(isinstance(i, float) for i in x)
    dtype = getattr(x, "dtype", None)
    return type(x).__name__ == "ndarray" and str(dtype) in ("float64", "float32")


def _allclose(a: object, b: object, atol: float, rtol: float = 1e-07) -> bool:
    """numpy.allclose's rule, |a - b| <= atol + rtol * |b| elementwise, without needing numpy."""
    np = sys.modules.get("numpy")
    if np is not None and (isinstance(a, np.ndarray) or isinstance(b, np.ndarray)):
        return bool(np.allclose(a, b, rtol=rtol, atol=atol))
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_allclose(x, y, atol, rtol) for x, y in zip(a, b, strict=True))
    if isinstance(a, numbers.Number) and isinstance(b, numbers.Number):
        if a == b:  # equal infinities are close
            return True
        try:
            return bool(abs(a - b) <= atol + rtol * abs(b))
        except (TypeError, OverflowError):
            return False
    return False


class EvalPlusCheck:
    """Compares a candidate's output with the expected one as EvalPlus's unsafe_execute does."""

    def __init__(self, entry_point: str, family: str, atol: float) -> None:
        self.entry_point = entry_point
        self.family = family
        self.atol = atol

    def _mbpp_exact(self, out: Any, exp: Any, args: Any, exact: bool) -> bool:
        name = self.entry_point
        if name == "are_equivalent":  # Mbpp/164: any output passes
            return True
        if name == "sum_div":  # Mbpp/295
            return exact or out == 0
        if name == "surface_Area":  # Mbpp/581
            return exact or abs(out - _surface_area(*args)) <= self.atol
        if name == "digit_distance_nums":  # Mbpp/558
            return exact or out == _digit_distance(*args)
        if name in MBPP_OUTPUT_SET_EQ:
            return set(out) == set(exp)
        if name in MBPP_OUTPUT_NOT_NONE:
            return out == exp if isinstance(out, bool) else exp == (out is not None)
        return exact

    def __call__(self, out: Any, exp: Any, args: Any) -> bool:
        exact = out == exp
        if self.family == "mbpp":
            exact = self._mbpp_exact(out, exp, args, exact)
        elif self.entry_point == "find_zero":  # HumanEval/32: any root will do
            return bool(abs(_poly(*args, out)) <= self.atol)
        if self.atol == 0 and _is_floats(exp):
            # EvalPlus sets this on its loop's variable: it holds for the inputs after this one too.
            self.atol = 1e-6
        if not exact and self.atol != 0:
            if type(out) is not type(exp):
                return False
            if isinstance(exp, list | tuple) and len(out) != len(exp):
                return False
            return _allclose(out, exp, self.atol)
        return bool(exact)


def evalplus_same(entry_point: str, family: str, atol: float, args: Any, expected: Any, actual: Any) -> bool:
    """Would EvalPlus accept `actual` where the reference returned `expected`? (for triage)

    A fresh check per input: the tolerance is the task's atol, or 1e-6 when that is 0 and the
    expected output is a float (EvalPlus's rule, without its carry-over to later inputs).
    """
    if family == "mbpp" and entry_point in MBPP_OUTPUT_NOT_NONE:
        expected = expected is not None  # what _compute_oracle keeps for these tasks
    try:
        return EvalPlusCheck(entry_point, family, atol)(actual, expected, args)
    except Exception:  # EvalPlus asserts: a comparison that raises is a failed input
        return False


def _type_only(expected: Any, actual: Any, atol: float) -> bool:
    # Only the reference's float against a program's int: the other way round (Mbpp/57's
    # `float(n)` for an int result) the program is the one that rounds, and that is a real miss.
    # And only past 2**53, where a float cannot hold every integer: below it an int where a float
    # is wanted (3 for 3.0000001) is EvalPlus's rule to keep.
    return (type(expected) is float and type(actual) is int and abs(expected) >= 2.0**53
            and _allclose(actual, expected, atol))


def data(task: Task) -> EvalPlusData:
    """The task's EvalPlus data (none: no inputs, EvalPlus's default rules)."""
    return task.suite_data if isinstance(task.suite_data, EvalPlusData) else EvalPlusData([], [])


def _contract_checker(prepared: PreparedTask, namespace: dict) -> Callable | None:
    source = data(prepared.task).contract_check
    if not source:
        return None
    exec(compile(source, f"<contract {prepared.task.task_id}>", "exec", dont_inherit=True), namespace)
    return namespace[CONTRACT_FUNCTION]


def _compute_oracle(prepared: PreparedTask) -> Oracle:
    """Run the reference once on every input: the expected outputs (EvalPlus stores none)."""
    task = prepared.task
    namespace = fresh_namespace(TRUSTED)
    random.seed(prepared.seed)
    exec(prepared.reference_code, namespace)
    fn = namespace[task.entry_point]
    try:
        check = _contract_checker(prepared, namespace)
    except Exception as exc:  # the dataset's contract, not the reference, is at fault
        return Oracle((), 0, one_line(f"the task's contract cannot be set up: {type(exc).__name__}: {exc}"))
    not_none = data(task).family == "mbpp" and task.entry_point in MBPP_OUTPUT_NOT_NONE
    cases, skipped, seconds = [], 0, []
    random.seed(prepared.seed)
    for index, args in enumerate(data(task).inputs):
        if check is not None:
            try:
                check(*copy.deepcopy(args))
            except NameError as exc:  # the contract itself is wrong: skipping every input would hide it
                return Oracle((), skipped, one_line(f"the task's contract cannot run: NameError: {exc}"))
            except Exception:  # an assert of the contract, or an input it cannot even inspect
                skipped += 1
                continue
        try:
            arguments = copy.deepcopy(args)
            started = time.perf_counter()
            out = fn(*arguments)
            seconds.append(time.perf_counter() - started)
        except BaseException as exc:
            reason = exception_text(exc, prepared.reference_code.co_filename)
            return Oracle((), skipped, one_line(f"the reference raises on input {index + 1}: {reason}"))
        cases.append((index, args, (out is not None) if not_none else out))
    return Oracle(tuple(cases), skipped, None, tuple(seconds))


def oracle(prepared: PreparedTask) -> Oracle:
    """The task's oracle, computed on first use in this process and kept on `prepared`."""
    found = prepared.cache.get("oracle")
    if found is None:
        found = prepared.cache["oracle"] = _compute_oracle(prepared)
    return found


def _call(fn: Callable, args: list, limit: float) -> object:
    if not limit:  # a mutant: the sandbox's CPU budget bounds the whole run
        return fn(*args)
    with wall_limit(limit):  # a sample: EvalPlus's own limit for this input
        return fn(*args)


def run_inputs(prepared: PreparedTask, program: types.CodeType, namespace: dict, broken: bool) -> None:
    task = prepared.task
    expected = oracle(prepared)
    if expected.failure:
        raise SuiteFailure(expected.failure)
    random.seed(prepared.seed)
    exec(program, namespace)
    fn = broken_candidate if broken else namespace[task.entry_point]
    given = data(task)
    check = EvalPlusCheck(task.entry_point, given.family, given.atol)
    total = len(given.inputs)
    limits = input_limits(expected) if prepared.sample else [0.0] * len(expected.cases)
    random.seed(prepared.seed)
    for (index, args, exp), limit in zip(expected.cases, limits, strict=True):
        call = f"input {index + 1} of {total}: {task.entry_point}({arguments_text(args)})"
        try:
            out = _call(fn, copy.deepcopy(args), limit)
        except BaseException as exc:  # SystemExit and friends fail the input too
            raise SuiteFailure(one_line(f"{call} raised {exception_text(exc, program.co_filename)}")) from exc
        try:
            same = check(out, exp, args)
        except Exception:  # EvalPlus asserts: a comparison that raises is a failed input
            same = False
        if not same:
            raise SuiteFailure(one_line(f"{call} returned {value_text(out)}, expected {value_text(exp)}"))


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


# --- triage: comparison as EvalPlus judges, suggested tests as an input line and an assertion --


@dataclass(frozen=True)
class EvalPlusComparison(Comparison):
    """As EvalPlus judges outputs: its tolerance and special oracles (`evalplus_same`)."""

    kind: SuiteKind = SuiteKind.INPUTS
    entry_point: str = ""
    family: str = "humaneval"  # which special oracles apply
    task_id: str = ""  # which of its JSON-to-tuple conversions apply to an input

    def same(self, inp: Input | None, expected: object, actual: object) -> bool:
        args = fresh(inp.args) if inp is not None else ()
        if evalplus_same(self.entry_point, self.family, self.atol, args, expected, actual):
            return True
        # EvalPlus also fails an int where it expects a float once the two differ at all, even by
        # less than its tolerance: Mbpp/80's `n*(n+1)*(n+2) // 6` is *exact* where the reference's
        # `/ 6` rounds (10942775362050671 vs 1.0942775362050672e+16). No reader takes that for a
        # wrong program, and no test short of a type check pins it: triage calls the two the same
        # (the run stage, and bench_validity's judge, keep EvalPlus's rule: evalplus_same).
        return _type_only(expected, actual, self.atol or 1e-6)


# MBPP+ tasks whose outputs EvalPlus accepts by other rules than equality (EvalPlusCheck).
MBPP_SPECIAL = MBPP_OUTPUT_NOT_NONE | {"are_equivalent", "sum_div", "surface_Area", "digit_distance_nums"}

EVALPLUS_INPUT = "# input: "  # the first line of an EvalPlus suggested test


def _jsonable(value: object) -> object:
    """An argument as EvalPlus stores it in JSON: tuples and sets as lists, complex as a string."""
    kind = type(value)
    if kind in (list, tuple):
        return [_jsonable(v) for v in value]
    if kind in (set, frozenset):
        return [_jsonable(v) for v in sorted(value, key=repr)]
    if kind is dict:
        return {k: _jsonable(v) for k, v in value.items()}
    if kind is complex:
        return str(value)
    return value


def read_evalplus_input(text: str, task_id: str) -> list | None:
    """The arguments of an EvalPlus test's input line, converted as EvalPlus converts its JSON."""
    first = text.splitlines()[0] if text else ""
    if not first.startswith(EVALPLUS_INPUT):
        return None
    try:
        args = json.loads(first[len(EVALPLUS_INPUT):])
        return deserialize(task_id, "input", [args])[0] if isinstance(args, list) else None
    except (ValueError, FieldError):
        return None


def evalplus_input(task_id: str, inp: Input) -> str | None:
    """The input line: `# input: [args as JSON]`, if EvalPlus reads it back as these arguments."""
    if inp.kwargs:
        return None  # EvalPlus calls entry_point(*args)
    try:
        line = EVALPLUS_INPUT + json.dumps(_jsonable(list(inp.args)), ensure_ascii=False)
    except (TypeError, ValueError):
        return None  # a dict with keys JSON cannot hold
    back = read_evalplus_input(line, task_id)
    return line if back is not None and repr(tuple(back)) == repr(inp.args) else None


def evalplus_test(inp: Input, expected: object, task_id: str, entry_point: str, family: str,
                  atol: float) -> str | None:
    """An input line for base_input/plus_input, then an assertion that checks what EvalPlus checks.

    The assertion is left out for tasks whose outputs EvalPlus judges by a special oracle other
    than set equality (any root, any non-None...): no `==` says the same.
    """
    line = evalplus_input(task_id, inp)
    if line is None:
        return None
    special = (family == "humaneval" and entry_point == "find_zero"
               or family == "mbpp" and entry_point in MBPP_SPECIAL)
    if family == "mbpp" and entry_point in MBPP_OUTPUT_SET_EQ:
        call, wanted = literal_call(inp, entry_point), literal(expected)
        check = None if call is None or wanted is None else f"assert set({call}) == set({wanted})"
    elif special:
        check = None
    else:
        check = assertion(inp, expected, entry_point, atol or 1e-6, 1e-7)
    if check is None or len(check) > MAX_LENGTH:
        return line if len(line) <= MAX_LENGTH else None
    return f"{line}\n{check}"


class EvalPlusSuite(FunctionSuite):
    """EvalPlus inputs: the expected outputs are the reference's, judged as EvalPlus judges."""

    kind = SuiteKind.INPUTS
    harness = HARNESS

    def run(self, prepared: PreparedTask, program: types.CodeType, namespace: dict, broken: bool) -> None:
        run_inputs(prepared, program, namespace, broken)

    def sample_limit(self, prepared: PreparedTask) -> float:
        # untrusted_check's process timeout with fast_check: min(60, sum of the limits) + 1,
        # joined with another second.
        return min(60.0, sum(input_limits(oracle(prepared)))) + 2.0

    def input_limit(self, reference_seconds: float) -> float | None:
        return max(MIN_TIME_LIMIT_S, TIME_LIMIT_FACTOR * reference_seconds)

    def comparison(self, task: Task, atol: float) -> EvalPlusComparison:
        given = data(task)  # the dataset's own tolerance, never the --atol setting
        own = float(given.atol) if isinstance(given.atol, int | float) and given.atol > 0 else 0.0
        return EvalPlusComparison(own, entry_point=task.entry_point, family=str(given.family),
                                  task_id=task.task_id)

    def dataset_inputs(self, task: Task) -> list:
        # The audited suite's own argument lists, then the other suite's: more chances for a witness.
        given = data(task)
        return [*(given.inputs or ()), *(given.extra_inputs or ())]

    def precondition(self, task: Task) -> list[str] | None:
        return data(task).contract

    def write_test(self, task: Task, inp: Input, expected: Result, atol: float) -> str | None:
        if expected.kind != "value":
            return None  # the reference raises here (an input of the suite): no value to assert
        compare = self.comparison(task, atol)
        return evalplus_test(inp, expected.value, task.task_id, task.entry_point, compare.family,
                             compare.atol)

    def oracle_test(self, task: Task, inp: Input, assertion: str | None) -> str | None:
        if assertion is None:
            return None
        line = evalplus_input(task.task_id, inp)
        return f"{line}\n{assertion}" if line else None

    def check_test(self, text: str, compare: Comparison, probe: Probe) -> bool | None:
        """The input line (read back as EvalPlus reads its JSON) and the assertion: a test passes
        when both forms pass and fails when both fail."""
        verdicts = []
        if text.startswith(EVALPLUS_INPUT):
            args = read_evalplus_input(text, getattr(compare, "task_id", ""))
            verdicts.append(None if args is None else probe.agrees(Input(tuple(args))))
        if has_code(text):
            verdicts.append(probe.assertion(text))
        return all_or_none(verdicts)


SUITE = EvalPlusSuite()
