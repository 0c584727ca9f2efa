"""The settings of a dedicated replay, and what follows from them before any request is played.

- :class:`FleetOptions`: the options :func:`.dedicated.replay_dedicated` takes (policy and SLO given), as the one
  record the streamed replay of a dataset receives (:func:`.streamed.replay_dedicated_streamed`);
  :class:`FleetSettings`: how a replayed fleet is billed and summarised (:func:`.summary.bill_fleet`).
- Slots per replica (:func:`slots_at`, :func:`replica_slots`: given, else the service's slots for the trace's
  mean mix), one replica's rate (:func:`replica_rps`), the billing window (:func:`checked_horizon`,
  :func:`billing_horizon`) and the end of the autoscaler's decisions (:func:`decisions_end`,
  :func:`simulation_end`). Each has a form over a trace's count, mean mix and last arrival, so a dataset's
  :func:`.chunked.totals` serve as well as arrays in memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from breakeven.errors import InputError
from costmodel.replay._arrays import RequestArrays
from costmodel.replay.autoscale import Plan, plan_of
from costmodel.replay.billing import Tier
from costmodel.results import AutoscalePolicy, Slo
from costmodel.service import ReplicaService


class FleetOptions(NamedTuple):
    """The settings of a dedicated replay, named and defaulted as :func:`.dedicated.replay_dedicated`'s keywords
    (policy and SLO given): what the streamed replay of a dataset receives
    (:func:`.streamed.replay_dedicated_streamed`), and ``replay_dedicated(..., **options._asdict())`` replays
    with them."""

    policy: AutoscalePolicy
    slo: Slo
    cold_start_s: float = 0.0
    tier: Tier = "on_demand"
    horizon_s: float | None = None
    slots: int | None = None
    initial_replicas: int | None = None
    rng: np.random.Generator | None = None
    timeline_points: int = 400


@dataclass(frozen=True)
class FleetSettings:
    """How a replayed fleet is billed and summarised."""

    service: ReplicaService
    policy: AutoscalePolicy
    slots: int
    cold_start_s: float
    tier: Tier
    horizon_s: float
    timeline_points: int


def mean_mix(req: RequestArrays) -> tuple[float, float]:
    """The trace's mean input and output tokens (0 and 1 for an empty trace)."""
    mean_in = float(req.input_tokens.mean()) if len(req) else 0.0
    mean_out = float(req.output_tokens.mean()) if len(req) else 1.0
    return mean_in, mean_out


def slots_at(service: ReplicaService, mean_in: float, mean_out: float, slots: int | None, notes: list[str]) -> int:
    """Slots per replica: given, else the service's slots for the mean mix (at least 1, with a note)."""
    if slots is not None:
        if slots < 1:
            raise InputError(f"slots: expected at least 1 request per replica, found {slots}")
        return int(slots)
    found = service.slots_for(mean_in, mean_out)
    if found < 1:
        notes.append(
            "no batch meets the SLO for the trace's mean request (0 slots): replayed at one request per replica"
        )
        return 1
    return found


def replica_slots(service: ReplicaService, req: RequestArrays, slots: int | None, notes: list[str]) -> int:
    """Slots per replica: given, else the service's slots for the trace's mean mix (at least 1)."""
    return slots_at(service, *mean_mix(req), slots, notes)


def replica_rps(service: ReplicaService, slots: int, mean_in: float, mean_out: float) -> float:
    """One replica's sustainable rate at ``slots`` for the mean mix [req/s] (Little's law)."""
    return float(slots / service.service_s(mean_in, mean_out, slots))


def checked_horizon(last_arrival_s: float, horizon_s: float | None) -> float:
    """The billing window's end [s]: ``horizon_s`` (checked ≥ the last arrival) or the last arrival."""
    if horizon_s is None:
        return last_arrival_s
    if not (math.isfinite(horizon_s) and horizon_s >= last_arrival_s):
        raise InputError(f"horizon_s: expected seconds ≥ the last arrival ({last_arrival_s:g} s), found {horizon_s!r}")
    return float(horizon_s)


def billing_horizon(req: RequestArrays, horizon_s: float | None) -> float:
    """The billing window's end [s]: ``horizon_s`` (checked ≥ the last arrival) or the last arrival."""
    return checked_horizon(req.last_arrival_s, horizon_s)


def simulation_end(req: RequestArrays, policy: AutoscalePolicy, horizon_s: float) -> float:
    """Decisions run until two intervals after the later of the horizon and the last arrival (0: nothing)."""
    return decisions_end(len(req), req.last_arrival_s, policy, horizon_s)


def fleet_plan(
    req: RequestArrays,
    service: ReplicaService,
    policy: AutoscalePolicy,
    *,
    slots: int,
    horizon_s: float,
    initial: int | None,
) -> Plan:
    """The autoscaler's inputs for a trace in memory (:func:`.autoscale.plan_of`): each request's work at a full
    batch, decisions until :func:`simulation_end`. The fast pool and the reference simulation start from it."""
    work = service.service_s(req.input_tokens, req.output_tokens, slots)
    sim_end = simulation_end(req, policy, horizon_s)
    return plan_of(req.arrival_s, work, policy, slots=slots, sim_end_s=sim_end, initial=initial)


def decisions_end(requests: int, last_arrival_s: float, policy: AutoscalePolicy, horizon_s: float) -> float:
    """:func:`simulation_end` from the request count and the last arrival [s]."""
    if requests == 0 and horizon_s <= 0:
        return 0.0
    return max(horizon_s, last_arrival_s) + 2.0 * policy.decision_interval_s
