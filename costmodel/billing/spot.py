"""Spot (preemptible) capacity: the price of a fleet whose instances can be taken back.

A preemption of an instance at time ``p`` with a notice of ``n`` seconds:

- the instance stops at ``p`` and is billed up to ``p`` (its lease ends; increment and minimum apply);
- a replacement is launched when the notice arrives, at ``p − n`` (not before the preempted instance's own
  launch; for an instance running since before the window, its replacement's boot may begin before the
  window, and is billed from the window's start), and becomes ready a cold start after the notice; it is
  billed from its launch, and runs until the preempted instance would have stopped
  (it can itself be preempted: events may name replacements, numbered after the original instances in
  the order they are created);
- capacity is missing from ``p`` until the replacement is ready: ``max(0, cold start − n)`` seconds;
- the requests in flight on the preempted instance are lost: they are retried elsewhere or fail, and count
  against the SLO (see :mod:`costmodel.spot`, which measures that on the replay).

The bill of the resulting leases is the ordinary GPU bill at the spot price
(:func:`costmodel.replay.billing.gpu_costs` with ``tier="spot"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from breakeven.errors import InputError
from costmodel.replay.autoscale import Instances


@dataclass(frozen=True)
class Preemption:
    """One preemption: ``instance`` (an index into the fleet, replacements numbered after the originals in
    creation order) is stopped at ``at_s``."""

    instance: int
    at_s: float


def apply_preemptions(
    instances: Instances, events: Sequence[Preemption], *, cold_start_s: float, notice_s: float
) -> Instances:
    """The fleet after ``events`` (applied in time order): each preempted instance stops at its event and a
    replacement launched at the notice runs to the original stop. Raises :class:`InputError` when an event
    names an instance that is not running at that moment."""
    if cold_start_s < 0 or notice_s < 0:
        raise InputError(f"spot: expected cold start and notice ≥ 0 s, found {cold_start_s} s and {notice_s} s")
    start = [float(x) for x in instances.start_s]
    ready = [float(x) for x in instances.ready_s]
    stop = [float(x) for x in instances.stop_s]
    for event in sorted(events, key=lambda e: e.at_s):
        i, p = event.instance, float(event.at_s)
        if not (0 <= i < len(start)) or not (start[i] <= p < stop[i]):
            raise InputError(
                f"spot: preemption of instance {i} at {p:g} s; expected an instance running at that moment "
                f"(there are {len(start)}, including replacements so far)"
            )
        notice_at = p - notice_s
        if start[i] > 0:  # launched in the window: the notice cannot come before the launch
            launch = max(start[i], notice_at)
            boot_from = launch
        else:  # running since before the window: the replacement may have begun booting before it
            launch = max(0.0, notice_at)
            boot_from = notice_at
        start.append(launch)
        ready.append(boot_from + cold_start_s)
        stop.append(stop[i])
        stop[i] = p
        ready[i] = min(ready[i], p)
    return Instances(
        start_s=np.array(start, dtype=np.float64),
        ready_s=np.array(ready, dtype=np.float64),
        stop_s=np.array(stop, dtype=np.float64),
    )


def capacity_gap_s(cold_start_s: float, notice_s: float) -> float:
    """Seconds a preempted instance's capacity is missing: its replacement launches at the notice."""
    return max(0.0, cold_start_s - notice_s)


def expected_preemptions(instance_hours: float, mean_hours_between: float) -> float:
    """Expected preemptions over ``instance_hours`` of running time (a Poisson process per instance)."""
    if not (mean_hours_between > 0):
        raise InputError(f"spot: expected a mean time between preemptions > 0 h, found {mean_hours_between}")
    return max(instance_hours, 0.0) / mean_hours_between
