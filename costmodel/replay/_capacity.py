"""Ready capacity over time as the pool's solver sees it: slots per ready replica, a step function, built
from the instance table (:meth:`Capacity.of`; :mod:`.autoscale` decides the instances) and walked by
:func:`._solver.solve` in time order."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from costmodel.replay._arrays import FloatArray, IntArray
from costmodel.replay.autoscale import Instances


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
