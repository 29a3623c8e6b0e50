"""The session store: every verdict, committed as it arrives, in sqlite (all of our SQL)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from testaudit.errors import StoreError
from testaudit.records import (
    CandidateResult,
    CandidateVerdict,
    MutantResult,
    MutantStatus,
    ReferenceRun,
    TriageOutcome,
    Witness,
)
from testaudit.store import codec
from testaudit.store.files import prepare_folder
from testaudit.text import clean, cleaned

# Version 1: meta, reference_runs, task_errors, results.
# Version 2: triage_tasks, triage_results, candidate_results (survivor triage, --candidates).
# Version 3: triage_tasks.added_tests (strengthen's tests, so that `strengthen --resume` works).
SCHEMA_VERSION = 3

SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reference_runs (
    task_id TEXT PRIMARY KEY,
    passed INTEGER NOT NULL,
    message TEXT,
    suite_seconds REAL NOT NULL,
    suite_calls_entry_point INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS task_errors (task_id TEXT PRIMARY KEY, message TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (
    mutant_id TEXT PRIMARY KEY,
    task_id TEXT NOT NULL,
    status TEXT NOT NULL,
    detail TEXT,
    seconds REAL NOT NULL
);
-- Triage overlays the suite's verdicts; `key` says which survivors and settings it was for.
CREATE TABLE IF NOT EXISTS triage_tasks (
    task_id TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    suggested_tests TEXT NOT NULL,  -- JSON list of assertions
    inputs INTEGER NOT NULL,
    note TEXT,
    added_tests TEXT NOT NULL  -- JSON list of AddedTest (strengthen; [] for an audit)
);
CREATE TABLE IF NOT EXISTS triage_results (
    mutant_id TEXT PRIMARY KEY,
    task_id TEXT NOT NULL,
    status TEXT NOT NULL,
    detail TEXT,
    seconds REAL NOT NULL,
    witness TEXT,  -- JSON object: input, expected, actual
    suggested_test TEXT,
    inputs_tried INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS candidate_results (
    task_id TEXT NOT NULL,
    sample INTEGER NOT NULL,
    completion TEXT NOT NULL,
    verdict TEXT NOT NULL,
    detail TEXT,
    witness TEXT,
    suggested_test TEXT,
    inputs_tried INTEGER NOT NULL,
    PRIMARY KEY (task_id, sample)
);
"""

FILENAME = "session.sqlite"

# The tables that hold a run's verdicts, task by task: what `testaudit merge` copies from each
# shard's store (meta, the run key, is the merged run's own).
VERDICT_TABLES = ("reference_runs", "task_errors", "results", "triage_tasks", "triage_results",
                  "candidate_results")


