"""The pool's exact solver: the starts of a window of requests, by iterating the one equation of :mod:`.fleet`.

Receives a :class:`Context` (the chunk's arrivals and per-request service-time parts, one replica's model,
the ready capacity) and ``carry``, the departures still to come of the requests
before the window. Returns a :class:`Part`: start, batch, service time and admission of the window's first
requests — all of them, or those before a long overload, where :func:`.fleet._solve` hands over to
:func:`._fluid.solve_fluid`.

Request ``i`` (``K_i`` requests came before it) can start once fewer than ``c(t)`` of them remain in the
system, i.e. at ``D[K_i − c]`` where ``D`` are the sorted departures: ``start_i = max(arrival_i, D[K_i − c])``
(``loss``: admitted iff ``D[K_i − c] ≤ arrival_i``; a request turned away counts as leaving on arrival, so
``K`` never changes). :func:`solve_exact`:

1. assume nobody waits (each departs at arrival + its service time at a batch estimated from the departures
   counted per cell, :func:`in_service_upper`); one sort gives ``D`` and the equation is a gather. Those for
   whom it fails form the *waiting set* — usually a few;
2. :func:`_fixed_point` iterates the waiting set (and the ``slots`` requests after each run of it): their
   departures live in a small sorted array beside the large fixed one (:class:`._order.Departures`), so a
   pass costs a ``searchsorted`` on the small set; :meth:`._capacity.Capacity.free_time` finds a slot that
   comes free later in the segment or when a replica becomes ready. After each settled round everyone else
   is re-checked against the new departures and those now late join the next round.

**Why it converges.** With a service time that does not depend on the batch, later departures can only delay
starts (the map from departures to starts is monotone) and the iteration starts from a lower bound (nobody
waits), so it rises to the least fixed point: the FIFO multi-server queue's own starts (a property test
checks them against the per-request simulation, exactly). The batch term moves service times a little with
the load, and turning away (``loss``) is not monotone at all (admitting one request can turn away the next:
interacting flips are applied one at a time, :func:`_independent_flips`). So each round runs to "nothing
moves" within a budget (:data:`MAX_ITERATIONS` passes, :data:`MAX_ROUNDS` rounds); a run of waiting
requests that does not settle — a long overload, where every request depends on the one before — is cut
before its first request still moving, and a fluid stretch carries on from there. A run longer than
:data:`LONG_RUN_PER_SLOT` requests per slot of the largest fleet is cut before any iteration.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from costmodel.replay._arrays import BoolArray, FloatArray, IntArray
from costmodel.replay._capacity import Capacity
from costmodel.replay._order import Departures, remove
from costmodel.service import ReplicaService

MAX_ITERATIONS = 64
MAX_ROUNDS = 20
LONG_RUN_PER_SLOT = 48
"""A run of waiting requests longer than this many per slot is left to a fluid stretch."""


@dataclass
class Context:
    """What every solver needs: the requests, one replica's model and the capacity."""

    a: FloatArray
    service: ReplicaService
    cap: Capacity
    loss: bool
    fixed_ms: FloatArray
    """Per request: the batch-independent part of TTFT, ``ttft_base_ms + prefill_ms_per_token × n_in``."""
    tail: FloatArray
    """Per request: output tokens after the first, ``max(n_out, 1) − 1``."""
    iterations: int = 0
    fluid_stretches: int = 0
    notes: list[str] = field(default_factory=list)

    @classmethod
    def build(
        cls, a: FloatArray, n_in: IntArray, n_out: IntArray, service: ReplicaService, cap: Capacity, *, loss: bool
    ) -> Context:
        """Precompute the per-request parts of the service time once."""
        fixed_ms = service.ttft_base_ms + service.prefill_ms_per_token * n_in.astype(np.float64)
        tail = np.maximum(n_out, 1).astype(np.float64) - 1.0
        return cls(a=a, service=service, cap=cap, loss=loss, fixed_ms=fixed_ms, tail=tail)

    def with_requests(self, a: FloatArray, n_in: IntArray, n_out: IntArray) -> Context:
        """The same context (model, capacity and counters) on other requests (the next chunk)."""
        fresh = Context.build(a, n_in, n_out, self.service, self.cap, loss=self.loss)
        return replace(self, a=fresh.a, fixed_ms=fresh.fixed_ms, tail=fresh.tail)

    @property
    def slots(self) -> int:
        return self.cap.slots

    def service_s(self, rows: slice | IntArray, batch: npt.ArrayLike) -> FloatArray:
        """``ReplicaService.service_s`` for ``rows`` at ``batch`` (≥ 1), from the precomputed parts [s]."""
        s = self.service
        b = np.asarray(batch, dtype=np.float64)
        ttft = self.fixed_ms[rows] + s.ttft_per_seq_ms * b
        return (ttft + self.tail[rows] * (s.tpot_base_ms + s.tpot_per_seq_ms * b)) / 1000.0

    def batch_of(self, in_service: IntArray, ready: IntArray) -> IntArray:
        # np.minimum/np.maximum rather than np.clip: the same integers without np.clip's per-call overhead
        return np.minimum(np.maximum(in_service // np.maximum(ready, 1) + 1, 1), self.slots)


@dataclass
class Part:
    """Start, batch, service time and admission of requests ``[lo, lo + len)``, and their departures."""

    lo: int
    start: FloatArray
    batch: IntArray
    svc: FloatArray
    admitted: BoolArray

    def __len__(self) -> int:
        return int(self.start.shape[0])

    def departures(self) -> FloatArray:
        """Departure times of the admitted requests."""
        return (self.start + self.svc)[self.admitted]


def in_service_upper(carry: FloatArray, dep: FloatArray, a: FloatArray) -> IntArray:
    """Upper bound on the requests in the system just before each arrival (departures counted per cell of
    about one inter-arrival time: those inside the arrival's own cell are counted as still there).

    :func:`solve_exact` passes the window's departures at batch 1 (their shortest service times): the count
    is an upper bound already, and against the per-request simulation this agrees better than departures at
    a larger guessed batch (the mean batch of the chunk before, as the solver once did: on 800,000 Azure-shaped
    requests its overflow count was off by 367 against 128, its p99 TTFT by 3.1 % against 1.3 %)."""
    m = a.size
    base = float(a[0])
    width = max((float(a[-1]) - base) / m, 1e-9)
    cells = m + 2
    idx = np.clip(np.floor((np.concatenate([carry, dep]) - base) / width).astype(np.int64) + 1, 0, cells - 1)
    before = np.cumsum(np.bincount(idx, minlength=cells))
    own = np.clip(np.floor((a - base) / width).astype(np.int64) + 1, 1, cells - 1)
    return carry.size + np.arange(m) - before[own - 1]


def solve_exact(ctx: Context, p: int, q: int, carry: FloatArray) -> Part:
    """Solve requests ``[p, q)`` given the departures ``carry`` of those in the system before ``p``.
    The returned part may be shorter than ``q − p`` (cut at a long overload)."""
    a = ctx.a[p:q]
    m = q - p
    ready = ctx.cap.ready(a)
    first_guess = a + ctx.service_s(slice(p, q), 1.0)  # see in_service_upper
    batch = ctx.batch_of(in_service_upper(carry, first_guess, a), ready)
    svc = ctx.service_s(slice(p, q), batch)
    dep = a + svc
    everything = np.sort(np.concatenate([carry, dep]), kind="stable")
    rank = carry.size + np.arange(m) - ready * ctx.slots
    free_at = np.where(rank >= 0, everything[np.clip(rank, 0, everything.size - 1)], -np.inf)
    waiting = np.flatnonzero(free_at > a)
    if waiting.size == 0:
        return Part(p, a.copy(), batch, svc, np.ones(m, dtype=bool))
    long_run = _first_long_run(waiting, LONG_RUN_PER_SLOT * ctx.slots * max(int(ctx.cap.counts.max()), 1))
    if long_run is not None:  # already a long overload before any request moved: stop before it
        if long_run == 0:
            return Part(p, a[:0], batch[:0], svc[:0], np.ones(0, dtype=bool))
        return solve_exact(ctx, p, p + long_run, carry)
    return _fixed_point(ctx, p, q, carry=carry, everything=everything, dep=dep, batch=batch, svc=svc, waiting=waiting)


def _first_long_run(rows: IntArray, length: int) -> int | None:
    """Start of the first run of consecutive ``rows`` longer than ``length``, if any."""
    breaks = np.flatnonzero(np.diff(rows) > 1)
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [rows.size - 1]])
    long = np.flatnonzero(ends - starts + 1 > length)
    return int(rows[starts[long[0]]]) if long.size else None


