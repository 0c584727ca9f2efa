"""The break-even step, for the primary pair against the cheapest serverless price: the closed-form and
capacity-aware rates by output length, the trace-shaped rate (the trace itself scaled until the bills meet),
and the steady-state cost curve with its best hybrid line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypedDict

import numpy as np

from costmodel.breakeven import breakeven_table, cost_curve, cost_per_request_usd
from costmodel.replay.trace_breakeven import trace_breakeven
from costmodel.results import HOURS_PER_MONTH, BreakevenRow, CostCurve
from costmodel.steps.case import Case, Matchup, Progress, head


class _Compared(TypedDict):
    """The prices and input length both the break-even table and the cost curve are drawn for."""

    gpu_hourly_usd: float
    input_usd_per_mtok: float
    output_usd_per_mtok: float
    input_tokens: float
    serverless_price_id: str | None
    gpu_price_id: str | None


@dataclass(frozen=True)
class Lines:
    """The break-even rows and the cost curve (none without a primary pair and a serverless price)."""

    rows: tuple[BreakevenRow, ...] = ()
    curve: CostCurve | None = None
    warnings: tuple[str, ...] = ()


def draw_lines(
    case: Case, match: Matchup | None, *, output_tokens: Sequence[float], trace_shaped: bool, say: Progress
) -> Lines:
    """Break-even rows at each of ``output_tokens`` and the trace's mean output length (the trace-shaped ones
    when ``trace_shaped``, on the head of a long trace), and the cost curve at the trace's mix."""
    if match is None:
        return Lines()
    pair, token = match.pair, match.token
    trace, mean_in, mean_out = case.trace, case.mean_in, case.mean_out
    hourly = pair.gpu.hourly_for(case.tier)
    grid = sorted({*(float(x) for x in output_tokens), float(round(mean_out))})
    notes: list[str] = []
    say("computing break-even lines")
    compared = _Compared(
        gpu_hourly_usd=hourly,
        input_usd_per_mtok=token.input_usd_per_mtok,
        output_usd_per_mtok=token.output_usd_per_mtok,
        input_tokens=mean_in,
        serverless_price_id=token.id,
        gpu_price_id=pair.gpu.id,
    )
    rows = breakeven_table(**compared, output_tokens=grid, fit=pair.fit)
    if trace_shaped and len(trace) > 1 and case.horizon_s > 0:
        say("finding the trace-shaped break-even")
        window = head(trace, case.search_requests, "the trace-shaped break-even", notes)
        rows += trace_breakeven(
            window,
            pair.fit.service_for,  # each output length gets the replica model for its own mix
            pair.gpu,
            token,
            policy=case.policy,
            cold_start_s=pair.cold_start_s,
            output_tokens=[int(x) for x in grid],
            slo=case.slo,
            tier=case.tier,
        )
    capacity = pair.fit.capacity(mean_in, mean_out)
    curve = cost_curve(
        **compared,
        output_tokens=mean_out,
        replica_capacity_rps=capacity.rps,
        user_rps=case.user_rps,
        min_replicas=max(case.policy.min_replicas, 1),
    )
    per_request = float(cost_per_request_usd(mean_in, mean_out, token.input_usd_per_mtok, token.output_usd_per_mtok))
    hybrid = steady_hybrid(curve, hourly, capacity.rps, per_request)
    return Lines(tuple(rows), curve.model_copy(update={"hybrid_monthly_usd": hybrid}), tuple(notes))


def steady_hybrid(curve: CostCurve, hourly: float, capacity_rps: float, per_request: float) -> list[float | None]:
    """Steady-state hybrid monthly cost at each rate: the best N always-on replicas carrying up to N×capacity,
    the excess billed per token. ``min over N of N×h + max(0, r − N×c)×cost/request`` (per month)."""
    rates = np.asarray(curve.rps, dtype=np.float64)
    if capacity_rps <= 0:
        return [float(x) for x in curve.serverless_monthly_usd]
    # The cost is linear in N up to N = r/c and rises after it, so the best N is 0, floor(r/c) or ceil(r/c):
    # three candidates per rate instead of a (replicas x rates) matrix, which grew to many GB when a price
    # typed in the wrong unit pushed the rate axis to millions of req/s.
    full = np.floor(rates / capacity_rps)
    n = np.stack([np.zeros_like(rates), full, full + 1.0])
    overflow = np.maximum(rates[None, :] - n * capacity_rps, 0.0)
    hourly_cost = n * hourly + overflow * 3600.0 * per_request
    return [float(x) for x in hourly_cost.min(axis=0) * HOURS_PER_MONTH]
