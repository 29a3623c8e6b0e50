"""Unified diffs: which files a patch touches, and which lines of the patched files it adds."""

from __future__ import annotations

import re
from dataclasses import dataclass

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")


@dataclass(frozen=True)
class FileChange:
    """One file of a patch: its path (as `b/...` names it) and the new-side lines it adds."""

    path: str
    added: tuple[int, ...]  # 1-based lines of the patched file
    deleted: bool = False  # the patch removes the file


def _path(line: str) -> str | None:
    name = line[4:].split("\t")[0].strip()
    if name == "/dev/null":
        return None
    return name[2:] if name.startswith(("a/", "b/")) else name


def parse(patch: str) -> list[FileChange]:
    """The files of a git-style unified diff, in order, with the lines each one adds.

    A changed line is a removed line followed by an added one, so the added lines are the
    added and the changed ones: what a mutant of the patch may touch."""
    blocks: list[list[str]] = []
    for line in patch.splitlines():
        if line.startswith("diff --git ") or not blocks:
            blocks.append([])
        blocks[-1].append(line)
    changes = [_file(block) for block in blocks]
    return [c for c in changes if c is not None]


def _file(block: list[str]) -> FileChange | None:
    """One file's part of the diff: its header, then its hunks."""
    path: str | None = None
    deleted = False
    start = len(block)  # where the hunks begin
    for index, line in enumerate(block):
        if _HUNK.match(line):
            start = index
            break
        if line.startswith("--- "):
            path = _path(line)
        elif line.startswith("+++ "):
            new = _path(line)
            deleted = new is None
            path = new or path
    if path is None:
        return None
    return FileChange(path, tuple(_added(block[start:])), deleted)


def _added(hunks: list[str]) -> list[int]:
    added: list[int] = []
    line_no = 0
    for line in hunks:
        match = _HUNK.match(line)
        if match:
            line_no = int(match.group(1))
        elif line.startswith("+"):
            added.append(line_no)
            line_no += 1
        elif line.startswith(" ") or line == "":
            line_no += 1
    return added
