"""Finance-grade options for :func:`costmodel.analyze`: commitments billed as commitments, spot with its
preemptions, and owned servers.

:func:`finance_options` adds to the comparison, for the dedicated deployments already replayed:

- **the best committed mix** (:mod:`costmodel.commitment`): K replicas committed for a term, on demand
  and/or serverless above, planned on the trace (optionally grown) and billed as a commitment — every hour
  of the term. The planner's search for each GPU price with a committed price becomes a chart;
- **the best spot option** (:mod:`costmodel.spot`): the same fleet at the spot price with the expected
  preemptions' cost and SLO misses, side by side with the fleet on demand;
- **owned fleets** (``--owned ID``): servers you own as the base, sized by the same planner (or given).

:func:`priced_catalog` keeps one currency per comparison (:mod:`pricing.currency`): prices in another
currency are used only with a rate the user gives. Unit economics on every option (annual cost, cost per
1,000 requests and per 1 M tokens, volume pricing) are :mod:`costmodel.unit_economics`.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Literal

import numpy as np

from breakeven.errors import InputError
from costmodel.billing.committed import obligation, on_demand_billed_s
from costmodel.billing.owned import replicas_per_server
from costmodel.billing.spot import capacity_gap_s
from costmodel.commitment import Base, CommitmentPlan, Mix, MixFleet, Mode, plan_commitment
from costmodel.profiles.schema import Profile
from costmodel.replay._arrays import RequestArrays, TraceLike, request_arrays
from costmodel.replay.dedicated import DedicatedReplay, FleetRuns, billing_horizon, replica_slots, summarize_fleet
from costmodel.replay.fleet import FleetSim
from costmodel.replay.hybrid import combined_latency
from costmodel.replay.serverless import serverless_bill
from costmodel.results import (
    HOURS_PER_MONTH,
    AutoscalePolicy,
    CommitmentPlanResult,
    CommitmentUsed,
    FinanceInputs,
    GpuCosts,
    GpuHours,
    Latency,
    MixPoint,
    Option,
    Slo,
    SpotUsed,
    SpotWhatIf,
    TokenCosts,
)
from costmodel.service import ReplicaService
from costmodel.spot import MTBP_RANGE_HOURS, PreemptionRate, SpotEstimate, estimate_spot, preemption_rate
from pricing.catalog import Catalog
from pricing.currency import comparison_currency, convert_prices
from pricing.models import CommitmentTerm, GpuPrice, OwnedServer, TokenPrice
from pricing.money import dec, per_month, to_float

Commitment = Literal["auto", "none"] | int


@dataclass(frozen=True)
class FinanceRequest:
    """What to price beyond on-demand fleets and serverless (``breakeven analyze`` options)."""

    commitment: Commitment = "auto"
    """'auto': plan the committed replicas; 'none': no committed option; an int: commit exactly that many."""
    growth: float = 1.0
    """Plan the commitment for the trace's request rate × growth (the traffic expected over the term)."""
    spot: bool = True
    """Price a spot option for every GPU price that has a spot price."""
    spot_mtbp_hours: float | None = None
    lost_requests: Literal["retry", "fail"] = "retry"
    owned: tuple[str, ...] = ()
    owned_servers: int | None = None
    exchange_rates: Mapping[str, float] = field(default_factory=dict)
    currency: str | None = None

    def inputs(self) -> FinanceInputs:
        """The request as recorded in results.json: the fields it records, taken by name."""
        recorded = {name: getattr(self, name) for name in FinanceInputs.model_fields}
        return FinanceInputs(**recorded | {"commitment": str(self.commitment), "owned": list(self.owned)})


def parse_commitment(text: str) -> Commitment:
    """``--commitment auto|none|K``."""
    value = text.strip().lower()
    if value in ("auto", "none"):
        return value  # type: ignore[return-value]
    try:
        count = int(value)
    except ValueError:
        count = -1
    if count < 0:
        raise InputError(f"option --commitment: expected auto, none or a replica count ≥ 0, found {text!r}")
    return count


@dataclass(frozen=True)
class Deployment:
    """One dedicated deployment the analysis replayed: a profile on a GPU price, with its replica model."""

    profile: Profile
    gpu: GpuPrice
    service: ReplicaService
    cold_start_s: float

    @property
    def on_demand_id(self) -> str:
        """The id of its on-demand option in the comparison."""
        return f"dedicated:{self.gpu.id}:{self.profile.id}"


