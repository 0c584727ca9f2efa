"""Trace-shaped break-even: keep the trace's arrival pattern, scale its rate, and find where the dedicated
fleet's bill equals the serverless bill.

Scaling the rate by ``k`` divides every arrival time (and the billing window) by ``k``; the requests, and so
the serverless bill ``S``, stay the same, while the fleet's bill ``D(k)`` changes (shorter window, more
replicas, cold starts, billing increments and minimums: a step function of k). The root finding copes with
the steps: evaluate ``f(k) = D(k) − S`` on a log grid of k, then bisect every bracket where the sign changes
(on the sign only, so a jump is found as well as a smooth crossing). Every crossing is reported; the
break-even is the lowest rate above which dedicated stays cheaper, as a **mean** request rate
``k × requests ÷ window``.

For ``fixed`` and ``utilization`` policies each evaluation only plans the fleet (its decisions depend on
arrivals only), so it costs a few vector passes; ``queue`` policies replay the whole queue each time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from breakeven.errors import InputError
from breakeven.parallel import pmap
from costmodel.replay._arrays import FloatArray, RequestArrays, TraceLike, request_arrays
from costmodel.replay.autoscale import Instances, plan_fleet
from costmodel.replay.billing import Tier, hourly_price, lease_cost_usd
from costmodel.replay.chunked import totals
from costmodel.replay.dedicated import replay_dedicated, run_fleet
from costmodel.replay.serverless import serverless_bill
from costmodel.replay.settings import (
    FleetOptions,
    billing_horizon,
    checked_horizon,
    decisions_end,
    mean_mix,
    replica_rps,
    replica_slots,
    slots_at,
)
from costmodel.replay.streamed import plan_fleets_streamed, replay_dedicated_streamed
from costmodel.results import AutoscalePolicy, BreakevenRow, Slo
from costmodel.service import ReplicaService
from pricing.models import GpuPrice, TokenPrice
from traces.dataset import TraceDataset

ServiceFor = ReplicaService | Callable[[float, float], ReplicaService]
"""One replica's model, or a function of (mean input, mean output tokens) giving it — e.g.
``fit_replica_service(profile).service_for`` — so that each output length gets its own SLO slots."""

MAX_DECISIONS = 2_000_000
"""A rate so low that the stretched trace needs more autoscaler decisions than this is not examined."""


@dataclass(frozen=True)
class CostAtRate:
    """Both bills at one rate factor."""

    rate_factor: float
    mean_rps: float
    dedicated_usd: float
    serverless_usd: float
    peak_replicas: int


@dataclass(frozen=True)
class RowOptions:
    """How every row is searched (the arguments of :func:`trace_breakeven`, checked)."""

    policy: AutoscalePolicy
    slo: Slo
    tier: Tier
    cold_start_s: float
    horizon: float
    """The billing window at the trace's own rate [s]; at rate factor k it is ``horizon / k``."""
    slots: int | None
    rps_range: tuple[float, float] | None
    points: int
    rtol: float
    check_slo: bool


class FleetBills:
    """The dedicated fleet's bill at rate factor k: the fleet planned (``fixed``, ``utilization``) or replayed
    (``queue``) on the trace with arrivals divided by k, billed over ``horizon / k``. Subclasses say how the
    fleet is found (:meth:`instances_at`): :class:`_ArrayBills` in memory,
    :class:`DatasetBills` on a dataset."""

    def __init__(
        self,
        service: ReplicaService,
        gpu_price: GpuPrice,
        policy: AutoscalePolicy,
        *,
        slots: int,
        cold_start_s: float,
        horizon_s: float,
        tier: Tier,
        requests: tuple[int, float],
    ) -> None:
        self.service, self.gpu_price, self.policy, self.slots = service, gpu_price, policy, slots
        self.cold_start_s, self.horizon_s = cold_start_s, horizon_s
        self.hourly = hourly_price(gpu_price, tier)
        self.n, self.last = requests
        """The trace's request count and last arrival [s] at its own rate."""

    def end_at(self, k: float) -> float:
        """Decisions run until this time at rate factor ``k`` [s] (:func:`.settings.simulation_end`)."""
        return decisions_end(self.n, self.last / k, self.policy, self.horizon_s / k)

    def instances_at(self, k: float) -> Instances:
        raise NotImplementedError

    def cost(self, k: float) -> tuple[float, int]:
        """Bill [USD] and peak replicas with arrivals compressed by ``k``."""
        return self.bill(self.instances_at(k), k)

    def cost_many(self, ks: Sequence[float]) -> list[tuple[float, int]]:
        """:meth:`cost` at each rate factor."""
        return [self.cost(k) for k in ks]

    def bill(self, instances: Instances, k: float) -> tuple[float, int]:
        """The bill [USD] and peak replicas of ``instances`` over the window at rate factor ``k``."""
        horizon = self.horizon_s / k
        return lease_cost_usd(instances, horizon, self.gpu_price, self.hourly), instances.peak_running(horizon)