@dataclass
class _Solution:
    """The current solution of requests ``[p, q)`` (rows from 0): arrival, start [s], admitted, batch, service
    time [s]. Rows outside the waiting set keep their no-wait values (start = arrival)."""

    arrival: FloatArray
    start: FloatArray
    admitted: BoolArray
    batch: IntArray
    svc: FloatArray

    def departures(self, rows: IntArray) -> FloatArray:
        """Departure of each of ``rows``: start + service, or the arrival for one turned away."""
        return np.where(self.admitted[rows], self.start[rows] + self.svc[rows], self.arrival[rows])


def _fixed_point(
    ctx: Context,
    p: int,
    q: int,
    *,
    carry: FloatArray,
    everything: FloatArray,
    dep: FloatArray,
    batch: IntArray,
    svc: FloatArray,
    waiting: IntArray,
) -> Part:
    """Iterate the waiting set (and the ``slots`` requests after each run of it) to the fixed point, in
    rounds: settle the members (:func:`_settle`), re-check everyone else against the new departures
    (:func:`_late_others`), and add those now late as members for the next round. Cut before a long
    overload that does not settle (solving the part before it alone)."""
    a = ctx.a[p:q]
    m = q - p
    sol = _Solution(a, a.copy(), np.ones(m, dtype=bool), batch, svc)
    base_k = carry.size + np.arange(m)  # requests ahead; one turned away "leaves" on arrival (loss)
    is_member = np.zeros(m, dtype=bool)
    is_member[_with_watch(waiting, m, ctx.slots)] = True
    members = np.flatnonzero(is_member)
    fixed = remove(everything, dep[members])
    fresh = is_member.copy()
    for rounds in range(MAX_ROUNDS):
        deps = Departures(fixed, sol.departures(members))
        # first round: everyone; later rounds: only the newcomers (the others already agree with D)
        stuck = _settle(ctx, p, sol, members=members, deps=deps, base_k=base_k, active=np.flatnonzero(fresh[members]))
        if stuck is not None:  # a long overload: solve the part before it on its own; a fluid stretch carries on
            if stuck == 0:
                return Part(p, a[:0], sol.batch[:0], sol.svc[:0], sol.admitted[:0])
            return solve_exact(ctx, p, p + stuck, carry)
        new = _late_others(ctx, sol, is_member=is_member, deps=deps, base_k=base_k)
        if new.size == 0:
            break
        if rounds == MAX_ROUNDS - 1:  # still growing: solve the part before the first newcomer on its own
            return solve_exact(ctx, p, p + int(new.min()), carry)
        fresh[:] = False
        fresh[_with_watch(new, m, ctx.slots)] = True
        fresh &= ~is_member
        fixed = remove(fixed, dep[fresh])
        is_member |= fresh
        members = np.flatnonzero(is_member)
    sol.start[~sol.admitted] = np.nan
    return Part(p, sol.start, sol.batch, sol.svc, sol.admitted)


