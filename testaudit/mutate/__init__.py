"""The mutate stage: a task's reference solution -> its mutants (libcst operators).

`operators.py` is the operator table, each with an example; `generate.py` applies them to the
solution part of a task's program and marks equivalent and duplicate mutants.
"""

from testaudit.mutate.generate import GenerationError, generate, mutant_id
from testaudit.mutate.operators import OPERATORS, OPERATORS_BY_NAME, Operator, select

__all__ = ["OPERATORS", "OPERATORS_BY_NAME", "GenerationError", "Operator", "generate", "mutant_id", "select"]
