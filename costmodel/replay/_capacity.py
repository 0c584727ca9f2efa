"""Ready capacity over time as the pool solvers see it: slots per ready replica, a step function.

Built from the instance table (:meth:`Capacity.of`; :mod:`.autoscale` decides the instances) and asked by
:mod:`._solver` when a slot comes free (:meth:`Capacity.free_time`, across replicas becoming ready) and by
:mod:`._fluid` how much slot time has passed (:meth:`Capacity.slot_time` and its inverse).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from costmodel.replay._arrays import FloatArray, IntArray
from costmodel.replay._order import Departures
from costmodel.replay.autoscale import Instances

_SEGMENTS = 8


@dataclass(frozen=True)
class Capacity:
    """Ready replicas as a step function (``times`` of change, ``counts`` from each on; 0 before the first),
    ``slots`` requests per replica."""

    times: FloatArray
    counts: IntArray
    slots: int

    @classmethod
    def of(cls, instances: Instances, slots: int) -> Capacity:
        """The capacity an instance table gives."""
        times, counts = instances.ready_steps()
        return cls(times, np.concatenate([[0], counts]).astype(np.int64), slots)

    def ready(self, t: npt.ArrayLike) -> IntArray:
        """Ready replicas at each ``t`` (a change at t counts at t)."""
        return self.counts[np.searchsorted(self.times, np.asarray(t, dtype=np.float64), side="right")]

    def free_time(self, deps: Departures, k: IntArray, a: FloatArray) -> FloatArray:
        """Earliest time ≥ ``a`` at which fewer than c(t) of the ``k`` requests ahead remain in the system.

        In the segment of constant capacity c that holds ``a`` it is ``max(a, deps.kth(k − c))``; when that
        falls past the segment's end, the next segments (replicas becoming ready) are tried in turn.
        """
        times, counts = self.times, self.counts
        seg = times.searchsorted(a, side="right")
        ends = np.append(times, np.inf)  # each segment's end (the last never ends)
        out = np.maximum(a, deps.kth(k - counts[seg] * self.slots))
        hit = out < ends[seg]
        if hit.all():  # the usual case: a slot comes free within the segment that holds a
            return out
        out[~hit] = np.inf
        todo = np.flatnonzero(~hit & (seg < times.size))
        for _ in range(_SEGMENTS - 1):
            if todo.size == 0:
                break
            s = seg[todo] + 1
            seg[todo] = s
            cand = np.maximum(times[s - 1], deps.kth(k[todo] - counts[s] * self.slots))
            hit = cand < ends[s]
            out[todo[hit]] = cand[hit]
            todo = todo[~hit & (s < times.size)]
        return out

    # ---------------------------------------------------------------------- virtual (slot) time

    def _breaks(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        starts = np.concatenate([[0.0], self.times])
        rate = (self.counts * self.slots).astype(np.float64)
        cum = np.concatenate([[0.0], np.cumsum(rate[:-1] * np.diff(starts))])
        return starts, rate, cum

    def slot_time(self, t: FloatArray) -> FloatArray:
        """Slot-seconds of capacity from 0 to each ``t`` (a piecewise-linear, nondecreasing function)."""
        starts, rate, cum = self._breaks()
        k = np.searchsorted(starts, t, side="right") - 1
        k = np.maximum(k, 0)
        return cum[k] + rate[k] * (t - starts[k])

    def at_slot_time(self, v: FloatArray) -> FloatArray:
        """The earliest time at which :meth:`slot_time` reaches each ``v`` (inf if never)."""
        starts, rate, cum = self._breaks()
        k = np.maximum(np.searchsorted(cum, v, side="right") - 1, 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = starts[k] + np.where(rate[k] > 0, (v - cum[k]) / np.where(rate[k] > 0, rate[k], 1.0), 0.0)
        return np.where((rate[k] > 0) | (v <= cum[k]), t, np.inf)
