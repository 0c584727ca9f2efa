"""Owned servers: bought once, depreciated, powered and hosted every month whether they serve or not.

For ``S`` servers over ``H`` hours (730 = a month), of which the servers were serving ``B`` server-hours::

    depreciation = S × (purchase − residual) ÷ (years × 12) × H ÷ 730
    hosting      = S × hosting per month × H ÷ 730           (colocation, rack, network)
    other        = S × other per month × H ÷ 730             (support contract, staff share, ...)
    energy       = (B × power_w + (S × H − B) × idle_power_w) ÷ 1000 × PUE × price per kWh

Only energy depends on use; the rest is the fleet's fixed cost, which is why an owned fleet's size is
fixed (it is chosen up front, like a commitment that never ends). The money is exact
(:mod:`pricing.money`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from breakeven.errors import InputError
from pricing.models import OwnedServer
from pricing.money import HOURS_PER_MONTH, MONTHS_PER_YEAR, Number, dec


@dataclass(frozen=True)
class OwnedBill:
    """What ``servers`` owned servers cost over ``hours`` hours [currency]."""

    servers: int
    hours: Decimal
    busy_server_hours: Decimal
    depreciation_usd: Decimal
    hosting_usd: Decimal
    other_usd: Decimal
    energy_usd: Decimal
    energy_kwh: Decimal
    """Facility energy (IT energy × PUE) [kWh]."""

    @property
    def fixed_usd(self) -> Decimal:
        """Depreciation, hosting and other: the part that does not depend on use."""
        return self.depreciation_usd + self.hosting_usd + self.other_usd

    @property
    def total_usd(self) -> Decimal:
        """The whole bill."""
        return self.fixed_usd + self.energy_usd


def owned_bill(server: OwnedServer, *, servers: int, hours: Number, busy_server_hours: Number) -> OwnedBill:
    """The bill of ``servers`` servers over ``hours`` hours with ``busy_server_hours`` of serving (summed
    over servers, at most ``servers × hours``)."""
    h = dec(hours)
    busy = dec(busy_server_hours)
    if servers < 0 or h < 0:
        raise InputError(f"owned: expected servers ≥ 0 and hours ≥ 0, found {servers} and {hours}")
    if busy < 0 or busy > servers * h:
        raise InputError(f"owned: expected busy server-hours between 0 and {servers * h}, found {busy_server_hours}")
    months = h / HOURS_PER_MONTH
    life_months = dec(server.depreciation_years) * MONTHS_PER_YEAR
    depreciation = servers * (dec(server.purchase_usd) - dec(server.residual_usd)) / life_months * months
    idle_w = dec(server.idle_power_w if server.idle_power_w is not None else server.power_w)
    it_kwh = (busy * dec(server.power_w) + (servers * h - busy) * idle_w) / 1000
    kwh = it_kwh * dec(server.pue)
    return OwnedBill(
        servers=servers,
        hours=h,
        busy_server_hours=busy,
        depreciation_usd=depreciation,
        hosting_usd=servers * dec(server.hosting_usd_per_month) * months,
        other_usd=servers * dec(server.other_usd_per_month) * months,
        energy_usd=kwh * dec(server.electricity_usd_per_kwh),
        energy_kwh=kwh,
    )


def owned_hourly_at(server: OwnedServer, busy_share: float) -> Decimal:
    """One server's cost per hour when it serves ``busy_share`` of its hours (the planner's unit price)."""
    bill = owned_bill(server, servers=1, hours=HOURS_PER_MONTH, busy_server_hours=HOURS_PER_MONTH * dec(busy_share))
    return bill.total_usd / HOURS_PER_MONTH


def replicas_per_server(server: OwnedServer, gpus_per_replica: int) -> int:
    """How many replicas of a ``gpus_per_replica``-GPU deployment one server holds (at least 1, or an error)."""
    per = server.gpu_count // max(gpus_per_replica, 1)
    if per < 1:
        raise InputError(
            f"owned server {server.id}: {server.gpu_count} GPU(s); expected at least the {gpus_per_replica} "
            "GPU(s) one replica of the profile needs"
        )
    return per
