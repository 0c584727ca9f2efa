"""The autoscaler: when replicas start and stop. Shared, line for line, by the fast replay and the reference
simulation, so both make the same decisions from the same signals.

Semantics (see ``docs/replay.md``):

- Decisions happen at ``t_k = k × decision_interval_s`` (k = 1, 2, ...) strictly before the horizon.
- **Signal → desired replicas** ``d_k``:

  * ``utilization``: the offered load of the last interval, in busy slots,
    ``U_k = Σ work_i / Δ`` over arrivals in ``[t_k − Δ, t_k)``, where ``work_i`` is the request's service time
    at a full batch; ``d_k = ceil(U_k ÷ (slots × target_utilization))``. It depends on arrivals only.
  * ``queue``: requests in the system (waiting + in service) at ``t_k``, ``X_k``;
    ``d_k = ceil(X_k ÷ (slots + queue_threshold))`` — a replica is wanted for every ``slots`` running plus
    ``queue_threshold`` waiting requests.

- **Scale up** when ``clip(d_k) > running`` (booting replicas count as running) and at least
  ``scale_up_cooldown_s`` has passed since the last scale-up: start ``clip(d_k) − running`` replicas. Each
  becomes ready (serves) ``cold_start_s`` later and is billed from its start.
- **Scale down** otherwise, when the largest ``d`` of the decisions within the last ``idle_timeout_s``
  (clipped) is below ``running``: stop the difference, newest first, among the replicas that have been
  ready for at least ``idle_timeout_s`` (a booting replica is never stopped: it has not been idle yet).
- ``clip`` bounds to ``[min_replicas, max_replicas]``. ``fixed`` never decides: ``min_replicas`` replicas run
  from the start to the horizon.
- The fleet starts **warm** with ``initial_replicas`` ready at t = 0 (default: what the first interval's
  traffic asks for, clipped), billed from t = 0.

How the decisions enter the replay: :func:`plan_of` turns the arrivals and each request's work into a
:class:`Plan` (decision times, replicas at t = 0, and for ``fixed``/``utilization`` the desired count at each
decision). ``fixed`` and ``utilization`` plans are run through the :class:`Autoscaler` before the pool
(:meth:`Plan.autoscaler`): the pool receives a finished :class:`Instances` table. A ``queue`` trigger
needs the pool's own queue, so the pool receives a :class:`QueueTrigger` and takes each chunk's decisions
as it solves it (:mod:`.fleet`). Either way :mod:`._capacity` turns the instances into ready slots over time.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.ndimage import maximum_filter1d

from breakeven.errors import InputError
from costmodel.replay._arrays import FloatArray, IntArray
from costmodel.results import AutoscalePolicy


@dataclass(frozen=True)
class Instances:
    """Every replica the fleet ran: when it started (billing begins), became ready, and stopped [s].

    ``stop_s`` is ``inf`` for replicas still running at the end of the simulation; billing stops them at the
    horizon.
    """

    start_s: FloatArray
    ready_s: FloatArray
    stop_s: FloatArray

    def __len__(self) -> int:
        return int(self.start_s.shape[0])

    def ready_steps(self) -> tuple[FloatArray, IntArray]:
        """Ready replicas as a step function: change times and the count from each time on."""
        serves = self.ready_s < self.stop_s
        times = np.concatenate([self.ready_s[serves], self.stop_s[serves]])
        deltas = np.concatenate([np.ones(int(serves.sum()), np.int64), -np.ones(int(serves.sum()), np.int64)])
        return _steps(times, deltas)

    def peak_running(self, horizon_s: float) -> int:
        """The most replicas running at once before ``horizon_s`` (0 if none ran)."""
        times, counts = self.running_steps()
        inside = times < horizon_s
        return int(counts[inside].max()) if inside.any() else 0

    def running_steps(self) -> tuple[FloatArray, IntArray]:
        """Running (billed) replicas as a step function: change times and the count from each time on."""
        n = len(self)
        times = np.concatenate([self.start_s, self.stop_s])
        deltas = np.concatenate([np.ones(n, np.int64), -np.ones(n, np.int64)])
        return _steps(times, deltas)


def _steps(times: FloatArray, deltas: IntArray) -> tuple[FloatArray, IntArray]:
    finite = np.isfinite(times)
    times, deltas = times[finite], deltas[finite]
    order = np.argsort(times, kind="stable")
    times, deltas = times[order], deltas[order]
    uniq, first = np.unique(times, return_index=True)
    counts = np.cumsum(deltas)
    last = np.append(first[1:], times.shape[0]) - 1
    return uniq, counts[last] if uniq.size else counts[:0]


def step_value(times: FloatArray, counts: IntArray, at: npt.ArrayLike) -> IntArray:
    """Value of a step function (0 before its first change) at ``at``; a change at t counts at t."""
    idx = np.searchsorted(times, np.asarray(at, dtype=np.float64), side="right") - 1
    padded = np.concatenate([[0], counts]).astype(np.int64)
    return padded[idx + 1]


# ------------------------------------------------------------------------------------------ signals


def check_policy(policy: AutoscalePolicy) -> None:
    """Reject policies that cannot run (raises :class:`InputError`)."""
    if policy.kind != "fixed" and policy.min_replicas > policy.max_replicas:
        raise InputError(
            f"policy: expected min_replicas ≤ max_replicas, found {policy.min_replicas} > {policy.max_replicas}"
        )


def decision_times(policy: AutoscalePolicy, horizon_s: float) -> FloatArray:
    """Decision instants ``k × Δ`` (k ≥ 1) strictly before the horizon [s]; none for ``fixed``."""
    if policy.kind == "fixed" or horizon_s <= 0:
        return np.empty(0)
    step = policy.decision_interval_s
    count = max(0, math.ceil(horizon_s / step - 1e-12) - 1)
    return np.arange(1, count + 1, dtype=np.float64) * step


def interval_work(
    arrival_s: FloatArray, work_s: FloatArray, interval_s: float, intervals: int, *, cum_work: FloatArray | None = None
) -> FloatArray:
    """Sum of ``work_s`` over arrivals in each interval ``[jΔ, (j+1)Δ)``, j = 0..intervals−1 [slot-seconds].

    Arrivals are sorted, so this is a difference of the cumulative work at the interval edges (pass
    ``cum_work = concat([0], cumsum(work_s))`` to reuse it across calls).
    """
    if intervals <= 0:
        return np.zeros(0)
    cum = cum_work if cum_work is not None else np.concatenate([[0.0], np.cumsum(work_s)])
    edges = np.searchsorted(arrival_s, np.arange(intervals + 1, dtype=np.float64) * interval_s, side="left")
    return np.diff(cum[edges])


def first_interval_work(arrival_s: FloatArray, work_s: FloatArray, interval_s: float) -> float:
    """Sum of ``work_s`` over the arrivals of the first interval ``[0, Δ)`` [slot-seconds] (``ndarray.sum``)."""
    end = int(np.searchsorted(arrival_s, interval_s, side="left"))
    return float(work_s[:end].sum())


def queue_desired(in_system: npt.ArrayLike, policy: AutoscalePolicy, slots: int) -> IntArray:
    """Desired replicas from requests in the system (waiting + in service)."""
    x = np.asarray(in_system, dtype=np.float64)
    return np.ceil(x / (slots + policy.queue_threshold) - 1e-9).astype(np.int64)


def idle_window(policy: AutoscalePolicy) -> int:
    """Decisions within the idle timeout (at least 1): a scale-down looks at the largest desired over them."""
    return max(1, math.ceil(policy.idle_timeout_s / policy.decision_interval_s - 1e-12))


def window_max(desired: IntArray, policy: AutoscalePolicy) -> IntArray:
    """Largest desired count over the decisions within the idle timeout, ending at each decision."""
    if desired.size == 0:
        return desired
    width = idle_window(policy)
    if width == 1:
        return desired
    return maximum_filter1d(desired, size=width, origin=(width - 1) // 2, mode="constant", cval=0)


def initial_replicas(policy: AutoscalePolicy, first_interval_desired: int | None, requested: int | None = None) -> int:
    """Replicas ready at t = 0: ``requested``, else what the first interval asks for, clipped to the policy."""
    if policy.kind == "fixed":
        return policy.min_replicas
    want = requested if requested is not None else (first_interval_desired or 0)
    return int(min(max(want, policy.min_replicas), policy.max_replicas))


# ------------------------------------------------------------------------------------ the state machine

ScalerState = tuple[tuple[tuple[int, float, float], ...], int, int, float]
"""An :class:`Autoscaler`'s state: running instances (id, start, ready), stopped count, next id, last scale-up."""


