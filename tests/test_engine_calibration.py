"""Measured runs as replays, calibration recovering known coefficients, and capacity by simulation."""

from __future__ import annotations

import numpy as np
import pytest

from breakeven.errors import InputError
from costmodel.engine import (
    Coefficients,
    Deployment,
    EngineLimits,
    StepCost,
    from_arrays,
    gpu_spec,
    model_arch,
    simulate,
)
from costmodel.engine.calibrate import fit, score
from costmodel.engine.capacity import SimulatedCapacity, max_rps
from costmodel.engine.runs import METRICS, Deployed, MeasuredRun, Window, load_inference_sim, load_vllm_bench, predict
from costmodel.results import Slo
from tests.conftest import DATA

SIM = DATA / "engine" / "inference-sim" / "replay_data"
H100 = gpu_spec("H100")


def test_inference_sim_pair_loads_with_its_stages_prompts_and_lengths():
    run = load_inference_sim(SIM / "20260217-231439-llama-2-7b-tp1-general.json")
    assert run.arch.id == "llama-2-7b" and run.tp == 1 and run.kind == "replay"
    assert run.limits.kv_cache_tokens == 7462 * 16 and run.limits.max_num_batched_tokens == 2048
    assert [w.name for w in run.windows] == ["stage 0 (8 req/s)", "stage 1 (20 req/s)"]
    assert run.windows[0].start_s == 30.0  # the warm-up is not scored
    assert set(run.workload.output_tokens.tolist()) == {248}  # ignore_eos, output_len 248
    assert np.all(run.workload.cached == run.workload.input_tokens - 1)  # 45 prompts cycled
    w = run.windows[0]
    a = run.workload.arrival_s
    sel = (a >= 30) & (a < 600)
    assert w.measured["ttft_mean_ms"] == pytest.approx(np.nanmean(run.measured_ttft_s[sel]) * 1000)
    assert not w.overloaded


def test_vllm_bench_burst_replays_the_listed_lengths_at_t0():
    deployed = Deployed(model_arch("llama-3.1-8b"), H100, weight_dtype="fp8", max_num_seqs=1024,
                        max_num_batched_tokens=2048, scheduler="v0")  # fmt: skip
    (run,) = load_vllm_bench(
        DATA / "costmodel" / "Meta-Llama-3.1-8B-FP8_tp1_len2048" / "prompt_20.json", deployed, 500_000
    )
    assert run.kind == "burst" and len(run.workload) == 20
    assert np.all(run.workload.arrival_s == 0.0)
    assert run.windows[0].measured["throughput_rps"] is not None  # lengths known: throughput is scored
    (summary,) = load_vllm_bench(
        DATA / "costmodel" / "Meta-Llama-3.1-8B-FP8_tp1_len2048" / "prompt_80.summary.json", deployed, 500_000
    )
    assert summary.windows[0].measured["throughput_rps"] is None  # lengths unknown: not replayable


def _synthetic_runs(truth: Coefficients) -> list[MeasuredRun]:
    """Three workloads that load different terms (weights, KV cache, prefill), 'measured' under ``truth``."""
    deployment = Deployment(model_arch("llama-2-7b"), H100)
    cost = StepCost(deployment, truth)
    limits = EngineLimits(kv_cache_tokens=119_392, max_num_seqs=128, max_num_batched_tokens=2048)
    rng = np.random.default_rng(7)
    runs = []
    for name, rate, n_in, n_out in (("decode", 2.0, 200, 150), ("kv", 12.0, 1500, 200), ("prefill", 3.0, 1800, 20)):
        n = 240
        gaps = rng.exponential(1 / rate, n)
        w = from_arrays(np.cumsum(gaps) - gaps[0], np.full(n, n_in), np.full(n, n_out), label=name)
        stub = MeasuredRun(name, deployment.arch, H100, 1, "bf16", limits, w, (), "poisson", name, "synthetic")
        window = Window("all", 0.0, float("inf"), rate, {}, overloaded=False, requests=n)
        measured = predict(stub, simulate(w, cost, limits), window)
        window = Window("all", 0.0, float("inf"), rate, measured, overloaded=False, requests=n)
        runs.append(
            MeasuredRun(name, deployment.arch, H100, 1, "bf16", limits, w, (window,), "poisson", name, "synthetic")
        )
    return runs


