"""Hybrid splits (overflow to serverless, routing by output length) and the trace-shaped break-even."""

from __future__ import annotations

from datetime import date
from functools import cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from breakeven.errors import InputError
from costmodel.breakeven import closed_form_breakeven_rps
from costmodel.capacity import fit_replica_service
from costmodel.profiles import bundled_profile
from costmodel.replay import (
    RequestArrays,
    best_hybrid,
    cost_curve_at_rates,
    from_arrays,
    replay_hybrid,
    request_arrays,
    route_by_output,
    serverless_bill,
    trace_breakeven,
)
from costmodel.results import AutoscalePolicy
from costmodel.service import ReplicaService
from pricing.models import GpuPrice, TokenPrice
from tests.conftest import DATA
from traces import load_trace


def gpu(**kw: object) -> GpuPrice:
    base: dict[str, object] = {
        "id": "test/gpu-1x",
        "provider": "test",
        "offering": "gpu",
        "gpu": "MI300X",
        "gpu_count": 1,
        "hourly_usd": 1.88,
        "billing_increment_s": 1,
        "minimum_billed_s": 0,
        "as_of": date(2026, 6, 23),
        "source": "seed article",
    }
    base.update(kw)
    return GpuPrice.model_validate(base)


def tokens(**kw: object) -> TokenPrice:
    base: dict[str, object] = {
        "id": "test/gpt-oss-120b",
        "provider": "test",
        "model": "gpt-oss-120b",
        "input_usd_per_mtok": 0.10,
        "output_usd_per_mtok": 0.70,
        "as_of": date(2026, 6, 23),
        "source": "seed article",
    }
    base.update(kw)
    return TokenPrice.model_validate(base)


FLAT = ReplicaService(10.0, 0.0, 100.0, 0.0, 0.0, slots=1)  # 0.1 s + 10 ms per further token, one at a time


@cache
def azure() -> RequestArrays:
    return request_arrays(load_trace(DATA / "traces" / "AzureLLMInferenceTrace_code.csv"))


@cache
def h100() -> ReplicaService:
    trace = azure()
    fit = fit_replica_service(bundled_profile("llama-3.1-8b-fp8_1xH100"))
    return fit.service_for(float(trace.input_tokens.mean()), float(trace.output_tokens.mean()))


# ---------------------------------------------------------------------------------------------- hybrid


def test_overflow_split_by_hand() -> None:
    # one replica, one slot; each request holds it 0.1 + 10 × 0.01 = 0.2 s. The request at 0.1 s finds it
    # busy (the one from 0 s runs to 0.2 s) and goes to serverless; the one at 5 s finds it free.
    trace = from_arrays([0.0, 0.1, 5.0], [1000, 2000, 1000], [11, 21, 11])
    out = replay_hybrid(trace, FLAT, gpu(hourly_usd=36.0), tokens(), replicas=1, horizon_s=10.0)
    assert out.to_serverless.tolist() == [False, True, False]
    # serverless: 2000 × 0.10 + 21 × 0.70 per 1M = 0.0002 + 0.0000147 = 0.0002147
    assert out.serverless.total_usd == pytest.approx(0.0002147)
    # dedicated: one replica for the 10 s window at $36/h = $0.10
    assert out.dedicated is not None
    assert out.dedicated.total_cost_usd == pytest.approx(0.10)
    assert out.total_cost_usd == pytest.approx(0.1002147)
    assert out.overflow_share == pytest.approx(1 / 3)
    opt = out.option(id="hybrid:x", label="x")
    assert opt.kind == "hybrid" and opt.overflow_share == pytest.approx(1 / 3)
    assert opt.gpu_hours_billed == pytest.approx(10 / 3600)


def test_zero_replicas_is_all_serverless() -> None:
    trace = azure()
    out = replay_hybrid(trace, h100(), gpu(), tokens(), replicas=0)
    assert out.dedicated is None
    assert out.overflow_share == 1.0
    assert out.total_cost_usd == pytest.approx(serverless_bill(trace, tokens()).total_usd)
    assert any("counted as meeting" in n for n in out.notes)
    with pytest.raises(InputError, match="replicas"):
        replay_hybrid(trace, h100(), gpu(), tokens(), replicas=-1)