class _ArrayBills(FleetBills):
    """:class:`FleetBills` of a trace in memory (the work per request summed once for every k)."""

    def __init__(self, req: RequestArrays, service: ReplicaService, gpu_price: GpuPrice, **kw: Any) -> None:
        super().__init__(service, gpu_price, requests=(len(req), req.last_arrival_s), **kw)
        self.req = req
        self.work = service.service_s(req.input_tokens, req.output_tokens, self.slots)
        self.cum = np.concatenate([[0.0], np.cumsum(self.work)])

    def instances_at(self, k: float) -> Instances:
        arrivals = self.req.arrival_s / k
        if self.policy.kind == "queue":
            scaled = RequestArrays(arrivals, self.req.input_tokens, self.req.output_tokens)
            return run_fleet(
                scaled,
                self.service,
                self.policy,
                slots=self.slots,
                cold_start_s=self.cold_start_s,
                horizon_s=self.horizon_s / k,
            ).instances
        instances, _ = plan_fleet(
            arrivals,
            self.work,
            self.policy,
            slots=self.slots,
            cold_start_s=self.cold_start_s,
            horizon_s=self.end_at(k),
            cum_work=self.cum,
        )
        return instances


class DatasetBills(FleetBills):
    """:class:`FleetBills` of a dataset: planned fleets of many rate factors in one pass over
    it (:meth:`cost_many`); a queue trigger's fleet by a streamed replay at each."""

    def __init__(self, ds: TraceDataset, service: ReplicaService, gpu_price: GpuPrice, *, n: int, **kw: Any) -> None:
        super().__init__(service, gpu_price, requests=(n, ds.last_arrival_s), **kw)
        self.ds = ds

    def instances_at(self, k: float) -> Instances:
        if self.policy.kind == "queue":
            fleet = FleetOptions(self.policy, Slo(), self.cold_start_s, horizon_s=self.horizon_s / k, slots=self.slots)
            return replay_dedicated_streamed(self.ds.scaled(k), self.service, self.gpu_price, fleet).instances
        ((instances, _),) = self._planned([k])
        return instances

    def cost_many(self, ks: Sequence[float]) -> list[tuple[float, int]]:
        """:meth:`cost` at each rate factor: planned fleets in one pass over the dataset."""
        if self.policy.kind == "queue":
            return [self.cost(k) for k in ks]
        return [self.bill(instances, k) for (instances, _), k in zip(self._planned(ks), ks, strict=True)]

    def _planned(self, ks: Sequence[float]) -> list[tuple[Instances, int]]:
        """The planned fleet at each rate factor, in one pass over the dataset."""
        horizons = [self.end_at(k) for k in ks]
        return plan_fleets_streamed(
            self.ds,
            self.service,
            self.policy,
            slots=self.slots,
            cold_start_s=self.cold_start_s,
            horizons_s=horizons,
            ks=list(ks),
        )


def _bisect(f: FleetBills, target: float, lo: float, hi: float, *, sign_lo: float, rtol: float) -> float:
    """Bisect in log k on the sign of ``cost − target`` between ``lo`` and ``hi`` (signs differ)."""
    for _ in range(60):
        if hi / lo - 1.0 <= rtol:
            break
        mid = math.sqrt(lo * hi)
        value = f.cost(mid)[0] - target
        if np.sign(value) == sign_lo or (value == 0.0 and sign_lo == 0.0):
            lo = mid
        else:
            hi = mid
    return math.sqrt(lo * hi)


