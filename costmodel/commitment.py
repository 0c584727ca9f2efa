"""The commitment planner: how many replicas to commit (or own), and what to do with the traffic above them.

A *mix* is ``K`` base replicas — committed for a term (billed every hour of it) or owned servers (fixed
monthly cost) — and one way of serving what ``K`` cannot:

- ``on_demand``: autoscale on-demand replicas above ``K`` (the policy's rules, with at least ``K`` running);
- ``serverless``: exactly ``K`` replicas; a request that finds every slot busy goes to the serverless API;
- ``on_demand+serverless``: autoscale on demand above ``K``, and send to serverless what finds no free slot
  (while an on-demand replica boots, for instance).

Every mix is replayed on the trace and billed exactly (:mod:`costmodel.billing`); it qualifies when its SLO
attainment meets the target, and the cheapest that qualifies wins (ties: fewer base replicas, then the
simpler mode).

**How the planner searches.** Replaying every ``K`` in every mode (:func:`brute_force`) is exact but costs
one replay each. The planner first *estimates* every mix from one on-demand replay:

- on demand above ``K``: ``K × committed hourly × hours + on-demand hourly × ∫ max(n(t) − K, 0) dt``, where
  ``n(t)`` is the on-demand fleet's running replicas. Its minimum is where the ``K``-th replica would run a
  share of the hours equal to the **break-even utilization** ``committed hourly ÷ on-demand hourly``;
- serverless above ``K``: ``K × committed hourly × hours + Σ c_i × max(d_i − K, 0) ÷ d_i`` over the
  autoscaler's decision intervals, with ``d_i`` the replicas the interval's work needs and ``c_i`` its
  serverless bill.

It then replays the estimate's best ``K`` and its neighbours in each mode, and walks from there while the
exact cost falls (or, while nothing meets the SLO, toward more replicas). ``tests/test_commitment.py``
checks the planner's choice against :func:`brute_force` on small cases.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt

from breakeven.errors import InputError
from costmodel.billing.committed import effective_hourly, on_demand_billed_s
from costmodel.billing.owned import owned_bill, owned_hourly_at
from costmodel.profiles.schema import Profile
from costmodel.replay._arrays import RequestArrays, TraceLike, request_arrays
from costmodel.replay.autoscale import Instances, interval_work
from costmodel.replay.billing import lease
from costmodel.replay.dedicated import billing_horizon, replica_slots, run_fleet
from costmodel.replay.fleet import Discipline, FleetSim
from costmodel.replay.hybrid import dedicated_met, serverless_share
from costmodel.replay.serverless import per_request_cost_usd, serverless_bill
from costmodel.replay.timeline import busy_seconds, cell_width
from costmodel.results import AutoscalePolicy, Slo
from costmodel.service import ReplicaService
from pricing.models import CommitmentTerm, GpuPrice, OwnedServer, TokenPrice
from pricing.money import SECONDS_PER_HOUR, dec, per_month, seconds_cost

FloatArray = npt.NDArray[np.float64]
Mode = Literal["on_demand", "serverless", "on_demand+serverless"]
MODES: Final[tuple[Mode, ...]] = ("on_demand", "serverless", "on_demand+serverless")

#: Most base replicas the planner considers (the chart's right edge).
MAX_BASE_REPLICAS: Final = 64

_NO_INSTANCES: Final = Instances(np.empty(0), np.empty(0), np.empty(0))


# ------------------------------------------------------------------------------------------------ base


@dataclass(frozen=True)
class Base:
    """What the ``K`` base replicas are: committed instances for a term, or owned servers."""

    kind: Literal["committed", "owned"]
    per_unit: int
    """Replicas per purchasable unit (1 for a committed instance; replicas per server for owned)."""
    term: CommitmentTerm | None = None
    server: OwnedServer | None = None

    @classmethod
    def committed(cls, term: CommitmentTerm) -> Base:
        """``K`` instances committed for ``term``."""
        return cls("committed", 1, term=term)

    @classmethod
    def owned(cls, server: OwnedServer, replicas_per_server: int) -> Base:
        """Owned ``server``\\ s, each holding ``replicas_per_server`` replicas."""
        return cls("owned", replicas_per_server, server=server)

    def replica_hourly(self, busy_share: float = 1.0) -> Decimal:
        """Cost of one base replica per hour (owned: at ``busy_share`` of its hours serving)."""
        if self.term is not None:
            return effective_hourly(self.term)
        return owned_hourly_at(self._server(), busy_share) / self.per_unit

    def cost(self, replicas: int, window_s: float, busy_replica_s: float) -> Decimal:
        """What ``replicas`` base replicas cost over the window (every hour of it)."""
        hours = dec(window_s) / SECONDS_PER_HOUR
        if self.term is not None:
            return replicas * hours * effective_hourly(self.term)
        servers = replicas // self.per_unit
        busy = min(dec(busy_replica_s) / SECONDS_PER_HOUR / self.per_unit, servers * hours)
        return owned_bill(self._server(), servers=servers, hours=hours, busy_server_hours=busy).total_usd

    def _server(self) -> OwnedServer:
        if self.server is None:
            raise InputError("commitment planner: an owned base needs its server's costs")
        return self.server

    def describe(self, replicas: int) -> str:
        """``'2 committed for 12 months'`` / ``'1 owned server (8 replicas)'``."""
        if self.term is not None:
            return f"{replicas} committed for {self.term.term_months} months"
        servers = replicas // self.per_unit
        return f"{servers} owned server{'s' if servers != 1 else ''} ({replicas} replicas)"


# ------------------------------------------------------------------------------------------------- mixes


@dataclass(frozen=True)
class Mix:
    """One mix replayed and billed over the trace's window [currency]."""

    replicas: int
    """Base replicas (committed or owned)."""
    mode: Mode
    base_usd: Decimal
    on_demand_usd: Decimal
    serverless_usd: Decimal
    window_s: float
    slo_attainment: float
    meets_slo: bool
    overflow_share: float
    on_demand_hours: float
    sim: FleetSim | None = field(default=None, repr=False, compare=False)

    @property
    def total_usd(self) -> Decimal:
        """The window's bill."""
        return self.base_usd + self.on_demand_usd + self.serverless_usd

    @property
    def monthly_usd(self) -> Decimal:
        """The bill per 730-hour month (the base costs every hour; usage scales with the window)."""
        return per_month(self.total_usd, self.window_s)

    @property
    def key(self) -> tuple[int, Mode]:
        """``(replicas, mode)``."""
        return self.replicas, self.mode


