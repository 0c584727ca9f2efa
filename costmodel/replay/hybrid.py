"""Hybrid serving: dedicated replicas carry the base, the rest goes to a serverless API.

- **Overflow** (:func:`replay_hybrid`, :func:`best_hybrid`): ``N`` always-on replicas; a request that finds
  every slot busy — one that would otherwise queue and break the TTFT target — goes to serverless instead
  (the pool's ``loss`` discipline). :func:`best_hybrid` tries every ``N`` from 0 (all serverless) to the
  first that never overflows and keeps the cheapest that meets the SLO attainment target.
- **Routing by output length** (:func:`route_by_output`): requests with more output tokens than a threshold
  go to one side (by default the dedicated fleet, where a long answer costs GPU time rather than per-token
  fees), the rest to the other; the fleet follows the given policy. Thresholds at output-length quantiles are
  tried and the cheapest that meets the target is kept.

Latency of the requests sent to serverless comes from a serverless profile when one is given; without one
they are counted as meeting the SLO (said in the notes; :class:`ServerlessSide`). The overflow search prices
each candidate without the full summaries (:class:`OverflowJob`: the lease's bill, the overflow's bill, the
requests meeting the SLO at their mean latency). On a trace dataset each candidate is a streamed loss pool
(:mod:`.streamed`), a wave of them at a time on the Dask workers, and the chosen split is replayed streamed in
full (latency from spilled values); the results are the in-memory ones on the same trace.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy.special import ndtri

from breakeven.errors import InputError
from breakeven.parallel import current_client, pmap, worker_count
from costmodel.profiles.schema import Profile
from costmodel.replay._arrays import BoolArray, FloatArray, RequestArrays, TraceLike, request_arrays
from costmodel.replay.autoscale import Instances
from costmodel.replay.billing import Billed, OptionBasis, Tier, hourly_price, lease_cost_usd
from costmodel.replay.chunked import BLOCK, chunks, totals
from costmodel.replay.dedicated import replay_dedicated, run_fleet, summarize_fleet
from costmodel.replay.fleet import FleetSim, Pool
from costmodel.replay.serverless import BillSums, StatCurve, bill_sums, priced, serverless_bill, serverless_latency
from costmodel.replay.settings import FleetOptions, billing_horizon, checked_horizon, mean_mix, replica_slots, slots_at
from costmodel.replay.stats import distribution
from costmodel.replay.streamed import (
    LatencySums,
    StreamedReplay,
    plan_fleets_streamed,
    pool_chunks,
    replay_dedicated_streamed,
)
from costmodel.replay.summary import DedicatedReplay, met_at_mean
from costmodel.results import AutoscalePolicy, Distribution, Latency, Slo, TokenCosts
from costmodel.service import ReplicaService
from pricing.models import GpuPrice, TokenPrice
from pricing.money import dec, to_float
from traces.dataset import TraceDataset

MAX_HYBRID_REPLICAS = 64


@dataclass(frozen=True)
class HybridReplay(Billed):
    """A split between a dedicated fleet and serverless over a trace."""

    replicas: int | None
    """Always-on replicas (overflow split); None for routing by output length."""
    dedicated: DedicatedReplay | None
    """The dedicated side (None when nothing runs there)."""
    serverless: TokenCosts
    """The bill of the requests sent to serverless."""
    to_serverless: BoolArray
    """Per request: sent to serverless."""
    latency: Latency
    horizon_s: float
    requests: int
    threshold_output_tokens: int | None = None
    notes: list[str] = field(default_factory=list)
    overflow_count: int | None = None
    """Requests sent to serverless, where no per-request mask is kept (a trace dataset; ``to_serverless`` is
    then empty)."""

    @property
    def served_all(self) -> bool:
        """False when the dedicated part never served some of its requests: they cost nothing, so the split
        cannot pass its SLO (an unserved request counts against the option, never for it)."""
        return self.dedicated is None or self.dedicated.unserved == 0

    @property
    def overflow_share(self) -> float:
        """Share of requests sent to serverless."""
        if self.overflow_count is not None:
            return self.overflow_count / self.requests if self.requests else 0.0
        return float(self.to_serverless.mean()) if self.requests else 0.0

    @property
    def total_cost_usd(self) -> float:
        """Dedicated bill plus serverless bill over the trace [USD]."""
        return to_float(dec(self.dedicated.total_cost_usd if self.dedicated else 0.0) + dec(self.serverless.total_usd))

    def option_basis(self) -> OptionBasis:
        """``kind='hybrid'``: the overflow's token bill, the fleet's GPU bill and replicas, the overflow share."""
        ded = self.dedicated
        fields = {
            "token_costs": self.serverless,
            "gpu_costs": ded.costs if ded else None,
            "gpu_hours_billed": ded.costs.hours.total if ded else None,
            "replicas": ded.replicas if ded else None,
            "overflow_share": self.overflow_share,
        }
        return OptionBasis("hybrid", self.requests, self.latency, self.served_all, fields)


# -------------------------------------------------------------------------------------- combined latency


@dataclass(frozen=True)
class ServerlessSide:
    """The requests a hybrid sends to serverless, as its latency sees them: the shares meeting the SLO, TTFT
    and TPOT targets and the latency curves, from a serverless profile (without one, every request counts as
    meeting the SLO)."""

    both: float
    ttft_share: float
    tpot_share: float
    ttft_curve: StatCurve | None
    tpot_curve: StatCurve | None
    source: str
    """The combined latency's source: ``replay + <profile id>``, or ``hybrid`` without a profile."""

    @classmethod
    def of(cls, profile: Profile | None, slo: Slo, notes: list[str]) -> ServerlessSide:
        if profile is None:
            notes.append("no serverless profile: requests sent to serverless are counted as meeting the SLO")
            return cls(1.0, 1.0, 1.0, None, None, "hybrid")
        latency, more = serverless_latency(profile, slo)
        notes += more
        point = profile.warm[0]
        ttft = StatCurve.of(point.ttft_ms) if point.ttft_ms else None
        tpot = StatCurve.of(point.tpot_ms) if point.tpot_ms else None
        shares = (latency.slo_attainment, latency.ttft_attainment, latency.tpot_attainment)
        return cls(*shares, ttft, tpot, f"replay + {profile.id}")

    @staticmethod
    def quantiles(curve: StatCurve | None, n: int, lo: int = 0, hi: int | None = None) -> FloatArray:
        """Elements ``lo:hi`` of ``n`` evenly spaced quantiles of a latency curve (a deterministic stand-in
        for ``n`` draws)."""
        if curve is None or n == 0:
            return np.empty(0)
        return curve.value_at(ndtri((np.arange(lo, n if hi is None else hi) + 0.5) / n))

    def latency(
        self,
        *,
        ttft: Distribution,
        tpot: Distribution,
        queue: Distribution,
        met: tuple[float, float, float],
        n_serverless: int,
        n: int,
    ) -> Latency:
        """The whole trace's latency: distributions over both sides, and attainments from the dedicated
        requests that ``met`` the SLO, TTFT and TPOT targets plus this side's shares of ``n_serverless``."""
        return Latency(
            ttft_ms=ttft,
            tpot_ms=tpot,
            queue_ms=queue,
            slo_attainment=(met[0] + self.both * n_serverless) / n if n else 1.0,
            ttft_attainment=(met[1] + self.ttft_share * n_serverless) / n if n else 1.0,
            tpot_attainment=(met[2] + self.tpot_share * n_serverless) / n if n else 1.0,
            source=self.source,
        )


