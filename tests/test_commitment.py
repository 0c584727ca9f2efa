"""The commitment planner: its choice against brute force on small cases, the duration curve and the
break-even utilization it rests on, and the bill of the mix it picks."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pytest

from breakeven.errors import InputError
from costmodel.commitment import Base, best_of, brute_force, plan_commitment
from costmodel.replay import from_arrays
from costmodel.results import AutoscalePolicy
from costmodel.service import ReplicaService
from pricing import bundled_catalog
from pricing.models import CommitmentTerm, GpuPrice, TokenPrice

# A replica whose service time does not depend on the batch: TTFT 100 ms, then 10 ms per further token.
FLAT = ReplicaService(
    tpot_base_ms=10.0, tpot_per_seq_ms=0.0, ttft_base_ms=100.0, prefill_ms_per_token=0.0, ttft_per_seq_ms=0.0, slots=4
)
DAY = {"as_of": date(2026, 6, 1), "source": "hand-written test price"}
TERM = CommitmentTerm(term_months=12, hourly_usd=1.91, **DAY)


def gpu() -> GpuPrice:
    return GpuPrice.model_validate(
        {"id": "t/h100", "provider": "t", "offering": "h100", "gpu": "H100", "gpu_count": 1, "hourly_usd": 3.39}
        | {"billing_increment_s": 1, "minimum_billed_s": 300, "commitments": [TERM.model_dump()]}
        | DAY
    )


def token(scale: float = 1.0) -> TokenPrice:
    return TokenPrice.model_validate(
        {"id": "t/llama", "provider": "t", "model": "llama"}
        | {"input_usd_per_mtok": 20.0 * scale, "output_usd_per_mtok": 60.0 * scale}
        | DAY
    )


def shaped_trace(seed: int, hours: float, peak_rps: float, base_rps: float):  # type: ignore[no-untyped-def]
    """A day-shaped Poisson trace: the rate swings between base and peak once over the window."""
    rng = np.random.default_rng(seed)
    horizon = hours * 3600.0
    t, out = 0.0, []
    while t < horizon:
        t += rng.exponential(1.0 / peak_rps)
        rate = base_rps + (peak_rps - base_rps) * 0.5 * (1 - np.cos(2 * np.pi * t / horizon))
        if t < horizon and rng.random() < rate / peak_rps:
            out.append(t)
    n = len(out)
    inputs = rng.integers(100, 400, n)
    outputs = rng.integers(20, 60, n)
    return from_arrays(out, inputs.tolist(), outputs.tolist())


POLICY = AutoscalePolicy(min_replicas=0, max_replicas=6, decision_interval_s=10, idle_timeout_s=120)

CASES = [
    # (seed, hours, peak req/s, base req/s, serverless price scale) -- small cases: brute force replays 21 mixes
    (1, 0.1, 20.0, 2.0, 1.0),
    (5, 0.15, 18.0, 2.0, 0.05),  # cheap serverless: commit 2, overflow the rest
    (6, 0.1, 20.0, 0.1, 1.0),
    (7, 0.1, 20.0, 0.1, 0.1),
    (8, 0.12, 12.0, 3.0, 0.3),
    (9, 0.1, 16.0, 4.0, 0.6),
]


@pytest.mark.parametrize(("seed", "hours", "peak", "base", "scale"), CASES)
def test_the_planner_finds_what_brute_force_finds(seed: int, hours: float, peak: float, base: float, scale: float):
    trace = shaped_trace(seed, hours, peak, base)
    kw = {"token": token(scale), "policy": POLICY, "cold_start_s": 30.0, "max_replicas": 6}
    every = brute_force(trace, FLAT, gpu(), Base.committed(TERM), **kw)
    plan = plan_commitment(trace, FLAT, gpu(), Base.committed(TERM), **kw)
    truth = best_of(every)
    assert plan.best.key == truth.key
    assert plan.best.total_usd == truth.total_usd
    # the planner replayed fewer mixes than brute force (and every mix it replayed matches brute force's)
    assert len(plan.evaluated) < len(every)
    by_key = {m.key: m for m in every}
    for mix in plan.evaluated:
        assert mix.total_usd == by_key[mix.key].total_usd


def test_an_owned_base_is_planned_in_whole_servers() -> None:
    server = bundled_catalog().owned("example/dgx-h100-colo").model_copy(update={"gpu_count": 2})
    trace = shaped_trace(7, 0.1, 20.0, 4.0)
    kw = {"token": token(1.0), "policy": POLICY, "cold_start_s": 30.0, "max_replicas": 6}
    every = brute_force(trace, FLAT, gpu(), Base.owned(server, 2), **kw)
    assert {m.replicas for m in every} == {0, 2, 4, 6}
    plan = plan_commitment(trace, FLAT, gpu(), Base.owned(server, 2), **kw)
    assert plan.best.key == best_of(every).key
    with pytest.raises(InputError, match="whole number of base units"):
        plan_commitment(trace, FLAT, gpu(), Base.owned(server, 2), fixed_replicas=3, **kw)


def test_break_even_utilization_and_the_duration_curve() -> None:
    trace = shaped_trace(11, 0.2, 12.0, 2.0)
    plan = plan_commitment(trace, FLAT, gpu(), Base.committed(TERM), policy=POLICY, cold_start_s=30.0, max_replicas=6)
    est = plan.estimate
    assert est.breakeven_utilization == pytest.approx(1.91 / 3.39)
    assert est.hours_share == sorted(est.hours_share, reverse=True)  # at least k running: falls with k
    # on demand only: the estimate's best K commits every replica that runs more than the break-even share
    committed = sum(1 for share in est.hours_share if share >= est.breakeven_utilization)
    od = est.monthly_usd["on_demand"]
    assert est.replicas[min(range(len(od)), key=lambda i: (od[i], i))] == committed
    assert plan.modes == ("on_demand",)
    assert plan.best.mode == "on_demand"
    # a commitment costs every hour: K committed × the window's hours × $1.91 is in every mix's bill
    for mix in plan.evaluated:
        hours = Decimal(repr(mix.window_s)) / 3600
        assert mix.base_usd == mix.replicas * hours * Decimal("1.91")


def test_a_fixed_commitment_is_planned_as_given() -> None:
    trace = shaped_trace(12, 0.1, 10.0, 5.0)
    plan = plan_commitment(
        trace, FLAT, gpu(), Base.committed(TERM), token=token(), policy=POLICY, cold_start_s=30.0, fixed_replicas=3
    )
    assert plan.best.replicas == 3
    assert {m.mode for m in plan.evaluated if m.replicas == 3} == {"on_demand", "serverless", "on_demand+serverless"}
    with pytest.raises(InputError, match="positive growth factor"):
        plan_commitment(trace, FLAT, gpu(), Base.committed(TERM), growth=0.0)


def test_growth_plans_for_more_traffic() -> None:
    trace = shaped_trace(13, 0.2, 8.0, 4.0)
    kw = {"policy": POLICY, "cold_start_s": 30.0, "max_replicas": 12}
    now = plan_commitment(trace, FLAT, gpu(), Base.committed(TERM), **kw)
    later = plan_commitment(trace, FLAT, gpu(), Base.committed(TERM), growth=3.0, **kw)
    assert later.best.replicas > now.best.replicas
    assert later.growth == 3.0