@dataclass
class FinanceResult:
    """What :func:`finance_options` adds to the analysis."""

    options: list[Option] = field(default_factory=list)
    plans: list[CommitmentPlanResult] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    owned: list[OwnedServer] = field(default_factory=list)


@dataclass(frozen=True)
class _Ask:
    """What every finance option is priced against (the analysis' inputs)."""

    trace: TraceLike
    window: TraceLike
    token: TokenPrice | None
    serverless_profile: Profile | None
    policy: AutoscalePolicy
    slo: Slo
    request: FinanceRequest
    seed: int
    base_options: Sequence[Option]
    runs: FleetRuns | None
    """The analysis' pools, shared with its other steps (None: every replay simulates its own)."""


# ------------------------------------------------------------------------------------------------ currency


def priced_catalog(catalog: Catalog, ids: Sequence[str], request: FinanceRequest) -> tuple[Catalog, str]:
    """The catalog with the compared entries in one currency, and that currency.

    All in one currency: unchanged. Otherwise every other currency needs a rate (else
    :class:`~breakeven.errors.InputError`), and the converted entries are laid over the catalog with a note.
    """
    entries = [catalog.get(i) for i in dict.fromkeys(ids) if i in catalog]
    target = comparison_currency(entries, exchange_rates=request.exchange_rates, target=request.currency)
    moved = [e for e in entries if e.currency != target]
    if not moved:
        return catalog, target
    converted = convert_prices(moved, exchange_rates=request.exchange_rates, target=target)
    return catalog.layered(converted, f"converted to {target} at the given exchange rates"), target


# ------------------------------------------------------------------------------------------------- options


def fleet_words(policy: AutoscalePolicy) -> str:
    """``'autoscaled 1–8'`` / ``'2 always on'``."""
    if policy.kind == "fixed":
        return f"{policy.min_replicas} always on"
    return f"autoscaled {policy.min_replicas}–{policy.max_replicas}"


def above_words(mode: Mode, token: TokenPrice | None) -> str:
    """What runs above the base, in the label's words."""
    overflow = f"overflow to {token.model} ({token.provider})" if token is not None else "overflow to serverless"
    return {
        "on_demand": "autoscale on demand above",
        "serverless": overflow,
        "on_demand+serverless": f"autoscale on demand above, {overflow}",
    }[mode]


def gpu_words(gpu: GpuPrice) -> str:
    """``'H100 (nebius)'`` / ``'8× H100 (digitalocean)'``."""
    count = f"{gpu.gpu_count}× " if gpu.gpu_count > 1 else ""
    return f"{count}{gpu.gpu} ({gpu.provider})"


def finance_options(
    trace: TraceLike,
    deployments: Sequence[Deployment],
    *,
    token: TokenPrice | None,
    serverless_profile: Profile | None,
    policy: AutoscalePolicy,
    slo: Slo,
    request: FinanceRequest,
    catalog: Catalog,
    seed: int = 0,
    search_trace: TraceLike | None = None,
    base_options: Sequence[Option] = (),
    runs: FleetRuns | None = None,
) -> FinanceResult:
    """The best committed mix, the best spot option and the owned fleets for these deployments.

    ``search_trace`` (default: ``trace``) is what the planner searches on — the head of a long trace; the
    chosen mix is then replayed on the whole ``trace`` (at today's rate when planned for growth).
    """
    out = FinanceResult()
    ask = _Ask(
        trace=trace,
        window=search_trace if search_trace is not None else trace,
        token=token,
        serverless_profile=serverless_profile,
        policy=policy,
        slo=slo,
        request=request,
        seed=seed,
        base_options=base_options,
        runs=runs,
    )
    committed = _committed(ask, deployments, out)
    if committed is not None:
        out.options.append(committed)
    if request.spot:
        spot = _best_spot(ask, deployments, out)
        if spot is not None:
            out.options.append(spot)
    for owned_id in request.owned:
        server = catalog.owned(owned_id)
        out.owned.append(server)
        option = _owned(ask, deployments, server, out)
        if option is not None:
            out.options.append(option)
    return out


def _terms(gpu: GpuPrice) -> tuple[CommitmentTerm, ...]:
    return gpu.commitment_terms()


