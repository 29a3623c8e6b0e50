"""Triage's pure parts: comparison, inputs, suggested tests, set cover, coverage mapping, rules."""

from __future__ import annotations

import json
import math
import random
import re
import sys
import textwrap
from pathlib import Path

import pytest

from testaudit.errors import UsageError
from testaudit.records import Location, Mutant, Position, SuiteKind
from testaudit.run.coverage import mutant_lines, statement_starts, uncovered
from testaudit.suites import KINDS
from testaudit.suites.base import Comparison, assertion, literal, suite_rel_tol
from testaudit.triage.compare import Outcome, agree, same
from testaudit.triage.explore import NOVEL_SHARE, Arcs, Generator, Recorder
from testaudit.triage.rules import (
    TaskRules,
    compile_check,
    compile_oracle,
    read_sidecar,
    rules_for,
    source_for,
)
from testaudit.triage.suggest import greedy_cover, oracle_assertion
from testaudit.values import Bounds, Input, Mutator, boundaries, fresh, is_plain

# ---------------------------------------------------------------- comparison


@pytest.mark.parametrize("expected, actual, equal", [
    (0.1 + 0.2, 0.3, True),  # within atol
    (1.0, 1.0 + 2e-6, False),  # beyond atol
    ([1.0, [2.0, {"k": 3.0}]], [1.0, [2.0 + 1e-9, {"k": 3.0}]], True),  # recursively
    ((1.0,), [1.0], False),  # a tuple is not a list, as for ==
    (2, 2.0, True),
    (1, True, True),  # Python's ==: a suite's == cannot tell them apart either
    (float("nan"), float("nan"), True),
    (float("nan"), 0.0, False),
    (float("inf"), float("inf"), True),
    ({"a": 1}, {"a": 1, "b": 2}, False),
    ("abc", "abd", False),
    # An int past float's range (Mbpp/300's `/` -> `//`): compared exactly, never an OverflowError.
    (float("inf"), 10 ** 400, False),
    (1.5, 10 ** 400, False),
])
def test_same_is_equality_with_float_tolerance(expected, actual, equal) -> None:
    assert same(expected, actual, 1e-6) is equal


def test_a_suite_that_checks_with_isclose_grants_its_rel_tol_to_triage_and_to_suggested_tests() -> None:
    # Mbpp/300's tests: math.isclose(count_binary_seq(1), 2.0, rel_tol=0.001). The `/` -> `//`
    # mutant returns C(62, 31) exactly at n=31, where the reference's floats are off by 32.
    test = "assert math.isclose(count_binary_seq(1), 2.0, rel_tol=0.001)\nassert f(2) == 6.0\n"
    assert suite_rel_tol(test) == 0.001
    assert suite_rel_tol("assert f(1) == 2.0\n") == 0.0
    assert suite_rel_tol("assert isclose(f(1), 2.0, rel_tol=1)\n") == 0.0  # not a tolerance
    reference, exact = 4.654283532552611e+17, 465428353255261088
    assert Comparison(1e-6, rtol=0.001).same(None, reference, exact)
    assert not Comparison(1e-6).same(None, reference, exact)
    assert not Comparison(1e-6, rtol=0.001).same(None, 2.0, 2.1)
    text = assertion(Input((31,), {}), reference, "count_binary_seq", 1e-6, 0.001)
    assert text is not None and "0.001 * abs(" in text
    exec(text, {"count_binary_seq": lambda n: exact})  # the suggested test passes the exact answer


def test_agree_compares_exceptions_by_type_and_never_judges_timeouts() -> None:
    value = Outcome("value", 3, text="3")
    raised = Outcome("raised", error="builtins.ValueError")
    assert agree(value, Outcome("value", 3), 1e-6) is True
    assert agree(value, Outcome("raised", error="builtins.ValueError"), 1e-6) is False
    assert agree(raised, Outcome("raised", error="builtins.ValueError"), 1e-6) is True
    assert agree(raised, Outcome("raised", error="builtins.KeyError"), 1e-6) is False
    assert agree(value, Outcome("timeout"), 1e-6) is None
    assert agree(value, Outcome("resource", error="RecursionError"), 1e-6) is None


def test_an_oracle_accepts_any_right_answer() -> None:
    namespace = {"__builtins__": __builtins__}
    exec("def half(x):\n    return x / 2\n", namespace)
    judge = compile_oracle("abs(result * 2 - x) < 1e-9", namespace["half"], namespace)
    inp = Input((3.0,))
    assert agree(Outcome("value", 1.5), Outcome("value", 1.5), 0.0, judge, inp) is True
    assert agree(Outcome("value", 1.5), Outcome("value", 1.25), 0.0, judge, inp) is False
    assert agree(Outcome("value", 1.5), Outcome("raised", error="E"), 0.0, judge, inp) is False


