"""A fleet of N replicas behind a router: every replica simulated step by step with its own prefix cache.

:func:`simulate_fleet` advances the replicas together in time. At each arrival the router picks a replica
from what it would see at that moment:

- ``round_robin`` — the next replica in turn;
- ``least_loaded`` — the one with the fewest requests running or queued (ties: lowest index);
- ``session`` — sticky: every turn of a conversation (its ``session_id``; without one, requests sharing their
  first prefix block) goes where its first turn went, chosen least loaded;
- ``kv_aware`` — NVIDIA Dynamo's KV router (``lib/llm/src/kv_router/scheduler.rs``): for each replica the
  cost ``w × prefill_blocks + active_blocks``, where ``prefill_blocks`` is the prompt tokens the replica would
  have to compute — the request's own, less what its prefix cache holds, plus the prompts already queued
  there — in 16-token blocks, and ``active_blocks`` the KV blocks in use there plus the request's own; the
  lowest cost wins (temperature 0; ties broken at random, seeded). ``w`` is Dynamo's
  ``overlap_score_weight`` (default 1).

**Open loop**: requests arrive at their trace times. **Closed loop** (``users``): a fixed number of users each
run one conversation at a time (the trace's ``session_id``/``turn``/``think_time_s``, see
``traces.conversations``): a conversation's first turn is sent ``think_time_s`` after its user becomes free,
every later turn ``think_time_s`` after the previous answer ended, and a user takes the next conversation of
the pool when its conversation ends. Replicas advance in quanta of ``quantum_s`` (20 ms) so that a turn is
routed within one quantum of the answer it follows.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Literal, get_args

import numpy as np
import numpy.typing as npt

from breakeven.errors import InputError
from costmodel.engine.results import SimResult
from costmodel.engine.simulator import EngineLimits, _Sim, prefix_cache_for
from costmodel.engine.steptime import StepCost
from costmodel.engine.workload import FloatArray, IntArray, Workload

Routing = Literal["round_robin", "least_loaded", "session", "kv_aware"]
ROUTINGS: Final[tuple[Routing, ...]] = get_args(Routing)


@dataclass(frozen=True)
class Sessions:
    """Conversations for a closed loop: rows of the workload in conversation order (CSR) and think times."""

    rows: IntArray
    offsets: IntArray
    think_s: FloatArray
    """Per workload row: the pause before it is sent [s]."""


@dataclass(frozen=True)
class FleetResult:
    """Per request (workload order) and per replica."""

    workload: Workload
    replica_of: IntArray
    """The replica each request went to (−1: never sent)."""
    arrival_s: FloatArray
    """When each request was sent (closed loop: set by the run)."""
    replicas: tuple[SimResult, ...]
    routing: str
    end_s: float

    def _pick(self, name: str) -> FloatArray:
        out = np.full(len(self.workload), np.nan)
        for k, r in enumerate(self.replicas):
            mine = self.replica_of == k
            out[mine] = getattr(r, name)[mine]
        return out

    @property
    def ttft_s(self) -> FloatArray:
        """Client-side time to first token [s]."""
        return self._pick("ttft_s")

    @property
    def e2e_s(self) -> FloatArray:
        """Client-side end-to-end latency [s]."""
        return self._pick("e2e_s")

    @property
    def tpot_s(self) -> FloatArray:
        """Time per output token after the first [s]."""
        return self._pick("tpot_s")

    @property
    def cached_tokens(self) -> IntArray:
        """Prompt tokens each request found in its replica's prefix cache."""
        out = np.zeros(len(self.workload), dtype=np.int64)
        for k, r in enumerate(self.replicas):
            mine = self.replica_of == k
            out[mine] = r.cached_tokens[mine]
        return out

    @property
    def finished(self) -> npt.NDArray[np.bool_]:
        """Requests that got their last token."""
        return np.isfinite(self._pick("finish_s"))

    def summary(self, *, slo_ttft_ms: float | None = None, slo_tpot_ms: float | None = None) -> dict[str, object]:
        """Hit rate, prefill tokens saved, throughput, TTFT / ITL / E2E, and SLO attainment when targets are given."""
        done = self.finished
        sent = self.replica_of >= 0
        n_in = self.workload.input_tokens.astype(np.float64)
        cached = self.cached_tokens.astype(np.float64)
        first = float(np.min(self.arrival_s[sent])) if sent.any() else 0.0
        span = max(self.end_s - first, 1e-9)
        itl_v = np.concatenate([r.itl_s()[0] for r in self.replicas])
        itl_w = np.concatenate([r.itl_s()[1] for r in self.replicas])
        out: dict[str, object] = {
            "routing": self.routing,
            "replicas": len(self.replicas),
            "requests": int(sent.sum()),
            "completed": int(done.sum()),
            "hit_rate_tokens": float(cached[sent].sum() / max(n_in[sent].sum(), 1.0)),
            "prefill_tokens_saved": int(cached[sent].sum()),
            "output_tok_s": float(self.workload.output_tokens[done].sum() / span),
            "throughput_rps": float(done.sum() / span),
            "ttft_ms": _stats(self.ttft_s[done] * 1000),
            "itl_ms": {"mean": float(np.average(itl_v, weights=itl_w) * 1000)} if len(itl_v) else {"mean": None},
            "tpot_ms": _stats(self.tpot_s[done] * 1000),
            "e2e_s": _stats(self.e2e_s[done]),
            "requests_per_replica": [int((self.replica_of == k).sum()) for k in range(len(self.replicas))],
            "preemptions": int(sum(int(r.preemptions.sum()) for r in self.replicas)),
        }
        if slo_ttft_ms is not None and slo_tpot_ms is not None and done.any():
            tpot = np.nan_to_num(self.tpot_s[done] * 1000, nan=0.0)
            ok = (self.ttft_s[done] * 1000 <= slo_ttft_ms) & (tpot <= slo_tpot_ms)
            out["slo_attainment"] = float(ok.sum() / max(sent.sum(), 1))
        return out


