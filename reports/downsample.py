"""Downsampling long series for charts, keeping what a reader must see (peaks, troughs, totals).

A month of one-second bins is 2.6 M points; a chart needs about a thousand. Each function here groups
consecutive points into equal-count buckets with ``numpy.ufunc.reduceat`` (vectorised, no Python loop over
points) and returns one row per bucket. The full series stays in results.json.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

#: Buckets a timeline chart is drawn with (each bucket draws a min and a max point: <= 2,000 points).
TIMELINE_BUCKETS = 1000


@dataclass(frozen=True)
class Buckets:
    """Per-bucket summaries of a series sampled at ``t`` (bucket start times and end time)."""

    t_start: FloatArray
    t_end: FloatArray
    mean: FloatArray
    min: FloatArray
    max: FloatArray
    first: FloatArray
    last: FloatArray

    def __len__(self) -> int:
        return int(self.t_start.size)


def bucket_starts(n: int, buckets: int) -> npt.NDArray[np.intp]:
    """Start indices of ``min(n, buckets)`` equal-count buckets over ``n`` points."""
    k = max(min(n, buckets), 1)
    return np.unique(np.floor(np.arange(k) * (n / k)).astype(np.intp))


def summarize(t: npt.ArrayLike, y: npt.ArrayLike, t_end: float, buckets: int = TIMELINE_BUCKETS) -> Buckets:
    """Bucket ``y`` (sampled at increasing times ``t``) into at most ``buckets`` groups.

    ``t_end`` is where the last sample's interval ends. NaN values are ignored within a bucket (a bucket
    of only NaN yields NaN). With fewer points than buckets each point is its own bucket (no change).
    """
    ts = np.asarray(t, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    n = ts.size
    if n == 0:
        empty = np.empty(0, dtype=np.float64)
        return Buckets(empty, empty, empty, empty, empty, empty, empty)
    starts = bucket_starts(n, buckets)
    ends_idx = np.append(starts[1:], n)
    nan = np.isnan(ys)
    counts = np.add.reduceat((~nan).astype(np.float64), starts)
    total = np.add.reduceat(np.where(nan, 0.0, ys), starts)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(counts > 0, total / np.where(counts > 0, counts, 1.0), np.nan)
    lo = np.minimum.reduceat(np.where(nan, np.inf, ys), starts)
    hi = np.maximum.reduceat(np.where(nan, -np.inf, ys), starts)
    lo = np.where(counts > 0, lo, np.nan)
    hi = np.where(counts > 0, hi, np.nan)
    t_end_arr = np.append(ts[starts[1:]], t_end)
    return Buckets(ts[starts], t_end_arr, mean, lo, hi, ys[starts], ys[ends_idx - 1])


def minmax_points(t: npt.ArrayLike, y: npt.ArrayLike, buckets: int = TIMELINE_BUCKETS) -> tuple[FloatArray, FloatArray]:
    """A min/max-preserving polyline: per bucket, its minimum and maximum in time order (<= 2 x buckets points).

    The drawn line reaches every local peak and trough of the full series, so a one-second spike still shows.
    """
    ts = np.asarray(t, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    n = ts.size
    if n <= 2 * buckets:
        return ts, ys
    starts = bucket_starts(n, buckets)
    # Position of each point inside its bucket, to find where the min and max sit (vectorised argmin/argmax).
    bucket_of = np.repeat(np.arange(starts.size), np.diff(np.append(starts, n)))
    clean = np.where(np.isnan(ys), 0.0, ys)
    lo = np.minimum.reduceat(clean, starts)
    hi = np.maximum.reduceat(clean, starts)
    idx = np.arange(n)
    big = np.iinfo(np.int64).max
    i_lo = np.minimum.reduceat(np.where(clean == lo[bucket_of], idx, big), starts)
    i_hi = np.minimum.reduceat(np.where(clean == hi[bucket_of], idx, big), starts)
    pick = np.sort(np.unique(np.concatenate([i_lo, i_hi])))
    return ts[pick], ys[pick]