def _rank(mix: Mix) -> tuple[int, Decimal, int, int]:
    """Order of preference: meeting the SLO, then cost, then fewer base replicas, then the simpler mode."""
    return (0 if mix.meets_slo else 1, mix.total_usd, mix.replicas, MODES.index(mix.mode))


def best_of(mixes: Sequence[Mix]) -> Mix:
    """The cheapest mix meeting the SLO (ties: fewer base replicas, simpler mode); when none meets it, the
    one with the best attainment."""
    passing = [m for m in mixes if m.meets_slo]
    if passing:
        return min(passing, key=_rank)
    return max(mixes, key=lambda m: (m.slo_attainment, -m.total_usd, -m.replicas))


@dataclass(frozen=True)
class _Context:
    req: RequestArrays
    service: ReplicaService
    gpu: GpuPrice
    token: TokenPrice | None
    base: Base
    policy: AutoscalePolicy
    slo: Slo
    slots: int
    cold_start_s: float
    horizon_s: float
    serverless_both: float
    """Share of serverless requests meeting the SLO (1 without a serverless profile)."""


@dataclass(frozen=True)
class MixFleet:
    """How a mix's fleet runs: its autoscaling policy, cold start and what a request finding no slot does."""

    policy: AutoscalePolicy
    cold_start_s: float
    discipline: Discipline

    @classmethod
    def of(cls, policy: AutoscalePolicy, replicas: int, mode: Mode, cold_start_s: float) -> MixFleet:
        """``replicas`` base replicas in ``mode`` under the analysis' ``policy``: overflow to serverless runs
        exactly the base (always on, so no cold start; a request finding every slot busy leaves); on demand
        autoscales with at least the base running, and a request waits for a slot."""
        if mode == "serverless":
            fixed = AutoscalePolicy(kind="fixed", min_replicas=replicas, max_replicas=max(replicas, 1))
            return cls(fixed, 0.0, "loss")
        floor = max(policy.min_replicas, replicas)
        grown = policy.model_copy(update={"min_replicas": floor, "max_replicas": max(policy.max_replicas, floor)})
        return cls(grown, cold_start_s, "queue" if mode == "on_demand" else "loss")

    def run(self, req: RequestArrays, service: ReplicaService, *, slots: int, horizon_s: float) -> FleetSim:
        """Replay the requests on this fleet."""
        return run_fleet(
            req,
            service,
            self.policy,
            slots=slots,
            cold_start_s=self.cold_start_s,
            horizon_s=horizon_s,
            discipline=self.discipline,
        )


