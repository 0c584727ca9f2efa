"""The GPU bill of a fleet: each instance start is a lease billed by the price's increment and minimum.

For one instance that ran from ``start`` to ``stop`` (stopped at the horizon if it was still running)::

    billed_s = max(minimum_billed_s, ceil((stop − start) ÷ billing_increment_s) × billing_increment_s)

e.g. per-second billing with a 5-minute minimum bills a 42-second life as 300 s, and per-hour billing bills
61 minutes as 2 hours. Instance-hours split into:

- **cold start**: start → ready (billed, no capacity), ``min(ready, stop) − start``;
- **busy**: ready and serving at least one request (measured by the replay);
- **idle**: the rest, including the padding up to the increment and the minimum.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, TypedDict, Unpack

import numpy as np
import numpy.typing as npt

from breakeven.errors import InputError
from costmodel.replay._arrays import FloatArray
from costmodel.replay.autoscale import Instances
from costmodel.results import GpuCosts, GpuHours, Latency, Option, Slo
from pricing.models import GpuPrice
from pricing.money import per_month, seconds_cost, to_float

Tier = Literal["on_demand", "reserved", "spot"]


@dataclass(frozen=True)
class Lease:
    """The instances of a fleet clipped to the billing window ``[0, horizon_s]`` [s]."""

    start_s: FloatArray
    ready_s: FloatArray
    stop_s: FloatArray
    horizon_s: float

    @property
    def raw_s(self) -> FloatArray:
        """Time each instance ran inside the window [s]."""
        return self.stop_s - self.start_s

    @property
    def cold_s(self) -> FloatArray:
        """Time each instance spent booting inside the window [s]."""
        return np.minimum(self.ready_s, self.stop_s) - self.start_s

    @property
    def cold_start_times_s(self) -> FloatArray:
        """When each replica started during the trace (after t = 0), booting cold [s]; the fleet at t = 0 starts
        warm."""
        return self.start_s[self.start_s > 0]

    @property
    def ready_time_s(self) -> float:
        """Instance-seconds ready (serving or idle) inside the window."""
        return float(np.maximum(self.stop_s - self.ready_s, 0.0).sum())


def lease(instances: Instances, horizon_s: float) -> Lease:
    """Clip instances to ``[0, horizon_s]``; instances started at or after the horizon are not billed."""
    keep = instances.start_s < horizon_s
    start = instances.start_s[keep]
    stop = np.minimum(instances.stop_s[keep], horizon_s)
    ready = np.minimum(instances.ready_s[keep], stop)
    return Lease(start_s=start, ready_s=ready, stop_s=stop, horizon_s=horizon_s)


def billed_seconds(raw_s: npt.ArrayLike, *, increment_s: float, minimum_s: float) -> FloatArray:
    """Seconds billed for leases that ran ``raw_s`` seconds (vectorised; 0 s → 0 billed)."""
    raw = np.asarray(raw_s, dtype=np.float64)
    if increment_s <= 0 or minimum_s < 0:
        raise InputError(
            f"billing: expected an increment > 0 s and a minimum ≥ 0 s, found {increment_s} s and {minimum_s} s"
        )
    rounded = np.ceil(raw / increment_s - 1e-9) * increment_s
    return np.where(raw > 0, np.maximum(rounded, minimum_s), 0.0)


def hourly_price(price: GpuPrice, tier: Tier) -> float:
    """The instance price for a tier [USD / hour]; :class:`InputError` if the catalog lacks it."""
    try:
        return price.hourly_for(tier)
    except ValueError as exc:
        raise InputError(f"GPU price {price.id!r}: no {tier} price; expected one of the tiers it lists") from exc


def lease_cost_usd(instances: Instances, horizon_s: float, price: GpuPrice, hourly_usd: float) -> float:
    """The bill of a fleet over ``[0, horizon_s]`` at ``hourly_usd`` [USD], without the hour split of
    :func:`gpu_costs` (searches that only compare bills)."""
    leased = lease(instances, horizon_s)
    billed = billed_seconds(leased.raw_s, increment_s=price.billing_increment_s, minimum_s=price.minimum_billed_s)
    return float(billed.sum()) / 3600.0 * hourly_usd


def gpu_costs(leased: Lease, price: GpuPrice, *, busy_s: float, tier: Tier = "on_demand") -> GpuCosts:
    """The bill of a fleet: instance-hours billed, split cold start / busy / idle, times the tier's price."""
    billed = billed_seconds(leased.raw_s, increment_s=price.billing_increment_s, minimum_s=price.minimum_billed_s)
    total_h = float(billed.sum()) / 3600.0
    cold_h = float(leased.cold_s.sum()) / 3600.0
    busy_h = min(max(busy_s, 0.0) / 3600.0, max(total_h - cold_h, 0.0))
    idle_h = max(total_h - cold_h - busy_h, 0.0)
    hourly = hourly_price(price, tier)
    hours = GpuHours(busy=busy_h, idle=idle_h, cold_start=cold_h, total=busy_h + idle_h + cold_h)
    # Billed seconds are whole (the increment and minimum are whole seconds): the bill is exact.
    usd = seconds_cost(round(float(billed.sum())), hourly)
    return GpuCosts(hours=hours, hourly_usd=hourly, tier=tier, total_usd=to_float(usd))


