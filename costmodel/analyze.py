"""``analyze``: the whole answer for one traffic trace — every option replayed, the break-even lines, the
sensitivity, and the verdict — as one :class:`~costmodel.results.Results`.

:func:`analyze` is the list of its steps; each is a function of :mod:`costmodel.steps` with a small typed input
and output (:class:`~costmodel.steps.case.Case` carries the trace and the rules every step reads;
:class:`~costmodel.steps.case.Matchup`, the primary pair against the cheapest serverless price):

1. *setup* (:mod:`~costmodel.steps.setup`): the scenario (:mod:`costmodel.scenario`; the bundled one when
   nothing is given), the trace checked and summarised, the prices in one currency, every profile paired
   with every GPU price;
2. *prefix caching* (:mod:`~costmodel.steps.routing`): for a trace with ``hash_ids``, each routing policy's
   hit rate, which the dedicated options are costed with;
3. *serverless* (:mod:`~costmodel.steps.serverless`): every per-token price replays the whole trace (exact
   bill; latency when a serverless profile is given);
4. *dedicated* (:mod:`~costmodel.steps.dedicated`): every (profile, GPU price) pair replays the trace on a
   fleet under ``policy``; the *primary pair* is the cheapest that meets the SLO (else the cheapest), set
   against the serverless price that is cheapest on this trace;
5. *hybrid* (:mod:`~costmodel.steps.hybrid`): an always-on base of the primary pair with overflow to that
   price, searched and replayed on the whole trace, and routing by output length;
6. *break-even* and *sensitivity* (:mod:`~costmodel.steps.breakeven`, :mod:`~costmodel.steps.sensitivity`):
   the lines, the cost curve and the Monte Carlo of the primary pair;
7. *finance* (:mod:`~costmodel.steps.finance`): committed, spot and owned options, then unit economics on
   every option;
8. *verdict* (:mod:`~costmodel.steps.verdict`): the recommendation, and the routing table of step 2.

It reads no files except the bundled defaults, and writes none. The CLI (``breakeven analyze``) and scripts
call :func:`analyze`; :func:`default_inputs` is the bundled scenario the README's main job runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

import numpy as np

from breakeven import __version__
from costmodel.engine.fleet import Routing
from costmodel.finance import FinanceRequest
from costmodel.profiles import Profile
from costmodel.replay.dedicated import FleetRuns
from costmodel.results import AutoscalePolicy, Inputs, Results, Slo
from costmodel.scenario import (
    DEFAULT_GPUS,
    DEFAULT_PROFILE,
    DEFAULT_SCENARIO,
    DEFAULT_SERVERLESS,
    DEFAULT_TRACE,
    bundled_trace,
    bundled_trace_path,
    default_inputs,
    resolve_scenario,
)
from costmodel.steps.breakeven import draw_lines
from costmodel.steps.case import Matchup, Progress, Rules, Tier
from costmodel.steps.dedicated import replay_fleets, with_storage_whatif
from costmodel.steps.finance import price_finance
from costmodel.steps.hybrid import Mixes, search_mixes
from costmodel.steps.routing import Probes, prefix_section, probe_prefix_caching
from costmodel.steps.sensitivity import vary_inputs
from costmodel.steps.serverless import bill_serverless
from costmodel.steps.setup import ASSUMED_COLD_START_S, open_case, pair_deployments, price_scenario
from costmodel.steps.verdict import prices_used, stated_assumptions, write_verdict
from costmodel.unit_economics import apply_unit_economics
from pricing import Catalog, load_catalog
from traces import Trace
from traces.dataset import TraceDataset

__all__ = [
    "ASSUMED_COLD_START_S",
    "DEFAULT_GPUS",
    "DEFAULT_OUTPUT_TOKENS",
    "DEFAULT_PROFILE",
    "DEFAULT_SCENARIO",
    "DEFAULT_SERVERLESS",
    "DEFAULT_TRACE",
    "SEARCH_REQUESTS",
    "Tier",
    "analyze",
    "bundled_trace",
    "bundled_trace_path",
    "default_inputs",
]

DEFAULT_OUTPUT_TOKENS = (30, 220, 1200)

#: The searches (hybrid split, trace-shaped break-even) replay the trace many times; on longer traces they
#: use its first this-many requests (days of traffic), which keeps a 5 M-request analysis under 30 s.
SEARCH_REQUESTS = 500_000


def _noop(_: str) -> None:
    return None


def analyze(
    trace: Trace | TraceDataset | None = None,
    *,
    profiles: Sequence[Profile] | None = None,
    serverless: Sequence[str] | None = None,
    gpus: Sequence[str] | None = None,
    catalog: Catalog | None = None,
    price_files: Sequence[str] = (),
    slo: Slo | None = None,
    policy: AutoscalePolicy | None = None,
    price_tier: Tier = "on_demand",
    serverless_profile: Profile | None = None,
    cold_start_s: float | None = None,
    output_tokens: Sequence[float] = DEFAULT_OUTPUT_TOKENS,
    today: date | None = None,
    stale_after_days: int = 180,
    seed: int = 0,
    scenario: str | None = None,
    hybrid: bool = True,
    trace_shaped: bool = True,
    sensitivity_samples: int = 2000,
    search_requests: int = SEARCH_REQUESTS,
    progress: Progress | None = None,
    finance: FinanceRequest | None = None,
    routing: Routing = "round_robin",
    prefix_caching: bool = True,
) -> Results:
    """Analyse ``trace`` (default: the bundled scenario) and return the results.

    - ``profiles``: measured dedicated deployments (default: the bundled Llama-3.1-8B-FP8 on 1×H100).
    - ``serverless``: per-token price ids compared (default: each profile's ``serverless_price_id``, else
      the bundled scenario's two 8B prices).
    - ``gpus``: GPU price ids; every profile is paired with every id (default: each profile's
      ``gpu_price_id``). A pair whose GPU differs from the profile's is kept with a warning.
    - ``catalog``: prices (default: the bundled catalog layered with ``price_files``).
    - ``cold_start_s``: overrides every profile's measured cold start; profiles without one use
      :data:`ASSUMED_COLD_START_S` and say so in the assumptions.
    - ``today``: the date prices are judged stale against (default: today, UTC).
    - ``routing`` / ``prefix_caching``: for a trace with ``hash_ids`` and a profile with a replica model, the
      replicas' prefix caches are simulated under this routing policy and the dedicated options costed with
      the hit rate found (:mod:`costmodel.prefix_routing`); ``results.prefix_caching`` compares every policy.
    - ``search_requests``: the hybrid search and the trace-shaped break-even, which replay the trace many
      times, use its first ``search_requests`` requests (all of it when shorter); every option's bill
      always covers the whole trace, and the hybrid split found is replayed on the whole trace.
    - ``finance``: commitments (planned, or a given count), spot with preemptions, owned servers, exchange
      rates (:class:`~costmodel.finance.FinanceRequest`; default: plan commitments where the catalog has a
      committed price, price spot where it has a spot price, one currency).
    """
    # Long by its public signature and docstring; the body is the list of steps, then the record they fill.
    say = progress or _noop
    today = today or datetime.now(UTC).date()
    rng = np.random.default_rng(seed)  # drawn from in step order: serverless, dedicated, hybrid, sensitivity
    chosen = resolve_scenario(trace, profiles=profiles, serverless=serverless, gpus=gpus, name=scenario)
    catalog = catalog or load_catalog(list(price_files))
    rules = Rules(slo or Slo(), policy or AutoscalePolicy(), price_tier, search_requests)
    opened = open_case(chosen.trace, rules, say)
    case = opened.case
    prices = price_scenario(chosen, case, catalog, finance or FinanceRequest())
    deployments = pair_deployments(chosen, case, prices, cold_start_s=cold_start_s, seed=seed)
    probes: Probes = {}
    if prefix_caching:
        deployments, probes = probe_prefix_caching(deployments, case, routing, say)
    pairs = deployments.pairs
    runs = FleetRuns()  # the pools replayed, shared by the steps that replay the same fleet

    bills = bill_serverless(case, prices.tokens, serverless_profile, rng=rng, say=say)
    token = bills.cheapest
    fleets = replay_fleets(case, pairs, probes, routing=routing, rng=rng, runs=runs, say=say)
    primary = fleets.primary
    match = Matchup.of(primary, token)
    mixes = search_mixes(case, match, serverless_profile, rng=rng, say=say) if hybrid else Mixes()
    fleets = with_storage_whatif(fleets, case, say)
    lines = draw_lines(case, match, output_tokens=output_tokens, trace_shaped=trace_shaped, say=say)
    uncertainty = vary_inputs(
        case, match, bills.options, prices.catalog, samples=sensitivity_samples, seed=seed, rng=rng, say=say
    )
    options = [*bills.options, *fleets.options, *mixes.options]
    extra = price_finance(
        case, pairs, token, serverless_profile, prices, seed=seed, base_options=options, runs=runs, say=say
    )
    options = apply_unit_economics([*options, *extra.options], case.summary, case.horizon_s, prices.tokens, token)
    owned = prices.finance.owned
    used = prices_used(
        prices.catalog, chosen.serverless_ids, [*(p.gpu.id for p in pairs), *owned], today, stale_after_days
    )
    verdict = write_verdict(case, options, lines.rows, used, fleets=fleets, hybrid_timeline=mixes.timeline, say=say)

    warnings = [  # in step order
        *opened.warnings,
        *prices.warnings,
        *deployments.warnings,
        *bills.warnings,
        *fleets.warnings,
        *mixes.warnings,
        *lines.warnings,
        *uncertainty.warnings,
        *deployments.capacity_notes(case),
        *extra.warnings,
    ]
    return Results(
        generated_at=datetime.now(UTC),
        tool_version=__version__,
        inputs=Inputs(
            scenario=chosen.name,
            trace_source=case.summary.source,
            profile_sources=[_profile_source(p) for p in chosen.profiles],
            serverless_price_ids=list(chosen.serverless_ids),
            gpu_price_ids=sorted({p.gpu.id for p in pairs}),
            price_files=[str(f) for f in price_files],
            slo=case.slo,
            policy=case.policy,
            price_tier=price_tier,
            stale_after_days=stale_after_days,
            as_of=today.isoformat(),
            assumptions=[*deployments.assumptions, *extra.assumptions, *stated_assumptions(case, serverless_profile)],
            seed=seed,
            currency=prices.currency,
            exchange_rates=dict(prices.finance.exchange_rates),
            finance=prices.finance.inputs(),
        ),
        trace=case.summary,
        prices=used,
        profiles=[*chosen.profiles, *([serverless_profile] if serverless_profile is not None else [])],
        options=options,
        breakeven=list(lines.rows),
        cost_curve=lines.curve,
        timeline=verdict.timeline,
        sensitivity=uncertainty.sensitivity,
        recommendation=verdict.recommendation,
        warnings=list(dict.fromkeys(warnings)),
        commitment_plans=extra.plans,
        prefix_caching=prefix_section(case, primary, token, probes, routing=routing, say=say),
    )


def _profile_source(profile: Profile) -> str:
    sources = [s.path for s in profile.provenance.sources]
    return f"{profile.id} ({', '.join(sources[:3])}{', ...' if len(sources) > 3 else ''})" if sources else profile.id