def evaluate(ctx: _Context, replicas: int, mode: Mode) -> Mix:
    """Replay and bill one mix exactly."""
    if mode != "on_demand" and ctx.token is None:
        raise InputError(f"commitment planner: mode {mode!r} needs a serverless price")
    req = ctx.req
    fleet = MixFleet.of(ctx.policy, replicas, mode, ctx.cold_start_s)
    sim: FleetSim | None = None
    n = len(req)
    if fleet.policy.min_replicas == 0 and fleet.policy.kind == "fixed":  # no replica: everything to serverless
        met, admitted = 0, np.zeros(n, dtype=bool)
        instances = _NO_INSTANCES
        busy_s = 0.0
    else:
        sim = fleet.run(req, ctx.service, slots=ctx.slots, horizon_s=ctx.horizon_s)
        met, admitted = dedicated_met(req, ctx.service, sim, ctx.slo), sim.admitted
        instances = sim.instances
        busy_s = _busy_s(sim, instances, ctx.horizon_s)
    over = ~admitted
    n_over = int(over.sum())
    gpu = ctx.gpu
    billed_s = on_demand_billed_s(
        instances, replicas, ctx.horizon_s, increment_s=gpu.billing_increment_s, minimum_s=gpu.minimum_billed_s
    )
    serverless_usd = Decimal(0)
    if n_over and ctx.token is not None:
        serverless_usd = dec(serverless_bill(req, ctx.token, mask=over).total_usd)
    attainment = (met + ctx.serverless_both * n_over) / n if n else 1.0
    return Mix(
        replicas=replicas,
        mode=mode,
        base_usd=ctx.base.cost(replicas, ctx.horizon_s, min(busy_s, replicas * ctx.horizon_s)),
        on_demand_usd=seconds_cost(billed_s, ctx.gpu.hourly_usd),
        serverless_usd=serverless_usd,
        window_s=ctx.horizon_s,
        slo_attainment=attainment,
        meets_slo=attainment >= ctx.slo.attainment_target,
        overflow_share=n_over / n if n else 0.0,
        on_demand_hours=billed_s / 3600.0,
        sim=sim,
    )


def _busy_s(sim: FleetSim, instances: Instances, horizon_s: float) -> float:
    """Replica-seconds with at least one request in service (for an owned fleet's energy)."""
    leased = lease(instances, horizon_s)
    ok = sim.admitted & np.isfinite(sim.start_s)
    width = cell_width(horizon_s, max(1.0, horizon_s / 200_000))
    start, service_s = sim.start_s[ok], sim.service_s[ok]
    busy, _, _, _ = busy_seconds(start, service_s, leased.ready_s, leased.stop_s, horizon_s, width=width)
    return busy


