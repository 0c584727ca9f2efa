"""Committed (reserved) capacity, billed as a commitment: every hour of the term, busy or idle.

A commitment of ``K`` instances for a term of ``M`` months at ``h`` per instance-hour, with an optional
upfront payment ``U`` per instance, costs::

    per month       K × (730 × h + U / M)                      (the upfront spread over the term's months)
    over a window   K × (hours × h + U × hours / (M × 730))    (any window: a trace, a month, a year)
    obligation      K × (U + h × M × 730)                      (what you sign for, whatever you use)

It covers up to ``K`` running instances at any moment. Instances beyond ``K`` are billed at the on-demand
price as ordinary leases (the provider's increment and minimum per start). Which instance the commitment
covers follows how reservations apply: at every moment the ``K`` longest-running instances are covered, so
an instance started while ``K`` older ones run is on demand until enough of them stop (it may then become
covered for the rest of its life). A committed instance that is not running still costs its hours — that
is the point of this module: a reserved price is never applied to autoscaled hours only.

**Break-even utilization.** One more committed instance replaces on-demand hours only while that instance
would otherwise be running, so it pays off when it would run at least
``effective committed hourly ÷ on-demand hourly`` of the hours (the upfront spread over the term's hours).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from breakeven.errors import InputError
from costmodel.replay.autoscale import Instances
from costmodel.replay.billing import Lease, billed_seconds, lease
from pricing.models import CommitmentTerm
from pricing.money import HOURS_PER_MONTH, SECONDS_PER_HOUR, dec, per_month, seconds_cost

FloatArray = npt.NDArray[np.float64]


def effective_hourly(term: CommitmentTerm) -> Decimal:
    """The committed price per instance-hour with the upfront spread over the term's hours (730 a month)."""
    return dec(term.hourly_usd) + dec(term.upfront_usd) / (term.term_months * HOURS_PER_MONTH)


def breakeven_utilization(term: CommitmentTerm, on_demand_hourly_usd: float) -> float:
    """Share of the hours an instance must be needed for committing it to cost less than running it on
    demand for those hours (above 1: never; 0 when the on-demand price is 0 is reported as inf)."""
    od = dec(on_demand_hourly_usd)
    if od <= 0:
        return float("inf")
    return float(effective_hourly(term) / od)


def committed_cost(term: CommitmentTerm, committed: int, window_s: float) -> tuple[Decimal, Decimal]:
    """(recurring, upfront share) of ``committed`` instances over a window of ``window_s`` seconds."""
    if committed < 0:
        raise InputError(f"commitment: expected committed instances ≥ 0, found {committed}")
    hours = dec(window_s) / SECONDS_PER_HOUR
    recurring = committed * hours * dec(term.hourly_usd)
    upfront = committed * dec(term.upfront_usd) * hours / (term.term_months * HOURS_PER_MONTH)
    return recurring, upfront


def obligation(term: CommitmentTerm, committed: int) -> Decimal:
    """What signing for ``committed`` instances obliges you to pay over the whole term."""
    return committed * (dec(term.upfront_usd) + dec(term.hourly_usd) * term.term_months * HOURS_PER_MONTH)


def uncovered(instances: Instances, committed: int, horizon_s: float) -> Lease:
    """The on-demand part of a fleet: for each instance, the time inside ``[0, horizon_s]`` during which
    ``committed`` or more instances that started before it were running (ties: lower index first).

    An instance's rank among the running ones only falls as older ones stop (newer ones start later), so
    it is on demand from its start until the moment its rank drops below ``committed`` — the
    ``(rank − committed + 1)``-th stop among the older instances running at its start — and covered after.
    Returns a :class:`Lease` of those on-demand stretches (zero-length ones dropped).
    """
    leased = lease(instances, horizon_s)
    n = leased.start_s.shape[0]
    order = np.lexsort((np.arange(n), leased.start_s))
    start, ready, stop = leased.start_s[order], leased.ready_s[order], leased.stop_s[order]
    od_start: list[float] = []
    od_ready: list[float] = []
    od_stop: list[float] = []
    for i in range(n):
        older = stop[:i]
        running = np.sort(older[older > start[i]])
        rank = running.shape[0]
        if rank < committed:
            continue
        until = stop[i] if committed == 0 else min(stop[i], float(running[rank - committed]))
        if until > start[i]:
            od_start.append(float(start[i]))
            od_ready.append(min(float(ready[i]), until))
            od_stop.append(until)
    return Lease(
        start_s=np.array(od_start, dtype=np.float64),
        ready_s=np.array(od_ready, dtype=np.float64),
        stop_s=np.array(od_stop, dtype=np.float64),
        horizon_s=horizon_s,
    )


