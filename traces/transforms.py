"""Transforms: each takes a trace and returns a new one, logging itself in ``meta.transforms``.

The input trace is never modified. All work is vectorised over requests.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

from breakeven.errors import InputError, UnknownNameError
from traces._assemble import MAX_SPAN_S
from traces.model import Trace, TraceMeta


def _finite(name: str, value: float) -> float:
    if not (isinstance(value, int | float) and math.isfinite(value)):
        raise InputError(f"{name}: expected a finite number, found {value!r}")
    return float(value)


def scale_rate(trace: Trace, k: float) -> Trace:
    """Multiply the request rate by ``k`` by compressing time: ``arrival_s / k`` (k = 2 → twice the traffic).

    Token lengths and the order of requests are unchanged; the duration becomes ``duration / k``.
    """
    if not (_finite("scale_rate k", k) > 0):
        raise InputError(f"scale_rate: expected a positive factor k, found {k!r}")
    last = float(trace.df["arrival_s"].max()) if len(trace) else 0.0
    if last / float(k) > MAX_SPAN_S:
        raise InputError(
            f"scale_rate: k={k:g} stretches the trace's {last:,.0f} s to {last / float(k):.3g} s; expected a trace "
            f"within {MAX_SPAN_S / (365.25 * 86400):.0f} years (k at least {last / MAX_SPAN_S:.3g})"
        )
    df = trace.df.copy()
    df["arrival_s"] = df["arrival_s"].to_numpy() / float(k)
    return trace.with_df(df, f"scale_rate(k={k:g})")


def window(trace: Trace, t0: float, t1: float, *, rebase: bool = True) -> Trace:
    """Keep requests with ``t0 ≤ arrival_s < t1`` [s]. With ``rebase`` the clock restarts at ``t0``
    (``arrival_s - t0``; the absolute start time moves by ``t0`` too), so idle time after ``t0`` is kept."""
    t0, t1 = _finite("window t0", t0), _finite("window t1", t1)
    if not t1 > t0:
        raise InputError(f"window: expected t0 < t1, found [{t0:g}, {t1:g})")
    arrival = trace.df["arrival_s"].to_numpy()
    lo, hi = np.searchsorted(arrival, [t0, t1], side="left")
    df = trace.df.iloc[lo:hi].reset_index(drop=True)
    meta = trace.meta
    if rebase:
        df["arrival_s"] = df["arrival_s"].to_numpy() - t0
        if meta.start_time is not None:
            meta = replace(meta, start_time=meta.start_time + pd.Timedelta(seconds=t0).to_pytimedelta())
    return Trace(df=df, meta=meta).with_df(df, f"window({t0:g}, {t1:g})")


def filter_model(trace: Trace, names: str | Iterable[str]) -> Trace:
    """Keep the requests of the named model(s); an unknown name lists the models in the trace."""
    wanted = [names] if isinstance(names, str) else list(names)
    if "model" not in trace.df.columns:
        raise InputError(
            f"{trace.meta.source}: filter_model: the trace has no model column (format {trace.meta.format})"
        )
    present = sorted(str(m) for m in pd.unique(trace.df["model"].dropna()))
    for name in wanted:
        if name not in present:
            raise UnknownNameError("model", name, present, context=f"{trace.meta.source}: filter_model")
    keep = trace.df["model"].isin(wanted).to_numpy()
    df = trace.df[keep].reset_index(drop=True)
    if isinstance(df["model"].dtype, pd.CategoricalDtype):
        df["model"] = df["model"].cat.remove_unused_categories()
    return trace.with_df(df, f"filter_model({wanted!r})")


def drop_failed(trace: Trace) -> Trace:
    """Drop requests with zero output tokens (BurstGPT records a failed request that way)."""
    keep = trace.df["output_tokens"].to_numpy() > 0
    return trace.with_df(trace.df[keep].reset_index(drop=True), "drop_failed()")


def override_output(
    trace: Trace,
    *,
    fixed: int | None = None,
    buckets: Sequence[tuple[float, int]] | None = None,
    by: str = "output_tokens",
) -> Trace:
    """Replace output lengths: all with ``fixed``, or by bucket.

    ``buckets`` is a list of ``(upper_bound, new_output_tokens)`` sorted by bound: a request whose ``by``
    column (``output_tokens`` or ``input_tokens``) is ≤ the first bound gets the first value, and so on;
    requests above the last bound keep their output (use ``math.inf`` as the last bound to cover all).
    Example: ``buckets=[(100, 30), (1000, 220), (math.inf, 1200)]``.
    """
    if (fixed is None) == (buckets is None):
        raise InputError("override_output: give exactly one of fixed= or buckets=")
    out = trace.df["output_tokens"].to_numpy().copy()
    if fixed is not None:
        if fixed < 0 or int(fixed) != fixed:
            raise InputError(f"override_output: expected a non-negative integer, found {fixed!r}")
        out[:] = int(fixed)
        label = f"override_output(fixed={int(fixed)})"
    else:
        if by not in ("output_tokens", "input_tokens"):
            raise UnknownNameError("bucket column", by, ("output_tokens", "input_tokens"), context="override_output")
        pairs = list(buckets or [])
        bounds = np.array([float(b) for b, _ in pairs])
        values = np.array([int(v) for _, v in pairs], dtype=np.int64)
        if not pairs or np.any(np.diff(bounds) <= 0) or np.any(values < 0):
            raise InputError(
                "override_output: expected buckets as (upper_bound, tokens) pairs with increasing bounds and "
                f"non-negative tokens, found {pairs!r}"
            )
        key = trace.df[by].to_numpy()
        slot = np.searchsorted(bounds, key, side="left")
        inside = slot < len(bounds)
        out[inside] = values[slot[inside]]
        label = f"override_output(buckets={pairs!r}, by={by})"
    df = trace.df.copy()
    df["output_tokens"] = out
    return trace.with_df(df, label)


def subsample(trace: Trace, fraction: float, rng: np.random.Generator) -> Trace:
    """Keep each request independently with probability ``fraction`` (thinning: the rate scales by it,
    a Poisson trace stays Poisson). Arrival times are unchanged."""
    if not (0 < _finite("subsample fraction", fraction) <= 1):
        raise InputError(f"subsample: expected a fraction in (0, 1], found {fraction!r}")
    keep = rng.random(len(trace.df)) < fraction
    return trace.with_df(trace.df[keep].reset_index(drop=True), f"subsample(fraction={fraction:g})")


def _common_frame(frames: list[pd.DataFrame]) -> pd.DataFrame:
    if all("model" in f.columns and isinstance(f["model"].dtype, pd.CategoricalDtype) for f in frames):
        models = union_categoricals([f["model"].array for f in frames], ignore_order=True)
        merged = pd.concat([f.drop(columns="model") for f in frames], ignore_index=True)
        merged["model"] = pd.Series(models, index=merged.index)
        return merged
    merged = pd.concat(frames, ignore_index=True)
    if "model" in merged.columns:
        merged["model"] = merged["model"].astype("category")
    return merged


def concat(traces: Sequence[Trace], *, gap_s: float = 0.0) -> Trace:
    """Play traces back to back: each starts ``gap_s`` seconds after the previous one's last request.

    Columns missing from some traces become missing values (token columns must be present in all).
    ``hash_ids`` and ``session_id`` are kept as they are (parts of one trace share them on purpose; give
    traces from different sources distinct ids first); their hash_ids must have one block size.
    """
    if not traces:
        raise InputError("concat: expected at least one trace")
    if not (_finite("concat gap_s", gap_s) >= 0):
        raise InputError(f"concat: expected gap_s ≥ 0, found {gap_s!r}")
    frames, offset = [], 0.0
    for i, trace in enumerate(traces):
        df = trace.df.copy()
        arrival = df["arrival_s"].to_numpy()
        start = float(arrival[0]) if len(arrival) else 0.0
        df["arrival_s"] = arrival - start + offset
        frames.append(df)
        if len(arrival):
            offset = float(df["arrival_s"].iloc[-1]) + (gap_s if i < len(traces) - 1 else 0.0)
    merged = _common_frame(frames)
    return _combined(traces, merged, f"concat({len(traces)} traces, gap_s={gap_s:g})")


def merge(traces: Sequence[Trace]) -> Trace:
    """Superpose traces on one clock (two traffic sources at once), stably sorted by arrival time."""
    if not traces:
        raise InputError("merge: expected at least one trace")
    merged = _common_frame([t.df for t in traces])
    order = np.argsort(merged["arrival_s"].to_numpy(), kind="stable")
    merged = merged.take(order).reset_index(drop=True)
    return _combined(traces, merged, f"merge({len(traces)} traces)")


def _combined(traces: Sequence[Trace], df: pd.DataFrame, label: str) -> Trace:
    first = traces[0].meta
    sources = [t.meta.source or "?" for t in traces]
    sizes = {t.meta.block_tokens for t in traces if "hash_ids" in t.df.columns}
    if len(sizes) > 1:
        raise InputError(
            f"{label}: the traces' hash_ids use different block sizes ({', '.join(str(s) for s in sizes)} tokens); "
            "expected one size (hash ids of different sizes never name the same prefix)"
        )
    meta = TraceMeta(
        source=" + ".join(sources),
        format=first.format if all(t.meta.format == first.format for t in traces) else "mixed",
        start_time=first.start_time,
        warnings=tuple(w for t in traces for w in t.meta.warnings),
        transforms=(),
        block_tokens=sizes.pop() if sizes else None,
    )
    return Trace(df=df, meta=meta).with_df(df, label)
