"""Synthetic traces: rates and length distributions within statistical tolerance, same seed → same trace.

Tolerances are 4–5 standard deviations of the estimator, so a correct generator fails about once in 10^5
runs, while a wrong rate or shape (10 % off) fails every time.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from breakeven.errors import InputError
from tests.conftest import DATA
from traces import (
    Fixed,
    Lengths,
    LogNormal,
    Resampled,
    ResampledPairs,
    binned_arrivals,
    bursty,
    diurnal,
    load_trace,
    on_off,
    poisson,
    summarize,
)
from traces.generators import diurnal_rate
from traces.lengths import Z90

FIXED = Lengths(input=Fixed(800), output=Fixed(200))


def _rng(seed: int = 7) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_poisson_rate_and_exponential_gaps() -> None:
    rate, duration = 5.0, 3600.0
    trace = poisson(rate, duration, FIXED, _rng())
    expected = rate * duration
    assert abs(len(trace) - expected) < 4 * math.sqrt(expected)
    arrival = trace.df["arrival_s"].to_numpy()
    assert arrival.min() >= 0 and arrival.max() < duration
    assert np.all(np.diff(arrival) >= 0)
    cv = summarize(trace).interarrival_cv
    assert cv == pytest.approx(1.0, abs=0.05)  # exponential gaps: CV 1
    assert trace.meta.format == "synthetic"
    assert trace.meta.source is not None and trace.meta.source.startswith("synthetic:poisson:rate=5")


def test_same_seed_same_trace_other_seed_other_trace() -> None:
    a = bursty(2.0, 600.0, Lengths(LogNormal(p90=1500, mean=800), Fixed(220)), _rng(42), cv=3.0)
    b = bursty(2.0, 600.0, Lengths(LogNormal(p90=1500, mean=800), Fixed(220)), _rng(42), cv=3.0)
    c = bursty(2.0, 600.0, Lengths(LogNormal(p90=1500, mean=800), Fixed(220)), _rng(43), cv=3.0)
    pd.testing.assert_frame_equal(a.df, b.df)
    assert not a.df["arrival_s"].equals(c.df["arrival_s"])


def test_gamma_bursts_have_the_requested_cv_and_rate() -> None:
    rate, duration, cv = 5.0, 36000.0, 3.0
    trace = bursty(rate, duration, FIXED, _rng(), cv=cv)
    expected = rate * duration
    assert abs(len(trace) - expected) < 5 * cv * math.sqrt(expected)  # count variance ≈ λT·cv²
    gaps = np.diff(trace.df["arrival_s"].to_numpy())
    assert gaps.std() / gaps.mean() == pytest.approx(cv, rel=0.06)
    assert trace.df["arrival_s"].max() < duration


def test_on_off_bursts_are_silent_when_off() -> None:
    rate, on, off, duration = 3.0, 60.0, 240.0, 36000.0
    trace = on_off(rate, duration, FIXED, _rng(), on_s=on, off_s=off)
    arrival = trace.df["arrival_s"].to_numpy()
    phase = np.mod(arrival, on + off)
    assert np.all(phase < on)
    expected = rate * duration
    assert abs(len(trace) - expected) < 4 * math.sqrt(expected)
    # during bursts the rate is rate·(on+off)/on = 15 req/s
    _, counts = binned_arrivals(trace, on + off)
    assert counts.mean() / on == pytest.approx(rate * (on + off) / on, rel=0.03)


def test_diurnal_sinusoid_peak_trough_and_mean() -> None:
    mean, ratio, peak_hour = 2.0, 4.0, 15.0
    duration = 5 * 86400.0
    trace = diurnal(mean, duration, FIXED, _rng(), peak_to_trough=ratio, peak_hour=peak_hour)
    expected = mean * duration
    assert abs(len(trace) - expected) < 4 * math.sqrt(expected)
    hours = (trace.df["arrival_s"].to_numpy() // 3600).astype(int) % 24
    per_hour = np.bincount(hours, minlength=24) / (duration / 86400) / 3600  # mean rate in each hour of day
    expected_curve = diurnal_rate(np.arange(24) + 0.5, mean, peak_to_trough=ratio, peak_hour=peak_hour)
    np.testing.assert_allclose(per_hour, expected_curve, rtol=0.03)
    assert int(np.argmax(per_hour)) in (14, 15)
    assert per_hour.max() / per_hour.min() == pytest.approx(ratio, rel=0.1)


def test_diurnal_piecewise_hourly_profile() -> None:
    weights = [0.0] * 6 + [1.0] * 12 + [3.0] * 6  # idle at night, busy in the evening
    trace = diurnal(1.0, 5 * 86400.0, FIXED, _rng(), hourly=weights, start_hour=0.0)
    hours = (trace.df["arrival_s"].to_numpy() // 3600).astype(int) % 24
    counts = np.bincount(hours, minlength=24)
    assert counts[:6].sum() == 0
    assert counts[18:].mean() / counts[6:18].mean() == pytest.approx(3.0, rel=0.05)
    # the mean rate over whole days is 1 req/s
    assert len(trace) / (5 * 86400.0) == pytest.approx(1.0, rel=0.02)
    # the clock keeps the night: the first request comes at 06:00, not at t = 0
    assert trace.df["arrival_s"].iloc[0] >= 6 * 3600


def test_diurnal_rejects_bad_profiles() -> None:
    with pytest.raises(InputError, match="24 non-negative weights"):
        diurnal(1.0, 3600.0, FIXED, _rng(), hourly=[1.0] * 23)
    with pytest.raises(InputError, match="peak_to_trough"):
        diurnal(1.0, 3600.0, FIXED, _rng(), peak_to_trough=0.5)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_rates_and_durations_must_be_positive(bad: float) -> None:
    with pytest.raises(InputError, match="rate_rps"):
        poisson(bad, 10.0, FIXED, _rng())
    with pytest.raises(InputError, match="duration_s"):
        poisson(1.0, bad, FIXED, _rng())


# --------------------------------------------------------------------------------------------- lengths


def test_lognormal_from_mean_and_p90() -> None:
    model = LogNormal(p90=1500, mean=800)
    draws = model.sample(400_000, _rng())
    assert draws.dtype == np.int64
    assert draws.min() >= 1
    assert draws.mean() == pytest.approx(800, rel=0.01)
    assert np.percentile(draws, 90) == pytest.approx(1500, rel=0.01)


def test_lognormal_from_median_and_p90_with_cap() -> None:
    model = LogNormal(p90=2000, median=800, high=4096)
    draws = model.sample(400_000, _rng())
    assert np.median(draws) == pytest.approx(800, rel=0.01)
    assert np.percentile(draws, 90) == pytest.approx(2000, rel=0.01)
    assert draws.max() == 4096
    assert model.sigma == pytest.approx(math.log(2000 / 800) / Z90)


def test_lognormal_with_impossible_mean_and_p90_explains_why() -> None:
    # p90 / mean can be at most exp(z²/2) ≈ 2.27 for any lognormal.
    with pytest.raises(InputError, match=r"no lognormal has mean 800 and p90 2000.*median=800,p90=2000"):
        LogNormal(p90=2000, mean=800)
    with pytest.raises(InputError, match="exactly one of mean= or median="):
        LogNormal(p90=2000)


def test_fixed_and_resampled_lengths() -> None:
    assert Fixed(220).sample(3, _rng()).tolist() == [220, 220, 220]
    with pytest.raises(InputError):
        Fixed(-1)
    azure = load_trace(DATA / "traces" / "AzureLLMInferenceTrace_code.csv").df
    model = Resampled(azure["output_tokens"].to_numpy(), label="azure")
    draws = model.sample(100_000, _rng())
    assert set(np.unique(draws)) <= set(azure["output_tokens"].unique())
    assert draws.mean() == pytest.approx(azure["output_tokens"].mean(), rel=0.05)


def test_resampled_pairs_keep_input_output_together() -> None:
    azure = load_trace(DATA / "traces" / "AzureLLMInferenceTrace_code.csv").df
    pairs = ResampledPairs(azure["input_tokens"].to_numpy(), azure["output_tokens"].to_numpy())
    trace = poisson(3.0, 600.0, pairs, _rng())
    real = set(zip(azure["input_tokens"], azure["output_tokens"], strict=True))
    drawn = set(zip(trace.df["input_tokens"], trace.df["output_tokens"], strict=True))
    assert drawn <= real
