"""The README documents every command, and its quickstart is what CI runs (sqlite-utils' test_docs habit)."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from costmodel.cli import app
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def _leaf_commands() -> dict[str, Any]:
    """Every leaf command of the CLI, by its path ("trace generate poisson"), as click sees it."""
    found: dict[str, Any] = {}

    def walk(cmd: Any, path: tuple[str, ...]) -> None:
        subs = getattr(cmd, "commands", {})
        if not subs and path:
            found[" ".join(path)] = cmd
        for name, sub in subs.items():
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return found


LEAVES = _leaf_commands()


@pytest.mark.parametrize("command", list(LEAVES))
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


SELF_CONTAINED = [("replay.md", 0), ("replay.md", 1), ("costmodel.md", 0), ("engine.md", 0), ("prefix.md", 1)]
"""The Python examples in docs/ that need only this repository, or the real data in ../shared (the others
read the user's own files or a live server); each is the document's N-th ```python block."""


@pytest.mark.parametrize(("doc", "index"), SELF_CONTAINED)
def test_doc_examples_run_and_print_what_the_page_shows(doc: str, index: int) -> None:
    """A page's example runs from the repository root; where a ```text block follows it, that is its output."""
    text = (REPO / "docs" / doc).read_text(encoding="utf-8")
    block = list(re.finditer(r"```python\n(.*?)```\n", text, flags=re.S))[index]
    if "../shared/" in block.group(1) and not (REPO.parent / "shared").is_dir():
        pytest.skip("reads the larger real data in ../shared, absent here")
    result = subprocess.run(
        [sys.executable, "-c", block.group(1)], capture_output=True, text=True, check=False, cwd=REPO, timeout=120
    )
    assert result.returncode == 0, f"docs/{doc}, python block {index}: {result.stderr[-2000:]}"
    shown = re.match(r"\s*```text\n(.*?)```", text[block.end() :], flags=re.S)
    if shown is not None:
        assert result.stdout == shown.group(1), f"docs/{doc}, python block {index}: the output shown is stale"


@pytest.mark.parametrize("command", list(LEAVES))
def test_help_shows_every_option_text_whole(command: str) -> None:
    """rich reads ``[req/s]`` or ``[default: x]`` in a help text as markup and drops it unless escaped (``\\[``)."""
    result = CliRunner().invoke(app, [*command.split(), "--help"], env={"COLUMNS": "1000", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    shown = " ".join(result.output.replace("│", " ").split())
    for text in (p.help for p in LEAVES[command].params if getattr(p, "help", None)):
        expected = " ".join(text.replace("\\[", "[").split())
        assert expected in shown, f"`breakeven {command} --help` does not show {expected!r} whole"
