"""Differential testing: run a program and the reference on the same inputs and compare the results.

The functions here run inside sandbox children (sandbox/child.py): they call task code.
"""

from __future__ import annotations

import builtins
import json
import math
import random
import signal
import time
import unittest
from collections.abc import Callable
from dataclasses import dataclass, field

from testaudit.sandbox.child import CallTimeout, Send
from testaudit.suites.evalplus import evalplus_same
from testaudit.suites.stdio import run_with_stdin, same_output
from testaudit.triage.rules import Oracle, compile_oracle
from testaudit.triage.suggest import EVALPLUS_INPUT, read_evalplus_input
from testaudit.values import Input, fresh, is_plain

TEXT_LIMIT = 300
# Failures that say more about resources than about results: a mutant that is slower or recurses
# deeper than the reference may still compute the same thing, so these never make a witness.
_RESOURCE = (MemoryError, RecursionError)


@dataclass(frozen=True)
class Outcome:
    """What one call did. pickleable: expected outcomes travel from the reference's child."""

    kind: str  # "value", "raised", "timeout" or "resource"
    value: object = None  # the returned value, for "value" (plain data only when pickled)
    error: str | None = None  # the exception's type name, for "raised" and "resource"
    text: str = ""  # for reports, when not a value: "raises Type: message", "no result within..."
    seconds: float = 0.0  # CPU time of the call

    @property
    def conclusive(self) -> bool:
        return self.kind in ("value", "raised")

    def describe(self) -> str:
        """For reports: the value's repr (made only when asked: most results are never shown)."""
        return describe_value(self.value) if self.kind == "value" else self.text


