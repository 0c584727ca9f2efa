"""``breakeven trace ...``: summarize, generate and convert request traces.

Each command parses its options, calls one library function and renders (STYLE.md habit 7).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from breakeven.cli_support import OptionGroup, new_app, print_json, stderr, stdout, with_option_groups
from breakeven.errors import InputError
from breakeven.io import check_output_file
from traces.dataset import DEFAULT_MAX_ROWS, convert_to_dataset, is_dataset, open_dataset
from traces.dataset_summary import summarize_dataset
from traces.formats import FORMAT_NAMES, TIME_UNITS, parse_columns_option
from traces.generate_cli import generate_app
from traces.loaders import _select_model as select_model
from traces.loaders import load_trace
from traces.model import Trace
from traces.spec import parse_duration_s
from traces.summary import summarize
from traces.summary_model import TraceSummary
from traces.transforms import drop_failed, scale_rate, window
from traces.writer import write_trace

app = new_app("Request traces: load real public traces, generate synthetic ones, convert and summarize.")
app.add_typer(generate_app, name="generate")

_FORMAT_HELP = f"Force the input format ({', '.join(FORMAT_NAMES)}); default: detect from the header or first record."
_COLUMNS_HELP = (
    "Column mapping KEY=COLUMN,... with keys arrival, input, output, cached, session, hash_ids, model, deferrable, "
    "turn, think_time, parent (the request a chat turn follows), prefix_hash and prefix_tokens (a shared prompt "
    "prefix: hash_ids are built from them) (e.g. arrival=ts,input=prompt_tokens,output=completion_tokens)."
)
_UNIT_HELP = f"Unit of the arrival column ({', '.join(TIME_UNITS)}); default: the format's own."

# Shared options: reuse them in any command that reads a trace, as one :class:`TraceReading`.
TraceFormatOption = Annotated[str | None, typer.Option("--format", "-f", help=_FORMAT_HELP, show_default=False)]
ColumnsOption = Annotated[str | None, typer.Option("--columns", help=_COLUMNS_HELP, show_default=False)]
TimeUnitOption = Annotated[str | None, typer.Option("--time-unit", help=_UNIT_HELP, show_default=False)]
SkipBadRowsOption = Annotated[
    bool,
    typer.Option(
        "--skip-bad-rows", help="Skip malformed rows instead of stopping at the first; report how many and where."
    ),
]
BlockTokensOption = Annotated[
    int | None,
    typer.Option(
        "--block-tokens",
        min=1,
        help="Tokens per hash_ids block (default: the format's own, Mooncake 512 / Bailian 16, or inferred "
        "from the lengths); also the block size of hash_ids built from prefix_hash/prefix_tokens (16).",
        show_default=False,
    ),
]
TraceModelOption = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        help="Keep only this model's requests (traces that name models), else label every request with it.",
        show_default=False,
    ),
]


@dataclass(frozen=True)
class TraceReading(OptionGroup):
    """How a command reads a trace file (``--format``, ``--columns``, ``--time-unit``, ``--skip-bad-rows``,
    ``--model``): a command takes it as ``reading: TraceReading`` (with :func:`with_option_groups`)."""

    fmt: TraceFormatOption = None
    columns: ColumnsOption = None
    time_unit: TimeUnitOption = None
    skip_bad_rows: SkipBadRowsOption = False
    model: TraceModelOption = None

    def load(self, file: Path, *, block_tokens: int | None = None) -> Trace:
        """Load ``file`` with a spinner, and print its warnings to stderr."""
        with stderr.status(f"Reading {file} ..."):
            trace = load_trace(
                file,
                format=self.fmt,
                columns=self.mapping(),
                time_unit=self.time_unit,
                skip_bad_rows=self.skip_bad_rows,
                model=self.model,
                block_tokens=block_tokens,
            )
        _print_warnings(trace.meta.warnings)
        return trace

    def mapping(self) -> dict[str, str] | None:
        """``--columns`` as a mapping."""
        return parse_columns_option(self.columns) if self.columns else None


def _print_warnings(warnings: Iterable[str]) -> None:
    for warning in warnings:
        stderr.print(f"[yellow]warning:[/] {escape(warning)}", markup=True, highlight=False)


@app.command("info")
@with_option_groups
def info(
    file: Annotated[Path, typer.Argument(help="Trace file (CSV, JSONL or Parquet; .gz accepted for CSV/JSONL).")],
    *,
    reading: TraceReading,
    block_tokens: BlockTokensOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object (TraceSummary) instead of a table.")
    ] = False,
) -> None:
    """Summarize a trace: requests, duration, mean/peak rates, token totals and percentiles, burstiness, and
    (with hash_ids) the prefix reuse an infinite cache would get. A dataset folder (or glob) of Parquet
    partitions is summarized partition by partition."""
    if is_dataset(file):
        with stderr.status(f"Summarizing the dataset {file} ..."):
            summary = summarize_dataset(open_dataset(file))
        if as_json:
            print_json(summary)
        else:
            stdout.print(_summary_table(summary))
        return
    summary = summarize(reading.load(file, block_tokens=block_tokens))
    if as_json:
        print_json(summary)
        return
    stdout.print(_summary_table(summary))


def _summary_table(s: TraceSummary) -> Table:
    table = Table(title=f"{s.source} ({s.format})", show_header=False)
    table.add_column("statistic")
    table.add_column("value", justify="right")
    cv = f"{s.interarrival_cv:.2f}" if s.interarrival_cv is not None else "n/a"
    rows = [
        ("requests", f"{s.requests:,}"),
        ("start time", s.start_time or "n/a"),
        ("duration", f"{s.duration_s:,.1f} s ({s.duration_s / 3600:.2f} h)"),
        ("mean rate", f"{s.mean_rps:.3f} req/s"),
        ("peak rate, 1 s window", f"{s.peak_rps_1s:.1f} req/s"),
        ("peak rate, 60 s window", f"{s.peak_rps_60s:.2f} req/s"),
        ("inter-arrival CV (1 = Poisson)", cv),
        ("input tokens total / mean", f"{s.input_tokens_total:,} / {s.input_tokens_mean:,.1f}"),
        (
            "input tokens p50 / p90 / p99",
            f"{s.input_tokens_p50:,.0f} / {s.input_tokens_p90:,.0f} / {s.input_tokens_p99:,.0f}",
        ),
        ("output tokens total / mean", f"{s.output_tokens_total:,} / {s.output_tokens_mean:,.1f}"),
        (
            "output tokens p50 / p90 / p99",
            f"{s.output_tokens_p50:,.0f} / {s.output_tokens_p90:,.0f} / {s.output_tokens_p99:,.0f}",
        ),
        ("zero-output (failed) requests", f"{s.failed_requests or 0:,}"),
    ]
    if s.cached_tokens_total is not None:
        rows.append(("cached input tokens", f"{s.cached_tokens_total:,}"))
    if s.models:
        rows.append(("requests per model", ", ".join(f"{k}: {v:,}" for k, v in s.models.items())))
    rows += _prefix_rows(s)
    rows.append(("skipped rows", f"{s.skipped_rows}" + (f" (lines {s.skipped_lines})" if s.skipped_lines else "")))
    for key, value in rows:
        table.add_row(key, value)
    return table


def _prefix_rows(s: TraceSummary) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    if s.sessions is not None:
        loop = " (closed loop: think_time_s)" if s.closed_loop else ""
        rows.append(("sessions / most turns", f"{s.sessions:,} / {s.max_turns or 0:,}{loop}"))
    if s.prefix_blocks is not None:
        size = f"{s.block_tokens} tokens" if s.block_tokens else "unknown size"
        rows.append(("prefix blocks (hash_ids)", f"{s.prefix_blocks:,} of {size}"))
    if s.prefix_reuse_token_share is not None:
        rows.append(
            (
                "prefix reuse, infinite cache: tokens",
                f"{s.prefix_reuse_token_share:.1%} ({s.prefix_reuse_tokens or 0:,})",
            )
        )
    if s.prefix_reuse_block_share is not None:
        rows.append(("prefix reuse, infinite cache: blocks", f"{s.prefix_reuse_block_share:.1%}"))
    return rows


@app.command("convert")
@with_option_groups
def convert(
    file: Annotated[Path, typer.Argument(help="Trace file to read (any supported format).")],
    *,
    out: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="Output file: .parquet, .csv or .jsonl (canonical columns); or a folder (DIR/) for a partitioned "
            "Parquet dataset, written in bounded memory.",
        ),
    ],
    reading: TraceReading,
    scale: Annotated[
        float | None, typer.Option("--scale-rate", help="Multiply the request rate by K (compress time).")
    ] = None,
    window_s: Annotated[
        str | None, typer.Option("--window", help="Keep arrivals in [T0, T1), e.g. 600:1800 or 10m:30m.")
    ] = None,
    drop_failed_rows: Annotated[
        bool, typer.Option("--drop-failed", help="Drop requests with zero output tokens (BurstGPT failures).")
    ] = False,
    partition: Annotated[
        str, typer.Option("--partition", help="Dataset output: the time each partition file holds ('1d', '6h').")
    ] = "1d",
    max_rows: Annotated[
        int, typer.Option("--max-rows", min=1, help="Dataset output: at most this many requests per file.")
    ] = DEFAULT_MAX_ROWS,
) -> None:
    """Convert a trace to the canonical columns (arrival_s, input_tokens, output_tokens, ...), as one file or
    as a partitioned Parquet dataset (``-o DIR/``) that later commands read lazily, partition by partition."""
    if _wants_dataset(out):
        _convert_to_dataset(
            file,
            out,
            reading,
            transform=_piece_transform(reading.model, drop_failed_rows, window_s, scale),
            partition_s=parse_duration_s(partition, where="option --partition"),
            max_rows=max_rows,
        )
        return
    check_output_file(out, option="--output", example="trace.parquet")
    trace = reading.load(file)
    if drop_failed_rows:
        trace = drop_failed(trace)
    if window_s is not None:
        trace = window(trace, *_window_bounds(window_s))
    if scale is not None:
        trace = scale_rate(trace, scale)
    path = write_trace(trace, out)
    stdout.print(f"wrote {len(trace):,} requests to {path}")


def _window_bounds(window_s: str) -> tuple[float, float]:
    """``--window T0:T1`` in seconds."""
    t0, sep, t1 = window_s.partition(":")
    if not sep:
        raise InputError(f"option --window: expected T0:T1 like 600:1800, found {window_s!r}")
    start_s = 0.0 if t0.strip() in ("", "0") else parse_duration_s(t0, where="option --window")
    return start_s, parse_duration_s(t1, where="option --window")


def _wants_dataset(out: Path) -> bool:
    """A folder (existing, or named with a trailing slash or without a suffix) means a dataset."""
    return out.is_dir() or str(out).endswith(("/", os.sep)) or not out.suffix


def _piece_transform(
    model: str | None, drop: bool, window_s: str | None, scale: float | None
) -> Callable[[Trace], Trace] | None:
    """What `convert` does to a whole trace, done to each piece of a large file (each acts request by request)."""
    if model is None and not drop and window_s is None and scale is None:
        return None
    bounds = _window_bounds(window_s) if window_s is not None else None

    def transform(trace: Trace) -> Trace:
        if model is not None:
            trace = select_model(trace, model)
        if drop:
            trace = drop_failed(trace)
        if bounds is not None:
            trace = window(trace, *bounds)
        if scale is not None:
            trace = scale_rate(trace, scale)
        return trace

    return transform


def _convert_to_dataset(
    file: Path,
    out: Path,
    reading: TraceReading,
    *,
    transform: Callable[[Trace], Trace] | None,
    partition_s: float,
    max_rows: int,
) -> None:
    """Convert ``file`` in bounded memory, ``--model`` being part of ``transform``."""
    with stderr.status(f"Converting {file} to a dataset in {out} ..."):
        ds = convert_to_dataset(
            file,
            out,
            format=reading.fmt,
            columns=reading.mapping(),
            time_unit=reading.time_unit,
            skip_bad_rows=reading.skip_bad_rows,
            transform=transform,
            partition_s=partition_s,
            max_rows=max_rows,
        )
    skipped = [f"skipped {ds.meta.skipped.count:,} bad rows"] if ds.meta.skipped.count else []
    _print_warnings([*ds.meta.warnings, *skipped])
    stdout.print(f"wrote {len(ds):,} requests in {len(ds.partitions):,} partitions to {out}")
