"""Synthetic traces: Poisson, diurnal (24-hour profile), bursty (Gamma renewal or on/off).

Every generator takes the mean request rate [req/s], a duration [s], a length model
(:class:`traces.lengths.Lengths` or :class:`traces.lengths.ResampledPairs`) and a seeded
``numpy.random.Generator``; the same seed gives the same trace. Arrival times are drawn vectorised
(order statistics or cumulative sums in chunks), never one request at a time.

The clock starts at the beginning of the generated window: ``arrival_s`` runs over ``[0, duration_s)`` and
the first request arrives at a random time ≥ 0 (for a diurnal profile that is idle at night, hours later).
Arrivals are drawn first, then input lengths, then output lengths, from the same generator.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from breakeven.errors import InputError
from breakeven.plausibility import require_memory, require_requests
from traces.lengths import LengthsLike
from traces.model import Trace, TraceMeta

DAY_S = 86400.0
PEAK_TO_TROUGH = 3.0
"""The diurnal profile's default peak rate / trough rate."""
PEAK_HOUR = 14.0
"""The diurnal profile's default hour of day of the peak."""
_GRID_S = 60.0


def _positive(name: str, value: float) -> float:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise InputError(f"{name}: expected a positive finite number, found {value!r}")
    return float(value)


def _check_size(rate: float, duration: float) -> None:
    """Refuse, before drawing anything, a trace whose requests would not fit in memory."""
    require_requests(
        rate * duration,
        where=f"synthetic trace at {rate:g} req/s for {duration:g} s",
        what="generating it",
    )


def _trace(times: np.ndarray, lengths: LengthsLike, rng: np.random.Generator, label: str, model: str | None) -> Trace:
    inp, out = lengths.sample_pairs(len(times), rng)
    data: dict[str, object] = {"arrival_s": times.astype(np.float64), "input_tokens": inp, "output_tokens": out}
    if model is not None:
        data["model"] = pd.Categorical(np.full(len(times), model, dtype=object))
    meta = TraceMeta(source=f"synthetic:{label}", format="synthetic")
    return Trace(df=pd.DataFrame(data), meta=meta)


def poisson_times(rate_rps: float, duration_s: float, rng: np.random.Generator) -> np.ndarray:
    """Arrival times [s] of a Poisson process at ``rate_rps`` over ``[0, duration_s)``, sorted."""
    rate = _positive("rate_rps", rate_rps)
    duration = _positive("duration_s", duration_s)
    _check_size(rate, duration)
    n = rng.poisson(rate * duration)
    return np.sort(rng.uniform(0.0, duration, size=n))


def poisson(
    rate_rps: float, duration_s: float, lengths: LengthsLike, rng: np.random.Generator, *, model: str | None = None
) -> Trace:
    """A Poisson trace: exponential inter-arrival gaps at ``rate_rps`` [req/s] for ``duration_s`` [s]."""
    times = poisson_times(rate_rps, duration_s, rng)
    label = f"poisson:rate={rate_rps:g},duration={duration_s:g},{lengths.describe()}"
    return _trace(times, lengths, rng, label, model)


def gamma_times(rate_rps: float, cv: float, duration_s: float, rng: np.random.Generator) -> np.ndarray:
    """Arrival times [s] of a renewal process with Gamma gaps: mean ``1/rate_rps``, coefficient of variation ``cv``.

    Shape ``k = 1/cv²`` (cv = 1 is Poisson; cv > 1 clusters requests into bursts), scale ``1/(rate·k)``.
    Gaps are drawn in chunks and summed until the window is covered.
    """
    rate = _positive("rate_rps", rate_rps)
    cv = _positive("cv", cv)
    duration = _positive("duration_s", duration_s)
    _check_size(rate, duration)
    shape = 1.0 / (cv * cv)
    scale = 1.0 / (rate * shape)
    expected = rate * duration
    chunk = int(expected + 6.0 * cv * math.sqrt(expected) + 64)
    parts: list[np.ndarray] = []
    last = 0.0
    while last < duration:  # loops over chunks (almost always one), not over requests
        times = last + np.cumsum(rng.gamma(shape, scale, size=chunk))
        parts.append(times)
        last = float(times[-1])
    times = np.concatenate(parts)
    return times[: np.searchsorted(times, duration, side="left")]


def bursty(
    rate_rps: float,
    duration_s: float,
    lengths: LengthsLike,
    rng: np.random.Generator,
    *,
    cv: float = 2.0,
    model: str | None = None,
) -> Trace:
    """A bursty trace: Gamma inter-arrival gaps, mean rate ``rate_rps`` [req/s], coefficient of variation ``cv``."""
    times = gamma_times(rate_rps, cv, duration_s, rng)
    label = f"bursty:rate={rate_rps:g},cv={cv:g},duration={duration_s:g},{lengths.describe()}"
    return _trace(times, lengths, rng, label, model)


def on_off_times(rate_rps: float, on_s: float, off_s: float, duration_s: float, rng: np.random.Generator) -> np.ndarray:
    """Arrival times [s]: Poisson bursts during ``on_s``, silence for ``off_s``, repeating from an ``on`` phase.

    ``rate_rps`` is the mean over whole periods; during ``on`` the rate is ``rate·(on+off)/on``.
    """
    rate = _positive("rate_rps", rate_rps)
    on = _positive("on_s", on_s)
    if not (math.isfinite(off_s) and off_s >= 0):
        raise InputError(f"off_s: expected a non-negative number of seconds, found {off_s!r}")
    duration = _positive("duration_s", duration_s)
    _check_size(rate, duration)
    period = on + off_s
    full = math.floor(duration / period)
    on_total = full * on + min(duration - full * period, on)
    on_rate = rate * period / on
    n = rng.poisson(on_rate * on_total)
    busy = np.sort(rng.uniform(0.0, on_total, size=n))
    return np.floor(busy / on) * period + np.mod(busy, on)