def combined_latency(
    ded: DedicatedReplay | None, n_serverless: int, profile: Profile | None, slo: Slo, notes: list[str]
) -> Latency:
    """Latency of the whole trace: the dedicated requests as replayed, the serverless ones from the profile."""
    side = ServerlessSide.of(profile, slo, notes)
    n_ded = ded.requests if ded else 0
    n = n_ded + n_serverless
    if n == 0:
        return Latency(
            ttft_ms=distribution([]),
            tpot_ms=distribution([]),
            slo_attainment=1.0,
            ttft_attainment=1.0,
            tpot_attainment=1.0,
            source="hybrid",
        )
    met: tuple[float, float, float] = (0.0, 0.0, 0.0)
    ttft: list[FloatArray] = []
    tpot: list[FloatArray] = []
    wait: list[FloatArray] = []
    if ded is not None:
        per = ded.per_request
        met = (float(per.met.sum()), float(per.ttft_met.sum()), float(per.tpot_met.sum()))
        ttft, tpot, wait = [per.ttft_ms], [per.tpot_ms], [per.wait_s * 1000.0]
    ttft.append(side.quantiles(side.ttft_curve, n_serverless))
    tpot.append(side.quantiles(side.tpot_curve, n_serverless))
    wait.append(np.zeros(n_serverless))
    return side.latency(
        ttft=distribution(np.concatenate(ttft)),
        tpot=distribution(np.concatenate(tpot)),
        queue=distribution(np.concatenate(wait)),
        met=met,
        n_serverless=n_serverless,
        n=n,
    )


