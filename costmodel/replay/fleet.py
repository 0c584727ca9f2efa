"""The fast fleet replay: when each request starts on a pool of replicas, vectorised over requests.

Receives the requests (arrival, input and output tokens), one replica's latency model
(:class:`~costmodel.service.ReplicaService`), the slots per replica, and the fleet: a planned instance
table (``fixed`` and ``utilization`` policies, from :func:`.autoscale.plan_fleet`) or a
:class:`~.autoscale.QueueTrigger` that decides while the pool runs. Returns a :class:`FleetSim`: each
request's start, batch, service time and admission, and the instances that ran. Next:
:func:`.dedicated.summarize_fleet` bills the fleet and turns starts into latency.

The pool has ``slots`` request slots per ready replica. A request starts when a slot is free (FIFO) and
holds it for ``service.service_s(n_in, n_out, batch)`` seconds, where ``batch = min(slots, ⌊in service ÷
ready⌋ + 1)`` — the count on the least-loaded replica once it joins. Two disciplines:

- ``queue``: a request that finds no free slot waits in a FIFO queue (the dedicated fleet);
- ``loss``: it is turned away (the hybrid's overflow to serverless).

**The one equation.** Number the requests; ``K_i`` of them came before request ``i`` (in the system or
gone). Request ``i`` can start once fewer than ``c(t)`` of those are still in the system, i.e. at the
``(K_i − c + 1)``-th departure of the requests before it. So with ``D`` the sorted departures::

    start_i = max(arrival_i, D[K_i − c(t)])          (capacity c(t) = slots × ready replicas)

(``loss``: admitted iff ``D[K_i − c] ≤ arrival_i``.) Under ``queue``, ``D`` depends on the starts, so this is
a fixed point. Under ``loss`` nobody waits, so each request depends only on those before it:
:func:`._loss.solve_loss` solves a chunk in one pass in arrival order, exactly, and what follows about
windows, fluid stretches and the chunk-boundary quirk is about ``queue`` pools only.

**How a request goes through.** :class:`Pool` is fed the trace in chunks of :data:`_CHUNK` requests
(:data:`_QUEUE_POLICY_CHUNK` under a queue trigger); between chunks it carries only the departures still to
come and the autoscaler's state. Within a chunk, :func:`_solve` cuts the
requests into stretches:

1. an *exact* window (:func:`._solver.solve_exact`): assume nobody waits, find who must (the *waiting
   set*), iterate on those to the fixed point. Windows start at :data:`_FIRST_WINDOW` requests and double
   while they solve whole;
2. where the fixed point does not settle (a long overload) the exact solver stops before it, and a *fluid
   stretch* (:func:`._fluid.solve_fluid`) carries the queue until the backlog clears; then exact again.

Each stretch returns a :class:`._solver.Part`; their departures become the next stretch's ``carry``.
Under a queue trigger, a chunk is solved, the decisions inside it are taken from that solution, and the
chunk is re-solved on the new fleet until both agree (:meth:`Pool._solve_with_trigger`).

**Known quirk: windows and chunk boundaries.** The batch of a request that starts on arrival is estimated
per exact window (:func:`._solver.in_service_upper` counts departures in cells about one inter-arrival
time of the window wide), and windows and fluid stretches restart at each chunk boundary, so results move
slightly with the chunk size: on the Azure code trace ×3 with chunks of 1,024 instead of 262,144, a hybrid
candidate's bill by 0.6 %, attainments by ≤ 0.1 pp, p99 TTFT by up to 3 %. (The solver no longer carries
the previous chunk's mean batch into the next chunk's first guess: that tripled the spread and agreed less
well with the per-request simulation.) The streamed replay (:mod:`.streamed`) cuts its chunks at the same
request numbers, so it gives the in-memory results exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from costmodel.replay._arrays import BoolArray, FloatArray, IntArray, RequestArrays
from costmodel.replay._capacity import Capacity
from costmodel.replay._fluid import solve_fluid
from costmodel.replay._loss import solve_loss
from costmodel.replay._solver import Context, Part, solve_exact
from costmodel.replay.autoscale import Instances, QueueTrigger
from costmodel.service import ReplicaService

Discipline = Literal["queue", "loss"]

_CHUNK = 1 << 18
"""Requests per chunk on a planned fleet (read at run time: tests shrink it)."""
_FIRST_WINDOW = 1 << 14
"""Requests in the first exact window of a chunk, and after each fluid stretch."""
_QUEUE_POLICY_CHUNK = 1 << 14
"""Requests per chunk under a queue trigger (each chunk is re-solved until its decisions settle)."""
_POLICY_ROUNDS = 12
"""Re-solves of a chunk under a queue trigger before the last round is kept (with a note)."""


def requests_per_chunk(queue_trigger: bool = False) -> int:
    """Requests per chunk, under a queue trigger or not (read at call time: tests shrink the chunks)."""
    return _QUEUE_POLICY_CHUNK if queue_trigger else _CHUNK


@dataclass(frozen=True)
class FleetSim:
    """What the pool did with each request. ``start_s`` is NaN for requests turned away (``loss``) and inf for
    requests never served (no capacity ever came)."""

    start_s: FloatArray
    batch: npt.NDArray[np.int32]
    service_s: FloatArray
    admitted: BoolArray
    instances: Instances
    decisions: int
    fluid_stretches: int = 0
    """How many long overloads were solved as fluid stretches (0 = every start is from the exact solver)."""
    notes: tuple[str, ...] = ()
    """What the solver had to give up on (a queue trigger whose decisions did not settle in a chunk)."""


@dataclass(frozen=True)
class PoolRows:
    """Per request of a range: start [s] (NaN: turned away; inf: never served), batch, service time [s],
    admitted."""

    start_s: FloatArray
    batch: npt.NDArray[np.int32]
    service_s: FloatArray
    admitted: BoolArray

    @classmethod
    def empty(cls, n: int) -> PoolRows:
        """Rows for ``n`` requests, to :meth:`put` the pool's parts into."""
        return cls(np.full(n, np.nan), np.zeros(n, dtype=np.int32), np.zeros(n), np.ones(n, dtype=bool))

    def put(self, parts: list[Part], offset: int = 0) -> None:
        """Write the solver's parts of a chunk that starts at row ``offset``."""
        for part in parts:
            rows = slice(offset + part.lo, offset + part.lo + len(part))
            self.start_s[rows] = part.start
            self.batch[rows] = part.batch
            self.service_s[rows] = part.svc
            self.admitted[rows] = part.admitted

    def mark_unserved(self) -> None:
        """Admitted requests without a start were never served (no capacity ever came): start = inf."""
        self.start_s[np.isnan(self.start_s) & self.admitted] = np.inf