def trace_breakeven(
    trace: TraceLike,
    service: ServiceFor,
    gpu_price: GpuPrice,
    token_price: TokenPrice,
    *,
    policy: AutoscalePolicy | None = None,
    cold_start_s: float = 0.0,
    output_tokens: Sequence[int] | None = None,
    slo: Slo | None = None,
    tier: Tier = "on_demand",
    horizon_s: float | None = None,
    slots: int | None = None,
    rps_range: tuple[float, float] | None = None,
    points: int = 16,
    rtol: float = 1e-3,
    check_slo: bool = True,
) -> list[BreakevenRow]:
    """Trace-shaped break-even rows (``method='trace'``), one per output length asked (``output_tokens``
    overrides every request's output and keeps the input distribution), or one for the trace as it is.

    ``service`` may be a function of the mix (``fit.service_for``): each row then uses the replica model
    for its own mean input and output. ``rps_range`` bounds the mean rates examined (default: 1/100 to 100×
    the closed-form break-even, within what the stretched trace and the policy's ``max_replicas`` allow).
    With ``check_slo`` the fleet is also replayed in full at the break-even rate and its SLO attainment
    noted. A trace dataset is searched on the whole dataset, rows in parallel on the Dask workers when a client
    is open (:func:`_dataset_rows`; every rate factor of a row's grid in one pass over the dataset).
    """
    dataset = isinstance(trace, TraceDataset)
    base: RequestArrays | TraceDataset = trace if isinstance(trace, TraceDataset) else request_arrays(trace)
    if len(base) == 0:
        raise InputError("trace-shaped break-even: the trace is empty; expected at least one request")
    last = base.last_arrival_s
    horizon = checked_horizon(last, horizon_s) if not dataset else (last if horizon_s is None else float(horizon_s))
    if not (horizon > 0 and math.isfinite(horizon)):
        raise InputError("trace-shaped break-even: the trace spans 0 s; expected requests spread over time")
    opts = RowOptions(
        policy or AutoscalePolicy(),
        slo or Slo(),
        tier,
        cold_start_s,
        horizon,
        slots,
        rps_range,
        points,
        rtol,
        check_slo,
    )
    outs: list[int | None] = list(output_tokens) if output_tokens is not None else [None]
    if isinstance(base, TraceDataset):  # every candidate replayed on the whole dataset, rows in parallel
        return _dataset_rows(base, outs, service, gpu_price=gpu_price, token_price=token_price, opts=opts)
    rows = []
    for out in outs:
        req = base if out is None else base.with_output_tokens(int(out))
        mean_in, mean_out = mean_mix(req)
        row = RowTrace(req, len(req), mean_in, mean_out, serverless_bill(req, token_price).total_usd)
        rows.append(breakeven_row(row, service, gpu_price, token_price, opts))
    return rows


@dataclass(frozen=True)
class _RowJob:
    """What every break-even row needs (sent to the workers once)."""

    ds: TraceDataset
    service_for: ServiceFor
    gpu_price: GpuPrice
    token_price: TokenPrice
    opts: RowOptions


def _row_streamed(out: int | None, job: _RowJob) -> BreakevenRow:
    """One trace-shaped break-even row of a dataset (a Dask task)."""
    view = job.ds if out is None else job.ds.with_output_tokens(int(out))
    t = totals(view)
    serverless = serverless_bill(view, job.token_price).total_usd
    row = RowTrace(view, t.n, t.mean_in, t.mean_out, serverless)
    return breakeven_row(row, job.service_for, job.gpu_price, job.token_price, job.opts)


def _dataset_rows(
    ds: TraceDataset,
    outs: list[int | None],
    service: ServiceFor,
    *,
    gpu_price: GpuPrice,
    token_price: TokenPrice,
    opts: RowOptions,
) -> list[BreakevenRow]:
    """:func:`trace_breakeven`'s rows of a dataset, one per output length, in parallel."""
    return pmap(_row_streamed, outs, _RowJob(ds, service, gpu_price, token_price, opts))


def cost_curve_at_rates(
    trace: TraceLike,
    service: ServiceFor,
    gpu_price: GpuPrice,
    token_price: TokenPrice,
    rate_factors: Sequence[float],
    *,
    policy: AutoscalePolicy | None = None,
    cold_start_s: float = 0.0,
    tier: Tier = "on_demand",
    horizon_s: float | None = None,
    slots: int | None = None,
) -> list[CostAtRate]:
    """Both bills at each rate factor (for charts and checks)."""
    req = request_arrays(trace)
    horizon = billing_horizon(req, horizon_s)
    if not isinstance(service, ReplicaService):
        service = service(float(req.input_tokens.mean()), float(req.output_tokens.mean()))
    n_slots = replica_slots(service, req, slots, [])
    policy = policy or AutoscalePolicy()
    kw = {"slots": n_slots, "cold_start_s": cold_start_s, "horizon_s": horizon, "tier": tier}
    ded = _ArrayBills(req, service, gpu_price, policy=policy, **kw)
    sls = serverless_bill(req, token_price).total_usd
    out = []
    for k in rate_factors:
        cost, peak = ded.cost(float(k))
        out.append(CostAtRate(float(k), len(req) * float(k) / horizon, cost, sls, peak))
    return out