# ---------------------------------------------------------------------------------------------- overflow


def _fixed(replicas: int) -> AutoscalePolicy:
    return AutoscalePolicy(kind="fixed", min_replicas=replicas, max_replicas=max(replicas, 1))


def replay_hybrid(
    trace: TraceLike,
    service: ReplicaService,
    gpu_price: GpuPrice,
    token_price: TokenPrice,
    *,
    replicas: int,
    slo: Slo | None = None,
    serverless_profile: Profile | None = None,
    tier: Tier = "on_demand",
    horizon_s: float | None = None,
    slots: int | None = None,
    rng: np.random.Generator | None = None,
    timeline_points: int = 400,
    sim: FleetSim | None = None,
) -> HybridReplay:
    """``replicas`` always-on replicas; requests that find every slot busy go to serverless. (``sim``: a
    loss-discipline simulation of exactly this split, to reuse.) A trace dataset is replayed streamed
    (:func:`_overflow_replay`), with the same bill and latency and no per-request mask."""
    data = trace if isinstance(trace, TraceDataset) else request_arrays(trace)
    slo = slo or Slo()
    notes: list[str] = []
    horizon = checked_horizon(data.last_arrival_s, horizon_s)
    if replicas < 0:
        raise InputError(f"hybrid: expected replicas ≥ 0, found {replicas}")
    n = len(data)
    if replicas == 0:
        latency = combined_latency(None, n, serverless_profile, slo, notes)
        bill = serverless_bill(data, token_price)
        if isinstance(data, TraceDataset):
            return HybridReplay(0, None, bill, np.zeros(0, dtype=bool), latency, horizon, n, None, notes, n)
        return HybridReplay(0, None, bill, np.ones(n, dtype=bool), latency, horizon, n, None, notes)
    policy = _fixed(replicas)
    if isinstance(data, TraceDataset):
        options = FleetOptions(policy, slo, 0.0, tier, horizon, slots, None, rng, timeline_points)
        fleet, bill, latency = _overflow_replay(
            data, service, (gpu_price, token_price), serverless_profile, options, notes=notes
        )
        n_over = n - fleet.admitted
        return HybridReplay(replicas, fleet, bill, np.zeros(0, dtype=bool), latency, horizon, n, None, notes, n_over)
    n_slots = replica_slots(service, data, slots, notes)
    if sim is None:
        sim = run_fleet(data, service, policy, slots=n_slots, cold_start_s=0.0, horizon_s=horizon, discipline="loss")
    ded = summarize_fleet(
        data,
        service,
        sim,
        gpu_price,
        policy=policy,
        slo=slo,
        slots=n_slots,
        cold_start_s=0.0,
        tier=tier,
        horizon_s=horizon,
        rng=rng,
        timeline_points=timeline_points,
        notes=notes,
    )
    mask = ~sim.admitted
    latency = combined_latency(ded, int(mask.sum()), serverless_profile, slo, notes)
    return HybridReplay(
        replicas, ded, serverless_bill(data, token_price, mask=mask), mask, latency, horizon, n, None, notes
    )


