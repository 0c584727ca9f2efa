"""The verdict rule: cheapest eligible option wins, ties go to the simpler option, risks are listed."""

from __future__ import annotations

from datetime import date

from costmodel.recommend import breakeven_at_mix, choose, money, recommend
from costmodel.results import BreakevenRow, Distribution, Latency, Option, PriceUsed
from pricing.models import TokenPrice


def _option(oid: str, kind: str, monthly: float, meets: bool | None = True, attainment: float | None = 0.99) -> Option:
    latency = None
    if attainment is not None:
        dist = Distribution(mean=100.0, p50=90.0, p90=200.0, p99=400.0)
        latency = Latency(
            ttft_ms=dist,
            tpot_ms=dist,
            slo_attainment=attainment,
            ttft_attainment=attainment,
            tpot_attainment=1.0,
            source="replay",
        )
    return Option(
        id=oid,
        kind=kind,  # type: ignore[arg-type]
        label=oid,
        serverless_price_id="do/x" if kind == "serverless" else None,
        total_cost_usd=monthly / 730,
        monthly_cost_usd=monthly,
        cost_per_request_usd=0.001,
        latency=latency,
        slo_attainment=attainment,
        meets_slo=meets,
    )


def test_cheapest_eligible_wins_and_failing_slo_is_excluded() -> None:
    options = [
        _option("serverless", "serverless", 900.0, meets=None, attainment=None),
        _option("dedicated", "dedicated", 500.0, meets=False, attainment=0.5),
        _option("hybrid", "hybrid", 700.0),
    ]
    best, runner_up = choose(options)
    assert best is not None and best.id == "hybrid"
    assert runner_up is not None and runner_up.id == "serverless"


def test_tie_within_one_percent_goes_to_simpler_option() -> None:
    best, _ = choose([_option("hybrid", "hybrid", 1000.0), _option("serverless", "serverless", 1009.0)])
    assert best is not None and best.id == "serverless"


def test_breakeven_line_prefers_trace_then_capacity_then_closed_form() -> None:
    rows = [
        BreakevenRow(
            input_tokens=80,
            output_tokens=out,
            method=method,  # type: ignore[arg-type]
            breakeven_rps=r,
            breakeven_rph=r * 3600,
            serverless_cost_per_request_usd=0.0001,
        )
        for method, out, r in [("closed_form", 220, 3.2), ("capacity", 220, 3.5), ("closed_form", 30, 18.0)]
    ]
    line = breakeven_at_mix(rows, 200.0)
    assert line is not None and line.method == "capacity"


def test_recommend_headline_numbers_and_risks() -> None:
    stale = PriceUsed(
        price=TokenPrice(
            id="do/x",
            provider="do",
            model="x",
            input_usd_per_mtok=0.2,
            output_usd_per_mtok=0.2,
            as_of=date(2025, 1, 1),
            source="test",
        ),
        origin="bundled",
        age_days=400,
        stale=True,
    )
    options = [
        _option("serverless", "serverless", 120.0, meets=None, attainment=None),
        _option("ded", "dedicated", 2474.7),
    ]
    rec = recommend(options, [], prices=[stale], user_rps=0.5, output_tokens_mean=28, trace_hours=1.0)
    assert rec.option_id == "serverless"
    assert rec.monthly_saving_usd == 2474.7 - 120.0
    assert money(120.0) in rec.headline and money(2474.7) in rec.headline
    codes = {r.code for r in rec.risks}
    assert {"stale-price", "serverless-latency-unknown", "short-trace"} <= codes


def test_nothing_eligible_says_so() -> None:
    rec = recommend(
        [_option("ded", "dedicated", 100.0, meets=False, attainment=0.2)],
        [],
        prices=[],
        user_rps=1.0,
        output_tokens_mean=100,
        trace_hours=100,
    )
    assert rec.kind == "none" and rec.option_id is None
    assert "No option meets" in rec.headline


def test_a_tie_is_worded_as_a_tie() -> None:
    rec = recommend(
        [_option("ded", "dedicated", 1372.0), _option("hyb", "hybrid", 1372.4)],
        [],
        prices=[],
        user_rps=2.5,
        output_tokens_mean=220,
        trace_hours=100,
    )
    assert rec.option_id == "ded"
    assert "about the same as hyb" in rec.headline and "less than" not in rec.headline
