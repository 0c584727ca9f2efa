"""Long overloads of a ``queue`` pool: a fluid stretch, where the exact solver would need too many iterations.

Receives the :class:`._solver.Context`, the first request the exact solver could not settle, and ``carry``
(departures still to come). Returns a :class:`._solver.Part` up to where the backlog has cleared (or the
chunk's end); :func:`.fleet._solve` then goes back to :func:`._solver.solve_exact`.

While every slot stays busy, requests start at the rate slots free up. Measured in *slot time* ``V(t)`` (the
capacity's slot-seconds since 0), a request holds ``S`` slot-seconds, so a FIFO queue through ``c`` busy
slots behaves like one server working at ``c`` times the speed (the heavy-traffic limit of a multi-server
queue)::

    v_i = max(V(arrival_i), v_{i−1} + S_{i−1}),   start_i = V⁻¹(v_i)

a Lindley recursion, solved with a cumulative sum and a running maximum. Batches are full (``slots``). The
stretch ends once the backlog has cleared (the recursion restarts at an arrival and fewer requests than slots
remain in service), and the exact solver takes over. (A ``loss`` pool has no backlog: :mod:`._loss`.)
"""

from __future__ import annotations

import numpy as np

from costmodel.replay._arrays import FloatArray
from costmodel.replay._solver import Context, Part


def solve_fluid(ctx: Context, f: int, q: int, carry: FloatArray) -> Part:
    """A fluid stretch from request ``f`` (who found no free slot) to at most ``q``."""
    ctx.fluid_stretches += 1
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