def on_off(
    rate_rps: float,
    duration_s: float,
    lengths: LengthsLike,
    rng: np.random.Generator,
    *,
    on_s: float,
    off_s: float,
    model: str | None = None,
) -> Trace:
    """A bursty on/off trace with mean rate ``rate_rps`` [req/s]: busy ``on_s`` seconds, idle ``off_s`` seconds."""
    times = on_off_times(rate_rps, on_s, off_s, duration_s, rng)
    label = f"bursty:rate={rate_rps:g},on={on_s:g},off={off_s:g},duration={duration_s:g},{lengths.describe()}"
    return _trace(times, lengths, rng, label, model)


def diurnal_rate(
    hour_of_day: np.ndarray,
    mean_rps: float,
    *,
    peak_to_trough: float = PEAK_TO_TROUGH,
    peak_hour: float = PEAK_HOUR,
    hourly: Sequence[float] | None = None,
) -> np.ndarray:
    """Request rate [req/s] at each ``hour_of_day`` (0–24) whose 24-hour average is ``mean_rps``.

    Sinusoidal: ``mean·(1 + a·cos(2π(h − peak_hour)/24))`` with ``a = (r − 1)/(r + 1)`` so that peak / trough
    = ``peak_to_trough`` = r. Piecewise: ``hourly`` gives 24 relative weights, one per hour, scaled so that
    their mean is ``mean_rps``.
    """
    mean = _positive("mean_rps", mean_rps)
    hours = np.mod(np.asarray(hour_of_day, dtype=np.float64), 24.0)
    if hourly is not None:
        weights = np.asarray(hourly, dtype=np.float64)
        if weights.shape != (24,) or not np.all(np.isfinite(weights)) or np.any(weights < 0) or weights.sum() <= 0:
            raise InputError(
                f"hourly profile: expected 24 non-negative weights (not all zero), found {len(weights)} values"
            )
        return mean * weights[np.floor(hours).astype(np.int64) % 24] / weights.mean()
    if not (math.isfinite(peak_to_trough) and peak_to_trough >= 1):
        raise InputError(f"peak_to_trough: expected a number ≥ 1, found {peak_to_trough!r}")
    amplitude = (peak_to_trough - 1.0) / (peak_to_trough + 1.0)
    return mean * (1.0 + amplitude * np.cos(2.0 * np.pi * (hours - peak_hour) / 24.0))


def diurnal_times(
    mean_rps: float,
    duration_s: float,
    rng: np.random.Generator,
    rate_at: Callable[[np.ndarray], np.ndarray],
    *,
    start_hour: float = 0.0,
) -> np.ndarray:
    """Arrival times [s] of a non-homogeneous Poisson process whose rate [req/s] at hour of day ``h`` is
    ``rate_at(h)`` (e.g. :func:`diurnal_rate`), averaging ``mean_rps``.

    Time rescaling: the cumulative rate Λ(t) on a 60-second grid (rate taken at each cell's midpoint, so
    hourly profiles are exact when ``start_hour`` falls on a minute); ``N ~ Poisson(Λ(T))`` sorted
    uniform draws on ``[0, Λ(T))`` are mapped back through Λ⁻¹ by linear interpolation.
    """
    duration = _positive("duration_s", duration_s)
    _check_size(_positive("mean_rps", mean_rps), duration)
    require_memory(
        duration / _GRID_S * 8 * 6, where=f"diurnal trace over {duration:g} s", what="its one-minute rate grid"
    )
    edges = np.append(np.arange(0.0, duration, _GRID_S), duration)
    mids = (edges[:-1] + edges[1:]) / 2.0
    rates = rate_at(start_hour + mids / 3600.0)
    cumulative = np.concatenate(([0.0], np.cumsum(rates * np.diff(edges))))
    n = rng.poisson(cumulative[-1])
    targets = np.sort(rng.uniform(0.0, cumulative[-1], size=n))
    return np.interp(targets, cumulative, edges)


def diurnal(
    mean_rps: float,
    duration_s: float,
    lengths: LengthsLike,
    rng: np.random.Generator,
    *,
    peak_to_trough: float = PEAK_TO_TROUGH,
    peak_hour: float = PEAK_HOUR,
    hourly: Sequence[float] | None = None,
    start_hour: float = 0.0,
    model: str | None = None,
) -> Trace:
    """A diurnal trace: rate following a 24-hour profile (sinusoidal or ``hourly`` weights) around ``mean_rps``.

    ``start_hour`` is the hour of day at ``arrival_s = 0``. See :func:`diurnal_rate` and :func:`diurnal_times`.
    """

    def rate_at(hour_of_day: np.ndarray) -> np.ndarray:
        return diurnal_rate(hour_of_day, mean_rps, peak_to_trough=peak_to_trough, peak_hour=peak_hour, hourly=hourly)

    times = diurnal_times(mean_rps, duration_s, rng, rate_at, start_hour=start_hour)
    shape = (
        "hourly=" + ";".join(f"{w:g}" for w in hourly)
        if hourly is not None
        else f"peak_to_trough={peak_to_trough:g},peak_hour={peak_hour:g}"
    )
    label = f"diurnal:rate={mean_rps:g},duration={duration_s:g},{shape},start_hour={start_hour:g},{lengths.describe()}"
    return _trace(times, lengths, rng, label, model)
