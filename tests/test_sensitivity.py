"""Sensitivity: the analytic evaluator, the tornado and the seeded Monte Carlo."""

from __future__ import annotations

import numpy as np
import pytest

from breakeven.errors import InputError, ModelError
from costmodel.breakeven import capacity_breakeven
from costmodel.profiles.schema import ColdStart
from costmodel.results import Sensitivity, Slo
from costmodel.sensitivity import (
    SensitivityInputs,
    Spread,
    analytic_outcome,
    capacity_spread,
    cold_start_spread,
    per_sample,
    price_spread,
    relative_spread,
    sensitivity_analysis,
    tornado,
)
from tests.test_capacity_profiles import llama_8b, mi300x_seed

# The seed case at 220 output tokens with a 5 req/s replica, the article's 61 s cold start, 4 req/s of traffic.
BASE = SensitivityInputs(
    gpu_hourly_usd=1.88,
    input_usd_per_mtok=0.10,
    output_usd_per_mtok=0.70,
    input_tokens=80,
    output_tokens=220,
    replica_capacity_rps=5.0,
    cold_start_s=61.0,
    user_rps=4.0,
)


def test_analytic_outcome_by_hand() -> None:
    out = analytic_outcome(BASE)
    # hourly with cold starts: 1.88 × (1 + 30 × 61 / (730 × 3600)) = 1.881309 $/h
    hourly = 1.88 * (1 + 30 * 61 / (730 * 3600))
    # serverless: 4 req/s × 2,628,000 s × 162e-6 $ = $1,702.94; dedicated: 1 replica × 1.881309 × 730 = $1,373.36
    assert out.monthly_gap_usd[0] == pytest.approx(4 * 2_628_000 * 162e-6 - hourly * 730)
    assert out.breakeven_rps[0] == pytest.approx(capacity_breakeven(hourly, 162e-6, 5.0).breakeven_rps)


def test_analytic_outcome_is_vectorised() -> None:
    hourly = np.array([1.0, 1.88, 3.0, 9.0])
    cap = np.array([5.0, 2.0, np.inf, 5.0])
    out = analytic_outcome(BASE.replace(gpu_hourly_usd=hourly, replica_capacity_rps=cap, cold_start_s=0.0))
    for i in range(4):
        one = analytic_outcome(BASE.replace(gpu_hourly_usd=hourly[i], replica_capacity_rps=cap[i], cold_start_s=0.0))
        assert out.breakeven_rps[i] == pytest.approx(one.breakeven_rps[0])
        assert out.monthly_gap_usd[i] == pytest.approx(one.monthly_gap_usd[0])
    assert out.breakeven_rps[1] == np.inf  # a 2 req/s replica is below the 3.22 req/s closed form: never
    assert out.breakeven_rps[2] == pytest.approx(3.0 / 3600 / 162e-6)  # unknown capacity: closed form
    lifted = per_sample(analytic_outcome)(BASE.replace(gpu_hourly_usd=hourly, replica_capacity_rps=cap))
    direct = analytic_outcome(BASE.replace(gpu_hourly_usd=hourly, replica_capacity_rps=cap))
    assert np.array_equal(lifted.breakeven_rps, direct.breakeven_rps)


def test_tornado_moves_the_right_way_and_is_sorted() -> None:
    bars = tornado(BASE)
    by_name = {b.parameter: b for b in bars}
    assert len(bars) == 7
    gpu = by_name["gpu_hourly_usd"]
    assert (gpu.low_value, gpu.high_value) == pytest.approx((1.504, 2.256))
    assert gpu.breakeven_rps_high > gpu.breakeven_rps_low  # type: ignore[operator]
    assert gpu.monthly_gap_usd_high < gpu.monthly_gap_usd_low  # dearer GPU: dedicated saves less
    out = by_name["output_usd_per_mtok"]
    assert out.monthly_gap_usd_high > out.monthly_gap_usd_low
    swings = [abs(b.monthly_gap_usd_high - b.monthly_gap_usd_low) for b in bars]
    assert swings == sorted(swings, reverse=True)
    # 4 req/s still fits one replica at 4 or 6 req/s of capacity: the monthly gap does not move.
    cap = by_name["replica_capacity_rps"]
    assert cap.monthly_gap_usd_low == pytest.approx(cap.monthly_gap_usd_high)
    assert tornado(BASE.replace(replica_capacity_rps=np.inf))[-1].parameter != "replica_capacity_rps"
    with pytest.raises(InputError, match="delta"):
        tornado(BASE, delta=1.5)


