"""The searches over a trace dataset: their candidates replayed on the whole trace, in parallel.

- :func:`overflow_candidates`: overflow splits of N always-on replicas, one streamed replay each on the Dask
  workers (:func:`.hybrid.best_hybrid` asks for a wave at a time, with its stopping rules and choice);
  :func:`overflow_replay` replays the chosen split in full for :func:`.hybrid.replay_hybrid` (latency
  included).
- :func:`dataset_rows`: the trace-shaped break-even rows, one per output length, in parallel; within a row
  (:func:`.trace_breakeven.breakeven_row`, the same search as in memory), every rate factor of the grid is
  evaluated in one pass over the dataset (:class:`DatasetBills`), then the brackets are bisected.

Both give what the in-memory searches give on the same trace; the in-memory ones, on a long trace, search
its first requests only (``analyze``'s ``search_requests``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from breakeven.parallel import pmap
from costmodel.profiles.schema import Profile
from costmodel.replay._arrays import RequestArrays
from costmodel.replay.autoscale import Instances
from costmodel.replay.dedicated import FleetOptions
from costmodel.replay.fleet import Pool
from costmodel.replay.hybrid import HybridCandidate, OverflowJob, ServerlessSide, _fixed, met_count
from costmodel.replay.serverless import BillSums, bill_sums, priced, serverless_bill
from costmodel.replay.streamed import (
    StreamedReplay,
    _Accumulator,
    chunks,
    plan_fleet_streamed,
    plan_fleets_streamed,
    pool_chunks,
    replay_dedicated_streamed,
    totals,
)
from costmodel.replay.trace_breakeven import FleetBills, RowOptions, RowTrace, ServiceFor, breakeven_row
from costmodel.results import BreakevenRow, Latency, Slo, TokenCosts
from costmodel.service import ReplicaService
from pricing.models import GpuPrice, TokenPrice
from traces.dataset import TraceDataset

_BILLED = ("arrival_s", "input_tokens", "output_tokens", "cached_tokens", "deferrable")


# ------------------------------------------------------------------------------------------------ hybrid


def _quick_streamed(replicas: int, ds: TraceDataset, job: OverflowJob) -> HybridCandidate:
    """One overflow split's cost and attainment at mean latencies, streamed (a Dask task)."""
    if replicas == 0:
        return job.all_serverless(serverless_bill(ds, job.token_price).total_usd)
    policy = _fixed(replicas)
    end = max(job.horizon, 0.0) + 2.0 * policy.decision_interval_s
    instances, _ = plan_fleet_streamed(ds, job.service, policy, slots=job.slots, cold_start_s=0.0, horizon_s=end)
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


def overflow_candidates(ds: TraceDataset, replicas: list[int], job: OverflowJob) -> list[HybridCandidate]:
    """The overflow splits with these replica counts, one streamed replay each on the Dask workers."""
    return pmap(_quick_streamed, replicas, ds, job)


def overflow_replay(
    ds: TraceDataset,
    service: ReplicaService,
    prices: tuple[GpuPrice, TokenPrice],
    profile: Profile | None,
    options: FleetOptions,
    *,
    notes: list[str],
) -> tuple[StreamedReplay, TokenCosts, Latency]:
    """:func:`.hybrid.replay_hybrid` of a dataset: the dedicated side streamed as a loss pool, the overflow
    billed chunk by chunk, and the latency of the whole trace (:func:`.hybrid.combined_latency` from the
    spilled dedicated values plus the profile's quantiles). Adds the replay's notes to ``notes``."""
    gpu_price, token_price = prices
    n = len(ds)
    side_notes: list[str] = []
    side = ServerlessSide.of(profile, options.slo, side_notes)
    bills: list[BillSums] = []
    combined: list[Latency] = []

    def bill_overflow(req: RequestArrays, admitted: Any) -> None:
        bills.append(bill_sums(req, token_price, ~admitted))

    def combine(acc: _Accumulator) -> None:
        combined.append(_combined(acc, side, n=n, n_serverless=n - acc.admitted))

    ded = replay_dedicated_streamed(
        ds, service, gpu_price, options, discipline="loss", on_chunk=bill_overflow, on_latency=combine
    )
    notes += [*ded.notes, *side_notes]  # in the in-memory order: the fleet's, then the serverless side's
    return ded, priced(token_price, bills), combined[0]


def _combined(acc: _Accumulator, side: ServerlessSide, *, n: int, n_serverless: int) -> Latency:
    """:func:`.hybrid.combined_latency` from the spilled dedicated values plus the profile's quantiles."""
    for lo in range(0, n_serverless, 1 << 22):  # the profile's quantiles, in bounded memory
        hi = min(n_serverless, lo + (1 << 22))
        acc.ttft.add(side.quantiles(side.ttft_curve, n_serverless, lo, hi))
        acc.tpot.add(side.quantiles(side.tpot_curve, n_serverless, lo, hi))
        acc.queue.add(np.zeros(hi - lo))
    return side.latency(
        ttft=acc.ttft.distribution(),
        tpot=acc.tpot.distribution(),
        queue=acc.queue.distribution(),
        met=(acc.met, acc.ttft_met, acc.tpot_met),
        n_serverless=n_serverless,
        n=n,
    )


# --------------------------------------------------------------------------------------- trace break-even


class DatasetBills(FleetBills):
    """:class:`.trace_breakeven.FleetBills` of a dataset: planned fleets of many rate factors in one pass over
    it (:meth:`cost_many`); a queue trigger's fleet by a streamed replay at each."""

    def __init__(self, ds: TraceDataset, service: ReplicaService, gpu_price: GpuPrice, *, n: int, **kw: Any) -> None:
        super().__init__(service, gpu_price, requests=(n, ds.last_arrival_s), **kw)
        self.ds = ds

    def instances_at(self, k: float) -> Instances:
        if self.policy.kind == "queue":
            options = FleetOptions(
                self.policy, Slo(), self.cold_start_s, "on_demand", self.horizon_s / k, self.slots, None, None, 400
            )
            return replay_dedicated_streamed(self.ds.scaled(k), self.service, self.gpu_price, options).instances
        instances, _ = plan_fleet_streamed(
            self.ds,
            self.service,
            self.policy,
            slots=self.slots,
            cold_start_s=self.cold_start_s,
            horizon_s=self.end_at(k),
            k=k,
        )
        return instances

    def cost_many(self, ks: Sequence[float]) -> list[tuple[float, int]]:
        """:meth:`cost` at each rate factor: planned fleets in one pass over the dataset."""
        if self.policy.kind == "queue":
            return [self.cost(k) for k in ks]
        planned = plan_fleets_streamed(
            self.ds,
            self.service,
            self.policy,
            slots=self.slots,
            cold_start_s=self.cold_start_s,
            horizons_s=[self.end_at(k) for k in ks],
            ks=list(ks),
        )
        return [self.bill(instances, k) for (instances, _), k in zip(planned, ks, strict=True)]


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


def dataset_rows(
    ds: TraceDataset,
    outs: list[int | None],
    service: ServiceFor,
    *,
    gpu_price: GpuPrice,
    token_price: TokenPrice,
    opts: RowOptions,
) -> list[BreakevenRow]:
    """:func:`.trace_breakeven.trace_breakeven`'s rows of a dataset, one per output length, in parallel."""
    return pmap(_row_streamed, outs, _RowJob(ds, service, gpu_price, token_price, opts))


__all__ = [
    "StreamedReplay",
    "dataset_rows",
    "overflow_candidates",
    "overflow_replay",
]
