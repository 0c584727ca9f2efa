"""The CLI's shared behaviour: help on every command, one-line errors with a non-zero exit."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from typing import Annotated

import pytest
import typer
from typer.testing import CliRunner

from breakeven.cli_support import OptionGroup, new_app, parse_number_list, to_json, with_option_groups
from breakeven.errors import InputError, UnknownNameError
from costmodel.cli import app

runner = CliRunner()


def _all_commands(group: typer.Typer, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    command = typer.main.get_command(group)
    found: list[tuple[str, ...]] = []

    def walk(cmd: object, path: tuple[str, ...]) -> None:
        found.append(path)
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, (*path, name))

    walk(command, prefix)
    return found


@pytest.mark.parametrize("path", _all_commands(app), ids=lambda p: " ".join(p) or "breakeven")
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
    # The first help line is a real sentence, not empty.
    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    assert (command.help or "").strip(), f"{' '.join(path)} has no help text"


def test_breakeven_error_is_one_line_and_non_zero() -> None:
    demo = new_app("demo")

    @demo.command()
    def fail() -> None:
        """Always fails."""
        raise InputError("prices.toml: entry 'x/y', field 'as_of': expected a date, found 'soon'")

    @demo.command()
    def other() -> None:
        """Another command, so that sub-commands are addressed by name."""

    result = runner.invoke(demo, ["fail"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "error:" in lines[0] and "prices.toml" in lines[0] and "Traceback" not in result.output


def test_unknown_name_lists_choices_and_suggests() -> None:
    err = UnknownNameError("price id", "digitalocean/gpt-oss-12b", ["digitalocean/gpt-oss-120b", "nebius/h100"])
    text = str(err)
    assert "did you mean 'digitalocean/gpt-oss-120b'" in text
    assert "valid choices:" in text and "nebius/h100" in text


def test_parse_number_list() -> None:
    assert parse_number_list("30, 220,1_200", option="--output-tokens") == [30.0, 220.0, 1200.0]
    with pytest.raises(InputError, match="--output-tokens"):
        parse_number_list("30,abc", option="--output-tokens")
    with pytest.raises(InputError, match="non-negative"):
        parse_number_list("-5", option="--output-tokens")


def test_to_json_is_strict() -> None:
    assert to_json({"a": float("inf"), "b": [float("nan"), 1.5]}, indent=None) == '{"a": null, "b": [null, 1.5]}'


def test_console_script_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "costmodel", "--version"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert result.stdout.startswith("llm-breakeven ")


def test_error_text_with_brackets_is_printed_verbatim() -> None:
    demo = new_app("demo")

    @demo.command()
    def fail() -> None:
        """Always fails."""
        raise InputError("server.log:12: [core.py:254] EngineCore failed to start")

    @demo.command()
    def other() -> None:
        """Another command."""

    result = runner.invoke(demo, ["fail"])
    assert result.exit_code == 2
    assert "[core.py:254] EngineCore failed to start" in result.output


@dataclass(frozen=True)
class _Window(OptionGroup):
    """Two options that commands take together."""

    start: Annotated[int, typer.Option("--start", help="First item.")]
    step: Annotated[int, typer.Option("--step", min=1, help="Every STEP-th item.")] = 1


def test_an_option_group_is_its_fields_in_place() -> None:
    """typer sees a group's fields where the group parameter stands, with their help, defaults and checks; the
    command gets the group built from them, and a direct call may name the fields too."""
    seen: list[tuple[str, _Window, bool]] = []
    demo = new_app("Demo.")

    @demo.command("take")
    @with_option_groups
    def take(
        name: Annotated[str, typer.Argument(help="A name.")],
        *,
        window: _Window,
        loud: Annotated[bool, typer.Option("--loud", help="Shout.")] = False,
    ) -> None:
        """Take a window."""
        seen.append((name, window, loud))

    @demo.command("other")
    def other() -> None:
        """A second command, so that take is a sub-command."""

    result = runner.invoke(demo, ["take", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    help_text = result.output
    assert help_text.index("--start") < help_text.index("--step") < help_text.index("--loud")
    assert "Every STEP-th item." in help_text and "[default: 1]" in help_text and "[required]" in help_text
    assert runner.invoke(demo, ["take", "x", "--start", "3", "--loud"]).exit_code == 0
    assert seen[-1] == ("x", _Window(start=3, step=1), True)
    assert runner.invoke(demo, ["take", "x", "--start", "3", "--step", "0"]).exit_code == 2  # min=1 still holds
    assert runner.invoke(demo, ["take", "x"]).exit_code == 2  # --start is required
    take("y", start=5, step=2)
    assert seen[-1] == ("y", _Window(start=5, step=2), False)
    take("z", window=_Window(start=7))
    assert seen[-1] == ("z", _Window(start=7, step=1), False)