def _stats(values: FloatArray) -> dict[str, float | None]:
    v = values[np.isfinite(values)]
    if not len(v):
        return {"mean": None, "p50": None, "p90": None, "p99": None}
    p50, p90, p99 = np.percentile(v, [50, 90, 99])
    return {"mean": float(v.mean()), "p50": float(p50), "p90": float(p90), "p99": float(p99)}


class _Router:
    """Picks the replica of each arriving request by the policy's method (one per :data:`Routing` name)."""

    def __init__(
        self, policy: Routing, sims: list[_Sim], session_of: IntArray, weight: float, rng: np.random.Generator
    ) -> None:
        self.policy, self.sims, self.session_of, self.weight, self.rng = policy, sims, session_of, weight, rng
        self.turn = 0
        self.sticky: dict[int, int] = {}
        choosers: dict[Routing, Callable[[int], int]] = {
            "round_robin": self._round_robin,
            "least_loaded": lambda _i: self._least_loaded(),
            "session": self._session,
            "kv_aware": self._kv_aware,
        }
        self.choose = choosers[policy]

    def _round_robin(self, _i: int) -> int:
        k = self.turn % len(self.sims)
        self.turn += 1
        return k

    def _session(self, i: int) -> int:
        session = int(self.session_of[i])
        if session not in self.sticky:
            self.sticky[session] = self._least_loaded()
        return self.sticky[session]

    def _least_loaded(self) -> int:
        loads = [sum(s.load()[:2]) for s in self.sims]
        return int(np.argmin(loads))

    def _kv_aware(self, i: int) -> int:
        costs = []
        for s in self.sims:
            hit = s.prefix.lookup(i, resumed=False)
            queued = sum(s.nin[j] for j in s.waiting) + sum(s.nin[j] for j in s.pending)
            prefill_blocks = (s.nin[i] - hit + queued) / 16.0
            active = s.load()[2] + s.nin[i] / 16.0
            costs.append(self.weight * prefill_blocks + active)
        best = min(costs)
        ties = [k for k, c in enumerate(costs) if c <= best + 1e-9]
        return int(ties[0] if len(ties) == 1 else self.rng.choice(ties))


def simulate_fleet(
    workload: Workload,
    cost: StepCost,
    limits: EngineLimits,
    *,
    replicas: int,
    routing: Routing = "round_robin",
    users: int | None = None,
    sessions: Sessions | None = None,
    session_of: npt.ArrayLike | None = None,
    overlap_weight: float = 1.0,
    prefix_caching: bool = True,
    horizon_s: float | None = None,
    quantum_s: float = 0.02,
    seed: int = 0,
) -> FleetResult:
    """Simulate ``replicas`` identical replicas behind ``routing`` (see the module docstring).

    ``users`` with ``sessions`` runs a closed loop; otherwise requests arrive at ``workload.arrival_s``.
    ``session_of`` gives each request's session for sticky routing (default: its first prefix key).
    """
    if replicas < 1:
        raise InputError(f"replicas: expected at least 1; found {replicas}")
    if routing not in ROUTINGS:
        raise InputError(f"routing: unknown policy {routing!r}; expected one of {', '.join(ROUTINGS)}")
    if users is not None and sessions is None:
        sessions = sessions_of(workload)
    n = len(workload)
    sims = [
        _Sim(workload, cost, limits, prefix_cache_for(workload, limits, enabled=prefix_caching))
        for _ in range(replicas)
    ]
    router = _Router(routing, sims, _sessions(workload, session_of), overlap_weight, np.random.default_rng(seed))
    replica_of = np.full(n, -1, dtype=np.int64)
    sent_at = np.full(n, np.nan)
    horizon = math.inf if horizon_s is None else float(horizon_s)

    events: list[tuple[float, int]] = []  # (time, request)
    loop = _ClosedLoop(sessions, users, events) if users is not None and sessions is not None else None
    if loop is None:
        events = [(float(t), i) for i, t in enumerate(workload.arrival_s.tolist())]
        heapq.heapify(events)
    now = 0.0
    while True:
        busy = any(s.base or s.prefilling or s.waiting or s.pending for s in sims)
        if not events and not busy:
            break
        target = events[0][0] if events else math.inf
        if loop is not None:
            target = min(target, now + quantum_s) if busy else target
        target = min(target, horizon)
        if math.isinf(target):
            target = now + 3600.0  # drain: nothing left to send
        for s in sims:
            s.advance(target)
        now = max(now, target)
        if loop is not None:
            for s in sims:
                for i in s.done:
                    loop.finished(i, float(s.finish_t[i]))
                s.done.clear()
        else:
            for s in sims:
                s.done.clear()
        while events and events[0][0] <= now:
            t, i = heapq.heappop(events)
            k = router.choose(i)
            replica_of[i] = k
            sent_at[i] = t
            sims[k].arr[i] = t
            sims[k].submit(i)
        if now >= horizon:
            break
    results = tuple(s._result(max(now, horizon) if math.isfinite(horizon) else now) for s in sims)
    arrivals = np.where(np.isfinite(sent_at), sent_at, workload.arrival_s)
    results = tuple(_with_arrivals(r, arrivals) for r in results)
    return FleetResult(workload, replica_of, arrivals, results, routing, now)


