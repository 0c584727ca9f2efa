"""The fast replay against the exact per-request simulation (:mod:`costmodel.replay.reference`).

On real traces (the whole Azure 2023 code trace; the first 1,200 Mooncake conversation requests) under
several policies, the fast replay's bill must be within 2 % and its SLO attainment within 2 percentage
points of the reference. With a batch-independent service time the two are the same queue (a FIFO
multi-server), and the start times must match exactly.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from functools import cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costmodel.capacity import fit_replica_service
from costmodel.profiles import bundled_profile
from costmodel.replay import RequestArrays, from_arrays, request_arrays
from costmodel.replay import fleet as fleet_module
from costmodel.replay.dedicated import run_fleet, summarize_fleet
from costmodel.replay.reference import reference_fleet
from costmodel.results import AutoscalePolicy, Slo
from costmodel.service import ReplicaService
from pricing.models import GpuPrice
from tests.conftest import DATA
from traces import load_trace

GPU = GpuPrice(
    id="test/gpu-h100-1x",
    provider="test",
    offering="h100",
    gpu="H100",
    gpu_count=1,
    hourly_usd=3.39,
    billing_increment_s=1,
    minimum_billed_s=300,
    as_of=date(2026, 5, 28),
    source="hand-written test price",
)
# A heavier replica (a large model at 16 requests at once): the Azure bursts queue on it for minutes.
HEAVY = ReplicaService(
    tpot_base_ms=20.0, tpot_per_seq_ms=0.8, ttft_base_ms=60.0, prefill_ms_per_token=0.2, ttft_per_seq_ms=2.0, slots=16
)


@cache
def azure() -> RequestArrays:
    return request_arrays(load_trace(DATA / "traces" / "AzureLLMInferenceTrace_code.csv"))


@cache
def mooncake() -> RequestArrays:
    return request_arrays(load_trace(DATA / "replay" / "mooncake_FAST25_conversation_first1200.jsonl"))


@cache
def h100_8b(input_tokens: float, output_tokens: float) -> ReplicaService:
    """The bundled Llama-3.1-8B-FP8 1×H100 profile, fitted, at the trace's mean mix."""
    return fit_replica_service(bundled_profile("llama-3.1-8b-fp8_1xH100")).service_for(input_tokens, output_tokens)


def _service(trace: RequestArrays, which: str) -> ReplicaService:
    if which == "heavy":
        return HEAVY
    return h100_8b(float(trace.input_tokens.mean()), float(trace.output_tokens.mean()))


POLICIES = {
    "fixed-1": AutoscalePolicy(kind="fixed", min_replicas=1),
    "fixed-2": AutoscalePolicy(kind="fixed", min_replicas=2),
    "scale-to-zero": AutoscalePolicy(min_replicas=0, max_replicas=8, idle_timeout_s=120),
    "utilization-50": AutoscalePolicy(min_replicas=1, max_replicas=8, target_utilization=0.5, scale_up_cooldown_s=30),
    "queue": AutoscalePolicy(kind="queue", min_replicas=0, max_replicas=8, queue_threshold=4, idle_timeout_s=120),
}
CASES = [
    ("azure", "h100", "fixed-1"),
    ("azure", "h100", "scale-to-zero"),
    ("azure", "h100", "queue"),
    ("azure", "heavy", "fixed-1"),
    ("azure", "heavy", "fixed-2"),
    ("azure", "heavy", "scale-to-zero"),
    ("azure", "heavy", "utilization-50"),
    ("azure", "heavy", "queue"),
    ("mooncake", "h100", "fixed-1"),
    ("mooncake", "h100", "scale-to-zero"),
    ("mooncake", "h100", "utilization-50"),
    ("mooncake", "h100", "queue"),
]


def _both(
    trace: RequestArrays,
    service: ReplicaService,
    policy: AutoscalePolicy,
    *,
    discipline: str = "queue",
    rng_seed: int | None = None,
) -> tuple:
    horizon = trace.last_arrival_s
    kw = {"slots": service.slots, "cold_start_s": 61.0, "horizon_s": horizon, "discipline": discipline}
    fast = run_fleet(trace, service, policy, **kw)  # type: ignore[arg-type]
    ref = reference_fleet(trace, service, policy, **kw)  # type: ignore[arg-type]
    out = []
    for sim in (fast, ref):
        rng = np.random.default_rng(rng_seed) if rng_seed is not None else None
        out.append(
            summarize_fleet(
                trace,
                service,
                sim,
                GPU,
                policy=policy,
                slo=Slo(),
                slots=service.slots,
                cold_start_s=61.0,
                tier="on_demand",
                horizon_s=horizon,
                rng=rng,
                timeline_points=50,
                notes=[],
            )
        )
    return fast, ref, out[0], out[1]