def _carry_after(carry: FloatArray, part: Part, now: float) -> FloatArray:
    """Departures still to come at ``now`` of those in the system before and of ``part``."""
    dep = part.departures()
    return np.sort(np.concatenate([carry[carry > now], dep[dep > now]]), kind="stable")


def _solve(ctx: Context, p: int, q: int, carry: FloatArray) -> tuple[list[Part], FloatArray]:
    """Solve ``[p, q)``: exact parts, and fluid stretches over long overloads. Returns the parts and the
    departures still to come after the range's last arrival.

    The exact solver works on a window that doubles while it solves whole windows and shrinks back after an
    overload, so that a trace with many overloads is not re-solved from each one to the end of the chunk.
    """
    if ctx.loss:  # nobody waits: one exact pass in arrival order
        part, carry = solve_loss(ctx, p, q, carry)
        return ([part] if len(part) else []), carry
    parts: list[Part] = []
    h, exact, window = p, True, _FIRST_WINDOW
    while h < q:
        end = min(q, h + window) if exact else q
        part = solve_exact(ctx, h, end, carry) if exact else solve_fluid(ctx, h, q, carry)
        if exact and h + len(part) == end:
            window = min(window * 2, _CHUNK)
        elif exact:
            window, exact = _FIRST_WINDOW, False  # cut at a long overload: a fluid stretch next
        else:
            exact = True
        if len(part) == 0:
            continue
        parts.append(part)
        h += len(part)
        carry = _carry_after(carry, part, float(ctx.a[h]) if h < q else float(ctx.a[q - 1]))
    return parts, carry


