"""Replay a trace on a dedicated fleet: fixed or autoscaled replicas, cold starts, billing, latency, SLO.

:func:`replay_dedicated` receives a trace (checked into :class:`RequestArrays` by :mod:`._arrays`), one
replica's latency model (:class:`~costmodel.service.ReplicaService`), a GPU price and the policy, and
returns a :class:`DedicatedReplay`. It is two steps:

1. :func:`run_fleet`: the autoscaler's inputs (:func:`.autoscale.plan_of`), then the pool
   (:func:`.fleet.simulate_pool`) starts each request on the fleet → a :class:`.fleet.FleetSim`;
2. :func:`summarize_fleet`: each request's latency from its start and batch (:func:`request_latency`: TTFT =
   queueing wait + TTFT at its batch; TPOT at its batch), then :func:`bill_fleet` — the instances leased over
   the billing window and billed by the GPU price (:mod:`.billing`: cold start, busy and idle hours), the
   fleet's summary and the chart timeline (:mod:`.timeline`).

The streamed replay of a dataset (:mod:`.streamed`) and the hybrid (:mod:`.hybrid`) reuse both steps' pieces.
Full per-request arrays stay on the result; the pydantic summaries (:class:`GpuCosts`, :class:`Latency`,
:class:`Replicas`, :class:`Timeline`) map onto ``results.json``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from breakeven.errors import InputError
from costmodel.replay._arrays import BoolArray, FloatArray, RequestArrays, TraceLike, request_arrays
from costmodel.replay.autoscale import Instances, QueueTrigger, plan_of, step_value
from costmodel.replay.billing import Billed, Lease, Tier, gpu_costs, lease
from costmodel.replay.fleet import Discipline, FleetSim, simulate_pool
from costmodel.replay.stats import distribution, jitter
from costmodel.replay.timeline import busy_from_cells, busy_grid, served_per_cell, timeline
from costmodel.results import AutoscalePolicy, GpuCosts, Latency, Option, Replicas, Slo, Timeline
from costmodel.service import ReplicaService
from pricing.models import GpuPrice
from traces.dataset import TraceDataset


@dataclass(frozen=True)
class RequestLatency:
    """Per-request latency of the served requests and whether each met the SLO."""

    wait_s: FloatArray
    ttft_ms: FloatArray
    tpot_ms: FloatArray
    """NaN for requests with one output token (no second token: TPOT is met by definition)."""
    met: BoolArray
    ttft_met: BoolArray
    tpot_met: BoolArray


def request_latency(
    req: RequestArrays,
    service: ReplicaService,
    start_s: FloatArray,
    batch: npt.ArrayLike,
    *,
    slo: Slo,
    rng: np.random.Generator | None = None,
) -> RequestLatency:
    """TTFT = (start − arrival) + TTFT at the batch; TPOT at the batch; both spread per request by a mean-1
    lognormal matched to the service's percentile factors when ``rng`` is given."""
    n = len(req)
    b = np.asarray(batch, dtype=np.float64)  # ≥ 1 for every served request
    wait = start_s - req.arrival_s
    own = req.input_tokens.astype(np.float64)  # TTFT without queueing, built in place (5 M rows: fewer passes)
    own *= service.prefill_ms_per_token
    own += service.ttft_base_ms
    own += service.ttft_per_seq_ms * b
    tpot = b * service.tpot_per_seq_ms
    tpot += service.tpot_base_ms
    j_ttft = jitter(n, service.ttft_p_factor, slo.percentile, rng)
    j_tpot = jitter(n, service.tpot_p_factor, slo.percentile, rng)
    if j_ttft is not None:
        own *= j_ttft
    if j_tpot is not None:
        tpot *= j_tpot
    ttft = wait * 1000.0
    ttft += own
    tpot[req.output_tokens <= 1] = np.nan
    with np.errstate(invalid="ignore"):
        ttft_met = ttft <= slo.ttft_ms
        tpot_met = ~(tpot > slo.tpot_ms)
    return RequestLatency(wait, ttft, tpot, ttft_met & tpot_met, ttft_met, tpot_met)