# ---------------------------------------------------------------- inputs


def test_plain_data_and_fresh_copies() -> None:
    value = ([1, {"a": [2]}], {3}, "s", None, 1.5)
    assert is_plain(value)
    assert not is_plain([object()])
    assert not is_plain((lambda: 0,))
    copy = fresh(value)
    assert copy == value
    copy[0][1]["a"].append(9)
    assert value[0][1]["a"] == [2]


def _take(seeds: list[Input], seed: int, n: int) -> list[str]:
    generator = Generator(seeds, random.Random(seed))
    found = []
    for inp in generator:
        generator.keep(inp)
        found.append(inp.text)
        if len(found) == n:
            break
    return found


def test_generation_is_deterministic_under_a_seed_and_keeps_types() -> None:
    seeds = [Input(([1, 2, 3], "ab", 2.5, (1, "x"), {"k": 1}, True))]
    first, again, other = _take(seeds, 7, 300), _take(seeds, 7, 300), _take(seeds, 8, 300)
    assert first == again
    assert first != other
    generator = Generator(seeds, random.Random(7))
    for inp, _ in zip(generator, range(300), strict=False):
        assert [type(a) for a in inp.args] == [list, str, float, tuple, dict, bool]
        assert all(type(x) is int for x in inp.args[0])
        assert inp.distance >= 1


def test_generation_reaches_empty_and_edge_values() -> None:
    found = set(_take([Input(([3, 1, 2],)), Input(([5],))], 0, 400))
    assert "[]" in found
    assert any(text.startswith("[-") for text in found)


def test_generation_uses_the_programs_constants_and_numbers_inside_strings() -> None:
    program = "def f(x, s):\n    if x > 100 and s.startswith('ab'):\n        return 1\n    return 0\n"
    generator = Generator([Input((1, "06-04-2020"))], random.Random(3), program)
    assert generator.bounds.numbers == (0, 1, 100) and generator.bounds.words == ("ab",)
    found = []
    for inp, _ in zip(generator, range(2000), strict=False):
        generator.keep(inp)
        found.append(inp.args)
    assert {100, 101} <= {x for x, _ in found}
    assert any(s.startswith("ab") for _, s in found)
    mutator = Mutator(random.Random(5), generator.bounds)
    dates = [mutator._digits("06-04-2020") for _ in range(50)]
    assert all(re.fullmatch(r"\d{2,}-\d{2,}-\d{4,}", d) for d in dates)
    # a run of digits changes as a number: several characters at once, not one
    assert any(sum(a != b for a, b in zip(d, "06-04-2020", strict=False)) > 1 for d in dates)


def test_boundaries_are_the_programs_float_constants_and_compared_or_sliced_lengths() -> None:
    program = "def f(s, x):\n    if len(s) > 3 and x < 0.5:\n        return s[:5]\n    return s[1]\n"
    reals, lengths = boundaries(program)
    assert reals == (0.5,)
    # 3 (compared with len), 5 (a slice), 1 (an index), each with one more and one fewer
    assert lengths == (0, 1, 2, 3, 4, 5, 6)
    assert boundaries("def f(:") == ((), ())


def _grown(seeds: list[Input], program: str, n: int, variants: tuple[str, ...] = ()) -> list[tuple]:
    generator = Generator(seeds, random.Random(11), program, variants)
    found = []
    for inp, _ in zip(generator, range(n), strict=False):
        generator.keep(inp)
        found.append(inp.args)
    return found


def test_generation_reaches_the_lengths_a_program_compares_with() -> None:
    # The suite's lists have 1 and 2 elements; the program changes at exactly 6 elements.
    program = "def f(xs):\n    return sum(xs) if len(xs) >= 6 else 0\n"
    found = _grown([Input(([1],)), Input(([4, 5],))], program, 300)
    assert {len(xs) for (xs,) in found} >= {5, 6, 7}
    # without the constant, mutation one element at a time rarely gets that far this soon
    plain = _grown([Input(([1],)), Input(([4, 5],))], "def f(xs):\n    return 0\n", 300)
    assert sum(len(xs) == 6 for (xs,) in found) > sum(len(xs) == 6 for (xs,) in plain)


