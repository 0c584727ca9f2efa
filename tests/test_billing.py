"""Bills exact to the cent against hand-computed cases: a commitment over a month with idle hours, a spot
fleet with two preemptions, an owned server's month, a volume tier crossed mid-month — plus the rules
each model rests on (which instance a commitment covers, replacements, no rounding dust)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pytest

from breakeven.errors import InputError
from costmodel.billing import (
    Preemption,
    Usage,
    apply_preemptions,
    breakeven_utilization,
    capacity_gap_s,
    commitment_bill,
    expected_preemptions,
    owned_bill,
    replicas_per_server,
    uncovered,
    volume_bill,
    volume_factor,
)
from costmodel.replay import from_arrays
from costmodel.replay.autoscale import Instances
from costmodel.replay.billing import gpu_costs, lease
from costmodel.replay.serverless import serverless_bill
from pricing import bundled_catalog
from pricing.models import CommitmentTerm, GpuPrice, TokenPrice
from pricing.money import to_cents

MONTH_S = 730 * 3600
DAY = {"as_of": date(2026, 6, 1), "source": "hand-written test terms"}


def fleet(*leases: tuple[float, float]) -> Instances:
    start = np.array([a for a, _ in leases], dtype=np.float64)
    stop = np.array([b for _, b in leases], dtype=np.float64)
    return Instances(start_s=start, ready_s=start.copy(), stop_s=stop)


def spot_gpu() -> GpuPrice:
    return GpuPrice.model_validate(
        {"id": "t/h100", "provider": "t", "offering": "h100", "gpu": "H100", "gpu_count": 1, "hourly_usd": 2.95}
        | {"spot_hourly_usd": 1.25, "billing_increment_s": 1, "minimum_billed_s": 60}
        | DAY
    )


# ------------------------------------------------------------------------------------------ commitment


def test_a_commitment_over_a_month_with_idle_hours() -> None:
    # 2 H100 committed for 12 months at $1.91/h with $1,000 upfront each, over one 730-hour month. The two
    # run all month, busy or not (idle hours cost the same). Above them, three on-demand starts at $3.39/h,
    # per second with a 5-minute minimum: 20 h, 17.5 h and 100 s (billed 300 s).
    term = CommitmentTerm(term_months=12, hourly_usd=1.91, upfront_usd=1000.0, **DAY)
    instances = fleet((0, np.inf), (0, np.inf), (100_000, 172_000), (500_000, 563_000), (700_000, 700_100))
    bill = commitment_bill(
        instances,
        committed=2,
        term=term,
        on_demand_hourly_usd=3.39,
        billing_increment_s=1,
        minimum_billed_s=300,
        horizon_s=MONTH_S,
    )
    # recurring 2 × 730 h × $1.91 = $2,788.60
    assert bill.recurring_usd == Decimal("2788.60")
    # upfront: 2 × $1,000 spread over 12 months → $166.67 this month
    assert to_cents(bill.upfront_usd) == Decimal("166.67")
    # on demand: (72,000 + 63,000 + 300) s × $3.39 / 3600 = $127.4075
    assert bill.on_demand_billed_s == 135_300
    assert bill.on_demand_usd == Decimal("127.4075")
    # total $3,082.674166... → $3,082.67; the window is a month, so the monthly bill is the same
    assert to_cents(bill.total_usd) == Decimal("3082.67")
    assert to_cents(bill.monthly_usd) == Decimal("3082.67")
    # what the commitment obliges: 2 × ($1,000 + $1.91 × 12 × 730) = $35,463.20
    assert bill.obligation_usd == Decimal("35463.20")
    # a committed replica pays off when it would run ≥ (1.91 + 1000/8760) / 3.39 = 60.7 % of the hours
    assert breakeven_utilization(term, 3.39) == pytest.approx((1.91 + 1000 / 8760) / 3.39)


def test_the_commitment_covers_the_oldest_running_instances() -> None:
    # K = 1. X runs 0–1000 s, Y 500–2000 s: Y is on demand until X stops (500 s), then covered.
    od = uncovered(fleet((0, 1000), (500, 2000)), 1, 3000.0)
    assert od.start_s.tolist() == [500.0] and od.stop_s.tolist() == [1000.0]
    # K = 0: everything on demand, clipped to the window; K = 2: nothing
    assert uncovered(fleet((0, 1000), (500, 5000)), 0, 3000.0).raw_s.tolist() == [1000.0, 2500.0]
    assert uncovered(fleet((0, 1000), (500, 2000)), 2, 3000.0).raw_s.size == 0
    # three overlapping: with K = 1 the newest waits for two stops ahead of it to become covered
    od = uncovered(fleet((0, 100), (10, 300), (20, 500)), 1, 1000.0)
    assert od.start_s.tolist() == [10.0, 20.0] and od.stop_s.tolist() == [100.0, 300.0]


def test_an_idle_commitment_still_costs_every_hour() -> None:
    term = CommitmentTerm(term_months=36, hourly_usd=2.0, **DAY)
    bill = commitment_bill(
        fleet(),
        committed=3,
        term=term,
        on_demand_hourly_usd=3.0,
        billing_increment_s=1,
        minimum_billed_s=60,
        horizon_s=3600.0,
    )
    assert bill.total_usd == Decimal(6)  # 3 instances × 1 h × $2, nothing running
    assert bill.monthly_usd == Decimal(3 * 730 * 2)
    with pytest.raises(InputError, match="committed instances ≥ 0"):
        commitment_bill(
            fleet(),
            committed=-1,
            term=term,
            on_demand_hourly_usd=3.0,
            billing_increment_s=1,
            minimum_billed_s=60,
            horizon_s=3600.0,
        )


# ------------------------------------------------------------------------------------------------ spot


def test_a_spot_fleet_with_two_preemptions() -> None:
    # Two spot replicas for 10 hours at $1.25/h (per second, 60 s minimum); 60 s notice, 61 s cold start.
    # Replica 0 is preempted at 2 h, replica 1 at 5 h. Each replacement launches at the notice and runs to
    # the end: leases 7,200 + 18,000 + (36,000 − 7,140) + (36,000 − 17,940) = 72,120 s.
    price = spot_gpu()
    base = fleet((0, np.inf), (0, np.inf))
    after = apply_preemptions(base, [Preemption(1, 18_000.0), Preemption(0, 7_200.0)], cold_start_s=61.0, notice_s=60.0)
    assert after.start_s.tolist() == [0.0, 0.0, 7_140.0, 17_940.0]
    assert after.ready_s.tolist() == [0.0, 0.0, 7_201.0, 18_001.0]  # 1 s without that replica's capacity
    assert after.stop_s.tolist() == [7_200.0, 18_000.0, np.inf, np.inf]
    bill = gpu_costs(lease(after, 36_000.0), price, busy_s=0.0, tier="spot")
    # 72,120 s × $1.25 / 3600 = $25.041666... → $25.04 (without preemptions: 72,000 s → $25.00)
    assert to_cents(bill.total_usd) == Decimal("25.04")
    assert bill.total_usd == pytest.approx(72_120 * 1.25 / 3600)
    assert gpu_costs(lease(base, 36_000.0), price, busy_s=0.0, tier="spot").total_usd == pytest.approx(25.0)
    # the cold start of each replacement is billed, without capacity
    assert bill.hours.cold_start * 3600 == pytest.approx(2 * 61.0)
    assert capacity_gap_s(61.0, 60.0) == 1.0 and capacity_gap_s(61.0, 120.0) == 0.0


def test_a_replacement_can_be_preempted_too() -> None:
    after = apply_preemptions(
        fleet((0, 1000)), [Preemption(0, 100.0), Preemption(1, 400.0)], cold_start_s=30.0, notice_s=0.0
    )
    assert after.start_s.tolist() == [0.0, 100.0, 400.0]
    assert after.stop_s.tolist() == [100.0, 400.0, 1000.0]
    with pytest.raises(InputError, match="preemption of instance 0 at 2000 s"):
        apply_preemptions(fleet((0, 1000)), [Preemption(0, 2000.0)], cold_start_s=30.0, notice_s=0.0)
    assert expected_preemptions(730.0, 365.0) == 2.0


# ----------------------------------------------------------------------------------------------- owned


def test_an_owned_servers_month() -> None:
    # The bundled example DGX H100, one server for a 730-hour month, serving 292 h (40 %):
    #   depreciation $199,000 / 60 months         = $3,316.666...
    #   hosting (colocation)                       = $1,877.41
    #   other (support $39,800 / 12)               = $3,316.67
    #   energy 730 h × 8.5 kW × PUE 1.58 × $0.1199 = 9,803.9 kWh × $0.1199 = $1,175.48761
    #   total                                      = $9,686.234277 → $9,686.23
    server = bundled_catalog().owned("example/dgx-h100-colo")
    bill = owned_bill(server, servers=1, hours=730, busy_server_hours=292)
    assert to_cents(bill.depreciation_usd) == Decimal("3316.67")
    assert bill.energy_kwh == Decimal("9803.9")
    assert bill.energy_usd == Decimal("1175.48761")
    assert to_cents(bill.total_usd) == Decimal("9686.23")
    assert to_cents(bill.fixed_usd) == Decimal("8510.75")
    # with an idle draw of 2 kW: (292 × 8.5 + 438 × 2) kWh × 1.58 × $0.1199 = $636.146236 of energy
    idle = server.model_copy(update={"idle_power_w": 2000.0})
    assert owned_bill(idle, servers=1, hours=730, busy_server_hours=292).energy_usd == Decimal("636.146236")
    assert to_cents(owned_bill(idle, servers=1, hours=730, busy_server_hours=292).total_usd) == Decimal("9146.89")
    # the fixed part does not depend on use; two servers cost twice
    assert owned_bill(server, servers=2, hours=730, busy_server_hours=0).fixed_usd == 2 * bill.fixed_usd
    assert replicas_per_server(server, 1) == 8 and replicas_per_server(server, 2) == 4
    with pytest.raises(InputError, match="at least the 16 GPU"):
        replicas_per_server(server, 16)
    with pytest.raises(InputError, match="busy server-hours between 0 and 730"):
        owned_bill(server, servers=1, hours=730, busy_server_hours=800)


# ---------------------------------------------------------------------------------------------- volume


def tiered(**kw: object) -> TokenPrice:
    return TokenPrice.model_validate(
        {"id": "t/llama", "provider": "t", "model": "llama", "input_usd_per_mtok": 0.20, "output_usd_per_mtok": 0.60}
        | {"volume_tiers": [{"above_monthly_tokens": 10**9, "input_usd_per_mtok": 0.15, "output_usd_per_mtok": 0.45}]}
        | DAY
        | kw
    )


def test_a_volume_tier_crossed_mid_month() -> None:
    # 30 days of 30 M input + 15 M output tokens (45 M a day). After 22 days the month has 990 M tokens; on
    # day 23 the first 10 M stay at the base price and the other 35 M fall in the tier above 1,000 M.
    #   base: 1,000 M tokens, 2/3 input at $0.20 and 1/3 output at $0.60 → 1,000 × $0.3333... = $333.33...
    #   tier:   350 M tokens, 2/3 at $0.15 and 1/3 at $0.45             →   350 × $0.25       =  $87.50
    #   total $420.8333... → $420.83 (at base prices all month: 1,350 × $0.3333... = $450.00)
    days = [Usage(30_000_000, 15_000_000)] * 30
    bill = volume_bill(tiered(), days)
    assert [line.tier for line in bill.lines] == [0, 1]
    assert bill.lines[0].input_tokens + bill.lines[0].output_tokens == 1_000_000_000
    assert to_cents(bill.total_usd) == Decimal("420.83")
    assert to_cents(bill.at_base_usd) == Decimal("450.00")
    assert to_cents(bill.tier_savings_usd) == Decimal("29.17")
    # all-units: the month's 1,350 M tokens all at the tier → 1,350 × $0.25 = $337.50
    assert to_cents(volume_bill(tiered(volume_tier_mode="all_units"), days).total_usd) == Decimal("337.50")
    # a month that never reaches the tier pays the base price for every token
    assert to_cents(volume_bill(tiered(), days[:20]).total_usd) == Decimal("300.00")
    # the same month in one chunk gives the same bill (the mix is the same every day)
    assert volume_bill(tiered(), [Usage(900_000_000, 450_000_000)]).total_usd == bill.total_usd
    assert volume_factor(tiered(), 900_000_000, 450_000_000) == bill.total_usd / bill.at_base_usd


def test_committed_spend_bills_the_larger_of_the_commit_and_the_discounted_usage() -> None:
    spend = {"committed_spend": {"monthly_commit_usd": 500.0, "discount": 0.1, "term_months": 12} | DAY}
    days = [Usage(30_000_000, 15_000_000)] * 30
    # usage $420.8333 × 0.9 = $378.75 < $500 commit → $500.00
    assert volume_bill(tiered(**spend), days).total_usd == Decimal("500.000000000000")
    # twice the traffic: $420.83 + 1,350 M more at the tier ($337.50) = $758.33 × 0.9 = $682.50
    assert to_cents(volume_bill(tiered(**spend), days * 2).total_usd) == Decimal("682.50")


def test_a_token_bill_has_no_rounding_dust() -> None:
    # The Azure code trace has no long-context tier crossing: the surcharge is exactly 0, and the total is
    # exactly input + output (the float sums used to leave 1.1e-16 here).
    price = bundled_catalog().token("deepinfra/meta-llama/Meta-Llama-3.1-8B-Instruct")
    price = price.model_copy(update={"long_context_tiers": ()})
    trace = from_arrays([0.0, 1.0, 2.0], [1001, 2003, 3007], [11, 13, 17])
    bill = serverless_bill(trace, price)
    assert bill.long_context_extra_usd == 0.0
    assert Decimal(repr(bill.total_usd)) == Decimal(repr(bill.input_usd)) + Decimal(repr(bill.output_usd))
