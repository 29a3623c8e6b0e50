"""stdin/stdout programs (APPS, CodeContests): fed each case's input, judged on their output."""

from __future__ import annotations

import io
import json
import math
import os
import random
import re
import sys
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from testaudit.records import StdioData, SuiteKind, Task
from testaudit.suites.base import (
    BROKEN_PROGRAM,
    MAX_LENGTH,
    TEXT_LIMIT,
    Comparison,
    Harness,
    PreparedTask,
    Probe,
    Result,
    SuiteFailure,
    exception_text,
    fresh_namespace,
    value_text,
    wall_limit,
)
from testaudit.text import clip, one_line
from testaudit.values import Bounds, Input, Mutator, harvest

# A judge runs the program as a script (`__name__ == "__main__"`), its stdin the case's input;
# APPS's testing_util gives each case 4 s. The streams are the suite's own (run_with_stdin).
HARNESS = Harness("a judge: python3 program.py < input", "__main__", swallow_io=False, disabled=())
CASE_LIMIT_S = 4.0


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
        raise SuiteFailure(one_line(f"test {number}: the program exited with status {exc.code!r}")) from exc
    except BaseException as exc:
        raise SuiteFailure(one_line(f"test {number}: {exception_text(exc, code.co_filename)}")) from exc


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


def cases(task: Task) -> list[tuple[str, str]]:
    """The task's (stdin, expected stdout) cases."""
    return task.suite_data.cases if isinstance(task.suite_data, StdioData) else []


def run_stdio(prepared: PreparedTask, program: types.CodeType, namespace: dict, broken: bool) -> None:
    code = BROKEN_PROGRAM if broken else program
    scope = namespace
    try:
        for number, (given, want) in enumerate(cases(prepared.task), start=1):
            scope = fresh_namespace(HARNESS)  # every case is a fresh run of the program
            random.seed(prepared.seed)
            if prepared.sample:  # a model sample: the judge's limit per case
                with wall_limit(CASE_LIMIT_S):
                    got = _run_program(code, scope, given, number)
            else:
                got = _run_program(code, scope, given, number)
            if not same_output(got, want):
                raise SuiteFailure(one_line(f"test {number}: expected {value_text(want)}, "
                                            f"got {value_text(got)}"))
    finally:
        if scope is not namespace:
            namespace.update(scope)  # the modules the program uses, for the damage fingerprint


# --- triage: the program as a function of its stdin, compared and tested as judges do ---------


@dataclass(frozen=True)
class StdioComparison(Comparison):
    """The result is what the program wrote to stdout, compared as judges do (`same_output`)."""

    kind: SuiteKind = SuiteKind.STDIO

    def same(self, inp: Input | None, expected: object, actual: object) -> bool:
        return type(actual) is str and type(expected) is str and same_output(actual, expected)

    def describe(self, outcome: Result) -> str:
        """For witnesses: the output as the text the program wrote."""
        if outcome.kind == "value" and type(outcome.value) is str:
            return clip(outcome.value, TEXT_LIMIT)
        return outcome.describe()


def stdin_program(code: types.CodeType) -> Callable[[str], str]:
    """A stdin/stdout program as a function: stdin text -> stdout text, a fresh run each call."""

    def run(given: str) -> str:
        return run_with_stdin(code, fresh_namespace(HARNESS), given)

    return run


def stdio_case(given: str, output: str) -> str | None:
    """A case for the task's `tests`, as one line of JSON; None if too long to paste."""
    text = json.dumps({"input": given, "output": output}, ensure_ascii=False)
    return text if len(text) <= 5 * MAX_LENGTH else None


