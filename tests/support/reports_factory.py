"""A small factory of realistic :class:`costmodel.results.Results` for the report tests and benchmark.

The numbers are computed, not typed in: the serverless bill is requests × (input × p_in + output × p_out),
the dedicated bill is replicas × $/h, break-even rows use ``costmodel.breakeven``'s closed form and the
verdict comes from ``costmodel.recommend``. Two published cases anchor it:

- ``seed``: gpt-oss-120b, 1× MI300X at $1.88/h vs $0.10 / $0.70 per 1M tokens, ~80 input and ~220 output
  tokens (the seed article: break-even ≈ 3.2 req/s at 220 output tokens), at 1.1 req/s.
- ``h100``: Llama-3.1-8B FP8 on 1× H100 at $3.39/h vs $0.18 / $0.18 per 1M tokens, at 12 req/s.

Keyword overrides build the edge cases (zero traffic, one request, either side always cheaper, an
unreachable SLO, missing optional parts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np

from costmodel.breakeven import closed_form_breakeven_rps, cost_per_request_usd
from costmodel.profiles.schema import ColdStart, Engine, Phases, Profile, Provenance, SourceRef, Stat, WarmPoint
from costmodel.recommend import recommend
from costmodel.results import (
    HOURS_PER_MONTH,
    AutoscalePolicy,
    Band,
    BreakevenRow,
    CommitmentPlanResult,
    CostCurve,
    Distribution,
    GpuCosts,
    GpuHours,
    Inputs,
    Latency,
    MixPoint,
    Option,
    PrefixCaching,
    PriceUsed,
    Replicas,
    Results,
    RoutingRow,
    Sensitivity,
    Slo,
    Timeline,
    TokenCosts,
    TornadoBar,
)
from pricing.models import GpuPrice, TokenPrice
from traces.summary_model import TraceSummary

AS_OF = date(2026, 11, 20)


@dataclass(frozen=True)
class Case:
    """The knobs of a synthetic-but-realistic analysis."""

    scenario: str = "seed-gpt-oss-120b"
    model: str = "gpt-oss-120b"
    provider: str = "digitalocean"
    gpu: str = "MI300X"
    gpu_offering: str = "gpu-mi300x1-192gb"
    gpu_hourly_usd: float = 1.88
    input_usd_per_mtok: float = 0.10
    output_usd_per_mtok: float = 0.70
    input_tokens: float = 80.0
    output_tokens: float = 220.0
    user_rps: float = 1.1
    hours: float = 24.0
    requests: int | None = None  # default: user_rps × hours × 3600
    capacity_rps: float = 5.5  # one replica under the SLO
    cold_start_s: float = 61.0
    bin_s: float = 60.0
    serverless_latency: bool = True
    dedicated_slo_ok: bool = True
    serverless_slo_ok: bool = True
    sensitivity: bool = True
    timeline: bool = True
    cost_curve: bool = True
    commitment: bool = True
    prefix_caching: bool = True  # the trace carries hash_ids: a routing table for the dedicated option
    stale_price: bool = True
    trace_source: str = "AzureLLMInferenceTrace_code.csv"
    price_as_of: date = date(2026, 6, 23)
    seed: int = 7


SEED = Case()
H100 = Case(
    scenario="h100-llama-3.1-8b",
    model="llama-3.1-8b-instruct",
    provider="together_ai",
    gpu="H100",
    gpu_offering="gpu-h100x1-80gb",
    gpu_hourly_usd=3.39,
    input_usd_per_mtok=0.18,
    output_usd_per_mtok=0.18,
    input_tokens=2048.0,
    output_tokens=28.0,
    user_rps=12.0,
    capacity_rps=9.0,
    cold_start_s=38.0,
    price_as_of=date(2026, 10, 1),
    stale_price=False,
)


def monthly_serverless(rps: np.ndarray | float, case: Case, out_tokens: float | None = None) -> np.ndarray:
    """Serverless $/month at mean rate ``rps``."""
    per_req = cost_per_request_usd(
        case.input_tokens, out_tokens or case.output_tokens, case.input_usd_per_mtok, case.output_usd_per_mtok
    )
    return np.asarray(rps, dtype=np.float64) * 3600 * HOURS_PER_MONTH * per_req


def monthly_dedicated(rps: np.ndarray | float, case: Case, hourly: float | None = None) -> np.ndarray:
    """Dedicated $/month: enough always-on replicas for ``rps`` (at least one)."""
    replicas = np.maximum(np.ceil(np.asarray(rps, dtype=np.float64) / case.capacity_rps), 1.0)
    return replicas * (hourly or case.gpu_hourly_usd) * HOURS_PER_MONTH


def _crossings(rps: np.ndarray, a: np.ndarray, b: np.ndarray) -> list[float]:
    d = a - b
    out = []
    for i in np.flatnonzero(np.sign(d[:-1]) != np.sign(d[1:])):
        t = d[i] / (d[i] - d[i + 1])
        out.append(float(rps[i] + t * (rps[i + 1] - rps[i])))
    return out


def _prices(case: Case) -> tuple[TokenPrice, GpuPrice, list[PriceUsed]]:
    tok = TokenPrice(
        id=f"{case.provider}/{case.model}",
        provider=case.provider,
        model=case.model,
        input_usd_per_mtok=case.input_usd_per_mtok,
        output_usd_per_mtok=case.output_usd_per_mtok,
        as_of=case.price_as_of,
        source="https://docs.digitalocean.com/products/gradient-ai-platform/details/pricing/",
        notes="Read from the provider's pricing page.",
    )
    gpu = GpuPrice(
        id=f"digitalocean/{case.gpu_offering}",
        provider="digitalocean",
        offering=case.gpu_offering,
        gpu=case.gpu,
        gpu_count=1,
        hourly_usd=case.gpu_hourly_usd,
        billing_increment_s=1,
        minimum_billed_s=300,
        as_of=case.price_as_of,
        source="seed article: serverless-vs-gpu-breakeven (dev.to, 2026-06-23)",
    )
    age = (AS_OF - case.price_as_of).days
    used = [
        PriceUsed(price=tok, origin="bundled:pricing/catalog/digitalocean.toml", age_days=age, stale=case.stale_price),
        PriceUsed(price=gpu, origin="bundled:pricing/catalog/digitalocean.toml", age_days=age, stale=False),
    ]
    return tok, gpu, used


def _profile(case: Case, gpu: GpuPrice) -> Profile:
    return Profile(
        id=f"{case.model}@1x{case.gpu}",
        model=case.model,
        gpu=case.gpu,
        engine=Engine(name="vllm", version="0.10.1"),
        gpu_price_id=gpu.id,
        cold_start=ColdStart(
            samples_s=[case.cold_start_s - 0.2, case.cold_start_s, case.cold_start_s + 0.4],
            phases=Phases(weights_load_s=24.0, compile_s=4.0, cuda_graph_s=11.0, engine_init_s=21.0, weights_gib=63.3),
        ),
        kv_cache_tokens=1_800_000,
        warm=[
            WarmPoint(
                concurrency=c,
                ttft_ms=Stat(p50=322 + 6 * c, p90=330 + 9 * c),
                tpot_ms=Stat(p50=6.5 + 0.4 * c, p90=7 + 0.5 * c),
                output_tok_s=154 * c * 0.85,
                request_s=c * 0.6,
                source=f"bench-c{c}.json",
            )
            for c in (1, 4, 16, 32)
        ],
        provenance=Provenance(
            sources=[
                SourceRef(
                    path="vllm-serve.log", kind="vllm-log", tool="vllm", tool_version="0.10.1", date="2026-06-20"
                ),
                SourceRef(path="bench-c16.json", kind="vllm-bench", tool="vllm bench serve", sha256="9f2c" * 16),
            ],
            notes=["Cold start measured with weights on local NVMe."],
        ),
    )


def _timeline(case: Case, rng: np.random.Generator, rate_rps: float, requests: int) -> Timeline:
    n = max(round(case.hours * 3600 / case.bin_s), 1) if requests > 1 else 1
    t = np.arange(n) * case.bin_s
    diurnal = 1 + 0.6 * np.sin(2 * np.pi * (t / 86400.0 - 0.3))
    if requests > 1:
        arrivals = rng.poisson(np.maximum(rate_rps * diurnal * case.bin_s, 0)) / case.bin_s
    else:
        arrivals = np.full(n, requests / case.bin_s)
    need = np.clip(np.ceil(arrivals / (case.capacity_rps * 0.7)), 1, 8)
    running = np.maximum.accumulate(need) if n < 3 else need
    ready = np.concatenate([[running[0]], np.minimum(running[1:], running[:-1])])
    starts = t[1:][np.diff(running) > 0]
    return Timeline(
        bin_s=case.bin_s,
        t_s=t.tolist(),
        arrivals_rps=arrivals.tolist(),
        replicas_running=running.tolist(),
        replicas_ready=ready.tolist(),
        cold_start_times_s=starts.tolist(),
        option_id="dedicated:" + case.gpu_offering,
    )


def make_results(case: Case = SEED, **overrides: object) -> Results:
    """A complete Results for ``case`` (fields of :class:`Case` may be overridden by keyword)."""
    case = replace(case, **overrides)  # type: ignore[arg-type]
    rng = np.random.default_rng(case.seed)
    tok, gpu, prices = _prices(case)
    requests = case.requests if case.requests is not None else round(case.user_rps * case.hours * 3600)
    duration_s = case.hours * 3600 if requests > 1 else 0.0
    user_rps = requests / duration_s if duration_s > 0 else 0.0
    trace = TraceSummary(
        source=case.trace_source,
        format="azure",
        requests=requests,
        duration_s=duration_s,
        mean_rps=user_rps,
        peak_rps_1s=float(min(requests, math.ceil(user_rps * 6))),
        peak_rps_60s=user_rps * 2.1,
        input_tokens_total=int(requests * case.input_tokens),
        output_tokens_total=int(requests * case.output_tokens),
        input_tokens_mean=case.input_tokens if requests else 0.0,
        output_tokens_mean=case.output_tokens if requests else 0.0,
        input_tokens_p50=case.input_tokens * 0.8,
        input_tokens_p90=case.input_tokens * 2.1,
        input_tokens_p99=case.input_tokens * 4,
        output_tokens_p50=case.output_tokens * 0.7,
        output_tokens_p90=case.output_tokens * 2.2,
        output_tokens_p99=case.output_tokens * 5,
        interarrival_cv=1.8 if requests > 2 else None,
        start_time="2023-11-16T18:15:46",
    )
    per_req = float(
        cost_per_request_usd(case.input_tokens, case.output_tokens, case.input_usd_per_mtok, case.output_usd_per_mtok)
    )
    scale = HOURS_PER_MONTH / case.hours
    sls_total = requests * per_req
    replicas = max(math.ceil(user_rps / case.capacity_rps), 1)
    ded_hours = replicas * case.hours
    ded_total = ded_hours * case.gpu_hourly_usd
    cold_h = min(case.cold_start_s / 3600 * (1 + replicas), 0.05 * ded_hours)
    busy = min(0.9 * ded_hours, requests * (case.input_tokens * 0.05 + case.output_tokens * 7) / 1000 / 3600 / 4)
    slo = Slo()
    s_lat = None
    if case.serverless_latency:
        att = 0.985 if case.serverless_slo_ok else 0.62
        s_lat = Latency(
            ttft_ms=Distribution(p50=546, p90=900, p99=1300),
            tpot_ms=Distribution(p50=12, p90=18, p99=25),
            slo_attainment=att,
            ttft_attainment=min(att + 0.01, 1),
            tpot_attainment=0.999,
            source="serverless:measured",
        )
    d_att = 0.997 if case.dedicated_slo_ok else 0.31
    d_lat = Latency(
        ttft_ms=Distribution(p50=322, p90=380, p99=61_000 if case.dedicated_slo_ok else 95_000),
        tpot_ms=Distribution(p50=6.5, p90=7.2, p99=9.0 if case.dedicated_slo_ok else 140.0),
        queue_ms=Distribution(p50=0, p90=12, p99=900),
        slo_attainment=d_att,
        ttft_attainment=min(d_att + 0.002, 1),
        tpot_attainment=0.999 if case.dedicated_slo_ok else 0.4,
        source="replay",
    )
    serverless = Option(
        id=f"serverless:{tok.id}",
        kind="serverless",
        label=f"Serverless {tok.id}",
        serverless_price_id=tok.id,
        total_cost_usd=sls_total,
        monthly_cost_usd=sls_total * scale,
        cost_per_request_usd=per_req if requests else 0.0,
        token_costs=TokenCosts(
            input_usd=requests * case.input_tokens * case.input_usd_per_mtok / 1e6,
            output_usd=requests * case.output_tokens * case.output_usd_per_mtok / 1e6,
            total_usd=sls_total,
            requests=requests,
        ),
        latency=s_lat,
        slo_attainment=s_lat.slo_attainment if s_lat else None,
        meets_slo=(s_lat.slo_attainment >= slo.attainment_target) if s_lat else None,
    )
    dedicated = Option(
        id=f"dedicated:{case.gpu_offering}",
        kind="dedicated",
        label=f"Dedicated 1× {case.gpu} ({case.model})",
        gpu_price_id=gpu.id,
        profile_id=f"{case.model}@1x{case.gpu}",
        total_cost_usd=ded_total,
        monthly_cost_usd=ded_total * scale,
        cost_per_request_usd=ded_total / requests if requests else 0.0,
        gpu_costs=GpuCosts(
            hours=GpuHours(busy=busy, idle=ded_hours - busy - cold_h, cold_start=cold_h, total=ded_hours),
            hourly_usd=case.gpu_hourly_usd,
            total_usd=ded_total,
        ),
        gpu_hours_billed=ded_hours,
        replicas=Replicas(
            policy="autoscale 1..8, idle 10 min",
            mean=float(replicas),
            peak=replicas + 1,
            cold_starts=replicas,
            capacity_rps_per_replica=case.capacity_rps,
            utilization=busy / ded_hours,
        ),
        latency=d_lat,
        slo_attainment=d_att,
        meets_slo=d_att >= slo.attainment_target,
    )
    options = [serverless, dedicated]
    # Hybrid: one replica plus serverless overflow.
    overflow = max(user_rps - case.capacity_rps, 0.0) / user_rps if user_rps else 0.0
    hyb_total = case.gpu_hourly_usd * case.hours + sls_total * overflow
    options.append(
        Option(
            id=f"hybrid:{case.gpu_offering}+{tok.id}",
            kind="hybrid",
            label=f"Hybrid: 1× {case.gpu} + serverless overflow",
            serverless_price_id=tok.id,
            gpu_price_id=gpu.id,
            total_cost_usd=hyb_total,
            monthly_cost_usd=hyb_total * scale,
            cost_per_request_usd=hyb_total / requests if requests else 0.0,
            token_costs=TokenCosts(
                input_usd=0.0,
                output_usd=sls_total * overflow,
                total_usd=sls_total * overflow,
                requests=int(requests * overflow),
            ),
            gpu_costs=GpuCosts(
                hours=GpuHours(
                    busy=min(busy, 0.9 * case.hours),
                    idle=case.hours - min(busy, 0.9 * case.hours),
                    cold_start=0.0,
                    total=case.hours,
                ),
                hourly_usd=case.gpu_hourly_usd,
                total_usd=case.gpu_hourly_usd * case.hours,
            ),
            gpu_hours_billed=case.hours,
            overflow_share=overflow,
            latency=d_lat,
            slo_attainment=d_att,
            meets_slo=d_att >= slo.attainment_target,
        )
    )

    outs = [30.0, 60.0, 120.0, 220.0, 500.0, 1200.0, 4000.0]
    be = closed_form_breakeven_rps(
        case.gpu_hourly_usd, case.input_tokens, outs, case.input_usd_per_mtok, case.output_usd_per_mtok
    )
    rows = []
    for o, b in zip(outs, be.tolist(), strict=True):
        cpr = float(cost_per_request_usd(case.input_tokens, o, case.input_usd_per_mtok, case.output_usd_per_mtok))
        rows.append(
            BreakevenRow(
                input_tokens=case.input_tokens,
                output_tokens=o,
                method="closed_form",
                breakeven_rps=b,
                breakeven_rph=b * 3600,
                serverless_cost_per_request_usd=cpr,
                serverless_price_id=tok.id,
                gpu_price_id=gpu.id,
                gpu_hourly_usd=case.gpu_hourly_usd,
            )
        )
        grid = np.geomspace(1e-3, 1e4, 400)
        cross = _crossings(grid, monthly_serverless(grid, case, o), monthly_dedicated(grid, case))
        never = not case.dedicated_slo_ok or not cross
        cap_rps = None if never else cross[-1]
        rows.append(
            BreakevenRow(
                input_tokens=case.input_tokens,
                output_tokens=o,
                method="capacity",
                breakeven_rps=cap_rps,
                breakeven_rph=None if cap_rps is None else cap_rps * 3600,
                serverless_cost_per_request_usd=cpr,
                replicas=None if cap_rps is None else math.ceil(cap_rps / case.capacity_rps),
                crossings_rps=cross,
                replica_capacity_rps=case.capacity_rps,
                serverless_price_id=tok.id,
                gpu_price_id=gpu.id,
                notes=["no replica meets the SLO"] if not case.dedicated_slo_ok else [],
            )
        )
    if case.timeline and requests > 1:
        trace_be = (
            float(be[outs.index(220.0)] * 1.18)
            if case.output_tokens == 220.0
            else float(
                closed_form_breakeven_rps(
                    case.gpu_hourly_usd,
                    case.input_tokens,
                    case.output_tokens,
                    case.input_usd_per_mtok,
                    case.output_usd_per_mtok,
                )
            )
            * 1.18
        )
        cpr_mix = float(
            cost_per_request_usd(
                case.input_tokens, case.output_tokens, case.input_usd_per_mtok, case.output_usd_per_mtok
            )
        )
        rows.append(
            BreakevenRow(
                input_tokens=case.input_tokens,
                output_tokens=case.output_tokens,
                method="trace",
                breakeven_rps=trace_be if case.dedicated_slo_ok else None,
                breakeven_rph=trace_be * 3600 if case.dedicated_slo_ok else None,
                serverless_cost_per_request_usd=cpr_mix,
                serverless_price_id=tok.id,
                gpu_price_id=gpu.id,
            )
        )

    curve = None
    if case.cost_curve:
        rps = np.geomspace(0.01, 100, 121)
        s_m, d_m = monthly_serverless(rps, case), monthly_dedicated(rps, case)
        h_m = np.minimum(
            s_m,
            case.gpu_hourly_usd * HOURS_PER_MONTH + monthly_serverless(np.maximum(rps - case.capacity_rps, 0), case),
        )
        curve = CostCurve(
            rps=rps.tolist(),
            serverless_monthly_usd=s_m.tolist(),
            dedicated_monthly_usd=d_m.tolist() if case.dedicated_slo_ok else [None] * rps.size,
            hybrid_monthly_usd=h_m.tolist(),
            serverless_price_id=tok.id,
            gpu_price_id=gpu.id,
            user_rps=user_rps,
            breakeven_rps=_crossings(rps, s_m, d_m) if case.dedicated_slo_ok else [],
        )

    sens = _sensitivity(case, user_rps, rng) if case.sensitivity else None
    timeline = _timeline(case, rng, user_rps, requests) if case.timeline else None
    plans = (
        [_commitment_plan(case, timeline, sls_total * scale, gpu.id, tok.id)] if timeline and case.commitment else []
    )
    rec = recommend(
        options,
        rows,
        prices=prices,
        user_rps=user_rps,
        output_tokens_mean=trace.output_tokens_mean,
        trace_hours=duration_s / 3600,
        warnings=[],
    )
    return Results(
        generated_at=datetime(2026, 11, 20, 9, 30, tzinfo=UTC),
        tool_version="0.1.0",
        inputs=Inputs(
            scenario=case.scenario,
            trace_source=case.trace_source,
            profile_sources=[f"profiles/{case.model}.json"],
            serverless_price_ids=[tok.id],
            gpu_price_ids=[gpu.id],
            slo=slo,
            policy=AutoscalePolicy(),
            as_of=AS_OF.isoformat(),
            assumptions=["A month is 730 hours.", "Prices exclude taxes and egress."],
            seed=case.seed,
        ),
        trace=trace,
        prices=prices,
        profiles=[_profile(case, gpu)],
        options=options,
        breakeven=rows,
        cost_curve=curve,
        timeline=timeline,
        sensitivity=sens,
        recommendation=rec,
        commitment_plans=plans,
        prefix_caching=_prefix_caching(case, dedicated) if case.prefix_caching else None,
    )


def _prefix_caching(case: Case, dedicated: Option) -> PrefixCaching:
    """Prefix caching off and four routing policies: capacity grows with the hit rate (prefill skipped), the cost
    shrinks with it; the figures follow from the case, not from a simulation."""
    hits = {"none": 0.0, "round_robin": 0.31, "least_loaded": 0.33, "session": 0.52, "kv_aware": 0.58}
    rows = []
    for routing, hit in hits.items():
        capacity = case.capacity_rps / (1.0 - 0.5 * hit)  # half of a request's time is prefill, in this case
        scale = case.capacity_rps / capacity
        rows.append(
            RoutingRow(
                routing=routing,
                hit_rate_tokens=hit,
                replica_capacity_rps=capacity,
                monthly_cost_usd=dedicated.monthly_cost_usd * scale,
                gpu_hours=dedicated.gpu_hours_billed * scale,
                slo_attainment=dedicated.slo_attainment,
            )
        )
    return PrefixCaching(
        option_id=dedicated.id,
        routing="kv_aware",
        infinite_cache_share=0.64,
        probe_requests=2000,
        probe_replicas=2,
        rows=rows,
        breakeven_without_cache_rps=3.22,
        breakeven_with_cache_rps=2.31,
        notes=["Figures of the report factory (tests/support), not of a simulation."],
    )


def _commitment_plan(
    case: Case, timeline: Timeline, serverless_monthly: float, gpu_id: str, tok_id: str
) -> CommitmentPlanResult:
    """A commitment planner's search, estimated from the timeline's running replicas the way the planner
    estimates it (duration curve; committed at 60 % of the on-demand price for 12 months)."""
    running = np.asarray(timeline.replicas_running, dtype=np.float64)
    top = int(running.max()) + 1 if running.size else 1
    share = [float((running >= k).mean()) for k in range(1, top + 1)]
    base, od = 0.6 * case.gpu_hourly_usd, case.gpu_hourly_usd
    ks = list(range(top + 1))
    tail = [sum(share[k:]) for k in ks]
    on_demand = [(k * base + od * tail[k]) * HOURS_PER_MONTH for k in ks]
    per_replica = serverless_monthly / max(float(running.mean()) if running.size else 1.0, 1.0)
    serverless = [k * base * HOURS_PER_MONTH + max(serverless_monthly - k * per_replica, 0.0) for k in ks]
    points = [
        MixPoint(replicas=k, mode=mode, monthly_cost_usd=values[k] * 1.02, slo_attainment=0.995, meets_slo=True)
        for mode, values in (("on_demand", on_demand), ("serverless", serverless))
        for k in ks[:3]
    ]
    best = min(points, key=lambda p: (p.monthly_cost_usd, p.replicas))
    return CommitmentPlanResult(
        base="committed",
        base_id=gpu_id,
        gpu_price_id=gpu_id,
        serverless_price_id=tok_id,
        profile_id=f"{case.model}@1x{case.gpu}",
        term_months=12,
        base_hourly_usd=base,
        on_demand_hourly_usd=od,
        breakeven_utilization=base / od,
        hours_share=share,
        replicas=ks,
        estimate_monthly_usd={"on_demand": on_demand, "serverless": serverless, "on_demand+serverless": on_demand},
        evaluated=points,
        best_replicas=best.replicas,
        best_mode=best.mode,
        notes=["committed price: a test price"],
    )


def _sensitivity(case: Case, user_rps: float, rng: np.random.Generator) -> Sensitivity:
    def gap(c: Case) -> float:
        return float(monthly_serverless(user_rps, c) - monthly_dedicated(user_rps, c))

    def be(c: Case) -> float:
        return float(
            closed_form_breakeven_rps(
                c.gpu_hourly_usd, c.input_tokens, c.output_tokens, c.input_usd_per_mtok, c.output_usd_per_mtok
            )
        )

    bars = []
    for param, label in (
        ("gpu_hourly_usd", "GPU $/hour"),
        ("output_usd_per_mtok", "Output price $/1M tokens"),
        ("input_usd_per_mtok", "Input price $/1M tokens"),
        ("output_tokens", "Output tokens per request"),
        ("capacity_rps", "Replica capacity req/s"),
    ):
        base = getattr(case, param)
        lo, hi = replace(case, **{param: base * 0.8}), replace(case, **{param: base * 1.2})
        bars.append(
            TornadoBar(
                parameter=param,
                label=label,
                base_value=base,
                low_value=base * 0.8,
                high_value=base * 1.2,
                breakeven_rps_low=be(lo),
                breakeven_rps_high=be(hi),
                monthly_gap_usd_low=gap(lo),
                monthly_gap_usd_high=gap(hi),
            )
        )
    bars.sort(key=lambda b: -abs(b.monthly_gap_usd_high - b.monthly_gap_usd_low))
    rps = np.geomspace(0.01, 100, 41)
    d = monthly_dedicated(rps, case)
    draws = rng.lognormal(0, 0.08, size=(200, 1))
    samples = d * draws
    b0 = be(case)
    return Sensitivity(
        base_breakeven_rps=b0,
        base_monthly_gap_usd=gap(case),
        tornado=bars,
        samples=200,
        seed=case.seed,
        breakeven_rps=Band(p10=b0 * 0.86, p50=b0, p90=b0 * 1.17),
        monthly_saving_usd=Band(p10=abs(gap(case)) * 0.8, p50=abs(gap(case)), p90=abs(gap(case)) * 1.25),
        cost_band_rps=rps.tolist(),
        dedicated_monthly_p10=np.percentile(samples, 10, axis=0).tolist(),
        dedicated_monthly_p50=np.percentile(samples, 50, axis=0).tolist(),
        dedicated_monthly_p90=np.percentile(samples, 90, axis=0).tolist(),
        varied=["GPU $/hour ±10 % (lognormal)", "cold start from 3 measured samples"],
    )


# ------------------------------------------------------------------------- from the real cost model

PROFILES = {
    "seed": ("gpt-oss-120b_1xMI300X_article.json", SEED),
    "h100": ("llama-3.1-8b-fp8_1xH100.json", H100),
}


def costmodel_results(name: str) -> Results:
    """A case whose break-even rows, cost curve and sensitivity come from the real cost model
    (``costmodel.capacity`` fitted to a bundled profile, ``costmodel.breakeven``, ``costmodel.sensitivity``);
    options and trace come from :func:`make_results`, and the verdict is recomputed over the real rows."""
    import costmodel  # noqa: PLC0415 - only this helper needs the package path
    from costmodel.breakeven import breakeven_table, cost_curve  # noqa: PLC0415
    from costmodel.capacity import fit_replica_service  # noqa: PLC0415
    from costmodel.sensitivity import (  # noqa: PLC0415
        SensitivityInputs,
        cold_start_spread,
        relative_spread,
        sensitivity_analysis,
    )

    file_name, case = PROFILES[name]
    profile = Profile.model_validate_json(
        (Path(costmodel.__file__).parent / "data" / "profiles" / file_name).read_text()
    )
    fit = fit_replica_service(profile, Slo())
    cap = fit.capacity(case.input_tokens, case.output_tokens).rps
    base = make_results(case, capacity_rps=cap)
    n_in, n_out, user = case.input_tokens, case.output_tokens, base.trace.mean_rps
    ids = {"serverless_price_id": base.options[0].serverless_price_id, "gpu_price_id": base.options[1].gpu_price_id}
    prices = {
        "gpu_hourly_usd": case.gpu_hourly_usd,
        "input_usd_per_mtok": case.input_usd_per_mtok,
        "output_usd_per_mtok": case.output_usd_per_mtok,
    }
    rows = breakeven_table(
        **prices, input_tokens=n_in, output_tokens=[30, 60, 120, 220, 500, 1200, 4000], fit=fit, **ids
    )
    curve = cost_curve(**prices, input_tokens=n_in, output_tokens=n_out, replica_capacity_rps=cap, user_rps=user, **ids)
    inputs = SensitivityInputs(
        **prices,
        input_tokens=n_in,
        output_tokens=n_out,
        replica_capacity_rps=cap,
        cold_start_s=case.cold_start_s,
        user_rps=user,
    )
    spreads = [
        s
        for s in (
            cold_start_spread(profile),
            relative_spread("gpu_hourly_usd", case.gpu_hourly_usd, 0.1, "GPU price ±10 %"),
        )
        if s
    ]
    sens = sensitivity_analysis(
        inputs, spreads=spreads, rng=np.random.default_rng(case.seed), seed=case.seed, samples=500
    )
    rec = recommend(
        base.options,
        rows,
        prices=base.prices,
        user_rps=user,
        output_tokens_mean=base.trace.output_tokens_mean,
        trace_hours=base.trace.duration_s / 3600,
        warnings=list(fit.warnings),
    )
    return base.model_copy(
        update={
            "breakeven": rows,
            "cost_curve": curve,
            "sensitivity": sens,
            "recommendation": rec,
            "profiles": [profile],
        }
    )