# --------------------------------------------------------------------------------------------- estimate


@dataclass(frozen=True)
class Estimate:
    """Every mix estimated from one on-demand replay (see the module docstring)."""

    replicas: list[int]
    """Base replicas considered (multiples of the base's unit)."""
    monthly_usd: dict[Mode, list[Decimal]]
    """Estimated monthly cost of each mode at each ``replicas``."""
    hours_share: list[float]
    """Share of the window with at least k on-demand replicas running, k = 1, 2, ... (the duration curve)."""
    breakeven_utilization: float
    """A base replica pays off against on demand when it would run at least this share of the hours."""


def _duration_curve(instances: Instances, horizon_s: float, k_max: int) -> list[float]:
    """Share of ``[0, horizon_s]`` with at least k replicas running, k = 1..k_max."""
    if horizon_s <= 0:
        return [0.0] * k_max
    times, counts = instances.running_steps()
    edges = np.concatenate([[0.0], np.clip(times, 0.0, horizon_s), [horizon_s]])
    levels = np.concatenate([[0], counts])
    widths = np.diff(edges)
    return [float(widths[levels >= k].sum() / horizon_s) for k in range(1, k_max + 1)]


def _estimate(ctx: _Context, reference: Mix, k_values: list[int]) -> Estimate:
    horizon = ctx.horizon_s
    hours = dec(horizon) / SECONDS_PER_HOUR
    instances = reference.sim.instances if reference.sim is not None else _NO_INSTANCES
    k_top = max(k_values) if k_values else 0
    share = _duration_curve(instances, horizon, max(k_top, 1))
    od_hourly = dec(ctx.gpu.hourly_usd)
    base_hourly = ctx.base.replica_hourly()
    # on demand above K: ∫ max(n − K, 0) dt = Σ_{k > K} share_k × horizon
    tail = [sum(share[k:], 0.0) for k in range(len(share) + 1)]
    monthly: dict[Mode, list[Decimal]] = {}
    months = per_month(Decimal(1), horizon)
    od_est = [
        (k * hours * base_hourly + od_hourly * dec(tail[min(k, len(tail) - 1)]) * hours) * months for k in k_values
    ]
    monthly["on_demand"] = od_est
    if ctx.token is not None:
        sls = _serverless_above(ctx, k_values)
        monthly["serverless"] = [(k * hours * base_hourly + s) * months for k, s in zip(k_values, sls, strict=True)]
        monthly["on_demand+serverless"] = od_est
    return Estimate(
        replicas=k_values,
        monthly_usd=monthly,
        hours_share=share,
        breakeven_utilization=float(base_hourly / od_hourly) if od_hourly > 0 else math.inf,
    )


def _serverless_above(ctx: _Context, k_values: list[int]) -> list[Decimal]:
    """Estimated serverless bill of the traffic beyond K replicas, per decision interval."""
    req = ctx.req
    if ctx.token is None or len(req) == 0:
        return [Decimal(0)] * len(k_values)
    dt = ctx.policy.decision_interval_s
    cells = max(1, math.ceil(ctx.horizon_s / dt + 1e-9))
    work = ctx.service.service_s(req.input_tokens, req.output_tokens, ctx.slots)
    demand = interval_work(req.arrival_s, np.asarray(work, dtype=np.float64), dt, cells) / (ctx.slots * dt)
    idx = np.minimum((req.arrival_s / dt).astype(np.int64), cells - 1)
    cost = np.bincount(idx, weights=per_request_cost_usd(req, ctx.token), minlength=cells)[:cells]
    out = []
    with np.errstate(divide="ignore", invalid="ignore"):
        for k in k_values:
            share = np.where(demand > 0, np.clip(demand - k, 0.0, None) / demand, 1.0)
            out.append(dec(float((cost * share).sum())))
    return out


