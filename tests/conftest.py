"""Shared test helpers: paths to fixtures and the real benchmark data."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _private_cwd(tmp_path_factory, monkeypatch) -> None:
    """Each test runs in its own directory: reports/ and .testaudit-cache/ never leak between tests."""
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture
def weak_tasks() -> Path:
    return FIXTURES / "weak_tasks.jsonl"


def shared_data(name: str) -> Path:
    """A real benchmark file from ../shared/data, or skip: a fresh clone has no such folder."""
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"real benchmark data not available: {path} (see fixtures/README.md)")
    return path


def process_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie (a zombie is dead, just unreaped)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def isolation_modes() -> list:
    """pytest params for tests whose expectations differ with sandbox namespaces (root on Linux,
    as in CI) and without them (ExecSettings(isolate=False), as for an unprivileged user)."""
    from testaudit.sandbox import isolate

    status = isolate.status()
    return [pytest.param(False, id="shared"),
            pytest.param(True, id="isolated", marks=pytest.mark.skipif(
                not status.isolated, reason=f"no sandbox namespaces here: {status.reason}"))]
