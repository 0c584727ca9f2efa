"""The summary of a trace dataset, partition by partition (in parallel on a Dask client when one is open).

Every statistic is exact — the same :class:`TraceSummary` that :func:`traces.summarize` gives for the whole
trace in memory: counts and token totals are integer sums; token percentiles come from per-partition
histograms of the (integer) counts, interpolated as ``numpy.percentile`` does; the sliding-window peak
rates count, for the requests near a partition's end, the arrivals at the start of the next ones; the
inter-arrival CV combines per-partition moments of the gaps (and the gaps across boundaries) — equal to the
in-memory value up to floating-point rounding. Prefix-cache reuse, which needs every earlier request's
blocks, is not computed for datasets (None, with a warning).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from breakeven.errors import InputError
from breakeven.parallel import pmap
from traces.dataset import TraceDataset
from traces.summary_model import TraceSummary, header_fields

WINDOWS_S = (1.0, 60.0)
"""The sliding windows of the peak rates [s]."""

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PartitionStats:
    """What one partition contributes to the summary."""

    n: int
    first: float
    last: float
    input_total: int
    output_total: int
    cached_total: int | None
    input_hist: IntArray
    output_hist: IntArray
    zero_output: int
    gaps_mean: float
    gaps_m2: float
    head: FloatArray
    """Arrivals within the longest window of the partition's first one."""
    tail: FloatArray
    """Arrivals within the longest window of the partition's last one."""
    inner_peaks: tuple[int, ...]
    """Per window: most arrivals in [t, t + w) over requests whose window ends inside the partition."""
    models: dict[str, int]
    sessions: dict[str, int] | None


def partition_stats(i: int, ds: TraceDataset) -> PartitionStats:
    """The summary's pieces for partition ``i`` (a Dask task)."""
    cols = [
        c
        for c in ("arrival_s", "input_tokens", "output_tokens", "cached_tokens", "model", "session_id")
        if c in ds.columns
    ]
    df = ds.read(i, cols)
    a = df["arrival_s"].to_numpy()
    inp = df["input_tokens"].to_numpy()
    out = df["output_tokens"].to_numpy()
    gaps = np.diff(a)
    longest = max(WINDOWS_S)
    peaks = []
    for w in WINDOWS_S:
        ends = np.searchsorted(a, a + w, side="left")
        inside = a + w <= a[-1]
        counts = ends - np.arange(a.size)
        peaks.append(int(counts[inside].max()) if inside.any() else 0)
    models: dict[str, int] = {}
    if "model" in df.columns:
        models = {str(k): int(v) for k, v in df["model"].value_counts(dropna=True).items() if v > 0}
    sessions = None
    if "session_id" in df.columns:
        sessions = {str(k): int(v) for k, v in df["session_id"].value_counts(sort=False).items()}
    return PartitionStats(
        n=int(a.size),
        first=float(a[0]),
        last=float(a[-1]),
        input_total=int(inp.sum()),
        output_total=int(out.sum()),
        cached_total=int(df["cached_tokens"].fillna(0).sum()) if "cached_tokens" in df.columns else None,
        input_hist=np.bincount(inp),
        output_hist=np.bincount(out),
        zero_output=int(np.count_nonzero(out == 0)),
        gaps_mean=float(gaps.mean()) if gaps.size else 0.0,
        gaps_m2=float(((gaps - gaps.mean()) ** 2).sum()) if gaps.size else 0.0,
        head=a[a < a[0] + longest].copy(),
        tail=a[a > a[-1] - longest].copy(),
        inner_peaks=tuple(peaks),
        models=models,
        sessions=sessions,
    )