@pytest.mark.parametrize(("trace_name", "service_name", "policy_name"), CASES)
def test_fast_replay_agrees_with_the_reference(trace_name: str, service_name: str, policy_name: str) -> None:
    trace = azure() if trace_name == "azure" else mooncake()
    service = _service(trace, service_name)
    _, _, fast, ref = _both(trace, service, POLICIES[policy_name])
    assert fast.total_cost_usd == pytest.approx(ref.total_cost_usd, rel=0.02)
    assert abs(fast.latency.slo_attainment - ref.latency.slo_attainment) <= 0.02
    assert abs(fast.latency.ttft_attainment - ref.latency.ttft_attainment) <= 0.02
    assert fast.costs.hours.cold_start == pytest.approx(ref.costs.hours.cold_start, rel=0.02, abs=1e-9)
    mean_wait_fast = float(np.mean(fast.per_request.wait_s))
    mean_wait_ref = float(np.mean(ref.per_request.wait_s))
    assert mean_wait_fast == pytest.approx(mean_wait_ref, rel=0.1, abs=0.02)


def test_the_cases_exercise_queueing_and_scaling() -> None:
    """Guard against a vacuous comparison: the heavy Azure cases queue, and scale-to-zero really scales."""
    _, ref, _, summary = _both(azure(), HEAVY, POLICIES["scale-to-zero"])
    assert float(np.mean(summary.per_request.wait_s > 0)) > 0.05
    assert len(ref.instances) > 2
    assert 0.3 < summary.latency.slo_attainment < 0.95


def test_agreement_with_per_request_latency_spread() -> None:
    trace = mooncake()
    service = _service(trace, "h100")
    _, _, fast, ref = _both(trace, service, POLICIES["fixed-1"], rng_seed=11)
    assert abs(fast.latency.slo_attainment - ref.latency.slo_attainment) <= 0.02


@pytest.mark.parametrize(("service_name", "replicas"), [("h100", 1), ("heavy", 1), ("heavy", 2)])
def test_overflow_split_agrees_with_the_reference(service_name: str, replicas: int) -> None:
    trace = azure()
    service = _service(trace, service_name)
    fast, ref, _, _ = _both(trace, service, AutoscalePolicy(kind="fixed", min_replicas=replicas), discipline="loss")
    over_fast = int((~fast.admitted).sum())
    over_ref = int((~ref.admitted).sum())
    assert over_ref > 0
    assert abs(over_fast - over_ref) <= max(0.02 * over_ref, 0.002 * len(trace))


# ------------------------------------------------------------------------------------- exact agreement


@settings(max_examples=40, deadline=None)
@given(
    gaps=st.lists(st.floats(0.0, 2.0), min_size=1, max_size=120),
    outputs=st.lists(st.integers(1, 300), min_size=1, max_size=120),
    slots=st.integers(1, 4),
    replicas=st.integers(1, 3),
)
def test_batch_independent_service_matches_the_reference_exactly(
    gaps: list[float], outputs: list[int], slots: int, replicas: int
) -> None:
    """With service time independent of the batch, pooled slots and real replicas are the same FIFO queue."""
    n = min(len(gaps), len(outputs))
    arrivals = np.cumsum(np.round(np.array(gaps[:n]), 3))
    trace = from_arrays(arrivals - arrivals[0], np.full(n, 100), np.array(outputs[:n]))
    service = ReplicaService(10.0, 0.0, 50.0, 0.0, 0.0, slots=slots)
    policy = AutoscalePolicy(kind="fixed", min_replicas=replicas)
    kw = {"slots": slots, "cold_start_s": 0.0, "horizon_s": trace.last_arrival_s}
    fast = run_fleet(trace, service, policy, **kw)  # type: ignore[arg-type]
    ref = reference_fleet(trace, service, policy, **kw)  # type: ignore[arg-type]
    np.testing.assert_allclose(fast.start_s, ref.start_s, rtol=0, atol=1e-9)
    f = run_fleet(trace, service, policy, discipline="loss", **kw)  # type: ignore[arg-type]
    r = reference_fleet(trace, service, policy, discipline="loss", **kw)  # type: ignore[arg-type]
    np.testing.assert_array_equal(f.admitted, r.admitted)