# ----------------------------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class CommitmentPlan:
    """What the planner tried and chose."""

    base: Base
    gpu: GpuPrice
    token: TokenPrice | None
    estimate: Estimate
    evaluated: list[Mix]
    """Every mix replayed exactly (the chart's points)."""
    best: Mix
    best_committed: Mix | None
    """The cheapest mix with at least one base unit (the best commitment, even when none pays off)."""
    reference: Mix
    """No base, on demand: the fleet the duration curve comes from."""
    modes: tuple[Mode, ...]
    growth: float = 1.0


def _context(
    trace: TraceLike,
    service: ReplicaService,
    gpu: GpuPrice,
    base: Base,
    *,
    token: TokenPrice | None,
    policy: AutoscalePolicy,
    slo: Slo,
    cold_start_s: float,
    serverless_profile: Profile | None,
    growth: float,
) -> _Context:
    req = request_arrays(trace)
    if growth != 1.0:
        req = req.scaled(growth)
    notes: list[str] = []
    return _Context(
        req=req,
        service=service,
        gpu=gpu,
        token=token,
        base=base,
        policy=policy,
        slo=slo,
        slots=replica_slots(service, req, None, notes),
        cold_start_s=cold_start_s,
        horizon_s=billing_horizon(req, None),
        serverless_both=serverless_share(serverless_profile, slo, []),
    )


def _k_values(ctx: _Context, max_replicas: int | None, reference: Mix, fixed: int | None) -> list[int]:
    """Base sizes considered: whole units from 0 to ``max_replicas`` (default: the policy's maximum or the
    on-demand peak, at most :data:`MAX_BASE_REPLICAS`), and ``fixed`` when asked for."""
    peak = 0
    if reference.sim is not None and len(reference.sim.instances):
        _, counts = reference.sim.instances.running_steps()
        peak = int(counts.max()) if counts.size else 0
    top = max_replicas if max_replicas is not None else max(ctx.policy.max_replicas, peak)
    top = max(0, min(top, MAX_BASE_REPLICAS))
    unit = ctx.base.per_unit
    k_values = list(range(0, top + 1, unit)) if unit <= top else [0]
    if fixed is None:
        return k_values
    if fixed < 0 or fixed % unit:
        raise InputError(
            f"option --commitment: expected a whole number of base units ≥ 0 ({unit} replica(s) each), found {fixed}"
        )
    return sorted({*k_values, fixed})


def _modes(token: TokenPrice | None, modes: Sequence[Mode] | None) -> tuple[Mode, ...]:
    if modes is not None:
        chosen = tuple(modes)
        if token is None and any(m != "on_demand" for m in chosen):
            raise InputError("commitment planner: serverless modes need a serverless price to overflow to")
        return chosen
    return MODES if token is not None else ("on_demand",)


def brute_force(trace: TraceLike, service: ReplicaService, gpu: GpuPrice, base: Base, **options: Any) -> list[Mix]:
    """Every mix replayed exactly: each base size (0 to ``max_replicas``, default the policy's maximum or
    the on-demand peak) in each mode — the reference the planner is checked against. ``options`` are
    :func:`plan_commitment`'s."""
    return plan_commitment(trace, service, gpu, base, exhaustive=True, **options).evaluated


