"""Where an instance's tests run: this interpreter (`--env current`), or a virtual environment
per (repo, version) built from a spec (`--env venv`) and cached under the cache directory.

The spec file is TOML (docs/swebench.md, "Environments"); testaudit ships `envs.toml`, with the
two instances of ../shared/data/swebench/README.md. A venv is built once: its folder's name holds
the hash of its spec entry, so a changed entry builds a new one. It is built with `uv` when `uv`
is on PATH (measured faster here: docs/swebench.md), else with `pip`; uv is never required.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from testaudit.errors import UsageError
from testaudit.records import EnvPlan, RepositoryData

DEFAULT_SPEC = Path(__file__).with_name("envs.toml")
# coverage.py runs inside the instance's interpreter: it maps each patched line to its tests.
COVERAGE = "coverage>=7.2,<8"


class EnvError(Exception):
    """The environment cannot be built: str() is the one-line reason."""


@dataclass(frozen=True)
class EnvSpec:
    """One [[env]] entry of a spec file."""

    repo: str
    version: str
    install: tuple[str, ...]
    pythonpath: tuple[str, ...]
    test_command: tuple[str, ...]
    python: str  # the interpreter the venv is made from

    @property
    def digest(self) -> str:
        material = [self.repo, self.version, self.install, self.pythonpath, self.test_command,
                    self.python, COVERAGE]
        return hashlib.sha256(json.dumps(material).encode()).hexdigest()[:12]


def _strings(path: Path, number: int, entry: dict, name: str, default: list[str] | None) -> tuple[str, ...]:
    value = entry.get(name, default)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"{path}: env {number}: field '{name}' must be a list of strings")
    return tuple(value)


def read_specs(path: Path | None) -> dict[tuple[str, str], EnvSpec]:
    """The spec file's entries by (repo, version); one-line errors name the file, entry and field."""
    path = path or DEFAULT_SPEC
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{path}: --env-spec: cannot be read ({exc.strerror or exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: --env-spec: not valid TOML ({exc})") from exc
    entries = data.get("env", [])
    if not isinstance(entries, list):
        raise UsageError(f"{path}: --env-spec: 'env' must be an array of tables ([[env]])")
    specs = {}
    for number, entry in enumerate(entries, start=1):
        for name in ("repo", "version"):
            if not isinstance(entry.get(name), str) or not entry[name]:
                raise UsageError(f"{path}: env {number}: field '{name}' must be a non-empty string")
        python = entry.get("python", sys.executable)
        if not isinstance(python, str):
            raise UsageError(f"{path}: env {number}: field 'python' must be a string")
        spec = EnvSpec(entry["repo"], entry["version"], _strings(path, number, entry, "install", None),
                       _strings(path, number, entry, "pythonpath", []),
                       _strings(path, number, entry, "test_command", ["-m", "pytest"]), python)
        specs[(spec.repo, spec.version)] = spec
    return specs


def default_pythonpath(data: RepositoryData) -> tuple[str, ...]:
    """`src` for a src-layout repository (its patched files live under src/), else nothing."""
    return ("src",) if any(f.path.startswith("src/") for f in data.files) else ()


def current(data: RepositoryData, specs: dict[tuple[str, str], EnvSpec]) -> EnvPlan:
    spec = specs.get((data.repo, data.version))
    pythonpath = spec.pythonpath if spec is not None else default_pythonpath(data)
    command = spec.test_command if spec is not None else ("-m", "pytest")
    return EnvPlan("current", sys.executable, command, pythonpath)


def venv(data: RepositoryData, specs: dict[tuple[str, str], EnvSpec], tree: Path, cache: Path) -> EnvPlan:
    """The instance's venv, built on first use from its spec entry (the tree is its ".")."""
    spec = specs.get((data.repo, data.version))
    if spec is None:
        raise EnvError(f"--env venv: the spec has no entry for {data.repo} version {data.version}")
    name = f"{data.repo.replace('/', '__')}-{data.version}-{spec.digest}"
    folder = (cache / "envs" / name).resolve()  # the tests run from the work tree: no relative paths
    python = folder / "bin" / "python"
    if not (folder / "READY").is_file():
        build(spec, folder, tree)
    return EnvPlan("venv", str(python), spec.test_command, spec.pythonpath, spec.digest)


def installer() -> str:
    """"uv" when it is on PATH, else "pip"."""
    return "uv" if shutil.which("uv") else "pip"


def build(spec: EnvSpec, folder: Path, tree: Path, tool: str | None = None) -> float:
    """Build the venv in `folder` (replacing a half-built one); returns the seconds it took."""
    import time

    started = time.perf_counter()
    if folder.exists():
        shutil.rmtree(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    args = [str(tree) + a[1:] if a.startswith(".") else a for a in spec.install] + [COVERAGE]
    tool = tool or installer()
    if tool == "uv":
        steps = [["uv", "venv", "-q", "-p", spec.python, str(folder)],
                 ["uv", "pip", "install", "-q", "-p", str(folder / "bin" / "python"), *args]]
    else:
        steps = [[spec.python, "-m", "venv", str(folder)],
                 [str(folder / "bin" / "python"), "-m", "pip", "install", "-q",
                  "--disable-pip-version-check", *args]]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, check=False,
                              env={**os.environ, "PIP_NO_INPUT": "1"})
        if done.returncode != 0:
            lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
            raise EnvError(f"--env venv: {Path(step[0]).name} {' '.join(step[1:3])} failed: "
                           f"{lines[-1] if lines else 'exit code ' + str(done.returncode)}")
    (folder / "READY").write_text(json.dumps({"tool": tool, "seconds": time.perf_counter() - started}))
    return time.perf_counter() - started