def _committed(ask: _Ask, deployments: Sequence[Deployment], out: FinanceResult) -> Option | None:
    request = ask.request
    if request.commitment == "none":
        return None
    fixed = request.commitment if isinstance(request.commitment, int) else None
    candidates = [(d, t) for d in deployments for t in _terms(d.gpu)]
    if not candidates:
        if fixed is not None:
            ids = ", ".join(sorted({d.gpu.id for d in deployments})) or "none"
            raise InputError(
                f"option --commitment {fixed}: none of the GPU prices compared ({ids}) has a committed price; "
                "expected a [[gpu.commitments]] term in the catalog (or --prices with your contract)"
            )
        return None
    best: tuple[Decimal, Deployment, CommitmentPlan, Mix] | None = None
    for deployment, term in candidates:  # not empty: checked above
        plan = _plan(ask, deployment, Base.committed(term), fixed)
        out.plans.append(_plan_result(plan, deployment, term=term))
        mix = plan.best_committed
        if mix is None:
            continue
        cost = mix.monthly_usd if mix.meets_slo else Decimal("Infinity")
        if best is None or cost < best[0]:
            best = (cost, deployment, plan, mix)
    if best is None:
        return None
    _, deployment, plan, mix = best
    chosen_months = plan.base.term.term_months if plan.base.term else None
    option = _mix_option(ask, deployment, plan, mix)
    if plan.best.replicas == 0:
        note = (
            "no commitment pays off on this traffic: the planner's cheapest mix commits nothing (a committed "
            f"replica pays off when it would run {plan.estimate.breakeven_utilization:.0%} of the hours); this "
            "is the best mix with a commitment, for comparison"
        )
        option = option.model_copy(update={"notes": [*option.notes, note]})
    for result in out.plans:
        if result.gpu_price_id == deployment.gpu.id and result.term_months == chosen_months:
            result.option_id = option.id
    return option


def _plan(ask: _Ask, deployment: Deployment, base: Base, fixed: int | None) -> CommitmentPlan:
    return plan_commitment(
        ask.window,
        deployment.service,
        deployment.gpu,
        base,
        token=ask.token,
        policy=ask.policy,
        slo=ask.slo,
        cold_start_s=deployment.cold_start_s,
        serverless_profile=ask.serverless_profile,
        growth=ask.request.growth,
        fixed_replicas=fixed,
    )


def _plan_result(
    plan: CommitmentPlan,
    deployment: Deployment,
    *,
    term: CommitmentTerm | None = None,
    owned: OwnedServer | None = None,
) -> CommitmentPlanResult:
    est = plan.estimate
    notes: list[str] = []
    if term is not None and term.notes:
        notes.append(f"committed price: {term.notes}")
    if owned is not None and owned.notes:
        notes.append(f"owned server: {owned.notes}")
    if plan.growth != 1.0:
        notes.append(f"planned for the trace's request rate × {plan.growth:g}")
    return CommitmentPlanResult(
        base=plan.base.kind,
        base_id=owned.id if owned is not None else deployment.gpu.id,
        gpu_price_id=deployment.gpu.id,
        serverless_price_id=plan.token.id if plan.token else None,
        profile_id=deployment.profile.id,
        term_months=term.term_months if term else None,
        replicas_per_unit=plan.base.per_unit,
        base_hourly_usd=to_float(plan.base.replica_hourly()),
        on_demand_hourly_usd=deployment.gpu.hourly_usd,
        breakeven_utilization=est.breakeven_utilization,
        hours_share=est.hours_share,
        replicas=est.replicas,
        estimate_monthly_usd={mode: [to_float(x) for x in values] for mode, values in est.monthly_usd.items()},
        evaluated=[
            MixPoint(
                replicas=m.replicas,
                mode=m.mode,
                monthly_cost_usd=to_float(m.monthly_usd),
                slo_attainment=m.slo_attainment,
                meets_slo=m.meets_slo,
            )
            for m in plan.evaluated
        ],
        best_replicas=plan.best.replicas,
        best_mode=plan.best.mode,
        best_committed_replicas=plan.best_committed.replicas if plan.best_committed else None,
        best_committed_mode=plan.best_committed.mode if plan.best_committed else None,
        growth=plan.growth,
        notes=notes,
    )


