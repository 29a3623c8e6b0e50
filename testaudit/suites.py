"""Suite runners for EvalPlus inputs, unittest classes and stdin/stdout programs (called by run_suite).

Each runner executes the candidate program itself, in the namespace `run_suite` gives it, and
raises SuiteFailure (whose str() is the one-line kill reason) when the suite fails. Any other
exception that escapes is described by `sandbox.describe_failure`. They run inside the sandbox
child, never in a worker or the parent.
"""

from __future__ import annotations

import builtins
import copy
import io
import math
import numbers
import os
import random
import reprlib
import sys
import traceback
import types
import unittest
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from testaudit.loaders.evalplus import CONTRACT_FUNCTION
from testaudit.records import SuiteKind

if TYPE_CHECKING:
    from testaudit.sandbox import PreparedTask

MESSAGE_LIMIT = 300
VALUE_LIMIT = 60


class SuiteFailure(Exception):
    """The suite failed; str() is the one-line kill reason."""


def broken_candidate(*args: object, **kwargs: object) -> None:
    """Stands in for the entry point to check that a suite calls it at all."""
    raise RuntimeError("testaudit: deliberately broken candidate")


_BROKEN_PROGRAM = compile('raise RuntimeError("testaudit: deliberately broken program")',
                          "<broken program>", "exec")


def _short(text: str, limit: int = MESSAGE_LIMIT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _repr(value: object) -> str:
    """A short repr that never builds the whole text of a huge output (reprlib elides)."""
    shorter = reprlib.Repr()
    shorter.maxlist = shorter.maxtuple = shorter.maxset = shorter.maxdict = 8
    shorter.maxstring = shorter.maxother = VALUE_LIMIT
    return shorter.repr(value)


def _value(value: object) -> str:
    try:
        return _short(_repr(value), VALUE_LIMIT)
    except Exception:  # a hostile __repr__, or an int past the digit limit
        return f"<{type(value).__name__}>"


def _exception(exc: BaseException, program: str) -> str:
    """`Type: message (in the program at line N)` for an exception raised by the candidate."""
    try:
        message = str(exc)
    except Exception:
        message = "<unprintable>"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == program]
    where = f" (in the program at line {frames[-1].lineno})" if frames else ""
    name = type(exc).__name__
    return f"{name}: {message}{where}" if message else f"{name}{where}"


def _arguments(args: Any) -> str:
    try:
        return _short(", ".join(_repr(a) for a in args), VALUE_LIMIT)
    except Exception:
        return "..."


def _fresh_namespace(name: str = "__main__") -> dict:
    return {"__name__": name, "__builtins__": builtins}


# --- EvalPlus: argument lists, outputs compared with the reference's ---------------------------


@dataclass(frozen=True)
class Oracle:
    """The reference's outputs on the suite's valid inputs, computed once per sandbox process."""

    cases: tuple[tuple[int, Any, Any], ...]  # (index in the suite, arguments, expected output)
    skipped: int  # inputs that break the task's contract
    failure: str | None  # the reference itself failed: the task is broken


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


def _contract_checker(prepared: PreparedTask, namespace: dict) -> Callable | None:
    source = prepared.task.metadata.get("contract_check")
    if not source:
        return None
    exec(compile(source, f"<contract {prepared.task.task_id}>", "exec", dont_inherit=True), namespace)
    return namespace[CONTRACT_FUNCTION]


def _compute_oracle(prepared: PreparedTask) -> Oracle:
    """Run the reference once on every input: the expected outputs (EvalPlus stores none)."""
    task = prepared.task
    namespace = _fresh_namespace()
    random.seed(prepared.seed)
    exec(prepared.reference_code, namespace)
    fn = namespace[task.entry_point]
    try:
        check = _contract_checker(prepared, namespace)
    except Exception as exc:  # the dataset's contract, not the reference, is at fault
        return Oracle((), 0, _short(f"the task's contract cannot be set up: {type(exc).__name__}: {exc}"))
    not_none = task.metadata.get("oracle") == "mbpp" and task.entry_point in MBPP_OUTPUT_NOT_NONE
    cases, skipped = [], 0
    random.seed(prepared.seed)
    for index, args in enumerate(task.metadata.get("inputs", ())):
        if check is not None:
            try:
                check(*copy.deepcopy(args))
            except NameError as exc:  # the contract itself is wrong: skipping every input would hide it
                return Oracle((), skipped, _short(f"the task's contract cannot run: NameError: {exc}"))
            except Exception:  # an assert of the contract, or an input it cannot even inspect
                skipped += 1
                continue
        try:
            out = fn(*copy.deepcopy(args))
        except BaseException as exc:
            reason = _exception(exc, prepared.reference_code.co_filename)
            return Oracle((), skipped, _short(f"the reference raises on input {index + 1}: {reason}"))
        cases.append((index, args, (out is not None) if not_none else out))
    return Oracle(tuple(cases), skipped, None)