def test_best_overflow_split_on_the_azure_trace() -> None:
    trace = azure()
    price = gpu(hourly_usd=3.39)
    llama = tokens(input_usd_per_mtok=0.20, output_usd_per_mtok=0.20)
    search = best_hybrid(trace, h100(), price, llama)
    costs = {c.replicas: c.total_cost_usd for c in search.candidates}
    assert costs[0] == pytest.approx(serverless_bill(trace, llama).total_usd)
    # the chosen split is the cheapest of those meeting the target, and replaying it gives the same bill
    passing = [c for c in search.candidates if c.meets_slo]
    assert search.meets_slo
    assert search.best.replicas == min(passing, key=lambda c: c.total_cost_usd).replicas
    assert search.best.total_cost_usd == pytest.approx(costs[search.best.replicas], rel=1e-9)
    # the search stops once a split never overflows
    assert search.candidates[-1].serverless_share == 0.0 or len(search.candidates) == 65


def test_serverless_latency_enters_the_split() -> None:
    trace = azure()
    profile = bundled_profile("gpt-oss-120b_do-serverless_article")
    out = replay_hybrid(trace, h100(), gpu(), tokens(), replicas=0, serverless_profile=profile)
    assert out.latency.slo_attainment == pytest.approx(0.600, abs=0.003)  # the profile's P(TTFT ≤ 600 ms)
    assert out.latency.ttft_ms.p50 == pytest.approx(546.0, rel=0.01)


def test_routing_by_output_length() -> None:
    trace = azure()
    policy = AutoscalePolicy(min_replicas=0, max_replicas=4)
    search = route_by_output(trace, h100(), gpu(hourly_usd=3.39), tokens(), policy=policy, cold_start_s=61)
    by_theta = {c.threshold_output_tokens: c for c in search.candidates}
    top = int(trace.output_tokens.max())
    assert by_theta[-1].serverless_share == 0.0  # every request has more than -1 output tokens: all dedicated
    assert by_theta[top].serverless_share == 1.0  # none above the longest: all serverless
    assert by_theta[top].total_cost_usd == pytest.approx(serverless_bill(trace, tokens()).total_usd)
    best = search.best
    assert best.threshold_output_tokens is not None
    assert best.total_cost_usd == pytest.approx(by_theta[best.threshold_output_tokens].total_cost_usd)
    assert best.total_cost_usd == min(c.total_cost_usd for c in search.candidates if c.meets_slo)
    shorter = route_by_output(trace, h100(), gpu(), tokens(), policy=policy, long_to="serverless", thresholds=[30])
    assert shorter.best.overflow_share == pytest.approx(float((trace.output_tokens > 30).mean()))


# ------------------------------------------------------------------------------------------ break-even


def _seed_trace() -> RequestArrays:
    """Azure's arrival pattern with the seed article's 80-token prompts."""
    trace = azure()
    return RequestArrays(trace.arrival_s, np.full(len(trace), 80, dtype=np.int64), trace.output_tokens)


def test_one_replica_reproduces_the_seed_table() -> None:
    trace = _seed_trace()
    one = AutoscalePolicy(kind="fixed", min_replicas=1)
    fast = fit_replica_service(bundled_profile("gpt-oss-120b_1xMI300X_article")).service_for(80, 220)
    rows = trace_breakeven(trace, fast, gpu(), tokens(), policy=one, output_tokens=[30, 220, 1200], check_slo=False)
    # seed article: $1.88/h, $0.10 / $0.70 per 1M, 80 input tokens → about 18.0, 3.2 and 0.62 req/s
    got = [r.breakeven_rps for r in rows]
    assert got == pytest.approx([18.0, 3.22, 0.616], rel=0.01)
    for row, out in zip(rows, [30, 220, 1200], strict=True):
        closed = float(closed_form_breakeven_rps(1.88, 80, out, 0.10, 0.70))
        assert row.breakeven_rps == pytest.approx(closed, rel=2e-3)  # per-second billing rounds a second up
        assert row.method == "trace"
        assert row.output_tokens == out
        assert row.breakeven_rph == pytest.approx(row.breakeven_rps * 3600)
        assert row.serverless_cost_per_request_usd == pytest.approx((80 * 0.10 + out * 0.70) / 1e6)
        assert len(row.crossings_rps) == 1
        assert row.replicas == 1


