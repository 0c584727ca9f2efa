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
from typing import Protocol

import numpy as np
import numpy.typing as npt

from breakeven.errors import InputError
from costmodel.replay._arrays import RequestArrays, TraceLike, request_arrays
from costmodel.replay.autoscale import plan_fleet
from costmodel.replay.billing import Tier, billed_seconds, hourly_price, lease
from costmodel.replay.dedicated import billing_horizon, replay_dedicated, replica_slots, run_fleet
from costmodel.replay.serverless import serverless_bill
from costmodel.results import AutoscalePolicy, BreakevenRow, Slo
from costmodel.service import ReplicaService
from pricing.models import GpuPrice, TokenPrice
from traces.dataset import TraceDataset

FloatArray = npt.NDArray[np.float64]

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


class _Dedicated:
    """The fleet's bill at rate factor k (planned fleets: no queue simulation)."""

    def __init__(
        self,
        req: RequestArrays,
        service: ReplicaService,
        gpu_price: GpuPrice,
        policy: AutoscalePolicy,
        *,
        slots: int,
        cold_start_s: float,
        horizon_s: float,
        tier: Tier,
    ) -> None:
        self.req = req
        self.service = service
        self.gpu_price = gpu_price
        self.policy = policy
        self.slots = slots
        self.cold_start_s = cold_start_s
        self.horizon_s = horizon_s
        self.hourly = hourly_price(gpu_price, tier)
        self.work = service.service_s(req.input_tokens, req.output_tokens, slots)
        self.cum = np.concatenate([[0.0], np.cumsum(self.work)])

    def cost(self, k: float) -> tuple[float, int]:
        """Bill [USD] and peak replicas with arrivals compressed by ``k``."""
        arrivals = self.req.arrival_s / k
        horizon = self.horizon_s / k
        if self.policy.kind == "queue":
            scaled = RequestArrays(arrivals, self.req.input_tokens, self.req.output_tokens)
            instances = run_fleet(
                scaled, self.service, self.policy, slots=self.slots, cold_start_s=self.cold_start_s, horizon_s=horizon
            ).instances
        else:
            end = max(horizon, float(arrivals[-1]) if arrivals.size else 0.0) + 2.0 * self.policy.decision_interval_s
            instances, _ = plan_fleet(
                arrivals,
                self.work,
                self.policy,
                slots=self.slots,
                cold_start_s=self.cold_start_s,
                horizon_s=end,
                cum_work=self.cum,
            )
        leased = lease(instances, horizon)
        billed = billed_seconds(
            leased.raw_s, increment_s=self.gpu_price.billing_increment_s, minimum_s=self.gpu_price.minimum_billed_s
        )
        times, counts = instances.running_steps()
        inside = times < horizon
        peak = int(counts[inside].max()) if inside.any() else 0
        return float(billed.sum()) / 3600.0 * self.hourly, peak

    def cost_many(self, ks: Sequence[float]) -> list[tuple[float, int]]:
        """:meth:`cost` at each rate factor."""
        return [self.cost(k) for k in ks]


