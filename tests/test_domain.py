"""The tested domain (triage/domain.py) and the three kinds of survivor, on real data and fixtures."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from conftest import FIXTURES

from testaudit.config import RunConfig
from testaudit.gate.policy import GatePolicy, should_fail
from testaudit.load import load
from testaudit.pipeline import run
from testaudit.records import CandidateVerdict, SurvivorKind
from testaudit.store import results_json
from testaudit.suites.evalplus import deserialize
from testaudit.triage.domain import NONFINITE, domain_for, finite_results, infer, result_strain, task_words
from testaudit.values import Input

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MBPP_PLUS = DATA / "MbppPlus-v0.2.0.jsonl.gz"
needs_data = pytest.mark.skipif(not MBPP_PLUS.exists(), reason="../shared/data is absent")


def _inputs(*calls: tuple) -> list[Input]:
    return [Input(tuple(c)) for c in calls]


def _texts(rules) -> set[str]:
    return {r.text for r in rules}


# --- inference from the suite's inputs ------------------------------------------------------


def test_a_sign_needs_three_calls_and_a_list_property_three_distinct_lists() -> None:
    assert "`n` is positive" not in _texts(infer(_inputs((3,), (5,)), ["n"]))  # two calls: chance
    # MBPP+ Mbpp/585: n is 1, 2 and 1 in three different calls: three observations of n > 0.
    three = _inputs((["a"], 1), (["a", "b"], 2), (["c"], 1))
    assert "`n` is positive" in _texts(infer(three, ["items", "n"]))
    assert "`n` is non-negative" in _texts(infer(_inputs((0,), (5,), (8,)), ["n"]))
    assert not {"`n` is positive", "`n` is non-negative"} & _texts(infer(_inputs((-1,), (5,), (8,)), ["n"]))
    # The same sorted, duplicate-free list in all three calls is one observation of a list.
    same = _inputs(([1, 2, 3, 4], 1), ([1, 2, 3, 4], 2), ([1, 2, 3, 4], 3))
    assert not {"`xs` is sorted in ascending order", "`xs` has no duplicate elements"} & _texts(
        infer(same, ["xs", "k"]))
    varied = _inputs(*[([i, i + 2, i + 5], i) for i in range(8)])
    assert {"`xs` is sorted in ascending order", "`xs` has no duplicate elements"} <= _texts(
        infer(varied, ["xs", "k"]))


def test_a_guard_in_the_reference_keeps_zero_and_empty_values_in_the_domain() -> None:
    # MBPP+ Mbpp/244 (next_Perfect_Square): base N of 35, 6, 9, but the reference handles N < 0.
    calls = _inputs((35,), (6,), (9,))
    assert domain_for(calls, ["N"], "").outside(Input((-4,))) == "`N` is positive"
    guarded = "    if N < 0:\n        return 0\n    return (math.floor(math.sqrt(N)) + 1) ** 2\n"
    assert domain_for(calls, ["N"], "", guarded).outside(Input((-4,))) is None
    lists = _inputs(([1],), ([2, 3],), ([4, 5, 6],))
    assert domain_for(lists, ["xs"], "", "    if not xs:\n        return 0\n").outside(Input(([],))) is None
    assert domain_for(lists, ["xs"], "", "    return xs[0]\n").outside(Input(([],))) == "`xs` is non-empty"


def test_lower_bounds_and_minimum_lengths_need_more_evidence_than_a_sign() -> None:
    few = _inputs(*[([i, i + 1],) for i in range(3)])
    assert "`xs` is non-empty" in _texts(infer(few, ["xs"]))
    assert "`xs` has at least 2 elements" not in _texts(infer(few, ["xs"]))  # three lists: chance
    many = _inputs(*[([i, i + 1],) for i in range(8)])
    assert "`xs` has at least 2 elements" in _texts(infer(many, ["xs"]))
    ns = infer(_inputs(*[(n,) for n in range(2, 10)]), ["n"])
    assert "`n` >= 2" in _texts(ns)
    assert "`n` >= 2" not in _texts(infer(_inputs(*[(n,) for n in range(2, 6)]), ["n"]))


def test_relations_between_parameters_need_eight_calls() -> None:
    spans = [(1, 3), (0, 0), (2, 7), (5, 9), (3, 3), (-2, 2), (10, 20), (4, 6)]
    assert "`lo` <= `hi`" in _texts(infer(_inputs(*spans), ["lo", "hi"]))
    assert "`lo` <= `hi`" not in _texts(infer(_inputs(*spans[:4]), ["lo", "hi"]))
    words = ["ab", "xyz", "q", "hello", "to", "abc", "world", "four"]
    pairs = infer(_inputs(*[(w, w[::-1]) for w in words]), ["a", "b"])
    assert "`a` and `b` have equal lengths" in _texts(pairs)
    domain = domain_for(_inputs(*spans), ["lo", "hi"], "")
    assert domain.outside(Input((4, 3))) == "`lo` <= `hi`"
    assert domain.outside(Input((3, 4))) is None


def test_an_integer_within_a_length_in_three_calls_is_firm() -> None:
    # MBPP+ Mbpp/170 sum_range_list(list1, m, n): three base calls, all with n < len(list1); its
    # contract asks for it, and model programs that stop at the list's end were "wrong" past it.
    xs = [2, 1, 5, 6, 8, 3, 4, 9, 10, 11, 8, 12]
    calls = _inputs((xs, 8, 10), (xs, 5, 7), (xs, 7, 10))
    domain = domain_for(calls, ["list1", "m", "n"], "")
    assert domain.outside(Input((xs, 8, 20))) == "`n` < len(`list1`)"
    assert domain.outside(Input((xs, 2, 11))) is None
    # `m` < `n` (two numbers) still needs eight calls: a soft relation only
    assert "`m` < `n`" not in _texts(domain.rules) and "`m` < `n`" in _texts(domain.soft)


def test_what_three_calls_share_only_orders_inputs() -> None:
    # MBPP+ Mbpp/622 (get_median): three base calls, both arrays sorted, as its contract asks;
    # three are too few to rule unsorted arrays out, but a sorted one is tried first.
    calls = _inputs(([1, 12, 15, 26, 38], [2, 13, 17, 30, 45], 5), ([2, 4, 8, 9], [7, 13, 19, 28], 4),
                    ([3, 6, 14, 23, 36, 42], [2, 18, 27, 39, 49, 55], 6))
    domain = domain_for(calls, ["arr1", "arr2", "n"], "")
    unsorted = Input(([2, 4, 8, 9], [13, 19, 28, 7], 4))
    assert domain.outside(unsorted) is None
    assert "`arr2` is sorted in ascending order" in {r.text for r in domain.soft}
    assert domain.strain(unsorted) >= 1
    assert domain.strain(Input(([2, 4, 8, 9], [7, 13, 19, 28], 4))) == 0
    # a soft property never repeats a firm one (`n` == len(`arr1`) is firm from three calls)
    assert not {r.text for r in domain.soft} & {r.text for r in domain.rules}


def test_results_unlike_the_suites_are_soft_too() -> None:
    # MBPP+ Mbpp/807 first_odd: the base results are 1, 1 and 9; on [8] (no odd number, which its
    # contract rules out) the reference returns None.
    strain = result_strain([1, 1, 9])
    assert strain(None) == 1 and strain(3) == 0
    # Mbpp/733 find_first_occurrence: results 1, 2, 4; its "not found" -1 breaks their sign.
    assert result_strain([1, 2, 4])(-1) == 1
    assert result_strain([1, -2, 4])(-1) == 0
    assert result_strain([1, 2])(None) == 0  # two results: too few to say


def test_a_non_finite_result_where_the_suites_are_all_finite_is_outside_the_domain() -> None:
    # Mbpp/300 count_binary_seq: the suite's results are 2.0, 6.0 and 20.0; at n=709 the
    # reference's float binomials overflow to inf (the exact answer is finite).
    outside = finite_results([2.0, 6.0, 20.0])
    assert outside(float("inf")) == NONFINITE and outside(float("nan")) == NONFINITE
    assert outside([1.0, float("-inf")]) == NONFINITE  # inside containers too
    assert outside(1e300) is None and outside(10 ** 400) is None and outside("inf") is None
    # A suite that itself expects inf (an unreachable end, say) makes inf an answer, not overflow.
    assert finite_results([3, float("inf")])(float("inf")) is None
    assert finite_results([])(float("inf")) is None  # no evidence, no property
    # A reference that names inf itself means it: MBPP+ Mbpp/137 zero_count returns
    # float('inf') for a list of zeros (its suite's results are all finite).
    zero_count = ("def zero_count(nums):\n    if all(x == 0 for x in nums):\n"
                  "        return float('inf')\n"
                  "    return sum(x == 0 for x in nums) / sum(x != 0 for x in nums)\n")
    assert finite_results([0.15, 0.0, 0.0], zero_count)(float("inf")) is None
    assert finite_results([0.15, 0.0, 0.0], "def f(n):\n    return comb(2 * n, n) / 1.0\n")(
        float("inf")) == NONFINITE


def test_lists_of_both_parities_are_a_soft_property() -> None:
    # MBPP+ Mbpp/594 (diff_even_odd): each base list holds an even and an odd number.
    calls = _inputs(([1, 3, 5, 7, 4, 1, 6, 8],), ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10],), ([1, 5, 7, 9, 10],))
    domain = domain_for(calls, ["list1"], "")
    assert "`list1` has an even and an odd element" in {r.text for r in domain.soft}
    assert domain.outside(Input(([8],))) is None
    assert domain.strain(Input(([1, 5, 7, 9, 5],))) > domain.strain(Input(([1, 5, 8, 9, 5],)))


def test_a_guarded_property_stays_soft() -> None:
    # MBPP+ Mbpp/260 (newman_prime, n of 3, 4, 5): the reference tests `n == 0`, so n <= 0 is
    # inside the domain; a negative n is still tried after the positive ones.
    guarded = "    if n == 0 or n == 1:\n        return 1\n    return 2 * newman_prime(n - 1)\n"
    domain = domain_for(_inputs((3,), (4,), (5,)), ["n"], "", guarded)
    assert domain.outside(Input((-2,))) is None
    assert domain.strain(Input((-2,))) > domain.strain(Input((2,))) > domain.strain(Input((3,))) == 0


@needs_data
def test_real_mbpp_plus_base_inputs() -> None:
    records = {r["task_id"]: r for r in map(json.loads, gzip.open(MBPP_PLUS, "rt"))}

    def domain(task_id: str):
        rec = records[task_id]
        base = [Input(tuple(a)) for a in deserialize(task_id, "base_input", rec["base_input"])]
        names = {"Mbpp/3": ["n"], "Mbpp/4": ["nums", "n"], "Mbpp/9": ["s"], "Mbpp/11": ["s", "ch"]}
        return domain_for(base, names[task_id], rec["prompt"])

    # is_not_prime(1), (2), (10): n is positive, as MBPP+'s contract says (`n > 0`).
    assert domain("Mbpp/3").outside(Input((0,))) == "`n` is positive"
    # heap_queue_largest(nums, 3 / 2 / 5): n is positive, as in the contract (`n > 0`), and so
    # is its `len(nums) > n` (an integer below a length: three calls are enough).
    assert domain("Mbpp/4").outside(Input(([1, 2, 3], 0))) == "`n` is positive"
    assert domain("Mbpp/4").outside(Input(([1, 2], 2))) == "`n` < len(`nums`)"
    assert domain("Mbpp/4").outside(Input(([1, 2, 3], 2))) is None
    # find_Rotations('aaaa' / 'ab' / 'abc'): never the empty string (MBPP+: len(s) > 0).
    assert domain("Mbpp/9").outside(Input(("",))) == "`s` is non-empty"
    # remove_Occ(s, ch): ch is one character in every base input, as in the contract.
    assert domain("Mbpp/11").outside(Input(("abcda", "ad"))) == "`ch` is a single character"
    assert domain("Mbpp/11").outside(Input(("abcda", "a"))) is None


# --- preconditions stated in words -------------------------------------------------------------


@pytest.fixture(scope="module")
def humaneval():
    return {t.task_id: t for t in load("humaneval").tasks}


def _stated(task, calls: list[tuple], names: list[str]):
    words = task_words(task.source, task.solution_start, task.entry_point)
    return domain_for(_inputs(*calls), names, words)


def test_stated_forms_in_real_humaneval_docstrings(humaneval) -> None:
    # "Input are two strings a and b consisting only of 1s and 0s."
    xor = _stated(humaneval["HumanEval/11"], [("111000", "101010"), ("1", "1"), ("0101", "0000")],
                  ["a", "b"])
    assert xor.outside(Input(("12", "01"))) == "`a` consists only of 0s and 1s (stated)"
    # "Assume n > 1 and is not a prime."
    prime = _stated(humaneval["HumanEval/59"], [(15,), (27,), (63,), (330,), (13195,)], ["n"])
    assert prime.outside(Input((1,))) == "`n` > 1 (stated)"
    # "Given a non-empty list of integers, return the sum of all of the odd elements..."
    odd = _stated(humaneval["HumanEval/121"], [([5, 8, 7, 1],), ([3, 3, 3, 3, 3],), ([30, 13, 24, 321],)],
                  ["lst"])
    assert odd.outside(Input(([],))) == "`lst` is non-empty (stated)"
    assert odd.outside(Input(([1, 1],))) is None


@needs_data
def test_a_sorted_input_stated_in_words_is_read_and_repaired_into() -> None:
    # MBPP+ Mbpp/223: "takes in a sorted array, its length (n), and an element": its contract
    # asks for a sorted `arr`; three sorted base lists alone are too little to infer it (soft).
    rec = next(r for r in map(json.loads, gzip.open(MBPP_PLUS, "rt")) if r["task_id"] == "Mbpp/223")
    base = [Input(tuple(a)) for a in deserialize("Mbpp/223", "base_input", rec["base_input"])]
    domain = domain_for(base, ["arr", "n", "x"], rec["prompt"])
    assert domain.outside(Input(([1, 1, 2, 2, 1], 5, 2))) == "`arr` is sorted in ascending order (stated)"
    assert domain.outside(Input(([1, 1, 2, 2, 2], 5, 2))) is None
    # A generated neighbour that broke the sort and the length relation is moved back inside
    # (sorted, n set to its length), not thrown away; one that also breaks a property without a
    # repair (the base inputs' x is always below n) is not.
    moved = domain.repaired(Input(([3, 1, 2, 2], 7, 2), distance=4))
    assert moved == Input(([1, 2, 2, 3], 4, 2), distance=4)
    assert domain.outside(moved) is None
    assert domain.repaired(Input(([2, 1, 1], 3, 1))) == Input(([1, 1, 2], 3, 1))
    assert domain.outside(Input(([3, 1, 2, 2], 7, 9))) is not None
    assert domain.repaired(Input(([3, 1, 2, 2], 7, 9))) is None
    # The same words about the result read nothing: HumanEval/34 "Return sorted unique elements".
    words = "Return sorted unique elements in a list. Return a sorted list of all of them."
    result_only = domain_for(_inputs(([1, 2, 3],), ([2, 5, 9],), ([0, 4, 4],)), ["l"], words)
    assert not any("sorted" in r.text for r in result_only.rules)


def test_the_first_even_or_odd_number_of_a_list_says_the_list_holds_one() -> None:
    # MBPP+ Mbpp/594 (its contract asks for an even and an odd element) and Mbpp/807.
    base = _inputs(([1, 3, 5, 7, 4, 1, 6, 8],), ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10],), ([1, 5, 7, 9, 10],))
    both = domain_for(base, ["list1"], "Write a function to find the difference of the first even "
                                       "and first odd number of a given list.")
    assert both.outside(Input(([1, 3, 5],))) == "`list1` holds an even and an odd number (stated)"
    assert both.outside(Input(([2, 4, 6, 1],))) is None
    odd = domain_for(_inputs(([1, 3, 5],), ([2, 4, 1, 3],), ([8, 9, 1],)), ["nums"],
                     "Write a python function to find the first odd number in a given list of numbers.")
    assert odd.outside(Input(([2, 4, 10],))) == "`nums` holds an odd number (stated)"
    assert odd.outside(Input(([2, 4, 11],))) is None
    # Without the words, three lists that happen to hold both are only a soft property.
    assert domain_for(base, ["list1"], "Write a function to sum a list.").outside(Input(([1, 3, 5],))) is None


def _mbpp_plus_domain(task_id: str, names: list[str]):
    rec = next(r for r in map(json.loads, gzip.open(MBPP_PLUS, "rt")) if r["task_id"] == task_id)
    base = [Input(tuple(a)) for a in deserialize(task_id, "base_input", rec["base_input"])]
    return domain_for(base, names, rec["prompt"], rec["canonical_solution"])


@needs_data
def test_counts_months_digits_and_indexes_stated_in_words() -> None:
    # Each MBPP+ contract asks what the words say and three base inputs cannot show.
    # Mbpp/260 "the nth newman-shanks-williams prime": n >= 0, though the reference's own
    # `if n == 0` keeps 0 inside (the inferred "positive" is dropped for that guard).
    nth = _mbpp_plus_domain("Mbpp/260", ["n"])
    assert nth.outside(Input((-1,))) == "`n` is non-negative (stated: nth)"
    assert nth.outside(Input((0,))) is None
    month = _mbpp_plus_domain("Mbpp/455", ["monthnum2"])
    assert month.outside(Input((13,))) == "1 <= `monthnum2` <= 12 (stated: a month number)"
    assert month.outside(Input((12,))) is None
    digits = _mbpp_plus_domain("Mbpp/57", ["arr"])
    assert digits.outside(Input(([1, 10],))) == "each element of `arr` is a digit 0-9 (stated)"
    assert digits.outside(Input(([0, 9],))) is None
    # Mbpp/733 "the index of the first occurrence of a given number in a sorted array": the
    # number is in the array; a generated neighbour without it is moved onto its nearest element.
    member = _mbpp_plus_domain("Mbpp/733", ["A", "x"])
    assert member.outside(Input(([1, 4, 9], 5))) == "`x` is an element of `A` (stated)"
    assert member.repaired(Input(([9, 1, 4, 7, 8, 2], 5))) == Input(([1, 2, 4, 7, 8, 9], 4))
    assert member.repaired(Input(([], 5))) is None
    # "the n-th power of each number" is an exponent, not a count: nothing read.
    power = domain_for(_inputs(([1, 2], 2), ([3, 4], 3), ([5], 2)), ["nums", "n"],
                       "Write a function to compute the n-th power of each number in a list.")
    assert not any("stated" in r.text for r in power.rules)


@needs_data
def test_lists_the_reference_zips_have_equal_lengths_and_pairs_stay_pairs() -> None:
    # Mbpp/282 `[num1 - num2 for num1, num2 in zip(nums1, nums2)]`: its contract asks for equal
    # lengths, which three base calls alone leave soft.
    paired = _mbpp_plus_domain("Mbpp/282", ["nums1", "nums2"])
    assert paired.outside(Input(([1, 2, 3], [5, 6]))) == \
        "`nums1` and `nums2` have equal lengths (the reference zips them)"
    assert paired.outside(Input(([1, 2], [5, 6]))) is None
    # Mbpp/2 intersects sets of two tuples of four: equal lengths there are chance (soft).
    sets = _mbpp_plus_domain("Mbpp/2", ["test_tup1", "test_tup2"])
    assert sets.outside(Input(((1, 2, 3), (5, 6)))) is None
    assert sets.strain(Input(((1, 2, 3), (5, 6)))) > sets.strain(Input(((1, 2, 3, 4), (5, 6, 7, 8))))
    # Mbpp/612 "each sublist has two elements": every base call passes pairs.
    pairs = _mbpp_plus_domain("Mbpp/612", ["lst"])
    assert pairs.outside(Input(([["m", "n", "n"], ["a", "b", "c"]],))) == "each element of `lst` is a pair"
    assert pairs.outside(Input(([["m", "n"], ["a", "b"]],))) is None
    # Mbpp/736 "the left insertion point for a specified value in sorted order".
    insertion = _mbpp_plus_domain("Mbpp/736", ["a", "x"])
    assert insertion.outside(Input(([4, 2, 1, 5], 3))) == "`a` is sorted in ascending order (stated)"


def test_a_stated_property_that_a_suite_input_breaks_is_dropped() -> None:
    # A misread sentence must not rule out the suite's own inputs: -1 is one of them.
    domain = domain_for(_inputs((-1,), (2,), (3,)), ["n"], "Return the positive difference of n.")
    assert not any("positive" in r.text for r in domain.rules)


# --- the three kinds of survivor, end to end -------------------------------------------------


@pytest.fixture(scope="module")
def kinds(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("domain")
    config = RunConfig(dataset=str(FIXTURES / "domain_tasks.jsonl"), workers=2, out=out, html=True,
                       cache_dir=None)
    return run(config), out


def _by_task(summary):
    return {a.task.task_id: {(m.original, m.replacement): a.kind(m) for m in a.survivors}
            for a in summary.tasks}


def test_survivors_outside_the_tested_domain_are_not_confirmed_wrong(kinds) -> None:
    summary, out = kinds
    found = _by_task(summary)
    # first(xs) for "a non-empty list": its unreached `if not xs` guard differs only on [].
    assert set(found["domain/first"].values()) == {SurvivorKind.OUTSIDE}
    # span(lo, hi): max(1, ...) differs only when lo > hi, and every test has lo <= hi.
    assert found["domain/span"] == {("0", "1"): SurvivorKind.OUTSIDE}
    # count_pos: `x >= 0` is wrong on a list with a zero, inside the domain.
    assert found["domain/count_pos"] == {(">", ">="): SurvivorKind.CONFIRMED}
    assert (summary.confirmed_wrong, summary.outside_domain, summary.unconfirmed) == (1, 3, 0)
    data = json.loads((out / "results.json").read_text())
    assert (data["summary"]["confirmed_wrong"], data["summary"]["outside_domain"]) == (1, 3)
    span = next(t for t in data["tasks"] if t["task_id"] == "domain/span")
    (mutant,) = [m for m in span["mutants"] if m["survivor_kind"]]
    assert mutant["survivor_kind"] == "outside_domain"
    assert mutant["witness"]["outside_domain"] == "`lo` <= `hi`"
    lo, hi = eval(f"({mutant['witness']['input']},)")  # noqa: S307 - our own repr
    assert lo > hi
    # The kinds read back from the file, and the task's suggested tests stay inside its domain.
    again = results_json.read(out / "results.json")
    assert (again.confirmed_wrong, again.outside_domain) == (1, 3)
    assert next(a for a in summary.tasks if a.task.task_id == "domain/span").suggested_tests == []
    stryker = json.loads((out / "mutation-report.json").read_text())
    assert stryker["testaudit"]["outsideDomain"] == 3
    page = next(out.rglob("*span*.html")).read_text()
    assert "differs only outside the tested domain" in page


def test_the_gate_counts_only_confirmed_wrong_programs(kinds) -> None:
    summary, _ = kinds
    failing = {v.task_id for v in should_fail(summary, GatePolicy(max_confirmed_wrong=0))}
    assert failing == {"domain/count_pos"}


def test_samples_get_the_same_three_kinds(tmp_path: Path) -> None:
    samples = tmp_path / "samples.jsonl"
    samples.write_text("\n".join(json.dumps(s) for s in [
        {"task_id": "domain/first", "completion": "    return xs[0]\n"},  # raises on [] only
        {"task_id": "domain/count_pos", "completion": "    return sum(1 for x in xs if x >= 0)\n"},
        {"task_id": "domain/span", "completion": "    return hi - lo + 1\n"},  # wrong only if lo > hi
    ]) + "\n")
    config = RunConfig(dataset=str(FIXTURES / "domain_tasks.jsonl"), workers=2, out=tmp_path / "out",
                       html=False, cache_dir=None, candidates=samples)
    verdicts = {c.task_id: c.verdict for c in run(config).samples}
    assert verdicts == {"domain/first": CandidateVerdict.OUTSIDE,
                        "domain/count_pos": CandidateVerdict.WRONG,
                        "domain/span": CandidateVerdict.OUTSIDE}


# --- --contracts: EvalPlus contracts borrowed by the original benchmark ------------------------


MBPP = DATA / "mbpp.jsonl"


@needs_data
@pytest.mark.skipif(not MBPP.exists(), reason="../shared/data is absent")
def test_mbpp_tasks_borrow_the_mbpp_plus_contracts(tmp_path: Path) -> None:
    from testaudit.errors import UsageError
    from testaudit.load.evalplus import borrowed_contracts

    contracts = borrowed_contracts(MBPP_PLUS)
    assert "Mbpp/784" in contracts and "Mbpp/9" in contracts

    def witnesses(**options) -> list[str]:
        out = tmp_path / ("borrowed" if options else "plain")
        summary = run(RunConfig(dataset=str(MBPP), tasks=("Mbpp/784",), workers=1, out=out, html=False,
                                cache_dir=None, **options))
        (task,) = summary.tasks
        return [task.outcome(m).witness.input for m in task.survivors if task.outcome(m).witness]

    # mul_even_odd(list1), the product of the first even and the first odd number: MBPP's own
    # tests say nothing against a list without an even number, MBPP+'s contract does. The
    # original names the parameter list1 as MBPP+ does; the contract is called by position.
    ns: dict = {}
    exec(contracts["Mbpp/784"], ns)  # noqa: S102 - the trusted data's contract, in the test
    check = ns["__testaudit_contract__"]

    def valid(text: str) -> bool:
        try:
            check(*eval(f"({text},)"))  # noqa: S307 - our own repr
        except AssertionError:
            return False
        return True

    assert not all(valid(w) for w in witnesses())  # e.g. [1]: no even number
    borrowed = witnesses(contracts=MBPP_PLUS)
    assert borrowed and all(valid(w) for w in borrowed)
    with pytest.raises(UsageError, match="not an EvalPlus record"):
        borrowed_contracts(MBPP)


def test_a_soft_relation_between_parameters_makes_an_input_unwritable_not_outside() -> None:
    # Three calls of a range, all with lo < hi: too few to rule lo > hi out (relations between two
    # numbers need eight), but a test written into the benchmark keeps the relation.
    domain = domain_for(_inputs((1, 3), (2, 7), (5, 9)), ["lo", "hi"], "")
    backwards = Input((9, 5))
    assert domain.outside(backwards) is None  # three calls are too few to confirm nothing there
    assert domain.unwritable(backwards) and not domain.unwritable(Input((4, 6)))
    # other soft properties (here: both odd in two of three calls...) do not make one unwritable
    assert not domain.unwritable(Input((2, 4)))
