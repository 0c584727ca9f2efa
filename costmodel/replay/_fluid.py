"""Long overloads: a fluid stretch, where the exact solver would need too many iterations.

Receives the :class:`._solver.Context`, the first request the exact solver could not settle, and ``carry``
(departures still to come). Returns a :class:`._solver.Part` up to where the backlog has cleared (or the
chunk's end); :func:`.fleet._solve` then goes back to :func:`._solver.solve_exact`.

While every slot stays busy, requests start at the rate slots free up. Measured in *slot time* ``V(t)`` (the
capacity's slot-seconds since 0), a request holds ``S`` slot-seconds, so a FIFO queue through ``c`` busy
slots behaves like one server working at ``c`` times the speed (the heavy-traffic limit of a multi-server
queue)::

    v_i = max(V(arrival_i), v_{i−1} + S_{i−1}),   start_i = V⁻¹(v_i)

a Lindley recursion, solved with a cumulative sum and a running maximum. ``loss`` is stepped in time blocks
(see :func:`_fluid_loss`). Batches are full (``slots``). The stretch ends once the backlog has cleared
(``queue``: the recursion restarts at an arrival and fewer requests than slots remain in service;
``loss``: a block turns nobody away), and the exact solver takes over.
"""

from __future__ import annotations

import numpy as np

from costmodel.replay._arrays import FloatArray
from costmodel.replay._solver import Context, Part


def solve_fluid(ctx: Context, f: int, q: int, carry: FloatArray) -> Part:
    """A fluid stretch from request ``f`` (who found no free slot) to at most ``q``."""
    ctx.fluid_stretches += 1
    return _fluid_loss(ctx, f, q, carry) if ctx.loss else _fluid_queue(ctx, f, q, carry)


def _fluid_queue(ctx: Context, f: int, q: int, carry: FloatArray) -> Part:
    a = ctx.a[f:q]
    m = q - f
    svc = ctx.service_s(slice(f, q), ctx.slots)
    cap = ctx.cap
    c0 = int(cap.ready(a[0])) * ctx.slots
    ahead = np.sort(carry[carry > a[0]])
    first = float(ahead[ahead.size - c0]) if 0 < c0 <= ahead.size else float(a[0])
    if c0 == 0:  # no capacity now: the queue starts when it comes
        first = float(cap.at_slot_time(cap.slot_time(np.array([a[0]])))[0])
    va = cap.slot_time(a)
    prefix = np.concatenate([[0.0], np.cumsum(svc[:-1])])
    base = va - prefix
    base[0] = max(base[0], float(cap.slot_time(np.array([first]))[0]))
    v = prefix + np.maximum.accumulate(base)
    start = np.maximum(cap.at_slot_time(v), a)
    start = np.maximum.accumulate(start)
    dep = start + svc
    # end: the recursion restarts at an arrival (no wait) and fewer than c requests remain in service there
    restart = np.flatnonzero(base[1:] >= np.maximum.accumulate(base)[:-1]) + 1
    end = m
    if restart.size:
        d_sorted = np.sort(np.concatenate([ahead, dep]))
        ready = cap.ready(a[restart]) * ctx.slots
        before = np.searchsorted(d_sorted, a[restart], side="right")
        in_service = ahead.size + restart - before
        ok = np.flatnonzero(in_service < ready)
        if ok.size:
            end = int(restart[ok[0]])
    batch = np.full(end, ctx.slots, dtype=np.int64)
    # copies: a view would keep the whole rest of the chunk alive with the part (and a stretch is often short)
    return Part(f, start[:end].copy(), batch, svc[:end].copy(), np.ones(end, dtype=bool))


def _fluid_loss(ctx: Context, f: int, q: int, carry: FloatArray) -> Part:
    """Admissions through busy slots, stepped in time blocks as long as the shortest service time nearby.

    Slots free up as the requests in service depart (those ahead: known; those admitted in earlier blocks:
    known once admitted); within a block, the k-th arrival is admitted when an unused free slot is available
    at its arrival (a running minimum). Departures of requests admitted in the same block are not seen
    until the next block. The stretch ends at the end of a block that turned nobody away.
    """
    a = ctx.a[f:q]
    m = q - f
    svc = _ServiceAhead(ctx, f, q)
    cap = ctx.cap
    ahead = np.sort(carry[carry > a[0]])
    admitted = np.zeros(m, dtype=bool)
    width = max(float(svc.upto(4096)[:4096].min()), 1e-3)  # no request admitted in a block leaves within it
    done: FloatArray = np.empty(0)  # sorted departures of those admitted so far in the stretch
    used = 0  # admitted so far in the stretch
    i, end = 0, m
    while i < m:
        t1 = float(a[i]) + width
        j = int(np.searchsorted(a, t1, side="left"))
        j = max(j, i + 1)
        block = a[i:j]
        slots = cap.ready(block) * ctx.slots
        in_system = (
            ahead.size - np.searchsorted(ahead, block, side="right") + used - np.searchsorted(done, block, side="right")
        )
        units = np.maximum(slots - in_system, 0)  # free slots at each arrival, before this block's admissions
        ranks = np.arange(1, block.size + 1)
        took = ranks + np.minimum.accumulate(np.minimum(units - ranks, 0))
        took = np.maximum(took, 0)
        adm = np.diff(np.concatenate([[0], took])) > 0
        admitted[i:j] = adm
        used += int(adm.sum())
        done = np.sort(np.concatenate([done, (block + svc.upto(j)[i:j])[adm]]))
        i = j
        if adm.all():
            end = j
            break
    start = np.where(admitted[:end], a[:end], np.nan)
    batch = np.full(end, ctx.slots, dtype=np.int64)
    return Part(f, start, batch, svc.upto(end)[:end].copy(), admitted[:end].copy())


class _ServiceAhead:
    """Service times at a full batch of requests ``[f, q)``, computed as far as a stretch reaches (doubling):
    a loss stretch is often a few blocks long, and computing the whole rest of the chunk for each one made a
    long overload's cost grow with the chunk. Elementwise, so the values are the same either way."""

    def __init__(self, ctx: Context, f: int, q: int) -> None:
        self.ctx, self.f, self.q = ctx, f, q
        self.values: FloatArray = np.empty(0)

    def upto(self, n: int) -> FloatArray:
        """The service times of at least the first ``min(n, q - f)`` requests [s]."""
        have = self.values.size
        if n > have:
            upto = min(max(n, 2 * have, 4096), self.q - self.f)
            more = self.ctx.service_s(slice(self.f + have, self.f + upto), self.ctx.slots)
            self.values = np.concatenate([self.values, more])
        return self.values