def _with_arrivals(result: SimResult, arrivals: FloatArray) -> SimResult:
    """A replica's result with the times requests were sent (a closed loop sets them)."""
    return dataclasses.replace(result, sent_s=arrivals)


def _sessions(workload: Workload, session_of: npt.ArrayLike | None) -> IntArray:
    if session_of is not None:
        codes = np.unique(np.asarray(session_of).astype(str), return_inverse=True)[1]
        return codes.astype(np.int64)
    if workload.session is not None:
        return workload.session
    if workload.prefix is not None:  # requests that open with the same block belong together
        p = workload.prefix
        first = np.where(np.diff(p.offsets) > 0, p.keys[np.minimum(p.offsets[:-1], max(len(p.keys) - 1, 0))], -1)
        return np.where(first >= 0, first, -np.arange(1, len(workload) + 1)).astype(np.int64)
    return np.arange(len(workload), dtype=np.int64)


class _ClosedLoop:
    """Users taking conversations from a pool (see the module docstring)."""

    def __init__(self, sessions: Sessions, users: int, events: list[tuple[float, int]]) -> None:
        if users < 1:
            raise InputError(f"users: expected at least 1 concurrent user; found {users}")
        self.s = sessions
        self.events = events
        self.next_conversation = 0
        self.position: dict[int, tuple[int, int]] = {}  # request -> (conversation, turn index)
        for _ in range(min(users, len(sessions.offsets) - 1)):
            self._start(0.0)

    def _start(self, t: float) -> None:
        c = self.next_conversation
        if c >= len(self.s.offsets) - 1:
            return
        self.next_conversation += 1
        self._send(c, 0, t)

    def _send(self, conversation: int, turn: int, t: float) -> None:
        row = int(self.s.rows[self.s.offsets[conversation] + turn])
        self.position[row] = (conversation, turn)
        heapq.heappush(self.events, (t + float(self.s.think_s[row]), row))

    def finished(self, request: int, t: float) -> None:
        conversation, turn = self.position.pop(request)
        if self.s.offsets[conversation] + turn + 1 < self.s.offsets[conversation + 1]:
            self._send(conversation, turn + 1, t)
        else:
            self._start(t)


def sessions_of(workload: Workload) -> Sessions:
    """A closed loop's conversations from the workload's sessions, turns and think times."""
    if workload.session is None:
        raise InputError(
            f"{workload.label}: a closed loop needs conversations; expected a trace with session_id (and turn, "
            "think_time_s), e.g. `breakeven trace generate conversations --users N`"
        )
    turn = workload.turn if workload.turn is not None else np.arange(len(workload))
    think = workload.think_s if workload.think_s is not None else np.zeros(len(workload))
    return sessions_from(workload.session, turn, think)


def sessions_from(
    session_id: Sequence[object] | npt.ArrayLike, turn: npt.ArrayLike, think_s: npt.ArrayLike
) -> Sessions:
    """A closed loop's conversations from per-request session ids, turn numbers and think times."""
    sid = np.asarray(session_id).astype(str)
    turns = np.asarray(turn, dtype=np.int64)
    order_first: dict[str, int] = {}
    for i, s in enumerate(sid.tolist()):
        order_first.setdefault(s, i)
    rank = np.array([order_first[s] for s in sid.tolist()], dtype=np.int64)
    rows = np.lexsort((np.arange(len(sid)), turns, rank)).astype(np.int64)
    keyed = rank[rows]
    starts = (
        np.flatnonzero(np.concatenate(([True], keyed[1:] != keyed[:-1]))) if len(rows) else np.zeros(0, dtype=np.int64)
    )
    offsets = np.concatenate((starts, [len(rows)])).astype(np.int64)
    return Sessions(rows, offsets, np.asarray(think_s, dtype=np.float64))