class StdioSuite:
    """stdin/stdout programs: no entry function; an input is `Input((stdin text,))`."""

    kind = SuiteKind.STDIO
    has_entry_function = False
    harness = HARNESS

    def namespace(self) -> dict:
        return fresh_namespace(HARNESS)

    def sample_limit(self, prepared: PreparedTask) -> float:
        return CASE_LIMIT_S * len(cases(prepared.task)) + 1.0

    def input_limit(self, reference_seconds: float) -> float | None:
        return CASE_LIMIT_S  # a judge's limit per case

    def run(self, prepared: PreparedTask, program: types.CodeType, namespace: dict, broken: bool) -> None:
        run_stdio(prepared, program, namespace, broken)

    def callee(self, entry_point: str) -> str:
        return entry_point

    def comparison(self, task: Task, atol: float) -> Comparison:
        return StdioComparison(atol)

    def dataset_inputs(self, task: Task) -> list:
        return [[case[0]] for case in cases(task)]

    def precondition(self, task: Task) -> list[str] | None:
        return None

    def generator(self, seeds: list[Input], rng: random.Random, program: str) -> StdinGenerator:
        return StdinGenerator(seeds, rng, program)

    def function(self, code: types.CodeType, namespace: dict, entry_point: str) -> Callable:
        return stdin_program(code)  # compiled, not run: each call is a fresh run on its stdin

    def witness_input(self, inp: Input) -> str:
        if len(inp.args) == 1 and type(inp.args[0]) is str:
            return inp.args[0]  # the stdin text itself
        return inp.text

    def write_test(self, task: Task, inp: Input, expected: Result, atol: float) -> str | None:
        if expected.kind != "value" or type(expected.value) is not str or type(inp.args[0]) is not str:
            return None
        return stdio_case(inp.args[0], expected.value)

    def oracle_test(self, task: Task, inp: Input, assertion: str | None) -> str | None:
        return None  # no function to bind arguments to: a stdin program's tests are cases

    def test_globals(self) -> dict:
        return {}

    def check_test(self, text: str, compare: Comparison, probe: Probe) -> bool | None:
        """A case {"input", "output"}: does the program's output match?"""
        try:
            case = json.loads(text)
            given, want = case["input"], case["output"]
        except (ValueError, KeyError, TypeError):
            return None
        outcome = probe.outcome(Input((given,)))
        if not outcome.conclusive:
            return None
        return outcome.kind == "value" and same_output(outcome.value, want)

    def no_inputs_reason(self, task: Task) -> str | None:
        return "the reference gives no output on its tests' inputs that is the same twice"


SUITE = StdioSuite()


# --- triage: stdin texts grown by token-level mutation of the suite's own inputs -------------

_INT = re.compile(r"[+-]?\d+")
_REAL = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+\.?\d*[eE][+-]?\d+)")
# Ops by weight: changing one value keeps the input's shape, so it is most often in the domain.
_OPS = ("value",) * 6 + ("drop_token", "dup_token", "drop_line", "dup_line", "swap_lines", "cross")


def _is_int(token: str) -> bool:
    return _INT.fullmatch(token) is not None


