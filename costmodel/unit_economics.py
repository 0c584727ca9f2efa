"""Unit economics on every option of a comparison: its annual cost, its cost per 1,000 requests and per 1 M
input / output tokens, and — for per-token options with volume tiers or committed spend — the bill at the
month's volume (:mod:`costmodel.billing.volume`).

Unit costs are the same over the trace's window as over a month, so they are computed from the window's
bill, in exact decimals: a serverless option's cost per 1 M tokens is exactly its price.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from costmodel.billing.volume import has_volume_pricing, volume_factor
from costmodel.results import Option, UnitCosts
from pricing.models import TokenPrice
from pricing.money import MONTHS_PER_YEAR, dec, per_month, to_float
from traces.summary_model import TraceSummary


def _split_share(reference: TokenPrice | None, input_tokens: Decimal, output_tokens: Decimal) -> tuple[Decimal, str]:
    """The input tokens' share of a cost that has no per-token lines, and how it was chosen."""
    if reference is not None:
        w_in = input_tokens * dec(reference.input_usd_per_mtok)
        w_out = output_tokens * dec(reference.output_usd_per_mtok)
        if w_in + w_out > 0:
            return w_in / (w_in + w_out), (
                f"split like {reference.id}'s prices (input ${reference.input_usd_per_mtok:g}, output "
                f"${reference.output_usd_per_mtok:g} per 1M)"
            )
    total = input_tokens + output_tokens
    return (input_tokens / total if total else Decimal("0.5")), "split by token count (no per-token price to follow)"


def apply_unit_economics(
    options: Sequence[Option],
    summary: TraceSummary,
    horizon_s: float,
    token_prices: Sequence[TokenPrice],
    reference: TokenPrice | None,
) -> list[Option]:
    """Every option with its annual cost and unit costs (exact decimals: a serverless option's cost per 1M
    tokens is its price); per-token options with volume pricing billed by the month's volume first."""
    months = per_month(Decimal(1), horizon_s)
    in_month = summary.input_tokens_total * months
    out_month = summary.output_tokens_total * months
    # Unit costs are the same over the trace's window as over a month: computed from the window's bill,
    # which is exact (a serverless option's cost per 1M tokens is then exactly its price).
    requests = Decimal(summary.requests)
    tokens_in, tokens_out = Decimal(summary.input_tokens_total), Decimal(summary.output_tokens_total)
    prices = {p.id: p for p in token_prices}
    done: list[Option] = []
    for option in options:
        opt = option
        price = prices.get(opt.serverless_price_id or "") if opt.kind == "serverless" else None
        if price is not None and has_volume_pricing(price):
            opt = _volume_priced(opt, price, round(in_month), round(out_month))
        monthly = dec(opt.monthly_cost_usd)
        window = dec(opt.total_cost_usd)
        tc = opt.token_costs
        input_side = dec(tc.input_usd) + dec(tc.cached_input_usd) + dec(tc.cache_write_usd) if tc is not None else 0
        if tc is not None and opt.kind == "serverless" and input_side + dec(tc.output_usd) > 0:
            share = input_side / (input_side + dec(tc.output_usd))
            split = "the bill's own input and output lines (cached input and cache writes counted as input)"
        else:
            share, split = _split_share(reference, tokens_in, tokens_out)
        units = UnitCosts(
            usd_per_1k_requests=to_float(window / requests * 1000) if requests else 0.0,
            usd_per_mtok_input=to_float(window * share / tokens_in * 1_000_000) if tokens_in else 0.0,
            usd_per_mtok_output=to_float(window * (1 - share) / tokens_out * 1_000_000) if tokens_out else 0.0,
            usd_per_mtok_blended=(
                to_float(window / (tokens_in + tokens_out) * 1_000_000) if tokens_in + tokens_out else 0.0
            ),
            split=split,
        )
        update: dict[str, object] = {"annual_cost_usd": to_float(monthly * MONTHS_PER_YEAR), "unit_costs": units}
        if opt.pricing is None:
            update["pricing"] = "per_token" if opt.kind == "serverless" else "on_demand"
        done.append(opt.model_copy(update=update))
    return done


def _volume_priced(option: Option, price: TokenPrice, in_month: int, out_month: int) -> Option:
    factor = volume_factor(price, in_month, out_month)
    if factor == 1:
        return option
    monthly = dec(option.monthly_cost_usd) * factor
    total = dec(option.total_cost_usd) * factor
    note = (
        f"volume pricing: the month's {in_month + out_month:,} tokens are billed at "
        f"{to_float(factor):.1%} of the base prices ({price.volume_tier_mode.replace('_', '-')} tiers"
        f"{', committed spend' if price.committed_spend else ''}); the trace's share of that month is shown"
    )
    return option.model_copy(
        update={
            "monthly_cost_usd": to_float(monthly),
            "total_cost_usd": to_float(total),
            "cost_per_request_usd": option.cost_per_request_usd * to_float(factor),
            "notes": [*option.notes, note],
        }
    )
