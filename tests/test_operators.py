"""Each operator: source in, every mutant out (as mutmut and LibCST test their transformations)."""

from __future__ import annotations

import textwrap

import pytest

from testaudit.mutate import generate
from testaudit.mutate.operators import OPERATORS, OPERATORS_BY_NAME
from testaudit.records import MutantStatus, Task

PROMPT = 'def f(a, b, x, xs, s, n, lo, hi):\n    """Docstring: never mutated, not even "this" < 1."""\n'


def make_task(body: str) -> Task:
    solution = textwrap.indent(textwrap.dedent(body).strip("\n") + "\n", "    ")
    source = PROMPT + solution
    return Task("t/0", "f", source, "def check(c):\n    pass\n", len(PROMPT), len(source))


def mutated_bodies(body: str, operator: str) -> list[str]:
    """The solution part of every mutant the operator makes, dedented, sorted."""
    task = make_task(body)
    out = []
    for mutant in generate(task, (OPERATORS_BY_NAME[operator],)):
        program = mutant.apply(task.source)
        assert program.startswith(PROMPT), "the prompt must never change"
        out.append(textwrap.dedent(program[len(PROMPT):]).strip())
    return sorted(out)


@pytest.mark.parametrize(
    "operator, body, expected",
    [
        ("arithmetic", "return a + b", ["return a - b"]),
        ("arithmetic", "return a / b", ["return a * b", "return a // b"]),
        ("arithmetic", "return a // b", ["return a / b"]),
        ("arithmetic", "return a * b", ["return a / b"]),
        ("arithmetic", "return a % b", ["return a // b"]),
        ("arithmetic", "return a ** 2", ["return a * 2"]),
        ("arithmetic", "return s + 'x'", ["return s - 'x'"]),
        ("arithmetic", "return 'x' + s", []),  # "x" - s is no plausible program
        ("compare_boundary", "return a < b", ["return a <= b"]),
        ("compare_boundary", "return a >= b", ["return a > b"]),
        ("compare_boundary", "return a == b", []),
        ("compare_boundary", "return lo < x < hi", ["return lo < x <= hi", "return lo <= x < hi"]),
        ("compare_negate", "return a == b", ["return a != b"]),
        ("compare_negate", "return a < b", ["return a >= b"]),
        ("compare_negate", "return x in xs", ["return x not in xs"]),
        ("compare_negate", "return x is not None", ["return x is None"]),
        ("boolean", "return a and b", ["return a or b"]),
        ("boolean", "return a or b", ["return a and b"]),
        ("unary", "return not a", ["return a"]),
        ("unary", "return -a", ["return a"]),
        ("unary", "return ~a", ["return a"]),
        ("integer", "return 0", ["return 1"]),
        ("integer", "return 1", ["return 0", "return 2"]),
        ("integer", "return xs[10]", ["return xs[11]", "return xs[9]"]),
        ("string", "return ','", ["return ''"]),
        ("string", "return ''", ["return 'XX'"]),
        ("constant", "return True", ["return False"]),
        ("constant", "return False", ["return True"]),
        ("constant", "return None", ['return ""']),
        ("index", "return xs[n]", ["return xs[n + 1]", "return xs[n - 1]"]),
        ("index", "return xs[0]", []),  # literal indexes: the integer operator's job
        ("slice", "return xs[:n]", ["return xs[:n + 1]", "return xs[:n - 1]"]),
        ("slice", "return xs[::-1]", ["return xs[:]"]),
        ("range", "return range(n)", ["return range(1, n)", "return range(n + 1)", "return range(n - 1)"]),
        ("range", "return range(a, b)",
         ["return range(a + 1, b)", "return range(a - 1, b)", "return range(a, b + 1)",
          "return range(a, b - 1)"]),
        ("return_value", "return a + b", ["return None"]),
        ("return_value", "return None", []),
        ("break_continue", "for x in xs:\n    break", ["for x in xs:\n    continue"]),
        ("break_continue", "for x in xs:\n    continue", ["for x in xs:\n    break"]),
        ("augmented_assign", "a += 1", ["a -= 1", "a = 1"]),
        ("augmented_assign", "a *= 2", ["a /= 2", "a = 2"]),
        ("builtin", "return max(xs)", ["return min(xs)"]),
        ("builtin", "return any(xs)", ["return all(xs)"]),
        ("builtin", "return sorted(xs)", ["return reversed(xs)"]),
        ("method", "return s.lower()", ["return s.upper()"]),
        ("method", "return s.strip()", ["return s.lstrip()", "return s.rstrip()"]),
        ("method", "return s.startswith(x)", ["return s.endswith(x)"]),
        ("method", "return s.find(x)", ["return s.rfind(x)"]),
        ("method", "xs.append(x)", ["xs.insert(0, x)"]),
        ("sort_order", "return sorted(xs)", ["return sorted(xs, reverse=True)"]),
        ("sort_order", "xs.sort(key=len)", ["xs.sort(key=len, reverse=True)"]),
        ("delete_statement", "xs.append(x)\nreturn xs", ["pass\nreturn xs"]),
        ("delete_statement", "a += 1\nreturn a", ["pass\nreturn a"]),
        ("negate_condition", "if a:\n    return 1\nreturn 2", ["if not a:\n    return 1\nreturn 2"]),
        ("negate_condition", "return 1 if a else 2", ["return 1 if not a else 2"]),
        ("negate_condition", "while a > 0:\n    a -= 1", ["while not (a > 0):\n    a -= 1"]),
        ("force_condition", "if a > 0:\n    a = 1\nreturn a", ["if True:\n    a = 1\nreturn a"]),
    ],
)
def test_operator_mutants(operator: str, body: str, expected: list[str]) -> None:
    assert mutated_bodies(body, operator) == sorted(expected)