@dataclass(frozen=True)
class HybridCandidate:
    """One split tried by a search."""

    replicas: int | None
    threshold_output_tokens: int | None
    total_cost_usd: float
    slo_attainment: float
    serverless_share: float
    meets_slo: bool


@dataclass(frozen=True)
class HybridSearch:
    """The splits tried and the best one (cheapest meeting the target; else the best attainment)."""

    best: HybridReplay
    candidates: list[HybridCandidate]
    meets_slo: bool


@dataclass(frozen=True)
class OverflowJob:
    """What every overflow candidate needs (sent once to the Dask workers when a dataset is searched)."""

    service: ReplicaService
    gpu_price: GpuPrice
    token_price: TokenPrice
    slo: Slo
    slots: int
    horizon: float
    tier: Tier
    serverless_both: float
    """Share of the requests sent to serverless that meet the SLO."""

    def all_serverless(self, bill_usd: float) -> HybridCandidate:
        """N = 0: every request to serverless."""
        both = self.serverless_both
        return HybridCandidate(0, None, bill_usd, both, 1.0, both >= self.slo.attainment_target)

    def candidate(
        self, replicas: int, instances: Instances, *, overflow_usd: float, met: int, n: int, n_over: int
    ) -> HybridCandidate:
        """N replicas: their bill plus the overflow's, and the attainment of both sides (``met`` of the
        requests the fleet took meet the SLO at their mean latency)."""
        gpu_usd = lease_cost_usd(instances, self.horizon, self.gpu_price, hourly_price(self.gpu_price, self.tier))
        attainment = (met + self.serverless_both * n_over) / n if n else 1.0
        share = n_over / n if n else 0.0
        target = self.slo.attainment_target
        return HybridCandidate(replicas, None, gpu_usd + overflow_usd, attainment, share, attainment >= target)


def _quick(req: RequestArrays, replicas: int, job: OverflowJob) -> tuple[HybridCandidate, FleetSim | None]:
    """Cost and attainment of an overflow split without the full summaries, and its simulation (to reuse)."""
    if replicas == 0:
        return job.all_serverless(serverless_bill(req, job.token_price).total_usd), None
    sim = run_fleet(
        req, job.service, _fixed(replicas), slots=job.slots, cold_start_s=0.0, horizon_s=job.horizon, discipline="loss"
    )
    over = ~sim.admitted
    cand = job.candidate(
        replicas,
        sim.instances,
        overflow_usd=serverless_bill(req, job.token_price, mask=over).total_usd,
        met=dedicated_met(req, job.service, sim, job.slo),
        n=len(req),
        n_over=int(over.sum()),
    )
    return cand, sim


def dedicated_met(req: RequestArrays, service: ReplicaService, sim: FleetSim, slo: Slo) -> int:
    """Requests the fleet served that meet both SLO targets at their mean latency (no per-request spread;
    a request never served misses)."""
    return met_count(req, service, start_s=sim.start_s, batch=sim.batch, admitted=sim.admitted, slo=slo)


def met_count(
    req: RequestArrays,
    service: ReplicaService,
    *,
    start_s: FloatArray,
    batch: npt.NDArray[np.int32],
    admitted: BoolArray,
    slo: Slo,
) -> int:
    """:func:`dedicated_met` from the pool's rows (``admitted``: the requests the fleet took)."""
    return int(met_at_mean(req, service, start_s[admitted], batch[admitted], slo, rows=admitted).sum())


# ---------------------------------------------------------------------------------- overflow on a dataset

_BILLED = ("arrival_s", "input_tokens", "output_tokens", "cached_tokens", "deferrable")
"""The columns a dataset's overflow is billed from."""


