"""The prefix-caching step (traces with ``hash_ids``, profiles with a replica model): probe every routing
policy's hit rate before the dedicated replays (:func:`probe_prefix_caching`), and cost every policy on the
primary dedicated option for the report's routing table (:func:`prefix_section`). The method is
:mod:`costmodel.prefix_routing`'s."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from costmodel.breakeven import capacity_breakeven, cost_per_request_usd
from costmodel.engine.capacity import SimulatedCapacity
from costmodel.engine.fleet import ROUTINGS, Routing
from costmodel.prefix_routing import Probe, has_prefixes, probe_routing
from costmodel.replay.dedicated import replay_dedicated
from costmodel.results import Option, PrefixCaching, RoutingRow
from costmodel.steps.case import Case, Pair, Progress
from costmodel.steps.setup import Deployments
from pricing import TokenPrice
from traces import Trace

#: Each probed profile's routed-fleet probe, with the replica model it was run on (by profile id).
Probes = Mapping[str, tuple[Probe, SimulatedCapacity]]


def probe_prefix_caching(
    deployments: Deployments, case: Case, routing: Routing, say: Progress
) -> tuple[Deployments, Probes]:
    """Probe each simulated profile's routed fleet once (:func:`costmodel.prefix_routing.probe_routing`); its
    pairs are then costed with ``routing``'s hit rate. Unchanged for a trace without ``hash_ids``."""
    trace = case.trace
    probes: dict[str, tuple[Probe, SimulatedCapacity]] = {}
    if not isinstance(trace, Trace) or not has_prefixes(trace):
        return deployments, probes
    pairs = []
    for pair in deployments.pairs:
        fit = pair.fit
        if not isinstance(fit, SimulatedCapacity):
            pairs.append(pair)
            continue
        if pair.profile.id not in probes:
            probe = probe_routing(trace, fit, case.slo, progress=say)
            if probe is None:
                pairs.append(pair)
                continue
            probes[pair.profile.id] = (probe, fit)
        probe, base = probes[pair.profile.id]
        pairs.append(dataclasses.replace(pair, fit=base.with_cached_share(probe.rows[routing].hit_rate)))
    return dataclasses.replace(deployments, pairs=tuple(pairs)), probes


def prefix_section(
    case: Case, primary: Pair | None, token: TokenPrice | None, probes: Probes, *, routing: Routing, say: Progress
) -> PrefixCaching | None:
    """Prefix caching off and every routing policy, costed on the primary dedicated option (the whole trace
    replayed with each policy's capacity; policies that hit alike cost alike)."""
    trace = case.trace
    if primary is None or primary.profile.id not in probes or not isinstance(trace, Trace):
        return None
    probe, base = probes[primary.profile.id]
    mean_in, mean_out = case.mean_in, case.mean_out
    rows: list[RoutingRow] = []
    capacities: dict[str, float] = {}
    costed: dict[float, tuple[float, Option]] = {}  # by hit rate: policies that hit alike cost alike
    for name, hit in [("none", 0.0), *((p, probe.rows[p].hit_rate) for p in ROUTINGS)]:
        if hit not in costed:
            say(f"prefix caching: costing {name}")
            fit = base.with_cached_share(hit)
            replay = replay_dedicated(
                trace, fit.service_for(mean_in, mean_out), primary.gpu, policy=case.policy, slo=case.slo,
                cold_start_s=primary.cold_start_s, tier=case.tier,
            )  # fmt: skip
            option = replay.option(id="probe", label="probe", gpu_price_id=primary.gpu.id, slo=case.slo)
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
        hourly = primary.gpu.hourly_for(case.tier)
        per_request = float(
            cost_per_request_usd(mean_in, mean_out, token.input_usd_per_mtok, token.output_usd_per_mtok)
        )
        breakevens = [capacity_breakeven(hourly, per_request, capacities[k]).breakeven_rps for k in ("none", routing)]
    return PrefixCaching(
        option_id=primary.option_id,
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