class Autoscaler:
    """The fleet's state and the decision rule (see the module docstring). Scalar and cheap to copy."""

    def __init__(self, policy: AutoscalePolicy, *, cold_start_s: float, initial: int) -> None:
        check_policy(policy)
        if not (math.isfinite(cold_start_s) and cold_start_s >= 0):
            raise InputError(f"cold start: expected seconds ≥ 0, found {cold_start_s!r}")
        self.policy = policy
        self.cold_start_s = float(cold_start_s)
        self.lo = policy.min_replicas
        self.hi = policy.max_replicas if policy.kind != "fixed" else policy.min_replicas
        self.alive: list[tuple[int, float, float]] = [(i, 0.0, 0.0) for i in range(initial)]
        """Running instances, oldest first: (id, start_s, ready_s)."""
        self.stopped: list[tuple[int, float, float, float]] = []
        """Stopped instances: (id, start_s, ready_s, stop_s)."""
        self.next_id = initial
        self.last_up = -math.inf

    @property
    def running(self) -> int:
        """Replicas billed now (booting included)."""
        return len(self.alive)

    def snapshot(self) -> ScalerState:
        """Everything :meth:`restore` needs to undo later decisions."""
        return tuple(self.alive), len(self.stopped), self.next_id, self.last_up

    def restore(self, snap: ScalerState) -> None:
        """Return to a :meth:`snapshot`."""
        alive, n_stopped, next_id, last_up = snap
        self.alive = list(alive)
        del self.stopped[n_stopped:]
        self.next_id = next_id
        self.last_up = last_up

    def decide(self, t: float, desired: int, recent_max: int) -> tuple[list[int], list[int]]:
        """Apply one decision at ``t``. Returns the ids of the instances started and of those stopped."""
        up = min(max(desired, self.lo), self.hi)
        running = len(self.alive)
        if up > running and t - self.last_up >= self.policy.scale_up_cooldown_s:
            ids = list(range(self.next_id, self.next_id + up - running))
            self.next_id += len(ids)
            self.alive.extend((i, t, t + self.cold_start_s) for i in ids)
            self.last_up = t
            return ids, []
        down = min(max(recent_max, self.lo), self.hi)
        if down < running:
            idle = self.policy.idle_timeout_s
            stoppable = [j for j, (_, _, ready) in enumerate(self.alive) if ready + idle <= t]
            chosen = sorted(stoppable[-(running - down) :], reverse=True) if stoppable else []
            gone = [self.alive[j] for j in chosen]
            for j in chosen:
                del self.alive[j]
            self.stopped.extend((i, start, ready, t) for i, start, ready in gone)
            return [], [i for i, _, _ in gone]
        return [], []

    def run(self, times: FloatArray, desired: IntArray, recent_max: IntArray) -> None:
        """Apply the decisions at ``times`` in order, jumping straight to those that can change something.

        For each running count r, the decisions that would scale up (``clip(d) > r``) or down
        (``clip(max of the idle window) < r``) are found once, vectorised; between actions the next one is a
        binary search (the cooldown moves the earliest allowed scale-up).
        """
        cu = np.clip(desired, self.lo, self.hi)
        cw = np.clip(recent_max, self.lo, self.hi)
        ups: dict[int, list[int]] = {}
        downs: dict[int, list[int]] = {}
        cooldown = self.policy.scale_up_cooldown_s
        t_list: list[float] | None = None  # made on the first action (bisect on lists: no numpy call overhead)
        k, total = 0, times.shape[0]
        while k < total:
            r = len(self.alive)
            if r not in ups:
                ups[r] = np.flatnonzero(cu > r).tolist()
                downs[r] = np.flatnonzero(cw < r).tolist()
            u, d = ups[r], downs[r]
            i = bisect_left(u, k)
            if i < len(u) and self.last_up + cooldown > times[u[i]]:
                if t_list is None:
                    t_list = times.tolist()
                i = bisect_left(u, max(k, bisect_left(t_list, self.last_up + cooldown)))
            j = bisect_left(d, k)
            nxt = min(u[i] if i < len(u) else total, d[j] if j < len(d) else total)
            if nxt >= total:
                break
            self.decide(float(times[nxt]), int(desired[nxt]), int(recent_max[nxt]))
            k = nxt + 1

    def instances(self) -> Instances:
        """The instance table so far (running instances have ``stop_s = inf``)."""
        rows = sorted([*self.stopped, *((i, s, r, math.inf) for i, s, r in self.alive)])
        arr = np.array([row[1:] for row in rows], dtype=np.float64).reshape(-1, 3)
        return Instances(start_s=arr[:, 0].copy(), ready_s=arr[:, 1].copy(), stop_s=arr[:, 2].copy())