@dataclass(frozen=True)
class RowTrace:
    """One row's trace as the search sees it: the requests (in memory or a dataset), their count and mean mix,
    and their serverless bill [USD] (which does not depend on the rate)."""

    trace: RequestArrays | TraceDataset
    n: int
    mean_in: float
    mean_out: float
    serverless_usd: float


@dataclass(frozen=True)
class RowFacts:
    """The fixed numbers of one row: the replica, both prices per unit, and the trace's own rate."""

    n: int
    mean_in: float
    mean_out: float
    per_replica: float
    """One replica's sustainable rate at the row's slots [req/s]."""
    per_request: float
    """The serverless bill per request [USD]."""
    serverless: float
    """The serverless bill of the row's trace [USD]."""
    hourly: float
    """The GPU price [USD / hour]."""
    horizon: float


def breakeven_row(
    row: RowTrace, service_for: ServiceFor, gpu_price: GpuPrice, token_price: TokenPrice, opts: RowOptions
) -> BreakevenRow:
    """One trace-shaped break-even row: the replica for the row's mix, its bills at every rate factor, the
    search (:func:`search_row`), and the replay at the break-even rate when ``opts.check_slo``."""
    notes: list[str] = []
    service = service_for if isinstance(service_for, ReplicaService) else service_for(row.mean_in, row.mean_out)
    n_slots = slots_at(service, row.mean_in, row.mean_out, opts.slots, notes)
    facts = RowFacts(
        n=row.n,
        mean_in=row.mean_in,
        mean_out=row.mean_out,
        per_replica=replica_rps(service, n_slots, row.mean_in, row.mean_out),
        per_request=row.serverless_usd / row.n,
        serverless=row.serverless_usd,
        hourly=hourly_price(gpu_price, opts.tier),
        horizon=opts.horizon,
    )
    kw = {"slots": n_slots, "cold_start_s": opts.cold_start_s, "horizon_s": opts.horizon, "tier": opts.tier}
    trace = row.trace
    if isinstance(trace, TraceDataset):
        bills: FleetBills = DatasetBills(trace, service, gpu_price, n=row.n, policy=opts.policy, **kw)
    else:
        bills = _ArrayBills(trace, service, gpu_price, policy=opts.policy, **kw)

    def replay_at(k: float) -> float:
        fleet = FleetOptions(opts.policy, opts.slo, opts.cold_start_s, opts.tier, opts.horizon / k)
        return replay_dedicated(trace.scaled(k), service, gpu_price, **fleet._asdict()).latency.slo_attainment

    ids = (gpu_price.id, token_price.id)
    return search_row(bills, facts, opts, ids=ids, check=replay_at if opts.check_slo else None, notes=notes)


def search_row(
    ded: FleetBills,
    facts: RowFacts,
    opts: RowOptions,
    *,
    ids: tuple[str, str],
    check: Callable[[float], float] | None,
    notes: list[str],
) -> BreakevenRow:
    """The search of one row (see the module docstring) over the bills ``ded`` gives; ``check(k)`` replays
    the fleet at the break-even rate and returns its SLO attainment. ``ids``: the GPU and serverless price."""
    mean_rps = facts.n / facts.horizon
    window = _rate_window(facts, opts, notes)
    if window is None:
        return _result(facts, ids, breakeven=None, crossings=[], replicas=None, notes=notes)
    k_lo, k_hi = window
    grid = np.geomspace(k_lo, k_hi, max(opts.points, 2))
    values = [cost - facts.serverless for cost, _ in ded.cost_many([float(k) for k in grid])]
    crossings = _crossings(ded, facts.serverless, grid, values, rtol=opts.rtol)
    breakeven = _lowest_for_good(grid, values, crossings, mean_rps, notes, k_hi=k_hi)
    if len(crossings) > 1:
        notes.append(f"the bills cross {len(crossings)} times (replica and billing steps)")
    replicas = None
    if breakeven is not None:
        k = breakeven / mean_rps
        replicas = ded.cost(k)[1]
        if check is not None:
            att = check(k)
            target = opts.slo.attainment_target
            notes.append(
                f"at the break-even rate the fleet meets the SLO for {att:.1%} of requests"
                + ("" if att >= target else f" (below the {target:.0%} target)")
            )
    crossings_rps = [k * mean_rps for k in crossings]
    return _result(facts, ids, breakeven=breakeven, crossings=crossings_rps, replicas=replicas, notes=notes)


