"""Spot capacity with preemptions: what a spot fleet costs and how often its requests miss the SLO.

Preemptions are rare next to a trace's length (a preemptible GPU runs tens to thousands of hours between
them), so drawing them at random over an hour-long trace would almost always draw none. Instead the model
**measures one preemption's effect on the replay and multiplies it by how many to expect**:

1. replay the fleet at the spot price (the same fleet as on demand: spot changes the price, not the
   autoscaler);
2. inject one preemption at each of several moments drawn uniformly over the fleet's ready replica-time
   (seeded): the replica stops, a replacement launches at the notice and pays a cold start
   (:mod:`costmodel.billing.spot`); the requests it was serving are lost — retried on the rest of the fleet
   (a retried request meets the SLO only if it had not started streaming and its retry's first token still
   comes within the target, counted from the original arrival) or failed (a miss); requests that arrive
   while the capacity is missing queue on the others. Each injection is replayed on the traffic around it
   and compared with the same window without it: extra SLO misses, lost requests, extra billed time;
3. expected preemptions per month = replica-hours per month ÷ the mean hours between preemptions (a
   Poisson process per replica); the monthly bill adds that many times the extra cost of one, and the SLO
   attainment loses that many times the extra misses of one.

The mean time between preemptions comes from the catalog (``GpuPrice.spot_preemption``), else the user
(``--spot-mtbp-hours``), else an assumption stated in the report (:data:`ASSUMED_MTBP_HOURS`) with the
cost and SLO at both documented ends of the range (:data:`MTBP_RANGE_HOURS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from breakeven.errors import InputError
from costmodel.billing.spot import Preemption, apply_preemptions, capacity_gap_s, expected_preemptions
from costmodel.replay._arrays import RequestArrays, TraceLike, request_arrays
from costmodel.replay.autoscale import Instances
from costmodel.replay.billing import Lease, billed_seconds, lease
from costmodel.replay.dedicated import DedicatedReplay, FleetRuns, replay_dedicated
from costmodel.replay.fleet import simulate_pool
from costmodel.replay.summary import met_at_mean
from costmodel.results import AutoscalePolicy, Slo
from costmodel.service import ReplicaService
from pricing.models import GpuPrice
from pricing.money import HOURS_PER_MONTH, SECONDS_PER_HOUR, dec, per_month, seconds_cost

FloatArray = npt.NDArray[np.float64]
LostPolicy = Literal["retry", "fail"]

#: Mean running hours between preemptions assumed when neither the catalog nor the user gives one: the
#: geometric middle of the two documented ends of :data:`MTBP_RANGE_HOURS` (a stated assumption, shown
#: in the report with the result at both ends).
ASSUMED_MTBP_HOURS: Final = 300.0

#: The documented range: 24 h — Google Cloud's preemptible VMs "always stop after 24 hours" (the shortest
#: life a provider states, docs.cloud.google.com/compute/docs/instances/create-use-preemptible); 3,800 h —
#: AWS Spot Instance Advisor's 15–20 % monthly interruption band for p5 (H100) instances in February 2026
#: (thundercompute.com/blog/cloud-gpu-spot-instance-availability), i.e. −730 h ÷ ln(1 − 0.175).
MTBP_RANGE_HOURS: Final = (24.0, 3800.0)

#: Preemptions injected to measure one preemption's effect (more = steadier average, one replay each).
DEFAULT_EVENTS: Final = 12

#: Traffic replayed around an injected preemption: from this long before it ...
_BEFORE_S: Final = 300.0
#: ... to the replacement's readiness plus this long (the backlog clears).
_AFTER_S: Final = 900.0


@dataclass(frozen=True)
class PreemptionRate:
    """Where the mean time between preemptions came from."""

    mean_hours: float
    source: Literal["catalog", "given", "assumed"]
    notice_s: float
    detail: str


def preemption_rate(gpu: GpuPrice, given_hours: float | None = None, notice_s: float | None = None) -> PreemptionRate:
    """The catalog's rate, else the user's, else the stated assumption; the notice from the catalog (or 0)."""
    terms = gpu.spot_preemption
    notice = notice_s if notice_s is not None else (terms.notice_s if terms is not None else 0.0)
    if given_hours is not None:
        if not (given_hours > 0):
            raise InputError(f"option --spot-mtbp-hours: expected hours > 0, found {given_hours}")
        return PreemptionRate(given_hours, "given", notice, f"given: {given_hours:g} h between preemptions")
    if terms is not None and terms.mean_hours_between_preemptions is not None:
        hours = terms.mean_hours_between_preemptions
        return PreemptionRate(hours, "catalog", notice, f"catalog ({terms.source}, as of {terms.as_of})")
    lo, hi = MTBP_RANGE_HOURS
    detail = (
        f"assumed {ASSUMED_MTBP_HOURS:g} h: {gpu.provider} publishes no preemption rate; the documented range runs "
        f"from {lo:g} h (Google's preemptible VMs stop within 24 h) to {hi:,.0f} h (AWS's 15–20 % monthly "
        "interruption band for H100 spot); set yours with --spot-mtbp-hours"
    )
    return PreemptionRate(ASSUMED_MTBP_HOURS, "assumed", notice, detail)


@dataclass(frozen=True)
class EventEffect:
    """What one injected preemption did."""

    at_s: float
    lost: int
    """Requests in service on the preempted replica."""
    extra_misses: int
    """Requests that miss the SLO with the preemption and did not without it."""
    extra_usd: Decimal
    """The fleet's bill with the preemption minus without it."""
    extra_billed_s: int = 0
    """Seconds billed with the preemption minus without it (the replacement's overlap and rounding)."""


