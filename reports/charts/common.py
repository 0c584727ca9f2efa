"""Helpers shared by the chart builders: series conversion, thinning tables, option lookups."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from costmodel.results import Option, Results

FloatArray = npt.NDArray[np.float64]

METHOD_LABELS = {"closed_form": "closed form", "capacity": "capacity-aware", "trace": "trace-shaped"}

#: Most rows a chart's data table shows (the full series is in results.json).
TABLE_ROWS = 40


def arr(values: Sequence[float | None] | None) -> FloatArray:
    """A float array with None as NaN."""
    if not values:
        return np.empty(0, dtype=np.float64)
    return np.array(values, dtype=np.float64)  # numpy turns None into NaN for a float dtype


def thin_indices(n: int, limit: int = TABLE_ROWS, *, log_x: FloatArray | None = None) -> list[int]:
    """At most ``limit`` indices spread evenly over ``0..n-1`` (first and last kept).

    With ``log_x`` (positive increasing x values) the indices are spread evenly in log space instead,
    so a table over rates from 0.01 to 100 req/s has as many rows per decade.
    """
    if n <= limit:
        return list(range(n))
    if log_x is not None and np.all(log_x[np.isfinite(log_x)] > 0) and np.isfinite(log_x).all():
        targets = np.geomspace(log_x[0], log_x[-1], limit)
        idx = np.searchsorted(log_x, targets).clip(0, n - 1)
    else:
        idx = np.linspace(0, n - 1, limit).round().astype(int)
    return sorted({int(i) for i in idx} | {0, n - 1})


def rate_axis_is_log(rps: FloatArray) -> bool:
    """A log rate axis when the sampled rates span two decades *and* were sampled log-spaced (their
    geometric mean is under a tenth of the largest). A linear grid from 0 (the cost model's default) reads
    best on a linear axis, where its replica steps keep their widths."""
    pos = rps[np.isfinite(rps) & (rps > 0)]
    if pos.size < 2 or pos.max() / pos.min() < 100:
        return False
    return bool(np.exp(np.log(pos).mean()) < 0.1 * pos.max())


def cost_axis_is_log(costs: FloatArray, *, x_log: bool) -> bool:
    """A log cost axis beside a log rate axis, when the positive costs span two decades."""
    pos = costs[np.isfinite(costs) & (costs > 0)]
    return bool(x_log and pos.size >= 2 and pos.max() / pos.min() >= 100)


def cheapest(results: Results, kind: str) -> Option | None:
    """The cheapest option of a family by monthly cost (None if the family is absent)."""
    family = [o for o in results.options if o.kind == kind]
    return min(family, key=lambda o: o.monthly_cost_usd) if family else None


def edges_between(xs: FloatArray, *, log: bool) -> FloatArray:
    """Boundaries halfway between consecutive samples (geometric halfway on a log axis), plus both ends."""
    if xs.size == 0:
        return xs
    if xs.size == 1:
        return np.array([xs[0], xs[0]], dtype=np.float64)
    if log:
        with np.errstate(divide="ignore", invalid="ignore"):
            mids = np.sqrt(xs[:-1] * xs[1:])
    else:
        mids = (xs[:-1] + xs[1:]) / 2
    return np.concatenate([[xs[0]], mids, [xs[-1]]])
