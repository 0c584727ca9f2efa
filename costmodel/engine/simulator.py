"""One vLLM server, step by step: continuous batching, chunked prefill, KV blocks and preemption.

:func:`simulate` replays a :class:`~costmodel.engine.workload.Workload` through the scheduler of vLLM V1
(``vllm/v1/core/sched/scheduler.py``) or, for old servers, V0's prefill-first scheduler, and times every
step with a :class:`~costmodel.engine.steptime.StepCost`.

**V1 (default).** Each step the scheduler spends a token budget (``max_num_batched_tokens``):

1. every running request that is decoding gets its one token (vLLM schedules the running list first; new
   requests join at its end, so the decoding ones come first);
2. running requests still in their prompt (chunked prefill) get the next chunk, oldest first, as far as the
   budget goes;
3. if nothing was preempted, waiting requests are admitted in arrival order (FCFS) while the budget lasts,
   ``max_num_seqs`` is not reached and the KV cache has the blocks for their first chunk — the first one
   that does not fit stops admission.

A request's KV cache lives in ``block_size``-token blocks from a fixed pool (``kv_cache_tokens``). When a
running request needs a block and none is free, the newest running request is preempted: its blocks are
freed, it goes back to the head of the queue, and is recomputed later (prompt and generated tokens, as one
prefill). The step that computes a prompt's last token samples the first output token (TTFT); each later
step adds one token. Time between steps is the step time — nothing else.

**V0** (``scheduler="v0"``, vLLM ≤ 0.6 without chunked prefill): a step is either a prefill of whole
waiting prompts (as many as the budget, seats and blocks allow; the block check keeps 1 % of the pool
free) or, when none can be admitted, one decode step of everything running. Decodes stall while prompts
are prefilled. A prompt longer than the budget is prefilled alone (V0 sets the budget to at least
``max_model_len``, so any prompt it accepts fits one step).

**Where we simplify.** No CUDA-graph padding of the batch; no speculative decoding, LoRA, multimodal or
structured output; the budget always covers every decode row (vLLM requires ``max_num_batched_tokens ≥
max_num_seqs``); a chunk is not aligned to blocks; a prefix-cache hit (``cached_tokens``) skips that part
of the prefill and its blocks are not taken from the pool (the prefix cache of issue 10 will own them). The
CPU work between steps is the step time's fixed overhead; vLLM's asynchronous output processing is not
modelled apart from it.

**Speed.** Decode-only stretches are advanced in runs: between two events (an arrival that can be admitted,
a request finishing, the KV pool running out) the batch only grows its contexts, so the run's step times
are computed at once (:meth:`StepCost.decode_run_s`) and the requests' progress is kept as one shared
decode clock. Only steps with prefill or admission are scheduled one by one.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass
from typing import Literal

import numpy as np

from breakeven.errors import InputError
from costmodel.engine.prefix import KnownPrefix, LruPrefixCache, PrefixCache
from costmodel.engine.results import SimResult
from costmodel.engine.steptime import StepCost, StepShapes
from costmodel.engine.workload import Workload

Scheduler = Literal["v1", "v0"]


@dataclass(frozen=True)
class EngineLimits:
    """The engine settings that shape scheduling (vLLM's names)."""

    kv_cache_tokens: int
    """KV-cache capacity [tokens] (``num_gpu_blocks × block_size`` of the startup log)."""
    max_num_seqs: int = 256
    max_num_batched_tokens: int = 8192
    block_size: int = 16
    scheduler: Scheduler = "v1"

    def __post_init__(self) -> None:
        for name in ("kv_cache_tokens", "max_num_seqs", "max_num_batched_tokens", "block_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise InputError(f"engine limits: {name} must be a positive integer; found {value!r}")
        if self.kv_cache_tokens < self.block_size:
            raise InputError(
                f"engine limits: kv_cache_tokens ({self.kv_cache_tokens}) is smaller than one block "
                f"({self.block_size} tokens)"
            )

    @property
    def kv_blocks(self) -> int:
        """Blocks in the KV pool."""
        return self.kv_cache_tokens // self.block_size


def simulate(
    workload: Workload,
    cost: StepCost,
    limits: EngineLimits,
    *,
    horizon_s: float | None = None,
    give_up_wait_s: float | None = None,
    prefix_caching: bool = True,
) -> SimResult:
    """Run ``workload`` through one server and return every request's timing and the run's figures.

    ``horizon_s`` stops the clock (requests not finished by then are *unfinished*); by default the run
    goes on until every request has finished. ``give_up_wait_s`` stops it as soon as a request has waited
    that long in the queue (a capacity search needs no more to call the rate too high). With
    ``prefix_caching`` (vLLM's default), a workload with prefix keys (``hash_ids``) runs through an LRU prefix
    cache in the KV pool; one without uses its known ``cached_tokens``.
    """
    sim = _Sim(workload, cost, limits, prefix_cache_for(workload, limits, enabled=prefix_caching))
    sim.submit_all()
    return sim.run(horizon_s, give_up_wait_s)


def prefix_cache_for(workload: Workload, limits: EngineLimits, *, enabled: bool = True) -> PrefixCache:
    """The replica's prefix cache for ``workload``: LRU over its prefix keys, else its known hits."""
    if enabled and workload.prefix is not None:
        return LruPrefixCache(
            workload.prefix.keys,
            workload.prefix.offsets,
            key_tokens=workload.prefix.block_tokens,
            input_tokens=workload.input_tokens,
            block_size=limits.block_size,
            answer_keys=workload.answer_keys,
        )
    return KnownPrefix(workload.cached if enabled else np.zeros(len(workload), dtype=np.int64), limits.block_size)


class _Sim:
    """The simulation state. Lists of Python numbers (faster than numpy for one element at a time).

    Block accounting: ``held[i]`` is what a request in its prompt holds from the pool; a request in the
    decode group holds ``blocks(tokens − 1) − hit_blocks`` (its computed tokens, less the cached prefix,
    whose blocks the prefix cache owns), and one more block each time its next token opens one.
    """

    def __init__(self, w: Workload, cost: StepCost, limits: EngineLimits, prefix: PrefixCache) -> None:
        self.w, self.cost, self.lim = w, cost, limits
        n = len(w)
        self.n = n
        self.bs = limits.block_size
        self.prefix = prefix
        self.pending: deque[int] = deque()  # requests routed here, not arrived yet, in arrival order
        self.done: list[int] = []  # requests finished, in order (a fleet reads and clears it)
        self.arr = w.arrival_s.tolist()
        self.nin = w.input_tokens.tolist()
        self.nout = w.output_tokens.tolist()
        self.tokens = list(self.nin)  # prompt + generated so far (for decode members: base + clock)
        self.gen = [0] * n
        self.computed = [0] * n
        self.held = [0] * n
        self.hit_blocks = [0] * n
        self.seq = [0] * n  # admission order (newest = largest): who is preempted first
        self.first_t = [math.nan] * n
        self.finish_t = [math.nan] * n
        self.admit_t = [math.nan] * n
        self.first_step = [-1] * n
        self.last_step = [-1] * n
        self.preempted = [0] * n
        self.cached = [0] * n
        self.rejected: list[int] = []
        self.free = limits.kv_blocks
        self.total_blocks = limits.kv_blocks
        self.waiting: deque[int] = deque()
        self.prefilling: list[int] = []  # running, still in their prompt, oldest first
        self.clock = 0  # decode steps so far; a decode member has tokens = base + clock
        self.base: dict[int, int] = {}
        self.sum_base = 0
        self.phase = [0] * self.bs  # decode members by base % block_size
        self.heap: list[tuple[int, int]] = []  # (clock at which it finishes, request)
        self.dec_allocated = False  # the decode group's blocks for the coming step are taken
        self.next_seq = 0
        self.now = 0.0
        self.step = 0
        self.step_end: list[float] = []
        self.step_dur: list[float] = []
        self.step_rows: list[int] = []
        self.step_dec: list[int] = []
        self.step_ctx: list[float] = []
        self.step_prefill: list[tuple[int, float, float, float, int]] = []  # (step, tokens, pairs, prior, sampled)
        self.kv_t: list[float] = []
        self.kv_used: list[int] = []
        self.resume_gaps: list[float] = []
        self.last_token_t: dict[int, float] = {}
        self.pauses: dict[int, list[tuple[int, int]]] = {}

    # ------------------------------------------------------------------------------------ helpers

    def _blocks(self, tokens: int) -> int:
        return -(-tokens // self.bs)

    def _running(self) -> int:
        return len(self.base) + len(self.prefilling)

    def _join_decode(self, i: int) -> None:
        b = self.tokens[i] - self.clock
        self.base[i] = b
        self.sum_base += b
        self.phase[b % self.bs] += 1
        heapq.heappush(self.heap, (self.nin[i] + self.nout[i] - b, i))

    def _leave_decode(self, i: int) -> int:
        """Remove ``i`` from the decode group; returns the pool blocks it held."""
        b = self.base.pop(i)
        self.sum_base -= b
        self.phase[b % self.bs] -= 1
        self.tokens[i] = b + self.clock
        computed = self.tokens[i] - (0 if self.dec_allocated else 1)
        return self._blocks(computed) - self.hit_blocks[i]

    def _decode_new_blocks(self, ahead: int = 0) -> int:
        """Blocks the decode group needs for the step ``ahead`` steps from now (members opening a block)."""
        return self.phase[(1 - self.clock - ahead) % self.bs]

    def _finished_top(self) -> int | None:
        """The clock at which the next decode member finishes (stale heap entries dropped)."""
        heap, base = self.heap, self.base
        while heap:
            target, i = heap[0]
            b = base.get(i)
            if b is not None and self.nin[i] + self.nout[i] - b == target:
                return target
            heapq.heappop(heap)
        return None

    def _newest_running(self) -> int:
        best, best_seq = -1, -1
        for i in self.prefilling:
            if self.seq[i] > best_seq:
                best, best_seq = i, self.seq[i]
        for i in self.base:
            if self.seq[i] > best_seq:
                best, best_seq = i, self.seq[i]
        return best

    def _preempt(self, i: int) -> None:
        if i in self.base:
            self.free += self._leave_decode(i)
            self.last_token_t[i] = self.now
        else:
            self.prefilling.remove(i)
            self.free += self.held[i]
        self.free += self.prefix.release(i, finished=False)
        self.held[i] = 0
        self.hit_blocks[i] = 0
        self.computed[i] = 0
        self.preempted[i] += 1
        self.pauses.setdefault(i, []).append((self.step, -1))
        self.waiting.appendleft(i)

    def submit(self, i: int) -> None:
        """Route request ``i`` here (arrivals must come in time order)."""
        self.pending.append(i)

    def submit_all(self) -> None:
        """Every request of the workload comes here (one replica)."""
        self.pending.extend(range(self.n))

    def _admit_arrivals(self) -> None:
        arr, pending, waiting, now = self.arr, self.pending, self.waiting, self.now
        while pending and arr[pending[0]] <= now:
            a = pending.popleft()
            if self.nin[a] + self.nout[a] > self.lim.kv_cache_tokens:
                self.rejected.append(a)  # vLLM refuses a request longer than the server can ever hold
            else:
                waiting.append(a)

    def _take(self, blocks: int) -> None:
        """Allocate ``blocks`` from the pool; the prefix cache gives up what no longer fits."""
        self.free -= blocks
        if self.prefix.evictable_blocks > self.free:
            self.prefix.evict_to(self.free)

    def _record(
        self,
        ends: list[float],
        durs: list[float],
        rows: int,
        dec: int,
        ctx: list[float],
        *,
        prefill: tuple[float, float, float, int] = (0.0, 0.0, 0.0, 0),
    ) -> None:
        """Keep what ``len(ends)`` steps did: their ends, durations and shapes (for re-timing them)."""
        k = len(ends)
        self.step_end.extend(ends)
        self.step_dur.extend(durs)
        self.step_rows.extend([rows] * k)
        self.step_dec.extend([dec] * k)
        self.step_ctx.extend(ctx)
        if prefill[0]:
            self.step_prefill.append((self.step, *prefill))
        self.step += k

    # ---------------------------------------------------------------------------------- main loop

    def run(self, horizon_s: float | None, give_up_wait_s: float | None = None) -> SimResult:
        """Advance to ``horizon_s`` (or until every request has finished) and return the result."""
        horizon = math.inf if horizon_s is None else float(horizon_s)
        self.advance(horizon, give_up_wait_s=give_up_wait_s)
        return self._result(horizon)

    def advance(self, until: float, *, give_up_wait_s: float | None = None) -> bool:
        """Run the steps that start before ``until``; False when a request waited longer than ``give_up_wait_s``."""
        patience = math.inf if give_up_wait_s is None else float(give_up_wait_s)
        v0 = self.lim.scheduler == "v0"
        while True:
            self._admit_arrivals()
            if not self.base and not self.prefilling:
                if not self.waiting:
                    if not self.pending or self.arr[self.pending[0]] >= until:
                        return True
                    self.now = max(self.now, self.arr[self.pending[0]])
                    continue
                if not self._can_admit(v0):  # cannot happen after the length check; never spin
                    self.rejected.append(self.waiting.popleft())
                    continue
            if self.now >= until:
                return True
            if self.waiting and self.now - self.arr[self.waiting[0]] > patience:
                return False
            if self.base and not self.prefilling and not self._can_admit(v0):
                self._decode_run(until)
            elif v0:
                self._step_v0()
            else:
                self._step_v1()
            self.kv_t.append(self.now)
            self.kv_used.append(self.total_blocks - self.free)

    def load(self) -> tuple[int, int, int]:
        """(requests running, requests waiting, KV blocks in use) — what a router looks at."""
        in_use = self.total_blocks - self.free
        return len(self.base) + len(self.prefilling), len(self.waiting) + len(self.pending), in_use

    def _hit(self, i: int) -> int:
        return self.prefix.lookup(i, resumed=self.preempted[i] > 0)

    def _can_admit(self, v0: bool) -> bool:
        """Whether the next step would admit the head of the queue (so it cannot be a pure decode step)."""
        if not self.waiting or self._running() >= self.lim.max_num_seqs:
            return False
        budget = self.lim.max_num_batched_tokens - (0 if v0 else len(self.base))
        i = self.waiting[0]
        hit = self._hit(i)
        todo = self.tokens[i] - hit
        if budget <= 0:  # (V0 admits a prompt longer than the budget alone)
            return False
        chunk = todo if v0 else min(todo, budget)
        need = self._blocks(hit + chunk) - self._blocks(hit) + self.prefix.reclaim(i, hit)
        if v0:
            return need <= self.free - self.total_blocks // 100
        return need <= self.free - self._decode_new_blocks()

    # --------------------------------------------------------------------------- decode-only runs

    def _decode_run(self, horizon: float) -> None:
        """Advance pure decode steps until the next event (finish, admissible arrival, KV exhaustion)."""
        members = len(self.base)
        top = self._finished_top()
        k_max = max((top if top is not None else self.clock + 1) - self.clock, 1)
        k_max = self._kv_steps_left(k_max)
        if k_max == 0:  # the next step needs a block that is not free: preempt in a normal step
            self._step_v0() if self.lim.scheduler == "v0" else self._step_v1()
            return
        limit = horizon
        if not self.waiting and self.pending:
            limit = min(limit, self.arr[self.pending[0]])
        s0 = float(self.sum_base + members * self.clock)
        first = self.cost.decode_step_s(members, s0)
        k_try = k_max if math.isinf(limit) else max(1, min(k_max, int((limit - self.now) / max(first, 1e-09)) + 8))
        if k_try <= 16:  # short runs (an arrival soon): scalar steps, no numpy overhead
            ends_l: list[float] = []
            durs_l: list[float] = []
            ctx_l: list[float] = []
            t = self.now
            for j in range(k_try):
                ctx = s0 + members * j
                d = first if j == 0 else self.cost.decode_step_s(members, ctx)
                t += d
                ends_l.append(t)
                durs_l.append(d)
                ctx_l.append(ctx)
                if t >= limit:
                    break
            k = len(ends_l)
        else:
            ctx_a = s0 + members * np.arange(k_try, dtype=np.float64)
            durs = self.cost.decode_run_s(members, ctx_a)
            ends = self.now + np.cumsum(durs)
            # Stop after the step during which the next arrival lands: it is scheduled in the step after.
            k = min(int(np.searchsorted(ends, limit, side="left")) + 1, k_try)
            ends_l, durs_l, ctx_l = ends[:k].tolist(), durs[:k].tolist(), ctx_a[:k].tolist()
        self._take(self._run_blocks(k))
        self._record(ends_l, durs_l, members, members, ctx_l)
        self.now = ends_l[-1]
        self.clock += k
        self._pop_finished()

    def _run_blocks(self, k: int) -> int:
        """Blocks the decode group opens over its next ``k`` steps."""
        full, rem = divmod(k, self.bs)
        return full * len(self.base) + sum(self._decode_new_blocks(j) for j in range(rem))

    def _kv_steps_left(self, k_max: int) -> int:
        """How many of the next ``k_max`` decode steps the free blocks cover (0 = not even the next)."""
        members = len(self.base)
        if members * (k_max // self.bs + 1) <= self.free:
            return k_max
        per_step = [self._decode_new_blocks(j) for j in range(self.bs)]
        cycles = min(k_max // self.bs, self.free // members) if members else k_max // self.bs
        used = cycles * members
        done = cycles * self.bs
        for j in range(k_max - done):
            used += per_step[j % self.bs]
            if used > self.free:
                return done + j
        return k_max

    def _pop_finished(self) -> None:
        while True:
            top = self._finished_top()
            if top is None or top > self.clock:
                return
            _, i = heapq.heappop(self.heap)
            self.free += self._leave_decode(i) + self.prefix.release(i, finished=True)
            self.hit_blocks[i] = 0
            self.done.append(i)
            self.finish_t[i] = self.now
            self.last_step[i] = self.step - 1
            self.gen[i] = self.nout[i]

    # ------------------------------------------------------------------------------- single steps

    def _sync_decode_blocks(self) -> None:
        """Allocate the decode group's blocks for the next step, preempting the newest while short."""
        while self.base:
            need = self._decode_new_blocks()
            if need <= self.free:
                self._take(need)
                self.dec_allocated = True
                return
            self._preempt(self._newest_running())

    def _step_v1(self) -> None:
        lim = self.lim
        self._sync_decode_blocks()
        budget = lim.max_num_batched_tokens - len(self.base)
        chunks: list[tuple[int, int, int]] = []  # (request, tokens computed before, chunk)
        preempted = False
        for i in list(self.prefilling):
            if budget <= 0:
                break
            if i not in self.prefilling:  # preempted while an older chunk was allocated
                continue
            chunk = min(self.tokens[i] - self.computed[i], budget)
            ok, victims = self._allocate(i, chunk)
            preempted = preempted or victims
            if not ok:
                break
            chunks.append((i, self.computed[i], chunk))
            budget -= chunk
        chunks = [c for c in chunks if c[0] in self.prefilling]
        if not preempted:
            while self.waiting and budget > 0 and self._running() < lim.max_num_seqs:
                i = self.waiting[0]
                hit = self._hit(i)
                chunk = min(self.tokens[i] - hit, budget)
                need = self._blocks(hit + chunk) - self._blocks(hit)
                if need + self.prefix.reclaim(i, hit) > self.free:
                    break
                self.waiting.popleft()
                self._start(i, hit, need)
                chunks.append((i, hit, chunk))
                budget -= chunk
        self._run_step(chunks)

    def _step_v0(self) -> None:
        lim = self.lim
        chunks: list[tuple[int, int, int]] = []
        budget = lim.max_num_batched_tokens
        reserve = self.total_blocks // 100
        while self.waiting and self._running() < lim.max_num_seqs:
            i = self.waiting[0]
            hit = self._hit(i)
            todo = self.tokens[i] - hit
            need = self._blocks(self.tokens[i]) - self._blocks(hit)
            too_long = todo > budget and (chunks or budget < lim.max_num_batched_tokens)
            if (
                too_long or need + self.prefix.reclaim(i, hit) > self.free - reserve
            ):  # a prompt longer than the budget goes alone
                break
            self.waiting.popleft()
            self._start(i, hit, need)
            chunks.append((i, hit, todo))
            budget -= todo
        if chunks:
            self._run_step(chunks, decode=False)
            return
        self._sync_decode_blocks()
        self._run_step([])

    def _start(self, i: int, hit: int, blocks: int) -> None:
        """Admit request ``i`` with ``hit`` cached prompt tokens, taking ``blocks`` blocks from the pool."""
        self._take(blocks + self.prefix.acquire(i, hit))
        self.held[i] = blocks
        self.hit_blocks[i] = self._blocks(hit)
        self.computed[i] = hit
        if not self.preempted[i]:
            self.cached[i] = hit
        self.seq[i] = self.next_seq
        self.next_seq += 1
        if math.isnan(self.admit_t[i]):
            self.admit_t[i] = self.now
        self.prefilling.append(i)

    def _allocate(self, i: int, chunk: int) -> tuple[bool, bool]:
        """Blocks for a running prompt's next chunk, preempting the newest while short (V1).

        Returns (scheduled, something was preempted)."""
        preempted = False
        while True:
            need = max(self._blocks(self.computed[i] + chunk) - self.hit_blocks[i] - self.held[i], 0)
            if need <= self.free:
                self._take(need)
                self.held[i] += need
                return True, preempted
            victim = self._newest_running()
            self._preempt(victim)
            preempted = True
            if victim == i:
                return False, True

    def _run_step(self, chunks: list[tuple[int, int, int]], *, decode: bool = True) -> None:
        """Time one step of the decode group (unless ``decode`` is False) plus ``chunks``; apply it."""
        n_dec = len(self.base) if decode else 0
        ctx = float(self.sum_base + n_dec * self.clock) if n_dec else 0.0
        pf_tokens = pf_pairs = pf_prior = 0.0
        sampled = n_dec
        for i, prior, c in chunks:
            pf_tokens += c
            pf_pairs += c * (prior + c / 2.0)
            pf_prior += prior
            if prior + c >= self.tokens[i]:
                sampled += 1
        dt = self.cost.step_s(
            n_dec,
            ctx,
            prefill_tokens=pf_tokens,
            prefill_pairs=pf_pairs,
            prefill_prior=pf_prior,
            prefill_rows=len(chunks),
            sampled_rows=sampled,
        )
        self.now += dt
        self._record(
            [self.now],
            [dt],
            n_dec + len(chunks),
            n_dec,
            [ctx],
            prefill=(pf_tokens, pf_pairs, pf_prior, sampled - n_dec),
        )
        if n_dec:
            self.clock += 1
        self.dec_allocated = False
        if n_dec:
            self._pop_finished()
        for i, prior, c in chunks:
            self.computed[i] = prior + c
            self.prefix.on_computed(i, self.computed[i])
            if self.computed[i] < self.tokens[i]:
                continue
            self.prefilling.remove(i)
            self.gen[i] += 1
            self.tokens[i] += 1
            if math.isnan(self.first_t[i]):
                self.first_t[i] = self.now
                self.first_step[i] = self.step - 1
            elif i in self.last_token_t:
                self.resume_gaps.append(self.now - self.last_token_t.pop(i))
                self.pauses[i][-1] = (self.pauses[i][-1][0], self.step - 1)
            if self.gen[i] >= self.nout[i]:
                self.free += self.held[i] + self.prefix.release(i, finished=True)
                self.held[i] = 0
                self.hit_blocks[i] = 0
                self.done.append(i)
                self.finish_t[i] = self.now
                self.last_step[i] = self.step - 1
            else:
                self.held[i] = 0  # the decode group accounts for its blocks from here on
                self._join_decode(i)

    # ------------------------------------------------------------------------------------- result

    def _result(self, horizon: float) -> SimResult:
        def cat(values: list[float] | list[int], dtype: type) -> np.ndarray:
            return np.asarray(values, dtype=dtype)

        steps = self.step
        prefill = np.zeros((4, steps))
        if self.step_prefill:
            rows_ = np.array(self.step_prefill, dtype=np.float64)
            prefill[:, rows_[:, 0].astype(np.int64)] = rows_[:, 1:].T
        dec = cat(self.step_dec, np.float64)
        shapes = StepShapes(
            n_dec=dec,
            dec_context=cat(self.step_ctx, np.float64),
            prefill_tokens=prefill[0],
            prefill_pairs=prefill[1],
            prefill_prior=prefill[2],
            rows=cat(self.step_rows, np.float64),
            sampled=dec + prefill[3],
        )
        rejected = np.zeros(self.n, dtype=bool)
        rejected[self.rejected] = True
        return SimResult(
            workload=self.w,
            api_overhead_s=self.cost.coefficients.api_overhead_ms / 1000.0,
            first_token_s=np.array(self.first_t),
            finish_s=np.array(self.finish_t),
            admit_s=np.array(self.admit_t),
            first_step=np.array(self.first_step, dtype=np.int64),
            last_step=np.array(self.last_step, dtype=np.int64),
            preemptions=np.array(self.preempted, dtype=np.int64),
            cached_tokens=np.array(self.cached, dtype=np.int64),
            rejected=rejected,
            step_end_s=cat(self.step_end, np.float64),
            step_s=cat(self.step_dur, np.float64),
            step_rows=cat(self.step_rows, np.int32),
            step_decode_rows=cat(self.step_dec, np.int32),
            step_shapes=shapes,
            kv_time_s=np.array(self.kv_t),
            kv_blocks_used=np.array(self.kv_used, dtype=np.int64),
            kv_blocks_total=self.total_blocks,
            resume_gaps_s=np.array(self.resume_gaps),
            pauses=self.pauses,
            end_s=min(self.now, horizon),
            max_num_seqs=self.lim.max_num_seqs,
        )