def plan_commitment(
    trace: TraceLike,
    service: ReplicaService,
    gpu: GpuPrice,
    base: Base,
    *,
    token: TokenPrice | None = None,
    policy: AutoscalePolicy | None = None,
    slo: Slo | None = None,
    cold_start_s: float = 0.0,
    serverless_profile: Profile | None = None,
    growth: float = 1.0,
    max_replicas: int | None = None,
    modes: Sequence[Mode] | None = None,
    fixed_replicas: int | None = None,
    exhaustive: bool = False,
) -> CommitmentPlan:
    """The cheapest mix of base replicas, on demand above and serverless overflow that meets the SLO.

    ``growth`` multiplies the trace's request rate (plan for the traffic you expect over the term);
    ``fixed_replicas`` plans only that base size (``--commitment K``): the mode is still chosen;
    ``exhaustive`` replays every mix instead of searching (:func:`brute_force`).
    """
    if not (math.isfinite(growth) and growth > 0):
        raise InputError(f"commitment planner: expected a positive growth factor, found {growth!r}")
    ctx = _context(
        trace,
        service,
        gpu,
        base,
        token=token,
        policy=policy or AutoscalePolicy(),
        slo=slo or Slo(),
        cold_start_s=cold_start_s,
        serverless_profile=serverless_profile,
        growth=growth,
    )
    chosen_modes = _modes(token, modes)
    reference = evaluate(ctx, 0, "on_demand")
    k_values = _k_values(ctx, max_replicas, reference, fixed_replicas)
    estimate = _estimate(ctx, reference, k_values)
    seen, best = _replay_mixes(ctx, reference, estimate, chosen_modes, fixed=fixed_replicas, exhaustive=exhaustive)
    committed = [m for m in seen if m.mode in chosen_modes and m.replicas > 0]
    best_committed = best if best.replicas > 0 else (best_of(committed) if committed else None)
    return CommitmentPlan(
        base=base,
        gpu=gpu,
        token=token,
        estimate=estimate,
        evaluated=sorted(seen, key=lambda m: (MODES.index(m.mode), m.replicas)),
        best=best,
        best_committed=best_committed,
        reference=reference,
        modes=chosen_modes,
        growth=growth,
    )


def _replay_mixes(
    ctx: _Context,
    reference: Mix,
    estimate: Estimate,
    modes: tuple[Mode, ...],
    *,
    fixed: int | None,
    exhaustive: bool,
) -> tuple[list[Mix], Mix]:
    """Every mix the plan replays, and the best: each mode's walk from the estimate's best base size (every
    size when ``exhaustive``; only ``fixed`` when given) and, when the best commits nothing, a walk among the
    sizes with a base — for the reader who asks "and with one?" (the best stays the first walks')."""
    seen: dict[tuple[int, Mode], Mix] = {reference.key: reference}
    k_values = estimate.replicas

    def run(k: int, mode: Mode) -> Mix:
        if (k, mode) not in seen:
            seen[(k, mode)] = evaluate(ctx, k, mode)
        return seen[(k, mode)]

    for mode in modes:
        if exhaustive:
            for k in k_values:
                run(k, mode)
        elif fixed is not None:
            run(fixed, mode)
        else:
            _local_search(run, mode, _estimated_best(estimate, mode, k_values), k_values)
    best = best_of([m for m in seen.values() if m.mode in modes and (fixed is None or m.replicas == fixed)])
    with_base = [k for k in k_values if k > 0]
    if best.replicas == 0 and with_base and fixed is None:
        for mode in modes:
            _local_search(run, mode, _estimated_best(estimate, mode, with_base), with_base)
    return list(seen.values()), best


def _estimated_best(estimate: Estimate, mode: Mode, k_values: list[int]) -> int:
    """The base size the estimate finds cheapest for ``mode`` among ``k_values``."""
    costs = dict(zip(estimate.replicas, estimate.monthly_usd[mode], strict=True))
    return min(k_values, key=lambda k: (costs[k], k))


def _local_search(run: Callable[[int, Mode], Mix], mode: Mode, start: int, k_values: list[int]) -> None:
    """Replay ``start`` and its neighbours, then move to the best one seen until it stops changing."""
    index = {k: i for i, k in enumerate(k_values)}
    tried: dict[int, Mix] = {}

    def visit(i: int) -> None:
        if 0 <= i < len(k_values) and k_values[i] not in tried:
            tried[k_values[i]] = run(k_values[i], mode)

    i = index[start]
    for j in (i - 1, i, i + 1):
        visit(j)
    while True:
        here = index[best_of(list(tried.values())).replicas]
        before = len(tried)
        visit(here - 1)
        visit(here + 1)
        if index[best_of(list(tried.values())).replicas] == here and len(tried) == before:
            return
