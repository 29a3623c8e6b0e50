"""The catalogue of mutation operators: each a pure libcst node -> replacement-nodes generator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import libcst as cst

# An operator function gets the node and its parent (some mutations are only valid in some
# places, e.g. a guard `if` can become `pass` in a block but not in an `elif` chain) and yields
# replacement nodes. It never prints; a node of a type it does not handle is a bug and raises.
OperatorFn = Callable[[cst.CSTNode, cst.CSTNode | None], Iterator[cst.CSTNode]]


@dataclass(frozen=True)
class Operator:
    name: str
    description: str
    node_types: tuple[type[cst.CSTNode], ...]
    fn: OperatorFn
    example: tuple[str, str]  # (before, after): one mutant this operator makes


def _expect(node: cst.CSTNode, *types: type[cst.CSTNode]) -> None:
    if not isinstance(node, types):
        raise TypeError(f"operator got {type(node).__name__}, expects {types}")


def _int(value: int) -> cst.BaseExpression:
    if value < 0:
        return cst.UnaryOperation(cst.Minus(), cst.Integer(str(-value)))
    return cst.Integer(str(value))


def _plus(expr: cst.BaseExpression, delta: int) -> cst.BaseExpression:
    """`expr + 1` / `expr - 1`, folding integer literals so `n - 1` + 1 reads `n`-free."""
    if isinstance(expr, cst.Integer):
        return _int(expr.evaluated_value + delta)
    op: cst.BaseBinaryOp = cst.Add() if delta > 0 else cst.Subtract()
    return cst.BinaryOperation(expr, op, cst.Integer(str(abs(delta))))


# --- arithmetic -------------------------------------------------------------------------------

_ARITH: dict[type[cst.BaseBinaryOp], tuple[type[cst.BaseBinaryOp], ...]] = {
    cst.Add: (cst.Subtract,),
    cst.Subtract: (cst.Add,),
    cst.Multiply: (cst.Divide,),
    cst.Divide: (cst.Multiply, cst.FloorDivide),
    cst.FloorDivide: (cst.Divide,),
    cst.Modulo: (cst.FloorDivide,),
    cst.Power: (cst.Multiply,),
    cst.LeftShift: (cst.RightShift,),
    cst.RightShift: (cst.LeftShift,),
    cst.BitAnd: (cst.BitOr,),
    cst.BitOr: (cst.BitAnd,),
    cst.BitXor: (cst.BitAnd,),
}


def swap_arithmetic(node, parent):
    """a + b -> a - b, a * b -> a / b, a / b -> a // b, a % b -> a // b, a ** b -> a * b ..."""
    _expect(node, cst.BinaryOperation)
    for new in _ARITH.get(type(node.operator), ()):
        if isinstance(node.left, cst.SimpleString | cst.FormattedString) and new is cst.Subtract:
            continue  # "a" - "b" is a TypeError, not a plausible program
        yield node.with_changes(
            operator=new(
                whitespace_before=node.operator.whitespace_before,
                whitespace_after=node.operator.whitespace_after,
            )
        )


# --- comparisons --------------------------------------------------------------------------

_BOUNDARY = {
    cst.LessThan: cst.LessThanEqual,
    cst.LessThanEqual: cst.LessThan,
    cst.GreaterThan: cst.GreaterThanEqual,
    cst.GreaterThanEqual: cst.GreaterThan,
}

_NEGATION = {
    cst.Equal: cst.NotEqual,
    cst.NotEqual: cst.Equal,
    cst.LessThan: cst.GreaterThanEqual,
    cst.LessThanEqual: cst.GreaterThan,
    cst.GreaterThan: cst.LessThanEqual,
    cst.GreaterThanEqual: cst.LessThan,
    cst.Is: cst.IsNot,
    cst.IsNot: cst.Is,
    cst.In: cst.NotIn,
    cst.NotIn: cst.In,
}


def _swap_comparison(node, table) -> Iterator[cst.Comparison]:
    for i, target in enumerate(node.comparisons):
        new_type = table.get(type(target.operator))
        if new_type is None:
            continue
        old = target.operator
        new_op = new_type(
            whitespace_before=old.whitespace_before, whitespace_after=old.whitespace_after
        )
        targets = list(node.comparisons)
        targets[i] = target.with_changes(operator=new_op)
        yield node.with_changes(comparisons=targets)


