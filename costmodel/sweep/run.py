"""Run a sweep: one ``analyze`` per cell, on a Dask cluster or in this process, into a tidy table.

The trace is loaded once and sent to the workers once (scattered), with the catalog and the profiles;
each cell then scales it by its growth factor and calls :func:`costmodel.analyze`. Each finished cell is
written at once to ``DIR/cells/<cell id>.parquet`` (atomically), so an interrupted sweep resumes from the
cells already written; a cell that fails is recorded with its inputs and the error, and the others still
land. At the end every cell — run, resumed, failed or skipped — is gathered into ``DIR/sweep.parquet``:
one row per cell × option, every input a column (see :data:`COLUMNS`).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Required, TypedDict, Unpack

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from breakeven.errors import InputError
from breakeven.io import atomic_path
from breakeven.parallel import connect, current_client, dask_available
from costmodel.analyze import analyze, bundled_trace
from costmodel.finance import FinanceRequest, parse_commitment
from costmodel.frames import options_frame
from costmodel.results import Results, Slo
from costmodel.sweep.spec import AXES, Cell, ResolvedSweep, SweepInputs, SweepOptions, SweepSpec, load_spec, resolve
from traces import load_trace, parse_columns_option, parse_synthetic_spec, scale_rate
from traces.dataset import open_dataset

if TYPE_CHECKING:
    from distributed import Client

PARQUET_NAME = "sweep.parquet"
CELLS_DIR = "cells"

OUTPUT_COLUMNS: tuple[str, ...] = (
    "option_id",
    "option_kind",
    "option_label",
    "recommended",
    "monthly_cost_usd",
    "total_cost_usd",
    "cost_per_request_usd",
    "slo_attainment",
    "meets_slo",
    "gpu_hours_billed",
    "gpu_hours_busy",
    "gpu_hours_idle",
    "gpu_hours_cold_start",
    "token_cost_usd",
    "replicas_mean",
    "replicas_peak",
    "cold_starts",
    "overflow_share",
)
CELL_COLUMNS: tuple[str, ...] = (
    "winner_option_id",
    "winner_kind",
    "winner_monthly_cost_usd",
    "monthly_saving_usd",
    "verdict",
    "requests",
    "user_rps",
    "breakeven_rps",
    "breakeven_method",
    "warnings",
    "seconds",
)
COLUMNS: tuple[str, ...] = ("sweep", "cell_id", "trace", *AXES, "status", "error", *OUTPUT_COLUMNS, *CELL_COLUMNS)
"""The columns of sweep.parquet: the cell's inputs, its status (``ok``, ``error``, ``skipped``) and error,
one option's costs, SLO attainment and GPU-hours, and the cell's verdict (the same on each of its rows)."""

Progress = Callable[[int, int], None]
"""Called with (cells finished, cells to run) as cells finish."""


@dataclass(frozen=True)
class CellContext:
    """What every cell needs besides its own values: sent to each worker once."""

    trace: Any
    """A :class:`traces.Trace` (or a trace dataset)."""
    trace_label: str
    inputs: SweepInputs
    options: SweepOptions
    sweep: str


@dataclass(frozen=True)
class SweepOutcome:
    """What a run did: the table, and how many cells were run, resumed, failed and skipped."""

    frame: pd.DataFrame
    path: Path
    ran: int
    resumed: int
    failed: int
    skipped: int
    seconds: float
    workers: int


class SweepRunOptions(TypedDict, total=False):
    """The keywords of :func:`run_sweep`, as :func:`sweep_outcome` declares them."""

    out: Required[str | os.PathLike[str]]
    workers: int | None
    scheduler: str | None
    client: Client | None
    base: str | os.PathLike[str] | None
    progress: Progress | None


def run_sweep(spec: SweepSpec | str | os.PathLike[str], **options: Unpack[SweepRunOptions]) -> pd.DataFrame:
    """Run every cell of ``spec`` (a :class:`SweepSpec` or the path of a TOML spec) and return the table
    written to ``out/sweep.parquet`` (see :data:`COLUMNS`).

    Where it runs: ``client`` (an open ``distributed.Client``), else ``scheduler`` (an existing cluster's
    address), else the client already open in this process, else a ``LocalCluster`` of ``workers``
    processes; ``workers=0`` (or Dask not installed) runs the cells here, one after the other. Cells already
    in ``out/cells/`` from an interrupted run of the same spec are not run again. ``base`` is the folder a
    :class:`SweepSpec`'s relative paths start from (default: the spec file's folder, or the current one);
    ``progress`` is called as cells finish.
    """
    return sweep_outcome(spec, **options).frame


def sweep_outcome(
    spec: SweepSpec | str | os.PathLike[str],
    *,
    out: str | os.PathLike[str],
    workers: int | None = None,
    scheduler: str | None = None,
    client: Client | None = None,
    base: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
) -> SweepOutcome:
    """:func:`run_sweep`, also saying how many cells were run, resumed, failed and skipped."""
    started = time.perf_counter()
    if isinstance(spec, SweepSpec):
        parsed, root, name = spec, Path(base or "."), spec.name
    else:
        path = Path(spec)
        parsed, root, name = load_spec(path), Path(base) if base else path.parent, spec_name(path)
    resolved = resolve(parsed, base=root, name=parsed.name or name)
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"option --out: expected a folder for the sweep's outputs, found a file: {folder}")
    cells_dir = folder / CELLS_DIR
    done = {c.id for c in resolved.cells if (cells_dir / f"{c.id}.parquet").exists()}
    pending = [c for c in resolved.cells if c.id not in done]
    n_workers = 1
    if pending and client is None and scheduler is None and workers is None and current_client() is not None:
        client = current_client()
    serial = client is None and scheduler is None and (workers == 0 or not dask_available())
    if pending and not serial:
        with connect(workers=workers, scheduler=scheduler) if client is None else _given(client) as active:
            n_workers = max(1, len(active.scheduler_info().get("workers", {})))
            context = _context(resolved)
            _run_on_dask(active, pending, context, cells_dir, progress)
    elif pending:
        context = _context(resolved)
        for i, cell in enumerate(pending):
            _write_cell(cells_dir, cell, run_cell(cell, context))
            if progress is not None:
                progress(i + 1, len(pending))
    frame = gather(resolved, cells_dir)
    path = folder / PARQUET_NAME
    write_table(frame, path, resolved)
    failed = int(frame.loc[frame["status"] == "error", "cell_id"].nunique())
    return SweepOutcome(
        frame=frame,
        path=path,
        ran=len(pending),
        resumed=len(done),
        failed=failed,
        skipped=len(resolved.skipped),
        seconds=time.perf_counter() - started,
        workers=n_workers,
    )


def spec_name(path: Path) -> str:
    """The default sweep name: the spec file's stem."""
    return path.stem