def _bisect(f: CostAtK, target: float, lo: float, hi: float, *, sign_lo: float, rtol: float) -> float:
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
    noted.
    """
    if isinstance(trace, TraceDataset):  # every candidate replayed on the whole dataset, rows in parallel
        from costmodel.replay.streamed_search import trace_breakeven_streamed  # noqa: PLC0415 - imports this

        return trace_breakeven_streamed(
            trace,
            service,
            gpu_price,
            token_price,
            policy=policy,
            cold_start_s=cold_start_s,
            output_tokens=output_tokens,
            slo=slo,
            tier=tier,
            horizon_s=horizon_s,
            slots=slots,
            rps_range=rps_range,
            points=points,
            rtol=rtol,
            check_slo=check_slo,
        )
    base = request_arrays(trace)
    if len(base) == 0:
        raise InputError("trace-shaped break-even: the trace is empty; expected at least one request")
    policy = policy or AutoscalePolicy()
    slo = slo or Slo()
    horizon = billing_horizon(base, horizon_s)
    if horizon <= 0:
        raise InputError("trace-shaped break-even: the trace spans 0 s; expected requests spread over time")
    rows = []
    for out in output_tokens if output_tokens is not None else [None]:
        req = base if out is None else base.with_output_tokens(int(out))
        rows.append(
            _row(
                req,
                service,
                gpu_price=gpu_price,
                token_price=token_price,
                policy=policy,
                cold_start_s=cold_start_s,
                slo=slo,
                tier=tier,
                horizon=horizon,
                slots=slots,
                rps_range=rps_range,
                points=points,
                rtol=rtol,
                check_slo=check_slo,
            )
        )
    return rows


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
    policy = policy or AutoscalePolicy()
    horizon = billing_horizon(req, horizon_s)
    if not isinstance(service, ReplicaService):
        service = service(float(req.input_tokens.mean()), float(req.output_tokens.mean()))
    n_slots = replica_slots(service, req, slots, [])
    ded = _Dedicated(
        req, service, gpu_price, policy, slots=n_slots, cold_start_s=cold_start_s, horizon_s=horizon, tier=tier
    )
    sls = serverless_bill(req, token_price).total_usd
    out = []
    for k in rate_factors:
        cost, peak = ded.cost(float(k))
        out.append(CostAtRate(float(k), len(req) * float(k) / horizon, cost, sls, peak))
    return out


def _row(
    req: RequestArrays,
    service_for: ServiceFor,
    *,
    gpu_price: GpuPrice,
    token_price: TokenPrice,
    policy: AutoscalePolicy,
    cold_start_s: float,
    slo: Slo,
    tier: Tier,
    horizon: float,
    slots: int | None,
    rps_range: tuple[float, float] | None,
    points: int,
    rtol: float,
    check_slo: bool,
) -> BreakevenRow:
    notes: list[str] = []
    n = len(req)
    mean_in = float(req.input_tokens.mean())
    mean_out = float(req.output_tokens.mean())
    service = service_for if isinstance(service_for, ReplicaService) else service_for(mean_in, mean_out)
    n_slots = replica_slots(service, req, slots, notes)
    per_replica = float(n_slots / service.service_s(mean_in, mean_out, n_slots))
    serverless = serverless_bill(req, token_price).total_usd
    per_request = serverless / n
    hourly = hourly_price(gpu_price, tier)
    ded = _Dedicated(
        req, service, gpu_price, policy, slots=n_slots, cold_start_s=cold_start_s, horizon_s=horizon, tier=tier
    )

    def replay_at(k: float) -> float:
        return replay_dedicated(
            req.scaled(k),
            service,
            gpu_price,
            policy=policy,
            slo=slo,
            cold_start_s=cold_start_s,
            tier=tier,
            horizon_s=horizon / k,
        ).latency.slo_attainment

    return search_row(
        ded,
        n=n,
        mean_in=mean_in,
        mean_out=mean_out,
        per_replica=per_replica,
        per_request=per_request,
        serverless=serverless,
        gpu_price=gpu_price,
        token_price=token_price,
        policy=policy,
        slo=slo,
        hourly=hourly,
        horizon=horizon,
        rps_range=rps_range,
        points=points,
        rtol=rtol,
        check=replay_at if check_slo else None,
        notes=notes,
    )


class CostAtK(Protocol):
    """The dedicated bill [USD] and peak replicas at rate factor k, one k or many (a dataset evaluates many
    in one pass)."""

    def cost(self, k: float) -> tuple[float, int]: ...

    def cost_many(self, ks: Sequence[float]) -> list[tuple[float, int]]: ...


def search_row(
    ded: CostAtK,
    *,
    n: int,
    mean_in: float,
    mean_out: float,
    per_replica: float,
    per_request: float,
    serverless: float,
    gpu_price: GpuPrice,
    token_price: TokenPrice,
    policy: AutoscalePolicy,
    slo: Slo,
    hourly: float,
    horizon: float,
    rps_range: tuple[float, float] | None,
    points: int,
    rtol: float,
    check: Callable[[float], float] | None,
    notes: list[str],
) -> BreakevenRow:
    """The search of one row (see the module docstring) over the bills ``ded`` gives; ``check(k)`` replays
    the fleet at the break-even rate and returns its SLO attainment."""
    mean_rps = n / horizon
    # the range of mean rates examined
    closed = hourly / 3600.0 / per_request if per_request > 0 else math.inf
    lo_rps, hi_rps = rps_range if rps_range else (closed / 100.0, closed * 100.0)
    min_k = horizon / (policy.decision_interval_s * MAX_DECISIONS) if policy.kind != "fixed" else 0.0
    cap_replicas = policy.max_replicas if policy.kind != "fixed" else policy.min_replicas
    max_rps = cap_replicas * per_replica if cap_replicas > 0 else math.inf
    k_lo = max(lo_rps / mean_rps, min_k, 1e-12)
    k_hi = min(hi_rps / mean_rps, max_rps / mean_rps)
    if not math.isfinite(k_hi) or k_hi <= k_lo:
        notes.append(f"no rate range to examine (the fleet carries at most {max_rps:,.3g} req/s); break-even not found")
        return _result(
            gpu_price=gpu_price,
            token_price=token_price,
            mean_in=mean_in,
            mean_out=mean_out,
            per_request=per_request,
            per_replica=per_replica,
            hourly=hourly,
            breakeven=None,
            crossings=[],
            replicas=None,
            notes=notes,
        )
    if hi_rps / mean_rps > k_hi:
        notes.append(f"rates above {k_hi * mean_rps:,.3g} req/s not examined: {cap_replicas} replicas at most")
    grid = np.geomspace(k_lo, k_hi, max(points, 2))
    values = [cost - serverless for cost, _ in ded.cost_many([float(k) for k in grid])]
    signs = np.sign(values)
    crossings = []
    for i in range(len(grid) - 1):
        if signs[i] != signs[i + 1] and not (signs[i] == 0 or signs[i + 1] == 0):
            crossings.append(
                _bisect(ded, serverless, float(grid[i]), float(grid[i + 1]), sign_lo=float(signs[i]), rtol=rtol)
            )
        elif signs[i + 1] == 0:
            crossings.append(float(grid[i + 1]))
    crossings_rps = [k * mean_rps for k in crossings]
    breakeven = None
    if signs[-1] < 0:
        above = [k for k in crossings if all(v < 0 for g, v in zip(grid, values, strict=True) if g > k)]
        if above:
            breakeven = min(above) * mean_rps
        else:
            breakeven = float(grid[0]) * mean_rps
            notes.append(f"dedicated is already cheaper at the lowest rate examined ({breakeven:,.3g} req/s)")
    else:
        notes.append(f"dedicated is not cheaper at any rate examined (up to {k_hi * mean_rps:,.3g} req/s)")
    if len(crossings_rps) > 1:
        notes.append(f"the bills cross {len(crossings_rps)} times (replica and billing steps)")
    replicas = None
    if breakeven is not None:
        k = breakeven / mean_rps
        replicas = ded.cost(k)[1]
        if check is not None:
            att = check(k)
            notes.append(
                f"at the break-even rate the fleet meets the SLO for {att:.1%} of requests"
                + ("" if att >= slo.attainment_target else f" (below the {slo.attainment_target:.0%} target)")
            )
    return _result(
        gpu_price=gpu_price,
        token_price=token_price,
        mean_in=mean_in,
        mean_out=mean_out,
        per_request=per_request,
        per_replica=per_replica,
        hourly=hourly,
        breakeven=breakeven,
        crossings=crossings_rps,
        replicas=replicas,
        notes=notes,
    )


def _result(
    *,
    gpu_price: GpuPrice,
    token_price: TokenPrice,
    mean_in: float,
    mean_out: float,
    per_request: float,
    per_replica: float,
    hourly: float,
    breakeven: float | None,
    crossings: list[float],
    replicas: int | None,
    notes: list[str],
) -> BreakevenRow:
    return BreakevenRow(
        input_tokens=mean_in,
        output_tokens=mean_out,
        method="trace",
        breakeven_rps=breakeven,
        breakeven_rph=None if breakeven is None else breakeven * 3600.0,
        serverless_cost_per_request_usd=per_request,
        replicas=replicas,
        crossings_rps=crossings,
        replica_capacity_rps=per_replica,
        serverless_price_id=token_price.id,
        gpu_price_id=gpu_price.id,
        gpu_hourly_usd=hourly,
        notes=notes,
    )