def compare_boundary(node, parent):
    """a < b -> a <= b, a >= b -> a > b: the off-by-one at a boundary."""
    _expect(node, cst.Comparison)
    yield from _swap_comparison(node, _BOUNDARY)


def compare_negate(node, parent):
    """a == b -> a != b, a < b -> a >= b, x in s -> x not in s, x is None -> x is not None."""
    _expect(node, cst.Comparison)
    yield from _swap_comparison(node, _NEGATION)


# --- boolean logic ------------------------------------------------------------------------


def swap_boolean(node, parent):
    """a and b -> a or b, a or b -> a and b."""
    _expect(node, cst.BooleanOperation)
    old = node.operator
    new = cst.Or if isinstance(old, cst.And) else cst.And
    yield node.with_changes(
        operator=new(whitespace_before=old.whitespace_before, whitespace_after=old.whitespace_after)
    )


def _negate(expr: cst.BaseExpression) -> cst.BaseExpression:
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Not):
        return expr.expression
    if isinstance(expr, cst.BooleanOperation | cst.IfExp | cst.NamedExpr) or (
        isinstance(expr, cst.Comparison) and not expr.lpar
    ):
        expr = expr.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return cst.UnaryOperation(cst.Not(), expr)


def negate_condition(node, parent):
    """if c: -> if not c:, also in elif, while and x if c else y."""
    _expect(node, cst.If, cst.While, cst.IfExp)
    changes: dict = {"test": _negate(node.test)}
    if isinstance(node, cst.If) and not node.whitespace_before_test.value:
        changes["whitespace_before_test"] = cst.SimpleWhitespace(" ")  # `if(x):` needs a space
    yield node.with_changes(**changes)


def force_condition(node, parent):
    """if c: -> if True: (the condition is removed; the branch always runs)."""
    _expect(node, cst.If)
    if not (isinstance(node.test, cst.Name) and node.test.value in ("True", "False")):
        yield node.with_changes(test=cst.Name("True"))


# --- constants ----------------------------------------------------------------------------


def change_integer(node, parent):
    """n -> n + 1 and n - 1 (so 0 <-> 1): 10 -> 11, 10 -> 9."""
    _expect(node, cst.Integer)
    value = node.evaluated_value
    for new in (value + 1, value - 1):
        if new >= 0:
            yield node.with_changes(value=str(new))  # keeps its parentheses: `return(1)`


def change_string(node, parent):
    """'abc' -> '' and '' -> 'XX' (docstrings and f-strings are never touched)."""
    _expect(node, cst.SimpleString)
    prefix = node.prefix
    quote = node.quote
    if node.evaluated_value:
        yield node.with_changes(value=f"{prefix}{quote}{quote}")
    else:
        yield node.with_changes(value=f"{prefix}{quote}XX{quote}")


def swap_constant(node, parent):
    """True <-> False, None -> '' (mutmut's choice: a falsy value of another type)."""
    _expect(node, cst.Name)
    if node.value == "True":
        yield node.with_changes(value="False")
    elif node.value == "False":
        yield node.with_changes(value="True")
    elif node.value == "None":
        yield cst.SimpleString('""')


# --- subscripts, slices and ranges --------------------------------------------------------


def _is_literal_int(expr: cst.BaseExpression | None) -> bool:
    return isinstance(expr, cst.Integer) or (
        isinstance(expr, cst.UnaryOperation)
        and isinstance(expr.operator, cst.Minus)
        and isinstance(expr.expression, cst.Integer)
    )


def index_off_by_one(node, parent):
    """xs[i] -> xs[i + 1], xs[i] -> xs[i - 1] (literal indexes are left to change_integer)."""
    _expect(node, cst.Index)
    if _is_literal_int(node.value) or isinstance(node.value, cst.SimpleString):
        return
    for delta in (1, -1):
        yield node.with_changes(value=_plus(node.value, delta))


