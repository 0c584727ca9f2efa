"""The dedicated replay: bills hand-computed to the cent (increments, minimums, cold starts, scale-to-zero),
the autoscaler's decisions, what-ifs, and properties of the bill."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from breakeven.errors import InputError
from costmodel.profiles import bundled_profile
from costmodel.replay import (
    billed_seconds,
    cold_start_from_phases,
    fleet,
    from_arrays,
    plan_fleet,
    price_tiers,
    replay_dedicated,
    storage_whatif,
)
from costmodel.replay.autoscale import Autoscaler
from costmodel.replay.dedicated import FleetRuns
from costmodel.results import AutoscalePolicy, Slo
from costmodel.service import ReplicaService
from pricing.models import GpuPrice

# A replica whose service time does not depend on the batch: TTFT 100 ms, then 10 ms per further token.
FLAT = ReplicaService(
    tpot_base_ms=10.0, tpot_per_seq_ms=0.0, ttft_base_ms=100.0, prefill_ms_per_token=0.0, ttft_per_seq_ms=0.0, slots=4
)


def gpu(**kw: object) -> GpuPrice:
    base: dict[str, object] = {
        "id": "test/gpu-h100-1x",
        "provider": "test",
        "offering": "h100",
        "gpu": "H100",
        "gpu_count": 1,
        "hourly_usd": 3.39,
        "billing_increment_s": 1,
        "minimum_billed_s": 300,
        "as_of": date(2026, 5, 28),
        "source": "hand-written test price",
    }
    base.update(kw)
    return GpuPrice.model_validate(base)


def fixed(n: int) -> AutoscalePolicy:
    return AutoscalePolicy(kind="fixed", min_replicas=n, max_replicas=max(n, 1))


def test_billed_seconds_follow_increment_and_minimum() -> None:
    raw = [0.0, 42.0, 300.0, 300.5, 3601.0]
    # per second, 5-minute minimum: 42 s → 300; 300.5 → 301 (next second); 3601 stays
    assert list(billed_seconds(raw, increment_s=1, minimum_s=300)) == [0, 300, 300, 301, 3601]
    # per started hour, no minimum
    assert list(billed_seconds(raw, increment_s=3600, minimum_s=0)) == [0, 3600, 3600, 3600, 7200]
    # per minute, 1-minute minimum
    assert list(billed_seconds(raw, increment_s=60, minimum_s=60)) == [0, 60, 300, 360, 3660]
    with pytest.raises(InputError):
        billed_seconds(raw, increment_s=0, minimum_s=0)


def test_fixed_fleet_bill() -> None:
    trace = from_arrays([0.0, 1.0, 2.0], [100, 100, 100], [11, 11, 11])
    out = replay_dedicated(trace, FLAT, gpu(), policy=fixed(2), horizon_s=3600.0)
    # 2 replicas × 3600 s × $3.39/h = $6.78
    assert out.total_cost_usd == pytest.approx(6.78)
    assert out.costs.hours.total == pytest.approx(2.0)
    assert out.costs.hours.cold_start == 0.0
    # busy: each request holds a replica 0.1 + 10 × 0.01 = 0.2 s, on separate replicas → 0.6 s in all
    assert out.costs.hours.busy * 3600 == pytest.approx(0.6, abs=1e-9)
    assert out.replicas.fixed == 2 and out.replicas.peak == 2 and out.replicas.cold_starts == 0
    assert out.latency.ttft_ms.p50 == pytest.approx(100.0)
    assert out.latency.tpot_ms.p50 == pytest.approx(10.0)
    assert out.latency.slo_attainment == 1.0
    # monthly: $6.78 per hour-long window × 730
    assert out.monthly_cost_usd == pytest.approx(6.78 * 730)


def test_hourly_increment_rounds_each_lease_up() -> None:
    trace = from_arrays([0.0, 5400.0], [100, 100], [11, 11])
    out = replay_dedicated(trace, FLAT, gpu(billing_increment_s=3600, minimum_billed_s=0), policy=fixed(1))
    # one replica for the 5,400 s window, billed per started hour: 2 h × $3.39 = $6.78
    assert out.total_cost_usd == pytest.approx(6.78)
    # busy: the first request's 0.2 s; the second starts at the window's end (its service falls outside)
    assert out.costs.hours.idle == pytest.approx(2.0 - 0.2 / 3600)


def test_scale_from_zero_pays_the_cold_start_and_the_minimum() -> None:
    policy = AutoscalePolicy(
        min_replicas=0, max_replicas=2, decision_interval_s=10, scale_up_cooldown_s=0, idle_timeout_s=60
    )
    trace = from_arrays([5.0], [100], [11])
    out = replay_dedicated(trace, FLAT, gpu(), policy=policy, cold_start_s=30.0, horizon_s=600.0, initial_replicas=0)
    # t=10: the interval [0, 10) saw the request → start one replica, ready at 40 s; the request waits 35 s.
    # t=20..: no traffic; the replica may stop once ready for the 60 s idle timeout (t ≥ 100) and the idle
    # window (decisions 50..100) asks for 0 → stop at 100.
    # Lease 10 → 100 s = 90 s, below the 5-minute minimum → 300 s × $3.39/h = $0.2825
    assert list(out.instances.start_s) == [10.0]
    assert list(out.instances.stop_s) == [100.0]
    assert out.total_cost_usd == pytest.approx(0.2825)
    assert round(out.total_cost_usd, 2) == 0.28
    assert out.costs.hours.cold_start * 3600 == pytest.approx(30.0)
    assert out.costs.hours.busy * 3600 == pytest.approx(0.2)
    assert out.costs.hours.idle * 3600 == pytest.approx(300 - 30 - 0.2)
    assert out.per_request.wait_s[0] == pytest.approx(35.0)
    assert out.latency.ttft_ms.p50 == pytest.approx(35_100.0)
    assert out.latency.slo_attainment == 0.0
    assert out.replicas.cold_starts == 1
    assert out.timeline.cold_start_times_s == [10.0]
    # the same with a 60 s minimum: the 90 s lease is billed as it is → $0.08475
    cheap = replay_dedicated(
        trace, FLAT, gpu(minimum_billed_s=60), policy=policy, cold_start_s=30.0, horizon_s=600.0, initial_replicas=0
    )
    assert cheap.total_cost_usd == pytest.approx(0.08475)


def test_capacity_started_after_the_window_is_not_billed() -> None:
    policy = AutoscalePolicy(min_replicas=0, max_replicas=1, decision_interval_s=10, idle_timeout_s=60)
    trace = from_arrays([0.0, 95.0], [100, 100], [11, 11])
    out = replay_dedicated(trace, FLAT, gpu(), policy=policy, cold_start_s=20.0, initial_replicas=0)
    # t=10 starts replica A (ready 30) for the request at 0; A idles from 30.2 s and stops at t=90 (ready for
    # the 60 s idle timeout; lease 80 s → 300 s minimum). The request at 95 s (the window's end) triggers a
    # start at t=100, ready at 120, after the window: it is served (25 s wait), but not billed here.
    assert list(out.instances.start_s) == [10.0, 100.0]
    assert out.lease.start_s.tolist() == [10.0]
    assert out.total_cost_usd == pytest.approx(300 * 3.39 / 3600)
    assert np.isfinite(out.start_s).all()
    assert out.per_request.wait_s[1] == pytest.approx(120.0 - 95.0)


def test_decisions_cooldown_idle_window_and_newest_first_stops() -> None:
    policy = AutoscalePolicy(
        min_replicas=1, max_replicas=5, scale_up_cooldown_s=15, decision_interval_s=10, idle_timeout_s=5
    )
    scaler = Autoscaler(policy, cold_start_s=5.0, initial=1)
    assert scaler.decide(10.0, desired=3, recent_max=3) == ([1, 2], [])
    assert scaler.decide(20.0, desired=5, recent_max=5) == ([], [])  # 10 s since the last scale-up < 15 s
    assert scaler.decide(30.0, desired=9, recent_max=9) == ([3, 4], [])  # capped at max_replicas = 5
    # down to 2 at t=36: 3 and 4 became ready at 35 and have not been idle 5 s yet, so the three older ones
    # go (newest first among those that may stop)
    assert scaler.decide(36.0, desired=0, recent_max=2) == ([], [2, 1, 0])
    assert scaler.decide(50.0, desired=0, recent_max=0) == ([], [4])  # newest first; not below min_replicas
    table = scaler.instances()
    assert table.start_s.tolist() == [0.0, 10.0, 10.0, 30.0, 30.0]
    assert table.ready_s.tolist() == [0.0, 15.0, 15.0, 35.0, 35.0]
    assert table.stop_s.tolist() == [36.0, 36.0, 36.0, np.inf, 50.0]


def test_utilization_plan_on_a_hand_made_burst() -> None:
    # 30 requests of 1 s (at any batch) in the first 10 s: 3 busy slots; 4 slots × 50 % target → 2 replicas
    service = ReplicaService(0.0, 0.0, 1000.0, 0.0, 0.0, slots=4)
    arrivals = np.linspace(0.0, 9.9, 30)
    work = service.service_s(np.zeros(30), np.ones(30), 4)
    policy = AutoscalePolicy(
        min_replicas=0, max_replicas=4, target_utilization=0.5, decision_interval_s=10, idle_timeout_s=20
    )
    instances, decisions = plan_fleet(arrivals, work, policy, slots=4, cold_start_s=0.0, horizon_s=45.0)
    # starts warm with 2 (first interval); t=10 still asks 2; t=20 asks 0 but t=10 is in the 20 s window;
    # t=30: decisions 20 and 30 ask 0 → both stop at 30; t=40 nothing left
    assert decisions == 4
    assert instances.start_s.tolist() == [0.0, 0.0]
    assert instances.stop_s.tolist() == [30.0, 30.0]


def test_cold_start_recomposed_from_the_seed_phases() -> None:
    cold = bundled_profile("gpt-oss-120b_1xMI300X_article").cold_start
    assert cold is not None
    # measured 61 s, of which 24 s loading 63.33 GiB of weights: 37 s is not weights.
    # NFS default 420 MB/s: 63.33 × 2^30 / 420e6 = 161.91 s → 198.91 s; tuned 880 MB/s: 77.27 s → 114.27 s
    assert cold_start_from_phases(cold, storage_mb_s=420) == pytest.approx(37 + 63.33 * 2**30 / 420e6)
    assert cold_start_from_phases(cold, storage_mb_s=420) == pytest.approx(198.91, abs=0.01)
    assert cold_start_from_phases(cold, storage_mb_s=880) == pytest.approx(114.27, abs=0.01)
    # a 70B model (140 GB ≈ 130.4 GiB) from untuned NFS: 333 s of reading
    assert cold_start_from_phases(cold, storage_mb_s=420, weights_gib=140e9 / 2**30) == pytest.approx(
        37 + 333.33, abs=0.01
    )
    with pytest.raises(InputError, match="weights"):
        cold_start_from_phases(cold, storage_mb_s=0)


def test_storage_and_price_tier_whatifs() -> None:
    cold = bundled_profile("gpt-oss-120b_1xMI300X_article").cold_start
    assert cold is not None
    trace = from_arrays(np.arange(0.0, 3600.0, 600.0), [100] * 6, [11] * 6)
    policy = AutoscalePolicy(min_replicas=0, max_replicas=2, idle_timeout_s=60)
    cases = storage_whatif(trace, FLAT, gpu(), cold, policy=policy)
    assert [c.storage_mb_s for c in cases] == [420.0, 880.0]
    slow, fast = cases
    # every request scales from zero, so a faster load means shorter waits and fewer cold-start hours
    assert fast.replay.costs.hours.cold_start < slow.replay.costs.hours.cold_start
    assert fast.replay.latency.ttft_ms.p50 < slow.replay.latency.ttft_ms.p50
    price = gpu(reserved_hourly_usd=2.0, spot_hourly_usd=1.0)
    base = replay_dedicated(trace, FLAT, price, policy=fixed(1))
    tiers = price_tiers(base, price)
    assert set(tiers) == {"on_demand", "reserved", "spot"}
    # 1 replica × 3,000 s
    assert tiers["on_demand"].total_usd == pytest.approx(3000 * 3.39 / 3600)
    assert tiers["reserved"].total_usd == pytest.approx(3000 * 2.0 / 3600)
    assert tiers["spot"].total_usd == pytest.approx(3000 * 1.0 / 3600)
    with pytest.raises(InputError, match="spot"):
        replay_dedicated(trace, FLAT, gpu(), policy=fixed(1), tier="spot")


def test_bad_arguments() -> None:
    trace = from_arrays([0.0, 10.0], [1, 1], [1, 1])
    with pytest.raises(InputError, match="horizon_s"):
        replay_dedicated(trace, FLAT, gpu(), horizon_s=5.0)
    with pytest.raises(InputError, match="slots"):
        replay_dedicated(trace, FLAT, gpu(), slots=0)
    with pytest.raises(InputError, match="min_replicas"):
        replay_dedicated(trace, FLAT, gpu(), policy=AutoscalePolicy(min_replicas=5, max_replicas=2))
    with pytest.raises(InputError, match="cold start"):
        replay_dedicated(trace, FLAT, gpu(), cold_start_s=-1.0)


def test_unreachable_slo_replays_one_request_per_replica_with_a_note() -> None:
    none = ReplicaService(10.0, 0.0, 100.0, 0.0, 0.0, slots=0)
    out = replay_dedicated(from_arrays([0.0, 1.0], [1, 1], [2, 2]), none, gpu(), policy=fixed(1))
    assert out.slots == 1
    assert any("0 slots" in n for n in out.notes)


def test_a_queue_trigger_that_does_not_settle_is_noted(monkeypatch: pytest.MonkeyPatch) -> None:
    """No re-solve allowed: the chunk's decisions cannot agree with its queue, and the replay says so."""
    monkeypatch.setattr(fleet, "_POLICY_ROUNDS", 0)
    trace = from_arrays(np.arange(40) * 0.5, np.full(40, 100), np.full(40, 50))
    policy = AutoscalePolicy(kind="queue", min_replicas=1, max_replicas=4, decision_interval_s=5.0)
    out = replay_dedicated(trace, FLAT, gpu(), policy=policy)
    assert any("did not settle" in n for n in out.notes)


