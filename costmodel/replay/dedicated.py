"""Replay a trace on a dedicated fleet: fixed or autoscaled replicas, cold starts, billing, latency, SLO.

:func:`replay_dedicated` receives a trace (checked into :class:`RequestArrays` by :mod:`._arrays`), one
replica's latency model (:class:`~costmodel.service.ReplicaService`), a GPU price and the policy, and
returns a :class:`DedicatedReplay`. The slots per replica and the billing window come from :mod:`.settings`;
then two steps:

1. :func:`run_fleet`: the autoscaler's inputs (:func:`.autoscale.plan_of`), then the pool
   (:func:`.fleet.simulate_pool`) starts each request on the fleet → a :class:`.fleet.FleetSim`;
2. :func:`summarize_fleet`: each request's latency from its start and batch (:func:`.summary.request_latency`:
   TTFT = queueing wait + TTFT at its batch; TPOT at its batch), then :func:`.summary.bill_fleet` — the instances
   leased over the billing window and billed by the GPU price (:mod:`.billing`: cold start, busy and idle
   hours), the fleet's summary and the chart timeline (:mod:`.timeline`).

A trace dataset goes to the streamed replay (:mod:`.streamed`): the same pool fed chunk by chunk, billed by the
same :func:`.summary.bill_fleet`. The hybrid (:mod:`.hybrid`) reuses both steps with a ``loss`` pool. The settings
and the summary live below this module (:mod:`.settings`, :mod:`.summary`) so that :mod:`.streamed` can use
them without importing it; :class:`DedicatedReplay`, :class:`FleetOptions`, :func:`billing_horizon` and
:func:`replica_slots` are importable from here too.

:class:`FleetRuns` keeps the pools one analysis has run, so that steps replaying the same fleet on the same
requests (two GPU prices of one profile; the spot option's fleet) simulate it once.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field, replace

import numpy as np

from costmodel.replay._arrays import RequestArrays, TraceLike, request_arrays
from costmodel.replay.autoscale import QueueTrigger
from costmodel.replay.billing import Tier
from costmodel.replay.fleet import Discipline, FleetSim, simulate_pool
from costmodel.replay.settings import FleetOptions, FleetSettings, billing_horizon, fleet_plan, mean_mix, replica_slots
from costmodel.replay.streamed import replay_dedicated_streamed
from costmodel.replay.summary import DedicatedReplay, Served, bill_fleet, latency_summary, request_latency
from costmodel.replay.timeline import busy_grid, served_per_cell
from costmodel.results import AutoscalePolicy, Slo
from costmodel.service import ReplicaService
from pricing.models import GpuPrice
from traces.dataset import TraceDataset


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
    runs: FleetRuns | None = None,
) -> DedicatedReplay:
    """Replay ``trace`` on a dedicated fleet and bill it.

    - ``service``: one replica's latency model (e.g. ``fit_replica_service(profile).service_for(...)``).
    - ``policy``: fixed count or autoscaling (default: :class:`AutoscalePolicy` defaults).
    - ``cold_start_s``: launch → serving [s] of a replica started during the trace (e.g.
      ``profile.cold_start.best_total_s()``; see :mod:`.whatif` to recompose it from phases).
    - ``horizon_s``: the billing window ``[0, horizon_s]`` (default: the last arrival).
    - ``slots``: requests per replica (default: the service's slots for the trace's mean mix).
    - ``rng``: spread per-request latency to the service's percentile factors (default: mean latencies).
    - ``runs``: pools already run in this analysis, reused when the fleet and the requests are the same.

    A trace dataset is streamed through its partitions (:mod:`.streamed`), with the same results.
    """
    policy = policy or AutoscalePolicy()
    slo = slo or Slo()
    if isinstance(trace, TraceDataset):
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
        runs=runs,
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
    runs: FleetRuns | None = None,
) -> FleetSim:
    """Plan (or, for queue triggers, co-simulate) the fleet and start every request on it (``runs``: or take
    the pool from there, when it was run with the same inputs).

    Decisions continue for two intervals after the last arrival, so that a request arriving at the end is
    served; capacity started after the horizon is not billed (see :func:`.billing.lease`).
    """
    key: tuple[object, ...] = ()
    if runs is not None:
        key = (_digest(req), service, policy.model_dump_json(), slots, cold_start_s, horizon_s, discipline, initial)
        if (kept := runs.get(key)) is not None:
            return kept
    plan = fleet_plan(req, service, policy, slots=slots, horizon_s=horizon_s, initial=initial)
    scaler = plan.autoscaler(cold_start_s)
    if policy.kind != "queue":
        sim = simulate_pool(req, service, slots=slots, discipline=discipline, instances=scaler.instances())
        sim = replace(sim, decisions=int(plan.times.shape[0]))
    else:
        sim = simulate_pool(
            req, service, slots=slots, discipline=discipline, trigger=QueueTrigger(scaler, plan.times, slots)
        )
    if runs is not None:
        runs.put(key, sim)
    return sim


@dataclass
class FleetRuns:
    """:func:`run_fleet`'s results within one analysis, by their inputs: a step that replays a fleet already
    run on the same requests gets the same :class:`.fleet.FleetSim` back instead of simulating it again (on
    5 M requests, ~3 s each). Requests are matched by content (a digest of arrivals and token counts), the
    rest by value. Holds the last :data:`KEEP` pools (each a few arrays the length of the trace)."""

    KEEP = 4
    _sims: OrderedDict[tuple[object, ...], FleetSim] = field(default_factory=OrderedDict)
    hits: int = 0

    def get(self, key: tuple[object, ...]) -> FleetSim | None:
        """The pool run with these inputs (:func:`run_fleet` makes the key), if kept."""
        sim = self._sims.get(key)
        if sim is not None:
            self.hits += 1
            self._sims.move_to_end(key)
        return sim

    def put(self, key: tuple[object, ...], sim: FleetSim) -> None:
        self._sims[key] = sim
        while len(self._sims) > self.KEEP:
            self._sims.popitem(last=False)


def _digest(req: RequestArrays) -> tuple[int, str]:
    """The requests' count and a digest of what the pool reads of them (arrivals, input and output tokens)."""
    h = hashlib.blake2b(digest_size=16)
    for column in (req.arrival_s, req.input_tokens, req.output_tokens):
        h.update(np.ascontiguousarray(column).data)
    return len(req), h.hexdigest()


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


__all__ = [
    "DedicatedReplay",
    "FleetOptions",
    "FleetRuns",
    "billing_horizon",
    "replay_dedicated",
    "replica_slots",
    "run_fleet",
    "summarize_fleet",
]
