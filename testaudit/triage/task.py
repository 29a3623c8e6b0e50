"""One task's survivor triage, run by a worker: explore inputs, diff survivors and samples, verify.

The worker only orchestrates; every program (the reference, each survivor, each sample, each
suggested assertion) runs in a forked, hardened child (sandbox/child.py) under CPU-time budgets:

1. explore: one child runs the reference's suite while recording the entry point's arguments
   (explore.py), then grows the inputs by type-aware mutation and keeps those on which the
   reference returns the same result twice within its time limit (and that meet the task's
   preconditions);
2. diff: one child per survivor (and per sample that passes the suite) runs it on every kept
   input, in order of preference, and reports where it disagrees with the reference;
3. verify: a fresh child per disagreeing program re-runs its best disagreeing inputs and runs the
   suggested assertions; one more child runs every assertion against the reference. Only what
   reproduces there becomes a witness, and only an assertion that passes on the reference and
   fails on the program is suggested.
"""

from __future__ import annotations

import random
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from testaudit import suites
from testaudit.config import ExecSettings, power_of_two
from testaudit.records import (
    Candidate,
    CandidateResult,
    CandidateVerdict,
    Event,
    JobDone,
    JobFailed,
    MutantResult,
    MutantStatus,
    Task,
    TriageJob,
    TriageOutcome,
    Witness,
)
from testaudit.sandbox import child as children
from testaudit.suites.base import InputGenerator
from testaudit.triage import differential
from testaudit.triage.compare import (
    SLOW_MARGIN,
    SLOW_REFERENCE_SHARE,
    SLOW_TRIES,
    Comparison,
    DiffPlan,
    Outcome,
    VerifyPlan,
    agree,
    call,
    diff_body,
    load_program,
    program_filename,
    reseed,
    sendable,
    verify_body,
)
from testaudit.triage.domain import Domain, domain_for, finite_results, result_strain, task_words
from testaudit.triage.explore import Arcs, Generator, Recorder
from testaudit.triage.rules import (
    both,
    compile_borrowed,
    compile_check,
    compile_oracle,
    parameters,
    source_for,
)
from testaudit.triage.samples import judge
from testaudit.triage.suggest import greedy_cover, oracle_assertion
from testaudit.triage.volatile import volatile_reads
from testaudit.values import Input, is_plain, opaque_type

GROW_SAFETY = 3.0  # input generation stops at its count; its CPU budget x this is only a net
# What one try costs besides the reference's two calls (mutating, copying, checking, sending),
# measured on HumanEval: counted in, so that the count and not the safety net ends generation.
TRY_OVERHEAD_S = 2e-4
# Ints far past the suite's scale only where the reference's limit per call is this small: a
# reference that loops n times then times out on them at little cost to the count of tries.
WIDE_LIMIT_S = 0.01
TRACED_SLACK = 10  # the time limit of a traced call, in untraced ones
ARC_EVENTS = 2000  # line events a traced call records at most (coverage feedback)
CHEAP_CALL_S = 2.0 ** -10  # ~1 ms: references this cheap all get the same count of tries
WITNESS_TRIES = 3  # disagreeing inputs re-run in the fresh process, best first
# Inputs outside the tested domain are kept, for edge-case witnesses, up to this share of the
# inputs; they never become parents of new ones, so generation stays inside the domain.
OUTSIDE_SHARE = 0.25
# The records of ours a triage child sends besides sandbox.child.FRAME_CLASSES.
FRAMES = frozenset({("testaudit.triage.compare", "Outcome")})
FRAME_SLACK_S = 1.0  # added to per-frame budgets: the child sends at least every 50 ms of work


def comparison(job: TriageJob) -> Comparison:
    """How this task's suite compares results, which triage follows (its kind's, see suites/)."""
    return suites.suite_for(job.task).comparison(job.task, job.settings.atol)


def run_job(job: TriageJob, settings: ExecSettings, emit: Callable[[Event], None]) -> None:
    """The worker's handler for triage jobs. Never raises: a bug of ours becomes a JobFailed."""
    try:
        emit(triage_task(job, settings))
    except Exception as exc:
        emit(JobFailed(job.task_id, f"triage failed: {type(exc).__name__}: {exc}",
                       traceback.format_exc()))
    emit(JobDone(job.task_id))


# --- 1. explore: coverage, the suite's inputs, generated inputs ------------------------------