def oracle(prepared: PreparedTask) -> Oracle:
    """The task's oracle, computed on first use in this process and kept on `prepared`."""
    found = prepared.cache.get("oracle")
    if found is None:
        found = prepared.cache["oracle"] = _compute_oracle(prepared)
    return found


def run_inputs(prepared: PreparedTask, program: types.CodeType, namespace: dict, broken: bool) -> None:
    task = prepared.task
    expected = oracle(prepared)
    if expected.failure:
        raise SuiteFailure(expected.failure)
    random.seed(prepared.seed)
    exec(program, namespace)
    fn = broken_candidate if broken else namespace[task.entry_point]
    meta = task.metadata
    check = EvalPlusCheck(task.entry_point, meta.get("oracle", "humaneval"), meta.get("atol", 0.0))
    total = len(meta.get("inputs", ()))
    random.seed(prepared.seed)
    for index, args, exp in expected.cases:
        call = f"input {index + 1} of {total}: {task.entry_point}({_arguments(args)})"
        try:
            out = fn(*copy.deepcopy(args))
        except BaseException as exc:  # SystemExit and friends fail the input too
            raise SuiteFailure(_short(f"{call} raised {_exception(exc, program.co_filename)}")) from exc
        try:
            same = check(out, exp, args)
        except Exception:  # EvalPlus asserts: a comparison that raises is a failed input
            same = False
        if not same:
            raise SuiteFailure(_short(f"{call} returned {_value(out)}, expected {_value(exp)}"))


# --- BigCodeBench: a unittest TestCases class -------------------------------------------------


class _FirstFailure(unittest.TestResult):
    """Stops at the first failing test and keeps its one-line description."""

    def __init__(self, describe: Callable[[object, tuple], str]) -> None:
        super().__init__()
        self.describe = describe
        self.failure: str | None = None

    def _fail(self, test: object, err: tuple | None) -> None:
        if self.failure is None:
            self.failure = self.describe(test, err)
        self.stop()

    def addError(self, test, err) -> None:  # noqa: N802 - unittest's names
        self._fail(test, err)

    def addFailure(self, test, err) -> None:  # noqa: N802
        self._fail(test, err)

    def addSubTest(self, test, subtest, err) -> None:  # noqa: N802
        if err is not None:
            self._fail(subtest, err)

    def addUnexpectedSuccess(self, test) -> None:  # noqa: N802
        self._fail(test, None)


def _test_name(test: object) -> str:
    case = getattr(test, "test_case", None)  # a subTest: its method and parameters
    if case is not None:
        return f"{getattr(case, '_testMethodName', case)} {test._subDescription()}"
    return getattr(test, "_testMethodName", None) or str(test)


def _describe_test(prepared: PreparedTask, program: str) -> Callable[[object, tuple | None], str]:
    def describe(test: object, err: tuple | None) -> str:
        if err is None:
            return _short(f"{_test_name(test)}: unexpected success")
        exc = err[1]
        frames = traceback.extract_tb(err[2])
        test_frames = [f for f in frames if f.filename == prepared.test_filename]
        where = ""
        if frames and frames[-1].filename == program:
            where = f" (in the program at line {frames[-1].lineno})"
        elif test_frames:
            line = test_frames[-1].lineno or 0
            shown = prepared.test_lines[line - 1].strip() if 0 < line <= len(prepared.test_lines) else ""
            where = f" (test line {line}: {shown})"
        try:
            message = str(exc)
        except Exception:
            message = "<unprintable>"
        kind = type(exc).__name__
        return _short(f"{_test_name(test)}: {kind}: {message}{where}" if message
                      else f"{_test_name(test)}: {kind}{where}")

    return describe


def _seed_numpy(seed: int) -> None:
    np = sys.modules.get("numpy")
    if np is not None:  # tests draw from numpy's global generator unseeded, like `random`
        try:
            np.random.seed(seed % 2**32)
        except Exception:
            pass


