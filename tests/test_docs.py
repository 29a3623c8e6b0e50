"""The docs a newcomer copies from must stay true."""

from __future__ import annotations

import re

from conftest import REPO

from testaudit.mutate.operators import OPERATORS


def _readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    block = re.search(r"```\n(.*?)```", text, re.S)
    assert block and text.index(block.group(0)) < 30, "README must open with the set-up commands"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_opens_with_exactly_two_setup_commands_and_ci_runs_the_second() -> None:
    install_and_audit, install_and_test = _readme_commands()
    assert install_and_audit == "pip install . && testaudit audit"
    assert "pytest" in install_and_test
    assert install_and_test in (REPO / ".ci" / "run").read_text().splitlines()


def test_every_operator_is_in_the_docs() -> None:
    doc = (REPO / "docs" / "operators.md").read_text()
    for op in OPERATORS:
        assert f"`{op.name}`" in doc