def short(text: str, limit: int = TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe_value(value: object) -> str:
    try:
        return short(repr(value))
    except BaseException:  # a hostile or broken __repr__
        return f"<unrepresentable {type(value).__name__}>"


def describe_error(exc: BaseException) -> str:
    try:
        message = str(exc)
    except BaseException:
        message = ""
    name = type(exc).__name__
    return short(f"raises {name}: {message}" if message else f"raises {name}")


def reseed(source: str, seed: int) -> int | None:
    """The seed to set before each call, or None for a program that never names `random`.

    Seeding costs as much as a small call; a program that does not mention random is
    deterministic without it (and the reference's determinism is checked anyway).
    """
    return seed if "random" in source else None


def call(function: object, inp: Input, timeout: float, seed: int | None) -> Outcome:
    """Call function on a fresh copy of the input, under a CPU-time alarm of `timeout` seconds."""
    args, kwargs = fresh(inp.args), fresh(inp.kwargs)
    if seed is not None:  # a program that draws random numbers draws the same ones every call
        random.seed(seed)
    started = time.process_time()
    try:
        try:
            signal.setitimer(signal.ITIMER_PROF, *_alarm_times(timeout))
            value = function(*args, **kwargs)
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
    except CallTimeout:
        return Outcome("timeout", text=f"no result within {timeout:.3g} s", seconds=timeout)
    except _RESOURCE as exc:
        return Outcome("resource", error=type(exc).__name__, text=describe_error(exc))
    except BaseException as exc:  # SystemExit and friends are results too, compared by type
        return Outcome("raised", error=_qualname(type(exc)), text=describe_error(exc),
                       seconds=time.process_time() - started)
    return Outcome("value", value, seconds=time.process_time() - started)


def _qualname(kind: type) -> str:
    return f"{kind.__module__}.{kind.__qualname__}"


def _alarm_times(timeout: float) -> tuple[float, float]:
    # Repeating: a program that swallows the first CallTimeout gets another one.
    first = max(timeout, 0.001)
    return first, first


_NUMBERS = (int, float, bool)


def same(expected: object, actual: object, atol: float) -> bool:
    """Python's == on results, except that floats within atol are equal, recursively in containers.

    NaN equals NaN here: a program that returns NaN where the reference does is not wrong.
    """
    te, ta = type(expected), type(actual)
    if (te is float or ta is float) and te in _NUMBERS and ta in _NUMBERS:
        e, a = float(expected), float(actual)
        if math.isnan(e) or math.isnan(a):
            return math.isnan(e) and math.isnan(a)
        return e == a or abs(e - a) <= atol
    if te is ta and te in (list, tuple):
        return len(expected) == len(actual) and all(
            same(x, y, atol) for x, y in zip(expected, actual, strict=True))
    if te is ta is dict:
        return expected.keys() == actual.keys() and all(
            same(v, actual[k], atol) for k, v in expected.items())
    try:
        return bool(expected == actual)
    except BaseException:  # an __eq__ that raises: not equal, as far as any test can tell
        return False


# How suggested tests are written and checked, by suite kind (see suggest.py).
PYTHON, UNITTEST, EVALPLUS, STDIO = "python", "unittest", "evalplus", "stdio"


@dataclass(frozen=True)
class Comparison:
    """How results are compared, and suggested tests run, for one task. pickleable: in the plans.

    `style` PYTHON and UNITTEST: `same` with `atol`; EVALPLUS: as EvalPlus judges outputs (its
    tolerance and special oracles, `evalplus_same`); STDIO: the result is what the program
    wrote to stdout, compared as judges do (`same_output`).
    """

    atol: float = 1e-6
    style: str = PYTHON
    entry_point: str = ""
    family: str = "humaneval"  # EvalPlus: which special oracles apply
    task_id: str = ""  # EvalPlus: which of its JSON-to-tuple conversions apply to an input

    def same(self, inp: Input | None, expected: object, actual: object) -> bool:
        if self.style == EVALPLUS:
            args = fresh(inp.args) if inp is not None else ()
            return evalplus_same(self.entry_point, self.family, self.atol, args, expected, actual)
        if self.style == STDIO:
            return type(actual) is str and type(expected) is str and same_output(actual, expected)
        return same(expected, actual, self.atol)

    def describe(self, outcome: Outcome) -> str:
        """For witnesses: a stdin program's output as the text it wrote, else `Outcome.describe`."""
        if self.style == STDIO and outcome.kind == "value" and type(outcome.value) is str:
            return short(outcome.value)
        return outcome.describe()


def agree(expected: Outcome, actual: Outcome, compare: float | Comparison, judge: Oracle | None = None,
          inp: Input | None = None) -> bool | None:
    """Do two outcomes agree? None when `actual` is inconclusive (timeout, resources).

    `compare` is a Comparison, or an atol for Python's == with float tolerance. With an oracle
    (`judge`, for tasks with several right answers), a returned value agrees when the oracle
    accepts it for the input, whatever the reference returned.
    """
    if not actual.conclusive:
        return None
    if expected.kind == "raised" or actual.kind == "raised":
        return expected.kind == actual.kind and expected.error == actual.error
    if judge is not None and inp is not None:
        return judge(fresh(inp.args), fresh(inp.kwargs), actual.value)
    if isinstance(compare, Comparison):
        return compare.same(inp, expected.value, actual.value)
    return same(expected.value, actual.value, compare)


def load_judge(oracle: str | None, reference: str, entry_point: str, seed: int) -> Oracle | None:
    """The task's oracle, defined in a namespace of the reference program (never the candidate's:
    a sample could redefine the helpers an oracle calls)."""
    if not oracle:
        return None
    namespace, function = load_program(reference, "<reference>", entry_point, seed)
    return compile_oracle(oracle, function, namespace)


def stdin_program(code: object) -> Callable[[str], str]:
    """A stdin/stdout program as a function: stdin text -> stdout text, a fresh run each call."""

    def run(given: str) -> str:
        return run_with_stdin(code, {"__name__": "__main__", "__builtins__": builtins}, given)

    return run


def load_program(source: str, filename: str, entry_point: str, seed: int,
                 stdio: bool = False) -> tuple[dict, object]:
    """Run a program in a fresh namespace, as the suite would: (namespace, entry point).

    With `stdio`, the program reads stdin: it is compiled, not run, and the "entry point" is
    `stdin_program` of it (its namespace is empty).
    """
    namespace: dict = {"__name__": "__main__", "__builtins__": builtins}
    random.seed(seed)
    code = compile(source, filename, "exec", dont_inherit=True)
    if stdio:
        return namespace, stdin_program(code)
    exec(code, namespace)
    function = namespace.get(entry_point)
    if not callable(function):
        raise LookupError(f"the program defines no function {entry_point!r}")
    return namespace, function


@dataclass(frozen=True)
class DiffPlan:
    """What a differential child does: the program, the inputs in preference order, the budgets."""

    source: str
    filename: str
    entry_point: str
    inputs: tuple[Input, ...]
    expected: tuple[Outcome, ...]
    call_timeout: float
    cpu_budget: float  # for the whole run over the inputs
    compare: Comparison
    seed: int
    reference: str = ""  # the reference program, where an oracle is defined
    oracle: str | None = None  # see preconditions.TaskRules
    max_inconclusive: int = 3  # stop after this many timeouts: the program is slow, say no more
    # Once a program disagrees somewhere, this much more CPU time maps what else it gets wrong
    # (for choosing a small set of tests); a full run is only needed to find no disagreement.
    after_found: float = 0.05


SAFETY = 3.0


def _counts(plan: DiffPlan) -> tuple[int, int]:
    """How many inputs the CPU budget buys, and how many more after a first disagreement, at
    the reference's median cost per call rounded up to a power of two (so that a few percent
    of timing noise between runs does not change the counts)."""
    costs = sorted(getattr(o, "seconds", 0.0) for o in plan.expected) or [0.0]
    per_call = 2.0 ** math.ceil(math.log2(max(costs[len(costs) // 2], 2e-6)))
    return max(20, int(plan.cpu_budget / per_call)), max(1, int(plan.after_found / per_call))


def diff_body(plan: DiffPlan, send: Send) -> None:
    """Child body: run the program on every input; send the indices where it disagrees.

    Frames: ("loaded", None) or ("broken", message); then ("batch", tried, [(index, actual text)])
    at least every 50 ms of CPU; then ("end", tried).
    """
    try:
        judge = load_judge(plan.oracle, plan.reference, plan.entry_point, plan.seed)
        _, function = load_program(plan.source, plan.filename, plan.entry_point, plan.seed,
                                   plan.compare.style == STDIO)
    except BaseException as exc:
        send(("broken", describe_error(exc)))
        return
    send(("loaded", None))
    seed = reseed(plan.source, plan.seed)
    started = last = time.process_time()
    found: list[tuple[int, str]] = []
    inconclusive = tried = 0
    first_found: float | None = None
    max_tried, after_found = _counts(plan)
    found_at: int | None = None
    for index, inp in enumerate(plan.inputs):
        # No call may run past the budget: one cut short is inconclusive, never a disagreement.
        left = SAFETY * plan.cpu_budget - (time.process_time() - started)
        outcome = call(function, inp, min(plan.call_timeout, max(left, 0.005)), seed)
        tried += 1
        verdict = agree(plan.expected[index], outcome, plan.compare, judge, inp)
        if verdict is None:
            inconclusive += 1
        elif not verdict:
            found.append((index, plan.compare.describe(outcome)))
        now = time.process_time()
        if found and first_found is None:
            first_found, found_at = now, tried
        # Counts, not clocks, decide where a run stops: two runs try the same inputs. The CPU
        # budget x SAFETY only guards against inputs far costlier than the reference's own.
        stop = (inconclusive >= plan.max_inconclusive or tried >= max_tried
                or now - started > SAFETY * plan.cpu_budget
                or (found_at is not None and tried - found_at >= after_found))
        if stop or now - last > 0.05:
            send(("batch", tried, found))
            found, last = [], now
            if stop:
                break
    send(("batch", tried, found))
    send(("end", tried))


@dataclass(frozen=True)
class VerifyPlan:
    """What a verification child does, in a fresh process: re-run inputs, run assertions."""

    source: str
    filename: str
    entry_point: str
    inputs: tuple[tuple[int, Input, Outcome], ...]  # (index, input, expected) to re-run
    assertions: tuple[str, ...]  # suggested tests, written in `compare.style` (see suggest.py)
    candidate_name: str  # the name the assertions call: "candidate" for HumanEval checks
    call_timeout: float
    compare: Comparison
    seed: int
    reference: str = ""
    oracle: str | None = None
    # EvalPlus: the reference's outcome on each assertion's input, to judge its input form
    expected: tuple[Outcome | None, ...] = field(default_factory=tuple)


def verify_body(plan: VerifyPlan, send: Send) -> None:
    """Child body. Frames: ("broken", message) or ("rerun", index, disagrees, actual text) per input,
    then ("assert", position, passed) per assertion (passed: True, False, or None when it neither
    passes nor fails), then ("end", None)."""
    try:
        judge = load_judge(plan.oracle, plan.reference, plan.entry_point, plan.seed)
        namespace, function = load_program(plan.source, plan.filename, plan.entry_point, plan.seed,
                                           plan.compare.style == STDIO)
    except BaseException as exc:
        send(("broken", describe_error(exc)))
        return
    seed = reseed(plan.source, plan.seed)
    for index, inp, expected in plan.inputs:
        outcome = call(function, inp, plan.call_timeout, seed)
        verdict = agree(expected, outcome, plan.compare, judge, inp)
        send(("rerun", index, verdict is False, plan.compare.describe(outcome)))
    scope = dict(namespace)
    scope[plan.candidate_name] = function
    if plan.compare.style == UNITTEST:  # the suggested lines are TestCase assertions
        scope["self"] = unittest.TestCase()
    for position, text in enumerate(plan.assertions):
        expected = plan.expected[position] if position < len(plan.expected) else None
        send(("assert", position, check_test(plan, text, expected, scope, function, judge, seed)))
    send(("end", None))


def check_test(plan: VerifyPlan, text: str, expected: Outcome | None, scope: dict, function: object,
               judge: Oracle | None, seed: int | None) -> bool | None:
    """Run one suggested test in the form its style gives it: True passes, False fails, else None.

    An EvalPlus test has two forms, the input line (an argument list for the dataset) and the
    assertion: it passes when both pass and fails when both fail.
    """
    style = plan.compare.style
    if style == STDIO:
        return _stdio_case(text, function, plan.call_timeout, seed)
    verdicts = []
    if style == EVALPLUS and text.startswith(EVALPLUS_INPUT):
        verdicts.append(_evalplus_input(text, expected, function, plan, judge, seed))
    if any(line.strip() and not line.lstrip().startswith("#") for line in text.splitlines()):
        verdicts.append(run_assertion(text, scope, plan.call_timeout, plan.seed))
    if verdicts and all(v is True for v in verdicts):
        return True
    if verdicts and all(v is False for v in verdicts):
        return False
    return None


def _stdio_case(text: str, function: object, timeout: float, seed: int | None) -> bool | None:
    """A stdin/stdout case {"input", "output"}: does the program's output match?"""
    try:
        case = json.loads(text)
        given, want = case["input"], case["output"]
    except (ValueError, KeyError, TypeError):
        return None
    outcome = call(function, Input((given,)), timeout, seed)
    if not outcome.conclusive:
        return None
    return outcome.kind == "value" and same_output(outcome.value, want)


def _evalplus_input(text: str, expected: Outcome | None, function: object, plan: VerifyPlan,
                    judge: Oracle | None, seed: int | None) -> bool | None:
    """The input line of an EvalPlus test, read back as EvalPlus reads its JSON: is it judged right?"""
    args = read_evalplus_input(text, plan.compare.task_id)
    if args is None or expected is None:
        return None
    inp = Input(tuple(args))
    return agree(expected, call(function, inp, plan.call_timeout, seed), plan.compare, judge, inp)


def run_assertion(text: str, scope: dict, timeout: float, seed: int) -> bool | None:
    """True if the assertion passes, False if it fails or raises, None if it does not finish."""
    try:
        code = compile(text, "<suggested test>", "exec", dont_inherit=True)
    except SyntaxError:
        return False
    random.seed(seed)
    try:
        try:
            signal.setitimer(signal.ITIMER_PROF, *_alarm_times(timeout))
            exec(code, dict(scope))
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
    except CallTimeout:
        return None
    except BaseException:
        return False
    return True


def sendable(inp: Input, outcome: Outcome) -> bool:
    """Can this input and the reference's outcome on it leave the child? (plain data only)"""
    return is_plain(inp.args) and is_plain(inp.kwargs) and (
        outcome.kind != "value" or is_plain(outcome.value))


def program_filename(kind: str, ident: str) -> str:
    """A filename for compiled task code that tracebacks and coverage can tell apart."""
    return f"<{kind} {ident}>"