@dataclass(frozen=True)
class SpotEstimate:
    """A spot fleet over a month: the bill and the SLO with the expected preemptions."""

    replay: DedicatedReplay
    """The fleet at the spot price, without preemptions."""
    rate: PreemptionRate
    cold_start_s: float
    lost_policy: LostPolicy
    effects: list[EventEffect]
    replica_hours_per_month: float
    requests_per_month: float

    @property
    def expected_per_month(self) -> float:
        """Expected preemptions per 730-hour month."""
        return expected_preemptions(self.replica_hours_per_month, self.rate.mean_hours)

    def _mean(self, values: list[float]) -> float:
        return float(np.mean(values)) if values else 0.0

    @property
    def lost_per_preemption(self) -> float:
        """Mean requests lost per preemption."""
        return self._mean([e.lost for e in self.effects])

    @property
    def misses_per_preemption(self) -> float:
        """Mean extra SLO misses per preemption."""
        return self._mean([e.extra_misses for e in self.effects])

    @property
    def billed_s_per_preemption(self) -> float:
        """Mean extra billed seconds of one preemption."""
        return self._mean([e.extra_billed_s for e in self.effects])

    @property
    def usd_per_preemption(self) -> Decimal:
        """Mean extra cost of one preemption (the replacement's cold start, billing minimums)."""
        if not self.effects:
            return Decimal(0)
        return sum((e.extra_usd for e in self.effects), Decimal(0)) / len(self.effects)

    def monthly_usd(self, mean_hours: float | None = None) -> Decimal:
        """The fleet's monthly bill with the expected preemptions (at another rate with ``mean_hours``)."""
        per_month_usd = per_month(dec(self.replay.total_cost_usd), self.replay.horizon_s)
        count = expected_preemptions(self.replica_hours_per_month, mean_hours or self.rate.mean_hours)
        return per_month_usd + dec(count) * self.usd_per_preemption

    def slo_attainment(self, mean_hours: float | None = None) -> float:
        """Share of a month's requests meeting the SLO with the expected preemptions."""
        base = self.replay.latency.slo_attainment
        if self.requests_per_month <= 0:
            return base
        count = expected_preemptions(self.replica_hours_per_month, mean_hours or self.rate.mean_hours)
        misses = (1.0 - base) * self.requests_per_month + count * self.misses_per_preemption
        return float(min(1.0, max(0.0, 1.0 - misses / self.requests_per_month)))


def estimate_spot(
    trace: TraceLike,
    service: ReplicaService,
    gpu: GpuPrice,
    *,
    policy: AutoscalePolicy,
    slo: Slo,
    cold_start_s: float,
    rate: PreemptionRate,
    rng: np.random.Generator,
    lost_policy: LostPolicy = "retry",
    events: int = DEFAULT_EVENTS,
    runs: FleetRuns | None = None,
) -> SpotEstimate:
    """Replay the fleet at the spot price and measure ``events`` injected preemptions (see the module).
    ``runs``: the analysis' pools (the on-demand fleet is the same pool, billed at the spot price)."""
    if gpu.spot_hourly_usd is None:
        raise InputError(f"GPU price {gpu.id!r}: no spot price; expected spot_hourly_usd in the catalog entry")
    req = request_arrays(trace)
    base = replay_dedicated(
        req, service, gpu, policy=policy, slo=slo, cold_start_s=cold_start_s, tier="spot", rng=rng, runs=runs
    )
    horizon = base.horizon_s
    leased = base.lease
    effects: list[EventEffect] = []
    ready = np.maximum(leased.stop_s - leased.ready_s, 0.0)
    total_ready = float(ready.sum())
    in_lease = np.flatnonzero(base.instances.start_s < horizon)  # the lease keeps the fleet's order
    if len(req) and total_ready > 0:
        draws = np.sort(rng.uniform(0.0, total_ready, size=events))
        cum = np.concatenate([[0.0], np.cumsum(ready)])
        for u in draws:
            i = int(np.searchsorted(cum, u, side="right") - 1)
            i = min(max(i, 0), len(ready) - 1)
            at = float(leased.ready_s[i] + (u - cum[i]))
            event = Preemption(int(in_lease[i]), at)
            effects.append(
                _one_event(
                    req,
                    service,
                    gpu,
                    base,
                    slo=slo,
                    event=event,
                    cold_start_s=cold_start_s,
                    rate=rate,
                    lost_policy=lost_policy,
                    rng=rng,
                )
            )
    hours = float(leased.raw_s.sum()) / SECONDS_PER_HOUR
    scale = float(HOURS_PER_MONTH) * SECONDS_PER_HOUR / horizon if horizon > 0 else 0.0
    return SpotEstimate(
        replay=base,
        rate=rate,
        cold_start_s=cold_start_s,
        lost_policy=lost_policy,
        effects=effects,
        replica_hours_per_month=hours * scale,
        requests_per_month=len(req) * scale,
    )


