"""The report's finance rows: annual cost and unit economics of every option, how committed, owned and spot
capacity was billed, and what a catalog entry says about its commitments, spot terms or ownership costs.

Money follows the one display rule (cents, :func:`pricing.money.format_usd`); unit costs that are often
below a cent are shown with three significant figures next to the unit they are stated in.
"""

from __future__ import annotations

from collections.abc import Callable

from costmodel.results import Option
from pricing.models import GpuPrice, OwnedServer
from reports.blocks import Cell
from reports.fmt import MISSING, Kind, fmt

PRICING_WORDS = {
    "per_token": "per token",
    "on_demand": "on demand",
    "committed": "committed (every hour of the term)",
    "spot": "spot (preemptible)",
    "owned": "owned servers",
}


def _get(options: list[Option], label: str, get: Callable[[Option], object], kind: Kind) -> list[Cell]:
    return [label, *(fmt(get(o), kind) for o in options)]


def _unit(attr: str) -> Callable[[Option], object]:
    return lambda o: getattr(o.unit_costs, attr) if o.unit_costs else None


def _commit(attr: str) -> Callable[[Option], object]:
    return lambda o: getattr(o.commitment, attr) if o.commitment else None


def _spot(attr: str) -> Callable[[Option], object]:
    return lambda o: getattr(o.spot, attr) if o.spot else None


def _base(o: Option) -> str:
    c = o.commitment
    if c is None:
        return MISSING
    if c.base == "owned":
        return (
            f"{c.servers} owned server(s), {c.replicas} replicas; {c.mode.replace('_', ' ').replace('+', ' + ')} above"
        )
    upfront = f" + {fmt(c.upfront_usd, 'usd')} upfront" if c.upfront_usd else ""
    return (
        f"{c.replicas} committed for {c.term_months} months at {fmt(c.hourly_usd, 'usd')}/h{upfront}; "
        f"{c.mode.replace('_', ' ').replace('+', ' + ')} above"
    )


def _mtbp(o: Option) -> str:
    s = o.spot
    if s is None:
        return MISSING
    return f"{fmt(s.mean_hours_between_preemptions, 'num')} h ({s.rate_source}); notice {fmt(s.notice_s, 'num')} s"


def _what_if(o: Option) -> str:
    s = o.spot
    if s is None or not s.what_if:
        return MISSING
    return "; ".join(
        f"{fmt(w.mean_hours_between_preemptions, 'num')} h: {fmt(w.monthly_cost_usd, 'usd')}/month, "
        f"{fmt(w.slo_attainment, 'pct')} meet the SLO"
        for w in s.what_if
    )


def finance_rows(options: list[Option]) -> list[list[Cell]]:
    """Rows of the cost breakdown: annual cost, unit costs, and the committed / owned / spot billing."""
    rows: list[list[Cell]] = [
        ["How it is paid", *(PRICING_WORDS.get(o.pricing or "", MISSING) for o in options)],
        _get(options, "Annual cost (12 × 730 h)", lambda o: o.annual_cost_usd, "usd"),
        _get(options, "$ per 1,000 requests", _unit("usd_per_1k_requests"), "usd_unit"),
        _get(options, "$ per 1M input tokens", _unit("usd_per_mtok_input"), "usd_unit"),
        _get(options, "$ per 1M output tokens", _unit("usd_per_mtok_output"), "usd_unit"),
        _get(options, "$ per 1M tokens, all", _unit("usd_per_mtok_blended"), "usd_unit"),
        ["Input / output split of the cost", *((o.unit_costs.split if o.unit_costs else MISSING) for o in options)],
    ]
    if any(o.commitment for o in options):
        rows += [
            ["Base replicas (paid busy or idle)", *(_base(o) for o in options)],
            _get(options, "Base, per month", _commit("monthly_base_usd"), "usd"),
            _get(options, "On demand above the base, per month", _commit("monthly_on_demand_usd"), "usd"),
            _get(options, "Serverless overflow, per month", _commit("monthly_serverless_usd"), "usd"),
            _get(options, "Commitment obligation (whole term)", _commit("obligation_usd"), "usd"),
            _get(options, "Break-even utilization of a base replica", _commit("breakeven_utilization"), "pct"),
        ]
    if any(o.spot for o in options):
        rows += [
            ["Time between preemptions (source)", *(_mtbp(o) for o in options)],
            _get(options, "Preemptions expected a month", _spot("expected_preemptions_per_month"), "num"),
            _get(options, "Requests lost per preemption", _spot("lost_requests_per_preemption"), "num"),
            _get(options, "SLO misses per preemption", _spot("slo_misses_per_preemption"), "num"),
            _get(options, "Extra cost per preemption", _spot("usd_per_preemption"), "usd"),
            _get(options, "SLO attainment if never preempted", _spot("slo_attainment_without_preemptions"), "pct"),
            ["At the ends of the preemption range", *(_what_if(o) for o in options)],
        ]
    return rows


def capacity_price_text(price: GpuPrice | OwnedServer) -> str:
    """Commitments, spot terms and ownership costs of a catalog entry, in one line for the price table."""
    cur = "" if price.currency == "USD" else f" {price.currency}"
    if isinstance(price, OwnedServer):
        return (
            f"owned {price.gpu_count}× {price.gpu} ({price.offering}): {fmt(price.purchase_usd, 'usd')}{cur} over "
            f"{fmt(price.depreciation_years, 'num')} years, {fmt(price.power_w, 'count')} W × PUE "
            f"{fmt(price.pue, 'num')} at {fmt(price.electricity_usd_per_kwh, 'usd_unit')}/kWh, hosting "
            f"{fmt(price.hosting_usd_per_month, 'usd')}/month, other {fmt(price.other_usd_per_month, 'usd')}/month"
        )
    parts = [
        f"committed {fmt(t.hourly_usd, 'usd')}/h for {t.term_months} months"
        + (f" + {fmt(t.upfront_usd, 'usd')} upfront" if t.upfront_usd else "")
        + f" (as of {t.as_of})"
        for t in price.commitments
    ]
    spot = price.spot_preemption
    if spot is not None:
        mtbp = spot.mean_hours_between_preemptions
        rate = f"{fmt(mtbp, 'num')} h between preemptions" if mtbp else "no published preemption rate"
        parts.append(f"spot notice {fmt(spot.notice_s, 'num')} s, {rate}")
    return "; ".join(parts)
