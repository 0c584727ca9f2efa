"""The replica simulator's scheduling rules on hand-made cases (vLLM V1 and V0).

A constant step-time model makes every step take exactly 10 ms (all efficiencies huge, a 10 ms step
overhead), so times in these tests are counts of steps.
"""

from __future__ import annotations

import numpy as np
import pytest

from breakeven.errors import InputError
from costmodel.engine import (
    Coefficients,
    Deployment,
    EngineLimits,
    StepCost,
    Workload,
    from_arrays,
    gpu_spec,
    model_arch,
    simulate,
)

STEP = 0.010


def constant_cost() -> StepCost:
    """Every step takes STEP seconds whatever it holds."""
    c = Coefficients(
        bandwidth_efficiency=1.5,
        kv_bandwidth_efficiency=1.5,
        compute_efficiency=1.5,
        step_overhead_us=STEP * 1e6,
        seq_overhead_us=0.0,
        api_overhead_ms=0.0,
    )
    tiny = model_arch("llama-3.1-8b").model_copy(
        update={"layers": 1, "hidden": 8, "heads": 1, "kv_heads": 1, "head_dim": 8, "intermediate": 8, "vocab": 8}
    )
    gpu = gpu_spec("H100").model_copy(update={"hbm_tb_s": 1e9, "tflops": {"bf16": 1e12}})
    return StepCost(Deployment(tiny, gpu), c)


def run(arrivals, inputs, outputs, **limits):
    w = from_arrays(arrivals, inputs, outputs)
    lim = EngineLimits(**{"kv_cache_tokens": 1_000_000, **limits})
    return simulate(w, constant_cost(), lim)


def test_one_request_prefill_then_one_token_per_step():
    r = run([0.0], [100], [5])
    # step 1 prefills the prompt and samples token 1; steps 2-5 give tokens 2..5
    assert r.first_token_s[0] == pytest.approx(STEP)
    assert r.finish_s[0] == pytest.approx(5 * STEP)
    assert r.token_gaps(0) == pytest.approx([STEP] * 4)
    assert r.tpot_s[0] == pytest.approx(STEP)


def test_chunked_prefill_respects_the_token_budget():
    r = run([0.0], [5000], [2], max_num_batched_tokens=2048, max_num_seqs=16)
    chunks = r.step_shapes.prefill_tokens[r.step_shapes.prefill_tokens > 0]
    assert list(chunks) == [2048, 2048, 904]
    assert r.first_token_s[0] == pytest.approx(3 * STEP)  # the third chunk samples the first token


def test_decodes_go_first_and_the_chunk_gets_what_is_left():
    # A decodes while B's long prompt arrives: every step of B's prefill also carries A's decode row.
    r = run([0.0, 0.015], [16, 3000], [50, 2], max_num_batched_tokens=1000, max_num_seqs=16)
    shapes = r.step_shapes
    mixed = (shapes.prefill_tokens > 0) & (shapes.n_dec > 0)
    assert mixed.sum() >= 3
    assert np.all(shapes.prefill_tokens[mixed] <= 1000 - shapes.n_dec[mixed])
    assert shapes.prefill_tokens[mixed][0] == 999  # budget 1000 less A's one decode token


def test_max_num_seqs_holds_back_the_third_request():
    r = run([0.0, 0.0, 0.0], [10, 10, 10], [3, 3, 3], max_num_seqs=2)
    assert r.first_token_s[0] == pytest.approx(STEP) and r.first_token_s[1] == pytest.approx(STEP)
    # the first two finish at step 3; the third is admitted in step 4
    assert r.first_token_s[2] == pytest.approx(4 * STEP)
    assert r.step_rows.max() == 2


def test_fcfs_head_of_line_blocks_admission():
    # Request 0 needs more blocks than are free once request 1 runs; request 2 (small) must wait behind it.
    r = run([0.0, 0.001, 0.002], [100, 400, 16], [40, 5, 2], kv_cache_tokens=512, block_size=16)
    assert r.admit_s[2] >= r.admit_s[1]


def test_kv_exhaustion_preempts_the_newest_and_recomputes_it():
    # Two requests that each grow to 200 tokens in a 320-token pool: the newer one is preempted, recomputed
    # after the older finishes, and both complete with all their tokens.
    r = run([0.0, 0.0], [100, 100], [100, 100], kv_cache_tokens=320, block_size=16, max_num_seqs=8)
    assert r.preemptions.tolist() == [0, 1]
    assert r.completed == 2
    assert r.finish_s[1] > r.finish_s[0]
    assert len(r.token_times(1)) == 100
    assert len(r.resume_gaps_s) == 1 and r.resume_gaps_s[0] > STEP


def test_v0_prefill_steps_stall_the_decodes():
    r = run([0.0, 0.025], [50, 50], [10, 3], scheduler="v0", max_num_batched_tokens=2048)
    shapes = r.step_shapes
    assert not np.any((shapes.prefill_tokens > 0) & (shapes.n_dec > 0))  # never mixed
    # A's token stream has a gap of two steps where B's prefill ran
    assert np.max(r.token_gaps(0)) == pytest.approx(2 * STEP)


def test_a_known_cached_prefix_skips_its_prefill():
    w = from_arrays([0.0], [1000], [2], cached_tokens=[990])
    lim = EngineLimits(kv_cache_tokens=100_000, max_num_batched_tokens=512)
    r = simulate(w, constant_cost(), lim)
    assert r.step_shapes.prefill_tokens[0] == 1000 - 976  # whole blocks only: 61 × 16 = 976 cached
    assert r.cached_tokens[0] == 976


def test_overload_is_reported_and_a_horizon_leaves_requests_unfinished():
    n = 400
    arrivals = np.arange(n) * 0.001  # 1,000 req/s of 100-token answers on a 10 ms step: hopeless
    w = from_arrays(arrivals, np.full(n, 10), np.full(n, 100))
    r = simulate(w, constant_cost(), EngineLimits(kv_cache_tokens=10**6, max_num_seqs=4), horizon_s=1.0)
    assert r.overloaded
    assert r.unfinished > 0
    s = r.summary()
    assert s["overloaded"] is True and s["unfinished"] == r.unfinished


def test_a_request_longer_than_the_kv_pool_is_refused_not_spun_on():
    r = run([0.0, 0.0], [600, 10], [10, 2], kv_cache_tokens=512, block_size=16)
    assert bool(r.rejected[0]) and not bool(r.rejected[1])
    assert r.completed == 1


def test_bad_limits_and_workloads_are_refused():
    with pytest.raises(InputError, match="max_num_seqs"):
        EngineLimits(kv_cache_tokens=1000, max_num_seqs=0)
    with pytest.raises(InputError, match="smaller than one block"):
        EngineLimits(kv_cache_tokens=8, block_size=16)
    with pytest.raises(InputError, match="sorted"):
        Workload(np.array([1.0, 0.5]), np.array([1, 1]), np.array([1, 1]))
