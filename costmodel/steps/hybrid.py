"""The hybrid step, on the primary pair and the cheapest serverless price: the best always-on base with
overflow to serverless (searched on the head of a long trace, replayed on — or scaled to — the whole), and
long outputs to the fleet with short ones to serverless at the best output-length threshold."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from costmodel.profiles import Profile
from costmodel.replay.hybrid import HybridReplay, best_hybrid, replay_hybrid, route_by_output
from costmodel.replay.serverless import serverless_bill
from costmodel.results import HOURS_PER_MONTH, Option, Timeline
from costmodel.steps.case import Case, Matchup, Progress, head, latency_profile
from pricing import TokenPrice
from traces import Trace


@dataclass(frozen=True)
class Mixes:
    """The hybrid options found (none, one or both), the best split's fleet timeline, and notes."""

    options: tuple[Option, ...] = ()
    timeline: Timeline | None = None
    """The always-on base's timeline of the best split (shown when the verdict picks it)."""
    warnings: tuple[str, ...] = ()


def search_mixes(
    case: Case, match: Matchup | None, serverless_profile: Profile | None, *, rng: np.random.Generator, say: Progress
) -> Mixes:
    """The best overflow split, then routing by output length (both draw from ``rng``, in that order)."""
    if match is None or len(case.trace) == 0:
        return Mixes()
    overflow_profile = latency_profile(serverless_profile, match.token)
    notes: list[str] = []
    say(f"searching the hybrid split on {match.pair.gpu.id}")
    split, timeline = _hybrid_option(case, match, overflow_profile, rng=rng, notes=notes)
    say("routing by output length")
    routed = _routed_option(case, match, overflow_profile, rng=rng, notes=notes)
    options = tuple(o for o in (split, routed) if o is not None)
    return Mixes(options, timeline if split is not None else None, tuple(notes))


def _hybrid_option(
    case: Case, match: Matchup, serverless_profile: Profile | None, *, rng: np.random.Generator, notes: list[str]
) -> tuple[Option | None, Timeline | None]:
    """The best dedicated-base + serverless-overflow split: searched on a head window, replayed on the whole
    trace. None when the best split has no dedicated replica (that is the serverless option)."""
    trace, slo, tier = case.trace, case.slo, case.tier
    pair, token = match.pair, match.token
    service = pair.service(case)
    window = head(trace, case.search_requests, "the hybrid search", notes)
    search = best_hybrid(
        window, service, pair.gpu, token, slo=slo, serverless_profile=serverless_profile, tier=tier, rng=rng
    )
    replicas = search.best.replicas or 0
    if replicas == 0:
        return None, None
    best = search.best
    option = _as_option(
        best,
        case,
        match,
        option_id=f"hybrid:{pair.gpu.id}:{pair.profile.id}+{token.id}",
        label=f"Hybrid: {replicas}× {pair.gpu.gpu} ({pair.gpu.provider}) always on + "
        f"{token.model} ({token.provider}) overflow",
    )
    if window is not trace and len(trace) <= 2 * case.search_requests:
        best = replay_hybrid(
            trace,
            service,
            pair.gpu,
            token,
            replicas=replicas,
            slo=slo,
            serverless_profile=serverless_profile,
            tier=tier,
            rng=rng,
        )
        option = _as_option(best, case, match, option_id=option.id, label=option.label)
    elif window is not trace and isinstance(trace, Trace) and isinstance(window, Trace):
        # Replaying turn-aways on millions of requests costs tens of seconds: scale the window's split to
        # the whole trace instead (always-on GPU hours by time, overflow tokens by the token bill).
        option = _extrapolate_hybrid(option, window=window, trace=trace, token=token)
    return option, best.dedicated.timeline if best.dedicated else None


