"""The dedicated step: every (profile, GPU price) pair replays the trace on an autoscaled fleet
(:func:`replay_fleets`); the cheapest that meets the SLO becomes the *primary pair* the charts, the searches
and the sensitivity describe; and the primary's bill with the weights read over NFS is added as a what-if
(:func:`with_storage_whatif`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from costmodel.engine.fleet import Routing
from costmodel.finance import fleet_words, gpu_words
from costmodel.replay.dedicated import DedicatedReplay, FleetRuns, replay_dedicated
from costmodel.replay.whatif import price_tiers, storage_whatif
from costmodel.results import HOURS_PER_MONTH, Option, Timeline
from costmodel.steps.case import Case, Pair, Progress, Tier, head
from costmodel.steps.routing import Probes
from pricing import GpuPrice


@dataclass(frozen=True)
class Fleets:
    """One on-demand option per pair, each fleet's timeline, and the primary pair."""

    options: tuple[Option, ...]
    timelines: Mapping[str, Timeline]
    """By :attr:`Pair.key` (the per-request arrays of a replay are dropped: hundreds of MB at 5 M requests)."""
    primary: Pair | None
    """The cheapest pair meeting the SLO, else the cheapest (None without pairs)."""
    warnings: tuple[str, ...] = ()


def replay_fleets(
    case: Case,
    pairs: Sequence[Pair],
    probes: Probes,
    *,
    routing: Routing,
    rng: np.random.Generator,
    runs: FleetRuns,
    say: Progress,
) -> Fleets:
    """Replay the trace on every pair's fleet under the case's policy and tier (in order: each draws from
    ``rng``); a probed profile's option carries its routing's prefix hit rate. Pairs of one profile and cold
    start share their pool (``runs``): only the bill differs."""
    options: list[Option] = []
    timelines: dict[str, Timeline] = {}
    for pair in pairs:
        say(f"replaying dedicated {pair.gpu.id} ({pair.profile.id})")
        ded = replay_dedicated(
            case.trace,
            pair.service(case),
            pair.gpu,
            policy=case.policy,
            slo=case.slo,
            cold_start_s=pair.cold_start_s,
            tier=case.tier,
            rng=rng,
            runs=runs,
        )
        timelines[pair.key] = ded.timeline
        fleet = ded.option(
            id=pair.option_id,
            label=f"Dedicated {gpu_words(pair.gpu)}, {fleet_words(case.policy)}",
            gpu_price_id=pair.gpu.id,
            profile_id=pair.profile.id,
            slo=case.slo,
        )
        if pair.profile.id in probes:
            hit = probes[pair.profile.id][0].rows[routing].hit_rate
            fleet = fleet.model_copy(update={"prefix_hit_rate": hit, "routing": routing})
        options.append(fleet.model_copy(update={"notes": [*fleet.notes, *_tier_notes(ded, pair.gpu, case.tier)]}))
        del ded
    primary = _primary(pairs, options)
    none = ("no dedicated option could be compared (no profile paired with a GPU price)",) if primary is None else ()
    return Fleets(tuple(options), timelines, primary, none)


def _primary(pairs: Sequence[Pair], options: Sequence[Option]) -> Pair | None:
    """The dedicated pair the charts describe: cheapest meeting the SLO, else cheapest."""
    by_id = {p.option_id: p for p in pairs}
    dedicated = [o for o in options if o.id in by_id]
    if not dedicated:
        return None
    passing = [o for o in dedicated if o.meets_slo is not False]
    best = min(passing or dedicated, key=lambda o: o.monthly_cost_usd)
    return by_id[best.id]


def _tier_notes(replay: DedicatedReplay, gpu: GpuPrice, tier: Tier) -> list[str]:
    """The same fleet billed at the GPU price's other tiers (what-if; not re-simulated)."""
    months = HOURS_PER_MONTH * 3600.0 / replay.horizon_s if replay.horizon_s > 0 else 0.0
    parts = [
        f"{name.replace('_', '-')} ${costs.total_usd * months:,.0f}"
        for name, costs in price_tiers(replay, gpu).items()
        if name not in (tier, "reserved")  # a reserved price is a commitment: the committed option bills it
    ]
    if not parts:
        return []
    what = "what-if, same fleet at other price tiers, per month: "
    return [what + ", ".join(parts) + " (spot before preemptions: the spot option prices them)"]


def with_storage_whatif(fleets: Fleets, case: Case, say: Progress) -> Fleets:
    """Add to the primary option what its cold start and bill become with the weights read over NFS at
    420 MB/s (default) and 880 MB/s (tuned) — the seed article's measured bandwidths — when its profile
    knows the size of its weights."""
    pair = fleets.primary
    cold = pair.profile.cold_start if pair is not None else None
    if pair is None or cold is None or not cold.phases.weights_gib:
        return fleets
    say("storage what-if (weights over NFS)")
    window = head(case.trace, case.search_requests, "the storage what-if", [])
    cases = storage_whatif(window, pair.service(case), pair.gpu, cold, policy=case.policy, slo=case.slo, tier=case.tier)
    scope = "" if window is case.trace else f" (first {len(window):,} requests)"
    texts = [
        f"{c.storage_mb_s:g} MB/s: cold start {c.cold_start_s:.0f} s, ${c.replay.monthly_cost_usd:,.0f}/month, "
        f"{c.replay.latency.slo_attainment:.1%} meet the SLO"
        for c in cases
    ]
    note = "what-if, weights over NFS" + scope + ": " + "; ".join(texts)
    options = tuple(
        o.model_copy(update={"notes": [*o.notes, note]}) if o.id == pair.option_id else o for o in fleets.options
    )
    return replace(fleets, options=options)