@dataclass(frozen=True)
class _MixRun:
    """A mix replayed: its fleet, the overflow's token bill and the on-demand seconds above the base, over
    ``horizon_s`` (the whole trace's, also when replayed on the search window and scaled)."""

    fleet: DedicatedReplay
    latency: Latency
    tokens: TokenCosts | None
    overflow_share: float | None
    on_demand_s: int
    on_demand_usd: Decimal
    busy_h: float
    cold_h: float
    horizon_s: float
    notes: tuple[str, ...]


def _replay_mix(
    ask: _Ask, deployment: Deployment, mix: Mix, req: RequestArrays, *, replayed: FleetSim | None = None
) -> _MixRun:
    """Replay ``mix`` on ``req`` and bill its on-demand replicas above the base. ``replayed``: the planner's
    own replay of this mix on these very requests (same fleet, slots and horizon), used instead of a second."""
    horizon = billing_horizon(req, None)
    notes: list[str] = []
    slots = replica_slots(deployment.service, req, None, notes)
    fleet = MixFleet.of(ask.policy, mix.replicas, mix.mode, deployment.cold_start_s)
    sim = replayed if replayed is not None else fleet.run(req, deployment.service, slots=slots, horizon_s=horizon)
    ded = summarize_fleet(
        req,
        deployment.service,
        sim,
        deployment.gpu,
        policy=fleet.policy,
        slo=ask.slo,
        slots=slots,
        cold_start_s=fleet.cold_start_s,
        tier="on_demand",
        horizon_s=horizon,
        rng=None,
        timeline_points=200,
        notes=notes,
    )
    over = ~sim.admitted
    n_over = int(over.sum())
    tokens = serverless_bill(req, ask.token, mask=over) if n_over and ask.token is not None else None
    latency = ded.latency
    if mix.mode != "on_demand":
        latency = combined_latency(ded, n_over, ask.serverless_profile, ask.slo, notes)
    gpu = deployment.gpu
    od_s = on_demand_billed_s(
        sim.instances, mix.replicas, horizon, increment_s=gpu.billing_increment_s, minimum_s=gpu.minimum_billed_s
    )
    return _MixRun(
        fleet=ded,
        latency=latency,
        tokens=tokens,
        overflow_share=n_over / len(req) if len(req) and mix.mode != "on_demand" else None,
        on_demand_s=od_s,
        on_demand_usd=dec(od_s) * dec(gpu.hourly_usd) / 3600,
        busy_h=ded.costs.hours.busy,
        cold_h=ded.costs.hours.cold_start,
        horizon_s=horizon,
        notes=tuple(notes),
    )


def _scaled_run(run: _MixRun, whole: RequestArrays, window: RequestArrays, token: TokenPrice | None) -> _MixRun:
    """A run replayed on the search ``window`` scaled to the ``whole`` trace: on-demand hours by time, the
    overflow by the token bill; the SLO attainment stays the window's."""
    full = billing_horizon(whole, None)
    f_time = full / run.horizon_s if run.horizon_s > 0 else 1.0
    tokens = run.tokens
    if tokens is not None and token is not None:
        f_tokens = dec(serverless_bill(whole, token).total_usd) / dec(serverless_bill(window, token).total_usd)
        tokens = _scaled_tokens(tokens, f_tokens, len(whole) / len(window))
    note = (
        f"mix replayed on the first {len(window):,} requests, then scaled to all {len(whole):,}: on-demand "
        f"hours by time (x{f_time:.2f}), overflow by the token bill; SLO attainment is the window's"
    )
    return replace(
        run,
        tokens=tokens,
        on_demand_s=round(run.on_demand_s * f_time),
        on_demand_usd=run.on_demand_usd * dec(f_time),
        busy_h=run.busy_h * f_time,
        cold_h=run.cold_h * f_time,
        horizon_s=full,
        notes=(*run.notes, note),
    )