def slice_off_by_one(node, parent):
    """xs[a:b] -> xs[a + 1:b], xs[a:b - 1]; xs[::-1] -> xs[:] (literal bounds: change_integer)."""
    _expect(node, cst.Slice)
    for field in ("lower", "upper"):
        bound = getattr(node, field)
        if bound is None or _is_literal_int(bound):
            continue
        for delta in (1, -1):
            yield node.with_changes(**{field: _plus(bound, delta)})
    if node.step is not None:
        yield node.with_changes(step=None, second_colon=cst.MaybeSentinel.DEFAULT)


def _call_name(node: cst.Call) -> str | None:
    return node.func.value if isinstance(node.func, cst.Name) else None


def range_bounds(node, parent):
    """range(n) -> range(n + 1), range(n - 1), range(1, n); range(a, b) -> range(a + 1, b) ..."""
    _expect(node, cst.Call)
    if _call_name(node) != "range" or not 1 <= len(node.args) <= 3:
        return
    if any(arg.keyword or arg.star for arg in node.args):
        return
    args = list(node.args)
    if len(args) == 1:
        stop = args[0]
        for delta in (1, -1):
            yield node.with_changes(args=[stop.with_changes(value=_plus(stop.value, delta))])
        yield node.with_changes(args=[cst.Arg(cst.Integer("1")), stop])
        return
    for index in (0, 1):
        for delta in (1, -1):
            bound = args[index]
            if _is_literal_int(bound.value):
                continue  # change_integer covers literal bounds
            changed = list(args)
            changed[index] = bound.with_changes(value=_plus(bound.value, delta))
            yield node.with_changes(args=changed)


# --- statements ---------------------------------------------------------------------------


def replace_return(node, parent):
    """return x -> return None (return True/False/None are left to swap_constant)."""
    _expect(node, cst.Return)
    value = node.value
    if value is None or (isinstance(value, cst.Name) and value.value in ("None", "True", "False")):
        return
    space = node.whitespace_after_return
    if isinstance(space, cst.SimpleWhitespace) and not space.value:  # `return(x)`: `returnNone` is a name
        space = cst.SimpleWhitespace(" ")
    yield node.with_changes(value=cst.Name("None"), whitespace_after_return=space)


def _is_guard(node: cst.If) -> bool:
    if node.orelse is not None:
        return False
    body = node.body
    last = body.body[-1] if isinstance(body, cst.IndentedBlock) else body
    small = last.body[-1] if isinstance(last, cst.SimpleStatementLine | cst.SimpleStatementSuite) else None
    return isinstance(small, cst.Return | cst.Raise | cst.Continue | cst.Break)


def delete_statement(node, parent):
    """xs.append(x) -> pass, n += 1 -> pass, and an early-return guard `if c: return x` -> pass."""
    _expect(node, cst.Expr, cst.AugAssign, cst.If)
    if isinstance(node, cst.If):
        # Only a whole guard statement in a block; an `elif` (parent is an If) cannot become pass.
        if _is_guard(node) and not isinstance(parent, cst.If):
            yield cst.SimpleStatementLine([cst.Pass()])
        return
    if isinstance(node, cst.Expr) and isinstance(node.value, cst.SimpleString | cst.Ellipsis):
        return  # docstrings and `...` do nothing already
    yield cst.Pass()


def swap_break_continue(node, parent):
    """break -> continue, continue -> break."""
    _expect(node, cst.Break, cst.Continue)
    yield cst.Continue() if isinstance(node, cst.Break) else cst.Break()


_AUG = {
    cst.AddAssign: cst.SubtractAssign,
    cst.SubtractAssign: cst.AddAssign,
    cst.MultiplyAssign: cst.DivideAssign,
    cst.DivideAssign: cst.MultiplyAssign,
    cst.FloorDivideAssign: cst.DivideAssign,
    cst.ModuloAssign: cst.FloorDivideAssign,
    cst.PowerAssign: cst.MultiplyAssign,
    cst.BitOrAssign: cst.BitAndAssign,
    cst.BitAndAssign: cst.BitOrAssign,
}