def _quick_streamed(replicas: int, ds: TraceDataset, job: OverflowJob) -> HybridCandidate:
    """One overflow split's cost and attainment at mean latencies, streamed (a Dask task)."""
    if replicas == 0:
        return job.all_serverless(serverless_bill(ds, job.token_price).total_usd)
    policy = _fixed(replicas)
    end = max(job.horizon, 0.0) + 2.0 * policy.decision_interval_s
    ((instances, _),) = plan_fleets_streamed(
        ds, job.service, policy, slots=job.slots, cold_start_s=0.0, horizons_s=[end]
    )
    pool = Pool(job.service, job.slots, "loss", instances=instances)
    met = n = n_over = 0
    bills: list[BillSums] = []
    for req, rows in pool_chunks(pool, chunks(ds, pool.chunk_size, _BILLED)):
        admitted = rows.admitted
        met += met_count(req, job.service, start_s=rows.start_s, batch=rows.batch, admitted=admitted, slo=job.slo)
        n += len(req)
        n_over += int((~admitted).sum())
        bills.append(bill_sums(req, job.token_price, ~admitted))
    overflow_usd = priced(job.token_price, bills).total_usd
    return job.candidate(replicas, instances, overflow_usd=overflow_usd, met=met, n=n, n_over=n_over)


def _overflow_candidates(ds: TraceDataset, replicas: list[int], job: OverflowJob) -> list[HybridCandidate]:
    """The overflow splits with these replica counts, one streamed replay each on the Dask workers."""
    return pmap(_quick_streamed, replicas, ds, job)


def _overflow_replay(
    ds: TraceDataset,
    service: ReplicaService,
    prices: tuple[GpuPrice, TokenPrice],
    profile: Profile | None,
    options: FleetOptions,
    *,
    notes: list[str],
) -> tuple[StreamedReplay, TokenCosts, Latency]:
    """:func:`replay_hybrid` of a dataset: the dedicated side streamed as a loss pool, the overflow
    billed chunk by chunk, and the latency of the whole trace (:func:`combined_latency` from the
    spilled dedicated values plus the profile's quantiles). Adds the replay's notes to ``notes``."""
    gpu_price, token_price = prices
    n = len(ds)
    side_notes: list[str] = []
    side = ServerlessSide.of(profile, options.slo, side_notes)
    bills: list[BillSums] = []
    combined: list[Latency] = []

    def bill_overflow(req: RequestArrays, admitted: BoolArray) -> None:
        bills.append(bill_sums(req, token_price, ~admitted))

    def combine(sums: LatencySums, admitted: int) -> None:
        combined.append(_combined(sums, side, n=n, n_serverless=n - admitted))

    ded = replay_dedicated_streamed(
        ds, service, gpu_price, options, discipline="loss", on_chunk=bill_overflow, on_latency=combine
    )
    notes += [*ded.notes, *side_notes]  # in the in-memory order: the fleet's, then the serverless side's
    return ded, priced(token_price, bills), combined[0]


def _combined(sums: LatencySums, side: ServerlessSide, *, n: int, n_serverless: int) -> Latency:
    """:func:`combined_latency` from the spilled dedicated values plus the profile's quantiles."""
    for lo in range(0, n_serverless, BLOCK):  # the profile's quantiles, in bounded memory
        hi = min(n_serverless, lo + BLOCK)
        sums.ttft.add(side.quantiles(side.ttft_curve, n_serverless, lo, hi))
        sums.tpot.add(side.quantiles(side.tpot_curve, n_serverless, lo, hi))
        sums.queue.add(np.zeros(hi - lo))
    return side.latency(
        ttft=sums.ttft.distribution(),
        tpot=sums.tpot.distribution(),
        queue=sums.queue.distribution(),
        met=(sums.met, sums.ttft_met, sums.tpot_met),
        n_serverless=n_serverless,
        n=n,
    )


# ------------------------------------------------------------------------------------------ the search


