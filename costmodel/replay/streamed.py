"""The fleet replay of a trace dataset, streamed through its partitions in time order (docs/scale.md).

The in-memory replay (:mod:`.fleet`) already solves a trace in chunks of requests, carrying from one chunk
to the next only the departures still to come and the autoscaler's state. Here the same :class:`.fleet.Pool`
is fed the same chunks — cut at the same request numbers — read one at a time from the dataset's partitions
(:func:`.chunked.chunks`, :func:`pool_chunks`), so the fleet, every request's start and batch, the bill
and the SLO attainment are identical to the in-memory replay's wherever both fit; only the requests of one
chunk are in memory. :func:`replay_dedicated_streamed` is two passes over the dataset (the pool, with the
starts spilled to disk; then each chunk's latency) and :func:`.summary.bill_fleet` on what they summed.

- The autoscaler of ``fixed`` and ``utilization`` policies depends on arrivals only: it is planned first,
  from the work per decision interval (a running sum carried across chunks, the same sequential sum as in
  memory), then the pool runs on the planned fleet. ``queue`` policies decide while the pool runs, as in
  memory.
- Per-request latency is spread by the same random draws as in memory: the draws for TTFT come from a copy
  of the generator, those for TPOT from a copy advanced past them.
- Latency percentiles are exact order statistics: the values are spilled to a temporary folder and the
  ranks found by radix selection (:class:`.chunked.Spill`); means equal the in-memory ones up to summation
  order.

Nothing per request is kept on the returned :class:`DedicatedReplay` (its arrays are empty).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, cast

import numpy as np

from breakeven.errors import InputError
from costmodel.replay._arrays import FloatArray, IntArray, RequestArrays
from costmodel.replay.autoscale import Instances, QueueTrigger, decision_times, queue_plan, utilization_plan
from costmodel.replay.chunked import COLUMNS, Spill, chunks, copy_rng, skip_normals, totals
from costmodel.replay.fleet import Discipline, Pool, PoolRows, requests_per_chunk
from costmodel.replay.settings import FleetOptions, FleetSettings, checked_horizon, decisions_end, slots_at
from costmodel.replay.stats import lognormal_sigma
from costmodel.replay.summary import DedicatedReplay, RequestLatency, Served, bill_fleet, request_latency
from costmodel.replay.timeline import busy_grid, timeline_grid
from costmodel.results import AutoscalePolicy, Latency, Slo
from costmodel.service import ReplicaService
from pricing.models import GpuPrice
from traces.dataset import TraceDataset

# ---------------------------------------------------------------------------------------- the planned fleet


def _interval_cums(
    ds: TraceDataset,
    service: ReplicaService,
    *,
    slots: int,
    edges: list[FloatArray],
    first_edge: float,
    ks: list[float],
) -> list[tuple[FloatArray, float]]:
    """For each rate factor ``k`` (arrivals divided by it): the cumulative work (a sequential sum carried
    across chunks, as in memory) at the first request arriving at or after each of its ``edges``, and the work
    of the requests before ``first_edge`` (summed as ``ndarray.sum`` does). One pass for every ``k``."""
    values = [np.empty(e.size) for e in edges]
    done = [0] * len(ks)
    first: list[list[FloatArray]] = [[] for _ in ks]
    carry = 0.0
    for req in chunks(ds, requests_per_chunk(), COLUMNS):
        work = service.service_s(req.input_tokens, req.output_tokens, slots)
        cum = np.cumsum(np.concatenate([[carry], work]))
        for i, k in enumerate(ks):
            a = req.arrival_s / k if k != 1.0 else req.arrival_s
            e = edges[i]
            hi = int(np.searchsorted(e, a[-1], side="right"))
            if hi > done[i]:
                values[i][done[i] : hi] = cum[np.searchsorted(a, e[done[i] : hi], side="left")]
                done[i] = hi
            if a[0] < first_edge:
                first[i].append(work[: int(np.searchsorted(a, first_edge, side="left"))])
        carry = float(cum[-1])
    out = []
    for i in range(len(ks)):
        values[i][done[i] :] = carry
        head = np.concatenate(first[i]) if first[i] else np.zeros(0)
        out.append((values[i], float(head.sum())))
    return out


def plan_fleets_streamed(
    ds: TraceDataset,
    service: ReplicaService,
    policy: AutoscalePolicy,
    *,
    slots: int,
    cold_start_s: float,
    horizons_s: list[float],
    ks: list[float] | None = None,
    initial: int | None = None,
) -> list[tuple[Instances, int]]:
    """:func:`.autoscale.plan_fleet` over a dataset at each rate factor ``k`` (arrivals divided by it, fleet
    planned up to the matching horizon; default: the dataset's own rate for each horizon), all in one pass,
    without holding the dataset. Each fleet comes with its number of decisions."""
    ks = [1.0] * len(horizons_s) if ks is None else ks
    if policy.kind == "queue":
        raise InputError("plan_fleet: a queue-triggered policy depends on the simulated queue; use replay_dedicated")
    step = policy.decision_interval_s
    times = [decision_times(policy, h) for h in horizons_s]
    edges = [np.arange(t.shape[0] + 1, dtype=np.float64) * step for t in times]
    sums = _interval_cums(ds, service, slots=slots, edges=edges, first_edge=step, ks=ks)
    out = []
    for t, horizon, (cum, head) in zip(times, horizons_s, sums, strict=True):
        plan = utilization_plan(policy, t, np.diff(cum), head, slots=slots, initial=initial, sim_end_s=horizon)
        out.append((plan.autoscaler(cold_start_s).instances(), int(t.shape[0])))
    return out


# --------------------------------------------------------------------------------------------- the pool


def pool_chunks(pool: Pool, stream: Iterator[RequestArrays]) -> Iterator[tuple[RequestArrays, PoolRows]]:
    """Each chunk of ``stream`` through the pool, in order, with its rows (start times: NaN turned away, inf
    never served; batches; service times; admission); the decisions after the last arrival are taken before
    the last chunk is handed out."""
    req = next(stream, None)
    while req is not None:
        nxt = next(stream, None)
        rows = PoolRows.empty(len(req))
        rows.put(pool.feed(req.arrival_s, req.input_tokens, req.output_tokens, last=nxt is None))
        if nxt is None:
            pool.finish()
        rows.mark_unserved()
        yield req, rows
        req = nxt
    pool.finish()  # an empty trace: every decision comes after the (no) last arrival


# ------------------------------------------------------------------------------------------ random draws


class _SplitDraws:
    """Stands in for the generator ``request_latency`` draws from: its first draw of the replay's TTFT
    spread comes from one generator, the TPOT spread from another — the two halves of the in-memory draws."""

    def __init__(self, generators: list[np.random.Generator]) -> None:
        self.generators = generators
        self.calls = 0

    def standard_normal(self, n: int) -> FloatArray:
        gen = self.generators[self.calls % len(self.generators)]
        self.calls += 1
        return gen.standard_normal(n)


def _split_rng(
    rng: np.random.Generator | None, service: ReplicaService, slo: Slo, n: int
) -> tuple[list[np.random.Generator], np.random.Generator | None]:
    """The generators for the TTFT and TPOT draws (as many as ``request_latency`` will draw from), and the
    state ``rng`` must end in (as after the in-memory replay)."""
    if rng is None or n == 0:
        return [], None
    active = [lognormal_sigma(f, slo.percentile) != 0.0 for f in (service.ttft_p_factor, service.tpot_p_factor)]
    gens: list[np.random.Generator] = []
    state = copy_rng(rng)
    for on in active:
        if not on:
            continue
        gens.append(copy_rng(state))
        skip_normals(state, n)  # past this half's draws
    return gens, state


# ------------------------------------------------------------------------------------------ the replay


@dataclass(frozen=True)
class StreamedReplay(DedicatedReplay):
    """A :class:`DedicatedReplay` of a dataset: the summaries, and no per-request arrays."""

    unserved_count: int = 0
    admitted: int = 0
    """Requests the fleet took (all of them, except those a ``loss`` pool turned away)."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def unserved(self) -> int:
        """Requests the fleet never served."""
        return self.unserved_count


@dataclass
class LatencySums:
    """Per-request latency summed chunk by chunk: the requests meeting the SLO, TTFT and TPOT targets, and the
    TTFT, TPOT and queueing values spilled to disk (exact percentiles) — :func:`.summary.latency_summary` of a
    dataset."""

    folder: Path
    n: int = 0
    met: int = 0
    ttft_met: int = 0
    tpot_met: int = 0
    ttft: Spill = field(init=False)
    tpot: Spill = field(init=False)
    queue: Spill = field(init=False)

    def __post_init__(self) -> None:
        self.ttft = Spill(self.folder, "ttft")
        self.tpot = Spill(self.folder, "tpot")
        self.queue = Spill(self.folder, "queue")

    def add(self, lat: RequestLatency) -> None:
        self.met += int(lat.met.sum())
        self.ttft_met += int(lat.ttft_met.sum())
        self.tpot_met += int(lat.tpot_met.sum())
        self.n += int(lat.met.shape[0])
        served = np.isfinite(lat.wait_s)
        self.ttft.add(lat.ttft_ms[served])
        self.tpot.add(lat.tpot_ms[served])
        self.queue.add(lat.wait_s[served] * 1000.0)

    def summary(self, source: str = "replay") -> Latency:
        n = self.n
        return Latency(
            ttft_ms=self.ttft.distribution(),
            tpot_ms=self.tpot.distribution(),
            queue_ms=self.queue.distribution(),
            slo_attainment=self.met / n if n else 1.0,
            ttft_attainment=self.ttft_met / n if n else 1.0,
            tpot_attainment=self.tpot_met / n if n else 1.0,
            source=source,
        )


@dataclass
class Accumulator:
    """Per-request results summed chunk by chunk: arrivals per timeline bin, request-seconds in service per
    busy cell, the requests taken and never served, and their latency."""

    folder: Path
    cells: int
    width: float
    bins: int
    bin_width: float
    served: FloatArray = field(init=False)
    arrivals: IntArray = field(init=False)
    never: int = 0
    admitted: int = 0
    latency: LatencySums = field(init=False)

    def __post_init__(self) -> None:
        self.served = np.zeros(self.cells)
        self.arrivals = np.zeros(self.bins, dtype=np.int64)
        self.latency = LatencySums(self.folder)

    def add_arrivals(self, a: FloatArray) -> None:
        idx = np.minimum(np.floor(a / self.bin_width).astype(np.int64), self.bins - 1)
        self.arrivals += np.bincount(idx, minlength=self.bins)[: self.bins]

    def add_service(self, start: FloatArray, svc: FloatArray) -> None:
        ok = np.isfinite(start)
        s, d = start[ok], svc[ok]
        idx = np.floor(s / self.width).astype(np.int64)
        keep = idx < self.cells
        np.add.at(self.served, idx[keep], d[keep])  # sequential, as the in-memory bincount sums them


def replay_dedicated_streamed(
    ds: TraceDataset,
    service: ReplicaService,
    gpu_price: GpuPrice,
    options: FleetOptions,
    *,
    discipline: Discipline = "queue",
    on_chunk: Any = None,
    on_latency: Any = None,
) -> StreamedReplay:
    """:func:`.dedicated.replay_dedicated` over a dataset, streamed (see the module docstring).

    ``discipline='loss'`` turns away requests that find no free slot (the hybrid's overflow); ``on_chunk``,
    if given, is called with each chunk's requests and admission mask (the overflow's serverless bill), and
    ``on_latency`` with the accumulated :class:`LatencySums` (its spilled values) and the requests the fleet
    took, once the replay is summarised.
    """
    policy, slo, cold_start_s, tier, horizon_s, slots, initial_replicas, rng, timeline_points = options
    notes: list[str] = []
    t = totals(ds)
    horizon = checked_horizon(t.last_arrival_s, horizon_s)
    n_slots = slots_at(service, t.mean_in, t.mean_out, slots, notes)
    sim_end = decisions_end(t.n, t.last_arrival_s, policy, horizon)
    pool, decisions = _fleet_pool(
        ds,
        service,
        policy,
        slots=n_slots,
        discipline=discipline,
        cold_start_s=cold_start_s,
        sim_end=sim_end,
        initial=initial_replicas,
    )
    folder = Path(tempfile.mkdtemp(prefix="breakeven-replay-"))
    try:
        width, cells = busy_grid(horizon)
        bin_w, bins = timeline_grid(max(horizon, t.last_arrival_s), timeline_points)
        acc = Accumulator(folder, cells, width, bins, bin_w)
        pool_out = _run_pool(ds, pool, acc, on_chunk)
        _latency_pass(ds, service, acc, slo=slo, rng=rng, size=pool.chunk_size, pool_out=pool_out)
        notes += list(pool.notes)
        served = Served(
            requests=acc.admitted,
            never=acc.never,
            mean_mix=(t.mean_in, t.mean_out),
            served_cells=acc.served,
            latency=acc.latency.summary(),
            arrival_s=np.array([t.last_arrival_s]) if t.n else np.zeros(0),
            arrival_counts=acc.arrivals,
        )
        settings = FleetSettings(service, policy, n_slots, cold_start_s, tier, horizon, timeline_points)
        base = bill_fleet(
            pool.instances(), served, gpu_price, settings, decisions=decisions, notes=notes, per_request=_NO_ARRAYS
        )
        result = StreamedReplay(**_fields_of(base), unserved_count=acc.never, admitted=acc.admitted)
        if on_latency is not None:
            on_latency(acc.latency, acc.admitted)
        return result
    finally:
        shutil.rmtree(folder, ignore_errors=True)


_EMPTY = np.zeros(0)
_NO_ARRAYS = (
    _EMPTY,
    np.zeros(0, dtype=np.int32),
    RequestLatency(_EMPTY, _EMPTY, _EMPTY, *(np.zeros(0, dtype=bool),) * 3),
)
"""The per-request arrays of a streamed replay: none are kept."""


def _fields_of(replay: DedicatedReplay) -> dict[str, Any]:
    return {f.name: getattr(replay, f.name) for f in fields(DedicatedReplay)}


def _fleet_pool(
    ds: TraceDataset,
    service: ReplicaService,
    policy: AutoscalePolicy,
    *,
    slots: int,
    discipline: Discipline,
    cold_start_s: float,
    sim_end: float,
    initial: int | None,
) -> tuple[Pool, int]:
    """The pool on the planned fleet (``fixed``, ``utilization``) or with a queue trigger, as
    :func:`.dedicated.run_fleet` makes it in memory; and the number of decisions."""
    if policy.kind != "queue":
        ((instances, decisions),) = plan_fleets_streamed(
            ds, service, policy, slots=slots, cold_start_s=cold_start_s, horizons_s=[sim_end], initial=initial
        )
        return Pool(service, slots, discipline, instances=instances), decisions
    step = policy.decision_interval_s
    first = 0.0
    if sim_end > 0:
        ((cum, _),) = _interval_cums(ds, service, slots=slots, edges=[np.array([0.0, step])], first_edge=step, ks=[1.0])
        first = float(cum[1] - cum[0])
    plan = queue_plan(policy, decision_times(policy, sim_end), first, slots=slots, initial=initial, sim_end_s=sim_end)
    trigger = QueueTrigger(plan.autoscaler(cold_start_s), plan.times, slots)
    return Pool(service, slots, discipline, trigger=trigger), int(plan.times.shape[0])


def _latency_pass(
    ds: TraceDataset,
    service: ReplicaService,
    acc: Accumulator,
    *,
    slo: Slo,
    rng: np.random.Generator | None,
    size: int,
    pool_out: list[Path],
) -> None:
    """Pass two: each chunk's latency from its spilled starts, with the in-memory replay's random draws."""
    gens, final = _split_rng(rng, service, slo, acc.admitted)
    draws = _SplitDraws(gens) if gens else None
    for req, path in zip(chunks(ds, size, COLUMNS), pool_out, strict=True):
        with np.load(path) as data:
            start, batch = data["start"], data["batch"]
        adm = ~np.isnan(start)
        served = req if adm.all() else req.subset(adm)
        lat = request_latency(served, service, start[adm], batch[adm], slo=slo, rng=cast(Any, draws))
        if draws is not None:
            draws.calls = 0
        acc.latency.add(lat)
    if rng is not None and final is not None:
        rng.bit_generator.state = final.bit_generator.state


def _run_pool(ds: TraceDataset, pool: Pool, acc: Accumulator, on_chunk: Any) -> list[Path]:
    """Pass one: the pool over every chunk; per chunk, the start times and batches (spilled to disk)."""
    out: list[Path] = []
    stream = chunks(ds, pool.chunk_size, COLUMNS if on_chunk is None else (*COLUMNS, "cached_tokens", "deferrable"))
    for k, (req, rows) in enumerate(pool_chunks(pool, stream)):
        start, admitted = rows.start_s, rows.admitted
        acc.add_arrivals(req.arrival_s)
        acc.add_service(start[admitted], rows.service_s[admitted])
        acc.admitted += int(admitted.sum())
        acc.never += int(np.isinf(start[admitted]).sum())
        if on_chunk is not None:
            on_chunk(req, admitted)
        path = acc.folder / f"pool-{k:06d}.npz"
        np.savez(path, start=start, batch=rows.batch)
        out.append(path)
    return out