class Store:
    """One audit session in OUT/session.sqlite. Only the parent process writes to it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.db = sqlite3.connect(path, isolation_level=None)
            # Our bar is "kill -9 loses nothing that was reported": WAL, and never synchronous=off.
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self._check_tables()
            self.db.executescript(SCHEMA)
            self._check_version()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path}: not a testaudit session store ({exc})") from exc

    def _check_tables(self) -> None:
        """Refuse a store whose tables are not ours: CREATE TABLE IF NOT EXISTS would keep them,
        and the first write would then fail deep inside the audit."""
        found = _columns(self.db)
        if found.get("schema_version") == ("version",):
            self._check_version()  # another version's tables differ: say which version it is
        for table, columns in _expected_columns().items():
            if table in found and found[table] != columns:
                raise StoreError(
                    f"{self.path}: not a testaudit session store (table '{table}' has columns "
                    f"{', '.join(found[table])}, expected {', '.join(columns)}); audit into a fresh --out")
        if found and "schema_version" not in found:
            raise StoreError(f"{self.path}: not a testaudit session store (it has no schema "
                             "version); audit into a fresh --out")

    def _check_version(self) -> None:
        row = self.db.execute("SELECT version FROM schema_version").fetchone()
        if row is None:
            self.db.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
        elif row[0] != SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: session store has schema version {row[0]}, this testaudit "
                f"reads version {SCHEMA_VERSION}; audit into a fresh --out"
            )

    @classmethod
    def open(cls, out: Path, run_key: str, resume: bool) -> Store:
        """A store for this run: the existing one when resuming (same run key), else a new one."""
        prepare_folder(out, "--out")
        path = out / FILENAME
        if not resume:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        store = cls(path)
        stored = store.get_meta("run_key")
        if stored is None:
            store.set_meta("run_key", run_key)
        elif stored != run_key:
            store.close()
            raise StoreError(
                f"{path}: --resume found a session of another dataset or other settings; "
                "rerun with the same arguments, or without --resume to start over"
            )
        return store

    def close(self) -> None:
        self.db.close()

    def absorb(self, path: Path) -> None:
        """Copy every verdict of another session store (a shard's) into this one, in one
        transaction. The stores must be of disjoint tasks: a row this store has already is an
        error, never silently replaced."""
        if not path.is_file():
            raise StoreError(f"{path}: no session store here")
        Store(path).close()  # refuses a store that is not ours, or of another schema version
        self.db.execute("ATTACH DATABASE ? AS part", (str(path),))
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                for table in VERDICT_TABLES:
                    self.db.execute(f"INSERT INTO main.{table} SELECT * FROM part.{table}")
            except BaseException as exc:
                self.db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.IntegrityError):
                    raise StoreError(f"{path}: holds verdicts of tasks another part holds too "
                                     f"({exc})") from exc
                raise
            self.db.execute("COMMIT")
        finally:
            self.db.execute("DETACH DATABASE part")

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", _row((key, value)))

    def add_reference(self, run: ReferenceRun) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO reference_runs VALUES (?, ?, ?, ?, ?)",
            _row((run.task_id, int(run.passed), run.message, run.suite_seconds,
                  int(run.suite_calls_entry_point))),
        )

    def add_task_error(self, task_id: str, message: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO task_errors VALUES (?, ?)", _row((task_id, message)))

    def add_results(self, results: tuple[MutantResult, ...]) -> None:
        # One short transaction per batch: BEGIN IMMEDIATE takes the write lock up front.
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.executemany(
                "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?)",
                [_row((r.mutant_id, r.task_id, r.status.value, r.detail, r.seconds)) for r in results],
            )
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def references(self) -> dict[str, ReferenceRun]:
        rows = self.db.execute("SELECT * FROM reference_runs").fetchall()
        return {
            r[0]: ReferenceRun(r[0], bool(r[1]), r[2], r[3], bool(r[4])) for r in rows
        }

    def task_errors(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT task_id, message FROM task_errors").fetchall())

    def results(self) -> dict[str, MutantResult]:
        rows = self.db.execute("SELECT * FROM results").fetchall()
        return {r[0]: MutantResult(r[0], r[1], MutantStatus(r[2]), r[3], r[4]) for r in rows}

    # --- triage ---------------------------------------------------------------------------

    def add_triage(self, outcome: TriageOutcome, key: str) -> None:
        """One task's triage, in one transaction: a task is triaged entirely or not at all."""
        task_id = outcome.task_id
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.execute("DELETE FROM triage_results WHERE task_id = ?", (task_id,))
            self.db.execute("DELETE FROM candidate_results WHERE task_id = ?", (task_id,))
            self.db.execute(
                "INSERT OR REPLACE INTO triage_tasks VALUES (?, ?, ?, ?, ?, ?)",
                _row((task_id, key, json.dumps(cleaned(list(outcome.suggested_tests))), outcome.inputs,
                      outcome.note,
                      json.dumps(cleaned([codec.added_test_to_json(t) for t in outcome.added])))),
            )
            self.db.executemany(
                "INSERT OR REPLACE INTO triage_results VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [_row((r.mutant_id, r.task_id, r.status.value, r.detail, r.seconds, _json(r.witness),
                       r.suggested_test, r.inputs_tried)) for r in outcome.results],
            )
            self.db.executemany(
                "INSERT OR REPLACE INTO candidate_results VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [_row((c.task_id, c.sample, c.completion, c.verdict.value, c.detail, _json(c.witness),
                       c.suggested_test, c.inputs_tried)) for c in outcome.candidates],
            )
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def triage_keys(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT task_id, key FROM triage_tasks").fetchall())

    def triage(self, task_id: str) -> TriageOutcome | None:
        row = self.db.execute(
            "SELECT suggested_tests, inputs, note, added_tests FROM triage_tasks WHERE task_id = ?",
            (task_id,)
        ).fetchone()
        if row is None:
            return None
        results = tuple(
            MutantResult(r[0], r[1], MutantStatus(r[2]), r[3], r[4], _unjson(r[5]), r[6], r[7])
            for r in self.db.execute(
                "SELECT * FROM triage_results WHERE task_id = ? ORDER BY mutant_id", (task_id,))
        )
        candidates = tuple(
            CandidateResult(r[0], r[1], r[2], CandidateVerdict(r[3]), r[4], _unjson(r[5]), r[6], r[7])
            for r in self.db.execute(
                "SELECT * FROM candidate_results WHERE task_id = ? ORDER BY sample", (task_id,))
        )
        added = tuple(codec.added_test_from_json(t) for t in json.loads(row[3]))
        return TriageOutcome(task_id, results, tuple(json.loads(row[0])), candidates, row[1], row[2],
                             added=added)


def _columns(db: sqlite3.Connection) -> dict[str, tuple[str, ...]]:
    """Each table of the database with its column names, in order."""
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    quoted = {t: t.replace("'", "''") for t in tables}
    return {t: tuple(r[1] for r in db.execute(f"PRAGMA table_info('{quoted[t]}')")) for t in tables}


def _expected_columns() -> dict[str, tuple[str, ...]]:
    db = sqlite3.connect(":memory:")
    try:
        db.executescript(SCHEMA)
        return _columns(db)
    finally:
        db.close()


def _row(values: tuple) -> tuple:
    """A row's values with their text made safe (`text.clean`): sqlite refuses a lone surrogate,
    and task code can put one in a kill reason, a witness or a task id."""
    return tuple(clean(v) if isinstance(v, str) else v for v in values)


def _json(witness: Witness | None) -> str | None:
    # json.dumps keeps the codec's key order: input, expected, actual.
    return None if witness is None else json.dumps(cleaned(codec.witness_to_json(witness)))


def _unjson(text: str | None) -> Witness | None:
    return None if text is None else codec.witness_from_json(json.loads(text))