def test_a_jump_in_the_bill_is_found_as_the_crossing() -> None:
    trace = _seed_trace()
    t = trace.last_arrival_s  # 3,435.9 s
    n = len(trace)
    # two replicas billed per started hour: D(k) = 2 h × price while the window T/k ≤ 1 h, 4 h just above.
    # Serverless in between (3 h of GPU): the bills cross exactly at the jump, T/k = 3600 s.
    hourly = 2.0
    price = gpu(hourly_usd=hourly, billing_increment_s=3600)
    serverless = serverless_bill(trace, tokens()).total_usd
    per_token = tokens(
        input_usd_per_mtok=0.10 * 3 * hourly / serverless, output_usd_per_mtok=0.70 * 3 * hourly / serverless
    )
    jump = t / 3600.0 * n / t  # k* = T / 3600 s, as a mean rate
    rows = trace_breakeven(
        trace,
        FLAT,
        price,
        per_token,
        policy=AutoscalePolicy(kind="fixed", min_replicas=2),
        rps_range=(jump / 1.6, jump * 3.0),
        check_slo=False,
    )
    row = rows[0]
    assert row.breakeven_rps == pytest.approx(jump, rel=2e-3)
    assert row.crossings_rps == pytest.approx([jump], rel=2e-3)
    curve = cost_curve_at_rates(
        trace,
        FLAT,
        price,
        per_token,
        [0.999 * jump * t / n, 1.001 * jump * t / n],
        policy=AutoscalePolicy(kind="fixed", min_replicas=2),
    )
    assert curve[0].dedicated_usd == pytest.approx(4 * hourly)
    assert curve[1].dedicated_usd == pytest.approx(2 * hourly)


def test_autoscaling_needs_more_than_one_replica_for_long_answers() -> None:
    trace = _seed_trace()
    fast = fit_replica_service(bundled_profile("gpt-oss-120b_1xMI300X_article")).service_for(80, 1200)
    auto = AutoscalePolicy(min_replicas=1, max_replicas=8)
    row = trace_breakeven(trace, fast, gpu(), tokens(), policy=auto, cold_start_s=61, output_tokens=[1200])[0]
    closed = float(closed_form_breakeven_rps(1.88, 80, 1200, 0.10, 0.70))
    assert row.breakeven_rps is not None and row.breakeven_rps > closed  # bursts need a second replica
    assert row.replicas is not None and row.replicas >= 2
    assert any("meets the SLO" in n for n in row.notes)


def test_no_crossing_and_bad_inputs() -> None:
    trace = _seed_trace()
    pricey = gpu(hourly_usd=1e6)
    row = trace_breakeven(
        trace,
        FLAT,
        pricey,
        tokens(),
        policy=AutoscalePolicy(kind="fixed", min_replicas=1),
        rps_range=(0.1, 10.0),
        check_slo=False,
    )[0]
    assert row.breakeven_rps is None and row.breakeven_rph is None
    assert any("not cheaper" in n for n in row.notes)
    empty = from_arrays(np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64))
    with pytest.raises(InputError, match="empty"):
        trace_breakeven(empty, FLAT, gpu(), tokens())


@settings(max_examples=15, deadline=None)
@given(low=st.floats(0.5, 5.0), factor=st.floats(1.0, 4.0), cold=st.floats(0.0, 120.0))
def test_a_higher_gpu_price_never_lowers_the_breakeven(low: float, factor: float, cold: float) -> None:
    rng = np.random.default_rng(3)
    arrivals = np.sort(rng.uniform(0, 3600, 400))
    trace = from_arrays(arrivals, rng.integers(50, 4000, 400), rng.integers(5, 600, 400))
    policy = AutoscalePolicy(min_replicas=0, max_replicas=4, idle_timeout_s=120)
    service = ReplicaService(8.0, 0.2, 60.0, 0.05, 1.0, slots=16)
    kw = {"policy": policy, "cold_start_s": cold, "rps_range": (0.001, 50.0), "check_slo": False, "points": 15}
    a = trace_breakeven(trace, service, gpu(hourly_usd=low), tokens(), **kw)[0].breakeven_rps  # type: ignore[arg-type]
    b = trace_breakeven(trace, service, gpu(hourly_usd=low * factor), tokens(), **kw)[0].breakeven_rps  # type: ignore[arg-type]
    if a is None:
        assert b is None
    elif b is not None:
        assert b >= a * (1 - 2e-3)