def _mix_option(ask: _Ask, deployment: Deployment, plan: CommitmentPlan, mix: Mix) -> Option:
    """A mix the planner chose replayed on the whole trace (today's rate) and billed as its base says.

    A mix that turns requests away to serverless is replayed on the search window when the trace is more
    than twice as long (turn-aways over millions of requests cost tens of seconds, as for the hybrid
    option): its on-demand hours are then scaled to the whole trace by time, its overflow by the token
    bill, and the base is billed for the whole trace's hours; the notes say so."""
    whole = request_arrays(ask.trace)
    window = request_arrays(ask.window)
    scaled = mix.mode != "on_demand" and len(whole) > 2 * len(window) > 0
    # The planner replayed this mix on the window at today's rate: when that is what is billed here (the
    # window, or a trace no longer than it), its replay is the same computation, so it is not run again.
    on_window = scaled or len(whole) == len(window)
    replayed = mix.sim if plan.growth == 1.0 and on_window else None
    run = _replay_mix(ask, deployment, mix, window if scaled else whole, replayed=replayed)
    if scaled:
        run = _scaled_run(run, whole, window, ask.token)
    # The bill: the base every hour, on demand above it, serverless overflow.
    horizon = run.horizon_s
    base_usd = plan.base.cost(mix.replicas, horizon, min(run.busy_h * 3600.0, mix.replicas * horizon))
    sls_usd = dec(run.tokens.total_usd) if run.tokens is not None else Decimal(0)
    total = base_usd + run.on_demand_usd + sls_usd
    months = per_month(Decimal(1), horizon)
    option_id, label, pricing = _mix_names(plan, mix, deployment, ask.token)
    used = _commitment_used(plan, mix, ask.request.growth, months=months, base_usd=base_usd, run=run, sls_usd=sls_usd)
    return Option(
        id=option_id,
        kind="dedicated" if mix.mode == "on_demand" else "hybrid",
        label=label,
        serverless_price_id=ask.token.id if run.tokens is not None and ask.token is not None else None,
        gpu_price_id=deployment.gpu.id,
        profile_id=deployment.profile.id,
        total_cost_usd=to_float(total),
        monthly_cost_usd=to_float(total * months),
        cost_per_request_usd=to_float(total / len(whole)) if len(whole) else 0.0,
        token_costs=run.tokens,
        gpu_costs=_mix_gpu_costs(plan, mix, run, base_usd),
        gpu_hours_billed=mix.replicas * horizon / 3600.0 + run.on_demand_s / 3600.0,
        replicas=run.fleet.replicas,
        latency=run.latency,
        slo_attainment=run.latency.slo_attainment,
        meets_slo=run.latency.slo_attainment >= ask.slo.attainment_target,
        overflow_share=run.overflow_share,
        notes=[*dict.fromkeys([*run.notes, *_mix_notes(plan, mix)])],
        pricing=pricing,
        commitment=used,
    )


def _mix_gpu_costs(plan: CommitmentPlan, mix: Mix, run: _MixRun, base_usd: Decimal) -> GpuCosts:
    """The GPU hours of a mix: the base every hour of the window, on-demand replicas above it."""
    hours_total = mix.replicas * run.horizon_s / 3600.0 + run.on_demand_s / 3600.0
    busy = min(run.busy_h, hours_total)
    cold_h = min(run.cold_h, max(hours_total - busy, 0.0))
    return GpuCosts(
        hours=GpuHours(busy=busy, idle=max(hours_total - busy - cold_h, 0.0), cold_start=cold_h, total=hours_total),
        hourly_usd=to_float(plan.base.replica_hourly()),
        tier="reserved" if plan.base.kind == "committed" else "on_demand",
        total_usd=to_float(base_usd + run.on_demand_usd),
    )


def _commitment_used(
    plan: CommitmentPlan, mix: Mix, growth: float, *, months: Decimal, base_usd: Decimal, run: _MixRun, sls_usd: Decimal
) -> CommitmentUsed:
    """What the option commits to (or owns), and its monthly bill by part."""
    term = plan.base.term
    return CommitmentUsed(
        base=plan.base.kind,
        replicas=mix.replicas,
        servers=mix.replicas // plan.base.per_unit if plan.base.server is not None else None,
        term_months=term.term_months if term else None,
        hourly_usd=term.hourly_usd if term else None,
        upfront_usd=term.upfront_usd if term else None,
        mode=mix.mode,
        monthly_base_usd=to_float(base_usd * months),
        monthly_on_demand_usd=to_float(run.on_demand_usd * months),
        monthly_serverless_usd=to_float(sls_usd * months),
        obligation_usd=to_float(obligation(term, mix.replicas)) if term else None,
        breakeven_utilization=plan.estimate.breakeven_utilization,
        growth=growth,
    )