def swap_augmented(node, parent):
    """x += y -> x -= y, x *= y -> x /= y, and x += y -> x = y."""
    _expect(node, cst.AugAssign)
    old = node.operator
    new = _AUG.get(type(old))
    if new is not None:
        yield node.with_changes(
            operator=new(
                whitespace_before=old.whitespace_before, whitespace_after=old.whitespace_after
            )
        )
    yield cst.Assign(
        targets=[cst.AssignTarget(node.target, whitespace_before_equal=old.whitespace_before,
                                  whitespace_after_equal=old.whitespace_after)],
        value=node.value,
    )


def remove_unary(node, parent):
    """not x -> x, -x -> x, ~x -> x."""
    _expect(node, cst.UnaryOperation)
    if isinstance(node.operator, cst.Plus):
        return
    expr = node.expression
    if node.lpar and not expr.lpar:
        expr = expr.with_changes(lpar=node.lpar, rpar=node.rpar)
    yield expr


# --- calls --------------------------------------------------------------------------------

_BUILTINS = {
    "min": ("max",),
    "max": ("min",),
    "any": ("all",),
    "all": ("any",),
    "sorted": ("reversed",),
    "reversed": ("sorted",),
    "int": ("float",),
    "float": ("int",),
    "round": ("int",),
    "abs": ("int",),
    "list": ("set",),
    "set": ("list",),
    "sum": ("len",),
    "len": ("sum",),
    "str": ("repr",),
    "chr": ("ord",),
    "ord": ("chr",),
}


def swap_builtin(node, parent):
    """min(xs) -> max(xs), any -> all, sorted -> reversed, int -> float, sum -> len ..."""
    _expect(node, cst.Call)
    name = _call_name(node)
    for new in _BUILTINS.get(name or "", ()):
        yield node.with_changes(func=node.func.with_changes(value=new))


_METHODS = {
    "lower": ("upper",),
    "upper": ("lower",),
    "lstrip": ("rstrip",),
    "rstrip": ("lstrip",),
    "strip": ("lstrip", "rstrip"),
    "startswith": ("endswith",),
    "endswith": ("startswith",),
    "find": ("rfind",),
    "rfind": ("find",),
    "index": ("rindex",),
    "rindex": ("index",),
    "split": ("rsplit",),
    "ljust": ("rjust",),
    "rjust": ("ljust",),
    "isupper": ("islower",),
    "islower": ("isupper",),
    "isdigit": ("isalpha",),
    "isalpha": ("isdigit",),
    "capitalize": ("title",),
    "title": ("capitalize",),
    "append": ("insert0",),
    "pop": ("pop0",),
}


def swap_method(node, parent):
    """s.lower() -> s.upper(), lstrip <-> rstrip, startswith <-> endswith, find <-> rfind ..."""
    _expect(node, cst.Call)
    func = node.func
    if not isinstance(func, cst.Attribute):
        return
    for new in _METHODS.get(func.attr.value, ()):
        if new == "insert0":  # xs.append(x) -> xs.insert(0, x): wrong end of the list
            if len(node.args) == 1:
                yield node.with_changes(
                    func=func.with_changes(attr=cst.Name("insert")),
                    args=[cst.Arg(cst.Integer("0"), comma=cst.Comma(
                        whitespace_after=cst.SimpleWhitespace(" "))), *node.args],
                )
        elif new == "pop0":  # xs.pop() -> xs.pop(0)
            if not node.args:
                yield node.with_changes(args=[cst.Arg(cst.Integer("0"))])
        else:
            yield node.with_changes(func=func.with_changes(attr=cst.Name(new)))


def sort_reverse(node, parent):
    """sorted(xs) -> sorted(xs, reverse=True), xs.sort() -> xs.sort(reverse=True)."""
    _expect(node, cst.Call)
    is_sorted = _call_name(node) == "sorted"
    is_sort = isinstance(node.func, cst.Attribute) and node.func.attr.value == "sort"
    if not (is_sorted or is_sort) or any(a.keyword and a.keyword.value == "reverse" for a in node.args):
        return
    args = list(node.args)
    if args:
        args[-1] = args[-1].with_changes(
            comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        )
    reverse = cst.Arg(
        cst.Name("True"),
        keyword=cst.Name("reverse"),
        equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")),
    )
    yield node.with_changes(args=[*args, reverse])


