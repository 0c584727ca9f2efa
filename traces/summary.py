"""Summary statistics of a trace (``TraceSummary``) and the vectorised helpers behind them."""

from __future__ import annotations

import numpy as np

from breakeven.errors import InputError
from traces.dataset import TraceDataset
from traces.dataset_summary import summarize_dataset
from traces.model import Trace
from traces.prefix import (
    PrefixBlocks,
    chain_keys,
    hit_blocks_infinite,
    list_arrays,
    prefix_reuse,
    trace_prefix_blocks,
)
from traces.summary_model import TraceSummary, header_fields


def peak_rate_rps(arrival_s: np.ndarray, window_s: float) -> float:
    """Most requests in any window of ``window_s`` seconds (sliding, not aligned to bins), per second.

    ``arrival_s`` must be sorted. For each request, counts the requests in ``[t_i, t_i + window_s)`` with
    one ``searchsorted``; the busiest window always starts at some request, so this is the exact maximum.
    """
    if window_s <= 0:
        raise InputError(f"peak window: expected a positive number of seconds, found {window_s}")
    if len(arrival_s) == 0:
        return 0.0
    ends = np.searchsorted(arrival_s, arrival_s + window_s, side="left")
    counts = ends - np.arange(len(arrival_s))
    return float(counts.max()) / window_s


def binned_arrivals(trace: Trace, bin_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Requests per time bin: ``(bin_start_s, counts)`` with bins ``[k·bin_s, (k+1)·bin_s)`` from 0.

    Empty bins are included (zeros), so ``counts / bin_s`` is the request rate [req/s] over time.
    """
    return binned_sum(trace, bin_s, None)


def binned_sum(trace: Trace, bin_s: float, column: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Per-bin request counts (``column=None``) or per-bin sums of a token column, from t = 0."""
    if not bin_s > 0:
        raise InputError(f"bin width: expected a positive number of seconds, found {bin_s}")
    arrival = trace.df["arrival_s"].to_numpy()
    if len(arrival) == 0:
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    index = np.floor(arrival / bin_s).astype(np.int64)
    n_bins = int(index.max()) + 1
    if column is None:
        counts = np.bincount(index, minlength=n_bins)
    else:
        counts = np.bincount(index, weights=trace.df[column].to_numpy(), minlength=n_bins).astype(np.int64)
    return np.arange(n_bins) * bin_s, counts


def interarrival_cv(arrival_s: np.ndarray) -> float | None:
    """Coefficient of variation (std / mean) of inter-arrival gaps; 1 for Poisson, >1 bursty. None if < 3 requests."""
    if len(arrival_s) < 3:
        return None
    gaps = np.diff(arrival_s)
    mean = float(gaps.mean())
    if mean <= 0:
        return None
    return float(gaps.std() / mean)


def summarize(trace: Trace | TraceDataset) -> TraceSummary:
    """Headline statistics of ``trace`` (see :class:`TraceSummary` for each field and its unit)."""
    if isinstance(trace, TraceDataset):  # partition by partition (in parallel on Dask), exact
        return summarize_dataset(trace)
    df = trace.df
    arrival = df["arrival_s"].to_numpy()
    inp = df["input_tokens"].to_numpy()
    out = df["output_tokens"].to_numpy()
    n = len(df)
    duration = trace.duration_s

    def pct(values: np.ndarray, q: float) -> float:
        return float(np.percentile(values, q)) if len(values) else 0.0

    models: dict[str, int] = {}
    if "model" in df.columns:
        counts = df["model"].value_counts(dropna=True, sort=True)
        models = {str(k): int(v) for k, v in counts.items() if v > 0}
    cached = int(df["cached_tokens"].sum()) if "cached_tokens" in df.columns else None
    return TraceSummary(
        **header_fields(trace.meta, n, duration),
        peak_rps_1s=peak_rate_rps(arrival, 1.0),
        peak_rps_60s=peak_rate_rps(arrival, 60.0),
        input_tokens_total=int(inp.sum()),
        output_tokens_total=int(out.sum()),
        cached_tokens_total=cached,
        input_tokens_mean=float(inp.mean()) if n else 0.0,
        output_tokens_mean=float(out.mean()) if n else 0.0,
        input_tokens_p50=pct(inp, 50),
        input_tokens_p90=pct(inp, 90),
        input_tokens_p99=pct(inp, 99),
        output_tokens_p50=pct(out, 50),
        output_tokens_p90=pct(out, 90),
        output_tokens_p99=pct(out, 99),
        interarrival_cv=interarrival_cv(arrival),
        models=models,
        failed_requests=int(np.count_nonzero(out == 0)),
        warnings=list(trace.meta.warnings),
        **_prefix_fields(trace),
    )


def _prefix_fields(trace: Trace) -> dict[str, object]:
    """Sessions and infinite-cache prefix reuse (:mod:`traces.prefix`) for :class:`TraceSummary`."""
    df = trace.df
    out: dict[str, object] = {"closed_loop": "think_time_s" in df.columns}
    if "session_id" in df.columns and len(df):
        per_session = df["session_id"].value_counts(sort=False)
        out |= {"sessions": len(per_session), "max_turns": int(per_session.max())}
    if "hash_ids" not in df.columns:
        return out
    try:
        blocks = trace_prefix_blocks(df, trace.meta.block_tokens, source=trace.meta.source or "<trace>")
    except InputError:  # block size unknown: reuse by block only (the size does not change which blocks repeat)
        values, offsets = list_arrays(df["hash_ids"])
        keys, n_keys = chain_keys(values, offsets)
        hits = hit_blocks_infinite(PrefixBlocks(keys, offsets, 1, n_keys))
        return out | {"prefix_blocks": len(keys), "prefix_reuse_block_share": _share(int(hits.sum()), len(keys))}
    if blocks is None:
        return out
    reuse = prefix_reuse(blocks, df["input_tokens"].to_numpy())
    return out | {
        "block_tokens": blocks.block_tokens,
        "prefix_reuse_token_share": reuse.token_share,
        "prefix_reuse_tokens": reuse.hit_tokens,
        "prefix_reuse_block_share": reuse.block_share,
        "prefix_blocks": reuse.blocks,
    }


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0