def summarize_dataset(ds: TraceDataset) -> TraceSummary:
    """The trace summary of ``ds`` (see the module docstring), partitions in parallel when a Dask client is
    open in this process."""
    stats = pmap(partition_stats, list(range(len(ds.partitions))), ds)
    n = sum(s.n for s in stats)
    meta = ds.meta
    if n == 0:
        raise InputError(f"{ds.root}: the dataset holds no requests; expected at least one")
    duration = stats[-1].last - stats[0].first if n > 1 else 0.0
    inp_hist = _sum_hist([s.input_hist for s in stats])
    out_hist = _sum_hist([s.output_hist for s in stats])
    inp_total = sum(s.input_total for s in stats)
    out_total = sum(s.output_total for s in stats)
    cached = None if any(s.cached_total is None for s in stats) else sum(s.cached_total or 0 for s in stats)
    models: Counter[str] = Counter()
    for s in stats:
        models.update(s.models)
    warnings = list(meta.warnings)
    extra: dict[str, Any] = {"closed_loop": "think_time_s" in ds.columns}
    if all(s.sessions is not None for s in stats):
        sessions: Counter[str] = Counter()
        for s in stats:
            sessions.update(s.sessions or {})
        extra |= {"sessions": len(sessions), "max_turns": max(sessions.values()) if sessions else 0}
    if "hash_ids" in ds.columns:
        warnings.append("prefix-cache reuse is not computed for a trace dataset (it needs every earlier request)")
    pct = {q: (_percentile(inp_hist, n, q), _percentile(out_hist, n, q)) for q in (50.0, 90.0, 99.0)}
    return TraceSummary(
        **header_fields(meta, n, duration),
        peak_rps_1s=_peak(stats, 0) / WINDOWS_S[0],
        peak_rps_60s=_peak(stats, 1) / WINDOWS_S[1],
        input_tokens_total=inp_total,
        output_tokens_total=out_total,
        cached_tokens_total=cached,
        input_tokens_mean=inp_total / n,
        output_tokens_mean=out_total / n,
        input_tokens_p50=pct[50.0][0],
        input_tokens_p90=pct[90.0][0],
        input_tokens_p99=pct[99.0][0],
        output_tokens_p50=pct[50.0][1],
        output_tokens_p90=pct[90.0][1],
        output_tokens_p99=pct[99.0][1],
        interarrival_cv=_cv(stats, n),
        models=dict(sorted(models.items(), key=lambda kv: -kv[1])),
        failed_requests=sum(s.zero_output for s in stats),
        warnings=warnings,
        **extra,
    )


def _sum_hist(hists: list[IntArray]) -> IntArray:
    total = np.zeros(max(h.size for h in hists), dtype=np.int64)
    for h in hists:
        total[: h.size] += h
    return total


def _percentile(hist: IntArray, n: int, q: float) -> float:
    """``numpy.percentile(values, q)`` (linear) from the histogram of the integer ``values``."""
    lo = int(np.floor((n - 1) * np.true_divide(q, 100)))
    cum = np.cumsum(hist)
    a = float(np.searchsorted(cum, lo, side="right"))
    b = float(np.searchsorted(cum, min(lo + 1, n - 1), side="right"))
    return lerp_percentile(a, b, n, q)


def lerp_percentile(lower: float, upper: float, n: int, q: float) -> float:
    """``numpy.percentile(values, q)`` (method 'linear') of ``n`` values from its two order statistics: the
    ``⌊(n − 1)·q/100⌋``-th smallest value and the next one, interpolated with numpy's own arithmetic."""
    index = (n - 1) * np.true_divide(q, 100)
    gamma = np.float64(index - np.floor(index))
    a, b = np.float64(lower), np.float64(upper)
    diff = b - a
    value = a + diff * gamma
    if gamma >= 0.5:  # numpy's _lerp takes the other end for the upper half (monotone rounding)
        value = b - diff * (1 - gamma)
    return float(value)


def _peak(stats: list[PartitionStats], k: int) -> int:
    """Most arrivals in any window ``WINDOWS_S[k]``: inside partitions, and across each boundary."""
    w = WINDOWS_S[k]
    best = max(s.inner_peaks[k] for s in stats)
    for i, s in enumerate(stats):
        after = [s.tail]
        for nxt in stats[i + 1 :]:
            after.append(nxt.head)
            if nxt.head.size < nxt.n or nxt.head[-1] >= s.last + w:
                break  # this partition reaches past the window of the partition's last request
        merged = np.concatenate(after)
        c = int(np.count_nonzero(s.tail > s.last - w))
        if c:
            pos = np.arange(s.tail.size - c, s.tail.size)
            ends = np.searchsorted(merged, merged[pos] + w, side="left")
            best = max(best, int((ends - pos).max()))
    return best


def _cv(stats: list[PartitionStats], n: int) -> float | None:
    """Inter-arrival CV from per-partition gap moments plus the boundary gaps (Chan et al.'s combination)."""
    if n < 3:
        return None
    count, mean, m2 = 0, 0.0, 0.0
    parts: list[tuple[int, float, float]] = []
    for i, s in enumerate(stats):
        if s.n > 1:
            parts.append((s.n - 1, s.gaps_mean, s.gaps_m2))
        if i + 1 < len(stats):
            parts.append((1, stats[i + 1].first - s.last, 0.0))
    for c, m, q in parts:
        total = count + c
        delta = m - mean
        mean += delta * c / total
        m2 += q + delta * delta * count * c / total
        count = total
    if mean <= 0:
        return None
    return float(np.sqrt(m2 / count) / mean)


__all__ = ["PartitionStats", "lerp_percentile", "partition_stats", "summarize_dataset"]