def _mix_names(
    plan: CommitmentPlan, mix: Mix, deployment: Deployment, token: TokenPrice | None
) -> tuple[str, str, Literal["committed", "owned"]]:
    """(option id, label, pricing) of a committed or owned mix."""
    server, term = plan.base.server, plan.base.term
    if server is not None:
        head = f"Own {mix.replicas // plan.base.per_unit}× {server.offering} ({mix.replicas} replicas)"
        return f"owned:{server.id}:{deployment.profile.id}", f"{head}, {above_words(mix.mode, token)}", "owned"
    months_text = f"{term.term_months} months" if term else "the term"
    head = f"Commit {mix.replicas}× {gpu_words(deployment.gpu)} for {months_text}"
    option_id = f"committed:{deployment.gpu.id}:{deployment.profile.id}"
    return option_id, f"{head}, {above_words(mix.mode, token)}", "committed"


def _mix_notes(plan: CommitmentPlan, mix: Mix) -> list[str]:
    """The base's sizing for growth and the commitment's terms, in words."""
    notes = []
    if plan.growth != 1.0:
        notes.append(
            f"the base was sized for the trace's rate × {plan.growth:g}; this bill is at today's rate "
            f"({mix.replicas} base replicas)"
        )
    term = plan.base.term
    if term is not None:
        notes.append(
            f"commitment: {mix.replicas} × ${term.hourly_usd:g}/h for {term.term_months} months, paid every hour "
            f"busy or idle; obligation ${to_float(obligation(term, mix.replicas)):,.2f} over the term"
        )
    return notes


def _scaled_tokens(tokens: TokenCosts, factor: Decimal, requests: float) -> TokenCosts:
    """A window's token bill scaled to the whole trace (money by ``factor``, requests by ``requests``)."""
    fields = type(tokens).model_fields
    update: dict[str, object] = {
        name: to_float(dec(getattr(tokens, name)) * factor) for name in fields if name.endswith("_usd")
    }
    update |= {  # token counts follow the bill; requests their own count
        name: round(getattr(tokens, name) * float(factor))
        for name in fields
        if name.endswith("_tokens") and getattr(tokens, name) is not None
    }
    update["requests"] = round(tokens.requests * requests)
    return tokens.model_copy(update=update)


def _owned(ask: _Ask, deployments: Sequence[Deployment], server: OwnedServer, out: FinanceResult) -> Option | None:
    request = ask.request
    same = [d for d in deployments if d.gpu.gpu.lower() == server.gpu.lower()] or list(deployments)
    if not same:
        return None
    deployment = min(same, key=lambda d: d.gpu.hourly_usd / d.gpu.gpu_count)
    if deployment.gpu.gpu.lower() != server.gpu.lower():
        out.warnings.append(
            f"owned server {server.id} has {server.gpu} GPUs but no profile runs on them; priced with "
            f"{deployment.profile.id} ({deployment.gpu.gpu}) as if it did"
        )
    per = replicas_per_server(server, deployment.profile.gpu_count or 1)
    fixed = request.owned_servers * per if request.owned_servers is not None else None
    plan = _plan(ask, deployment, Base.owned(server, per), fixed)
    result = _plan_result(plan, deployment, owned=server)
    out.plans.append(result)
    out.assumptions.append(
        f"Owned server {server.id}: {server.offering}, ${server.purchase_usd:,.0f} depreciated over "
        f"{server.depreciation_years:g} years, {server.power_w:,.0f} W × PUE {server.pue:g} × "
        f"${server.electricity_usd_per_kwh:g}/kWh, hosting ${server.hosting_usd_per_month:,.2f} and other "
        f"${server.other_usd_per_month:,.2f} a month ({server.source})."
    )
    mix = plan.best_committed
    if mix is None:
        return None
    option = _mix_option(ask, deployment, plan, mix)
    if plan.best.replicas == 0:
        option = option.model_copy(
            update={"notes": [*option.notes, "owning does not pay off on this traffic: the cheapest mix owns none"]}
        )
    result.option_id = option.id
    return option


# ------------------------------------------------------------------------------------------------ spot


def _best_spot(ask: _Ask, deployments: Sequence[Deployment], out: FinanceResult) -> Option | None:
    options = [_spot_option(ask, d, out) for d in deployments if d.gpu.spot_hourly_usd is not None]
    if not options:
        return None
    passing = [o for o in options if o.meets_slo is not False]
    return min(passing or options, key=lambda o: o.monthly_cost_usd)