def _billed_s(leased: Lease, gpu: GpuPrice) -> int:
    """Whole seconds billed for the leases (increment and minimum per start)."""
    billed = billed_seconds(leased.raw_s, increment_s=gpu.billing_increment_s, minimum_s=gpu.minimum_billed_s)
    return round(float(billed.sum()))


def _window(req: RequestArrays, lo: float, hi: float) -> npt.NDArray[np.bool_]:
    return (req.arrival_s >= lo) & (req.arrival_s <= hi)


def _one_event(
    req: RequestArrays,
    service: ReplicaService,
    gpu: GpuPrice,
    base: DedicatedReplay,
    *,
    slo: Slo,
    event: Preemption,
    cold_start_s: float,
    rate: PreemptionRate,
    lost_policy: LostPolicy,
    rng: np.random.Generator,
) -> EventEffect:
    """Replay the traffic around one preemption with and without it."""
    slots = base.slots
    after = apply_preemptions(base.instances, [event], cold_start_s=cold_start_s, notice_s=rate.notice_s)
    extra_s = _billed_s(lease(after, base.horizon_s), gpu) - _billed_s(base.lease, gpu)
    extra = seconds_cost(extra_s, gpu.hourly_for("spot"))
    gap = capacity_gap_s(cold_start_s, rate.notice_s)
    mask = _window(req, event.at_s - _BEFORE_S, event.at_s + gap + _AFTER_S)
    sub = req.subset(mask)
    if len(sub) == 0:
        return EventEffect(event.at_s, 0, 0, extra, extra_s)
    before = simulate_pool(sub, service, slots=slots, instances=base.instances)
    ok_before = met_at_mean(sub, service, before.start_s, before.batch, slo)
    # The requests in service at the moment, on the preempted replica: its share of them (seeded choice).
    busy = np.flatnonzero((before.start_s <= event.at_s) & (before.start_s + before.service_s > event.at_s))
    ready_now = int((base.instances.ready_s <= event.at_s).sum() - (base.instances.stop_s <= event.at_s).sum())
    share = busy.size / max(ready_now, 1)
    count = int(np.floor(share) + (rng.random() < share - np.floor(share)))
    lost = rng.choice(busy, size=min(count, busy.size), replace=False) if count and busy.size else np.empty(0, int)
    ok_after = _replay_after(
        sub,
        service,
        slots=slots,
        after=after,
        slo=slo,
        at_s=event.at_s,
        lost=lost,
        start_before=before.start_s,
        lost_policy=lost_policy,
    )
    misses = max(0, int(ok_before.sum()) - int(ok_after.sum()))
    return EventEffect(event.at_s, int(lost.size), misses, extra, extra_s)


def _replay_after(
    sub: RequestArrays,
    service: ReplicaService,
    *,
    slots: int,
    after: Instances,
    slo: Slo,
    at_s: float,
    lost: npt.NDArray[np.int64],
    start_before: FloatArray,
    lost_policy: LostPolicy,
) -> npt.NDArray[np.bool_]:
    """Which requests of ``sub`` meet the SLO on the preempted fleet. A lost request's first attempt ends at
    ``at_s`` (it is replayed with the tokens it had produced by then); it is then retried at ``at_s`` (met
    only if it had not started streaming and the retry's first token is within the target from its original
    arrival) or failed."""
    n = len(sub)
    cut = sub.output_tokens.copy()
    if lost.size:
        ttft_s = service.ttft_ms(sub.input_tokens[lost], 1.0) / 1000.0
        elapsed = at_s - start_before[lost] - ttft_s
        produced = np.floor(np.maximum(elapsed, 0.0) * 1000.0 / service.tpot_ms(1.0)) + 1
        cut[lost] = np.minimum(cut[lost], produced.astype(np.int64))
    retries = lost if lost_policy == "retry" else np.empty(0, dtype=np.int64)
    arrival = np.concatenate([sub.arrival_s, np.full(retries.size, at_s)])
    order = np.argsort(arrival, kind="stable")
    both = RequestArrays(
        arrival_s=arrival[order],
        input_tokens=np.concatenate([sub.input_tokens, sub.input_tokens[retries]])[order],
        output_tokens=np.concatenate([cut, sub.output_tokens[retries]])[order],
        source=sub.source,
    )
    sim = simulate_pool(both, service, slots=slots, instances=after)
    back = np.empty(order.size, dtype=np.int64)
    back[order] = np.arange(order.size)
    start, batch = sim.start_s[back], sim.batch[back]
    ok = met_at_mean(sub, service, start[:n], batch[:n], slo)
    ok[lost] = False
    if retries.size:
        first_token = start_before[retries] + service.ttft_ms(sub.input_tokens[retries], 1.0) / 1000.0
        ok[retries] = met_at_mean(sub, service, start[n:], batch[n:], slo, rows=retries) & (first_token > at_s)
    return ok
