"""Domain exceptions; each one's str() is the one-line message a user sees."""

from __future__ import annotations


class TestauditError(Exception):
    """Base class: an error the CLI reports in one line, with an exit code."""

    exit_code = 3


class UsageError(TestauditError):
    """Bad input or options: exit code 2."""

    exit_code = 2


class DatasetError(UsageError):
    """A file that is not a dataset we can read."""

    def __init__(self, path: str, line: int | None, what: str) -> None:
        self.path, self.line, self.what = path, line, what
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.what}"


class StoreError(UsageError):
    """A session store we cannot use (another schema, another dataset)."""


class ThresholdError(TestauditError):
    """The gate's thresholds do not hold: exit code 1."""

    exit_code = 1


class NothingTestedError(TestauditError):
    """A run in which no mutant ran: never a success."""

    exit_code = 1


class FieldError(Exception):
    """A record field that is missing or of the wrong shape; str() names the field.

    Raised while reading one record; the loader turns it into a task in error that names the
    file and line too (load/fields.py).
    """
