"""The finance step: the best committed mix, the best spot option and owned fleets for every pair
(:func:`costmodel.finance.finance_options`), the commitment planner searching the head of a long trace."""

from __future__ import annotations

from collections.abc import Sequence

from costmodel.finance import Deployment, FinanceResult, finance_options
from costmodel.profiles import Profile
from costmodel.replay.dedicated import FleetRuns
from costmodel.results import Option
from costmodel.steps.case import Case, Pair, Progress, head, latency_profile
from costmodel.steps.setup import Prices
from pricing import TokenPrice
from traces.dataset import TraceDataset


def price_finance(
    case: Case,
    pairs: Sequence[Pair],
    token: TokenPrice | None,
    serverless_profile: Profile | None,
    prices: Prices,
    *,
    seed: int,
    base_options: Sequence[Option],
    runs: FleetRuns,
    say: Progress,
) -> FinanceResult:
    """Committed, spot and owned options priced against ``token`` (``base_options``: the on-demand options
    they are set beside; ``runs``: the pools the dedicated step ran, which the spot option bills again)."""
    say("commitments, spot and owned capacity")
    trace, limit = case.trace, case.search_requests
    notes: list[str] = []
    window = head(
        trace.head(limit) if isinstance(trace, TraceDataset) else trace, limit, "the commitment planner", notes
    )
    out = finance_options(
        trace,
        [Deployment(p.profile, p.gpu, p.service(case), p.cold_start_s) for p in pairs],
        token=token,
        serverless_profile=latency_profile(serverless_profile, token) if token is not None else None,
        policy=case.policy,
        slo=case.slo,
        request=prices.finance,
        catalog=prices.catalog,
        seed=seed,
        search_trace=window,  # the dataset's head in memory: the planner does not stream
        base_options=base_options,
        runs=runs,
    )
    out.warnings[:0] = notes
    return out