@dataclass
class Explored:
    passed: bool = False  # the suite passed on the reference in the explore child
    failure: str | None = None  # why it did not (should not happen: the run stage saw it pass)
    inputs: list[Input] = field(default_factory=list)
    expected: list[Outcome] = field(default_factory=list)
    outside: list[str | None] = field(default_factory=list)  # per input: the property it breaks
    domain: list[str] = field(default_factory=list)  # the tested domain's properties, for notes
    slowest: float = 0.0  # CPU seconds of the reference's slowest kept call
    skipped: int = 0  # suite calls whose arguments are not plain data
    opaque: list[str] = field(default_factory=list)  # types of the reference's non-plain results
    traced: bool = False  # the suite's run reported back (else it took too long, or died)
    names: list[str] | None = None  # the entry point's parameters, for oracle assertions


def _explore_body(job: TriageJob, prepared: suites.PreparedTask, path: str, seed: int,
                  send: children.Send) -> None:
    task = job.task
    suite = suites.suite_for(task)
    started = time.process_time()  # the budget covers the traced suite run too
    code = suites.compile_program(task.source, path)
    recorder = Recorder(task.entry_point, path, job.settings.max_inputs)
    with recorder:
        passed, failure, _ = suites.run_suite(prepared, code)
    send(("suite", passed, failure, recorder.skipped))
    if not passed:
        return
    namespace, function = load_program(task.source, path, task.entry_point, seed, suite)
    send(("params", parameters(function) if suite.has_entry_function else None))
    seed = reseed(task.source, seed)
    rules = (None, None) if not suite.has_entry_function else (
        both(compile_check(source_for(job.rules.precondition, suite.precondition(task)), function, namespace),
             compile_borrowed(job.rules.contract, function, namespace)),
        compile_oracle(job.rules.oracle, function, namespace))
    check, judge = rules
    # The tested domain: what the suite's own calls (that meet the known preconditions) share,
    # and what the task states in words. Known preconditions drop inputs; the domain labels them.
    names = parameters(function) if suite.has_entry_function else None
    suite_calls = [inp for inp in recorder.inputs if check is None or check(inp.args, inp.kwargs)]
    domain = domain_for(suite_calls, names, task_words(task.source, task.solution_start, task.entry_point),
                        task.source[task.solution_start:task.solution_end])
    send(("domain", domain.describe() if domain is not None else []))
    compare = comparison(job)
    # The suite's own inputs (and the dataset's extra ones, all that meet the precondition): the
    # reference may raise on them (a suite may expect it), but must behave the same way twice.
    # They bound the time limit of every generated input.
    limit = 5 * job.suite_seconds + 0.5
    seeds = [inp for inp in _dataset_inputs(task, recorder.inputs, job.settings.max_inputs)
             if check is None or check(inp.args, inp.kwargs)]
    originals, opaque, last = [], set(), time.process_time()
    for inp in seeds:
        first, second = call(function, inp, limit, seed), call(function, inp, limit, seed)
        if not sendable(inp, first):
            opaque.add(opaque_type(first.value))
        elif (first.conclusive and agree(first, second, compare, None, inp)
                and _accepted(judge, inp, first)):
            originals.append((inp, first, _outside(domain, inp)))
        if time.process_time() - last > 0.05:  # a frame now and then: the parent's clock
            send(("inputs", []))
            last = time.process_time()
    # The results' soft properties come from the suite's own calls (distance 0), all of them.
    own = [o.value for inp, o, _ in originals if inp.distance == 0 and o.kind == "value"]
    results = result_strain(own)
    finite = finite_results(own, task.source[task.solution_start:task.solution_end])
    originals = [(_strained(domain, results, inp, o), o, out or _unfinished(finite, o))
                 for inp, o, out in originals]
    slowest = max((o.seconds for _, o, _ in originals), default=0.0)
    send(("opaque", sorted(opaque)))
    send(("inputs", originals))
    costs = sorted(o.seconds for _, o, _ in originals) or [0.0]
    _grow(job, function, rules, (domain, results, finite), originals, seed, send,
          min(1.0, max(0.005, 20 * slowest)), started, _max_tries(job.settings, costs[len(costs) // 2]))


def _outside(domain: Domain | None, inp: Input) -> str | None:
    return None if domain is None else domain.outside(inp)


def _unfinished(finite: Callable[[object], str | None], outcome: Outcome) -> str | None:
    """The results' hard property (`finite_results`) an outcome breaks, if any."""
    return finite(outcome.value) if outcome.kind == "value" else None


def _strained(domain: Domain | None, results: Callable[[object], int], inp: Input,
              outcome: Outcome) -> Input:
    """The input with the count of soft properties it breaks: the domain's, and the results'."""
    strain = (0 if domain is None else domain.strain(inp)) + (
        results(outcome.value) if outcome.kind == "value" else 0)
    unwritable = domain is not None and domain.unwritable(inp)
    return inp if (strain, unwritable) == (inp.strain, inp.unwritable) else replace(
        inp, strain=strain, unwritable=unwritable)


def _max_tries(settings, per_call_cost: float) -> int:
    """How many inputs to try: a count, not a clock, so that two runs try the same inputs.

    Below CHEAP_CALL_S a call's measured cost is mostly the harness's own (fresh copies, the
    alarm's system calls) and wobbles across powers of two from run to run, so every reference
    that cheap gets the same count, 5 x --triage-inputs. Above it, the count is what the CPU
    budget buys at two reference calls per try, with the median call's cost (an outlier must
    not decide it) rounded up to a power of two: the rounded cost moves only at a power of two."""
    per_call = power_of_two(max(per_call_cost, 2e-6))
    if per_call <= CHEAP_CALL_S:
        return 5 * settings.max_inputs
    per_try = 2 * per_call + TRY_OVERHEAD_S
    return max(50, min(5 * settings.max_inputs, int(settings.seconds / per_try)))


def _dataset_inputs(task: Task, recorded: list[Input], cap: int) -> list[Input]:
    """The inputs to start from: the suite's calls (recorded), then the ones the dataset holds
    (`Suite.dataset_inputs`: EvalPlus's argument lists of both suites, the stdin texts of
    stdin/stdout cases). Each once, at most `cap`."""
    found: dict[str, Input] = {}
    given = suites.suite_for(task).dataset_inputs(task)
    for inp in [*recorded, *(Input(tuple(a)) for a in given if isinstance(a, list | tuple))]:
        if len(found) >= cap:
            break
        if is_plain(inp.args) and is_plain(inp.kwargs):
            found.setdefault(inp.text, inp)
    return list(found.values())


def _accepted(judge, inp: Input, outcome: Outcome) -> bool:
    """Does the task's oracle accept the reference's own result? (if not, skip the input)"""
    return judge is None or outcome.kind != "value" or judge(inp.args, inp.kwargs, outcome.value)


def _generator(job: TriageJob, function, seeds: list[Input],
               originals: list[tuple[Input, Outcome, str | None]], rng: random.Random, limit: float,
               seed: int | None) -> tuple[InputGenerator, Arcs | None]:
    """The input generator: the suite kind's own, or triage's for argument lists, steered by the
    survivors' mutated constants and by the reference's arcs (started from the suite's inputs)."""
    generator = suites.suite_for(job.task).generator(seeds, rng, job.task.source)
    if generator is not None or not hasattr(function, "__code__"):
        return generator, None
    variants = tuple(m.apply(job.task.source) for m in job.survivors)
    generator = Generator(seeds, rng, job.task.source, variants, wide=limit <= WIDE_LIMIT_S)
    arcs = Arcs(function.__code__.co_filename, ARC_EVENTS)
    for inp, outcome, _ in originals:
        if outcome.kind == "value":
            with arcs:
                call(function, inp, limit, seed)
    return generator, arcs


def _grow(job: TriageJob, function, rules,
          domains: tuple[Domain | None, Callable[[object], int], Callable[[object], str | None]],
          originals: list[tuple[Input, Outcome, str | None]], seed: int | None,
          send: children.Send, limit: float, started: float, max_tries: int) -> None:
    """Generate inputs until `max_tries` or `max_inputs` are reached; send the in-domain ones.

    The CPU budget is only a safety net here (GROW_SAFETY times --triage-seconds), for references
    whose calls on generated inputs cost far more than on the suite's own."""
    settings = job.settings
    check, judge = rules
    domain, results, finite = domains
    compare = comparison(job)
    # A str seed hashes the same in every process, whatever PYTHONHASHSEED.
    rng = random.Random(f"{job.settings.seed}/{job.task.task_id}")
    # Parents are the inputs inside the tested domain (all of them when none is).
    seeds = [inp for inp, _, out in originals if out is None] or [inp for inp, _, _ in originals]
    generator, arcs = _generator(job, function, seeds, originals, rng, limit, seed)
    seen = {inp.text for inp, _, _ in originals}
    kept, tries, batch, last, traced = len(originals), 0, [], time.process_time(), 0.0
    outside_left = int(OUTSIDE_SHARE * settings.max_inputs) - sum(1 for *_, o in originals if o)
    for inp in generator:
        now = time.process_time()
        spent = now - traced - started > GROW_SAFETY * settings.seconds
        if spent or kept >= settings.max_inputs or tries >= max_tries:
            break
        tries += 1
        broken = _outside(domain, inp)
        if broken is not None and (fixed := domain.repaired(inp)) is not None:
            inp, broken = fixed, None  # back inside the domain where a repair exists
        text = inp.text
        if text in seen:
            continue
        seen.add(text)
        if check is not None and not check(inp.args, inp.kwargs):
            continue
        left = max(GROW_SAFETY * settings.seconds - (now - traced - started), 0.005)
        first = call(function, inp, min(limit, left), seed)
        # Outside the domain: the reference raises, is too slow, or is not deterministic.
        if first.kind != "value" or not sendable(inp, first) or not _accepted(judge, inp, first):
            continue
        outside = broken or _unfinished(finite, first)
        if outside is not None and outside_left <= 0:
            continue
        if not agree(first, call(function, inp, min(limit, left), seed), compare, None, inp):
            continue
        if outside is not None:
            outside_left -= 1
        elif arcs is None:
            generator.keep(inp)
        else:
            before = time.process_time()
            with arcs:  # a third call, traced: its arcs, not its outcome, count
                # The call finished within `limit` twice; tracing (capped) may cost more, and
                # a traced call cut short would record arcs that depend on the clock.
                call(function, inp, TRACED_SLACK * limit + 0.05, seed)
            # Bounded by its event cap, a count; kept off the safety net's clock, so that the
            # count of tries, not the tracer's cost on a loaded machine, ends generation.
            traced += time.process_time() - before
            generator.keep(inp, novel=arcs.new > 0)
        batch.append((_strained(domain, results, inp, first), first, outside))
        kept += 1
        if len(batch) >= 64 or now - last > 0.05:
            send(("inputs", batch))
            batch, last = [], now
    send(("inputs", batch))
    send(("end", tries))


def explore(job: TriageJob, prepared: suites.PreparedTask, settings: ExecSettings, workdir: str,
            path: str) -> Explored:
    found = Explored()
    arrived: list[tuple[Input, Outcome, str | None]] = []

    def body(send: children.Send) -> None:
        _explore_body(job, prepared, path, settings.seed, send)

    # Between frames: two calls of the reference on one of the suite's inputs, at most.
    per_frame = 2 * (5 * job.suite_seconds + 0.5) + FRAME_SLACK_S
    for frame in children.frames(children.fork(body, settings, workdir, FRAMES),
                                 settings.reference_timeout_s, per_frame):
        kind = frame[0]
        if kind == "params":
            found.names = frame[1]
        elif kind == "suite":
            _, passed, failure, skipped = frame
            found.passed, found.failure, found.skipped, found.traced = passed, failure, skipped, True
        elif kind == "inputs":
            arrived.extend(frame[1])
        elif kind == "opaque":
            found.opaque = frame[1]
        elif kind == "domain":
            found.domain = frame[1]
    # Preference order: inside the tested domain first, then breaking the fewest of its soft
    # properties, then closest to the suite's own inputs, then shortest, then first found. A
    # witness is the best disagreeing input, so a survivor is shown an input outside the domain
    # only when it differs nowhere inside it, and one that breaks a soft property only when it
    # differs on no input that keeps them.
    order = sorted(range(len(arrived)), key=lambda i: (arrived[i][2] is not None, arrived[i][0].strain,
                                                       arrived[i][0].distance, len(arrived[i][0].text), i))
    found.inputs = [arrived[i][0] for i in order]
    found.expected = [arrived[i][1] for i in order]
    found.outside = [arrived[i][2] for i in order]
    found.slowest = max((o.seconds for o in found.expected), default=0.0)
    return found


# --- 2. diff: where does each program disagree with the reference? --------------------------


@dataclass
class Subject:
    """A program to compare with the reference: a survivor or a sample that passes the suite."""

    ident: str
    kind: str  # "mutant" or "sample"
    source: str
    disagree: dict[int, str] = field(default_factory=dict)  # input index -> what it returned
    slow: list[int] = field(default_factory=list)  # inputs on which it ran out of time (each once)
    tried: int = 0
    broken: str | None = None

    @property
    def filename(self) -> str:
        return program_filename(self.kind, self.ident)


def _call_timeout(explored: Explored) -> float:
    # A program may be slower than the reference, not wrong: timeouts are never witnesses, so a
    # generous limit only costs time on the programs that hang.
    return min(1.0, max(0.02, 10 * explored.slowest))


def diff(subject: Subject, job: TriageJob, explored: Explored, settings: ExecSettings,
         workdir: str, budget_s: float) -> None:
    plan = DiffPlan(subject.source, subject.filename, job.task.entry_point, tuple(explored.inputs),
                    tuple(explored.expected), _call_timeout(explored), budget_s,
                    comparison(job), settings.seed, job.task.source, job.rules.oracle)
    budget = 2 * plan.call_timeout + FRAME_SLACK_S
    child = children.fork(lambda send: diff_body(plan, send), settings, workdir, FRAMES)
    for frame in children.frames(child, max(budget, settings.reference_timeout_s / 4), budget):
        kind = frame[0]
        if kind == "broken":
            subject.broken = frame[1]
        elif kind == "batch":
            _, subject.tried, found, slow = frame
            subject.disagree.update(found)
            subject.slow.extend(slow)


# --- 3. verify in fresh processes, then choose witnesses and tests ---------------------------


@dataclass
class Verified:
    witness: Witness | None = None
    failed: set[str] = field(default_factory=set)  # assertions that fail on the program
    slow: int | None = None  # the input of a slow witness


def slow_inputs(subject: Subject, job: TriageJob, explored: Explored) -> tuple[tuple[int, Input, float], ...]:
    """A sample's inputs to check for a slow witness, in-domain first: (index, input, the
    evaluator's limit there). None for a mutant, or for a sample that disagrees somewhere."""
    if subject.kind != "sample" or subject.disagree:
        return ()
    suite = suites.suite_for(job.task)
    chosen: list[tuple[int, Input, float]] = []
    for index in sorted(subject.slow, key=lambda i: (explored.outside[i] is not None, i)):
        seconds = explored.expected[index].seconds
        limit = suite.input_limit(seconds)
        if limit is not None and seconds <= SLOW_REFERENCE_SHARE * limit:
            chosen.append((index, explored.inputs[index], limit))
        if len(chosen) == SLOW_TRIES:
            break
    return tuple(chosen)


def slow_text(job: TriageJob, seconds: float, reference: float) -> str:
    """What a slow witness says the program did: `seconds` it ran, `reference` the reference's."""
    suite = suites.suite_for(job.task)
    return (f"no result in {seconds:.3g} s of CPU time, past the {seconds / SLOW_MARGIN:.3g} s "
            f"{suite.harness.evaluator} gives a test (the reference: {reference * 1000:.2g} ms)")


def test_for(job: TriageJob, explored: Explored, index: int) -> str | None:
    """The test, in the suite's style, that the reference's result on this input is right:
    an assertion (HumanEval, MBPP), a TestCase assertion (BigCodeBench), an argument list and
    an assertion (EvalPlus), a new {input, output} case (stdin/stdout)."""
    task, inp, expected = job.task, explored.inputs[index], explored.expected[index]
    suite = suites.suite_for(task)
    if job.rules.oracle and suite.has_entry_function:
        text = oracle_assertion(inp, explored.names, job.rules.oracle, suite.callee(task.entry_point))
        return suite.oracle_test(task, inp, text)
    return suite.write_test(task, inp, expected, job.settings.atol)


def _own_assertion(subject: Subject, job: TriageJob, explored: Explored) -> tuple[str, int] | None:
    """The program's own suggested test, from its best disagreeing input that makes one."""
    for index in sorted(subject.disagree)[:10]:
        text = test_for(job, explored, index)
        if text is not None:
            return text, index
    return None


def _expected_for(asserts: list[str], explored: Explored, index_of: dict[str, int]) -> tuple:
    """The reference's outcome on each assertion's input (EvalPlus judges its input form by it)."""
    return tuple(explored.expected[index_of[t]] if t in index_of else None for t in asserts)


def witness_input(job: TriageJob, inp: Input) -> str:
    """The input as a witness shows it: the arguments as in a call, or a stdin program's text."""
    return suites.suite_for(job.task).witness_input(inp)


def verify(subject: Subject, asserts: list[str], job: TriageJob, explored: Explored,
           settings: ExecSettings, workdir: str, index_of: dict[str, int],
           slow: tuple[tuple[int, Input, float], ...] = ()) -> Verified:
    """Re-run the best disagreeing inputs (or a sample's `slow_inputs`) and the assertions on
    the program, in a fresh child."""
    best = sorted(subject.disagree)[:WITNESS_TRIES]
    compare = comparison(job)
    plan = VerifyPlan(
        subject.source, subject.filename, job.task.entry_point,
        tuple((i, explored.inputs[i], explored.expected[i]) for i in best), tuple(asserts),
        suites.suite_for(job.task).callee(job.task.entry_point), _call_timeout(explored),
        compare, settings.seed, job.task.source, job.rules.oracle,
        _expected_for(asserts, explored, index_of), slow)
    found = Verified()
    budget = 2 * plan.call_timeout + FRAME_SLACK_S + sum((SLOW_MARGIN + 1) * limit for *_, limit in slow)
    child = children.fork(lambda send: verify_body(plan, send), settings, workdir, FRAMES)
    for frame in children.frames(child, max(budget, settings.reference_timeout_s / 4), budget):
        if frame[0] == "rerun" and frame[2] and found.witness is None:
            index = frame[1]
            found.witness = Witness(witness_input(job, explored.inputs[index]),
                                    compare.describe(explored.expected[index]), frame[3],
                                    explored.outside[index])
        elif frame[0] == "slow" and found.witness is None:
            index = found.slow = frame[1]
            found.witness = Witness(witness_input(job, explored.inputs[index]),
                                    compare.describe(explored.expected[index]),
                                    slow_text(job, frame[2], frame[3]), explored.outside[index])
        elif frame[0] == "assert" and frame[2] is False:
            found.failed.add(asserts[frame[1]])
    return found


def passing_on_reference(asserts: list[str], job: TriageJob, explored: Explored, settings: ExecSettings,
                         workdir: str, path: str, index_of: dict[str, int]) -> set[str]:
    if not asserts:
        return set()
    plan = VerifyPlan(job.task.source, path, job.task.entry_point, (), tuple(asserts),
                      suites.suite_for(job.task).callee(job.task.entry_point), _call_timeout(explored),
                      comparison(job), settings.seed, job.task.source, job.rules.oracle,
                      _expected_for(asserts, explored, index_of))
    budget = 2 * plan.call_timeout + FRAME_SLACK_S
    child = children.fork(lambda send: verify_body(plan, send), settings, workdir, FRAMES)
    frames = children.frames(child, max(budget, settings.reference_timeout_s / 4), budget)
    return {asserts[f[1]] for f in frames if f[0] == "assert" and f[2] is True}


# --- samples: do they pass the suite at all? --------------------------------------------------


def run_suite(subject: Subject, job: TriageJob, prepared: suites.PreparedTask,
              settings: ExecSettings, workdir: str) -> tuple[bool, str | None]:
    # As the benchmark's own evaluator judges it: its namespace, streams and time limit.
    return judge(prepared, subject.source, subject.filename, settings, workdir, FRAMES)


# --- the whole task ---------------------------------------------------------------------------


def triage_task(job: TriageJob, settings: ExecSettings) -> TriageOutcome:
    task = job.task
    prepared = suites.prepare(task, settings.seed)
    with tempfile.TemporaryDirectory(prefix="testaudit-triage-") as private, \
            tempfile.TemporaryDirectory(prefix="testaudit-") as workdir:
        # coverage.py needs a real-looking absolute filename; the file itself is never read.
        path = str(Path(private) / "reference.py")
        Path(path).write_text(task.source, encoding="utf-8")
        explored = explore(job, prepared, settings, workdir, path)
        mutants = [Subject(m.id, "mutant", m.apply(task.source)) for m in job.survivors]
        samples, sample_results = _judge_samples(job, prepared, settings, workdir)
        subjects = mutants + samples
        if explored.inputs:
            budget_s = job.settings.program_budget(len(subjects))
            for subject in subjects:
                diff(subject, job, explored, settings, workdir, budget_s)
        checked = _verify_all(job, explored, mutants, samples, settings, workdir, path)
        reads = volatile_reads(task.source)
        if reads is not None:  # witnesses stand (compared side by side); no test can pin it
            return _unpinned(_outcome(job, explored, mutants, replace(checked, own={}, cover=[]),
                                      sample_results, samples), reads)
        added = _added_tests(job, explored, prepared, settings, workdir, path, mutants, checked)
    return replace(_outcome(job, explored, mutants, checked, sample_results, samples), added=added)


def _unpinned(outcome: TriageOutcome, reads: str) -> TriageOutcome:
    note = (f"triage: the reference reads the machine's state ({reads}), so its results hold only "
            "where and when they were taken: no test is suggested or added (triage/volatile.py)")
    return replace(outcome, note=f"{outcome.note}; {note}" if outcome.note else note, added=())


def _added_tests(job: TriageJob, explored: Explored, prepared: suites.PreparedTask,
                 settings: ExecSettings, workdir: str, path: str, mutants: list[Subject],
                 checked: _Checked) -> tuple:
    """strengthen (--max-tests): the suggested tests with their kills, then differential tests
    (triage/differential.py); an audit (differential None) adds nothing."""
    if job.settings.differential is None or not explored.inputs:
        return ()
    kills = {t: {m.ident for m in mutants if (v := checked.verified.get(m.ident)) is not None
                 and v.witness is not None and v.witness.confirmed and t in v.failed}
             for t in checked.cover}
    return differential.added_tests(
        job, explored, prepared, settings, workdir, path, {m.ident: m.disagree for m in mutants},
        checked.cover, kills, lambda i: test_for(job, explored, i),
        lambda texts, index_of: passing_on_reference(texts, job, explored, settings, workdir, path, index_of))


@dataclass
class _Checked:
    verified: dict[str, Verified]  # subject ident -> what reproduced
    own: dict[str, str]  # subject ident -> its verified suggested assertion
    cover: list[str]  # the task's verified suggested assertions


def _draft_cover(job: TriageJob, explored: Explored, mutants: list[Subject]) -> dict[str, int]:
    """A first small set of tests (assertion -> input index), from the unverified disagreements."""
    texts: dict[int, str] = {}
    for subject in mutants:
        for index in subject.disagree:
            if explored.outside[index] is not None:  # the task's tests stay inside its domain
                continue
            if index not in texts and (text := test_for(job, explored, index)) is not None:
                texts[index] = text
    kills = {texts[i]: {s.ident for s in mutants if i in s.disagree} for i in sorted(texts)}
    index_of = {text: i for i, text in texts.items()}
    return {t: index_of[t] for t in greedy_cover(kills, [texts[i] for i in sorted(texts)])}


def _verify_all(job: TriageJob, explored: Explored, mutants: list[Subject], samples: list[Subject],
                settings: ExecSettings, workdir: str, path: str) -> _Checked:
    """Verify every disagreeing program in a fresh child, then keep only what reproduced."""
    draft = _draft_cover(job, explored, mutants)
    index_of = dict(draft)  # assertion -> the input it calls, for ordering by preference
    verified: dict[str, Verified] = {}
    tried: dict[str, list[str]] = {}
    own: dict[str, str] = {}
    for subject in mutants + samples:
        slow = slow_inputs(subject, job, explored)
        if not subject.disagree and not slow:
            continue
        best = _own_assertion(subject, job, explored)
        mine = best[0] if best else None
        if best:
            index_of[best[0]] = best[1]
        asserts = [mine] if mine else []
        if subject.kind == "mutant":  # the draft tests that should kill it: check that they do
            asserts += [t for t, i in draft.items() if i in subject.disagree and t != mine]
        tried[subject.ident] = asserts
        verified[subject.ident] = found = verify(subject, asserts, job, explored, settings, workdir,
                                                 index_of, slow)
        if found.slow is not None:
            # Its test is a call on the slow input: the run that ran past the limit was that call.
            mine = test_for(job, explored, found.slow)
            if mine:
                index_of[mine] = found.slow
                found.failed.add(mine)
                tried[subject.ident] = [mine]
        if mine:
            own[subject.ident] = mine
    everything = sorted({t for ts in tried.values() for t in ts})
    good = passing_on_reference(everything, job, explored, settings, workdir, path, index_of)
    own = {k: v for k, v in own.items() if v in good and v in verified[k].failed}
    # The final set: greedy cover over what was verified (passes on the reference, fails on the
    # confirmed survivor), so every test offered is one that was run both ways.
    proven: dict[str, set] = {}
    for subject in mutants:
        found = verified.get(subject.ident)
        if found is not None and found.witness is not None and found.witness.confirmed:
            for text in found.failed & good:
                proven.setdefault(text, set()).add(subject.ident)
    order = sorted(proven, key=lambda t: (index_of.get(t, len(explored.inputs)), len(t), t))
    return _Checked(verified, own, greedy_cover(proven, order))


def _judge_samples(job: TriageJob, prepared: suites.PreparedTask, settings: ExecSettings,
                   workdir: str) -> tuple[list[Subject], dict[int, tuple[bool, str | None]]]:
    passing: list[Subject] = []
    verdicts: dict[int, tuple[bool, str | None]] = {}
    for candidate in job.candidates:
        subject = Subject(f"sample {candidate.sample}", "sample", candidate.program(job.task))
        verdicts[candidate.sample] = run_suite(subject, job, prepared, settings, workdir)
        if verdicts[candidate.sample][0]:
            passing.append(subject)
    return passing, verdicts


def _outcome(job: TriageJob, explored: Explored, mutants: list[Subject], checked: _Checked,
             verdicts: dict[int, tuple[bool, str | None]], samples: list[Subject]) -> TriageOutcome:
    results = tuple(
        _mutant_result(subject, result, checked)
        for subject, result in zip(mutants, job.results, strict=True)
    )
    by_ident = {s.ident: s for s in samples}
    candidates = tuple(_sample_result(job, c, verdicts[c.sample], by_ident.get(f"sample {c.sample}"),
                                      checked) for c in job.candidates)
    return TriageOutcome(job.task.task_id, results, tuple(checked.cover), candidates,
                         len(explored.inputs), _note(job, explored))


def _mutant_result(subject: Subject, result: MutantResult, checked: _Checked) -> MutantResult:
    # The status is the run stage's (survived, or no_coverage from the reference's coverage);
    # triage adds the evidence.
    status = result.status
    detail = result.detail if status is MutantStatus.NO_COVERAGE else None
    found = checked.verified.get(subject.ident)
    witness = found.witness if found else None
    if witness is None:
        why = (f"no input of {subject.tried} tried tells it from the reference" if subject.tried
               else "no inputs to try it on") + ": unconfirmed, possibly equivalent"
        detail = f"{detail}; {why}" if detail else why
    elif not witness.confirmed:
        why = _edge_case(witness)
        detail = f"{detail}; {why}" if detail else why
    return replace(result, status=status, detail=detail, witness=witness,
                   suggested_test=checked.own.get(subject.ident) if witness else None,
                   inputs_tried=subject.tried)


def _edge_case(witness: Witness) -> str:
    return (f"differs only outside the tested domain ({witness.outside}): an edge case to check "
            "against the task's intent")


def _sample_result(job: TriageJob, candidate: Candidate, verdict: tuple[bool, str | None],
                   subject: Subject | None, checked: _Checked) -> CandidateResult:
    base = CandidateResult(job.task.task_id, candidate.sample, candidate.completion,
                           CandidateVerdict.FAILS, verdict[1])
    if not verdict[0] or subject is None:
        return base
    found = checked.verified.get(subject.ident)
    if found is not None and found.witness is not None:
        confirmed = found.witness.confirmed
        return replace(base, verdict=CandidateVerdict.WRONG if confirmed else CandidateVerdict.OUTSIDE,
                       detail=None if confirmed else _edge_case(found.witness),
                       witness=found.witness, suggested_test=checked.own.get(subject.ident),
                       inputs_tried=subject.tried)
    detail = subject.broken or (f"agrees with the reference on all {subject.tried} inputs tried"
                                if subject.tried else "no inputs to compare it with the reference on")
    if subject.slow and subject.tried and not subject.broken:
        detail = (f"agrees with the reference on the {subject.tried - len(subject.slow)} of "
                  f"{subject.tried} inputs tried that it finished in time")
    return replace(base, verdict=CandidateVerdict.PASSES, detail=detail, inputs_tried=subject.tried)


def _note(job: TriageJob, explored: Explored) -> str | None:
    if not explored.passed and explored.failure:
        return f"triage: the reference failed its suite in triage's sandbox: {explored.failure}"
    if explored.inputs:
        return None
    if not explored.traced:
        return ("triage: the reference's suite did not finish under coverage tracing (out of "
                "time, or the process died), so no survivor could be confirmed")
    why = suites.suite_for(job.task).no_inputs_reason(job.task)  # the kind may know (stdin programs)
    if why is None:
        why = _no_inputs_reason(job, explored)
    return f"triage: {why}, so no survivor could be confirmed"


def _no_inputs_reason(job: TriageJob, explored: Explored) -> str:
    if explored.opaque:
        # Only plain data may leave a sandbox child, be compared there and appear in a test.
        return (f"the reference's results on the suite's inputs are not plain data "
                f"({', '.join(explored.opaque[:3])})")
    if explored.skipped:
        calls = "call of {} passes" if explored.skipped == 1 else "calls of {} pass"
        return (f"the suite's {explored.skipped} {calls.format(job.task.entry_point)} objects that "
                "are not plain data (such as DataFrames or files)")
    return f"the suite passes no plain-data arguments to {job.task.entry_point}"