def search_overflow(
    evaluate: Callable[[list[int]], list[HybridCandidate]], wave: int, max_replicas: int
) -> list[HybridCandidate]:
    """Try N = 0, 1, ... always-on replicas, ``wave`` at a time (``evaluate`` gives their candidates, in
    order), until one never overflows, the cost has risen twice past a split that meets the SLO
    (:func:`_rising`), or ``max_replicas``. A wave of 1 evaluates nothing past the stop."""
    candidates: list[HybridCandidate] = []
    n = 0
    while n <= max_replicas:
        batch = list(range(n, min(n + wave, max_replicas + 1)))
        for cand in evaluate(batch):
            candidates.append(cand)
            if (cand.replicas or 0) > 0 and cand.serverless_share == 0.0:
                return candidates
            if len(candidates) >= 3 and _rising(candidates):
                return candidates
        n += len(batch)
    return candidates


def serverless_share(profile: Profile | None, slo: Slo, notes: list[str]) -> float:
    """Share of the requests sent to serverless that meet the SLO (1 without a serverless profile)."""
    return ServerlessSide.of(profile, slo, notes).both


def _pick(candidates: list[HybridCandidate]) -> tuple[HybridCandidate, bool]:
    passing = [c for c in candidates if c.meets_slo]
    if passing:
        return min(passing, key=lambda c: (c.total_cost_usd, c.replicas or 0)), True
    return max(candidates, key=lambda c: (c.slo_attainment, -c.total_cost_usd)), False


def best_hybrid(
    trace: TraceLike,
    service: ReplicaService,
    gpu_price: GpuPrice,
    token_price: TokenPrice,
    *,
    slo: Slo | None = None,
    serverless_profile: Profile | None = None,
    tier: Tier = "on_demand",
    horizon_s: float | None = None,
    slots: int | None = None,
    max_replicas: int = MAX_HYBRID_REPLICAS,
    rng: np.random.Generator | None = None,
) -> HybridSearch:
    """Try N = 0, 1, ... always-on replicas (up to the first that never overflows, at most ``max_replicas``)
    and keep the cheapest split that meets the SLO attainment target (else the best attainment)."""
    slo = slo or Slo()
    data = trace if isinstance(trace, TraceDataset) else request_arrays(trace)
    if isinstance(data, TraceDataset):  # candidates replayed on the whole dataset, on the Dask workers
        t = totals(data)
        mix, last = (t.mean_in, t.mean_out), t.last_arrival_s
    else:
        mix, last = mean_mix(data), data.last_arrival_s
    horizon = checked_horizon(last, horizon_s)
    n_slots = slots_at(service, *mix, slots, [])
    both = ServerlessSide.of(serverless_profile, slo, []).both
    job = OverflowJob(service, gpu_price, token_price, slo, n_slots, horizon, tier, both)
    sims: dict[int, FleetSim | None] = {}
    candidates = search_overflow(*_evaluator(data, job, sims), max_replicas)
    best, ok = _pick(candidates)
    n_best = int(best.replicas or 0)
    replay = replay_hybrid(
        data,
        service,
        gpu_price,
        token_price,
        replicas=n_best,
        slo=slo,
        serverless_profile=serverless_profile,
        tier=tier,
        horizon_s=horizon,
        slots=n_slots,
        rng=rng,
        sim=sims.get(n_best),
    )
    return HybridSearch(replay, candidates, ok)


def _evaluator(
    data: RequestArrays | TraceDataset, job: OverflowJob, sims: dict[int, FleetSim | None]
) -> tuple[Callable[[list[int]], list[HybridCandidate]], int]:
    """How :func:`search_overflow` evaluates candidates, and how many at once: in memory one by one (each
    simulation kept in ``sims``, to reuse for the chosen split); on a dataset, a wave per Dask worker."""
    if isinstance(data, TraceDataset):
        return (lambda ns: _overflow_candidates(data, ns, job)), max(2, worker_count(current_client()))

    def one_by_one(ns: list[int]) -> list[HybridCandidate]:
        found = []
        for n in ns:
            cand, sims[n] = _quick(data, n, job)
            found.append(cand)
        return found

    return one_by_one, 1