def _long_overload() -> RequestArrays:
    """Ten minutes at about 1.5× one replica's capacity, then a quiet tail."""
    rng = np.random.default_rng(5)
    n = 6000
    gaps = np.concatenate([rng.exponential(1 / 8.0, n // 2), rng.exponential(1.0, n - n // 2)])
    arrivals = np.cumsum(gaps) - gaps[0]
    return from_arrays(arrivals, np.full(n, 500), rng.integers(20, 200, n))


OVERLOADED = ReplicaService(10.0, 0.2, 50.0, 0.05, 1.0, slots=8)


@pytest.mark.parametrize("discipline", ["queue", "loss"])
def test_one_replica_pool_is_the_reference_exactly_through_a_long_overload(discipline: str) -> None:
    """The backlog (queue) or the turn-aways (loss) of :func:`_long_overload` run to thousands of requests, with
    a batch-dependent service time: one replica's pool, solved request by request, is the per-request
    simulation — starts, admissions, batches and service times, to the bit."""
    one = AutoscalePolicy(kind="fixed", min_replicas=1)
    fast, ref, f, r = _both(_long_overload(), OVERLOADED, one, discipline=discipline)  # type: ignore[arg-type]
    if discipline == "queue":
        assert float(np.mean(r.per_request.wait_s)) > 10.0
        assert f.costs == r.costs and f.latency == r.latency
    else:
        assert int((~ref.admitted).sum()) > 1000
    np.testing.assert_array_equal(fast.admitted, ref.admitted)
    took = ref.admitted
    np.testing.assert_array_equal(fast.batch[took], ref.batch[took])
    np.testing.assert_array_equal(fast.service_s[took], ref.service_s[took])
    np.testing.assert_array_equal(fast.start_s[took], ref.start_s[took])


@settings(max_examples=40, deadline=None)
@given(
    gaps=st.lists(st.sampled_from([0.0, 0.001, 0.05, 0.3, 1.0, 4.0]), min_size=1, max_size=150),
    outputs=st.lists(st.integers(1, 400), min_size=1, max_size=150),
    slots=st.integers(1, 6),
)
def test_one_replica_loss_pool_matches_the_reference_with_batch_dependent_service(
    gaps: list[float], outputs: list[int], slots: int
) -> None:
    """Simultaneous arrivals included: the loss pool takes them in order, after the departures at that time."""
    n = min(len(gaps), len(outputs))
    arrivals = np.cumsum(np.array(gaps[:n])) - gaps[0]
    trace = from_arrays(arrivals, np.full(n, 300), np.array(outputs[:n]))
    service = ReplicaService(12.0, 1.5, 40.0, 0.05, 3.0, slots=slots)
    policy = AutoscalePolicy(kind="fixed", min_replicas=1)
    kw = {"slots": slots, "cold_start_s": 0.0, "horizon_s": trace.last_arrival_s, "discipline": "loss"}
    fast = run_fleet(trace, service, policy, **kw)  # type: ignore[arg-type]
    ref = reference_fleet(trace, service, policy, **kw)  # type: ignore[arg-type]
    np.testing.assert_array_equal(fast.admitted, ref.admitted)
    np.testing.assert_array_equal(fast.batch[ref.admitted], ref.batch[ref.admitted])
    np.testing.assert_array_equal(fast.service_s[ref.admitted], ref.service_s[ref.admitted])


@pytest.mark.parametrize("discipline", ["queue", "loss"])
def test_the_pool_does_not_depend_on_the_chunk_size(monkeypatch: pytest.MonkeyPatch, discipline: str) -> None:
    """The departures still to come are carried across chunks, so cutting the trace into chunks of 97
    requests (replicas starting and stopping between them) gives the one-chunk results to the bit."""
    trace, policy = azure(), AutoscalePolicy(kind="utilization", min_replicas=1, max_replicas=3)
    kw = {"slots": 16, "cold_start_s": 61.0, "horizon_s": trace.last_arrival_s, "discipline": discipline}
    whole = run_fleet(trace, HEAVY, policy, **kw)  # type: ignore[arg-type]
    monkeypatch.setattr(fleet_module, "_CHUNK", 97)
    cut = run_fleet(trace, HEAVY, policy, **kw)  # type: ignore[arg-type]
    waited = whole.start_s > np.asarray(trace.arrival_s)
    assert int((~whole.admitted).sum()) > 100 if discipline == "loss" else int(waited.sum()) > 100
    for name in ("start_s", "batch", "service_s", "admitted"):
        np.testing.assert_array_equal(getattr(cut, name), getattr(whole, name))


_POOL_DIGEST = """
import hashlib, sys
import numpy as np
from costmodel.replay import request_arrays
from costmodel.replay.dedicated import run_fleet
from costmodel.results import AutoscalePolicy
from costmodel.service import ReplicaService
from traces import load_trace
trace = request_arrays(load_trace(sys.argv[1]))
service = ReplicaService(20.0, 0.8, 60.0, 0.2, 2.0, slots=16)
h = hashlib.sha256()
for kind, discipline in (("utilization", "queue"), ("queue", "queue"), ("fixed", "loss")):
    policy = AutoscalePolicy(kind=kind, min_replicas=1, max_replicas=3)
    sim = run_fleet(trace, service, policy, slots=16, cold_start_s=61.0, horizon_s=trace.last_arrival_s,
                    discipline=discipline)
    for a in (sim.start_s, sim.batch, sim.service_s, sim.admitted):
        h.update(np.ascontiguousarray(a).tobytes())
print(h.hexdigest())
"""


def test_the_compiled_pool_gives_the_python_loop_s_bits() -> None:
    """The pool's pass is compiled by numba; NUMBA_DISABLE_JIT=1 runs the same code as Python. Both give the
    same bits on the Azure trace, for a queue, a queue-triggered and a loss pool (no fastmath: IEEE doubles)."""
    path = str(DATA / "traces" / "AzureLLMInferenceTrace_code.csv")
    digests = []
    for jit in ("0", "1"):
        env = {**os.environ, "NUMBA_DISABLE_JIT": jit}
        out = subprocess.run(
            [sys.executable, "-c", _POOL_DIGEST, path], capture_output=True, text=True, env=env, check=True
        )
        digests.append(out.stdout.strip())
    assert digests[0] == digests[1] and len(digests[0]) == 64
