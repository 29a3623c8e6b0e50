"""The mutate stage: a task's reference solution -> its mutants (libcst operators).

`operators.py` is the operator table, each with an example; `generate.py` applies them to the
solution part of a task's program and marks equivalent and duplicate mutants; `patch.py` applies
them to the lines a repository task's gold patch adds (SWE-bench).
"""

from testaudit.mutate.generate import GenerationError, mutant_id
from testaudit.mutate.generate import generate as generate_function
from testaudit.mutate.operators import OPERATORS, OPERATORS_BY_NAME, Operator, select
from testaudit.mutate.patch import generate_patched
from testaudit.records import Mutant, RepositoryData, Task

__all__ = ["OPERATORS", "OPERATORS_BY_NAME", "GenerationError", "Operator", "generate", "mutant_id", "select"]


def generate(task: Task, operators: tuple[Operator, ...] = OPERATORS) -> list[Mutant]:
    """A task's mutants: of its solution, or of its gold patch's added lines (a repository task)."""
    if isinstance(task.suite_data, RepositoryData):
        return generate_patched(task, task.suite_data, operators)
    return generate_function(task, operators)