def test_generation_puts_one_arguments_value_into_another() -> None:
    # `x in xs` matters only when the target is one of the list's elements (MBPP+ Mbpp/733's
    # contract asks for it); the suite's targets are never in its lists.
    seeds = [Input(([107, 203, 311], 7)), Input(([419, 523], 8))]
    found = _grown(seeds, "def f(xs, x):\n    return x in xs\n", 300)
    assert sum(x in xs for xs, x in found) >= 5
    # and the tests' literals seed values: a target that is an element of another call's list
    assert Bounds.around(seeds).literals[:3] == (107, 203, 311)


def test_generation_reaches_a_survivors_mutated_constant() -> None:
    program = "def f(n):\n    return n if n > 40 else 0\n"
    survivor = "def f(n):\n    return n if n > 41 else 0\n"
    assert 41 in Generator([Input((1,))], random.Random(0), program, (survivor,)).bounds.numbers
    steered = [n for (n,) in _grown([Input((1,))], program, 2000, (survivor,))]
    plain = [n for (n,) in _grown([Input((1,))], program, 2000)]
    assert steered.count(42) > plain.count(42)


def test_float_constants_are_reached_on_and_either_side() -> None:
    found = {x for (x,) in _grown([Input((3.0,))], "def f(x):\n    return x < 0.25\n", 600)}
    assert 0.25 in found
    assert any(0.24 < x < 0.25 for x in found) and any(0.25 < x < 0.26 for x in found)


def test_wide_generation_reaches_numbers_past_float_precision() -> None:
    # MBPP+ Mbpp/267: `n * (4 * n * n - 1) / 3` and its `//` survivor agree on every n whose
    # result fits a float's 53 bits exactly; the suite's n are 2, 3 and 4.
    program = "def square_Sum(n):\n    return n * (4 * n * n - 1) / 3\n"
    seeds = [Input((2,)), Input((3,)), Input((4,))]

    def grown(wide: bool) -> list[int]:
        generator = Generator(seeds, random.Random(2), program, wide=wide)
        found = []
        for inp, _ in zip(generator, range(1000), strict=False):
            generator.keep(inp)
            found.append(inp.args[0])
        return found

    def differs(n: int) -> bool:
        return n * (4 * n * n - 1) / 3 != n * (4 * n * n - 1) // 3

    assert any(differs(n) for n in grown(True))
    assert not any(differs(n) for n in grown(False))


def test_recorder_keeps_deep_copies_of_the_suites_calls_only() -> None:
    program = "def f(xs, k=1):\n    xs.append(0)\n    return f(xs[:1], k - 5) if k > 5 else len(xs)\n"
    namespace: dict = {}
    exec(compile(program, "/virtual/program.py", "exec"), namespace)
    with Recorder("f", "/virtual/program.py") as recorder:
        namespace["f"]([1, 2], 9)
        namespace["f"]([1, 2], 9)  # the same call again: recorded once
        namespace["f"]([7])
    assert [inp.text for inp in recorder.inputs] == ["[1, 2], 9", "[7], 1"]


# ---------------------------------------------------------------- suggested tests


def test_assertions_follow_the_suite_style() -> None:
    inp = Input(([1, 2], "x"))
    assert assertion(inp, 3, "candidate", 1e-6) == "assert candidate([1, 2], 'x') == 3"
    assert assertion(inp, 0.5, "candidate", 1e-6) == "assert abs(candidate([1, 2], 'x') - 0.5) <= 1e-06"
    assert assertion(inp, None, "f", 1e-6) == "assert f([1, 2], 'x') is None"
    assert assertion(inp, False, "candidate", 1e-6) == "assert candidate([1, 2], 'x') is False"
    floats = assertion(inp, [0.0, 1.5], "candidate", 1e-6)
    assert floats is not None and "abs(a - b) <= 1e-06" in floats and "len(out :=" in floats
    assert assertion(Input((float("nan"),)), 1, "candidate", 1e-6) is None  # nan does not read back
    assert assertion(Input(("x" * 500,)), 1, "candidate", 1e-6) is None  # too long to paste
    assert KINDS[SuiteKind.CHECK].callee("f") == "candidate" and KINDS[SuiteKind.ASSERTS].callee("f") == "f"
    assert literal({1, 2}) == "{1, 2}" and literal(set()) == "set()" and literal(math.inf) is None


