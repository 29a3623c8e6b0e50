"""Before mutants are made: each repository task's work tree, patched files and environment.

Called by the pipeline once per audit, in the parent process: the mutate stage needs the
patched files' whole text, and the environment (a venv, built once per (repo, version)) is
shared by the instances that need it. The work trees live in the audit's temporary folder,
removed when the audit ends.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from testaudit.config import RepoSettings
from testaudit.errors import UsageError
from testaudit.records import PatchedFile, RepositoryData, Task, TaskStatus
from testaudit.suites.swebench import env, patch, workspace


def repository_tasks(tasks: list[Task]) -> list[Task]:
    return [t for t in tasks if isinstance(t.suite_data, RepositoryData) and t.status is TaskStatus.OK]


def prepare(tasks: list[Task], settings: RepoSettings, scratch: Path, cache: Path,
            differential: bool = False) -> list[Task]:
    """The tasks, each repository task with its tree built, or in error naming why."""
    wanted = repository_tasks(tasks)
    if not wanted:
        return tasks
    if settings.source is not None and len(wanted) > 1:
        raise UsageError(f"--source {settings.source} is one instance's tree, but {len(wanted)} instances "
                         f"are selected: choose one with --tasks")
    if settings.repos is None and settings.source is None:
        raise UsageError("SWE-bench instances need --repos DIR (clones or mirrors) "
                         "or --source DIR (one instance)")
    if settings.repos is not None and not settings.repos.is_dir():
        raise UsageError(f"--repos {settings.repos}: not a directory")
    specs = env.read_specs(settings.env_spec)  # before any tree is built: a bad spec fails fast
    out = []
    for number, task in enumerate(tasks):
        if task in wanted:
            task = _prepared(task, settings, scratch / f"{number}", cache, specs, differential)
        out.append(task)
    return out


def _prepared(task: Task, settings: RepoSettings, folder: Path, cache: Path, specs: dict,
              differential: bool) -> Task:
    data = task.suite_data
    assert isinstance(data, RepositoryData)
    try:
        tree = workspace.build(data, folder / "tree", settings.repos, settings.source)
        files = tuple(PatchedFile(change.path, (tree / change.path).read_text(encoding="utf-8"), change.added)
                      for change in patch.parse(data.patch)
                      if change.path.endswith(".py") and not change.deleted)
        data = dataclasses.replace(data, files=files, workspace=str(tree), isolate=settings.isolate,
                                   differential=differential)
        plan = env.current(data, specs) if settings.env == "current" else env.venv(data, specs, tree, cache)
        data = dataclasses.replace(data, env=plan)
    except (workspace.WorkspaceError, env.EnvError, OSError, UnicodeDecodeError) as exc:
        where = f"{task.origin.path}:{task.origin.line}: " if task.origin else ""
        return dataclasses.replace(task, status=TaskStatus.ERROR, message=f"{where}{task.task_id}: {exc}")
    return dataclasses.replace(task, suite_data=data)