class OptionIds(TypedDict, total=False):
    """The catalog entries a results :class:`~costmodel.results.Option` names (each where it applies)."""

    gpu_price_id: str | None
    serverless_price_id: str | None
    profile_id: str | None


class OptionBasis(NamedTuple):
    """What a replay kind gives its results :class:`~costmodel.results.Option` beyond the bill."""

    kind: Literal["serverless", "dedicated", "hybrid"]
    requests: int
    """The requests the bill is per request of."""
    latency: Latency | None
    served_all: bool
    """False when some request was never served: the option cannot then pass its SLO."""
    fields: dict[str, Any]
    """The kind's own Option fields (token and GPU costs, replicas, overflow share, rate-limit minutes)."""


class Billed:
    """What every replay's bill gives the results: the bill per month and per request, from the replay's
    ``total_cost_usd`` over its window ``horizon_s``, and the results :class:`~costmodel.results.Option` (a
    mixin for the replay dataclasses, which say their kind's part in :meth:`option_basis`)."""

    horizon_s: float
    notes: list[str]

    @property
    def total_cost_usd(self) -> float:
        """The bill over the trace [USD]."""
        raise NotImplementedError

    @property
    def monthly_cost_usd(self) -> float:
        """The bill scaled to a 730-hour month at the trace's rate [USD]."""
        return to_float(per_month(self.total_cost_usd, self.horizon_s))

    def option_basis(self) -> OptionBasis:
        """The kind, request count, latency, whether all were served, and the kind's own Option fields."""
        raise NotImplementedError

    def option(self, *, id: str, label: str, slo: Slo | None = None, **ids: Unpack[OptionIds]) -> Option:
        """This replay as a results :class:`~costmodel.results.Option`: the bill (total, per month, per request
        [USD]), the latency and the SLO verdict — attainment at or above ``slo``'s target with every request
        served (None without a latency) —, the notes, and the kind's own fields (:meth:`option_basis`)."""
        basis = self.option_basis()
        target = (slo or Slo()).attainment_target
        attainment = basis.latency.slo_attainment if basis.latency is not None else None
        total = self.total_cost_usd
        return Option(
            id=id,
            kind=basis.kind,
            label=label,
            **ids,
            total_cost_usd=total,
            monthly_cost_usd=self.monthly_cost_usd,
            cost_per_request_usd=total / basis.requests if basis.requests else 0.0,
            latency=basis.latency,
            slo_attainment=attainment,
            meets_slo=None if attainment is None else attainment >= target and basis.served_all,
            notes=list(self.notes),
            **basis.fields,
        )