def _rising(candidates: list[HybridCandidate]) -> bool:
    """Stop adding replicas once the cost has risen twice in a row past a split that meets the SLO."""
    a, b, c = candidates[-3:]
    met_before = any(x.meets_slo for x in candidates[:-2])
    return met_before and c.total_cost_usd > b.total_cost_usd > a.total_cost_usd


# ------------------------------------------------------------------------------------- output routing


def route_by_output(
    trace: TraceLike,
    service: ReplicaService,
    gpu_price: GpuPrice,
    token_price: TokenPrice,
    *,
    policy: AutoscalePolicy | None = None,
    slo: Slo | None = None,
    cold_start_s: float = 0.0,
    long_to: Literal["dedicated", "serverless"] = "dedicated",
    thresholds: npt.ArrayLike | None = None,
    serverless_profile: Profile | None = None,
    tier: Tier = "on_demand",
    horizon_s: float | None = None,
    rng: np.random.Generator | None = None,
) -> HybridSearch:
    """Send requests with output above a threshold to ``long_to`` and the rest to the other side; try the
    thresholds (default: output-length deciles, plus 'everything on one side') and keep the best split."""
    req = request_arrays(trace)
    slo = slo or Slo()
    policy = policy or AutoscalePolicy()
    horizon = billing_horizon(req, horizon_s)
    if thresholds is None:
        qs = np.quantile(req.output_tokens, np.linspace(0.1, 0.9, 9)) if len(req) else np.zeros(0)
        top = int(req.output_tokens.max()) if len(req) else 0
        grid = np.unique(np.concatenate([[-1], np.floor(qs), [top]]).astype(np.int64))
    else:
        grid = np.unique(np.asarray(thresholds, dtype=np.int64))
    fleet = FleetOptions(policy, slo, cold_start_s, tier, horizon, rng=rng)
    prices = (gpu_price, token_price)
    candidates: list[HybridCandidate] = []
    replays: dict[int, HybridReplay] = {}
    for theta in grid.tolist():
        long = req.output_tokens > theta
        to_ded = long if long_to == "dedicated" else ~long
        split = _route(req, to_ded, service, prices, fleet, profile=serverless_profile, theta=theta)
        replays[theta] = split
        candidates.append(
            HybridCandidate(
                None,
                theta,
                split.total_cost_usd,
                split.latency.slo_attainment,
                split.overflow_share,
                split.latency.slo_attainment >= slo.attainment_target and split.served_all,
            )
        )
    best, ok = _pick(candidates)
    chosen = replays[int(best.threshold_output_tokens or 0)]
    chosen.notes.append(
        f"requests with more than {best.threshold_output_tokens} output tokens go to {long_to}; "
        "the rest to the other side"
    )
    return HybridSearch(chosen, candidates, ok)


def _route(
    req: RequestArrays,
    to_ded: BoolArray,
    service: ReplicaService,
    prices: tuple[GpuPrice, TokenPrice],
    fleet: FleetOptions,
    *,
    profile: Profile | None,
    theta: int,
) -> HybridReplay:
    """The split at output threshold ``theta``: the requests ``to_ded`` on a dedicated fleet replayed with
    ``fleet``'s options (the keywords of :func:`.dedicated.replay_dedicated`), the rest on serverless."""
    gpu_price, token_price = prices
    horizon = billing_horizon(req, fleet.horizon_s)
    notes: list[str] = []
    ded = None
    if to_ded.any():
        ded = replay_dedicated(req.subset(to_ded), service, gpu_price, **fleet._asdict())
        notes += ded.notes
    to_sls = ~to_ded
    latency = combined_latency(ded, int(to_sls.sum()), profile, fleet.slo, notes)
    bill = serverless_bill(req, token_price, mask=to_sls)
    return HybridReplay(None, ded, bill, to_sls, latency, horizon, len(req), theta, notes)


__all__ = [
    "HybridCandidate",
    "HybridReplay",
    "HybridSearch",
    "best_hybrid",
    "combined_latency",
    "replay_hybrid",
    "route_by_output",
]
