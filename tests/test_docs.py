"""The README documents every command, and its quickstart is what CI runs (sqlite-utils' test_docs habit)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from costmodel.cli import app
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def _leaf_commands() -> list[str]:
    found: list[str] = []

    def walk(cmd: object, path: tuple[str, ...]) -> None:
        subs = getattr(cmd, "commands", {})
        if not subs and path:
            found.append(" ".join(path))
        for name, sub in subs.items():
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return found


@pytest.mark.parametrize("command", _leaf_commands())
def test_every_command_is_in_the_readme(command: str) -> None:
    assert re.search(rf"breakeven {re.escape(command)}\b", README), f"README never shows `breakeven {command}`"


def test_readme_starts_with_the_two_quickstart_commands_ci_runs() -> None:
    blocks = re.findall(r"```[a-z]*\n(.*?)```", README, flags=re.S)
    commands = [line for block in blocks for line in block.splitlines() if line.strip() and not line.startswith("#")]
    assert commands[0].endswith("breakeven analyze")
    assert "pip install -e '.[test]'" in commands[1] and commands[1].endswith("python -m pytest")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "head -n 2" in ci and "README.md" in ci  # CI extracts these two lines, it does not copy them


def test_planning_example_runs() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "examples" / "plan_gpus.py")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines()[1:] if line.strip()]
    assert len(rows) == 6
    assert all(re.search(r"[\d,]+$", row) for row in rows)


def _help_texts() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []

    def walk(cmd: object, path: tuple[str, ...]) -> None:
        found.extend((" ".join(path), p.help) for p in getattr(cmd, "params", []) if getattr(p, "help", None))
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return found


@pytest.mark.parametrize("command", _leaf_commands())
def test_help_shows_every_option_text_whole(command: str) -> None:
    """rich reads ``[req/s]`` or ``[default: x]`` in a help text as markup and drops it unless escaped (``\\[``)."""
    result = CliRunner().invoke(app, [*command.split(), "--help"], env={"COLUMNS": "1000", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    shown = " ".join(result.output.replace("│", " ").split())
    for path, text in _help_texts():
        if path == command:
            expected = " ".join(text.replace("\\[", "[").split())
            assert expected in shown, f"`breakeven {command} --help` does not show {expected!r} whole"
