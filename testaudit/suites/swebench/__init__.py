"""Repository tasks (SWE-bench): a repository at a commit, judged by its own pytest tests.

Unlike the other kinds, the program is not one function run in testaudit's process: the tests
run in the instance's own interpreter (env.py), on its work tree (workspace.py), driven by
testaudit's pytest plugin (pytest_plugin.py). So this kind runs its whole job itself
(`run_job`, in runner.py) and triage's members say "nothing to do" (docs/swebench.md).
"""

from __future__ import annotations

from testaudit.records import SuiteKind, Task
from testaudit.suites.base import FunctionSuite


class RepositorySuite(FunctionSuite):
    kind = SuiteKind.REPOSITORY
    # No entry function: what is mutated is a patch over many functions of many files.
    has_entry_function = False

    def run(self, prepared, program, namespace, broken) -> None:  # noqa: ANN001 - Protocol member
        raise NotImplementedError("repository tasks run through run_job, not in a sandbox child")

    def run_job(self, job, settings, emit) -> None:  # noqa: ANN001 - the run stage's job handler
        """Run the whole job (the reference, then the mutants): the run stage hands it over."""
        from testaudit.suites.swebench.runner import run_job

        run_job(job, settings, emit)

    def write_test(self, task: Task, inp, expected, atol: float) -> str | None:  # noqa: ANN001
        return None

    def oracle_test(self, task: Task, inp, assertion: str | None) -> str | None:  # noqa: ANN001
        return None

    def no_inputs_reason(self, task: Task) -> str | None:
        return "repository tasks are not triaged yet: their survivors stay unconfirmed"


SUITE = RepositorySuite()
