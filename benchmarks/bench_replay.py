"""The fleet replay at 5 M requests: one dedicated replay against the exact per-request reference
simulation, a trace-shaped break-even and a hybrid search — times and peak memory, printed.

The trace: the real Azure 2023 code trace's arrival pattern (tests/data/traces/AzureLLMInferenceTrace_code.csv,
8,819 requests over 57 min) repeated back to back until 5 M requests (about 22.5 days), with each request's
(input, output) token pair resampled from the real rows (seeded). The replica: the bundled
Llama-3.1-8B-FP8 1×H100 profile, fitted at the trace's mean mix (24 slots); a 61 s cold start (the seed
article's measured MI300X figure — the H100 profile has none); the policy: autoscale 0..8 replicas on
utilization (scale to zero), the AutoscalePolicy defaults otherwise.

The reference simulation loops over requests in Python (heapq); at 5 M it would take minutes, so it runs
on the first ``--reference-requests`` requests and its time is extrapolated linearly to the whole trace (the
output says so). The fast replay is timed on the same subset too, for a like-for-like ratio.

Run: ``.venv/bin/python benchmarks/bench_replay.py [--requests 5000000] [--reference-requests 200000]``
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time
import tracemalloc
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from costmodel.capacity import fit_replica_service
from costmodel.profiles import bundled_profile
from costmodel.replay import (
    RequestArrays,
    best_hybrid,
    replay_dedicated,
    request_arrays,
    trace_breakeven,
)
from costmodel.replay.dedicated import run_fleet, summarize_fleet
from costmodel.replay.reference import reference_fleet
from costmodel.results import AutoscalePolicy, Slo
from pricing.models import GpuPrice, TokenPrice
from traces import load_trace

REPO = Path(__file__).resolve().parent.parent

AZURE = REPO / "tests" / "data" / "traces" / "AzureLLMInferenceTrace_code.csv"
GPU = GpuPrice(
    id="digitalocean/gpu-h100-1x",
    provider="digitalocean",
    offering="gpu-h100x1-80gb",
    gpu="H100",
    gpu_count=1,
    hourly_usd=3.39,
    billing_increment_s=1,
    minimum_billed_s=300,
    as_of=date(2026, 5, 28),
    source="docs.digitalocean.com/products/droplets/details/pricing (see shared notes)",
)
TOKENS = TokenPrice(
    id="digitalocean/llama3-8b-instruct",
    provider="digitalocean",
    model="llama3-8b-instruct",
    input_usd_per_mtok=0.20,
    output_usd_per_mtok=0.20,
    as_of=date(2025, 11, 4),
    source="LiteLLM gradient_ai/llama3-8b-instruct",
)
POLICY = AutoscalePolicy(min_replicas=0, max_replicas=8)
COLD_START_S = 61.0


def big_trace(n: int, seed: int) -> RequestArrays:
    """Azure's arrival pattern repeated to ``n`` requests; token pairs resampled from the real rows."""
    base = request_arrays(load_trace(AZURE))
    period = base.last_arrival_s + base.last_arrival_s / len(base)
    reps = -(-n // len(base))
    arrivals = (base.arrival_s[None, :] + period * np.arange(reps)[:, None]).ravel()[:n]
    rows = np.random.default_rng(seed).integers(0, len(base), n)
    return RequestArrays(arrivals, base.input_tokens[rows], base.output_tokens[rows], source=f"azure-code x{reps}")


def measure(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """Result, wall seconds and peak traced memory [MiB] of ``fn()``."""
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return out, seconds, peak / 2**20


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5_000_000, help="Requests in the resampled trace.")
    parser.add_argument(
        "--reference-requests", type=int, default=200_000, help="Requests the reference simulation runs on."
    )
    parser.add_argument("--seed", type=int, default=0, help="Seed of the token resampling.")
    parser.add_argument(
        "--profile",
        default="llama-3.1-8b-fp8_1xH100",
        help="Bundled dedicated profile of the replica (e.g. gpt-oss-120b_1xMI300X_article: 256 slots, no queueing).",
    )
    args = parser.parse_args()

    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    trace, t_build = timed(lambda: big_trace(args.requests, args.seed))
    horizon = trace.last_arrival_s
    print(
        f"trace: {len(trace):,} requests over {horizon / 86400:.2f} days ({len(trace) / horizon:.2f} req/s), "
        f"built in {t_build:.2f} s"
    )
    fit = fit_replica_service(bundled_profile(args.profile))
    mix = (float(trace.input_tokens.mean()), float(trace.output_tokens.mean()))
    service = fit.service_for(*mix)
    print(
        f"replica ({args.profile}): {service.slots} slots, {service.capacity_rps(*mix):.1f} req/s at the mean mix; "
        f"policy: {POLICY.min_replicas}..{POLICY.max_replicas} on utilization; cold start {COLD_START_S:g} s"
    )
    print()

    # 1. one dedicated replay of the whole trace (warm-up on a slice first: imports, caches)
    replay_dedicated(
        trace.subset(np.arange(len(trace)) < 10_000), service, GPU, policy=POLICY, cold_start_s=COLD_START_S
    )
    full, t_full = timed(lambda: replay_dedicated(trace, service, GPU, policy=POLICY, cold_start_s=COLD_START_S))
    _, _, mem_full = measure(lambda: replay_dedicated(trace, service, GPU, policy=POLICY, cold_start_s=COLD_START_S))
    print(f"dedicated replay, {len(trace):,} requests: {t_full:.2f} s, peak traced memory {mem_full:,.0f} MiB")
    print(
        f"  bill ${full.total_cost_usd:,.2f} ({full.costs.hours.total:,.1f} GPU-h: busy {full.costs.hours.busy:,.1f}, "
        f"idle {full.costs.hours.idle:,.1f}, cold start {full.costs.hours.cold_start:,.2f}), "
        f"{full.replicas.cold_starts} cold starts, peak {full.replicas.peak} replicas, "
        f"SLO attainment {full.latency.slo_attainment:.2%}, queued {np.mean(full.per_request.wait_s > 0):.2%}"
    )

    # 2. the reference on a subset, and the fast replay on the same subset
    m = min(args.reference_requests, len(trace))
    sub = trace.subset(np.arange(len(trace)) < m)
    h_sub = sub.last_arrival_s
    kw = {"slots": service.slots, "cold_start_s": COLD_START_S, "horizon_s": h_sub}
    ref_sim, t_ref = timed(lambda: reference_fleet(sub, service, POLICY, **kw))  # type: ignore[arg-type]
    fast_sim, t_fast_sub = timed(lambda: run_fleet(sub, service, POLICY, **kw))  # type: ignore[arg-type]
    summary = {
        "policy": POLICY,
        "slo": Slo(),
        "slots": service.slots,
        "cold_start_s": COLD_START_S,
        "tier": "on_demand",
        "horizon_s": h_sub,
        "rng": None,
        "timeline_points": 100,
    }
    ref_sum, t_ref_sum = timed(lambda: summarize_fleet(sub, service, ref_sim, GPU, notes=[], **summary))  # type: ignore[arg-type]
    fast_sum, t_fast_sum = timed(lambda: summarize_fleet(sub, service, fast_sim, GPU, notes=[], **summary))  # type: ignore[arg-type]
    per_request = (t_ref + t_ref_sum) / m
    extrapolated = per_request * len(trace)
    print(
        f"reference simulation on the first {m:,} requests: {t_ref + t_ref_sum:.2f} s "
        f"({per_request * 1e6:.1f} µs/request); extrapolated linearly to {len(trace):,}: {extrapolated:,.0f} s"
    )
    print(
        f"fast replay on the same {m:,} requests: {t_fast_sub + t_fast_sum:.3f} s "
        f"→ {(t_ref + t_ref_sum) / (t_fast_sub + t_fast_sum):,.0f}x faster"
    )
    print(
        f"  agreement on the subset: bill ${fast_sum.total_cost_usd:,.2f} vs ${ref_sum.total_cost_usd:,.2f} "
        f"({fast_sum.total_cost_usd / ref_sum.total_cost_usd - 1:+.3%}), SLO attainment "
        f"{fast_sum.latency.slo_attainment:.4f} vs {ref_sum.latency.slo_attainment:.4f} "
        f"({(fast_sum.latency.slo_attainment - ref_sum.latency.slo_attainment) * 100:+.2f} pp)"
    )
    print(
        f"full trace: fast {t_full:.2f} s vs reference ~{extrapolated:,.0f} s (extrapolated) → "
        f"{extrapolated / t_full:,.0f}x (target ≥ 50x)"
    )

    # 3. trace-shaped break-even at three output lengths, and the hybrid search
    rows, t_be = timed(
        lambda: trace_breakeven(
            trace,
            fit.service_for,
            GPU,
            TOKENS,
            policy=POLICY,
            cold_start_s=COLD_START_S,
            output_tokens=[30, 220, 1200],
            check_slo=False,
        )
    )
    found = ", ".join(
        f"{r.output_tokens:.0f} out → {r.breakeven_rps:.3g} req/s"
        if r.breakeven_rps
        else f"{r.output_tokens:.0f} out → none"
        for r in rows
    )
    print(f"trace-shaped break-even, 3 output lengths (slots per length): {t_be:.2f} s ({found})")
    row, t_be1, mem_be1 = measure(
        lambda: trace_breakeven(trace, service, GPU, TOKENS, policy=POLICY, cold_start_s=COLD_START_S, check_slo=False)
    )
    print(
        f"trace-shaped break-even at the trace's own mix: {t_be1:.2f} s (under tracemalloc), peak "
        f"{mem_be1:,.0f} MiB (→ {row[0].breakeven_rps:.3g} req/s, {len(row[0].crossings_rps)} crossing(s))"
    )
    search, t_hy = timed(lambda: best_hybrid(trace, service, GPU, TOKENS))
    _, _, mem_hy = measure(lambda: best_hybrid(trace, service, GPU, TOKENS))
    tried = ", ".join(
        f"N={c.replicas}: ${c.total_cost_usd:,.0f} ({c.serverless_share:.1%} overflow)" for c in search.candidates
    )
    print(
        f"hybrid search (overflow), {len(search.candidates)} splits: {t_hy:.2f} s, peak {mem_hy:,.0f} MiB; "
        f"best N={search.best.replicas} (${search.best.total_cost_usd:,.0f}); tried {tried}"
    )
    print(f"process peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")


if __name__ == "__main__":
    main()
