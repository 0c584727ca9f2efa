"""The ``breakeven`` command line: the one composition root (it may import every package, ``reports``
included). Each command parses options, calls one library function and renders (STYLE.md habit 7)."""

from __future__ import annotations

import sys

import typer

from breakeven import __version__
from breakeven.cli_support import new_app, stdout
from costmodel.commands import analyze as analyze_cmd
from costmodel.commands import replica as replica_cmd
from costmodel.commands import simulate as simulate_cmd
from costmodel.commands import sweep as sweep_cmd
from costmodel.commands import table as table_cmd
from costmodel.profiles import cli as profile_cli
from pricing import cli as pricing_cli
from reports import cli as reports_cli
from traces import cli as traces_cli

app = new_app(
    "Is a per-token serverless LLM API or dedicated GPUs running vLLM cheaper for [bold]your[/] traffic? "
    "Measured answers, break-even lines by output length, and an HTML report.\n\n"
    "Start with [bold]breakeven analyze[/] (bundled defaults) or see the README."
)


def _version(value: bool) -> None:
    if value:
        stdout.print(f"llm-breakeven {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Top-level options."""


app.add_typer(pricing_cli.app, name="prices")
app.add_typer(traces_cli.app, name="trace")
app.add_typer(profile_cli.app, name="profile")
app.command("analyze")(analyze_cmd.analyze)
app.command("table")(table_cmd.table)
app.command("sweep")(sweep_cmd.sweep)
app.command("report")(reports_cli.report)
app.command("simulate")(simulate_cmd.simulate_cmd)
app.command("capacity")(simulate_cmd.capacity_cmd)
profile_cli.app.command("calibrate")(replica_cmd.calibrate_cmd)
profile_cli.app.command("estimate")(replica_cmd.estimate_cmd)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    app(args=argv if argv is not None else sys.argv[1:], prog_name="breakeven")