def _extrapolate_hybrid(option: Option, *, window: Trace, trace: Trace, token: TokenPrice) -> Option:
    """Scale a hybrid option measured on ``window`` (the head of ``trace``) to the whole trace.

    Always-on GPU hours scale with time; the overflow bill scales with the whole trace's token bill; SLO
    attainment and the overflow share are the window's.
    """
    horizon = float(trace.df["arrival_s"].iloc[-1])
    f_time = horizon / max(float(window.df["arrival_s"].iloc[-1]), 1e-9)
    f_tokens = serverless_bill(trace, token).total_usd / max(serverless_bill(window, token).total_usd, 1e-12)
    f_requests = len(trace) / len(window)
    tokens = option.token_costs
    gpu = option.gpu_costs
    update: dict[str, object] = {}
    total = 0.0
    if tokens is not None:
        money = (
            "input_usd",
            "cached_input_usd",
            "cache_write_usd",
            "output_usd",
            "long_context_extra_usd",
            "batch_savings_usd",
            "total_usd",
        )
        tokens = tokens.model_copy(
            update={k: getattr(tokens, k) * f_tokens for k in money} | {"requests": round(tokens.requests * f_requests)}
        )
        update["token_costs"] = tokens
        total += tokens.total_usd
    if gpu is not None:
        hours_total = gpu.hours.total * f_time
        busy = min(gpu.hours.busy * f_requests, hours_total)
        cold = gpu.hours.cold_start * f_time
        hours = gpu.hours.model_copy(
            update={"busy": busy, "cold_start": cold, "idle": max(hours_total - busy - cold, 0.0), "total": hours_total}
        )
        gpu = gpu.model_copy(update={"hours": hours, "total_usd": gpu.total_usd * f_time})
        update |= {"gpu_costs": gpu, "gpu_hours_billed": hours_total}
        total += gpu.total_usd
    update |= {
        "total_cost_usd": total,
        "monthly_cost_usd": total * HOURS_PER_MONTH * 3600.0 / horizon if horizon > 0 else 0.0,
        "cost_per_request_usd": total / len(trace) if len(trace) else 0.0,
        "notes": [
            *option.notes,
            (
                f"split found and replayed on the first {len(window):,} requests, then scaled to all "
                f"{len(trace):,}: always-on hours by time (x{f_time:.2f}), overflow tokens by the token bill "
                f"(x{f_tokens:.2f}); SLO attainment and overflow share are the window's"
            ),
        ],
    }
    return option.model_copy(update=update)


def _routed_option(
    case: Case, match: Matchup, serverless_profile: Profile | None, *, rng: np.random.Generator, notes: list[str]
) -> Option | None:
    """Long outputs to the dedicated fleet, short ones to serverless, at the best threshold (output-length
    deciles tried). Only on traces of at most ``search_requests`` requests (each threshold is a replay)."""
    trace, limit = case.trace, case.search_requests
    pair, token = match.pair, match.token
    if limit > 0 and len(trace) > limit:
        notes.append(
            f"routing by output length was not evaluated: the trace has {len(trace):,} requests, more than "
            f"search_requests={limit:,}"
        )
        return None
    if len(trace) == 0:
        return None
    search = route_by_output(
        trace,
        pair.service(case),
        pair.gpu,
        token,
        policy=case.policy,
        slo=case.slo,
        cold_start_s=pair.cold_start_s,
        serverless_profile=serverless_profile,
        tier=case.tier,
        rng=rng,
    )
    best = search.best
    share = best.overflow_share
    if best.dedicated is None or share <= 0.0 or share >= 1.0:
        return None  # everything on one side: already an option
    threshold = best.threshold_output_tokens
    return _as_option(
        best,
        case,
        match,
        option_id=f"hybrid-route:{pair.gpu.id}:{pair.profile.id}+{token.id}",
        label=f"Route by output: > {threshold} tokens to {pair.gpu.gpu} ({pair.gpu.provider}), "
        f"the rest to {token.model} ({token.provider})",
    )


def _as_option(found: HybridReplay, case: Case, match: Matchup, *, option_id: str, label: str) -> Option:
    """A split of the matchup's pair and price as an option of the comparison."""
    return found.option(
        id=option_id,
        label=label,
        gpu_price_id=match.pair.gpu.id,
        serverless_price_id=match.token.id,
        profile_id=match.pair.profile.id,
        slo=case.slo,
    )