class StdinGenerator:
    """New stdin texts from in-domain ones, as inputs.Generator does for argument lists.

    An input is `Input((text,))`. Mutations work on whitespace-separated tokens and on lines:
    change a number (+-1, 0, sign, a program constant, any magnitude up to a bound), a real or a
    word; drop or duplicate a token or a line; swap two lines; splice two inputs by lines. After a
    change of shape, a count that described the old shape (`3` before a line of three numbers,
    or before three lines) is updated, and counts are seldom changed as values: an input whose
    header disagrees with its body is usually outside the task's domain, and a program that reads
    it another way than the reference would get a witness no valid input gives.
    """

    def __init__(self, seeds: list[Input], rng: random.Random, program: str = "") -> None:
        self.rng = rng
        self.seeds = [s for s in seeds if len(s.args) == 1 and type(s.args[0]) is str]
        self.pool = list(self.seeds)
        ints = [abs(int(t)) for s in self.seeds for t in s.args[0].split() if _is_int(t) and len(t) < 10]
        chars = sorted({c for s in self.seeds for c in s.args[0] if not c.isspace()})
        numbers, words = harvest(program)
        longest = max((len(s.args[0]) for s in self.seeds), default=0)
        self.max_text = max(200, 4 * longest)
        self.mutator = Mutator(rng, Bounds(
            max_int=max(1000, 10 * max(ints, default=0), *(abs(n) + 1 for n in numbers)),
            max_len=64, max_text=self.max_text, alphabet="".join(chars) or "abc",
            numbers=numbers, words=tuple(w for w in words if w.strip() and not any(c.isspace() for c in w)),
        ))

    def keep(self, inp: Input) -> None:
        self.pool.append(inp)

    def __iter__(self) -> Iterator[Input]:
        while self.pool:
            parents = self.seeds if self.seeds and self.rng.random() < 0.3 else self.pool
            parent = self.rng.choice(parents)
            text = self._mutate(parent.args[0])
            if text is not None and text != parent.args[0] and len(text) <= self.max_text:
                yield Input((text,), {}, parent.distance + 1)

    def _mutate(self, text: str) -> str | None:
        lines = text.split("\n")
        filled = [i for i, line in enumerate(lines) if line.split()]
        if not filled:
            return None
        op = self.rng.choice(_OPS)
        if op == "value":
            return self._value(lines, filled)
        if op in ("drop_token", "dup_token"):
            return self._token_shape(lines, filled, op == "drop_token")
        if op == "cross":
            theirs = self.rng.choice(self.pool).args[0].split("\n")
            cut = self.rng.randrange(len(lines) + 1)
            return "\n".join(lines[:cut] + theirs[min(cut, len(theirs)):])
        return self._line_shape(lines, filled, op)

    # --- values -----------------------------------------------------------------------------

    def _value(self, lines: list[str], filled: list[int]) -> str | None:
        spots = [(i, j) for i in filled for j in range(len(lines[i].split()))]
        i, j = self.rng.choice(spots)
        if _counts(lines, i, j) and self.rng.random() < 0.9:
            i, j = self.rng.choice(spots)  # a count: pick again, and let chance decide
        tokens = lines[i].split()
        tokens[j] = self._token(tokens[j])
        if not tokens[j]:
            return None  # an emptied word: dropping a token is _token_shape's job (it recounts)
        lines[i] = " ".join(tokens)
        return "\n".join(lines)

    def _token(self, token: str) -> str:
        if _is_int(token):
            return str(self.mutator.integer(int(token)))
        if _REAL.fullmatch(token):
            try:
                return repr(self.mutator.real(float(token)))
            except (ValueError, OverflowError):
                return token
        return "".join(self.mutator.text(token).split())

    # --- shape ------------------------------------------------------------------------------

    def _token_shape(self, lines: list[str], filled: list[int], drop: bool) -> str | None:
        # Not in the header line (sizes: dropping one changes the input's whole layout), and not
        # the last token of a line (that is dropping the line, which updates the counts).
        i = self.rng.choice(filled[1:] or filled)
        tokens = lines[i].split()
        if drop and len(tokens) < 2:
            return None
        j = self.rng.randrange(len(tokens))
        before = len(tokens)
        if drop:
            del tokens[j]
        else:
            tokens.insert(j, tokens[j])
        lines[i] = " ".join(tokens)
        _recount_tokens(lines, i, before, len(tokens))
        return "\n".join(lines)

    def _line_shape(self, lines: list[str], filled: list[int], op: str) -> str | None:
        # The first line is usually a header (a count, sizes): it stays where it is.
        body = filled[1:] or filled
        i = self.rng.choice(body)
        if op == "swap_lines":
            j = self.rng.choice(body)
            lines[i], lines[j] = lines[j], lines[i]
            return "\n".join(lines)
        # Counts of the lines below them, before the change: the ones to update.
        counts = _line_counts(lines, i)
        if op == "drop_line":
            del lines[i]
            step = -1
        else:
            lines.insert(i, lines[i])
            step = 1
        for line, position in counts:
            tokens = lines[line].split()
            tokens[position] = str(int(tokens[position]) + step)
            lines[line] = " ".join(tokens)
        return "\n".join(lines)


def _filled_after(lines: list[str], i: int) -> int:
    return sum(1 for line in lines[i + 1:] if line.split())


def _counts(lines: list[str], i: int, j: int) -> bool:
    """Is token j of line i an int that counts something: the other tokens of its line, the
    tokens of the next line, or the lines below it?"""
    tokens = lines[i].split()
    if not _is_int(tokens[j]):
        return False
    value = int(tokens[j])
    if value < 1:
        return False
    nxt = next((line.split() for line in lines[i + 1:] if line.split()), None)
    return (value in (len(tokens) - 1 - j, _filled_after(lines, i))
            or nxt is not None and value == len(nxt))


def _recount_tokens(lines: list[str], i: int, before: int, after: int) -> None:
    """Line i went from `before` tokens to `after`: update the nearest count of them above it
    (or its own first token, when that counts the rest of its line)."""
    tokens = lines[i].split()
    if tokens and _is_int(tokens[0]) and int(tokens[0]) == before - 1 and after > 0:
        tokens[0] = str(after - 1)
        lines[i] = " ".join(tokens)
        return
    for k in range(i - 1, -1, -1):
        above = lines[k].split()
        if not above:
            continue
        for position, token in enumerate(above):
            if _is_int(token) and int(token) == before:
                above[position] = str(after)
                lines[k] = " ".join(above)
                return
        return  # only the nearest non-empty line above: a count further up counts something else


def _line_counts(lines: list[str], i: int) -> list[tuple[int, int]]:
    """(line, token) of the ints of the first line, above line i, that equal the number of
    non-empty lines below it: `n` of "n, then n lines"."""
    first = next((k for k, line in enumerate(lines) if line.split()), i)
    if first >= i:
        return []
    below = _filled_after(lines, first)
    return [(first, p) for p, t in enumerate(lines[first].split()) if _is_int(t) and int(t) == below]
