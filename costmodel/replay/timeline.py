"""Time-binned views of a replay: requests in service per cell (for busy hours) and the chart timeline.

Everything here is computed from the per-request start and departure times with ``bincount`` (no sort):
for cells of width ``g``, the integral of the in-service count up to a grid point ``t`` is
``Σ_{s_i < t} (t − s_i) − Σ_{d_i < t} (t − d_i)``, exact at every grid point.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from costmodel.replay._arrays import FloatArray
from costmodel.replay.billing import Lease
from costmodel.results import Timeline

_MAX_CELLS = 4_000_000


def cell_width(horizon_s: float, wanted_s: float = 1.0) -> float:
    """Cell width [s]: ``wanted_s`` unless that would make more than a few million cells."""
    return max(wanted_s, horizon_s / _MAX_CELLS) if horizon_s > 0 else wanted_s


def _cumulative_at_edges(times: FloatArray, width: float, cells: int) -> tuple[FloatArray, FloatArray]:
    """Count and sum of ``times`` strictly before each edge ``j × width`` (j = 0..cells)."""
    idx = np.floor(times / width).astype(np.int64)
    keep = idx < cells
    idx, kept = idx[keep], times[keep]
    count = np.concatenate([[0.0], np.cumsum(np.bincount(idx, minlength=cells)[:cells].astype(np.float64))])
    total = np.concatenate([[0.0], np.cumsum(np.bincount(idx, weights=kept, minlength=cells)[:cells])])
    return count, total


def _cumulative_sorted(times: FloatArray, edges: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Same as :func:`_cumulative_at_edges` for sorted ``times`` (a search per edge, no pass over times
    beyond one cumulative sum)."""
    idx = np.searchsorted(times, edges, side="left")
    total = np.concatenate([[0.0], np.cumsum(times)])
    return idx.astype(np.float64), total[idx]


def occupancy_per_cell(
    starts: FloatArray, ends: FloatArray, width: float, cells: int, *, starts_sorted: bool = False
) -> FloatArray:
    """∫ (intervals ``[start, end)`` open at t) dt over each cell ``[j × width, (j+1) × width)`` [s]."""
    if cells <= 0:
        return np.zeros(0)
    edges = np.arange(cells + 1, dtype=np.float64) * width
    if starts_sorted:
        n_s, sum_s = _cumulative_sorted(starts, edges)
    else:
        n_s, sum_s = _cumulative_at_edges(starts, width, cells)
    n_e, sum_e = _cumulative_at_edges(ends, width, cells)
    integral = (edges * n_s - sum_s) - (edges * n_e - sum_e)
    return np.maximum(np.diff(integral), 0.0)


def busy_grid(horizon_s: float) -> tuple[float, int]:
    """The cells busy hours are counted in: width [s] (at least 1 s, at most 200,000 cells over the
    horizon before :func:`cell_width`'s cap) and count (0 for an empty window)."""
    width = cell_width(horizon_s, max(1.0, horizon_s / 200_000))
    return width, max(1, math.ceil(horizon_s / width - 1e-9)) if horizon_s > 0 else 0


def served_per_cell(starts: FloatArray, service_s: FloatArray, width: float, cells: int) -> FloatArray:
    """Request-seconds in service per cell, each request's service time counted in the cell where it starts."""
    idx = np.floor(starts / width).astype(np.int64)
    keep = idx < cells
    return np.bincount(idx[keep], weights=service_s[keep], minlength=cells)[:cells].astype(np.float64)


def busy_from_cells(
    served: FloatArray, ready_from: FloatArray, ready_until: FloatArray, horizon_s: float, width: float
) -> tuple[float, float, FloatArray]:
    """Busy instance-seconds from the request-seconds per cell (see :func:`busy_seconds`), the request-seconds
    in service, and the ready instance-seconds per cell."""
    cells = int(served.shape[0])
    if cells == 0:
        return 0.0, 0.0, np.zeros(0)
    ready = occupancy_per_cell(ready_from, np.minimum(ready_until, horizon_s), width, cells)
    return float(np.minimum(served, ready).sum()), float(served.sum()), ready