def _settle(
    ctx: Context, p: int, sol: _Solution, *, members: IntArray, deps: Departures, base_k: IntArray, active: IntArray
) -> int | None:
    """Re-evaluate the ``active`` members until nothing moves (each move activates the members it may
    affect, :func:`_next_active`). Returns None when settled, else the row (from ``p``) of the first request
    still moving after :data:`MAX_ITERATIONS` (a long overload).

    What does not change while the members settle is computed once here (:class:`_Members`), not on every
    pass."""
    mem = _Members.of(ctx, sol, members, deps)
    arrival = mem.arrival
    episode = np.concatenate([[0], np.cumsum(np.diff(members) > 1)])
    last_moved = active
    for _ in range(MAX_ITERATIONS):
        ctx.iterations += 1
        rows = members[active]
        new_start, new_adm, b, new_svc = _evaluate(ctx, p, sol, mem=mem, deps=deps, base_k=base_k, active=active)
        old_adm, old_svc = sol.admitted[rows], sol.svc[rows]
        flip = new_adm != old_adm
        changed = flip | (new_svc != old_svc)
        if not ctx.loss:  # (under loss every start is the arrival throughout)
            changed |= new_start != sol.start[rows]
            sol.start[rows] = new_start
        deferred = active[:0]
        if ctx.loss and flip.any():  # turning away is not monotone: settle flips in order, never two that interact
            keep = _independent_flips(arrival[active], flip, np.maximum(new_svc, old_svc))
            deferred = active[~keep]
            changed &= keep
            new_adm, b, new_svc = (
                np.where(keep, new_adm, old_adm),
                np.where(keep, b, sol.batch[rows]),
                np.where(keep, new_svc, old_svc),
            )
        sol.admitted[rows], sol.batch[rows], sol.svc[rows] = new_adm, b, new_svc
        if not changed.any():
            return None
        moved = active[changed]
        old_dep = deps.values[moved]
        new_dep = np.where(new_adm, new_start + new_svc, arrival[active])[changed]
        deps.update(moved, new_dep)
        last_moved = moved
        start = None if mem.ascending else sol.start[members]
        active = _next_active(
            episode, moved, old_dep=old_dep, new_dep=new_dep, arrival=arrival, start=start, deferred=deferred
        )
    return int(members[last_moved.min()])