class QueueTrigger:
    """A ``queue`` policy deciding while the pool runs: its signal (requests in the system at each decision
    time) comes from the pool's own solution, so :mod:`.fleet` solves a chunk, decides the chunk's decisions
    from it, re-solves on the new fleet, and repeats until the two agree (:meth:`snapshot` / :meth:`restore`
    undo a round's decisions)."""

    def __init__(self, scaler: Autoscaler, times: FloatArray, slots: int) -> None:
        self.scaler = scaler
        self.policy = scaler.policy
        self.times = times
        """Every decision time of the simulation [s]."""
        self.slots = slots
        self.desired = np.zeros(times.shape[0], dtype=np.int64)
        self.k = 0
        """Decisions taken so far (``times[:k]``)."""

    def decide_block(self, k1: int, in_system: FloatArray) -> None:
        """Decide at ``times[k:k1]`` given the requests in the system at each."""
        k0 = self.k
        if k1 <= k0:
            return
        self.desired[k0:k1] = queue_desired(in_system, self.policy, self.slots)
        lo = max(0, k0 - idle_window(self.policy) + 1)
        recent = window_max(self.desired[lo:k1], self.policy)[k0 - lo :]
        self.scaler.run(self.times[k0:k1], self.desired[k0:k1], recent)
        self.k = k1

    def snapshot(self) -> tuple[ScalerState, int]:
        """Everything :meth:`restore` needs to undo later decisions."""
        return self.scaler.snapshot(), self.k

    def restore(self, snap: tuple[ScalerState, int]) -> None:
        """Return to a :meth:`snapshot`."""
        self.scaler.restore(snap[0])
        self.k = snap[1]