class _given:  # noqa: N801 - a context manager that leaves a caller's client open
    def __init__(self, client: Client) -> None:
        self.client = client

    def __enter__(self) -> Client:
        return self.client

    def __exit__(self, *exc: object) -> None:
        return None


def load_sweep_trace(resolved: ResolvedSweep) -> tuple[Any, str]:
    """The sweep's trace (loaded once, before any cell runs) and its label for the table."""
    spec = resolved.trace
    if spec.synthetic is not None:
        trace = parse_synthetic_spec(spec.synthetic, np.random.default_rng(spec.seed))
        return trace, f"synthetic:{spec.synthetic}"
    if spec.path is not None:
        columns = parse_columns_option(spec.columns) if spec.columns else None
        if Path(spec.path).is_dir():
            return open_dataset(spec.path), spec.path
        return load_trace(spec.path, format=spec.format, columns=columns, time_unit=spec.time_unit), spec.path
    trace = bundled_trace()
    return trace, trace.meta.source or "bundled"


def _context(resolved: ResolvedSweep) -> CellContext:
    trace, label = load_sweep_trace(resolved)
    return CellContext(
        trace=trace,
        trace_label=label,
        inputs=resolved.inputs,
        options=resolved.spec.options,
        sweep=resolved.name,
    )


def _run_on_dask(
    client: Client, cells: Sequence[Cell], context: CellContext, cells_dir: Path, progress: Progress | None
) -> None:
    from distributed import as_completed  # noqa: PLC0415 - optional dependency

    shared = client.scatter(context, broadcast=True)  # the trace crosses the network once per worker
    futures = {client.submit(run_cell, cell, shared, pure=False, key=f"cell-{cell.id}"): cell for cell in cells}
    finished = 0
    try:
        for future in as_completed(futures):
            cell = futures[future]
            try:
                rows = future.result()
            except Exception as exc:  # the worker died or the task could not run: record it, keep going
                rows = error_rows(cell, context, exc, 0.0)
            _write_cell(cells_dir, cell, rows)
            finished += 1
            if progress is not None:
                progress(finished, len(cells))
    finally:
        client.cancel(list(futures))