def on_demand_billed_s(
    instances: Instances, committed: int, horizon_s: float, *, increment_s: float, minimum_s: float
) -> int:
    """Whole seconds billed on demand for a fleet whose ``committed`` oldest running instances are covered
    (:func:`uncovered`): each on-demand stretch rounded up to the increment and the minimum per start."""
    od = uncovered(instances, committed, horizon_s)
    return round(float(billed_seconds(od.raw_s, increment_s=increment_s, minimum_s=minimum_s).sum()))


@dataclass(frozen=True)
class CommitmentBill:
    """A commitment of ``committed`` instances plus on-demand instances above it, over a window [currency]."""

    committed: int
    term: CommitmentTerm
    window_s: float
    recurring_usd: Decimal
    """Committed instances × every hour of the window × the committed price."""
    upfront_usd: Decimal
    """The window's share of the upfront payments (spread over the term's hours)."""
    on_demand_usd: Decimal
    """Instances above the commitment, billed as on-demand leases (increment and minimum per start)."""
    on_demand_billed_s: int
    overflow_usd: Decimal
    """Requests sent to serverless (a hybrid), billed by the token."""

    @property
    def total_usd(self) -> Decimal:
        """Everything the window costs."""
        return self.recurring_usd + self.upfront_usd + self.on_demand_usd + self.overflow_usd

    @property
    def monthly_committed_usd(self) -> Decimal:
        """The commitment's cost per 730-hour month: K × (730 × hourly + upfront ÷ term months)."""
        upfront = dec(self.term.upfront_usd) / self.term.term_months
        return self.committed * (HOURS_PER_MONTH * dec(self.term.hourly_usd) + upfront)

    def monthly(self, amount: Decimal) -> Decimal:
        """A usage-dependent amount of this window scaled to a 730-hour month."""
        return per_month(amount, self.window_s)

    @property
    def monthly_usd(self) -> Decimal:
        """The whole bill per month: the commitment plus the window's on-demand and overflow, scaled."""
        return self.monthly_committed_usd + self.monthly(self.on_demand_usd + self.overflow_usd)

    @property
    def obligation_usd(self) -> Decimal:
        """What the commitment obliges you to pay over its whole term."""
        return obligation(self.term, self.committed)


def commitment_bill(
    instances: Instances,
    *,
    committed: int,
    term: CommitmentTerm,
    on_demand_hourly_usd: float,
    billing_increment_s: int,
    minimum_billed_s: int,
    horizon_s: float,
    overflow_usd: Decimal | float = 0,
) -> CommitmentBill:
    """Bill a fleet whose first ``committed`` running instances are covered by ``term`` (see
    :func:`uncovered`) and the rest run on demand; ``overflow_usd`` is what went to serverless."""
    recurring, upfront = committed_cost(term, committed, horizon_s)
    billed_s = on_demand_billed_s(
        instances, committed, horizon_s, increment_s=billing_increment_s, minimum_s=minimum_billed_s
    )
    return CommitmentBill(
        committed=committed,
        term=term,
        window_s=horizon_s,
        recurring_usd=recurring,
        upfront_usd=upfront,
        on_demand_usd=seconds_cost(billed_s, on_demand_hourly_usd),
        on_demand_billed_s=billed_s,
        overflow_usd=dec(overflow_usd),
    )