@dataclass
class _Members:
    """What the passes of :func:`_settle` read about its members that does not change while they settle.
    Under ``loss`` a member's start is its arrival throughout, so the replicas ready then and the fixed
    departures by then are known once; ``queue`` starts move, so those stay None."""

    rows: IntArray
    arrival: FloatArray
    run_end: IntArray | None
    """``loss``: see :func:`_run_ends`."""
    ready: IntArray | None
    """``loss``: replicas ready at each member's arrival."""
    fixed_by_arrival: IntArray | None
    """``loss``: fixed departures at or before each member's arrival."""
    ascending: bool = False
    """``loss`` with arrivals in ascending order: the members whose start lies in an interval are a slice."""

    @classmethod
    def of(cls, ctx: Context, sol: _Solution, members: IntArray, deps: Departures) -> _Members:
        arrival = sol.arrival[members]
        if not ctx.loss:
            return cls(members, arrival, None, None, None)
        fixed_by_arrival = deps.fixed.searchsorted(arrival, side="right")
        ascending = not bool((np.diff(arrival) < 0).any())
        return cls(members, arrival, _run_ends(arrival), ctx.cap.ready(arrival), fixed_by_arrival, ascending)


def _evaluate(
    ctx: Context, p: int, sol: _Solution, *, mem: _Members, deps: Departures, base_k: IntArray, active: IntArray
) -> tuple[FloatArray, BoolArray, IntArray, FloatArray]:
    """The one equation for the ``active`` members against the current departures: start (``queue``: also
    no earlier than the request ahead) or admission (``loss``), then the batch joined and the service time.

    ``loss`` asks no :meth:`.Capacity.free_time`: a request is admitted iff the ``(k − c)``-th departure
    (0-based; ``c`` the slots ready at its arrival) comes at or before its arrival, i.e. iff more than ``k − c``
    departures come by then — the count the batch needs anyway (a later segment cannot help: it starts after
    the arrival)."""
    rows = mem.rows[active]
    k = base_k[rows]
    if mem.ready is not None and mem.fixed_by_arrival is not None:  # loss: each starts at arrival, or not
        arrival = mem.arrival[active]
        # skip the "departures" (at arrival) of itself and of later ones arriving with it
        k = k + _turned_away_at_or_after(sol.admitted, mem.rows, active, mem.run_end)
        ready = mem.ready[active]
        done = deps.count_le(arrival, fixed_count=mem.fixed_by_arrival[active])
        b = ctx.batch_of(np.maximum(k - done, 0), ready)
        return arrival, done > k - ready * ctx.slots, b, ctx.service_s(p + rows, b)
    a = sol.arrival
    free_at = ctx.cap.free_time(deps, k, a[rows])
    behind = sol.start[np.maximum(rows - 1, 0)]
    new_start = np.maximum.accumulate(np.maximum(np.maximum(a[rows], free_at), behind))
    in_service = k - deps.count_le(new_start)
    b = ctx.batch_of(np.maximum(in_service, 0), ctx.cap.ready(new_start))
    return new_start, np.ones(rows.size, dtype=bool), b, ctx.service_s(p + rows, b)


def _independent_flips(arrival: FloatArray, flip: BoolArray, hold: FloatArray) -> BoolArray:
    """Which admission flips to apply now (there is at least one). A flip changes the system until its
    departure; later requests arriving before that were evaluated against the old state, so they are deferred
    to the next iteration."""
    reach = np.empty(arrival.size)  # the furthest reach of the flips before each request
    reach[0] = -np.inf
    np.maximum.accumulate(np.where(flip, arrival + hold, -np.inf)[:-1], out=reach[1:])
    return arrival >= reach


