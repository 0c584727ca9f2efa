"""What a replayed fleet comes to: each request's latency, the bill and the fleet's summary, as a
:class:`DedicatedReplay`.

- :func:`request_latency`: a request's TTFT (queueing wait + TTFT at its batch) and TPOT at its batch, spread
  per request when a random generator is given; :func:`latency_summary`: the pydantic :class:`Latency`.
- :func:`bill_fleet`: the instances leased over the billing window and billed by the GPU price (:mod:`.billing`:
  cold start, busy and idle hours), the fleet's summary (:class:`Replicas`) and the chart (:mod:`.timeline`),
  from what :class:`Served` says of the requests — whole arrays in memory (:func:`.dedicated.summarize_fleet`)
  or sums chunk by chunk from a dataset (:mod:`.streamed`).

Full per-request arrays stay on the result; the pydantic summaries (:class:`GpuCosts`, :class:`Latency`,
:class:`Replicas`, :class:`Timeline`) map onto ``results.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from costmodel.replay._arrays import BoolArray, FloatArray, RequestArrays
from costmodel.replay.autoscale import Instances, step_value
from costmodel.replay.billing import Billed, Lease, OptionBasis, gpu_costs, lease
from costmodel.replay.settings import FleetSettings, replica_rps
from costmodel.replay.stats import distribution, jitter
from costmodel.replay.timeline import busy_from_cells, busy_grid, timeline
from costmodel.results import AutoscalePolicy, GpuCosts, Latency, Replicas, Slo, Timeline
from costmodel.service import ReplicaService
from pricing.models import GpuPrice


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


def met_at_mean(
    req: RequestArrays,
    service: ReplicaService,
    start_s: FloatArray,
    batch: npt.ArrayLike,
    slo: Slo,
    *,
    rows: npt.NDArray[np.bool_] | npt.NDArray[np.int64] | None = None,
) -> BoolArray:
    """Per request (of ``rows``, a mask or indices, when given; ``start_s`` and ``batch`` already cut to them):
    whether it meets both SLO targets at its mean latency, without the per-request spread; a request never
    served (start inf) or turned away (NaN) misses. The searches' quick verdict, where :func:`request_latency`
    is the full one."""
    arrival, n_in, n_out = req.arrival_s, req.input_tokens, req.output_tokens
    if rows is not None:
        arrival, n_in, n_out = arrival[rows], n_in[rows], n_out[rows]
    b = np.maximum(np.asarray(batch, dtype=np.float64), 1.0)
    with np.errstate(invalid="ignore"):
        ttft = (start_s - arrival) * 1000.0 + service.ttft_ms(n_in, b)
        ok = (ttft <= slo.ttft_ms) & ((n_out <= 1) | (service.tpot_ms(b) <= slo.tpot_ms))
    return np.asarray(ok & np.isfinite(start_s), dtype=bool)


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

    def option_basis(self) -> OptionBasis:
        """``kind='dedicated'``: the GPU bill and the replicas."""
        fields = {"gpu_costs": self.costs, "gpu_hours_billed": self.costs.hours.total, "replicas": self.replicas}
        return OptionBasis("dedicated", self.requests, self.latency, self.unserved == 0, fields)


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
    replicas = Replicas(
        policy=policy_label(policy),
        fixed=policy.min_replicas if policy.kind == "fixed" else None,
        mean=float(leased.raw_s.sum() / horizon_s) if horizon_s > 0 else 0.0,
        peak=instances.peak_running(horizon_s),
        cold_starts=int(leased.cold_start_times_s.size),
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
            leased, served.arrival_s, points=settings.timeline_points, arrival_counts=served.arrival_counts
        ),
        notes=notes,
    )