def latency_summary(lat: RequestLatency, source: str = "replay") -> Latency:
    """The pydantic summary of per-request latency (shares are 1.0 for no requests)."""
    n = lat.met.shape[0]
    served = np.isfinite(lat.wait_s)
    everyone = bool(served.all())
    return Latency(
        ttft_ms=distribution(lat.ttft_ms if everyone else lat.ttft_ms[served]),
        tpot_ms=distribution(lat.tpot_ms if everyone else lat.tpot_ms[served]),
        queue_ms=distribution((lat.wait_s if everyone else lat.wait_s[served]) * 1000.0),
        slo_attainment=float(lat.met.mean()) if n else 1.0,
        ttft_attainment=float(lat.ttft_met.mean()) if n else 1.0,
        tpot_attainment=float(lat.tpot_met.mean()) if n else 1.0,
        source=source,
    )


def policy_label(policy: AutoscalePolicy) -> str:
    """Plain words for a policy, e.g. 'autoscale 0..4 on utilization 70 %, idle 10 min'."""
    if policy.kind == "fixed":
        return f"fixed {policy.min_replicas} replica{'s' if policy.min_replicas != 1 else ''}"
    trigger = (
        f"utilization {policy.target_utilization:.0%}"
        if policy.kind == "utilization"
        else f"queue > {policy.queue_threshold:g}/replica"
    )
    return (
        f"autoscale {policy.min_replicas}..{policy.max_replicas} on {trigger}, every {policy.decision_interval_s:g} s, "
        f"cooldown {policy.scale_up_cooldown_s:g} s, idle {policy.idle_timeout_s / 60:g} min"
    )


