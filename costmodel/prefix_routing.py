"""What prefix caching and the routing policy change for a dedicated deployment (traces with ``hash_ids``).

The fleet replay is fast because it takes each replica's capacity from the simulator; the prefix cache lives
in the simulator. So the cache's effect is measured where it happens and handed to the replay as a number:

1. **probe** — the trace's first requests (``PROBE_REQUESTS``) run through a routed fleet of simulated
   replicas (each with its own LRU prefix cache in its KV pool; :mod:`costmodel.engine.fleet`), once per
   routing policy, with as many replicas as that stretch of traffic needs without caching (its mean rate ÷
   one replica's capacity, rounded up): the hit rate by tokens, p90 TTFT and throughput of each policy;
2. **capacity** — one replica's SLO capacity simulated again with that share of every prompt cached;
3. **cost** — the dedicated fleet replayed on the whole trace with each policy's capacity (and with prefix
   caching off), for a monthly cost and GPU-hours per policy.

The options of ``analyze`` are costed with the chosen policy (``--routing``). The hit rate of a stretch of
traffic stands for the whole trace: a trace whose reuse changes over time is better probed on its own
representative hour (``trace window``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np

from costmodel.engine.capacity import SimulatedCapacity
from costmodel.engine.fleet import ROUTINGS, Routing, simulate_fleet
from costmodel.engine.workload import from_trace
from costmodel.results import Slo
from traces import Trace
from traces.prefix import prefix_reuse, trace_prefix_blocks

PROBE_REQUESTS: Final = 2000


@dataclass(frozen=True)
class ProbeRow:
    """One routing policy on the probe stretch."""

    routing: Routing
    hit_rate: float
    ttft_p90_ms: float | None
    output_tok_s: float
    slo_attainment: float | None


@dataclass(frozen=True)
class Probe:
    """The routed-fleet probe of a trace's head (see the module docstring)."""

    requests: int
    replicas: int
    infinite_share: float
    """Share of prompt tokens an infinite cache of prompts would hit (answers cached too can add to it)."""
    rows: dict[str, ProbeRow]


def has_prefixes(trace: Trace) -> bool:
    """True when the trace carries prompt prefixes (``hash_ids``)."""
    return "hash_ids" in trace.df.columns


def probe_routing(
    trace: Trace,
    fit: SimulatedCapacity,
    slo: Slo,
    *,
    requests: int = PROBE_REQUESTS,
    progress: Callable[[str], None] | None = None,
) -> Probe | None:
    """Hit rates of every routing policy on the trace's first ``requests`` (None without ``hash_ids``)."""
    if not has_prefixes(trace) or not len(trace):
        return None
    head = trace.with_df(trace.df.iloc[: min(requests, len(trace))], f"head({requests})")
    workload = from_trace(head)
    blocks = trace_prefix_blocks(head.df, head.meta.block_tokens)
    infinite = prefix_reuse(blocks, head.df["input_tokens"].to_numpy()).token_share if blocks is not None else 0.0
    mean_in = float(head.df["input_tokens"].mean())
    mean_out = float(head.df["output_tokens"].mean())
    capacity = fit.capacity(mean_in, mean_out).rps
    span = float(workload.arrival_s[-1] - workload.arrival_s[0]) if len(workload) > 1 else 0.0
    rate = len(workload) / span if span > 0 else 0.0
    replicas = max(1, math.ceil(rate / capacity)) if capacity > 0 else 1
    rows: dict[str, ProbeRow] = {}
    for policy in ROUTINGS:
        if replicas == 1 and rows:  # one replica: every policy sends everything to it
            rows[policy] = dataclasses.replace(next(iter(rows.values())), routing=policy)
            continue
        if progress:
            progress(f"prefix caching: {replicas} replicas, {policy} routing")
        fleet = simulate_fleet(workload, fit.cost, fit.limits, replicas=replicas, routing=policy)
        s = fleet.summary(slo_ttft_ms=slo.ttft_ms, slo_tpot_ms=slo.tpot_ms)
        ttft = s["ttft_ms"]
        rows[policy] = ProbeRow(
            routing=policy,
            hit_rate=float(s["hit_rate_tokens"]),  # type: ignore[arg-type]
            ttft_p90_ms=ttft.get("p90") if isinstance(ttft, dict) else None,
            output_tok_s=float(s["output_tok_s"]),  # type: ignore[arg-type]
            slo_attainment=s.get("slo_attainment"),  # type: ignore[arg-type]
        )
    return Probe(requests=len(workload), replicas=replicas, infinite_share=float(np.clip(infinite, 0, 1)), rows=rows)
