"""The last step: the verdict (:func:`costmodel.recommend.recommend`) over every option, the prices it rests on
with their staleness, the fleet timeline the report shows, and the assumptions every analysis states."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from costmodel.policy import describe_policy
from costmodel.profiles import Profile
from costmodel.recommend import recommend
from costmodel.replay.summary import policy_label
from costmodel.results import HOURS_PER_MONTH, BreakevenRow, Option, PriceUsed, Recommendation, Timeline
from costmodel.steps.case import Case, Progress
from costmodel.steps.dedicated import Fleets
from pricing import Catalog


@dataclass(frozen=True)
class Verdict:
    """What to run, and the timeline of the option the report shows."""

    recommendation: Recommendation
    timeline: Timeline | None


def prices_used(
    catalog: Catalog, serverless_ids: Sequence[str], other_ids: Sequence[str], today: date, stale_after_days: int
) -> list[PriceUsed]:
    """Every catalog entry the verdict rests on, once, with its origin, age and staleness (``other_ids``: the
    pairs' GPU prices, then owned servers)."""
    used = []
    for entry_id in dict.fromkeys([*serverless_ids, *other_ids]):
        age = catalog.age_days(entry_id, today)
        used.append(
            PriceUsed(
                price=catalog.get(entry_id),
                origin=catalog.origin(entry_id),
                age_days=age,
                stale=age > stale_after_days,
            )
        )
    return used


def write_verdict(
    case: Case,
    options: Sequence[Option],
    rows: Sequence[BreakevenRow],
    prices: Sequence[PriceUsed],
    *,
    fleets: Fleets,
    hybrid_timeline: Timeline | None,
    say: Progress,
) -> Verdict:
    """The recommendation, and the timeline of the primary pair's fleet — the hybrid split's base when the
    verdict picks the hybrid option."""
    say("writing the verdict")
    rec = recommend(
        options,
        rows,
        prices=prices,
        user_rps=case.user_rps,
        output_tokens_mean=case.mean_out,
        trace_hours=case.horizon_s / 3600.0,
        warnings=[],
        trace=case.summary,
    )
    timeline: Timeline | None = None
    primary = fleets.primary
    if primary is not None:
        hybrid_shown = rec.option_id is not None and rec.option_id.startswith("hybrid:")
        shown = (hybrid_timeline if hybrid_shown else None) or fleets.timelines.get(primary.key)
        if shown is not None:
            option_id = rec.option_id if hybrid_shown else primary.option_id
            timeline = shown.model_copy(update={"option_id": option_id})
    return Verdict(rec, timeline)


def stated_assumptions(case: Case, serverless_profile: Profile | None) -> list[str]:
    """What every analysis assumes: the month, the fleet policy and tier, the SLO, and serverless latency."""
    slo, policy = case.slo, case.policy
    assumptions = [
        (
            f"A month is {HOURS_PER_MONTH:g} hours; monthly costs scale the trace's {case.horizon_s / 3600:.2f} h of "
            "traffic at its mean rate."
        ),
        (
            f"Dedicated fleet policy: {policy_label(policy)} ({describe_policy(policy)}); GPU price tier: "
            f"{case.tier.replace('_', '-')}."
        ),
        (
            f"SLO: TTFT ≤ {slo.ttft_ms:g} ms and TPOT ≤ {slo.tpot_ms:g} ms at {slo.percentile} for capacity "
            f"planning; an option passes when ≥ {slo.attainment_target:.0%} of requests meet both."
        ),
    ]
    if serverless_profile is None:
        assumptions.append(
            "No serverless latency profile was given: serverless SLO attainment is unknown "
            "(not assumed to pass or fail)."
        )
    return assumptions
