"""Long overloads: a fluid stretch, where the exact solver would need too many iterations.

While every slot stays busy, requests start at the rate slots free up. Measured in *slot time* ``V(t)`` (the
capacity's slot-seconds since 0), a request holds ``S`` slot-seconds, so a FIFO queue through ``c`` busy
slots behaves like one server working at ``c`` times the speed (the heavy-traffic limit of a multi-server
queue)::

    v_i = max(V(arrival_i), v_{i−1} + S_{i−1}),   start_i = V⁻¹(v_i)

a Lindley recursion, solved with a cumulative sum and a running maximum. ``loss``: admissions happen at the
rate slots free up, ``(V(t) − V(t₀)) ÷ mean S`` by time t; the k-th arrival is admitted when an unused one
is available (a running minimum). Batches are full (``slots``). The stretch ends once the queue has cleared
(``queue``: the recursion restarts at an arrival and fewer requests than slots remain in service;
``loss``: a slot's worth of admissions goes unused), and the exact solver takes over.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from costmodel.replay._solver import Context, Part

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


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
    return Part(f, start[:end], batch, svc[:end], np.ones(end, dtype=bool))


def _fluid_loss(ctx: Context, f: int, q: int, carry: FloatArray) -> Part:
    a = ctx.a[f:q]
    m = q - f
    svc = ctx.service_s(slice(f, q), ctx.slots)
    cap = ctx.cap
    mean_s = float(svc.mean()) if m else 1.0
    ahead = carry[carry > a[0]]
    free0 = int(cap.ready(a[0])) * ctx.slots - ahead.size
    v0 = float(cap.slot_time(np.array([a[0]]))[0])
    units = free0 + np.floor((cap.slot_time(a) - v0) / mean_s).astype(np.int64)
    units = np.maximum(np.maximum.accumulate(units), 0)
    ranks = np.arange(1, m + 1)
    used = ranks + np.minimum.accumulate(np.minimum(units - ranks, 0))
    admitted = np.diff(np.concatenate([[0], used])) > 0
    spare = units - used
    done = np.flatnonzero(spare >= ctx.slots)
    end = int(done[0]) + 1 if done.size else m
    start = np.where(admitted, a, np.nan)[:end]
    batch = np.full(end, ctx.slots, dtype=np.int64)
    return Part(f, start, batch, svc[:end], admitted[:end])
