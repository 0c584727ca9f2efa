"""``analyze``: the whole answer for one traffic trace — every option replayed, the break-even lines, the
sensitivity, and the verdict — as one :class:`~costmodel.results.Results`.

This module only composes the pure pieces (capacity fit, replays, break-even, sensitivity, recommendation);
it reads no files except the bundled defaults, and writes none. The CLI (``breakeven analyze``) and scripts
call :func:`analyze`; :func:`default_inputs` is the bundled scenario the README's main job runs.

Which comparisons are made:

- every serverless price (``serverless``) replays the whole trace (exact bill; latency when a serverless
  profile is given);
- every (profile, GPU price) pair replays the trace on a dedicated fleet under ``policy``;
- the *primary pair* is the cheapest dedicated option that meets the SLO (else the cheapest), set against
  the serverless price that is cheapest on this trace;
- a hybrid (always-on base of the primary pair + overflow to that serverless price) is searched, and the
  best split replayed on the whole trace;
- the break-even lines, the cost curve, the timeline and the sensitivity describe the primary pair.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import resources
from typing import Final, Literal

import numpy as np

from breakeven import __version__
from breakeven.errors import InputError, ModelError
from costmodel.breakeven import breakeven_table, capacity_breakeven, cost_curve
from costmodel.capacity import ReplicaCapacity
from costmodel.checks import check_prices, check_trace
from costmodel.engine.capacity import SimulatedCapacity, replica_capacity
from costmodel.engine.fleet import ROUTINGS, Routing
from costmodel.finance import Deployment, FinanceRequest, apply_unit_economics, finance_options, priced_catalog
from costmodel.matching import mismatches
from costmodel.policy import describe_policy
from costmodel.prefix_routing import Probe, has_prefixes, probe_routing
from costmodel.profiles import Profile, bundled_profile
from costmodel.recommend import recommend
from costmodel.replay._arrays import MATERIALIZE_ROWS, request_arrays
from costmodel.replay.dedicated import DedicatedReplay, policy_label, replay_dedicated
from costmodel.replay.hybrid import best_hybrid, replay_hybrid, route_by_output
from costmodel.replay.prompt_cache import CacheFigures, cache_figures
from costmodel.replay.serverless import replay_serverless, serverless_bill
from costmodel.replay.trace_breakeven import trace_breakeven
from costmodel.replay.whatif import price_tiers, storage_whatif
from costmodel.results import (
    HOURS_PER_MONTH,
    AutoscalePolicy,
    BreakevenRow,
    CostCurve,
    Inputs,
    Option,
    PrefixCaching,
    PriceUsed,
    Results,
    RoutingRow,
    Sensitivity,
    Slo,
    Timeline,
)
from costmodel.sensitivity import (
    SensitivityInputs,
    Spread,
    capacity_spread,
    cold_start_spread,
    price_spread,
    prompt_cache_spreads,
    relative_spread,
    sensitivity_analysis,
)
from pricing import Catalog, GpuPrice, TokenPrice, load_catalog
from traces import Trace, load_trace, summarize
from traces.dataset import TraceDataset

Tier = Literal["on_demand", "reserved", "spot"]
Progress = Callable[[str], None]

#: The bundled default scenario (README's main job): a real public trace, a profile built from real
#: measurements, and prices from the bundled catalog — the same model family on every side.
DEFAULT_SCENARIO = "bundled-default"
DEFAULT_TRACE = "AzureLLMInferenceTrace_code.csv"
DEFAULT_PROFILE = "llama-3.1-8b-fp8_1xH100"
DEFAULT_SERVERLESS = ("digitalocean/llama3-8b-instruct", "deepinfra/meta-llama/Meta-Llama-3.1-8B-Instruct")
DEFAULT_GPUS = ("digitalocean/gpu-h100-1x", "nebius/gpu-h100-1x")
DEFAULT_OUTPUT_TOKENS = (30, 220, 1200)

#: The searches (hybrid split, trace-shaped break-even) replay the trace many times; on longer traces they
#: use its first this-many requests (days of traffic), which keeps a 5 M-request analysis under 30 s.
SEARCH_REQUESTS = 500_000

#: Cold start assumed when a profile has none measured: the seed article's vLLM restart with weights on
#: local disk (gpt-oss-120b on MI300X, 60.8–61.4 s over 3 restarts) — conservative for smaller models.
ASSUMED_COLD_START_S = 61.0


@dataclass(frozen=True)
class _Pair:
    """One dedicated deployment: a measured profile on a priced GPU instance."""

    profile: Profile
    gpu: GpuPrice
    fit: ReplicaCapacity
    cold_start_s: float
    cold_start_source: str

    @property
    def key(self) -> str:
        return f"{self.gpu.id}|{self.profile.id}"


def bundled_trace_path() -> str:
    """Path of the bundled Azure 2023 code trace (package data)."""
    return str(resources.files("costmodel") / "data" / "traces" / DEFAULT_TRACE)


def bundled_trace() -> Trace:
    """The bundled Azure 2023 code trace, named as bundled (not by its install path) in reports."""
    trace = load_trace(bundled_trace_path())
    return dataclasses.replace(trace, meta=dataclasses.replace(trace.meta, source=f"bundled:{DEFAULT_TRACE}"))


def default_inputs() -> dict[str, object]:
    """The bundled scenario as keyword arguments of :func:`analyze` (for scripts that tweak one thing)."""
    return {
        "trace": bundled_trace(),
        "profiles": [bundled_profile(DEFAULT_PROFILE)],
        "serverless": list(DEFAULT_SERVERLESS),
        "gpus": list(DEFAULT_GPUS),
        "scenario": DEFAULT_SCENARIO,
    }


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
    say = progress or _noop
    slo = slo or Slo()
    policy = policy or AutoscalePolicy()
    today = today or datetime.now(UTC).date()
    rng = np.random.default_rng(seed)
    if trace is None and profiles is None and serverless is None and gpus is None:
        trace = bundled_trace()
        profiles = [bundled_profile(DEFAULT_PROFILE)]
        serverless, gpus = DEFAULT_SERVERLESS, DEFAULT_GPUS
        scenario = scenario or DEFAULT_SCENARIO
    if trace is None:
        trace = bundled_trace()
    if profiles is None:
        profiles = [bundled_profile(DEFAULT_PROFILE)]
    if not profiles:
        raise InputError("analyze: expected at least one dedicated profile (--profile)")
    catalog = catalog or load_catalog(list(price_files))
    assumptions: list[str] = []
    warnings: list[str] = check_trace(trace)  # refuses a trace with no duration; warns on a very short one
    if isinstance(trace, Trace) and "think_time_s" in trace.df.columns:
        warnings.append(
            f"{trace.meta.source}: a closed-loop pool of conversations (think_time_s): analyze replays it at its "
            "nominal arrivals, which assume instantaneous answers and so overstate the request rate; run it "
            "through a simulator at a chosen concurrency, or generate open-loop conversations (rate=, duration=)"
        )

    say("summarizing the trace")
    summary = summarize(trace)
    # Replays bill the window [0, last arrival]; monthly figures scale that window to 730 hours.
    horizon_s = _last_arrival(trace)
    user_rps = summary.mean_rps
    mean_in = summary.input_tokens_mean
    mean_out = summary.output_tokens_mean

    serverless_ids = list(serverless) if serverless else _default_serverless(profiles)
    fin = finance or FinanceRequest()
    if isinstance(trace, TraceDataset) and len(trace) > MATERIALIZE_ROWS and (fin.commitment != "none" or fin.spot):
        # the commitment planner and the spot replay hold the whole trace in memory
        warnings.append(
            f"committed and spot options were not priced: they replay the trace in memory, and this dataset has "
            f"{len(trace):,} requests (more than {MATERIALIZE_ROWS:,})"
        )
        fin = dataclasses.replace(fin, commitment="none", spot=False)
    if price_tier == "reserved":
        raise InputError(
            "option --price-tier reserved: a reserved price is a commitment, paid every hour of its term, not "
            "only the hours an autoscaled fleet runs; expected --commitment auto (or a replica count) instead"
        )
    gpu_ids = list(gpus) if gpus else [p.gpu_price_id for p in profiles if p.gpu_price_id]
    catalog, currency = priced_catalog(catalog, [*serverless_ids, *gpu_ids, *fin.owned], fin)  # one currency
    token_prices = [catalog.token(i) for i in serverless_ids]
    for profile in profiles:
        for price in token_prices:
            warnings.extend(mismatches(profile, price, None))
    pairs = _pairs(
        profiles,
        gpus=gpus,
        catalog=catalog,
        slo=slo,
        cold_start_s=cold_start_s,
        assumptions=assumptions,
        warnings=warnings,
        lengths=_length_sample(trace, seed),
    )
    warnings += check_prices(token_prices, [p.gpu for p in pairs])  # one currency; prices in a wrong unit
    probes: dict[str, tuple[Probe, SimulatedCapacity]] = {}
    if prefix_caching and isinstance(trace, Trace) and has_prefixes(trace):
        pairs = _with_prefix_caching(pairs, trace, slo, routing, probes, say)

    options: list[Option] = []
    serverless_cost: dict[str, float] = {}
    for price in token_prices:
        say(f"billing serverless {price.id}")
        latency_profile = serverless_profile if _profile_matches(serverless_profile, price) else None
        sls = replay_serverless(trace, price, profile=latency_profile, slo=slo, rng=rng)
        serverless_cost[price.id] = sls.total_cost_usd
        options.append(
            sls.option(id=f"serverless:{price.id}", label=_serverless_label(price), price_id=price.id, slo=slo)
        )
    if serverless_profile is not None and not any(_profile_matches(serverless_profile, p) for p in token_prices):
        warnings.append(
            f"serverless profile {serverless_profile.id} names price {serverless_profile.serverless_price_id}, "
            "which is not among the serverless prices compared; its latency was not used"
        )

    # Keep only each fleet's timeline: the per-request arrays of a 5 M-request replay are hundreds of MB.
    timelines: dict[str, Timeline] = {}
    for pair in pairs:
        say(f"replaying dedicated {pair.gpu.id} ({pair.profile.id})")
        ded = replay_dedicated(
            trace,
            pair.fit.service_for(mean_in, mean_out),
            pair.gpu,
            policy=policy,
            slo=slo,
            cold_start_s=pair.cold_start_s,
            tier=price_tier,
            rng=rng,
        )
        timelines[pair.key] = ded.timeline
        fleet = ded.option(
            id=f"dedicated:{pair.gpu.id}:{pair.profile.id}",
            label=_dedicated_label(pair.gpu, policy),
            gpu_price_id=pair.gpu.id,
            profile_id=pair.profile.id,
            slo=slo,
        )
        if pair.profile.id in probes:
            hit = probes[pair.profile.id][0].rows[routing].hit_rate
            fleet = fleet.model_copy(update={"prefix_hit_rate": hit, "routing": routing})
        options.append(fleet.model_copy(update={"notes": [*fleet.notes, *_tier_notes(ded, pair.gpu, price_tier)]}))
        del ded

    cheapest_token = min(token_prices, key=lambda p: serverless_cost[p.id]) if token_prices else None
    primary = _primary_pair(pairs, options)
    if hybrid and cheapest_token is not None and primary is not None and len(trace) > 0:
        overflow_profile = serverless_profile if _profile_matches(serverless_profile, cheapest_token) else None
        say(f"searching the hybrid split on {primary.gpu.id}")
        split, hybrid_timeline = _hybrid_option(
            trace,
            primary,
            cheapest_token,
            slo=slo,
            serverless_profile=overflow_profile,
            tier=price_tier,
            mean_in=mean_in,
            mean_out=mean_out,
            rng=rng,
            search_requests=search_requests,
            notes=warnings,
        )
        if split is not None:
            options.append(split)
            if hybrid_timeline is not None:
                timelines[f"hybrid|{primary.key}"] = hybrid_timeline
        say("routing by output length")
        routed = _routed_option(
            trace,
            primary,
            cheapest_token,
            policy=policy,
            slo=slo,
            serverless_profile=overflow_profile,
            tier=price_tier,
            mean_in=mean_in,
            mean_out=mean_out,
            rng=rng,
            search_requests=search_requests,
            notes=warnings,
        )
        if routed is not None:
            options.append(routed)
    if primary is not None and primary.profile.cold_start and primary.profile.cold_start.phases.weights_gib:
        say("storage what-if (weights over NFS)")
        options = _with_storage_whatif(
            options,
            trace,
            primary,
            policy=policy,
            slo=slo,
            tier=price_tier,
            mean_in=mean_in,
            mean_out=mean_out,
            search_requests=search_requests,
        )

    rows: list[BreakevenRow] = []
    curve: CostCurve | None = None
    timeline: Timeline | None = None
    sensitivity: Sensitivity | None = None
    if primary is not None and cheapest_token is not None:
        hourly = primary.gpu.hourly_for(price_tier)
        grid = sorted({*(float(x) for x in output_tokens), float(round(mean_out))})
        say("computing break-even lines")
        rows = breakeven_table(
            gpu_hourly_usd=hourly,
            input_usd_per_mtok=cheapest_token.input_usd_per_mtok,
            output_usd_per_mtok=cheapest_token.output_usd_per_mtok,
            input_tokens=mean_in,
            output_tokens=grid,
            fit=primary.fit,
            serverless_price_id=cheapest_token.id,
            gpu_price_id=primary.gpu.id,
        )
        if trace_shaped and len(trace) > 1 and horizon_s > 0:
            say("finding the trace-shaped break-even")
            window = _head(trace, search_requests, "the trace-shaped break-even", warnings)
            rows += trace_breakeven(
                window,
                primary.fit.service_for,  # each output length gets the replica model for its own mix
                primary.gpu,
                cheapest_token,
                policy=policy,
                cold_start_s=primary.cold_start_s,
                output_tokens=[int(x) for x in grid],
                slo=slo,
                tier=price_tier,
            )
        capacity = primary.fit.capacity(mean_in, mean_out)
        curve = cost_curve(
            gpu_hourly_usd=hourly,
            input_usd_per_mtok=cheapest_token.input_usd_per_mtok,
            output_usd_per_mtok=cheapest_token.output_usd_per_mtok,
            input_tokens=mean_in,
            output_tokens=mean_out,
            replica_capacity_rps=capacity.rps,
            user_rps=user_rps,
            min_replicas=max(policy.min_replicas, 1),
            serverless_price_id=cheapest_token.id,
            gpu_price_id=primary.gpu.id,
        )
        curve = curve.model_copy(
            update={
                "hybrid_monthly_usd": _steady_hybrid(
                    curve, hourly, capacity.rps, _per_request(cheapest_token, mean_in, mean_out)
                )
            }
        )
        say("sensitivity and Monte Carlo")
        sensitivity = _sensitivity(
            primary,
            cache=_cache_figures(trace, cheapest_token, options),
            token=cheapest_token,
            catalog=catalog,
            slo=slo,
            policy=policy,
            tier=price_tier,
            mean_in=mean_in,
            mean_out=mean_out,
            user_rps=user_rps,
            samples=sensitivity_samples,
            seed=seed,
            rng=rng,
            warnings=warnings,
        )
    elif primary is None:
        warnings.append("no dedicated option could be compared (no profile paired with a GPU price)")

    for pair in pairs:
        warnings.extend(f"{pair.profile.id}: {w}" for w in pair.fit.capacity(mean_in, mean_out).warnings)

    say("commitments, spot and owned capacity")
    extra = finance_options(
        trace,
        [Deployment(p.profile, p.gpu, p.fit.service_for(mean_in, mean_out), p.cold_start_s) for p in pairs],
        token=cheapest_token,
        serverless_profile=(
            serverless_profile
            if cheapest_token is not None and _profile_matches(serverless_profile, cheapest_token)
            else None
        ),
        policy=policy,
        slo=slo,
        request=fin,
        catalog=catalog,
        seed=seed,
        search_trace=_head(
            trace.head(search_requests) if isinstance(trace, TraceDataset) else trace,  # not a streamed search
            search_requests,
            "the commitment planner",
            warnings,
        ),
        base_options=options,
    )
    options += extra.options
    assumptions += extra.assumptions
    warnings += extra.warnings
    options = apply_unit_economics(options, summary, horizon_s, token_prices, cheapest_token)

    say("writing the verdict")
    used_ids = [*(p.gpu.id for p in pairs), *fin.owned]
    prices_used = _prices_used(catalog, serverless_ids, used_ids, today, stale_after_days)
    rec = recommend(
        options,
        rows,
        prices=prices_used,
        user_rps=user_rps,
        output_tokens_mean=mean_out,
        trace_hours=horizon_s / 3600.0,
        warnings=[],
        trace=summary,
    )
    if primary is not None:
        hybrid_shown = rec.option_id is not None and rec.option_id.startswith("hybrid:")
        chosen = f"hybrid|{primary.key}" if hybrid_shown else primary.key
        shown = timelines.get(chosen) or timelines.get(primary.key)
        if shown is not None:
            timeline = shown.model_copy(
                update={
                    "option_id": rec.option_id if hybrid_shown else f"dedicated:{primary.gpu.id}:{primary.profile.id}"
                }
            )
    assumptions += [
        (
            f"A month is {HOURS_PER_MONTH:g} hours; monthly costs scale the trace's {horizon_s / 3600:.2f} h of "
            "traffic at its mean rate."
        ),
        (
            f"Dedicated fleet policy: {policy_label(policy)} ({describe_policy(policy)}); GPU price tier: "
            f"{price_tier.replace('_', '-')}."
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
    return Results(
        generated_at=datetime.now(UTC),
        tool_version=__version__,
        inputs=Inputs(
            scenario=scenario or "custom",
            trace_source=summary.source,
            profile_sources=[_profile_source(p) for p in profiles],
            serverless_price_ids=serverless_ids,
            gpu_price_ids=sorted({p.gpu.id for p in pairs}),
            price_files=[str(f) for f in price_files],
            slo=slo,
            policy=policy,
            price_tier=price_tier,
            stale_after_days=stale_after_days,
            as_of=today.isoformat(),
            assumptions=assumptions,
            seed=seed,
            currency=currency,
            exchange_rates=dict(fin.exchange_rates),
            finance=fin.inputs(),
        ),
        trace=summary,
        prices=prices_used,
        profiles=list(profiles) + ([serverless_profile] if serverless_profile is not None else []),
        options=options,
        breakeven=rows,
        cost_curve=curve,
        timeline=timeline,
        sensitivity=sensitivity,
        recommendation=rec,
        warnings=_dedupe(warnings),
        commitment_plans=extra.plans,
        prefix_caching=_prefix_section(
            trace,
            primary,
            cheapest_token,
            probes,
            routing=routing,
            policy=policy,
            slo=slo,
            tier=price_tier,
            mean_in=mean_in,
            mean_out=mean_out,
            say=say,
        ),
    )


# ----------------------------------------------------------------------------------------------- helpers


def _with_prefix_caching(  # noqa: PLR0917 - analyze's state, in its order
    pairs: list[_Pair],
    trace: Trace,
    slo: Slo,
    routing: Routing,
    probes: dict[str, tuple[Probe, SimulatedCapacity]],
    say: Progress,
) -> list[_Pair]:
    """Probe each simulated profile's routed fleet once; its pairs are costed with the routing's hit rate."""
    out = []
    for pair in pairs:
        fit = pair.fit
        if not isinstance(fit, SimulatedCapacity):
            out.append(pair)
            continue
        if pair.profile.id not in probes:
            probe = probe_routing(trace, fit, slo, progress=say)
            if probe is None:
                out.append(pair)
                continue
            probes[pair.profile.id] = (probe, fit)
        probe, base = probes[pair.profile.id]
        out.append(dataclasses.replace(pair, fit=base.with_cached_share(probe.rows[routing].hit_rate)))
    return out


def _prefix_section(
    trace: Trace | TraceDataset,
    primary: _Pair | None,
    token: TokenPrice | None,
    probes: dict[str, tuple[Probe, SimulatedCapacity]],
    *,
    routing: Routing,
    policy: AutoscalePolicy,
    slo: Slo,
    tier: Tier,
    mean_in: float,
    mean_out: float,
    say: Progress,
) -> PrefixCaching | None:
    """Prefix caching off and every routing policy, costed on the primary dedicated option."""
    if primary is None or primary.profile.id not in probes or not isinstance(trace, Trace):
        return None
    probe, base = probes[primary.profile.id]
    rows: list[RoutingRow] = []
    capacities: dict[str, float] = {}
    costed: dict[float, tuple[float, Option]] = {}  # by hit rate: policies that hit alike cost alike
    for name, hit in [("none", 0.0), *((p, probe.rows[p].hit_rate) for p in ROUTINGS)]:
        if hit not in costed:
            say(f"prefix caching: costing {name}")
            fit = base.with_cached_share(hit)
            replay = replay_dedicated(
                trace, fit.service_for(mean_in, mean_out), primary.gpu, policy=policy, slo=slo,
                cold_start_s=primary.cold_start_s, tier=tier,
            )  # fmt: skip
            option = replay.option(id="probe", label="probe", gpu_price_id=primary.gpu.id, slo=slo)
            costed[hit] = (fit.capacity(mean_in, mean_out).rps, option)
        capacities[name], opt = costed[hit]
        row = probe.rows.get(name)
        rows.append(
            RoutingRow(
                routing=name,
                hit_rate_tokens=hit,
                replica_capacity_rps=capacities[name],
                monthly_cost_usd=opt.monthly_cost_usd,
                gpu_hours=opt.gpu_hours_billed or 0.0,
                slo_attainment=opt.slo_attainment,
                probe_ttft_p90_ms=row.ttft_p90_ms if row else None,
                probe_output_tok_s=row.output_tok_s if row else None,
            )
        )
    breakevens: list[float | None] = [None, None]
    if token is not None:
        hourly = primary.gpu.hourly_for(tier)
        per_request = _per_request(token, mean_in, mean_out)
        breakevens = [capacity_breakeven(hourly, per_request, capacities[k]).breakeven_rps for k in ("none", routing)]
    return PrefixCaching(
        option_id=f"dedicated:{primary.gpu.id}:{primary.profile.id}",
        routing=routing,
        infinite_cache_share=probe.infinite_share,
        probe_requests=probe.requests,
        probe_replicas=probe.replicas,
        rows=rows,
        breakeven_without_cache_rps=breakevens[0],
        breakeven_with_cache_rps=breakevens[1],
        notes=[
            (
                f"hit rates simulated on the trace's first {probe.requests:,} requests through {probe.replicas} "
                "replicas, each with vLLM's LRU prefix cache in its KV pool; capacities then simulated with that "
                "share of every prompt cached, and the whole trace replayed on each"
            ),
            "the serverless bill's cached input follows the provider's own cache (see the cost breakdown)",
        ],
    )


def _default_serverless(profiles: Sequence[Profile]) -> list[str]:
    named = [p.serverless_price_id for p in profiles if p.serverless_price_id]
    return list(dict.fromkeys(named)) or list(DEFAULT_SERVERLESS)


def _pairs(
    profiles: Sequence[Profile],
    *,
    gpus: Sequence[str] | None,
    catalog: Catalog,
    slo: Slo,
    cold_start_s: float | None,
    assumptions: list[str],
    warnings: list[str],
    lengths: tuple[np.ndarray | None, np.ndarray | None] = (None, None),
) -> list[_Pair]:
    """Every profile paired with every GPU price, each with its replica model (simulated when it has one,
    fed the trace's length mix in ``lengths``)."""
    pairs: list[_Pair] = []
    for profile in profiles:
        if profile.kind != "dedicated":
            raise InputError(
                f"profile {profile.id}: kind is {profile.kind!r}; expected a dedicated deployment "
                "(pass serverless profiles with --serverless-profile)"
            )
        ids = list(gpus) if gpus else ([profile.gpu_price_id] if profile.gpu_price_id else [])
        if not ids:
            raise InputError(
                f"profile {profile.id}: no GPU price to run it on; expected --gpu ID or a gpu_price_id in the profile"
            )
        fit = replica_capacity(profile, slo, input_sample=lengths[0], output_sample=lengths[1])
        if profile.replica_model is None:
            warnings.append(
                f"{profile.id}: no replica model; capacity comes from the linear fit of its measured points "
                "(run breakeven profile calibrate to simulate it)"
            )
        cold, source = _cold_start(profile, cold_start_s)
        if source == "assumed":
            assumptions.append(
                f"{profile.id}: no cold start was measured; assumed {cold:g} s, the seed article's vLLM restart "
                "with weights on local disk (gpt-oss-120b on 1× MI300X, 60.8–61.4 s over 3 restarts)."
            )
        elif source == "given":
            assumptions.append(f"{profile.id}: cold start set to {cold:g} s (given).")
        for gpu_id in ids:
            gpu = catalog.gpu(gpu_id)
            warnings.extend(mismatches(profile, None, gpu))
            pairs.append(_Pair(profile=profile, gpu=gpu, fit=fit, cold_start_s=cold, cold_start_source=source))
    return pairs


#: Requests of the trace whose lengths stand for its mix in the replica simulator's capacity search.
LENGTH_SAMPLE: Final = 20_000


def _length_sample(trace: Trace | TraceDataset, seed: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(input, output) token counts of up to :data:`LENGTH_SAMPLE` requests of the trace (its mix)."""
    df = trace.head(LENGTH_SAMPLE * 5).df if isinstance(trace, TraceDataset) else trace.df
    if not len(df):
        return None, None
    pick = np.random.default_rng(seed).permutation(len(df))[:LENGTH_SAMPLE]
    return (
        df["input_tokens"].to_numpy(dtype=np.float64)[pick],
        df["output_tokens"].to_numpy(dtype=np.float64)[pick],
    )


def _capacity_spread(pair: _Pair, slo: Slo, mean_in: float, mean_out: float) -> Spread:
    """The replica capacity's uncertainty: the simulator's stated error, or the linear fit's latency spread."""
    if not isinstance(pair.fit, SimulatedCapacity):
        return capacity_spread(pair.profile, slo, mean_in, mean_out)
    low, mode, high = pair.fit.spread(mean_in, mean_out)
    error = pair.fit.expected_error.get("e2e_mean_s", 0.0)
    return Spread(
        "replica_capacity_rps",
        f"replica capacity: {low:.3g}–{high:.3g} req/s (simulated with steps ±{error:.0%}, the replica model's "
        f"typical end-to-end error; {mode:.3g} as calibrated)",
        "triangular",
        low=low,
        mode=mode,
        high=high,
    )


def _last_arrival(trace: Trace | TraceDataset) -> float:
    """The billing window's end [s]: the last arrival (a dataset knows it from its files' footers)."""
    if isinstance(trace, TraceDataset):
        return trace.last_arrival_s
    return float(trace.df["arrival_s"].iloc[-1]) if len(trace) else 0.0


def _head(trace: Trace | TraceDataset, limit: int, purpose: str, notes: list[str]) -> Trace | TraceDataset:
    """The first ``limit`` requests of ``trace`` (the whole trace when shorter), with a note when cut. A
    dataset is searched whole: its candidates are streamed, on the Dask workers when a client is open."""
    if isinstance(trace, TraceDataset) or limit <= 0 or len(trace) <= limit:
        return trace
    cut = float(trace.df["arrival_s"].iloc[limit - 1])
    notes.append(f"{purpose} used the first {limit:,} of {len(trace):,} requests ({cut / 3600:.1f} h of traffic)")
    return trace.with_df(trace.df.iloc[:limit], f"head({limit})")


def _hybrid_option(
    trace: Trace | TraceDataset,
    pair: _Pair,
    token: TokenPrice,
    *,
    slo: Slo,
    serverless_profile: Profile | None,
    tier: Tier,
    mean_in: float,
    mean_out: float,
    rng: np.random.Generator,
    search_requests: int,
    notes: list[str],
) -> tuple[Option | None, Timeline | None]:
    """The best dedicated-base + serverless-overflow split: searched on a head window, replayed on the whole
    trace. None when the best split has no dedicated replica (that is the serverless option)."""
    service = pair.fit.service_for(mean_in, mean_out)
    window = _head(trace, search_requests, "the hybrid search", notes)
    search = best_hybrid(
        window, service, pair.gpu, token, slo=slo, serverless_profile=serverless_profile, tier=tier, rng=rng
    )
    replicas = search.best.replicas or 0
    if replicas == 0:
        return None, None
    best = search.best
    option = best.option(
        id=f"hybrid:{pair.gpu.id}:{pair.profile.id}+{token.id}",
        label=f"Hybrid: {replicas}× {pair.gpu.gpu} ({pair.gpu.provider}) always on + "
        f"{token.model} ({token.provider}) overflow",
        gpu_price_id=pair.gpu.id,
        serverless_price_id=token.id,
        profile_id=pair.profile.id,
        slo=slo,
    )
    if window is not trace and len(trace) <= 2 * search_requests:
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
        option = best.option(
            id=option.id,
            label=option.label,
            gpu_price_id=pair.gpu.id,
            serverless_price_id=token.id,
            profile_id=pair.profile.id,
            slo=slo,
        )
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


def _routed_option(
    trace: Trace | TraceDataset,
    pair: _Pair,
    token: TokenPrice,
    *,
    policy: AutoscalePolicy,
    slo: Slo,
    serverless_profile: Profile | None,
    tier: Tier,
    mean_in: float,
    mean_out: float,
    rng: np.random.Generator,
    search_requests: int,
    notes: list[str],
) -> Option | None:
    """Long outputs to the dedicated fleet, short ones to serverless, at the best threshold (output-length
    deciles tried). Only on traces of at most ``search_requests`` requests (each threshold is a replay)."""
    if search_requests > 0 and len(trace) > search_requests:
        notes.append(
            f"routing by output length was not evaluated: the trace has {len(trace):,} requests, more than "
            f"search_requests={search_requests:,}"
        )
        return None
    if len(trace) == 0:
        return None
    search = route_by_output(
        trace,
        pair.fit.service_for(mean_in, mean_out),
        pair.gpu,
        token,
        policy=policy,
        slo=slo,
        cold_start_s=pair.cold_start_s,
        serverless_profile=serverless_profile,
        tier=tier,
        rng=rng,
    )
    best = search.best
    share = best.overflow_share
    if best.dedicated is None or share <= 0.0 or share >= 1.0:
        return None  # everything on one side: already an option
    threshold = best.threshold_output_tokens
    return best.option(
        id=f"hybrid-route:{pair.gpu.id}:{pair.profile.id}+{token.id}",
        label=f"Route by output: > {threshold} tokens to {pair.gpu.gpu} ({pair.gpu.provider}), "
        f"the rest to {token.model} ({token.provider})",
        gpu_price_id=pair.gpu.id,
        serverless_price_id=token.id,
        profile_id=pair.profile.id,
        slo=slo,
    )


def _with_storage_whatif(
    options: list[Option],
    trace: Trace | TraceDataset,
    pair: _Pair,
    *,
    policy: AutoscalePolicy,
    slo: Slo,
    tier: Tier,
    mean_in: float,
    mean_out: float,
    search_requests: int,
) -> list[Option]:
    """Add to the primary dedicated option what its cold start and bill become with the weights read over
    NFS at 420 MB/s (default) and 880 MB/s (tuned) — the seed article's measured bandwidths."""
    cold = pair.profile.cold_start
    if cold is None:
        return options
    window = _head(trace, search_requests, "the storage what-if", [])
    cases = storage_whatif(
        window, pair.fit.service_for(mean_in, mean_out), pair.gpu, cold, policy=policy, slo=slo, tier=tier
    )
    scope = "" if window is trace else f" (first {len(window):,} requests)"
    texts = [
        f"{c.storage_mb_s:g} MB/s: cold start {c.cold_start_s:.0f} s, ${c.replay.monthly_cost_usd:,.0f}/month, "
        f"{c.replay.latency.slo_attainment:.1%} meet the SLO"
        for c in cases
    ]
    note = "what-if, weights over NFS" + scope + ": " + "; ".join(texts)
    target = f"dedicated:{pair.gpu.id}:{pair.profile.id}"
    return [o.model_copy(update={"notes": [*o.notes, note]}) if o.id == target else o for o in options]


def _cold_start(profile: Profile, given: float | None) -> tuple[float, str]:
    if given is not None:
        if not math.isfinite(given) or given < 0:
            raise InputError(f"option --cold-start-s: expected non-negative seconds, found {given}")
        return float(given), "given"
    measured = profile.cold_start.best_total_s() if profile.cold_start else None
    if measured is not None:
        return float(measured), "measured"
    return ASSUMED_COLD_START_S, "assumed"


def _profile_matches(profile: Profile | None, price: TokenPrice) -> bool:
    if profile is None:
        return False
    return profile.serverless_price_id in (None, price.id)


def _serverless_label(price: TokenPrice) -> str:
    return f"Serverless {price.model} ({price.provider})"


def _dedicated_label(gpu: GpuPrice, policy: AutoscalePolicy) -> str:
    count = f"{gpu.gpu_count}× " if gpu.gpu_count > 1 else ""
    if policy.kind == "fixed":
        fleet = f"{policy.min_replicas} always on"
    else:
        fleet = f"autoscaled {policy.min_replicas}–{policy.max_replicas}"
    return f"Dedicated {count}{gpu.gpu} ({gpu.provider}), {fleet}"


def _primary_pair(pairs: Sequence[_Pair], options: Sequence[Option]) -> _Pair | None:
    """The dedicated pair the charts describe: cheapest meeting the SLO, else cheapest."""
    by_id = {f"dedicated:{p.gpu.id}:{p.profile.id}": p for p in pairs}
    dedicated = [o for o in options if o.id in by_id]
    if not dedicated:
        return None
    passing = [o for o in dedicated if o.meets_slo is not False]
    best = min(passing or dedicated, key=lambda o: o.monthly_cost_usd)
    return by_id[best.id]


def _per_request(price: TokenPrice, mean_in: float, mean_out: float) -> float:
    return (mean_in * price.input_usd_per_mtok + mean_out * price.output_usd_per_mtok) / 1e6


def _steady_hybrid(curve: CostCurve, hourly: float, capacity_rps: float, per_request: float) -> list[float | None]:
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


def _cache_figures(trace: Trace | TraceDataset, token: TokenPrice, options: Sequence[Option]) -> CacheFigures | None:
    """The prompt cache of the cheapest serverless bill, for the sensitivity analysis (not for a dataset: its
    prefix blocks are not held in memory)."""
    option = next((o for o in options if o.id == f"serverless:{token.id}"), None)
    if option is None or option.token_costs is None or isinstance(trace, TraceDataset):
        return None
    req = request_arrays(trace)
    return cache_figures(option.token_costs, token, req.prefix_blocks(), req.input_tokens)


def _sensitivity(
    pair: _Pair,
    *,
    cache: CacheFigures | None = None,
    token: TokenPrice,
    catalog: Catalog,
    slo: Slo,
    policy: AutoscalePolicy,
    tier: Tier,
    mean_in: float,
    mean_out: float,
    user_rps: float,
    samples: int,
    seed: int,
    rng: np.random.Generator,
    warnings: list[str],
) -> Sensitivity | None:
    capacity = pair.fit.capacity(mean_in, mean_out)
    if not capacity.reachable:
        warnings.append(f"{pair.profile.id}: no batch size meets the SLO, so no sensitivity analysis was run")
        return None
    hourly = pair.gpu.hourly_for(tier)
    same_gpu = [
        g.hourly_for(tier)
        for g in catalog.entries(kind="gpu")
        if isinstance(g, GpuPrice) and _same_offering(g, pair.gpu, tier)
    ]
    spreads: list[Spread] = [
        price_spread(
            "gpu_hourly_usd", same_gpu or [hourly], description=f"GPU price ({pair.gpu.gpu} ×{pair.gpu.gpu_count})"
        ),
        relative_spread("input_usd_per_mtok", token.input_usd_per_mtok, 0.1, "serverless input price"),
        relative_spread("output_usd_per_mtok", token.output_usd_per_mtok, 0.1, "serverless output price"),
        _capacity_spread(pair, slo, mean_in, mean_out),
    ]
    cold = cold_start_spread(pair.profile)
    if cold is not None:
        spreads.append(cold)
    if cache is not None:
        spreads += prompt_cache_spreads(
            share=cache.share, upper_share=cache.upper_share, discount=cache.discount, price_id=token.id
        )
    inputs = SensitivityInputs(
        gpu_hourly_usd=hourly,
        input_usd_per_mtok=token.input_usd_per_mtok,
        output_usd_per_mtok=token.output_usd_per_mtok,
        input_tokens=mean_in,
        output_tokens=mean_out,
        replica_capacity_rps=capacity.rps,
        cold_start_s=pair.cold_start_s,
        user_rps=user_rps,
        min_replicas=max(policy.min_replicas, 1),
        cached_input_share=cache.share if cache is not None else 0.0,
        cached_input_discount=(cache.discount or 0.0) if cache is not None else 0.0,
        cache_write_extra=cache.write_extra if cache is not None else 0.0,
    )
    try:
        return sensitivity_analysis(inputs, spreads=spreads, rng=rng, seed=seed, samples=samples)
    except ModelError as exc:
        warnings.append(str(exc))
        return None


def _same_offering(candidate: GpuPrice, gpu: GpuPrice, tier: Tier) -> bool:
    """Conflicting catalog entries for the same instance: same provider, GPU and count."""
    try:
        candidate.hourly_for(tier)
    except ValueError:
        return False
    return (candidate.provider, candidate.gpu.lower(), candidate.gpu_count) == (
        gpu.provider,
        gpu.gpu.lower(),
        gpu.gpu_count,
    )


def _prices_used(
    catalog: Catalog, token_ids: Sequence[str], gpu_ids: Sequence[str], today: date, stale_after_days: int
) -> list[PriceUsed]:
    used = []
    for entry_id in dict.fromkeys([*token_ids, *gpu_ids]):
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


def _profile_source(profile: Profile) -> str:
    sources = [s.path for s in profile.provenance.sources]
    return f"{profile.id} ({', '.join(sources[:3])}{', ...' if len(sources) > 3 else ''})" if sources else profile.id


def _dedupe(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))