def busy_seconds(
    starts: FloatArray,
    service_s: FloatArray,
    ready_from: FloatArray,
    ready_until: FloatArray,
    horizon_s: float,
    *,
    width: float,
) -> tuple[float, float, FloatArray, FloatArray]:
    """Busy instance-seconds (replicas with at least one request), counted per cell as
    ``min(ready instance-time, request-time in service)`` — least-loaded routing puts one request on each
    replica before doubling up. A request's service time is counted in the cell where it starts (cells are
    long against service times: one pass instead of an exact split). Returns busy seconds, request-seconds
    in service, and the per-cell request and ready integrals."""
    cells = max(1, math.ceil(horizon_s / width - 1e-9)) if horizon_s > 0 else 0
    if cells == 0:
        return 0.0, 0.0, np.zeros(0), np.zeros(0)
    served = served_per_cell(starts, service_s, width, cells)
    busy, total, ready = busy_from_cells(served, ready_from, ready_until, horizon_s, width)
    return busy, total, served, ready


MIN_BIN_S = 1e-3
"""The finest timeline bin [s]."""


def timeline(
    leased: Lease,
    arrival_s: FloatArray,
    *,
    points: int = 400,
    arrival_counts: npt.NDArray[np.int64] | None = None,
) -> Timeline:
    """A downsampled chart timeline of a leased fleet over its window: arrivals per second, mean replicas
    running (start → stop) and ready (ready → stop) per bin, and the cold starts.

    ``arrival_counts``: requests per bin, already counted (a replay streamed through a dataset); then
    ``arrival_s`` need only hold the last arrival."""
    span = max(leased.horizon_s, float(arrival_s[-1]) if arrival_s.size else 0.0)
    if span <= 0:
        return Timeline(bin_s=1.0, t_s=[], arrivals_rps=[], replicas_running=[], replicas_ready=[])
    width, bins = timeline_grid(span, points)
    idx = np.minimum(np.floor(arrival_s / width).astype(np.int64), bins - 1)
    counts = np.bincount(idx, minlength=bins)[:bins] if arrival_counts is None else arrival_counts[:bins]
    arrivals = counts / width
    until = np.minimum(leased.stop_s, bins * width)
    running = occupancy_per_cell(leased.start_s, until, width, bins) / width
    ready = occupancy_per_cell(leased.ready_s, until, width, bins) / width
    return Timeline(
        bin_s=width,
        t_s=[float(x) for x in np.arange(bins) * width],
        arrivals_rps=[float(x) for x in arrivals],
        replicas_running=[float(x) for x in running],
        replicas_ready=[float(x) for x in ready],
        cold_start_times_s=[float(x) for x in leased.cold_start_times_s[:5000]],
    )


def timeline_grid(span_s: float, points: int) -> tuple[float, int]:
    """The timeline's bins over ``[0, span_s]``: width [s] (1, 2 or 5 × a power of ten) and count."""
    if span_s <= 0:
        return 1.0, 1
    # Bins of at least a millisecond: a span of denormal seconds (2e-311) would give rates of 1e310 req/s,
    # an overflow, for a chart that cannot show anything finer anyway.
    width = _nice(max(span_s / max(points, 1), MIN_BIN_S))
    return width, max(1, math.ceil(span_s / width - 1e-9))


def _nice(width: float) -> float:
    """Round a bin width up to 1, 2 or 5 × a power of ten seconds."""
    if width <= 0:
        return 1.0
    exp = math.floor(math.log10(width))
    for m in (1.0, 2.0, 5.0, 10.0):
        if m * 10**exp >= width - 1e-12:
            return m * 10**exp
    return 10.0 ** (exp + 1)
