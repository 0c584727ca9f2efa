"""Prices that are valid but almost surely in the wrong unit: warn, with the number and the likely fix.

The bounds come from the prices we have read (the bundled catalog and LiteLLM's cost map of 2025-11): the
cheapest real per-token price is about $0.005 per 1M tokens, the dearest $600 per 1M (o1-pro output); GPU
instances cost between about $0.10 and $15 per GPU-hour. A price far outside those ranges is a per-token
price typed into a per-1M field, a per-minute price typed as hourly, and so on. Each warning ends with its
code (``[price-tiny]``, ...), which ``BREAKEVEN_ACCEPT`` accepts (see :mod:`breakeven.plausibility`).

Only prices in currencies of about the dollar's size are judged (USD, EUR, GBP, CHF, CAD, AUD, NZD, SGD);
a yen or rupee price is not.
"""

from __future__ import annotations

from collections.abc import Iterable

from breakeven.plausibility import notice
from pricing.models import GpuPrice, Price, TokenPrice

#: Per 1M tokens: below this no real API charges (free is 0, and is not flagged).
TOKEN_FLOOR = 0.001
#: Per 1M tokens: above this no real API charges.
TOKEN_CEILING = 1_000.0
#: Per GPU-hour: below this no real cloud charges (free is 0, and is not flagged).
GPU_FLOOR = 0.05
#: Per GPU-hour: above this no real cloud charges.
GPU_CEILING = 200.0

_DOLLAR_SIZED = frozenset({"USD", "EUR", "GBP", "CHF", "CAD", "AUD", "NZD", "SGD"})
_TOKEN_FIELDS = ("input_usd_per_mtok", "output_usd_per_mtok", "cached_input_usd_per_mtok")


def price_warnings(price: Price) -> list[str]:
    """Warnings for the implausible numbers of one catalog entry (empty when all look real)."""
    currency = str(getattr(price, "currency", "USD"))
    if currency not in _DOLLAR_SIZED:
        return []
    if isinstance(price, TokenPrice):
        found = [
            token_price_warning(getattr(price, name), field=f"{price.id}: {name}", currency=currency)
            for name in _TOKEN_FIELDS
        ]
    elif isinstance(price, GpuPrice):
        found = [
            gpu_price_warning(
                value / price.gpu_count,
                field=f"{price.id}: {name}" + (f" / gpu_count {price.gpu_count}" if price.gpu_count > 1 else ""),
                currency=currency,
            )
            for name, value in (
                ("hourly_usd", price.hourly_usd),
                ("reserved_hourly_usd", price.reserved_hourly_usd),
                ("spot_hourly_usd", price.spot_hourly_usd),
            )
            if value is not None
        ]
    else:
        return []
    return [w for w in found if w]


def catalog_warnings(prices: Iterable[Price]) -> list[str]:
    """:func:`price_warnings` of every entry, in order."""
    return [w for p in prices for w in price_warnings(p)]


def token_price_warning(value: float | None, *, field: str, currency: str = "USD") -> str | None:
    """A warning when a per-1M-token price is far outside every real one, else None."""
    if value is None or value == 0:
        return None
    if value < TOKEN_FLOOR:
        return notice(
            "price-tiny",
            f"{field} = {value:g} {currency} per 1M tokens is below any real price (the cheapest we know is about "
            f"0.005 per 1M); if it is a per-token price, the per-1M price is {value * 1e6:g}",
        )
    if value > TOKEN_CEILING:
        return notice(
            "price-huge",
            f"{field} = {value:,.6g} {currency} per 1M tokens is above any real price (the dearest we know is 600 "
            f"per 1M); if it is a per-1M price stored in a per-token field, it is {value / 1e6:g} per 1M",
        )
    return None


def gpu_price_warning(per_gpu_hour: float | None, *, field: str, currency: str = "USD") -> str | None:
    """A warning when a price per GPU-hour is far outside every real one, else None."""
    if per_gpu_hour is None or per_gpu_hour == 0:
        return None
    if per_gpu_hour < GPU_FLOOR:
        return notice(
            "gpu-price-tiny",
            f"{field} = {per_gpu_hour:g} {currency} per GPU-hour is below any real GPU price (about 0.10 to 15); "
            f"if it is per minute the hourly price is {per_gpu_hour * 60:g}, if per second {per_gpu_hour * 3600:g}",
        )
    if per_gpu_hour > GPU_CEILING:
        return notice(
            "gpu-price-huge",
            f"{field} = {per_gpu_hour:,.6g} {currency} per GPU-hour is above any real GPU price (about 0.10 to 15); "
            f"if it is a monthly price the hourly price is {per_gpu_hour / 730:,.4g}, if in cents "
            f"{per_gpu_hour / 100:,.4g}",
        )
    return None
