"""``breakeven trace ...``: summarize, generate and convert request traces.

Each command parses its options, calls one library function and renders (STYLE.md habit 7).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.markup import escape
from rich.table import Table

from breakeven.cli_support import new_app, print_json, stderr, stdout
from breakeven.errors import InputError
from breakeven.io import check_output_file
from traces.conversations import (
    CLOSED_LOOP_THINK_S,
    OPEN_LOOP_THINK_S,
    ConversationShape,
    closed_loop_conversations,
    shared_prompt,
)
from traces.conversations import conversations as gen_conversations
from traces.conversations import rag as gen_rag
from traces.dataset import DEFAULT_MAX_ROWS, convert_to_dataset, is_dataset, open_dataset
from traces.dataset_summary import summarize_dataset
from traces.formats import FORMAT_NAMES, TIME_UNITS, parse_columns_option
from traces.generators import bursty as gen_bursty
from traces.generators import diurnal as gen_diurnal
from traces.generators import on_off as gen_on_off
from traces.generators import poisson as gen_poisson
from traces.lengths import LengthModel, Lengths, LengthsLike, ResampledPairs
from traces.loaders import _select_model as select_model
from traces.loaders import load_trace
from traces.model import Trace
from traces.prefix import DEFAULT_BLOCK_TOKENS
from traces.prefix_spec import parse_think, parse_turns
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
    "Column mapping KEY=COLUMN,... with keys arrival, input, output, cached, session, hash_ids, model, deferrable, "
    "turn, think_time, parent (the request a chat turn follows), prefix_hash and prefix_tokens (a shared prompt "
    "prefix: hash_ids are built from them) (e.g. arrival=ts,input=prompt_tokens,output=completion_tokens)."
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


def trace_from_options(
    file: Path,
    *,
    fmt: str | None = None,
    columns: str | None = None,
    time_unit: str | None = None,
    skip_bad_rows: bool = False,
    model: str | None = None,
    block_tokens: int | None = None,
) -> Trace:
    """Load a trace from CLI option values, with a spinner, and print its warnings to stderr."""
    mapping = parse_columns_option(columns) if columns else None
    with stderr.status(f"Reading {file} ..."):
        trace = load_trace(
            file,
            format=fmt,
            columns=mapping,
            time_unit=time_unit,
            skip_bad_rows=skip_bad_rows,
            model=model,
            block_tokens=block_tokens,
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
    trace = trace_from_options(
        file,
        fmt=fmt,
        columns=columns,
        time_unit=time_unit,
        skip_bad_rows=skip_bad_rows,
        model=model,
        block_tokens=block_tokens,
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
            fmt=fmt,
            columns=columns,
            time_unit=time_unit,
            skip_bad_rows=skip_bad_rows,
            transform=_piece_transform(model, drop_failed_rows, window_s, scale),
            partition_s=parse_duration_s(partition, where="option --partition"),
            max_rows=max_rows,
        )
        return
    check_output_file(out, option="--output", example="trace.parquet")
    trace = trace_from_options(
        file, fmt=fmt, columns=columns, time_unit=time_unit, skip_bad_rows=skip_bad_rows, model=model
    )
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
    *,
    fmt: str | None,
    columns: str | None,
    time_unit: str | None,
    skip_bad_rows: bool,
    transform: Callable[[Trace], Trace] | None,
    partition_s: float,
    max_rows: int,
) -> None:
    mapping = parse_columns_option(columns) if columns else None
    with stderr.status(f"Converting {file} to a dataset in {out} ..."):
        ds = convert_to_dataset(
            file,
            out,
            format=fmt,
            columns=mapping,
            time_unit=time_unit,
            skip_bad_rows=skip_bad_rows,
            transform=transform,
            partition_s=partition_s,
            max_rows=max_rows,
        )
    for warning in ds.meta.warnings:
        stderr.print(f"[yellow]warning:[/] {warning}", markup=True, highlight=False)
    if ds.meta.skipped.count:
        stderr.print(f"[yellow]warning:[/] skipped {ds.meta.skipped.count:,} bad rows", markup=True, highlight=False)
    stdout.print(f"wrote {len(ds):,} requests in {len(ds.partitions):,} partitions to {out}")


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


# ------------------------------------------------------------------------------ generate: prefix structure

BlockOption = Annotated[
    int, typer.Option("--block-tokens", min=1, help="Tokens per hash_ids block of the generated prompts.")
]


def _length(text: str, option: str, column: str = "input_tokens") -> LengthModel:
    return parse_length_spec(text, column=column, where=f"option {option}")


@generate_app.command("conversations")
def generate_conversations(
    *,
    out: OutOption,
    users: Annotated[
        int | None,
        typer.Option(
            "--users",
            min=1,
            help="Closed loop: concurrent users, each sending its next turn when the last answer ends "
            "(think_time_s column). Give --count with it.",
            show_default=False,
        ),
    ] = None,
    count: Annotated[
        int | None, typer.Option("--count", min=1, help="Closed loop: conversations in the pool.", show_default=False)
    ] = None,
    rate: Annotated[
        str | None,
        typer.Option(
            "--rate",
            "-r",
            help="Open loop: conversations started per second ('0.1', '6/min'). Give --duration with it.",
            show_default=False,
        ),
    ] = None,
    duration: Annotated[
        str | None, typer.Option("--duration", "-d", help="Open loop: window conversations start in ('1h').")
    ] = None,
    doc: Annotated[str, typer.Option("--doc", help="Opening document length (length model).")] = "3500",
    turns: Annotated[str, typer.Option("--turns", help="Turns per conversation: N or LOW..HIGH.")] = "3..5",
    question: Annotated[str, typer.Option("--question", help="Question length per turn (length model).")] = "50",
    output_spec: Annotated[str, typer.Option("--output", help="Answer length (length model).")] = "830",
    think: Annotated[
        str | None,
        typer.Option(
            "--think",
            help="Pause before each turn [s]: exponential mean 'S', 'exp(S)' or 'fixed(S)' (default 1 closed "
            "loop, 30 open loop).",
            show_default=False,
        ),
    ] = None,
    system: Annotated[int, typer.Option("--system", min=0, help="Shared system prompt tokens.")] = 0,
    docs: Annotated[
        int, typer.Option("--docs", min=0, help="Documents in a shared pool (0: one per conversation).")
    ] = 0,
    zipf: Annotated[float, typer.Option("--zipf", min=0.0, help="Popularity exponent over the pool.")] = 1.0,
    block_tokens: BlockOption = DEFAULT_BLOCK_TOKENS,
    seed: SeedOption = 0,
    model: LabelOption = None,
) -> None:
    """Multi-turn conversations (prompt = previous prompt + answer + new question), closed or open loop.

    The defaults are the seed's Dynamo demo: a 3,500-token document, 3-5 turns, 830-token answers.
    """
    closed = users is not None or count is not None
    if closed and (rate is not None or duration is not None):
        raise InputError("options --users/--count (closed loop) and --rate/--duration (open loop): give one pair")
    if closed and (users is None or count is None):
        raise InputError("options --users and --count: a closed loop needs both")
    if not closed and (rate is None or duration is None):
        raise InputError("options: give --users and --count (closed loop) or --rate and --duration (open loop)")
    default_think = str(CLOSED_LOOP_THINK_S if closed else OPEN_LOOP_THINK_S)
    shape = ConversationShape(
        doc=_length(doc, "--doc"),
        question=_length(question, "--question"),
        output=_length(output_spec, "--output", "output_tokens"),
        turns=parse_turns(turns, "option --turns"),
        system_tokens=system,
        docs=docs,
        zipf=zipf,
        think=parse_think(think or default_think, "option --think"),
        block_tokens=block_tokens,
    )
    rng = np.random.default_rng(seed)
    if users is not None and count is not None:
        trace = closed_loop_conversations(users, count, rng, shape=shape, model=model)
    else:
        rate_cps = parse_rate_rps(str(rate), where="option --rate")
        trace = gen_conversations(
            rate_cps, parse_duration_s(str(duration), where="option --duration"), rng, shape=shape, model=model
        )
    _write(trace, out)


@generate_app.command("shared")
def generate_shared(
    *,
    out: OutOption,
    rate: RateOption,
    system: Annotated[int, typer.Option("--system", min=0, help="System prompt tokens every request starts with.")],
    duration: DurationOption = "1h",
    prompts: Annotated[
        int, typer.Option("--prompts", min=1, help="Distinct system prompts, chosen uniformly per request.")
    ] = 1,
    input_spec: InputOption = None,
    output_spec: OutputOption = None,
    lengths_from: LengthsFromOption = None,
    block_tokens: BlockOption = DEFAULT_BLOCK_TOKENS,
    seed: SeedOption = 0,
    model: LabelOption = None,
) -> None:
    """Poisson requests sharing a system prompt; --input is the user part after it."""
    lengths = _lengths(input_spec, output_spec, lengths_from)
    rate_rps = parse_rate_rps(rate, where="option --rate")
    duration_s = parse_duration_s(duration, where="option --duration")
    trace = shared_prompt(
        rate_rps,
        duration_s,
        lengths,
        np.random.default_rng(seed),
        system_tokens=system,
        prompts=prompts,
        block_tokens=block_tokens,
        model=model,
    )
    _write(trace, out)


@generate_app.command("rag")
def generate_rag(
    *,
    out: OutOption,
    rate: RateOption,
    docs: Annotated[int, typer.Option("--docs", min=1, help="Documents in the pool.")],
    duration: DurationOption = "1h",
    zipf: Annotated[
        float, typer.Option("--zipf", min=0.0, help="Popularity: document of rank r drawn with probability ∝ r^-zipf.")
    ] = 1.0,
    doc: Annotated[
        str, typer.Option("--doc", help="Document length (length model, drawn once per document).")
    ] = "2000",
    question: Annotated[str, typer.Option("--question", help="Question length (length model).")] = "50",
    output_spec: Annotated[str, typer.Option("--output", help="Answer length (length model).")] = "200",
    system: Annotated[int, typer.Option("--system", min=0, help="System prompt tokens before the document.")] = 0,
    block_tokens: BlockOption = DEFAULT_BLOCK_TOKENS,
    seed: SeedOption = 0,
    model: LabelOption = None,
) -> None:
    """Retrieval-augmented requests: system prompt + one document of a pool (Zipf popularity) + a question."""
    trace = gen_rag(
        parse_rate_rps(rate, where="option --rate"),
        parse_duration_s(duration, where="option --duration"),
        np.random.default_rng(seed),
        docs=docs,
        zipf=zipf,
        doc=_length(doc, "--doc"),
        question=_length(question, "--question"),
        output=_length(output_spec, "--output", "output_tokens"),
        system_tokens=system,
        block_tokens=block_tokens,
        model=model,
    )
    _write(trace, out)