def run_cell(cell: Cell, context: CellContext) -> pd.DataFrame:
    """Analyse one cell; returns its rows (an error row, with the message, when the analysis fails)."""
    started = time.perf_counter()
    try:
        results = _analyze_cell(cell, context)
    except Exception as exc:  # one bad cell must not stop the sweep: the error lands in the table
        return error_rows(cell, context, exc, time.perf_counter() - started)
    return result_rows(cell, context, results, time.perf_counter() - started)


def _analyze_cell(cell: Cell, context: CellContext) -> Results:
    opts = context.options
    trace = context.trace
    if cell.growth != 1.0:
        trace = trace.scaled(cell.growth) if hasattr(trace, "scaled") else scale_rate(trace, cell.growth)
    return analyze(
        trace,
        profiles=[context.inputs.profiles[cell.profile]],
        serverless=[cell.serverless],
        gpus=[cell.gpu],
        catalog=context.inputs.catalog,
        price_files=opts.prices,
        slo=Slo(
            ttft_ms=cell.slo_ttft_ms,
            tpot_ms=cell.slo_tpot_ms,
            percentile=opts.percentile,
            attainment_target=opts.slo_target,
        ),
        policy=context.inputs.policies[cell.policy],
        price_tier=cell.tier,
        serverless_profile=context.inputs.serverless_profile,
        cold_start_s=opts.cold_start_s,
        output_tokens=opts.output_tokens,
        today=opts.today,
        seed=opts.seed,
        scenario=f"{context.sweep} · cell {cell.id}",
        hybrid=opts.hybrid,
        trace_shaped=opts.trace_breakeven,
        sensitivity_samples=opts.samples,
        finance=FinanceRequest(commitment=parse_commitment(opts.commitment), spot=opts.spot),
    )


def _base_row(cell: Cell, sweep: str, trace_label: str, status: str, error: str | None) -> dict[str, Any]:
    return {"sweep": sweep, "cell_id": cell.id, "trace": trace_label, **cell.inputs(), "status": status, "error": error}


def result_rows(cell: Cell, context: CellContext, results: Results, seconds: float) -> pd.DataFrame:
    """One row per option of a finished cell."""
    options = options_frame(results).rename(columns={"id": "option_id", "kind": "option_kind", "label": "option_label"})
    rec = results.recommendation
    winner = rec.monthly_cost_usd.get(rec.option_id) if rec.option_id else None
    cell_values = {
        "winner_option_id": rec.option_id,
        "winner_kind": rec.kind,
        "winner_monthly_cost_usd": winner,
        "monthly_saving_usd": rec.monthly_saving_usd,
        "verdict": rec.headline,
        "requests": results.trace.requests,
        "user_rps": rec.user_rps,
        "breakeven_rps": rec.breakeven_rps,
        "breakeven_method": rec.breakeven_method,
        "warnings": len(results.warnings),
        "seconds": seconds,
    }
    base = _base_row(cell, context.sweep, context.trace_label, "ok", None)
    rows = [{**base, **{c: row.get(c) for c in OUTPUT_COLUMNS}, **cell_values} for row in options.to_dict("records")]
    return _typed(pd.DataFrame(rows, columns=list(COLUMNS)))


def error_rows(cell: Cell, context: CellContext, exc: BaseException, seconds: float) -> pd.DataFrame:
    """The row of a cell whose analysis failed: its inputs and the error."""
    message = f"{type(exc).__name__}: {exc}".replace("\n", " ")
    row = {**_base_row(cell, context.sweep, context.trace_label, "error", message), "seconds": seconds}
    return _typed(pd.DataFrame([row], columns=list(COLUMNS)))