# ------------------------------------------------------------------------------------------- properties

policies = st.builds(
    AutoscalePolicy,
    kind=st.sampled_from(["fixed", "utilization", "queue"]),
    min_replicas=st.integers(0, 2),
    max_replicas=st.integers(2, 4),
    target_utilization=st.floats(0.2, 1.0),
    queue_threshold=st.floats(0, 8),
    scale_up_cooldown_s=st.floats(0, 60),
    idle_timeout_s=st.floats(0, 300),
    decision_interval_s=st.floats(1, 30),
)
prices = st.builds(
    gpu,
    hourly_usd=st.floats(0.0, 50.0),
    billing_increment_s=st.sampled_from([1, 60, 3600]),
    minimum_billed_s=st.sampled_from([0, 60, 300]),
)


@settings(max_examples=40, deadline=None)
@given(
    policy=policies.filter(lambda p: p.kind != "fixed"),
    price=prices,
    horizon=st.floats(0.0, 7200.0),
    cold=st.floats(0.0, 120.0),
)
def test_an_empty_trace_under_scale_to_zero_bills_nothing(
    policy: AutoscalePolicy, price: GpuPrice, horizon: float, cold: float
) -> None:
    policy = policy.model_copy(update={"min_replicas": 0})
    empty = from_arrays(np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64))
    out = replay_dedicated(empty, FLAT, price, policy=policy, cold_start_s=cold, horizon_s=horizon)
    assert out.total_cost_usd == 0.0
    assert out.costs.hours.total == 0.0
    assert len(out.instances) == 0


