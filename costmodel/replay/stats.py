"""Small statistics shared by the replays: percentile summaries and per-request latency jitter."""

from __future__ import annotations

from typing import Final, Literal

import numpy as np
import numpy.typing as npt
from scipy.special import ndtri

from costmodel.replay._arrays import FloatArray
from costmodel.results import Distribution

Percentile = Literal["mean", "p50", "p90", "p99"]

Z_SCORE: Final[dict[str, float]] = {"p50": 0.0, "p90": float(ndtri(0.90)), "p99": float(ndtri(0.99))}
"""Standard-normal z of each named percentile."""


def distribution(values: npt.ArrayLike) -> Distribution:
    """Mean, p50, p90 and p99 of ``values`` (all ``None`` for no values; NaNs are ignored)."""
    arr = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(arr)
    if not finite.all():
        arr = arr[finite]
    if arr.size == 0:
        return Distribution()
    p50, p90, p99 = np.percentile(arr, [50.0, 90.0, 99.0])
    return Distribution(mean=float(arr.mean()), p50=float(p50), p90=float(p90), p99=float(p99))


def lognormal_sigma(p_factor: float, percentile: Percentile) -> float:
    """σ of a mean-1 lognormal whose ``percentile`` equals ``p_factor`` (0 when no spread is implied).

    A mean-1 lognormal has ``mu = -σ²/2``; its quantile at ``z`` is ``exp(-σ²/2 + zσ)``. Solving
    ``-σ²/2 + zσ = ln f`` gives ``σ = z - sqrt(z² - 2 ln f)`` (the smaller root). Factors above the largest
    reachable ratio ``exp(z²/2)`` are capped there.
    """
    if percentile == "mean" or p_factor <= 1.0:
        return 0.0
    z = Z_SCORE[percentile]
    if z <= 0.0:
        return 0.0
    disc = z * z - 2.0 * float(np.log(p_factor))
    return z if disc <= 0 else z - float(np.sqrt(disc))


def jitter(n: int, p_factor: float, percentile: Percentile, rng: np.random.Generator | None) -> FloatArray | None:
    """Per-request multipliers (mean 1) that spread mean latencies to the measured percentile, or ``None``.

    ``None`` (no jitter: every request gets the mean-model latency) when ``rng`` is ``None`` or the factor
    implies no spread.
    """
    sigma = lognormal_sigma(p_factor, percentile)
    if rng is None or sigma == 0.0 or n == 0:
        return None
    return np.exp(rng.standard_normal(n) * sigma - 0.5 * sigma * sigma)