def _skipped_rows(resolved: ResolvedSweep, trace_label: str) -> pd.DataFrame:
    rows = [_base_row(s.cell, resolved.name, trace_label, "skipped", s.reason) for s in resolved.skipped]
    return _typed(pd.DataFrame(rows, columns=list(COLUMNS)))


_STRINGS = (
    "sweep",
    "cell_id",
    "trace",
    "gpu",
    "serverless",
    "profile",
    "policy",
    "tier",
    "status",
    "error",
    "option_id",
    "option_kind",
    "option_label",
    "winner_option_id",
    "winner_kind",
    "verdict",
    "breakeven_method",
)
_BOOLS = ("recommended", "meets_slo")
_INTS = ("replicas_peak", "cold_starts", "requests", "warnings")


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Stable column types, so that cell files of ok, failed and skipped cells concatenate cleanly."""
    types: dict[str, Any] = {}
    for column in frame.columns:
        if column in _STRINGS:
            types[column] = "string"
        elif column in _BOOLS:
            types[column] = "boolean"
        elif column in _INTS:
            types[column] = "Int64"
        else:
            types[column] = "float64"
    return frame.astype(types)


def _write_cell(cells_dir: Path, cell: Cell, rows: pd.DataFrame) -> None:
    """Keep a finished cell (atomically); a failed cell is kept beside, and is run again on resume."""
    if (rows["status"] == "error").any():
        target = cells_dir / f"{cell.id}.error.parquet"
    else:
        target = cells_dir / f"{cell.id}.parquet"
        (cells_dir / f"{cell.id}.error.parquet").unlink(missing_ok=True)
    with atomic_path(target) as tmp:
        rows.to_parquet(tmp, index=False)


def gather(resolved: ResolvedSweep, cells_dir: Path) -> pd.DataFrame:
    """Every cell of ``resolved`` from ``cells_dir`` (finished or failed), plus the skipped ones, in cell order."""
    parts = []
    label = None
    for cell in resolved.cells:
        for name in (f"{cell.id}.parquet", f"{cell.id}.error.parquet"):
            file = cells_dir / name
            if file.exists():
                part = pd.read_parquet(file)
                label = label or str(part["trace"].iloc[0])
                parts.append(part)
                break
    skipped = _skipped_rows(resolved, label or _trace_label(resolved))
    frames = [p for p in [*parts, skipped] if not p.empty]
    if not frames:
        return _typed(pd.DataFrame(columns=list(COLUMNS)))
    return _typed(pd.concat(frames, ignore_index=True)[list(COLUMNS)])


def _trace_label(resolved: ResolvedSweep) -> str:
    spec = resolved.trace
    if spec.synthetic is not None:
        return f"synthetic:{spec.synthetic}"
    return spec.path or "bundled"


def write_table(frame: pd.DataFrame, path: Path, resolved: ResolvedSweep) -> Path:
    """Write sweep.parquet atomically, with the sweep's axes in the file's key-value metadata."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[b"llm-breakeven.sweep"] = _sweep_meta(resolved).encode()
    with atomic_path(path) as tmp:
        pq.write_table(table.replace_schema_metadata(meta), tmp, compression="zstd")
    return path


def _sweep_meta(resolved: ResolvedSweep) -> str:
    return json.dumps(
        {
            "name": resolved.name,
            "axes": {k: [str(v) for v in vals] for k, vals in resolved.axes.items()},
            "crossed": resolved.crossed,
            "report_axes": resolved.spec.report.axes,
            "options": resolved.spec.options.model_dump(mode="json"),
        }
    )


def read_sweep_meta(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The axes and options stored in a sweep.parquet (empty when the file has none)."""
    meta = pq.read_schema(path).metadata or {}
    blob = meta.get(b"llm-breakeven.sweep")
    return json.loads(blob) if blob else {}


__all__ = [
    "COLUMNS",
    "CellContext",
    "SweepOutcome",
    "gather",
    "load_sweep_trace",
    "run_cell",
    "run_sweep",
    "sweep_outcome",
]