def test_a_pluggable_evaluator_is_used_for_the_tornado() -> None:
    calls: list[SensitivityInputs] = []

    def replay_like(inputs: SensitivityInputs) -> object:
        calls.append(inputs)
        return analytic_outcome(inputs)

    result = sensitivity_analysis(BASE, rng=np.random.default_rng(0), evaluate=replay_like)  # type: ignore[arg-type]
    assert len(calls) == 1 + 2 * 7  # base + low/high per bar
    assert result.samples == 0 and result.breakeven_rps is None  # no spreads: no Monte Carlo


def _spreads() -> list[Spread]:
    return [
        price_spread("gpu_hourly_usd", [1.88, 1.99], description="GPU price ($/h)"),
        relative_spread("output_usd_per_mtok", 0.70, 0.1, "output price"),
        capacity_spread(llama_8b(), Slo(), 80, 220),
        Spread("cold_start_s", "cold start", "samples", values=(60.8, 61.0, 61.4)),
    ]


def test_monte_carlo_is_seeded_and_ordered() -> None:
    inputs = BASE.replace(replica_capacity_rps=capacity_spread(llama_8b(), Slo(), 80, 220).mode)
    one = sensitivity_analysis(inputs, spreads=_spreads(), rng=np.random.default_rng(7), seed=7, samples=4000)
    two = sensitivity_analysis(inputs, spreads=_spreads(), rng=np.random.default_rng(7), seed=7, samples=4000)
    other = sensitivity_analysis(inputs, spreads=_spreads(), rng=np.random.default_rng(8), seed=8, samples=4000)
    assert one == two
    assert one.breakeven_rps != other.breakeven_rps
    assert one.seed == 7 and one.samples == 4000
    for band in (one.breakeven_rps, one.monthly_saving_usd):
        assert band is not None and band.p10 is not None and band.p50 is not None and band.p90 is not None
        assert band.p10 <= band.p50 <= band.p90
    # The break-even band straddles the base; GPU price 1.88–1.99 and output price ±10 % move it.
    assert one.breakeven_rps.p10 < one.base_breakeven_rps < one.breakeven_rps.p90  # type: ignore[operator]
    n = len(one.cost_band_rps)
    assert len(one.dedicated_monthly_p10) == len(one.dedicated_monthly_p50) == len(one.dedicated_monthly_p90) == n
    assert all(
        a <= b <= c
        for a, b, c in zip(one.dedicated_monthly_p10, one.dedicated_monthly_p50, one.dedicated_monthly_p90, strict=True)
    )
    assert one.dedicated_monthly_p10[0] >= 1.88 * 730  # at least one replica at the cheapest price
    assert "conflicting catalog entries" in one.varied[0]
    assert Sensitivity.model_validate_json(one.model_dump_json()) == one


def test_spreads_from_profiles() -> None:
    profile = mi300x_seed().model_copy(update={"cold_start": ColdStart(samples_s=[60.8, 61.0, 61.4])})
    spread = cold_start_spread(profile)
    assert spread is not None and spread.kind == "samples"
    draws = spread.draw(np.random.default_rng(0), 1000)
    assert set(np.unique(draws)) <= {60.8, 61.0, 61.4}
    one_total = mi300x_seed().model_copy(update={"cold_start": ColdStart(total_s=61.0)})
    spread = cold_start_spread(one_total)
    assert spread is not None and (spread.low, spread.high) == pytest.approx((48.8, 73.2))
    assert cold_start_spread(mi300x_seed().model_copy(update={"cold_start": None})) is None
    bundled = cold_start_spread(mi300x_seed())  # the article's restarts: 60.8 and 61.4 s
    assert bundled is not None and bundled.values == (60.8, 61.4)
    cap = capacity_spread(llama_8b(), Slo(), 80, 220)
    assert cap.low <= cap.mode <= cap.high and cap.low < cap.high


def test_unreachable_slo_and_bad_inputs() -> None:
    with pytest.raises(ModelError, match="SLO unreachable"):
        sensitivity_analysis(BASE.replace(replica_capacity_rps=0.0), rng=np.random.default_rng(0))
    with pytest.raises(InputError, match="gpu_hourly_usd"):
        sensitivity_analysis(BASE.replace(gpu_hourly_usd=-1.0), rng=np.random.default_rng(0))
    with pytest.raises(InputError, match="unknown parameter"):
        sensitivity_analysis(BASE, spreads=[relative_spread("gpu_price", 1.0, 0.1, "x")], rng=np.random.default_rng(0))


def test_draws_with_no_capacity_are_left_out_of_the_cost_band() -> None:
    spreads = [Spread("replica_capacity_rps", "capacity", "samples", values=(0.0, 5.0))]
    result = sensitivity_analysis(BASE, spreads=spreads, rng=np.random.default_rng(1), samples=200)
    assert any("no replica meeting the SLO" in v for v in result.varied)
    assert all(np.isfinite(result.dedicated_monthly_p90))
    assert result.monthly_saving_usd is not None and result.monthly_saving_usd.p10 is None  # -inf: unserved
