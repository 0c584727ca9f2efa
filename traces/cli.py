"""``breakeven trace ...``: summarize, generate and convert request traces.

Each command parses its options, calls one library function and renders (STYLE.md habit 7).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.markup import escape
from rich.table import Table

from breakeven.cli_support import new_app, print_json, stderr, stdout
from breakeven.errors import InputError
from breakeven.io import check_output_file
from traces.formats import FORMAT_NAMES, TIME_UNITS, parse_columns_option
from traces.generators import bursty as gen_bursty
from traces.generators import diurnal as gen_diurnal
from traces.generators import on_off as gen_on_off
from traces.generators import poisson as gen_poisson
from traces.lengths import Lengths, LengthsLike, ResampledPairs
from traces.loaders import load_trace
from traces.model import Trace
from traces.spec import parse_duration_s, parse_length_spec, parse_rate_rps, parse_spec
from traces.summary import summarize
from traces.summary_model import TraceSummary
from traces.transforms import drop_failed, scale_rate, window
from traces.writer import write_trace

app = new_app("Request traces: load real public traces, generate synthetic ones, convert and summarize.")
generate_app = new_app(
    "Generate a synthetic trace (seeded: the same --seed gives the same file). "
    "Rates are mean requests/second ('2', '120/min', '7200/h'); durations take s/m/h/d ('1h')."
)
app.add_typer(generate_app, name="generate")

_FORMAT_HELP = f"Force the input format ({', '.join(FORMAT_NAMES)}); default: detect from the header or first record."
_COLUMNS_HELP = (
    "Column mapping KEY=COLUMN,... with keys arrival, input, output, cached, session, hash_ids, model, deferrable "
    "(e.g. arrival=ts,input=prompt_tokens,output=completion_tokens)."
)
_UNIT_HELP = f"Unit of the arrival column ({', '.join(TIME_UNITS)}); default: the format's own."

# Shared options: reuse them in any command that reads a trace, with :func:`trace_from_options`.
TraceFormatOption = Annotated[str | None, typer.Option("--format", "-f", help=_FORMAT_HELP, show_default=False)]
ColumnsOption = Annotated[str | None, typer.Option("--columns", help=_COLUMNS_HELP, show_default=False)]
TimeUnitOption = Annotated[str | None, typer.Option("--time-unit", help=_UNIT_HELP, show_default=False)]
SkipBadRowsOption = Annotated[
    bool,
    typer.Option(
        "--skip-bad-rows", help="Skip malformed rows instead of stopping at the first; report how many and where."
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


def trace_from_options(
    file: Path,
    *,
    fmt: str | None = None,
    columns: str | None = None,
    time_unit: str | None = None,
    skip_bad_rows: bool = False,
    model: str | None = None,
) -> Trace:
    """Load a trace from CLI option values, with a spinner, and print its warnings to stderr."""
    mapping = parse_columns_option(columns) if columns else None
    with stderr.status(f"Reading {file} ..."):
        trace = load_trace(
            file, format=fmt, columns=mapping, time_unit=time_unit, skip_bad_rows=skip_bad_rows, model=model
        )
    for warning in trace.meta.warnings:
        stderr.print(f"[yellow]warning:[/] {escape(warning)}", markup=True, highlight=False)
    return trace


@app.command("info")
def info(
    file: Annotated[Path, typer.Argument(help="Trace file (CSV, JSONL or Parquet; .gz accepted for CSV/JSONL).")],
    *,
    fmt: TraceFormatOption = None,
    columns: ColumnsOption = None,
    time_unit: TimeUnitOption = None,
    skip_bad_rows: SkipBadRowsOption = False,
    model: TraceModelOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object (TraceSummary) instead of a table.")
    ] = False,
) -> None:
    """Summarize a trace: requests, duration, mean/peak rates, token totals and percentiles, burstiness."""
    trace = trace_from_options(
        file, fmt=fmt, columns=columns, time_unit=time_unit, skip_bad_rows=skip_bad_rows, model=model
    )
    summary = summarize(trace)
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
    rows.append(("skipped rows", f"{s.skipped_rows}" + (f" (lines {s.skipped_lines})" if s.skipped_lines else "")))
    for key, value in rows:
        table.add_row(key, value)
    return table


@app.command("convert")
def convert(
    file: Annotated[Path, typer.Argument(help="Trace file to read (any supported format).")],
    *,
    out: Annotated[
        Path, typer.Option("--output", "-o", help="Output file: .parquet, .csv or .jsonl (canonical columns).")
    ],
    fmt: TraceFormatOption = None,
    columns: ColumnsOption = None,
    time_unit: TimeUnitOption = None,
    skip_bad_rows: SkipBadRowsOption = False,
    model: TraceModelOption = None,
    scale: Annotated[
        float | None, typer.Option("--scale-rate", help="Multiply the request rate by K (compress time).")
    ] = None,
    window_s: Annotated[
        str | None, typer.Option("--window", help="Keep arrivals in [T0, T1), e.g. 600:1800 or 10m:30m.")
    ] = None,
    drop_failed_rows: Annotated[
        bool, typer.Option("--drop-failed", help="Drop requests with zero output tokens (BurstGPT failures).")
    ] = False,
) -> None:
    """Convert a trace to the canonical columns (arrival_s, input_tokens, output_tokens, ...)."""
    check_output_file(out, option="--output", example="trace.parquet")
    trace = trace_from_options(
        file, fmt=fmt, columns=columns, time_unit=time_unit, skip_bad_rows=skip_bad_rows, model=model
    )
    if drop_failed_rows:
        trace = drop_failed(trace)
    if window_s is not None:
        t0, sep, t1 = window_s.partition(":")
        if not sep:
            raise InputError(f"option --window: expected T0:T1 like 600:1800, found {window_s!r}")
        start_s = 0.0 if t0.strip() in ("", "0") else parse_duration_s(t0, where="option --window")
        trace = window(trace, start_s, parse_duration_s(t1, where="option --window"))
    if scale is not None:
        trace = scale_rate(trace, scale)
    path = write_trace(trace, out)
    stdout.print(f"wrote {len(trace):,} requests to {path}")


# --------------------------------------------------------------------------------------------- generate

SeedOption = Annotated[int, typer.Option("--seed", help="Seed of the random generator (same seed, same trace).")]
RateOption = Annotated[
    str, typer.Option("--rate", "-r", help="Mean request rate: req/s, or with /min or /h ('7200/h').")
]
DurationOption = Annotated[str, typer.Option("--duration", "-d", help="Duration: seconds, or with s/m/h/d ('30m').")]
InputOption = Annotated[
    str | None,
    typer.Option(
        "--input",
        help="Input-length model: fixed(N), lognormal(MEAN,P90), lognormal(median=M,p90=Q), resample(FILE).",
        show_default=False,
    ),
]
OutputOption = Annotated[
    str | None, typer.Option("--output", help="Output-length model, same syntax as --input.", show_default=False)
]
LengthsFromOption = Annotated[
    Path | None,
    typer.Option(
        "--lengths-from",
        help="Draw input/output pairs from this trace file (instead of --input/--output).",
        show_default=False,
    ),
]
OutOption = Annotated[Path, typer.Option("-o", "--out", help="Where to write the trace (.parquet, .csv or .jsonl).")]
LabelOption = Annotated[
    str | None, typer.Option("--model", "-m", help="Label every request with this model name.", show_default=False)
]


def _lengths(input_spec: str | None, output_spec: str | None, lengths_from: Path | None) -> LengthsLike:
    if lengths_from is not None:
        if input_spec or output_spec:
            raise InputError("options --lengths-from and --input/--output: give one or the other")
        source = load_trace(lengths_from)
        return ResampledPairs(
            source.df["input_tokens"].to_numpy(), source.df["output_tokens"].to_numpy(), label=str(lengths_from)
        )
    if not input_spec or not output_spec:
        raise InputError(
            "options --input and --output: both are required, e.g. --input 'lognormal(800,1500)' --output 'fixed(220)'"
        )
    return Lengths(
        input=parse_length_spec(input_spec, column="input_tokens", where="option --input"),
        output=parse_length_spec(output_spec, column="output_tokens", where="option --output"),
    )


def _write(trace: Trace, out: Path) -> None:
    path = write_trace(trace, out)
    stdout.print(f"wrote {len(trace):,} requests ({trace.duration_s:,.0f} s) to {path}")


@generate_app.command("poisson")
def generate_poisson(
    *,
    out: OutOption,
    rate: RateOption,
    duration: DurationOption = "1h",
    input_spec: InputOption = None,
    output_spec: OutputOption = None,
    lengths_from: LengthsFromOption = None,
    seed: SeedOption = 0,
    model: LabelOption = None,
) -> None:
    """Poisson arrivals (exponential gaps) at a constant mean rate."""
    check_output_file(out, option="--out", example="trace.parquet")
    lengths = _lengths(input_spec, output_spec, lengths_from)
    rate_rps = parse_rate_rps(rate, where="option --rate")
    duration_s = parse_duration_s(duration, where="option --duration")
    _write(gen_poisson(rate_rps, duration_s, lengths, np.random.default_rng(seed), model=model), out)


@generate_app.command("bursty")
def generate_bursty(
    *,
    out: OutOption,
    rate: RateOption,
    duration: DurationOption = "1h",
    cv: Annotated[
        float, typer.Option("--cv", help="Coefficient of variation of the Gamma inter-arrival gaps (1 = Poisson).")
    ] = 2.0,
    on: Annotated[
        str | None, typer.Option("--on", help="On/off bursts instead of Gamma gaps: busy period ('60s').")
    ] = None,
    off: Annotated[str | None, typer.Option("--off", help="On/off bursts: idle period ('4m').")] = None,
    input_spec: InputOption = None,
    output_spec: OutputOption = None,
    lengths_from: LengthsFromOption = None,
    seed: SeedOption = 0,
    model: LabelOption = None,
) -> None:
    """Bursty arrivals: Gamma inter-arrival gaps with a chosen CV, or on/off bursts (--on/--off)."""
    check_output_file(out, option="--out", example="trace.parquet")
    lengths = _lengths(input_spec, output_spec, lengths_from)
    rng = np.random.default_rng(seed)
    rate_rps = parse_rate_rps(rate, where="option --rate")
    duration_s = parse_duration_s(duration, where="option --duration")
    if (on is None) != (off is None):
        raise InputError("options --on/--off: give both (busy and idle periods) or neither")
    if on is not None and off is not None:
        on_s = parse_duration_s(on, where="option --on")
        off_s = parse_duration_s(off, where="option --off")
        trace = gen_on_off(rate_rps, duration_s, lengths, rng, on_s=on_s, off_s=off_s, model=model)
    else:
        trace = gen_bursty(rate_rps, duration_s, lengths, rng, cv=cv, model=model)
    _write(trace, out)


@generate_app.command("diurnal")
def generate_diurnal(
    *,
    out: OutOption,
    rate: RateOption,
    duration: DurationOption = "1d",
    peak_to_trough: Annotated[
        float, typer.Option("--peak-to-trough", help="Sinusoidal profile: peak rate / trough rate.")
    ] = 3.0,
    peak_hour: Annotated[
        float, typer.Option("--peak-hour", help="Sinusoidal profile: hour of day of the peak.")
    ] = 14.0,
    hourly: Annotated[
        str | None,
        typer.Option("--hourly", help="Piecewise profile: 24 relative weights, comma-separated, one per hour of day."),
    ] = None,
    start_hour: Annotated[float, typer.Option("--start-hour", help="Hour of day at t = 0.")] = 0.0,
    input_spec: InputOption = None,
    output_spec: OutputOption = None,
    lengths_from: LengthsFromOption = None,
    seed: SeedOption = 0,
    model: LabelOption = None,
) -> None:
    """Diurnal arrivals: a 24-hour rate profile (sinusoidal or piecewise hourly) around a mean rate."""
    check_output_file(out, option="--out", example="trace.parquet")
    lengths = _lengths(input_spec, output_spec, lengths_from)
    weights = None
    if hourly is not None:
        try:
            weights = [float(w) for w in hourly.replace(";", ",").split(",") if w.strip()]
        except ValueError as exc:
            raise InputError(f"option --hourly: expected 24 numbers, found {hourly!r}") from exc
    trace = gen_diurnal(
        parse_rate_rps(rate, where="option --rate"),
        parse_duration_s(duration, where="option --duration"),
        lengths,
        np.random.default_rng(seed),
        peak_to_trough=peak_to_trough,
        peak_hour=peak_hour,
        hourly=weights,
        start_hour=start_hour,
        model=model,
    )
    _write(trace, out)


@generate_app.command("spec")
def generate_spec(
    spec: Annotated[
        str,
        typer.Argument(
            help="Synthetic spec, e.g. 'poisson:rate=2,duration=1h,input=lognormal(800,1500),output=fixed(220)'."
        ),
    ],
    *,
    out: OutOption,
    seed: SeedOption = 0,
) -> None:
    """Generate from a spec string (the syntax `breakeven analyze --synthetic` takes; see docs/traces.md)."""
    check_output_file(out, option="--out", example="trace.parquet")
    _write(parse_spec(spec).generate(np.random.default_rng(seed)), out)