@dataclass(frozen=True)
class DedicatedReplay(Billed):
    """A dedicated fleet over a trace: the bill, latency, fleet summary, and the full arrays behind them."""

    costs: GpuCosts
    latency: Latency
    replicas: Replicas
    horizon_s: float
    requests: int
    slots: int
    cold_start_s: float
    policy: AutoscalePolicy
    start_s: FloatArray
    """Per request: when it started service [s] (inf if never served)."""
    batch: npt.NDArray[np.int32]
    per_request: RequestLatency
    instances: Instances
    """Every replica: start, ready and stop times [s] (stop = inf: still running at the end)."""
    lease: Lease
    """The instances clipped to the billing window ``[0, horizon_s]``."""
    slot_utilization: float
    """Request-seconds in service ÷ slot-seconds ready (how full the batches were)."""
    decisions: int
    timeline: Timeline
    notes: list[str] = field(default_factory=list)

    @property
    def total_cost_usd(self) -> float:
        """The GPU bill over the trace [USD]."""
        return self.costs.total_usd

    @property
    def unserved(self) -> int:
        """Requests the fleet never served (no capacity ever came). They cost nothing, so an option with any
        cannot pass its SLO: an unserved request counts against the option, never for it."""
        return int((~np.isfinite(self.start_s)).sum())

    def replicas_over_time(self) -> tuple[FloatArray, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Change times [s] and the replicas running and ready from each time on (full resolution)."""
        run_t, run_c = self.instances.running_steps()
        ready_t, ready_c = self.instances.ready_steps()
        times = np.union1d(run_t, ready_t)
        return times, step_value(run_t, run_c, times), step_value(ready_t, ready_c, times)

    def option(
        self,
        *,
        id: str,
        label: str,
        gpu_price_id: str | None = None,
        profile_id: str | None = None,
        slo: Slo | None = None,
    ) -> Option:
        """This replay as a results :class:`Option` (``kind='dedicated'``)."""
        target = (slo or Slo()).attainment_target
        return Option(
            id=id,
            kind="dedicated",
            label=label,
            gpu_price_id=gpu_price_id,
            profile_id=profile_id,
            **self.costs_for(self.requests),
            gpu_costs=self.costs,
            gpu_hours_billed=self.costs.hours.total,
            replicas=self.replicas,
            latency=self.latency,
            slo_attainment=self.latency.slo_attainment,
            meets_slo=self.latency.slo_attainment >= target and self.unserved == 0,
            notes=list(self.notes),
        )


def mean_mix(req: RequestArrays) -> tuple[float, float]:
    """The trace's mean input and output tokens (0 and 1 for an empty trace)."""
    mean_in = float(req.input_tokens.mean()) if len(req) else 0.0
    mean_out = float(req.output_tokens.mean()) if len(req) else 1.0
    return mean_in, mean_out


def slots_at(service: ReplicaService, mean_in: float, mean_out: float, slots: int | None, notes: list[str]) -> int:
    """Slots per replica: given, else the service's slots for the mean mix (at least 1, with a note)."""
    if slots is not None:
        if slots < 1:
            raise InputError(f"slots: expected at least 1 request per replica, found {slots}")
        return int(slots)
    found = service.slots_for(mean_in, mean_out)
    if found < 1:
        notes.append(
            "no batch meets the SLO for the trace's mean request (0 slots): replayed at one request per replica"
        )
        return 1
    return found


def replica_slots(service: ReplicaService, req: RequestArrays, slots: int | None, notes: list[str]) -> int:
    """Slots per replica: given, else the service's slots for the trace's mean mix (at least 1)."""
    return slots_at(service, *mean_mix(req), slots, notes)


def replica_rps(service: ReplicaService, slots: int, mean_in: float, mean_out: float) -> float:
    """One replica's sustainable rate at ``slots`` for the mean mix [req/s] (Little's law)."""
    return float(slots / service.service_s(mean_in, mean_out, slots))


def checked_horizon(last_arrival_s: float, horizon_s: float | None) -> float:
    """The billing window's end [s]: ``horizon_s`` (checked ≥ the last arrival) or the last arrival."""
    if horizon_s is None:
        return last_arrival_s
    if not (math.isfinite(horizon_s) and horizon_s >= last_arrival_s):
        raise InputError(f"horizon_s: expected seconds ≥ the last arrival ({last_arrival_s:g} s), found {horizon_s!r}")
    return float(horizon_s)


def billing_horizon(req: RequestArrays, horizon_s: float | None) -> float:
    """The billing window's end [s]: ``horizon_s`` (checked ≥ the last arrival) or the last arrival."""
    return checked_horizon(req.last_arrival_s, horizon_s)


def run_fleet(
    req: RequestArrays,
    service: ReplicaService,
    policy: AutoscalePolicy,
    *,
    slots: int,
    cold_start_s: float,
    horizon_s: float,
    discipline: Discipline = "queue",
    initial: int | None = None,
) -> FleetSim:
    """Plan (or, for queue triggers, co-simulate) the fleet and start every request on it.

    Decisions continue for two intervals after the last arrival, so that a request arriving at the end is
    served; capacity started after the horizon is not billed (see :func:`.billing.lease`).
    """
    sim_end = simulation_end(req, policy, horizon_s)
    work = service.service_s(req.input_tokens, req.output_tokens, slots)
    plan = plan_of(req.arrival_s, work, policy, slots=slots, sim_end_s=sim_end, initial=initial)
    scaler = plan.autoscaler(cold_start_s)
    if policy.kind != "queue":
        sim = simulate_pool(req, service, slots=slots, discipline=discipline, instances=scaler.instances())
        return replace(sim, decisions=int(plan.times.shape[0]))
    trigger = QueueTrigger(scaler, plan.times, slots)
    return simulate_pool(req, service, slots=slots, discipline=discipline, trigger=trigger)


def simulation_end(req: RequestArrays, policy: AutoscalePolicy, horizon_s: float) -> float:
    """Decisions run until two intervals after the later of the horizon and the last arrival (0: nothing)."""
    return decisions_end(len(req), req.last_arrival_s, policy, horizon_s)


def decisions_end(requests: int, last_arrival_s: float, policy: AutoscalePolicy, horizon_s: float) -> float:
    """:func:`simulation_end` from the request count and the last arrival [s]."""
    if requests == 0 and horizon_s <= 0:
        return 0.0
    return max(horizon_s, last_arrival_s) + 2.0 * policy.decision_interval_s


class FleetOptions(NamedTuple):
    """The settings of a dedicated replay, as :func:`replay_dedicated` takes them (policy and SLO given): what
    the streamed replay of a dataset receives (:func:`.streamed.replay_dedicated_streamed`)."""

    policy: AutoscalePolicy
    slo: Slo
    cold_start_s: float
    tier: Tier
    horizon_s: float | None
    slots: int | None
    initial_replicas: int | None
    rng: np.random.Generator | None
    timeline_points: int


def replay_dedicated(
    trace: TraceLike,
    service: ReplicaService,
    gpu_price: GpuPrice,
    *,
    policy: AutoscalePolicy | None = None,
    slo: Slo | None = None,
    cold_start_s: float = 0.0,
    tier: Tier = "on_demand",
    horizon_s: float | None = None,
    slots: int | None = None,
    initial_replicas: int | None = None,
    rng: np.random.Generator | None = None,
    timeline_points: int = 400,
) -> DedicatedReplay:
    """Replay ``trace`` on a dedicated fleet and bill it.

    - ``service``: one replica's latency model (e.g. ``fit_replica_service(profile).service_for(...)``).
    - ``policy``: fixed count or autoscaling (default: :class:`AutoscalePolicy` defaults).
    - ``cold_start_s``: launch → serving [s] of a replica started during the trace (e.g.
      ``profile.cold_start.best_total_s()``; see :mod:`.whatif` to recompose it from phases).
    - ``horizon_s``: the billing window ``[0, horizon_s]`` (default: the last arrival).
    - ``slots``: requests per replica (default: the service's slots for the trace's mean mix).
    - ``rng``: spread per-request latency to the service's percentile factors (default: mean latencies).

    A trace dataset is streamed through its partitions (:mod:`.streamed`), with the same results.
    """
    policy = policy or AutoscalePolicy()
    slo = slo or Slo()
    if isinstance(trace, TraceDataset):
        from costmodel.replay.streamed import replay_dedicated_streamed  # noqa: PLC0415 - it imports this module

        options = FleetOptions(
            policy, slo, cold_start_s, tier, horizon_s, slots, initial_replicas, rng, timeline_points
        )
        return replay_dedicated_streamed(trace, service, gpu_price, options)
    req = request_arrays(trace)
    notes: list[str] = []
    horizon = billing_horizon(req, horizon_s)
    n_slots = replica_slots(service, req, slots, notes)
    sim = run_fleet(
        req,
        service,
        policy,
        slots=n_slots,
        cold_start_s=cold_start_s,
        horizon_s=horizon,
        initial=initial_replicas,
    )
    return summarize_fleet(
        req,
        service,
        sim,
        gpu_price,
        policy=policy,
        slo=slo,
        slots=n_slots,
        cold_start_s=cold_start_s,
        tier=tier,
        horizon_s=horizon,
        rng=rng,
        timeline_points=timeline_points,
        notes=notes,
    )


def summarize_fleet(
    req: RequestArrays,
    service: ReplicaService,
    sim: FleetSim,
    gpu_price: GpuPrice,
    *,
    policy: AutoscalePolicy,
    slo: Slo,
    slots: int,
    cold_start_s: float,
    tier: Tier,
    horizon_s: float,
    rng: np.random.Generator | None,
    timeline_points: int,
    notes: list[str],
) -> DedicatedReplay:
    """Bill a simulated fleet and summarise its latency (shared by the dedicated and hybrid replays)."""
    notes += sim.notes
    taken = sim.admitted
    served = req.subset(taken) if not taken.all() else req
    start = sim.start_s[taken]
    batch = sim.batch[taken]
    lat = request_latency(served, service, start, batch, slo=slo, rng=rng)
    service_s = sim.service_s[taken]
    ok = np.isfinite(start)
    everyone = bool(ok.all())
    width, cells = busy_grid(horizon_s)
    counts = Served(
        requests=len(served),
        never=int((~ok).sum()),
        mean_mix=mean_mix(req),
        served_cells=served_per_cell(
            start if everyone else start[ok], service_s if everyone else service_s[ok], width, cells
        ),
        latency=latency_summary(lat),
        arrival_s=req.arrival_s,
    )
    return bill_fleet(
        sim.instances,
        counts,
        gpu_price,
        FleetSettings(service, policy, slots, cold_start_s, tier, horizon_s, timeline_points),
        decisions=sim.decisions,
        notes=notes,
        per_request=(start, batch, lat),
    )


@dataclass(frozen=True)
class Served:
    """What the bill and the summary take from the requests, however they were gathered: whole arrays in
    memory (:func:`summarize_fleet`), or sums chunk by chunk from a dataset (:mod:`.streamed`)."""

    requests: int
    """Requests the fleet took (a loss pool turns some away)."""
    never: int
    """Of those, requests never served (no capacity ever came)."""
    mean_mix: tuple[float, float]
    """The trace's mean input and output tokens (one replica's capacity in the summary)."""
    served_cells: FloatArray
    """Request-seconds in service per cell of :func:`.timeline.busy_grid` (for busy hours)."""
    latency: Latency
    arrival_s: FloatArray
    """Arrivals for the timeline (streamed: the last one only, with ``arrival_counts`` per bin)."""
    arrival_counts: npt.NDArray[np.int64] | None = None


@dataclass(frozen=True)
class FleetSettings:
    """How a replayed fleet is billed and summarised."""

    service: ReplicaService
    policy: AutoscalePolicy
    slots: int
    cold_start_s: float
    tier: Tier
    horizon_s: float
    timeline_points: int


def bill_fleet(
    instances: Instances,
    served: Served,
    gpu_price: GpuPrice,
    settings: FleetSettings,
    *,
    decisions: int,
    notes: list[str],
    per_request: tuple[FloatArray, npt.NDArray[np.int32], RequestLatency],
) -> DedicatedReplay:
    """The bill of the instances over ``[0, horizon_s]`` (cold start, busy and idle hours), the fleet's
    summary and timeline, and the latency of what it served, as a :class:`DedicatedReplay`."""
    horizon_s, slots, policy = settings.horizon_s, settings.slots, settings.policy
    leased = lease(instances, horizon_s)
    width, _ = busy_grid(horizon_s)
    busy_s, served_s, _ = busy_from_cells(served.served_cells, leased.ready_s, leased.stop_s, horizon_s, width)
    costs = gpu_costs(leased, gpu_price, busy_s=busy_s, tier=settings.tier)
    cold_starts = leased.start_s[leased.start_s > 0]
    replicas = Replicas(
        policy=policy_label(policy),
        fixed=policy.min_replicas if policy.kind == "fixed" else None,
        mean=float(leased.raw_s.sum() / horizon_s) if horizon_s > 0 else 0.0,
        peak=instances.peak_running(horizon_s),
        cold_starts=int(cold_starts.size),
        capacity_rps_per_replica=replica_rps(settings.service, slots, *served.mean_mix),
        utilization=min(1.0, costs.hours.busy / costs.hours.total) if costs.hours.total > 0 else 0.0,
    )
    if served.never:
        notes.append(f"{served.never:,} request(s) were never served: the fleet had no capacity after they arrived")
    ready_s = leased.ready_time_s
    start_s, batch, lat = per_request
    return DedicatedReplay(
        costs=costs,
        latency=served.latency,
        replicas=replicas,
        horizon_s=horizon_s,
        requests=served.requests,
        slots=slots,
        cold_start_s=settings.cold_start_s,
        policy=policy,
        start_s=start_s,
        batch=batch,
        per_request=lat,
        instances=instances,
        lease=leased,
        slot_utilization=served_s / (ready_s * slots) if ready_s > 0 else 0.0,
        decisions=decisions,
        timeline=timeline(
            served.arrival_s,
            leased.start_s,
            leased.stop_s,
            ready_from=leased.ready_s,
            ready_until=leased.stop_s,
            horizon_s=horizon_s,
            points=settings.timeline_points,
            cold_start_times_s=cold_starts,
            arrival_counts=served.arrival_counts,
        ),
        notes=notes,
    )
