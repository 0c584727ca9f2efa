"""``breakeven sweep``: cross GPU offers, prices, profiles, policies, growth, tiers and SLOs from a TOML
spec, one analysis per cell, on a Dask cluster or locally; write sweep.parquet and sweep.html."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from breakeven.cli_support import stderr, stdout
from breakeven.errors import InputError
from breakeven.io import check_output_folder
from costmodel.sweep import read_sweep_meta, sweep_outcome
from reports.sweep import write_sweep_report

WorkersOption = Annotated[
    int | None,
    typer.Option(
        "--workers",
        "-w",
        min=0,
        help="Worker processes of a local Dask cluster (default: one per core); 0 runs everything in this "
        "process, one item after the other.",
        show_default=False,
    ),
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help="Submit the work to an existing Dask cluster instead (its workers must see the files named by "
        "path: traces, datasets, profiles).",
        show_default=False,
    ),
]


def sweep(
    spec: Annotated[
        Path,
        typer.Argument(metavar="SPEC.toml", help="Sweep spec: a trace and the lists to cross (see docs/sweep.md)."),
    ],
    *,
    out: Annotated[
        Path, typer.Option("--out", "-o", metavar="DIR", help="Folder for sweep.parquet, sweep.html and cells/.")
    ] = Path("sweep-out"),
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    axes: Annotated[
        str | None,
        typer.Option(
            "--axes",
            metavar="X,Y",
            help="The winner heatmaps' two axes, e.g. growth,gpu (default: the spec's report.axes, else the "
            "two longest).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run one analysis per cell of a sweep spec; write sweep.parquet (one row per cell × option) and sweep.html.

    Finished cells are kept in DIR/cells/: run the same command again to resume an interrupted sweep. A cell
    that fails is reported with its inputs and error; the others still land.
    """
    if workers is not None and scheduler is not None:
        raise InputError("options --workers and --scheduler: expected one of them, found both")
    heatmap_axes = [a.strip() for a in axes.split(",")] if axes else None
    if heatmap_axes is not None and len(heatmap_axes) != 2:
        raise InputError(f"option --axes: expected two axis names like growth,gpu, found {axes!r}")
    check_output_folder(out, option="--out")  # before the first cell runs, not after
    with Progress(
        TextColumn("cells"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=stderr,
        transient=True,
    ) as bar:
        task = bar.add_task("cells", total=None)
        outcome = sweep_outcome(
            spec,
            out=out,
            workers=workers,
            scheduler=scheduler,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    html = write_sweep_report(outcome.frame, out, meta=read_sweep_meta(outcome.path), axes=heatmap_axes)
    cells = outcome.frame.drop_duplicates("cell_id")
    ok = int((cells["status"] == "ok").sum())
    workers_text = f"{outcome.workers} worker{'s' if outcome.workers != 1 else ''}"
    parts = [f"{outcome.ran:,} run on {workers_text}" if outcome.ran else "none run", f"{outcome.resumed:,} resumed"]
    if outcome.skipped:
        parts.append(f"{outcome.skipped:,} not run")
    stdout.print(f"{ok:,} of {len(cells):,} cells analysed ({', '.join(parts)}) in {outcome.seconds:,.1f} s")
    for kind, count in cells.loc[cells["status"] == "ok", "winner_kind"].value_counts().items():
        stdout.print(f"  {escape(str(kind))} wins {count:,} cell{'s' if count != 1 else ''}")
    failed = cells[cells["status"] == "error"]
    for row in failed.head(20).itertuples():
        named = ("gpu", "serverless", "profile", "policy", "growth", "tier")
        inputs = ", ".join(f"{a}={getattr(row, a)}" for a in named)
        stderr.print(f"[red]failed[/] cell {row.cell_id} ({escape(inputs)}): {escape(str(row.error))}")
    if len(failed) > 20:
        stderr.print(f"[red]failed[/] ... and {len(failed) - 20:,} more (status 'error' in sweep.parquet)")
    stdout.print(f"table: {escape(str(outcome.path))}\nreport: {escape(str(html))}")
    if len(failed):
        stderr.print("run the same command again to retry the failed cells")
        raise typer.Exit(code=1)