def test_calibration_recovers_known_coefficients_from_simulated_runs():
    truth = Coefficients(bandwidth_efficiency=0.8, kv_bandwidth_efficiency=0.9, compute_efficiency=0.55,
                         step_overhead_us=800.0, seq_overhead_us=5.0, api_overhead_ms=12.0)  # fmt: skip
    runs = _synthetic_runs(truth)
    wrong = {"bandwidth_efficiency": 0.6, "kv_bandwidth_efficiency": 0.6, "compute_efficiency": 0.8}
    start = truth.model_copy(update={**wrong, "step_overhead_us": 400.0, "api_overhead_ms": 25.0})
    found = fit(runs, start=start, fitted=("bandwidth_efficiency", "kv_bandwidth_efficiency", "compute_efficiency",
                                           "step_overhead_us", "api_overhead_ms"))  # fmt: skip
    c = found.coefficients
    assert c.bandwidth_efficiency == pytest.approx(0.8, rel=0.08)
    assert c.kv_bandwidth_efficiency == pytest.approx(0.9, rel=0.12)
    assert c.compute_efficiency == pytest.approx(0.55, rel=0.08)
    assert c.api_overhead_ms == pytest.approx(12.0, rel=0.15)
    worst = max(abs(e.error) for e in found.errors if e.metric in ("ttft_mean_ms", "tpot_mean_ms", "e2e_mean_s"))
    assert worst < 0.02
    assert set(METRICS) >= {e.metric for e in score(runs, c)}


def test_calibration_refuses_runs_with_nothing_measured():
    (run,) = _synthetic_runs(Coefficients())[:1]
    overloaded = MeasuredRun(**{**run.__dict__, "windows": (Window("x", 0, 1, 1.0, {}, overloaded=True, requests=1),)})
    with pytest.raises(InputError, match="no measured run has a window with TTFT, TPOT"):
        fit([overloaded])


@pytest.fixture(scope="module")
def llama8() -> tuple[StepCost, EngineLimits]:
    return StepCost(Deployment(model_arch("llama-3.1-8b"), H100, 1, "fp8"), Coefficients()), EngineLimits(
        kv_cache_tokens=500_000, max_num_seqs=256, max_num_batched_tokens=8192
    )


def test_capacity_meets_the_slo_at_the_rate_found_and_misses_it_just_above(llama8):
    cost, limits = llama8
    slo = Slo(ttft_ms=600, tpot_ms=60)
    found = max_rps(cost, limits, slo, 1000, 200, requests=600)
    assert found.reachable and found.at_capacity is not None
    assert found.at_capacity.ttft_ms <= 600 and found.at_capacity.tpot_ms <= 60
    above = [t for t in found.trials if t.rate_rps > found.rps]
    assert above and all(not t.ok for t in above)
    assert min(t.rate_rps for t in above) / found.rps < 1.05  # bisected to a few percent


def test_capacity_falls_with_longer_answers_and_tighter_slos(llama8):
    cost, limits = llama8
    loose = max_rps(cost, limits, Slo(ttft_ms=600, tpot_ms=60), 1000, 100, requests=600).rps
    longer = max_rps(cost, limits, Slo(ttft_ms=600, tpot_ms=60), 1000, 400, requests=600).rps
    tight = max_rps(cost, limits, Slo(ttft_ms=600, tpot_ms=15), 1000, 100, requests=600).rps
    assert longer < loose and tight < loose


def test_an_unreachable_slo_gives_capacity_zero_with_the_reason(llama8):
    cost, limits = llama8
    found = max_rps(cost, limits, Slo(ttft_ms=1.0, tpot_ms=60), 1000, 100, requests=600)
    assert not found.reachable and found.binding == "ttft"


def test_simulated_capacity_service_matches_the_simulated_capacity(llama8):
    cost, limits = llama8
    sc = SimulatedCapacity("p", Slo(), cost, limits)
    cap = sc.capacity(2000, 100)
    service = sc.service_for(2000, 100)
    assert service.slots == cap.slots > 0
    assert service.capacity_rps(2000, 100) == pytest.approx(cap.rps, rel=1e-6)
    low, mode, high = SimulatedCapacity("p", Slo(), cost, limits, expected_error={"e2e_mean_s": 0.2}).spread(2000, 100)
    assert low < mode < high


def test_a_mix_past_the_calibration_runs_lengths_is_flagged(llama8):
    cost, limits = llama8
    sc = SimulatedCapacity("p", Slo(), cost, limits, calibrated_lengths=(137.0, 244.0, 44.0, 137.0))
    inside, beyond = sc.capacity(300, 100), sc.capacity(2000, 100)
    assert not inside.extrapolated and not any("calibrated on runs" in w for w in inside.warnings)
    assert beyond.extrapolated
    assert any("calibrated on runs with mean inputs of 137–244 tokens" in w for w in beyond.warnings)
    assert sc.capacity(300, 400).extrapolated  # answers past 2× the longest mean output
    assert not SimulatedCapacity("p", Slo(), cost, limits).capacity(2000, 100).extrapolated  # no runs known