OPERATORS: tuple[Operator, ...] = (
    Operator("arithmetic", "Replace an arithmetic or bitwise operator",
             (cst.BinaryOperation,), swap_arithmetic, ("a + b", "a - b")),
    Operator("compare_boundary", "Move a comparison's boundary by one (< <-> <=, > <-> >=)",
             (cst.Comparison,), compare_boundary, ("i < n", "i <= n")),
    Operator("compare_negate", "Negate a comparison (== <-> !=, < -> >=, in <-> not in, is <-> is not)",
             (cst.Comparison,), compare_negate, ("x == 0", "x != 0")),
    Operator("boolean", "Swap and <-> or",
             (cst.BooleanOperation,), swap_boolean, ("a and b", "a or b")),
    Operator("negate_condition", "Negate the condition of if, elif, while or a conditional expression",
             (cst.If, cst.While, cst.IfExp), negate_condition,
             ("if x > 0:\n    y = 1\n", "if not (x > 0):\n    y = 1\n")),
    Operator("force_condition", "Remove an if's condition so its branch always runs",
             (cst.If,), force_condition, ("if x > 0:\n    y = 1\n", "if True:\n    y = 1\n")),
    Operator("integer", "Change an integer constant by one (0 <-> 1)",
             (cst.Integer,), change_integer, ("n = 10", "n = 11")),
    Operator("string", "Empty a string constant, or fill an empty one",
             (cst.SimpleString,), change_string, ("sep = ','", "sep = ''")),
    Operator("constant", "Swap True <-> False, None -> ''",
             (cst.Name,), swap_constant, ("found = False", "found = True")),
    Operator("index", "Move a computed subscript index by one",
             (cst.Index,), index_off_by_one, ("xs[i]", "xs[i + 1]")),
    Operator("slice", "Move a computed slice bound by one, or drop a slice's step",
             (cst.Slice,), slice_off_by_one, ("xs[:n]", "xs[:n - 1]")),
    Operator("range", "Move a range() bound by one, or start it at 1",
             (cst.Call,), range_bounds, ("range(n)", "range(n - 1)")),
    Operator("return_value", "Return None instead of the computed value",
             (cst.Return,), replace_return, ("return total", "return None")),
    Operator("delete_statement", "Replace a call, augmented assignment or guard if with pass",
             (cst.Expr, cst.AugAssign, cst.If), delete_statement,
             ("if not xs:\n    return 0\n", "pass\n")),
    Operator("break_continue", "Swap break <-> continue",
             (cst.Break, cst.Continue), swap_break_continue,
             ("for x in xs:\n    break\n", "for x in xs:\n    continue\n")),
    Operator("augmented_assign", "Change an augmented assignment's operator, or drop it (x += y -> x = y)",
             (cst.AugAssign,), swap_augmented, ("total += x", "total -= x")),
    Operator("unary", "Remove a unary operator (not, -, ~)",
             (cst.UnaryOperation,), remove_unary, ("return not ok", "return ok")),
    Operator("builtin", "Swap a builtin call for a similar one (min <-> max, any <-> all, ...)",
             (cst.Call,), swap_builtin, ("max(xs)", "min(xs)")),
    Operator("method", "Swap a string or list method for its mirror (lower <-> upper, ...)",
             (cst.Call,), swap_method, ("s.lstrip()", "s.rstrip()")),
    Operator("sort_order", "Reverse a sort's order",
             (cst.Call,), sort_reverse, ("sorted(xs)", "sorted(xs, reverse=True)")),
)

OPERATORS_BY_NAME: dict[str, Operator] = {op.name: op for op in OPERATORS}


def select(names: list[str] | None) -> tuple[Operator, ...]:
    """The operators named (all of them when names is None), in catalogue order."""
    if not names:
        return OPERATORS
    unknown = [n for n in names if n not in OPERATORS_BY_NAME]
    if unknown:
        raise KeyError(", ".join(unknown))
    return tuple(op for op in OPERATORS if op.name in names)
