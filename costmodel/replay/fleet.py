"""The fast fleet replay: when each request starts on a pool of replicas, vectorised over requests.

The pool has ``slots`` request slots per ready replica. A request starts when a slot is free (FIFO) and
holds it for ``service.service_s(n_in, n_out, batch)`` seconds, where ``batch = min(slots, ⌊in service ÷
ready⌋ + 1)`` — the count on the least-loaded replica once it joins. Two disciplines:

- ``queue``: a request that finds no free slot waits in a FIFO queue (the dedicated fleet);
- ``loss``: it is turned away (the hybrid's overflow to serverless).

**How it stays vectorised.** Number the requests; ``K_i`` of them came before request ``i`` (in the
system or gone). Request ``i`` can start once fewer than ``c(t)`` of those are still in the system, i.e. at
the ``(K_i − c + 1)``-th departure of the requests before it. So with ``D`` the sorted departure times::

    start_i = max(arrival_i, D[K_i − c(t)])          (capacity c(t) = slots × ready replicas)

(``loss``: admitted iff ``D[K_i − c] ≤ arrival_i``.) The trace is solved in chunks of requests:

1. assume nobody waits: departures = arrival + service time, one sort, and ``D[K_i − c]`` is a gather. In
   most chunks most requests pass; the rest are the chunk's *waiting set*;
2. iterate on the waiting set only (a fixed point: their departures move, which moves ``D``); their
   departures are kept apart from the large sorted array, so an iteration costs a ``searchsorted`` on the
   small set (:mod:`._order`), not a sort. Capacity that arrives while a request waits (a replica becoming
   ready) is found by checking the next capacity steps. Then re-check the rest of the chunk against the new
   departures and grow the set if needed;
3. where the fixed point does not settle within its budget (a long overload), the chunk is cut there and a
   fluid stretch (:mod:`._fluid`: one server working at ``c`` times the speed, a vectorised Lindley
   recursion) carries on until the backlog clears.

The batch of a request that starts on arrival is estimated from departures counted per time cell (an
upper bound on the requests in service, off by at most the departures inside one cell).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from costmodel.replay._arrays import RequestArrays
from costmodel.replay._capacity import Capacity
from costmodel.replay._fluid import solve_fluid
from costmodel.replay._solver import Context, Part, solve_exact
from costmodel.replay.autoscale import Autoscaler, Instances, queue_desired, window_max
from costmodel.results import AutoscalePolicy
from costmodel.service import ReplicaService

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
Discipline = Literal["queue", "loss"]

_CHUNK = 1 << 18
_FIRST_WINDOW = 1 << 14
_QUEUE_POLICY_CHUNK = 1 << 14
_POLICY_ROUNDS = 12


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


class _QueuePolicy:
    """Decisions of a queue-triggered autoscaler, made while the simulation runs."""

    def __init__(self, scaler: Autoscaler, policy: AutoscalePolicy, times: FloatArray, slots: int) -> None:
        self.scaler = scaler
        self.policy = policy
        self.times = times
        self.slots = slots
        self.desired = np.zeros(times.shape[0], dtype=np.int64)
        self.k = 0

    def decide_block(self, k1: int, in_system: FloatArray) -> None:
        """Decide at times[k:k1] given the requests in the system at each."""
        k0 = self.k
        if k1 <= k0:
            return
        self.desired[k0:k1] = queue_desired(in_system, self.policy, self.slots)
        width = max(1, math.ceil(self.policy.idle_timeout_s / self.policy.decision_interval_s - 1e-12))
        lo = max(0, k0 - width + 1)
        recent = window_max(self.desired[lo:k1], self.policy)[k0 - lo :]
        self.scaler.run(self.times[k0:k1], self.desired[k0:k1], recent)
        self.k = k1


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


class _Pool:
    def __init__(
        self,
        req: RequestArrays,
        service: ReplicaService,
        slots: int,
        discipline: Discipline,
        *,
        instances: Instances | None,
        queue_policy: _QueuePolicy | None,
    ) -> None:
        self.n = len(req)
        self.qp = queue_policy
        self.static = instances or Instances(np.empty(0), np.empty(0), np.empty(0))
        self.ctx = Context.build(
            req.arrival_s,
            req.input_tokens,
            req.output_tokens,
            service,
            Capacity.of(self._instances(), slots),
            loss=discipline == "loss",
        )
        self.start = np.full(self.n, np.nan)
        self.batch = np.zeros(self.n, dtype=np.int32)
        self.svc = np.zeros(self.n)
        self.admitted = np.ones(self.n, dtype=bool)

    def _instances(self) -> Instances:
        return self.qp.scaler.instances() if self.qp is not None else self.static

    def _commit(self, parts: list[Part]) -> None:
        for part in parts:
            rows = slice(part.lo, part.lo + len(part))
            self.start[rows] = part.start
            self.batch[rows] = part.batch
            self.svc[rows] = part.svc
            self.admitted[rows] = part.admitted
        if parts and len(parts[-1]):
            self.ctx.b_guess = float(np.mean(parts[-1].batch))

    def _in_system(self, parts: list[Part], carry: FloatArray, p: int, q: int, t: FloatArray) -> FloatArray:
        dep = np.sort(np.concatenate([carry, *(part.departures() for part in parts)]))
        arrived = carry.size + np.searchsorted(self.ctx.a[p:q], t, side="left")
        return (arrived - np.searchsorted(dep, t, side="right")).astype(np.float64)

    def _solve_with_policy(self, p: int, q: int, carry: FloatArray) -> tuple[list[Part], FloatArray]:
        """Queue trigger: decisions inside the chunk depend on its solution; iterate until they agree."""
        qp = self.qp
        if qp is None:
            return _solve(self.ctx, p, q, carry)
        snap = (qp.scaler.snapshot(), qp.k)
        limit = math.inf if q == self.n else float(self.ctx.a[q - 1])
        k1 = int(np.searchsorted(qp.times, limit, side="right"))
        t = qp.times[qp.k : k1]
        parts, after = _solve(self.ctx, p, q, carry)
        for _ in range(_POLICY_ROUNDS):
            signal = self._in_system(parts, carry, p, q, t)
            qp.scaler.restore(snap[0])
            qp.k = snap[1]
            qp.decide_block(k1, signal)
            self.ctx.cap = Capacity.of(self._instances(), self.ctx.slots)
            parts, after = _solve(self.ctx, p, q, carry)
            if np.array_equal(self._in_system(parts, carry, p, q, t), signal):
                break
        else:
            self.ctx.notes.append("queue-triggered decisions did not settle in one chunk; kept the last round")
        return parts, after

    def run(self) -> None:
        size = _QUEUE_POLICY_CHUNK if self.qp is not None else _CHUNK
        carry = np.empty(0)
        h = 0
        while h < self.n:
            q = min(self.n, h + size)
            parts, carry = self._solve_with_policy(h, q, carry)
            self._commit(parts)
            h = q
        qp = self.qp
        if qp is not None and qp.k < qp.times.shape[0]:  # decisions after the last arrival
            t = qp.times[qp.k :]
            qp.decide_block(qp.times.shape[0], (carry.size - np.searchsorted(carry, t, side="right")).astype(float))


def simulate_pool(
    req: RequestArrays,
    service: ReplicaService,
    *,
    slots: int,
    discipline: Discipline = "queue",
    instances: Instances | None = None,
    queue_policy: tuple[Autoscaler, AutoscalePolicy, FloatArray] | None = None,
) -> FleetSim:
    """Run the pool over ``req``: either on a planned fleet (``instances``), or with a queue-triggered
    autoscaler deciding as it goes (``queue_policy`` = its state, the policy and the decision times)."""
    qp = _QueuePolicy(queue_policy[0], queue_policy[1], queue_policy[2], slots) if queue_policy else None
    pool = _Pool(req, service, slots, discipline, instances=instances, queue_policy=qp)
    pool.run()
    start = pool.start
    start[np.isnan(start) & pool.admitted] = np.inf  # never served: no capacity ever came
    return FleetSim(
        start_s=start,
        batch=pool.batch,
        service_s=pool.svc,
        admitted=pool.admitted,
        instances=pool._instances(),
        decisions=int(qp.times.shape[0]) if qp is not None else 0,
        fluid_stretches=pool.ctx.fluid_stretches,
    )