def _late_others(ctx: Context, sol: _Solution, *, is_member: BoolArray, deps: Departures, base_k: IntArray) -> IntArray:
    """The requests outside the waiting set that the settled departures now make wait: no slot free at
    arrival, or (``queue``, FIFO) a request ahead starting after they arrive."""
    a = sol.arrival
    others = np.flatnonzero(~is_member)
    free_at = deps.kth(base_k[others] - ctx.cap.ready(a[others]) * ctx.slots)
    late = free_at > a[others]
    if not ctx.loss:  # FIFO: nobody starts before a request ahead of it (its departure would come too early)
        ahead = np.concatenate([[-np.inf], np.maximum.accumulate(sol.start)[:-1]])
        late |= ahead[others] > a[others]
    return others[late]


def _run_ends(arrival: FloatArray) -> IntArray | None:
    """Per member: the end (exclusive) of its run of members with the same arrival time; None when every run
    is a single member (the usual case)."""
    bounds = np.flatnonzero(np.diff(arrival) != 0) + 1
    if bounds.size == arrival.size - 1:
        return None
    run = np.concatenate([[0], np.cumsum(np.diff(arrival) != 0)])
    return np.concatenate([bounds, [arrival.size]])[run]


def _turned_away_at_or_after(
    admitted: BoolArray, members: IntArray, active: IntArray, run_end: IntArray | None
) -> IntArray:
    """Per ``active`` member: members turned away among itself and those after it with the same arrival time
    (they "leave" at that instant, so a count of departures up to it would include them)."""
    if run_end is None:
        return (~admitted[members[active]]).astype(np.int64)
    before = np.concatenate([[0], np.cumsum(~admitted[members])])  # turned away before each member
    return before[run_end[active]] - before[active]


def _with_watch(rows: IntArray, m: int, slots: int) -> IntArray:
    """``rows`` plus the ``slots`` requests after each run of them (they may have to wait next)."""
    runs_end = rows[np.concatenate([np.flatnonzero(np.diff(rows) > 1), [rows.size - 1]])]
    extra = (runs_end[:, None] + np.arange(slots + 1)[None, :]).ravel()
    return np.union1d(rows, extra[extra < m])


_FEW_MOVED = 16
"""Up to this many moved departures, :func:`_next_active` marks the members inside each one's interval as a
slice, one by one; above it, by counting interval ends."""


def _next_active(
    episode: IntArray,
    moved: IntArray,
    *,
    old_dep: FloatArray,
    new_dep: FloatArray,
    arrival: FloatArray,
    start: FloatArray | None,
    deferred: IntArray,
) -> IntArray:
    """Members to evaluate next: the ``deferred`` ones, the request after each moved one (it may queue behind
    it), and every member whose wait ``[arrival, start]`` overlaps a moved departure's ``[old, new]`` (the
    free slot it waits for, or its batch, may have changed). ``start`` None: every member starts at its
    arrival and arrivals ascend (``loss``), so those are the members arriving inside an interval: a slice."""
    active = np.zeros(episode.size, dtype=bool)
    active[deferred] = True
    nxt = moved + 1
    nxt = nxt[nxt < episode.size]
    active[nxt[episode[nxt] == episode[nxt - 1]]] = True
    lo = np.minimum(old_dep, new_dep)
    hi = np.maximum(old_dep, new_dep)
    if start is None:
        first = arrival.searchsorted(lo, side="left")
        stop = arrival.searchsorted(hi, side="right")
        if moved.size <= _FEW_MOVED:
            for f, e in zip(first.tolist(), stop.tolist(), strict=True):
                active[f:e] = True
        else:
            ends = np.bincount(first, minlength=episode.size + 1) - np.bincount(stop, minlength=episode.size + 1)
            active |= np.cumsum(ends[:-1]) > 0
        return np.flatnonzero(active)
    order = np.argsort(lo, kind="stable")
    lo, hi = lo[order], np.maximum.accumulate(hi[order])
    last = np.searchsorted(lo, start, side="right") - 1  # the latest interval opening by each start
    ok = last >= 0
    active[ok] |= hi[last[ok]] >= arrival[ok]
    return np.flatnonzero(active)