class Pool:
    """The pool's state between chunks: the departures still to come (``carry``), the fleet (planned, or a
    queue trigger deciding as it goes), and the solver's running counters. Feed it the trace's chunks in
    order (:meth:`feed`), then :meth:`finish`."""

    def __init__(
        self,
        service: ReplicaService,
        slots: int,
        discipline: Discipline,
        *,
        instances: Instances | None = None,
        trigger: QueueTrigger | None = None,
    ) -> None:
        self.trigger = trigger
        self.planned = instances or Instances(np.empty(0), np.empty(0), np.empty(0))
        none = np.empty(0, dtype=np.int64)
        self.ctx = Context.build(
            np.empty(0), none, none, service, Capacity.of(self.instances(), slots), loss=discipline == "loss"
        )
        self.carry: FloatArray = np.empty(0)

    @property
    def chunk_size(self) -> int:
        """Requests per chunk (the streamed replay cuts a dataset at the same request numbers)."""
        return requests_per_chunk(self.trigger is not None)

    @property
    def fluid_stretches(self) -> int:
        """Long overloads solved as fluid stretches so far."""
        return self.ctx.fluid_stretches

    @property
    def notes(self) -> list[str]:
        """What the solver had to give up on (a queue trigger whose decisions did not settle)."""
        return self.ctx.notes

    def instances(self) -> Instances:
        """The instances so far (a queue trigger's grow as the chunks are solved)."""
        return self.trigger.scaler.instances() if self.trigger is not None else self.planned

    def feed(self, a: FloatArray, n_in: IntArray, n_out: IntArray, *, last: bool) -> list[Part]:
        """Solve the next chunk (its arrivals and token counts); ``last``: it ends the trace. Returns the
        solver's parts, rows numbered from the chunk's start (see :meth:`PoolRows.put`)."""
        self.ctx = self.ctx.with_requests(a, n_in, n_out)
        parts, self.carry = self._solve_with_trigger(len(a), last=last)
        return parts

    def finish(self) -> None:
        """Take a queue trigger's decisions after the last arrival (the backlog draining)."""
        trig = self.trigger
        if trig is not None and trig.k < trig.times.shape[0]:
            t = trig.times[trig.k :]
            in_system = (self.carry.size - np.searchsorted(self.carry, t, side="right")).astype(float)
            trig.decide_block(trig.times.shape[0], in_system)

    def _in_system(self, parts: list[Part], carry: FloatArray, q: int, t: FloatArray) -> FloatArray:
        """Requests in the system at each ``t``: those carried in and the chunk's first ``q``."""
        dep = np.sort(np.concatenate([carry, *(part.departures() for part in parts)]))
        arrived = carry.size + np.searchsorted(self.ctx.a[:q], t, side="left")
        return (arrived - np.searchsorted(dep, t, side="right")).astype(np.float64)

    def _solve_with_trigger(self, q: int, *, last: bool) -> tuple[list[Part], FloatArray]:
        """Solve the chunk ``[0, q)``. Queue trigger: decisions inside the chunk depend on its solution;
        iterate until they agree."""
        carry, trig = self.carry, self.trigger
        if trig is None:
            return _solve(self.ctx, 0, q, carry)
        snap = trig.snapshot()
        limit = math.inf if last else float(self.ctx.a[q - 1])
        k1 = int(np.searchsorted(trig.times, limit, side="right"))
        t = trig.times[trig.k : k1]
        parts, after = _solve(self.ctx, 0, q, carry)
        for _ in range(_POLICY_ROUNDS):
            signal = self._in_system(parts, carry, q, t)
            trig.restore(snap)
            trig.decide_block(k1, signal)
            self.ctx.cap = Capacity.of(self.instances(), self.ctx.slots)
            parts, after = _solve(self.ctx, 0, q, carry)
            if np.array_equal(self._in_system(parts, carry, q, t), signal):
                break
        else:
            self.ctx.notes.append("queue-triggered decisions did not settle in one chunk; kept the last round")
        return parts, after


def simulate_pool(
    req: RequestArrays,
    service: ReplicaService,
    *,
    slots: int,
    discipline: Discipline = "queue",
    instances: Instances | None = None,
    trigger: QueueTrigger | None = None,
) -> FleetSim:
    """Run the pool over ``req``: either on a planned fleet (``instances``), or with a queue ``trigger``
    deciding as it goes. The trace is fed in chunks of :attr:`Pool.chunk_size` requests."""
    pool = Pool(service, slots, discipline, instances=instances, trigger=trigger)
    n, size = len(req), pool.chunk_size
    rows = PoolRows.empty(n)
    for lo in range(0, n, size):
        hi = min(n, lo + size)
        parts = pool.feed(req.arrival_s[lo:hi], req.input_tokens[lo:hi], req.output_tokens[lo:hi], last=hi == n)
        rows.put(parts, offset=lo)
    pool.finish()
    rows.mark_unserved()
    return FleetSim(
        start_s=rows.start_s,
        batch=rows.batch,
        service_s=rows.service_s,
        admitted=rows.admitted,
        instances=pool.instances(),
        decisions=int(trigger.times.shape[0]) if trigger is not None else 0,
        fluid_stretches=pool.fluid_stretches,
        notes=tuple(pool.notes),
    )
