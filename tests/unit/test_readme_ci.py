"""The README's two commands are the project's contract; .ci/run must run the second verbatim."""

from __future__ import annotations

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return [b.strip() for b in re.findall(r"```sh\n(.*?)```", text, re.S)]


def test_readme_opens_with_two_commands() -> None:
    cmds = _readme_commands()
    assert len(cmds) >= 2
    assert "netring demo" in cmds[0]
    assert "pytest" in cmds[1]
    head = (ROOT / "README.md").read_text().split("```sh", 3)
    assert head[0].strip() == "# netring"


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert _readme_commands()[1] in ci
