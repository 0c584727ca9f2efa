"""The reference: an exact per-request discrete-event simulation of the same fleet (tests and benchmarks only).

It models what :mod:`.fleet` approximates, one event at a time with ``heapq``: real replicas with ``slots``
each; a central FIFO queue (or, for ``loss``, turning a request away when no slot is free); a request joins
the least-loaded ready replica (ties: the oldest), and its batch is that replica's count once it joins;
replicas stopped by the autoscaler take no new requests and are billed until their last request finishes.
The autoscaler is the very same :class:`~.autoscale.Autoscaler` with the same decision times and signals
(offered load of the last interval, or requests in the system). At equal times, events run in the order:
departures, decisions, replicas becoming ready, arrivals.

It loops over requests in Python on purpose — it is the yardstick, not the product.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from costmodel.replay._arrays import RequestArrays
from costmodel.replay.autoscale import (
    Autoscaler,
    Instances,
    decision_times,
    first_interval_desired,
    initial_replicas,
    queue_desired,
    utilization_desired,
    window_max,
)
from costmodel.replay.dedicated import queue_initial, simulation_end
from costmodel.replay.fleet import Discipline, FleetSim
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
    n = len(req)
    a = req.arrival_s
    n_in = req.input_tokens.astype(np.float64)
    n_out = req.output_tokens.astype(np.float64)
    sim_end = simulation_end(req, policy, horizon_s)
    work = service.service_s(n_in, n_out, slots)
    times = decision_times(policy, sim_end)
    if policy.kind == "queue":
        start_count = queue_initial(req, work, policy, slots=slots, initial=initial, sim_end=sim_end)
        planned = None
    else:  # same initial count and desired signal as the fast planner
        planned = utilization_desired(a, work, times, policy, slots)
        first = first_interval_desired(a, work, policy, slots)
        start_count = initial_replicas(policy, first, initial) if sim_end > 0 else 0
    scaler = Autoscaler(policy, cold_start_s=cold_start_s, initial=start_count)
    width = max(1, math.ceil(policy.idle_timeout_s / policy.decision_interval_s - 1e-12))
    desired_hist: list[int] = []

    replicas: dict[int, _Replica] = {i: _Replica(ready=True) for i in range(start_count)}
    drain_stop: dict[int, float] = {}
    start = np.full(n, np.nan)
    batch = np.zeros(n, dtype=np.int32)
    svc = np.zeros(n)
    admitted = np.ones(n, dtype=bool)
    queue: deque[int] = deque()
    events: list[tuple[float, int, int, int, int]] = []  # time, kind, seq, a, b
    seq = 0

    def push(t: float, kind: int, x: int, y: int = -1) -> None:
        nonlocal seq
        heapq.heappush(events, (t, kind, seq, x, y))
        seq += 1

    for i in range(n):
        push(float(a[i]), _ARRIVE, i)
    for k in range(times.shape[0]):
        push(float(times[k]), _DECIDE, k)

    departed = 0
    arrived = 0

    def free_replica() -> int | None:
        best, best_count = None, slots
        for rid, rep in replicas.items():
            if rep.ready and not rep.stopping and rep.count < best_count:
                best, best_count = rid, rep.count
        return best

    def begin(i: int, rid: int, t: float) -> None:
        rep = replicas[rid]
        rep.count += 1
        start[i] = t
        batch[i] = rep.count
        svc[i] = float(service.service_s(n_in[i], n_out[i], rep.count))
        push(t + svc[i], _DEPART, i, rid)

    while events:
        t, kind, _, x, y = heapq.heappop(events)
        if kind == _ARRIVE:
            arrived += 1
            rid = free_replica() if not queue else None
            if rid is not None:
                begin(x, rid, t)
            elif discipline == "queue":
                queue.append(x)
            else:
                admitted[x] = False
        elif kind == _DEPART:
            departed += 1
            rep = replicas[y]
            rep.count -= 1
            if rep.stopping:
                if rep.count == 0:
                    drain_stop[y] = t
            elif queue:
                begin(queue.popleft(), y, t)
        elif kind == _READY:
            rep = replicas[x]
            if rep.cancelled:
                continue
            rep.ready = True
            while queue and rep.count < slots:
                begin(queue.popleft(), x, t)
        else:  # decision
            if planned is not None:
                desired = int(planned[x])
            else:
                desired = int(queue_desired(np.array([arrived - departed]), policy, slots)[0])
            desired_hist.append(desired)
            recent = int(window_max(np.array(desired_hist[-width:], dtype=np.int64), policy)[-1])
            started, stopped = scaler.decide(t, desired, recent)
            for rid in started:
                replicas[rid] = _Replica()
                push(t + cold_start_s, _READY, rid)
            for rid in stopped:
                rep = replicas[rid]
                if not rep.ready:
                    rep.cancelled = True
                rep.stopping = True
                if rep.count > 0:
                    drain_stop[rid] = math.inf  # until its last request departs
    start[np.isnan(start) & admitted] = math.inf
    table = scaler.instances()
    stop = table.stop_s.copy()
    for rid, when in drain_stop.items():
        if math.isfinite(stop[rid]):
            stop[rid] = max(stop[rid], when)
    return FleetSim(
        start_s=start,
        batch=batch,
        service_s=svc,
        admitted=admitted,
        instances=Instances(table.start_s, table.ready_s, stop),
        decisions=int(times.shape[0]),
    )