def _rate_window(facts: RowFacts, opts: RowOptions, notes: list[str]) -> tuple[float, float] | None:
    """The rate factors examined, ``(k_lo, k_hi)``: the asked (or default) mean rates, within what the
    stretched trace's decisions and the policy's largest fleet allow; None (with a note) when empty."""
    policy = opts.policy
    mean_rps = facts.n / facts.horizon
    closed = facts.hourly / 3600.0 / facts.per_request if facts.per_request > 0 else math.inf
    lo_rps, hi_rps = opts.rps_range if opts.rps_range else (closed / 100.0, closed * 100.0)
    min_k = facts.horizon / (policy.decision_interval_s * MAX_DECISIONS) if policy.kind != "fixed" else 0.0
    cap_replicas = policy.max_replicas if policy.kind != "fixed" else policy.min_replicas
    max_rps = cap_replicas * facts.per_replica if cap_replicas > 0 else math.inf
    k_lo = max(lo_rps / mean_rps, min_k, 1e-12)
    k_hi = min(hi_rps / mean_rps, max_rps / mean_rps)
    if not math.isfinite(k_hi) or k_hi <= k_lo:
        notes.append(f"no rate range to examine (the fleet carries at most {max_rps:,.3g} req/s); break-even not found")
        return None
    if hi_rps / mean_rps > k_hi:
        notes.append(f"rates above {k_hi * mean_rps:,.3g} req/s not examined: {cap_replicas} replicas at most")
    return k_lo, k_hi


def _crossings(ded: FleetBills, target: float, grid: FloatArray, values: list[float], *, rtol: float) -> list[float]:
    """Rate factors where ``cost − target`` changes sign between grid points (bisected), or is 0 on one."""
    signs = np.sign(values)
    crossings = []
    for i in range(len(grid) - 1):
        if signs[i] != signs[i + 1] and not (signs[i] == 0 or signs[i + 1] == 0):
            crossings.append(
                _bisect(ded, target, float(grid[i]), float(grid[i + 1]), sign_lo=float(signs[i]), rtol=rtol)
            )
        elif signs[i + 1] == 0:
            crossings.append(float(grid[i + 1]))
    return crossings


def _lowest_for_good(
    grid: FloatArray, values: list[float], crossings: list[float], mean_rps: float, notes: list[str], *, k_hi: float
) -> float | None:
    """The break-even [req/s]: the lowest crossing above which dedicated stays cheaper at every grid point
    (the lowest rate examined when it is cheaper throughout); None when it is not cheaper at the top."""
    if not np.sign(values[-1]) < 0:
        notes.append(f"dedicated is not cheaper at any rate examined (up to {k_hi * mean_rps:,.3g} req/s)")
        return None
    above = [k for k in crossings if all(v < 0 for g, v in zip(grid, values, strict=True) if g > k)]
    if above:
        return min(above) * mean_rps
    breakeven = float(grid[0]) * mean_rps
    notes.append(f"dedicated is already cheaper at the lowest rate examined ({breakeven:,.3g} req/s)")
    return breakeven


def _result(
    facts: RowFacts,
    ids: tuple[str, str],
    *,
    breakeven: float | None,
    crossings: list[float],
    replicas: int | None,
    notes: list[str],
) -> BreakevenRow:
    gpu_price_id, serverless_price_id = ids
    return BreakevenRow(
        input_tokens=facts.mean_in,
        output_tokens=facts.mean_out,
        method="trace",
        breakeven_rps=breakeven,
        breakeven_rph=None if breakeven is None else breakeven * 3600.0,
        serverless_cost_per_request_usd=facts.per_request,
        replicas=replicas,
        crossings_rps=crossings,
        replica_capacity_rps=facts.per_replica,
        serverless_price_id=serverless_price_id,
        gpu_price_id=gpu_price_id,
        gpu_hourly_usd=facts.hourly,
        notes=notes,
    )
