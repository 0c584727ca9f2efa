"""Replay a trace through each way of serving it (see ``docs/replay.md``).

- serverless: :func:`replay_serverless`, :func:`serverless_bill`, :func:`rate_limit_violations`
- dedicated fleet (fixed or autoscaled, cold starts, billing, latency, SLO): :func:`replay_dedicated`
- hybrid: :func:`replay_hybrid`, :func:`best_hybrid` (overflow), :func:`route_by_output`
- what-ifs: :func:`cold_start_from_phases`, :func:`storage_whatif`, :func:`price_tiers`
- trace-shaped break-even: :func:`trace_breakeven`, :func:`cost_curve_at_rates`
- inputs: a :class:`traces.model.Trace`, its DataFrame, or :class:`RequestArrays` (:func:`from_arrays`)

The exact per-request reference simulation lives in :mod:`costmodel.replay.reference` (tests, benchmarks).
"""

from costmodel.replay._arrays import RequestArrays, from_arrays, request_arrays
from costmodel.replay.autoscale import Instances, plan_fleet
from costmodel.replay.billing import billed_seconds, gpu_costs, lease
from costmodel.replay.dedicated import DedicatedReplay, RequestLatency, policy_label, replay_dedicated
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