def test_return_without_a_space_keeps_its_mutants_and_valid_syntax() -> None:
    # MBPP's `return(1)` (Mbpp/189): a constant rebuilt without its parentheses made libcst
    # refuse the whole program, which ended the audit of mbpp.jsonl with an internal error.
    assert mutated_bodies("return(1)", "integer") == ["return(0)", "return(2)"]
    assert mutated_bodies("return(a + b)", "return_value") == ["return None"]
    assert mutated_bodies("x = a * (1)\nreturn x", "integer") == ["x = a * (0)\nreturn x",
                                                                 "x = a * (2)\nreturn x"]


def test_guard_deletion_removes_the_whole_early_return() -> None:
    body = "if not xs:\n    return 0\nreturn xs[0]"
    assert mutated_bodies(body, "delete_statement") == ["pass\nreturn xs[0]"]


def test_elif_is_not_deleted_as_a_guard() -> None:
    body = "if a:\n    return 1\nelif b:\n    return 2\nreturn 3"
    # Only a guard without else can become `pass`; the `if` here has an elif (its orelse).
    assert mutated_bodies(body, "delete_statement") == []


def test_prompt_and_docstrings_are_never_mutated() -> None:
    task = make_task('def g():\n    """inner docstring"""\n    return 1\nreturn g()')
    for mutant in generate(task):
        assert mutant.start >= task.solution_start
        assert "docstring" not in mutant.original


def test_every_operator_is_documented_with_a_working_example() -> None:
    assert len(OPERATORS) >= 14
    for op in OPERATORS:
        before, after = op.example
        assert op.description and before != after
        outputs = mutated_bodies(before, op.name)
        assert textwrap.dedent(after).strip() in outputs, op.name


def test_mutant_records_locate_their_text_exactly() -> None:
    task = make_task("if a < b:\n    return a + 1\nreturn b")
    mutants = generate(task)
    lines = task.source.splitlines()
    for m in mutants:
        assert task.source[m.start:m.end] == m.original
        # 1-based line and column, end exclusive, as in Stryker's schema.
        if m.location.start.line == m.location.end.line:
            line = lines[m.location.start.line - 1]
            assert line[m.location.start.column - 1 : m.location.end.column - 1] == m.original
        assert m.diff.startswith("--- t/0 (reference)")
    boundary = next(m for m in mutants if m.operator == "compare_boundary")
    assert (boundary.original, boundary.replacement) == ("<", "<=")
    assert boundary.location.start.line == 3 and boundary.location.start.column == 10


def test_ids_are_deterministic_and_unique() -> None:
    task = make_task("return a + b * 2 if a < b else max(xs)")
    first = [m.id for m in generate(task)]
    assert first == [m.id for m in generate(task)]
    assert len(set(first)) == len(first)


def test_equivalents_are_marked_not_run() -> None:
    # Constant folding compiles 2 ** 1 and 2 * 1 to the same constant: same bytecode.
    task = make_task("return 2 ** 1")
    mutants = {(m.operator, m.replacement): m for m in generate(task)}
    folded = mutants[("arithmetic", "*")]
    assert folded.status is MutantStatus.EQUIVALENT
    assert folded.detail == "same bytecode as the reference"
    assert mutants[("integer", "2")].status is MutantStatus.PENDING


def test_duplicates_are_marked_with_the_first_mutant() -> None:
    # `not a` -> `a` (unary) and `if not a` negated -> `if a` (negate_condition) are one program.
    task = make_task("if not a:\n    return 1\nreturn 2")
    mutants = generate(task)
    unary = next(m for m in mutants if m.operator == "unary")
    negated = next(m for m in mutants if m.operator == "negate_condition")
    first, second = sorted((unary, negated), key=mutants.index)
    assert first.status is MutantStatus.PENDING
    assert second.status is MutantStatus.EQUIVALENT
    assert second.detail == f"duplicate of mutant {first.id}"