def test_a_written_assertion_passes_on_the_value_it_was_made_from() -> None:
    inp = Input(([1, -2.5], {"a": (1, None)}, "q'\""))
    for expected in (0.1 + 0.2, [0.1, 2], {"a": [1]}, "it's", (1, 2), -3):
        text = assertion(inp, expected, "candidate", 1e-6)
        assert text is not None
        exec(text, {"candidate": lambda *args, value=expected: value})
        with pytest.raises(Exception):  # noqa: B017 - failing takes any exception, as in a suite
            exec(text, {"candidate": lambda *args: "something else"})


def test_oracle_assertions_bind_the_arguments_by_name() -> None:
    text = oracle_assertion(Input(([1, -1],)), ["xs"], "sum(xs) + result == 0", "candidate")
    assert text == "xs = [1, -1]\nresult = candidate(xs)\nassert sum(xs) + result == 0"
    exec(text, {"candidate": lambda xs: 0})
    assert oracle_assertion(Input((1, 2)), ["x"], "True", "candidate") is None  # *args: unbound


def test_greedy_cover_kills_everything_with_few_tests_preferring_earlier_ones() -> None:
    kills = {"t1": {"a"}, "t2": {"a", "b", "c"}, "t3": {"c", "d"}, "t4": {"d"}, "t5": {"d"}}
    chosen = greedy_cover(kills, ["t1", "t2", "t3", "t4", "t5"])
    assert chosen == ["t2", "t3"]
    assert set().union(*(kills[t] for t in chosen)) == {"a", "b", "c", "d"}
    assert greedy_cover({"t4": {"d"}, "t5": {"d"}}, ["t5", "t4"]) == ["t5"]
    assert greedy_cover({}, []) == []


# ---------------------------------------------------------------- coverage mapping


def _mutant(source: str, line: int, col: int, end_line: int, end_col: int) -> Mutant:
    return Mutant("m", "t", "op", Location(Position(line, col), Position(end_line, end_col)),
                  0, 0, "", "", "")


def test_statement_starts_map_continuation_lines_to_the_statement() -> None:
    source = textwrap.dedent("""\
        def f(x,
              y):
            if (x >
                    y):
                return [1,
                        2]
            return 0
        """)
    starts = statement_starts(source)
    assert starts[2] == 1 and starts[4] == 3 and starts[6] == 5 and starts[7] == 7
    executed = {1, 3, 7}  # as coverage.py reports a call with x <= y
    assert not uncovered(_mutant(source, 4, 13, 4, 14), executed, starts)  # in the if's test
    assert uncovered(_mutant(source, 6, 21, 6, 22), executed, starts)  # in the unreached return
    assert list(mutant_lines(_mutant(source, 5, 9, 7, 1))) == [5, 6]  # ends at column 1 of line 7


# ---------------------------------------------------------------- preconditions and oracles


def test_sidecar_forms_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"A": "x > 0", "B": ["x > 0", "x < 9"],
                                "C": {"precondition": "x > 1", "oracle": "result == x"}}))
    rules = read_sidecar(path)
    assert rules["A"] == TaskRules("(x > 0)")
    assert rules["B"].precondition == "(x > 0) and (x < 9)"
    assert rules["C"] == TaskRules("(x > 1)", "(result == x)")
    for bad, needle in (("[1]", "expected a JSON object"), ('{"A": "x >"}', "field 'A': not an expression"),
                        ('{"A": {"oracle": 3}}', "field 'A.oracle'"), ('{"A": {"when": "x"}}', "unknown key"),
                        ("{", "not valid JSON")):
        path.write_text(bad)
        with pytest.raises(UsageError, match=needle):
            read_sidecar(path)


def test_known_oracle_for_humaneval_32_and_sidecar_override() -> None:
    assert rules_for("HumanEval/32", "find_zero", {}).oracle is not None
    assert rules_for("HumanEval/32", "other", {}).oracle is None
    assert rules_for("HumanEval/32", "find_zero", {"HumanEval/32": TaskRules("len(xs) > 1")}) \
        == TaskRules("len(xs) > 1", "abs(poly(xs, result)) < 1e-4")


def test_contract_and_precondition_checks() -> None:
    namespace: dict = {"__builtins__": __builtins__}
    exec("def f(xs, n=2):\n    return xs[:n]\n", namespace)
    contract = ['assert isinstance(xs, list), "invalid inputs"', "assert n >= 0"]
    check = compile_check(source_for("len(xs) < 4", contract), namespace["f"], namespace)
    assert check is not None
    assert check(([1], 1), {}) and not check(((1,), 1), {}) and not check(([1], -1), {})
    assert not check(([1, 2, 3, 4], 1), {})
    string_contract = "    assert n >= 0  # $_CONTRACT_$\n"
    assert compile_check(source_for(None, string_contract), namespace["f"], namespace)(([], -1), {}) is False
    assert compile_check(source_for(None, None), namespace["f"], namespace) is None