@settings(max_examples=40, deadline=None)
@given(
    policy=policies,
    price=prices,
    arrivals=st.lists(st.floats(0, 600, allow_nan=False), max_size=60),
    outputs=st.integers(1, 400),
    cold=st.floats(0.0, 90.0),
)
def test_costs_and_hours_are_never_negative(
    policy: AutoscalePolicy, price: GpuPrice, arrivals: list[float], outputs: int, cold: float
) -> None:
    a = np.sort(np.array(arrivals, dtype=float))
    service = ReplicaService(8.0, 0.5, 50.0, 0.05, 1.0, slots=3)
    trace = from_arrays(a, np.full(a.size, 500), np.full(a.size, outputs))
    out = replay_dedicated(trace, service, price, policy=policy, cold_start_s=cold, slo=Slo())
    h = out.costs.hours
    assert min(h.busy, h.idle, h.cold_start, h.total, out.total_cost_usd) >= 0.0
    assert h.total == pytest.approx(h.busy + h.idle + h.cold_start)
    assert out.total_cost_usd == pytest.approx(h.total * price.hourly_usd)
    assert 0.0 <= out.latency.slo_attainment <= 1.0
    assert (out.per_request.wait_s >= -1e-9).all()


def test_fleet_runs_share_a_pool_only_between_the_same_fleet_and_requests() -> None:
    """Two prices of one fleet on the same requests (rebuilt from the same values) simulate once and bill
    alike to the cent; other requests, another policy or another cold start simulate again."""
    rng = np.random.default_rng(3)
    arrivals = np.cumsum(rng.exponential(0.05, 400))
    n_in, n_out = rng.integers(50, 500, 400), rng.integers(20, 300, 400)
    runs = FleetRuns()
    policy = AutoscalePolicy(kind="utilization", min_replicas=1, max_replicas=4)
    alone = replay_dedicated(from_arrays(arrivals, n_in, n_out), FLAT, gpu(hourly_usd=2.0), policy=policy)
    first = replay_dedicated(from_arrays(arrivals, n_in, n_out), FLAT, gpu(), policy=policy, runs=runs)
    again = replay_dedicated(from_arrays(arrivals, n_in, n_out), FLAT, gpu(hourly_usd=2.0), policy=policy, runs=runs)
    assert runs.hits == 1
    assert again.costs.total_usd == alone.costs.total_usd
    assert again.costs.total_usd == pytest.approx(first.costs.total_usd * 2.0 / 3.39)
    assert again.latency == alone.latency
    later = arrivals.copy()
    later[-1] += 1.0
    replay_dedicated(from_arrays(later, n_in, n_out), FLAT, gpu(), policy=policy, runs=runs)
    replay_dedicated(from_arrays(arrivals, n_in, n_out), FLAT, gpu(), policy=fixed(2), runs=runs)
    replay_dedicated(from_arrays(arrivals, n_in, n_out), FLAT, gpu(), policy=policy, cold_start_s=30.0, runs=runs)
    assert runs.hits == 1