# ---------------------------------------------------------------------------------------------- plans


@dataclass(frozen=True)
class Plan:
    """What a fleet's decisions start from: the policy, the decision times, the replicas ready at t = 0, and
    (``fixed`` and ``utilization``) the desired count at each decision, which depends on arrivals only.
    ``desired`` is None under a ``queue`` trigger: its desired counts come from the pool as it runs
    (:class:`QueueTrigger`)."""

    policy: AutoscalePolicy
    times: FloatArray
    initial: int
    desired: IntArray | None

    def autoscaler(self, cold_start_s: float) -> Autoscaler:
        """The autoscaler with every planned decision taken (none yet under a queue trigger)."""
        scaler = Autoscaler(self.policy, cold_start_s=cold_start_s, initial=self.initial)
        if self.desired is not None and self.times.size:
            scaler.run(self.times, self.desired, window_max(self.desired, self.policy))
        return scaler


def utilization_plan(
    policy: AutoscalePolicy,
    times: FloatArray,
    interval_work_s: FloatArray,
    first_work_s: float,
    *,
    slots: int,
    initial: int | None,
    sim_end_s: float,
) -> Plan:
    """The plan of a ``fixed`` or ``utilization`` policy from the offered work: ``interval_work_s[j]`` over
    the arrivals of ``[jΔ, (j+1)Δ)`` for each decision time, ``first_work_s`` over ``[0, Δ)`` [slot-seconds]."""
    per_replica = slots * policy.target_utilization * policy.decision_interval_s
    desired = np.ceil(interval_work_s / per_replica - 1e-9).astype(np.int64)
    first = math.ceil(first_work_s / per_replica - 1e-9)
    start = initial_replicas(policy, first, initial) if sim_end_s > 0 else 0
    return Plan(policy, times, start, desired)


