"""The one number-formatting helper of the report.

Every number the report prints goes through :func:`fmt`, so that the same value always reads the same way
and a test can check each rendered number against results.json within the rounding it shows.

Rules (the rounding is part of the contract; ``tests/test_reports_verdict.py`` re-parses the output):

- ``usd`` (bills, money): always cents, ``$1,234.56`` / ``$12.34``, half away from zero as on an invoice;
  ``$0.00`` only for an amount that is exactly zero — a non-zero amount below half a cent is ``<$0.01``,
  never a string of zeros and dust; a minus sign (U+2212) before the dollar sign for negative values.
- ``usd_abs``: like ``usd`` on the absolute value (a saving or a gap whose sign the sentence states).
- ``usd_unit`` (computed unit costs, often below a cent): cents from $1 up (``$12.35``), three significant
  figures below (``$0.415``, ``$0.0628``), always next to the unit they are stated in (per 1,000 requests,
  per 1 M tokens) by the caller.
- ``usd_price`` (a catalog price per unit): the number as the catalog writes it, at least to the cent
  (``$0.20``, ``$0.025``, ``$23.92``, ``$0.1199``): a price is never rounded.
- ``rps``: ``1,234`` at or above 100, ``18.0`` at or above 10, ``3.21`` at or above 1, three significant
  figures below (``0.620``, ``0.0123``).
- ``pct``: a share 0..1 as a percentage with one decimal (``99.2%``); never rounds a share below 1 up to
  ``100.0%`` (shown ``>99.9%``) nor one above 0 down to ``0.0%`` (shown ``<0.1%``).
- ``tokens`` / ``count``: whole numbers with thousands separators.
- ``ms``: whole milliseconds at or above 100 or when whole, one decimal below.
- ``hours``: whole from 100 h, one decimal from 1 h, three significant figures below.
- ``num``: up to three significant figures, trailing zeros dropped (plain quantities: replicas, a CV).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from typing import Final, Literal

from pricing.money import format_usd

Kind = Literal["usd", "usd_abs", "usd_unit", "usd_price", "rps", "pct", "tokens", "count", "ms", "hours", "num", "text"]

MINUS: Final = "\u2212"
MISSING: Final = "–"


def _sig(value: float, digits: int = 3) -> str:
    """``value`` with ``digits`` significant figures, in fixed notation (no exponent)."""
    if value == 0:
        return "0"
    exponent = math.floor(math.log10(abs(value)))
    decimals = max(digits - 1 - exponent, 0)
    rounded = round(value, decimals)
    # Rounding may carry into a new digit (0.09996 -> 0.100): recompute the decimals once.
    if rounded != 0 and math.floor(math.log10(abs(rounded))) != exponent:
        decimals = max(digits - 1 - math.floor(math.log10(abs(rounded))), 0)
    return f"{rounded:,.{decimals}f}"


def usd(value: float) -> str:
    """Money in cents (:func:`pricing.money.format_usd`, the one rule): ``$1,234.56`` / ``$0.00`` (exactly
    zero) / ``<$0.01`` (not zero, below half a cent); negatives as ``−$12.34``."""
    return format_usd(value, minus=MINUS)


def usd_unit(value: float) -> str:
    """A unit cost (per 1,000 requests, per 1 M tokens): ``$12.35`` from $1, ``$0.0628`` below."""
    a = abs(value)
    text = f"{a:,.2f}" if a >= 0.9995 else (_sig(a) if a else "0.00")
    sign = MINUS if value < 0 and any(c in "123456789" for c in text) else ""
    return f"{sign}${text}"


def usd_price(value: float) -> str:
    """A catalog price exactly as written, at least to the cent: ``$0.20``, ``$0.025``, ``$23.92``."""
    exact = Decimal(repr(abs(value)))
    if exact.as_tuple().exponent > -2:  # type: ignore[operator]
        exact = exact.quantize(Decimal("0.01"))
    sign = MINUS if value < 0 else ""
    return f"{sign}${exact:,f}"


def usd_abs(value: float) -> str:
    """Dollars of the absolute value (the sentence says which way the difference goes)."""
    return usd(abs(value))


def rps(value: float) -> str:
    """A request rate [req/s]: 3 significant figures, thousands separators above 100."""
    a = abs(value)
    if a >= 99.95:
        text = f"{value:,.0f}"
    elif a >= 9.995:
        text = f"{value:.1f}"
    elif a >= 0.9995:
        text = f"{value:.2f}"
    else:
        text = _sig(value)
    return text.replace("-", MINUS)


def pct(share: float) -> str:
    """A share 0..1 as a percentage with one decimal; never a false 100.0% or 0.0%."""
    percent = share * 100.0
    if 0 < share < 1 and round(percent, 1) >= 100.0:
        return ">99.9%"
    if 0 < share < 0.001:
        return "<0.1%"
    return f"{percent:.1f}%".replace("-", MINUS)


def whole(value: float) -> str:
    """A whole number with thousands separators (token counts, requests, replicas)."""
    return f"{value:,.0f}".replace("-", MINUS)


def ms(value: float) -> str:
    """Milliseconds: whole at or above 100 ms (or when whole), one decimal below."""
    whole_ms = abs(value) >= 99.95 or float(value).is_integer()
    return (f"{value:,.0f}" if whole_ms else f"{value:.1f}").replace("-", MINUS)


def hours(value: float) -> str:
    """Hours: whole from 100 h, one decimal from 1 h, three significant figures below (61 s = 0.0169 h)."""
    a = abs(value)
    text = f"{value:,.0f}" if a >= 99.95 else f"{value:.1f}" if a >= 0.995 else _sig(value)
    return text.replace("-", MINUS)


def num(value: float) -> str:
    """A plain quantity with up to three significant figures, trailing zeros dropped (``1``, ``0.35``)."""
    if abs(value) >= 999.5:
        return whole(value)
    text = _sig(value)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace("-", MINUS)


_FORMATTERS: Final[dict[str, Callable[[float], str]]] = {
    "usd": usd,
    "usd_abs": usd_abs,
    "usd_unit": usd_unit,
    "usd_price": usd_price,
    "rps": rps,
    "pct": pct,
    "tokens": whole,
    "count": whole,
    "ms": ms,
    "hours": hours,
    "num": num,
}


def fmt(value: object, kind: Kind) -> str:
    """Format ``value`` for the report. ``None`` and non-finite numbers print as an en dash."""
    if kind == "text":
        return MISSING if value is None else str(value)
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return MISSING if value is None else str(value)
    number = float(value)
    if not math.isfinite(number):
        return MISSING
    return _FORMATTERS[kind](number)