def run_unittest(prepared: PreparedTask, program: types.CodeType, namespace: dict, broken: bool) -> None:
    """BigCodeBench's harness: program + test in one module named __test__, TestCases run by unittest."""
    task = prepared.task
    module = types.ModuleType("__test__")
    scope = module.__dict__
    # What BigCodeBench's unsafe_execute puts in the module before running the code.
    scope.update({"__builtins__": builtins, "__file__": "__test__.py", "__package__": None,
                  "__doc__": None, "sys": sys, "os": os, "environ": os.environ})
    saved = sys.modules.get("__test__")
    sys.modules["__test__"] = module  # for tests that patch('__test__.name')
    try:
        exec(program, scope)
        if broken:
            scope[task.entry_point] = broken_candidate
        exec(prepared.test_code, scope)
        cases = scope.get("TestCases")
        if not (isinstance(cases, type) and issubclass(cases, unittest.TestCase)):
            raise SuiteFailure("the test defines no unittest TestCases class")
        _seed_numpy(prepared.seed)
        result = _FirstFailure(_describe_test(prepared, program.co_filename))
        unittest.defaultTestLoader.loadTestsFromTestCase(cases).run(result)
        if result.failure is not None:
            raise SuiteFailure(result.failure)
    finally:
        namespace.update(scope)
        if saved is None:
            sys.modules.pop("__test__", None)
        else:
            sys.modules["__test__"] = saved


# --- stdin/stdout programs --------------------------------------------------------------------


class _Sink(io.BytesIO):
    """The program's stdout: survives a program that closes sys.stdout."""

    def close(self) -> None:
        pass


def _feed_fd0(data: bytes) -> int | None:
    """Put the input on file descriptor 0 too, for programs that read open(0) or os.read(0)."""
    try:
        fd = os.memfd_create("testaudit-stdin")
    except (AttributeError, OSError):
        return None
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.lseek(fd, 0, os.SEEK_SET)
        saved = os.dup(0)
        os.dup2(fd, 0)
        return saved
    except OSError:
        return None
    finally:
        os.close(fd)


def _restore_fd0(saved: int | None) -> None:
    if saved is not None:
        os.dup2(saved, 0)
        os.close(saved)


def run_with_stdin(code: types.CodeType, namespace: dict, given: str) -> str:
    """Exec the program with `given` on stdin; what it wrote to stdout.

    Raises what the program raises, except SystemExit with status 0 or None: exit(0) ends a
    program normally, as under a judge. Also used by triage to run a program on new inputs.
    """
    data = given.encode("utf-8")
    sink = _Sink()
    stdin = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
    stdout = io.TextIOWrapper(sink, encoding="utf-8", write_through=True)
    saved = sys.stdin, sys.stdout
    fd0 = _feed_fd0(data)
    sys.stdin, sys.stdout = stdin, stdout
    try:
        exec(code, namespace)
    except SystemExit as exc:
        if exc.code not in (None, 0):
            raise
    finally:
        sys.stdin, sys.stdout = saved
        _restore_fd0(fd0)
    try:
        stdout.flush()
    except (ValueError, OSError):
        pass
    return sink.getvalue().decode("utf-8", "replace")


def _run_program(code: types.CodeType, namespace: dict, given: str, number: int) -> str:
    """Exec the program with `given` on stdin; what it wrote to stdout, or SuiteFailure."""
    try:
        return run_with_stdin(code, namespace, given)
    except SystemExit as exc:
        raise SuiteFailure(_short(f"test {number}: the program exited with status {exc.code!r}")) from exc
    except BaseException as exc:
        raise SuiteFailure(_short(f"test {number}: {_exception(exc, code.co_filename)}")) from exc


def _token_equal(got: str, want: str) -> bool:
    if got == want:
        return True
    # A real-valued answer (the expected token is written with a point or an exponent) is
    # accepted within 1e-6, as judges' float checkers do: 0.333333 for 0.333333333. An integer
    # answer must match exactly: 9.0 is not 9.
    if not any(c in want for c in ".eE"):
        return False
    try:
        a, b = float(got), float(want)
    except ValueError:
        return False
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6)


def same_output(got: str, want: str) -> bool:
    """Judges' comparison: the same whitespace-separated tokens (real numbers within 1e-6)."""
    a, b = got.split(), want.split()
    return len(a) == len(b) and all(_token_equal(x, y) for x, y in zip(a, b, strict=True))


def run_stdio(prepared: PreparedTask, program: types.CodeType, namespace: dict, broken: bool) -> None:
    code = _BROKEN_PROGRAM if broken else program
    scope = namespace
    try:
        for number, (given, want) in enumerate(prepared.task.metadata.get("cases", ()), start=1):
            scope = _fresh_namespace()  # every case is a fresh run of the program
            random.seed(prepared.seed)
            got = _run_program(code, scope, given, number)
            if not same_output(got, want):
                raise SuiteFailure(_short(f"test {number}: expected {_value(want)}, got {_value(got)}"))
    finally:
        if scope is not namespace:
            namespace.update(scope)  # the modules the program uses, for the damage fingerprint


RUNNERS: dict[SuiteKind, Callable[[PreparedTask, types.CodeType, dict, bool], None]] = {
    SuiteKind.INPUTS: run_inputs,
    SuiteKind.UNITTEST: run_unittest,
    SuiteKind.STDIO: run_stdio,
}