def _program(source: str, name: str, filename: str = "<arcs program>"):
    namespace: dict = {}
    exec(compile(textwrap.dedent(source), filename, "exec"), namespace)
    return namespace[name]


def test_arcs_count_only_steps_no_earlier_traced_call_took() -> None:
    sign = _program("""
        def sign(x):
            if x > 0:
                return 1
            if x < 0:
                return -1
            return 0
    """, "sign")
    other = _program("def other(x):\n    return x\n", "other", "<another file>")
    arcs = Arcs("<arcs program>", 2000)
    with arcs:
        sign(5)
    assert arcs.new > 0
    with arcs:
        sign(7)  # the same branch: nothing new
    assert arcs.new == 0
    with arcs:
        sign(-2)  # past the first guard, into the second branch
    assert arcs.new > 0
    with arcs:
        other(1)  # code of another file is not traced
    assert arcs.new == 0
    assert sys.gettrace() is None


def test_arcs_stop_tracing_a_call_at_their_event_cap() -> None:
    loop = _program("""
        def loop(n):
            total = 0
            for i in range(n):
                if i == 5000:
                    total -= 1
                total += i
            return total
    """, "loop")
    arcs = Arcs("<arcs program>", 2000)
    with arcs:
        assert loop(10_000) == sum(range(10_000)) - 1  # the call itself runs to the end
    # The branch at i == 5000 lies past the cap: a traced call costs a bounded amount more.
    assert arcs._events == 2000
    with arcs:
        loop(6000)
    assert arcs.new == 0


def test_generator_draws_novel_inputs_as_parents() -> None:
    seeds = [Input((1,)), Input((2,))]
    generator = Generator(seeds, random.Random(0))
    rare = Input((1000,))
    generator.keep(rare, novel=True)
    for n in range(3, 200):
        generator.keep(Input((n,)))
    picked = 0
    for _ in range(2000):
        parent = generator._one()
        picked += parent is not None and parent.distance == rare.distance + 1 and abs(parent.args[0]) >= 500
    # Without the novel list, 1 parent in 200 would be the rare input; with it, NOVEL_SHARE.
    assert picked > 2000 * NOVEL_SHARE * 0.3


def test_an_exact_int_where_evalplus_expects_a_rounded_float_is_no_witness() -> None:
    # Mbpp/80 (tetrahedral_number): the mutant `// 6` returns the exact 10942775362050671 where
    # the reference's `/ 6` rounds to 1.0942775362050672e+16. EvalPlus fails it (an int where a
    # float is expected, once the two differ at all); triage must not call it a wrong program.
    from testaudit.suites.evalplus import EvalPlusComparison, evalplus_same

    compare = EvalPlusComparison(0.0, entry_point="tetrahedral_number", family="mbpp", task_id="Mbpp/80")
    inp = Input((403421,), {})
    exact, rounded = 403421 * 403422 * 403423 // 6, 403421 * 403422 * 403423 / 6
    assert exact != rounded
    assert not evalplus_same("tetrahedral_number", "mbpp", 0.0, [403421], rounded, exact)  # the harness
    assert compare.same(inp, rounded, exact)
    assert not compare.same(inp, 2.5, 2)  # a real difference stays one
    assert not compare.same(inp, 35.0, "35")
    # Mbpp/57: the program's float(n) for the reference's int n is the one that rounds
    assert not compare.same(inp, 9943332222211111, 9943332222211112.0)


def test_an_infinite_result_gets_a_test_that_passes_on_it_and_fails_otherwise() -> None:
    # Mbpp/689 (min_jumps) returns float('inf') when the end cannot be reached: its confirmed
    # wrong survivors had no suggested test, since no literal reads back as inf.
    text = assertion(Input(([0], 1), {}), math.inf, "min_jumps", 1e-6)
    assert text == "assert min_jumps([0], 1) == float('inf')"
    for returned, passes in ((math.inf, True), (0, False), (-math.inf, False), (1e308, False)):
        try:
            exec(text, {"min_jumps": lambda arr, n, r=returned: r})
            passed = True
        except AssertionError:
            passed = False
        assert passed is passes, returned
    assert assertion(Input((1,), {}), -math.inf, "f", 1e-6, style="unittest") == \
        "self.assertEqual(f(1), float('-inf'))"