def queue_plan(
    policy: AutoscalePolicy,
    times: FloatArray,
    first_work_s: float,
    *,
    slots: int,
    initial: int | None,
    sim_end_s: float,
) -> Plan:
    """The start of a ``queue`` trigger: the first interval's offered load in full replicas."""
    if sim_end_s <= 0:
        return Plan(policy, times, 0, None)
    wanted = math.ceil(first_work_s / (slots * policy.decision_interval_s) - 1e-9)
    return Plan(policy, times, initial_replicas(policy, wanted, initial), None)


def plan_of(
    arrival_s: FloatArray,
    work_s: FloatArray,
    policy: AutoscalePolicy,
    *,
    slots: int,
    sim_end_s: float,
    initial: int | None = None,
    cum_work: FloatArray | None = None,
) -> Plan:
    """The :class:`Plan` of a trace in memory; ``work_s`` is each request's service time at a full batch [s]
    and decisions run until ``sim_end_s``."""
    times = decision_times(policy, sim_end_s)
    step = policy.decision_interval_s
    if policy.kind == "queue":
        first = float(interval_work(arrival_s, work_s, step, 1)[0]) if sim_end_s > 0 else 0.0
        return queue_plan(policy, times, first, slots=slots, initial=initial, sim_end_s=sim_end_s)
    return utilization_plan(
        policy,
        times,
        interval_work(arrival_s, work_s, step, times.shape[0], cum_work=cum_work),  # interval k-1 ends at k
        first_interval_work(arrival_s, work_s, step),
        slots=slots,
        initial=initial,
        sim_end_s=sim_end_s,
    )


def plan_fleet(
    arrival_s: FloatArray,
    work_s: FloatArray,
    policy: AutoscalePolicy,
    *,
    slots: int,
    cold_start_s: float,
    horizon_s: float,
    initial: int | None = None,
    cum_work: FloatArray | None = None,
) -> tuple[Instances, int]:
    """The whole fleet for a ``fixed`` or ``utilization`` policy, whose decisions depend on arrivals only.

    ``work_s`` is each request's service time at a full batch [s]. Returns the instances and the number of
    decisions taken. ``queue`` policies depend on the queue and are planned inside the replay.
    """
    if policy.kind == "queue":
        raise InputError("plan_fleet: a queue-triggered policy depends on the simulated queue; use replay_dedicated")
    check_policy(policy)
    plan = plan_of(arrival_s, work_s, policy, slots=slots, sim_end_s=horizon_s, initial=initial, cum_work=cum_work)
    return plan.autoscaler(cold_start_s).instances(), int(plan.times.shape[0])
