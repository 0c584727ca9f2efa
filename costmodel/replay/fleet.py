"""The fleet replay: when each request starts on a pool of replicas.

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

**How a request goes through.** :class:`Pool` is fed the trace in chunks of :data:`_CHUNK` requests
(:data:`_QUEUE_POLICY_CHUNK` under a queue trigger); between chunks it carries only the departures still to
come and the autoscaler's state. :func:`._solver.solve` takes a chunk's requests in arrival order: each
starts (or, under ``loss``, is turned away) against a heap of the departures to come and the capacity at
that time — its docstring has the rule. The carried departures are the exact state, so the chunk size
changes nothing; the streamed replay (:mod:`.streamed`) feeds the same pool from a dataset. Under a queue
trigger, a chunk is solved, the decisions inside it are taken from that solution, and the chunk is
re-solved on the new fleet until both agree (:meth:`Pool._solve_with_trigger`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from costmodel.replay._arrays import BoolArray, FloatArray, IntArray, RequestArrays
from costmodel.replay._capacity import Capacity
from costmodel.replay._solver import Context, Part, solve
from costmodel.replay.autoscale import Instances, QueueTrigger
from costmodel.service import ReplicaService

Discipline = Literal["queue", "loss"]

_CHUNK = 1 << 18
"""Requests per chunk on a planned fleet (read at run time: tests shrink it)."""
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
        """Rows for ``n`` requests, to :meth:`put` the pool's chunks into."""
        return cls(np.full(n, np.nan), np.zeros(n, dtype=np.int32), np.zeros(n), np.ones(n, dtype=bool))

    def put(self, part: Part, offset: int = 0) -> None:
        """Write the solver's part of a chunk that starts at row ``offset``."""
        rows = slice(offset, offset + len(part))
        self.start_s[rows] = part.start
        self.batch[rows] = part.batch
        self.service_s[rows] = part.svc
        self.admitted[rows] = part.admitted

    def mark_unserved(self) -> None:
        """Admitted requests without a start were never served (no capacity ever came): start = inf."""
        self.start_s[np.isnan(self.start_s) & self.admitted] = np.inf


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
    def notes(self) -> list[str]:
        """What the solver had to give up on (a queue trigger whose decisions did not settle)."""
        return self.ctx.notes

    def instances(self) -> Instances:
        """The instances so far (a queue trigger's grow as the chunks are solved)."""
        return self.trigger.scaler.instances() if self.trigger is not None else self.planned

    def feed(self, a: FloatArray, n_in: IntArray, n_out: IntArray, *, last: bool) -> Part:
        """Solve the next chunk (its arrivals and token counts); ``last``: it ends the trace. Returns the
        solver's part, rows numbered from the chunk's start (see :meth:`PoolRows.put`)."""
        self.ctx = self.ctx.with_requests(a, n_in, n_out)
        part, self.carry = self._solve_with_trigger(last=last)
        return part

    def finish(self) -> None:
        """Take a queue trigger's decisions after the last arrival (the backlog draining)."""
        trig = self.trigger
        if trig is not None and trig.k < trig.times.shape[0]:
            t = trig.times[trig.k :]
            in_system = (self.carry.size - np.searchsorted(self.carry, t, side="right")).astype(float)
            trig.decide_block(trig.times.shape[0], in_system)

    def _in_system(self, part: Part, carry: FloatArray, t: FloatArray) -> FloatArray:
        """Requests in the system at each ``t``: those carried in and the chunk's."""
        dep = np.sort(np.concatenate([carry, part.departures()]))
        arrived = carry.size + np.searchsorted(self.ctx.a, t, side="left")
        return (arrived - np.searchsorted(dep, t, side="right")).astype(np.float64)

    def _solve_with_trigger(self, *, last: bool) -> tuple[Part, FloatArray]:
        """Solve the chunk (:func:`._solver.solve`). Queue trigger: decisions inside the chunk depend on its
        solution; iterate until they agree."""
        carry, trig = self.carry, self.trigger
        if trig is None:
            return solve(self.ctx, carry)
        snap = trig.snapshot()
        limit = math.inf if last else float(self.ctx.a[-1])
        k1 = int(np.searchsorted(trig.times, limit, side="right"))
        t = trig.times[trig.k : k1]
        part, after = solve(self.ctx, carry)
        for _ in range(_POLICY_ROUNDS):
            signal = self._in_system(part, carry, t)
            trig.restore(snap)
            trig.decide_block(k1, signal)
            self.ctx.cap = Capacity.of(self.instances(), self.ctx.slots)
            part, after = solve(self.ctx, carry)
            if np.array_equal(self._in_system(part, carry, t), signal):
                break
        else:
            self.ctx.notes.append("queue-triggered decisions did not settle in one chunk; kept the last round")
        return part, after


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
        part = pool.feed(req.arrival_s[lo:hi], req.input_tokens[lo:hi], req.output_tokens[lo:hi], last=hi == n)
        rows.put(part, offset=lo)
    pool.finish()
    rows.mark_unserved()
    return FleetSim(
        start_s=rows.start_s,
        batch=rows.batch,
        service_s=rows.service_s,
        admitted=rows.admitted,
        instances=pool.instances(),
        decisions=int(trigger.times.shape[0]) if trigger is not None else 0,
        notes=tuple(pool.notes),
    )
