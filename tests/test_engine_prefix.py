"""The replica's prefix cache (vLLM's automatic prefix caching in the KV pool) and the fleet's routers,
on hand-made cases. Every step takes 10 ms (see test_engine_scheduler.constant_cost)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from costmodel.engine import EngineLimits, Workload, from_arrays, simulate
from costmodel.engine.fleet import simulate_fleet
from costmodel.engine.simulator import _Sim, prefix_cache_for
from costmodel.engine.workload import answer_keys
from tests.test_engine_scheduler import STEP, constant_cost
from traces.prefix import PrefixBlocks


def workload(arrivals, inputs, outputs, keys: list[list[int]], *, answers=True) -> Workload:
    w = from_arrays(arrivals, inputs, outputs)
    counts = [len(k) for k in keys]
    flat = np.array([x for k in keys for x in k], dtype=np.int64)
    blocks = PrefixBlocks(flat, np.concatenate(([0], np.cumsum(counts))).astype(np.int64), 16, int(flat.max()) + 1)
    extra = {"answer_keys": answer_keys(blocks, w.input_tokens, w.output_tokens)} if answers else {}
    return dataclasses.replace(w, prefix=blocks, **extra)


def test_a_repeated_prompt_hits_all_but_its_last_partial_block():
    # A and B send the same 70-token prompt (keys 0..4: four full blocks and a partial one).
    w = workload([0.0, 1.0], [70, 70], [3, 3], [[0, 1, 2, 3, 4], [0, 1, 2, 3, 4]])
    r = simulate(w, constant_cost(), EngineLimits(kv_cache_tokens=10_000))
    assert r.cached_tokens.tolist() == [0, 64]  # 4 full blocks; the last token is always computed
    assert r.step_shapes.prefill_tokens[r.step_shapes.prefill_tokens > 0].tolist() == [70, 6]


def test_a_partial_prefix_hits_up_to_the_first_different_block():
    w = workload([0.0, 1.0], [64, 64], [2, 2], [[0, 1, 2, 3], [0, 1, 7, 8]])
    r = simulate(w, constant_cost(), EngineLimits(kv_cache_tokens=10_000))
    assert r.cached_tokens.tolist() == [0, 32]


def test_without_prefix_caching_nothing_hits():
    w = workload([0.0, 1.0], [70, 70], [3, 3], [[0, 1, 2, 3, 4], [0, 1, 2, 3, 4]])
    r = simulate(w, constant_cost(), EngineLimits(kv_cache_tokens=10_000), prefix_caching=False)
    assert r.cached_tokens.tolist() == [0, 0]


def test_eviction_under_pressure_takes_the_least_recently_used_blocks():
    # Pool of 12 blocks. A (keys 0-3) finishes and leaves 4 cached blocks; B (keys 10-17, 8 prompt blocks and 2
    # more as it answers) needs 10 and evicts two of them, A's last two; C repeats A's prompt and hits the rest.
    w = workload(
        [0.0, 0.5, 1.0], [64, 128, 64], [2, 30, 2], [[0, 1, 2, 3], [10, 11, 12, 13, 14, 15, 16, 17], [0, 1, 2, 3]]
    )
    sim = _Sim(w, constant_cost(), EngineLimits(kv_cache_tokens=12 * 16), prefix_cache_for(w, EngineLimits(12 * 16)))
    sim.submit_all()
    r = sim.run(None)
    assert r.cached_tokens[2] == 32
    assert sim.prefix.evicted_blocks >= 2
    assert sim.free == sim.total_blocks  # nothing leaked


def test_a_prefix_shared_while_running_is_not_freed_twice():
    # B hits A's blocks while A still runs; A ends first: the shared blocks stay in use until B ends.
    w = workload([0.0, 0.05], [64, 80], [20, 20], [[0, 1, 2, 3], [0, 1, 2, 3, 9]])
    limits = EngineLimits(kv_cache_tokens=100 * 16)
    sim = _Sim(w, constant_cost(), limits, prefix_cache_for(w, limits))
    sim.submit_all()
    r = sim.run(None)
    assert r.cached_tokens.tolist() == [0, 64]
    assert sim.free == sim.total_blocks
    assert sim.prefix.evictable_blocks == 5  # A's 4 prompt blocks and B's 5th, all evictable at the end


def test_a_conversations_next_turn_hits_the_previous_answer():
    # Turn 1: 32-token prompt (keys 0, 1), 40-token answer. Turn 2 resends 72 tokens + 24 new (keys 0..5).
    w = workload([0.0, 5.0], [32, 96], [40, 5], [[0, 1], [0, 1, 2, 3, 4, 5]])
    assert w.answer_keys is not None
    values, offsets = w.answer_keys
    assert values[offsets[0] : offsets[1]].tolist() == [2, 3]  # blocks 2..3 hold turn 1's answer (tokens 32..71)
    r = simulate(w, constant_cost(), EngineLimits(kv_cache_tokens=10_000))
    assert r.cached_tokens[1] == 64  # its prompt and its answer's two full blocks


def test_routers_choose_as_documented():
    w = workload([0.0, 0.01, 0.02, 0.03], [64] * 4, [200] * 4, [[0, 1, 2, 3], [5, 6, 7, 8], [0, 1, 2, 3], [0, 1, 2, 9]])
    limits = EngineLimits(kv_cache_tokens=10_000)
    rr = simulate_fleet(w, constant_cost(), limits, replicas=2, routing="round_robin")
    assert rr.replica_of.tolist() == [0, 1, 0, 1]
    least = simulate_fleet(w, constant_cost(), limits, replicas=3, routing="least_loaded")
    assert least.replica_of.tolist()[:3] == [0, 1, 2]
    # KV-aware: request 2 repeats request 0's prompt: it goes where those blocks are (replica 0), although
    # replica 2 is empty; request 3 shares three blocks and follows.
    kv = simulate_fleet(w, constant_cost(), limits, replicas=3, routing="kv_aware", overlap_weight=4.0)
    assert kv.replica_of[2] == kv.replica_of[0]
    assert kv.replica_of[3] == kv.replica_of[0]
    assert kv.summary()["hit_rate_tokens"] > 0
    # Sticky sessions: requests sharing their first block go together.
    sticky = simulate_fleet(w, constant_cost(), limits, replicas=2, routing="session")
    assert sticky.replica_of[0] == sticky.replica_of[2] == sticky.replica_of[3] != sticky.replica_of[1]


def test_a_closed_loop_sends_each_turn_after_the_previous_answer():
    base = workload(
        [0.0, 0.0, 0.0, 0.0],
        [32, 96, 32, 96],
        [40, 5, 40, 5],
        [[0, 1], [0, 1, 2, 3, 4, 5], [10, 11], [10, 11, 12, 13, 14, 15]],
    )
    w = dataclasses.replace(
        base, session=np.array([0, 0, 1, 1]), turn=np.array([1, 2, 1, 2]), think_s=np.array([0.0, 0.5, 0.0, 0.5])
    )
    r = simulate_fleet(w, constant_cost(), EngineLimits(kv_cache_tokens=10_000), replicas=1, users=1)
    e2e = r.e2e_s
    # one user: conversation 0's turn 2 is sent 0.5 s after turn 1 ended; conversation 1 starts after that
    assert r.arrival_s[1] == pytest.approx(r.arrival_s[0] + e2e[0] + 0.5, abs=0.03)
    assert r.arrival_s[2] == pytest.approx(r.arrival_s[1] + e2e[1], abs=0.03)
    assert r.summary()["completed"] == 4
    assert STEP > 0


def test_a_request_preempted_mid_prompt_finds_its_computed_blocks_again():
    # A (16-token prompt, 150 out) grows to 11 of the 12 blocks; B (96-token prompt, 16-token chunks) arrives
    # when A holds 9 and is preempted after two chunks. vLLM caches each full block once it is computed and
    # frees a request's blocks tail first: A's growth evicts B's second block, and B is readmitted with its
    # first block (16 tokens) as a hit instead of recomputing it.
    w = workload([0.0, 1.3], [16, 96], [150, 5], [[0], [10, 11, 12, 13, 14, 15]])
    limits = EngineLimits(kv_cache_tokens=12 * 16, max_num_seqs=2, max_num_batched_tokens=17)
    prefills = {}
    for caching in (True, False):
        sim = _Sim(w, constant_cost(), limits, prefix_cache_for(w, limits, enabled=caching))
        sim.submit_all()
        r = sim.run(None)
        assert sim.free == sim.total_blocks  # nothing leaked
        assert r.preemptions[1] >= 1
        prefills[caching] = r.step_shapes.prefill_tokens.sum()
    # with the cache: 16 (A) + 32 (B before the preemption) + 80 (B after it: 96 less the 16 hit)
    assert prefills[True] == 16 + 32 + 80
    assert prefills[False] > 16 + 32 + 96  # without it B starts over each time it is preempted


def test_freed_blocks_are_evicted_tail_first():
    # A's prompt (keys 0..3) ends; B (6 new blocks) needs room in a 8-block pool: A's last blocks go first,
    # and C, resending A's prompt, still hits its head.
    w = workload([0.0, 1.0, 2.0], [64, 96, 64], [1, 1, 1], [[0, 1, 2, 3], [10, 11, 12, 13, 14, 15], [0, 1, 2, 3]])
    limits = EngineLimits(kv_cache_tokens=8 * 16)
    r = simulate(w, constant_cost(), limits)
    assert r.cached_tokens.tolist() == [0, 0, 32]  # keys 0 and 1 stayed; 2 and 3 were evicted for B
