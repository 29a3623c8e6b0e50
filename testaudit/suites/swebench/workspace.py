"""An instance's work tree: its repository at base_commit, with the test patch and the gold patch.

From `--repos DIR` (DIR/owner/name or DIR/owner__name, a clone or a bare mirror: `git archive`
of base_commit, so neither is ever changed) or from `--source DIR` (one instance's tree, taken as
it is). Either way the tree is then made a git repository of its own with one commit, so that
`git apply` (and `git apply -R`, for the run without the gold patch) works on it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from testaudit.records import RepositoryData

GIT_ENV = {"GIT_AUTHOR_NAME": "testaudit", "GIT_AUTHOR_EMAIL": "testaudit@localhost",
           "GIT_COMMITTER_NAME": "testaudit", "GIT_COMMITTER_EMAIL": "testaudit@localhost",
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0"}


class WorkspaceError(Exception):
    """The instance's tree cannot be built: str() is the one-line reason."""


def git(args: list[str], cwd: Path | str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **GIT_ENV, "HOME": str(cwd)}  # no user config decides what applies
    return subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True, text=True,
                          env=env, check=False)


def repository_dir(repos: Path, repo: str) -> Path:
    """DIR/owner/name, DIR/owner__name, or either with .git (a bare mirror)."""
    owner, name = repo.split("/", 1)
    for candidate in (repos / owner / name, repos / f"{owner}__{name}",
                      repos / owner / f"{name}.git", repos / f"{owner}__{name}.git"):
        if candidate.is_dir():
            return candidate
    raise WorkspaceError(f"--repos {repos}: no clone of {repo} "
                         f"(looked for {owner}/{name} and {owner}__{name})")


def build(data: RepositoryData, target: Path, repos: Path | None, source: Path | None) -> Path:
    """Make `target` the instance's tree at base_commit with test_patch and patch applied."""
    target.mkdir(parents=True, exist_ok=True)
    if source is not None:
        _copy_source(source, target)
    elif repos is not None:
        _export(repository_dir(repos, data.repo), data.base_commit, target)
    else:
        raise WorkspaceError("a SWE-bench instance needs --repos DIR or --source DIR")
    _commit(target)
    apply(target, data.test_patch, "test_patch")
    apply(target, data.patch, "patch")
    return target


def _copy_source(source: Path, target: Path) -> None:
    if not source.is_dir():
        raise WorkspaceError(f"--source {source}: not a directory")
    # Taken as it is, but not its own git metadata or caches: the copy gets one commit of its own.
    shutil.copytree(source, target, dirs_exist_ok=True, symlinks=True,
                    ignore=shutil.ignore_patterns(".git", "__pycache__", "*.pyc", ".pytest_cache"))


def _export(repo: Path, commit: str, target: Path) -> None:
    """`git archive` of the commit: works on clones and bare mirrors alike, and touches neither."""
    with tempfile.TemporaryFile() as archive:
        done = subprocess.run(["git", "archive", "--format=tar", commit], cwd=repo, stdout=archive,
                              stderr=subprocess.PIPE, env={**os.environ, **GIT_ENV}, check=False)
        if done.returncode != 0:
            why = done.stderr.decode(errors="replace").strip().splitlines()
            last = why[-1] if why else "git archive failed"
            raise WorkspaceError(f"{repo}: cannot export {commit[:12]}: {last}")
        archive.seek(0)
        with tarfile.open(fileobj=archive) as tar:
            tar.extractall(target, filter="data")


def _commit(tree: Path) -> None:
    for args in (["init", "-q"], ["add", "-A", "-f"], ["commit", "-q", "--no-verify", "-m", "base"]):
        done = git(args, tree)
        if done.returncode != 0:
            raise WorkspaceError(f"git {args[0]} in {tree}: {done.stderr.strip()[:200]}")


def apply(tree: Path, patch: str, field: str, reverse: bool = False) -> None:
    """`git apply` a patch; a patch that does not apply names the first file that failed."""
    if not patch.strip():
        return
    args = ["apply", "--whitespace=nowarn"] + (["-R"] if reverse else []) + ["-"]
    done = git(args, tree, stdin=patch if patch.endswith("\n") else patch + "\n")
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        failed = next((line for line in lines if "patch failed:" in line or "does not exist" in line
                       or "No such file" in line), lines[0] if lines else "git apply failed")
        raise WorkspaceError(f"field '{field}' does not apply: {failed.removeprefix('error: ')}")
