"""The reference: an exact per-request discrete-event simulation of the same fleet (tests and benchmarks only).

It models what :mod:`.fleet` approximates, one event at a time with ``heapq``: real replicas with ``slots``
each; a central FIFO queue (or, for ``loss``, turning a request away when no slot is free); a request joins
the least-loaded ready replica (ties: the oldest), and its batch is that replica's count once it joins;
replicas stopped by the autoscaler take no new requests and are billed until their last request finishes.
The autoscaler is the very same :class:`~.autoscale.Autoscaler` with the same decision times and signals
(offered load of the last interval, or requests in the system), from the same :class:`~.autoscale.Plan`.
At equal times, events run in the order: departures, decisions, replicas becoming ready, arrivals.
:func:`reference_fleet` takes :func:`.dedicated.run_fleet`'s arguments and returns the same
:class:`~.fleet.FleetSim`, so :func:`.dedicated.summarize_fleet` bills either.

It loops over requests in Python on purpose — it is the yardstick, not the product.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from costmodel.replay._arrays import RequestArrays
from costmodel.replay.autoscale import Autoscaler, Instances, Plan, idle_window, queue_desired, window_max
from costmodel.replay.fleet import Discipline, FleetSim
from costmodel.replay.settings import fleet_plan
from costmodel.results import AutoscalePolicy
from costmodel.service import ReplicaService

_DEPART, _DECIDE, _READY, _ARRIVE = 0, 1, 2, 3


@dataclass
class _Replica:
    ready: bool = False
    stopping: bool = False
    cancelled: bool = False
    count: int = 0


def reference_fleet(
    req: RequestArrays,
    service: ReplicaService,
    policy: AutoscalePolicy,
    *,
    slots: int,
    cold_start_s: float,
    horizon_s: float,
    discipline: Discipline = "queue",
    initial: int | None = None,
) -> FleetSim:
    """Simulate every request exactly; returns the same :class:`FleetSim` as the fast pool."""
    plan = fleet_plan(req, service, policy, slots=slots, horizon_s=horizon_s, initial=initial)  # as the fast pool
    sim = _EventSim(req, service, plan, slots=slots, cold_start_s=cold_start_s, discipline=discipline)
    sim.run()
    return sim.result()


class _EventSim:
    """The state of the event simulation: replicas, the queue, the event heap, and per-request results."""

    def __init__(
        self,
        req: RequestArrays,
        service: ReplicaService,
        plan: Plan,
        *,
        slots: int,
        cold_start_s: float,
        discipline: Discipline,
    ) -> None:
        n = len(req)
        self.service, self.plan, self.slots = service, plan, slots
        self.policy = plan.policy
        self.cold_start_s, self.discipline = cold_start_s, discipline
        self.n_in = req.input_tokens.astype(np.float64)
        self.n_out = req.output_tokens.astype(np.float64)
        self.scaler = Autoscaler(plan.policy, cold_start_s=cold_start_s, initial=plan.initial)
        self.replicas: dict[int, _Replica] = {i: _Replica(ready=True) for i in range(plan.initial)}
        self.drain_stop: dict[int, float] = {}
        self.desired_hist: list[int] = []
        self.start = np.full(n, np.nan)
        self.batch = np.zeros(n, dtype=np.int32)
        self.svc = np.zeros(n)
        self.admitted = np.ones(n, dtype=bool)
        self.queue: deque[int] = deque()
        self.events: list[tuple[float, int, int, int, int]] = []  # time, kind, seq, a, b
        self.seq = 0
        self.arrived = self.departed = 0
        for i in range(n):
            self.push(float(req.arrival_s[i]), _ARRIVE, i)
        for k in range(plan.times.shape[0]):
            self.push(float(plan.times[k]), _DECIDE, k)

    def push(self, t: float, kind: int, x: int, y: int = -1) -> None:
        heapq.heappush(self.events, (t, kind, self.seq, x, y))
        self.seq += 1

    def run(self) -> None:
        """Handle every event in time order (at equal times: departures, decisions, ready, arrivals)."""
        handlers = {_ARRIVE: self.arrive, _DEPART: self.depart, _READY: self.ready, _DECIDE: self.decide}
        while self.events:
            t, kind, _, x, y = heapq.heappop(self.events)
            handlers[kind](t, x, y)

    def free_replica(self) -> int | None:
        """The least-loaded ready replica with a free slot (ties: the oldest), if any."""
        best, best_count = None, self.slots
        for rid, rep in self.replicas.items():
            if rep.ready and not rep.stopping and rep.count < best_count:
                best, best_count = rid, rep.count
        return best

    def begin(self, i: int, rid: int, t: float) -> None:
        """Request ``i`` starts on replica ``rid`` at ``t``; its batch is the replica's count once it joins."""
        rep = self.replicas[rid]
        rep.count += 1
        self.start[i] = t
        self.batch[i] = rep.count
        self.svc[i] = float(self.service.service_s(self.n_in[i], self.n_out[i], rep.count))
        self.push(t + self.svc[i], _DEPART, i, rid)

    def arrive(self, t: float, i: int, _: int) -> None:
        self.arrived += 1
        rid = self.free_replica() if not self.queue else None
        if rid is not None:
            self.begin(i, rid, t)
        elif self.discipline == "queue":
            self.queue.append(i)
        else:
            self.admitted[i] = False

    def depart(self, t: float, _: int, rid: int) -> None:
        self.departed += 1
        rep = self.replicas[rid]
        rep.count -= 1
        if rep.stopping:
            if rep.count == 0:
                self.drain_stop[rid] = t
        elif self.queue:
            self.begin(self.queue.popleft(), rid, t)

    def ready(self, t: float, rid: int, _: int) -> None:
        rep = self.replicas[rid]
        if rep.cancelled:
            return
        rep.ready = True
        while self.queue and rep.count < self.slots:
            self.begin(self.queue.popleft(), rid, t)

    def decide(self, t: float, k: int, _: int) -> None:
        """Decision ``k``: the planned desired count, or requests in the system under a queue trigger."""
        if self.plan.desired is not None:
            desired = int(self.plan.desired[k])
        else:
            desired = int(queue_desired(np.array([self.arrived - self.departed]), self.policy, self.slots)[0])
        self.desired_hist.append(desired)
        recent = int(
            window_max(np.array(self.desired_hist[-idle_window(self.policy) :], dtype=np.int64), self.policy)[-1]
        )
        started, stopped = self.scaler.decide(t, desired, recent)
        for rid in started:
            self.replicas[rid] = _Replica()
            self.push(t + self.cold_start_s, _READY, rid)
        for rid in stopped:
            rep = self.replicas[rid]
            if not rep.ready:
                rep.cancelled = True
            rep.stopping = True
            if rep.count > 0:
                self.drain_stop[rid] = math.inf  # until its last request departs

    def result(self) -> FleetSim:
        """The starts, and the instances with stopped replicas billed until their last request departed."""
        self.start[np.isnan(self.start) & self.admitted] = math.inf
        table = self.scaler.instances()
        stop = table.stop_s.copy()
        for rid, when in self.drain_stop.items():
            if math.isfinite(stop[rid]):
                stop[rid] = max(stop[rid], when)
        return FleetSim(
            start_s=self.start,
            batch=self.batch,
            service_s=self.svc,
            admitted=self.admitted,
            instances=Instances(table.start_s, table.ready_s, stop),
            decisions=int(self.plan.times.shape[0]),
        )
