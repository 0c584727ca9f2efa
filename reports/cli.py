"""``breakeven report``: re-render the HTML report from a saved results.json."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from breakeven.cli_support import stdout
from reports.render import REPORT_NAME, check_report_path, load_results, write_report

ResultsArgument = Annotated[
    Path,
    typer.Argument(
        help="A results.json written by `breakeven analyze` (the report is rebuilt from it alone).", show_default=False
    ),
]
OutOption = Annotated[
    Path | None,
    typer.Option(
        "--out",
        "-o",
        help="Where to write: a .html file, or a folder to hold report.html. Default: report.html beside the results.",
        show_default=False,
    ),
]


def report(results_file: ResultsArgument, out: OutOption = None) -> None:
    """Render report.html from a saved results.json alone (no network, no other inputs)."""
    target = out if out is not None else results_file.parent / REPORT_NAME
    check_report_path(target, option="--out" if out is not None else None)
    results = load_results(results_file)
    path = write_report(results, target)
    stdout.print(f"Wrote {path}")
