"""Spot fleets with preemptions: where the preemption rate comes from, and what one preemption does to the
replay (lost requests retried or failed, the capacity gap while the replacement boots, its billed cold start)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from breakeven.errors import InputError
from costmodel.replay import from_arrays
from costmodel.results import AutoscalePolicy, Slo
from costmodel.service import ReplicaService
from costmodel.spot import ASSUMED_MTBP_HOURS, MTBP_RANGE_HOURS, estimate_spot, preemption_rate
from pricing import bundled_catalog
from pricing.models import GpuPrice
from pricing.money import seconds_cost

FLAT = ReplicaService(
    tpot_base_ms=10.0, tpot_per_seq_ms=0.0, ttft_base_ms=100.0, prefill_ms_per_token=0.0, ttft_per_seq_ms=0.0, slots=4
)
DAY = {"as_of": date(2026, 6, 1), "source": "hand-written test price"}


def spot_gpu(**kw: object) -> GpuPrice:
    return GpuPrice.model_validate(
        {"id": "t/h100", "provider": "t", "offering": "h100", "gpu": "H100", "gpu_count": 1, "hourly_usd": 2.95}
        | {"spot_hourly_usd": 1.25, "billing_increment_s": 1, "minimum_billed_s": 60}
        | DAY
        | kw
    )


def steady(rate: float, seconds: float, seed: int = 0):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1.0 / rate, int(rate * seconds)))
    return from_arrays(arrivals.tolist(), [200] * arrivals.size, [40] * arrivals.size)


def test_the_preemption_rate_comes_from_the_catalog_the_user_or_a_stated_assumption() -> None:
    nebius = bundled_catalog().gpu("nebius/gpu-h100-1x")
    assumed = preemption_rate(nebius)
    assert (assumed.mean_hours, assumed.source, assumed.notice_s) == (ASSUMED_MTBP_HOURS, "assumed", 60.0)
    assert "nebius publishes no preemption rate" in assumed.detail and "--spot-mtbp-hours" in assumed.detail
    assert MTBP_RANGE_HOURS[0] < ASSUMED_MTBP_HOURS < MTBP_RANGE_HOURS[1]
    given = preemption_rate(nebius, 48.0)
    assert (given.mean_hours, given.source) == (48.0, "given")
    known = spot_gpu(spot_preemption={"mean_hours_between_preemptions": 100.0, "notice_s": 120.0} | DAY)
    rate = preemption_rate(known)
    assert (rate.mean_hours, rate.source, rate.notice_s) == (100.0, "catalog", 120.0)
    with pytest.raises(InputError, match="--spot-mtbp-hours: expected hours > 0"):
        preemption_rate(nebius, 0.0)


def test_a_preemption_costs_the_replacements_overlap_and_loses_requests() -> None:
    # Two fixed replicas at 8 req/s (each request holds a slot 0.49 s: ~4 busy slots of 8). A preemption
    # with a 60 s notice and a 120 s cold start leaves 60 s with one replica (4 slots) at the same load.
    trace = steady(8.0, 1800.0)
    gpu = spot_gpu(spot_preemption={"notice_s": 60.0} | DAY)
    policy = AutoscalePolicy(kind="fixed", min_replicas=2, max_replicas=2)
    kw = {"policy": policy, "slo": Slo(), "cold_start_s": 120.0, "events": 6}
    est = estimate_spot(trace, FLAT, gpu, rate=preemption_rate(gpu, 10.0), rng=np.random.default_rng(1), **kw)
    # the replacement overlaps the preempted replica for the 60 s notice: 60 s × $1.25/h extra each time
    # (61 s when splitting a lease in two rounds one more partial second up)
    assert all(e.extra_usd in (seconds_cost(60, 1.25), seconds_cost(61, 1.25)) for e in est.effects)
    assert est.lost_per_preemption > 0
    assert est.misses_per_preemption >= 0
    # 2 replicas × 730 h a month ÷ 10 h between preemptions = 146 expected preemptions
    assert est.replica_hours_per_month == pytest.approx(2 * 730.0)
    assert est.expected_per_month == pytest.approx(146.0)
    assert float(est.monthly_usd()) == pytest.approx(
        est.replay.monthly_cost_usd + 146 * float(est.usd_per_preemption), rel=1e-9
    )
    # rarer preemptions cost less and miss less
    assert est.monthly_usd(1000.0) < est.monthly_usd()
    assert est.slo_attainment(1000.0) >= est.slo_attainment()
    # the same seed injects the same preemptions; failing the lost requests instead of retrying them
    failed = estimate_spot(
        trace, FLAT, gpu, rate=preemption_rate(gpu, 10.0), lost_policy="fail", rng=np.random.default_rng(1), **kw
    )
    assert [(e.at_s, e.lost) for e in failed.effects] == [(e.at_s, e.lost) for e in est.effects]
    assert failed.misses_per_preemption > 0


def test_no_notice_and_a_single_replica_leaves_the_traffic_waiting() -> None:
    trace = steady(2.0, 1200.0, seed=3)
    gpu = spot_gpu()
    policy = AutoscalePolicy(kind="fixed", min_replicas=1, max_replicas=1)
    est = estimate_spot(
        trace,
        FLAT,
        gpu,
        policy=policy,
        slo=Slo(),
        cold_start_s=60.0,
        rate=preemption_rate(gpu, 24.0),
        rng=np.random.default_rng(2),
        events=4,
    )
    # a minute without any replica: every request of that minute waits past the 600 ms TTFT target
    assert est.misses_per_preemption > 60
    assert est.slo_attainment() < est.replay.latency.slo_attainment
    with pytest.raises(InputError, match="no spot price"):
        estimate_spot(
            trace,
            FLAT,
            spot_gpu(spot_hourly_usd=None),
            policy=policy,
            slo=Slo(),
            cold_start_s=60.0,
            rate=preemption_rate(gpu, 24.0),
            rng=np.random.default_rng(2),
        )
