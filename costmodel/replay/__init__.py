"""Replay a trace through each way of serving it (see ``docs/replay.md``).

- serverless: :func:`replay_serverless`, :func:`serverless_bill`, :func:`rate_limit_violations`
- dedicated fleet (fixed or autoscaled, cold starts, billing, latency, SLO): :func:`replay_dedicated`
- hybrid: :func:`replay_hybrid`, :func:`best_hybrid` (overflow), :func:`route_by_output`
- what-ifs: :func:`cold_start_from_phases`, :func:`storage_whatif`, :func:`price_tiers`
- trace-shaped break-even: :func:`trace_breakeven`, :func:`cost_curve_at_rates`
- inputs: a :class:`traces.model.Trace`, its DataFrame, :class:`RequestArrays` (:func:`from_arrays`), or a
  :class:`~traces.dataset.TraceDataset` (streamed through its partitions, :mod:`.streamed`)

**Reading path: one request through the dedicated fleet replay.**

1. :mod:`._arrays` — :func:`request_arrays` checks the trace once and gives :class:`RequestArrays`
   (arrival, input and output tokens as numpy arrays).
2. :mod:`.dedicated` — :func:`replay_dedicated` takes the slots per replica and the billing window from
   :mod:`.settings`, then :func:`~.dedicated.run_fleet`.
3. :mod:`.autoscale` — :func:`~.autoscale.plan_of`: the decision times, the replicas at t = 0, and (for
   ``fixed``/``utilization`` policies, which depend on arrivals only) every decision, run through the
   :class:`~.autoscale.Autoscaler` into an instance table; a ``queue`` policy becomes a
   :class:`~.autoscale.QueueTrigger` that decides while the pool runs.
4. :mod:`.fleet` — :func:`~.fleet.simulate_pool` feeds the requests to a :class:`~.fleet.Pool` in chunks,
   carrying the departures still to come from one chunk to the next.
5. :mod:`._solver` — :func:`~._solver.solve`: each request in arrival order starts when fewer than the ready
   slots (:mod:`._capacity`) are taken by those before it — a heap of their departures — or, under ``loss``,
   is turned away; then its batch and service time. The rule is in its docstring.
6. back in :mod:`.dedicated` — :func:`~.dedicated.summarize_fleet` hands the starts and batches to
   :mod:`.summary`: :func:`~.summary.request_latency` (the request's TTFT and TPOT from its start and batch,
   :class:`~costmodel.service.ReplicaService`) and :func:`~.summary.bill_fleet` (the lease and the bill,
   :mod:`.billing`; busy hours and the chart, :mod:`.timeline`) → :class:`DedicatedReplay`.

Around it: :mod:`.hybrid` runs the same pool with the ``loss`` discipline (a request that finds no free slot
goes to serverless, billed by :mod:`.serverless`); :mod:`.trace_breakeven` bills planned fleets at scaled
rates; :mod:`.reference` is the per-request simulation of real replicas the pool is tested against.

**A trace dataset** (larger than memory) takes the same functions. The layers, lowest first (a module
imports only the ones before it, so there is no import cycle):

- :mod:`.chunked` — a dataset read in chunks, its totals, exact percentiles of values spilled to disk;
- the pool (:mod:`.autoscale`, :mod:`.fleet`, :mod:`._solver`, ...), :mod:`.settings`, :mod:`.summary`;
- :mod:`.streamed` — the same pool fed from a dataset chunk by chunk, billed by the same ``bill_fleet``;
- the public replays, each for memory and datasets alike: :mod:`.serverless` (a dataset billed partition by
  partition), :mod:`.dedicated` (a dataset handed to :mod:`.streamed`), :mod:`.hybrid` (a dataset's overflow
  candidates as streamed loss pools on the Dask workers) and :mod:`.trace_breakeven` (a dataset's rows on the
  Dask workers, every rate factor of a row in one pass).
"""

from costmodel.replay._arrays import RequestArrays, from_arrays, request_arrays
from costmodel.replay.autoscale import Instances, plan_fleet
from costmodel.replay.billing import billed_seconds, gpu_costs, lease
from costmodel.replay.dedicated import replay_dedicated
from costmodel.replay.hybrid import (
    HybridCandidate,
    HybridReplay,
    HybridSearch,
    best_hybrid,
    replay_hybrid,
    route_by_output,
)
from costmodel.replay.serverless import (
    RateLimitReport,
    ServerlessReplay,
    rate_limit_violations,
    replay_serverless,
    serverless_bill,
    serverless_latency,
)
from costmodel.replay.summary import DedicatedReplay, RequestLatency, policy_label
from costmodel.replay.trace_breakeven import CostAtRate, cost_curve_at_rates, trace_breakeven
from costmodel.replay.whatif import (
    NFS_DEFAULT_MB_S,
    NFS_TUNED_MB_S,
    StorageCase,
    cold_start_from_phases,
    price_tiers,
    storage_whatif,
    weights_load_s,
)

__all__ = [
    "NFS_DEFAULT_MB_S",
    "NFS_TUNED_MB_S",
    "CostAtRate",
    "DedicatedReplay",
    "HybridCandidate",
    "HybridReplay",
    "HybridSearch",
    "Instances",
    "RateLimitReport",
    "RequestArrays",
    "RequestLatency",
    "ServerlessReplay",
    "StorageCase",
    "best_hybrid",
    "billed_seconds",
    "cold_start_from_phases",
    "cost_curve_at_rates",
    "from_arrays",
    "gpu_costs",
    "lease",
    "plan_fleet",
    "policy_label",
    "price_tiers",
    "rate_limit_violations",
    "replay_dedicated",
    "replay_hybrid",
    "replay_serverless",
    "request_arrays",
    "route_by_output",
    "serverless_bill",
    "serverless_latency",
    "storage_whatif",
    "trace_breakeven",
    "weights_load_s",
]