def _spot_option(ask: _Ask, deployment: Deployment, out: FinanceResult) -> Option:
    """The deployment's fleet at the spot price, billed and judged with the preemptions expected in a month
    (:func:`costmodel.spot.estimate_spot`; their billed seconds join the bill as cold start)."""
    gpu, policy, slo, request = deployment.gpu, ask.policy, ask.slo, ask.request
    rate = preemption_rate(gpu, request.spot_mtbp_hours)
    est = estimate_spot(
        ask.trace,
        deployment.service,
        gpu,
        policy=policy,
        slo=slo,
        cold_start_s=deployment.cold_start_s,
        rate=rate,
        rng=np.random.default_rng([ask.seed, zlib.crc32(gpu.id.encode())]),  # independent of other draws
        lost_policy=request.lost_requests,
        runs=ask.runs,
    )
    if rate.source == "assumed":
        out.assumptions.append(f"Spot {gpu.id}: mean time between preemptions {rate.detail}.")
    attainment = est.slo_attainment()
    horizon = est.replay.horizon_s
    # The window's share of the expected preemptions: their billed seconds join the bill as cold start.
    window_share = horizon / (HOURS_PER_MONTH * 3600.0)
    extra_h = est.expected_per_month * window_share * est.billed_s_per_preemption / 3600.0
    costs = est.replay.costs
    hours = costs.hours.model_copy(
        update={"cold_start": costs.hours.cold_start + extra_h, "total": costs.hours.total + extra_h}
    )
    total = dec(costs.total_usd) + dec(extra_h) * dec(costs.hourly_usd)
    monthly = per_month(total, horizon)
    used = _spot_used(est, rate, deployment, ask)
    base = est.replay.option(
        id=f"spot:{gpu.id}:{deployment.profile.id}",
        label=f"Dedicated {gpu_words(gpu)} on spot, {fleet_words(policy)}",
        gpu_price_id=gpu.id,
        profile_id=deployment.profile.id,
        slo=slo,
    )
    note = (
        f"spot: {est.expected_per_month:.1f} preemptions expected a month ({rate.mean_hours:g} h between them, "
        f"{rate.source}); each loses ~{est.lost_per_preemption:.1f} in-flight request(s) "
        f"({request.lost_requests}) and leaves {capacity_gap_s(deployment.cold_start_s, rate.notice_s):g} s "
        f"without the replica while its replacement boots ({rate.notice_s:g} s notice)"
    )
    latency = base.latency.model_copy(update={"slo_attainment": attainment}) if base.latency else None
    return base.model_copy(
        update={
            "total_cost_usd": to_float(total),
            "monthly_cost_usd": to_float(monthly),
            "gpu_costs": costs.model_copy(update={"hours": hours, "total_usd": to_float(total)}),
            "gpu_hours_billed": hours.total,
            "cost_per_request_usd": to_float(total / est.replay.requests) if est.replay.requests else 0.0,
            "latency": latency,
            "slo_attainment": attainment,
            "meets_slo": attainment >= slo.attainment_target,
            "notes": [*base.notes, note],
            "pricing": "spot",
            "spot": used,
        }
    )


def _spot_used(est: SpotEstimate, rate: PreemptionRate, deployment: Deployment, ask: _Ask) -> SpotUsed:
    """The spot terms and the preemptions' measured effect, with the bill at both ends of the documented range."""
    lost = ask.request.lost_requests
    on_demand = deployment.on_demand_id if any(o.id == deployment.on_demand_id for o in ask.base_options) else None
    return SpotUsed(
        mean_hours_between_preemptions=rate.mean_hours,
        rate_source=rate.source,
        rate_detail=rate.detail,
        notice_s=rate.notice_s,
        cold_start_s=deployment.cold_start_s,
        capacity_gap_s=capacity_gap_s(deployment.cold_start_s, rate.notice_s),
        expected_preemptions_per_month=est.expected_per_month,
        lost_requests=lost,
        lost_requests_per_preemption=est.lost_per_preemption,
        slo_misses_per_preemption=est.misses_per_preemption,
        usd_per_preemption=to_float(est.usd_per_preemption),
        events_measured=len(est.effects),
        slo_attainment_without_preemptions=est.replay.latency.slo_attainment,
        on_demand_option_id=on_demand,
        what_if=[
            SpotWhatIf(
                mean_hours_between_preemptions=h,
                monthly_cost_usd=to_float(est.monthly_usd(h)),
                slo_attainment=est.slo_attainment(h),
            )
            for h in MTBP_RANGE_HOURS
        ],
    )
