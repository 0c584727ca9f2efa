"""Exact money: bills are computed in :class:`~decimal.Decimal`, never as a running float sum.

A float sum of line items leaves rounding dust (0.1 + 0.2 ≠ 0.3; a long-context surcharge of
``1.1e-16`` where there is none). Here a price is read as the decimal it was written as (``0.20`` is
exactly 0.20, not the nearest binary fraction), quantities are whole numbers (tokens, billed seconds), and
their products and sums are exact: a surcharge that does not apply is exactly zero, and the lines of a bill
add up to its total.

Amounts cross into ``results.json`` at the bill's edge as the float nearest the exact amount
(:func:`to_float`), so no arithmetic happens on them in binary. Invoices round to cents (:func:`to_cents`,
half away from zero); the report's display rule (cents for bills, a stated unit such as "per 1,000
requests" for sub-cent unit costs) is in :mod:`reports.fmt`. :func:`to_micros` and :func:`round_line` give
whole micro-units (10⁻⁶ of the currency) where a ledger needs integers.

>>> line = tokens_cost(1_234_567, 0.20)          # 1,234,567 tokens at $0.20 per 1M tokens
>>> line
Decimal('0.2469134')
>>> to_float(line), to_micros(line), to_cents(line)
(0.2469134, 246913, Decimal('0.25'))
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Final

MICRO: Final = Decimal("0.000001")
CENT: Final = Decimal("0.01")
TOKENS_PER_M: Final = 1_000_000
SECONDS_PER_HOUR: Final = 3600
HOURS_PER_MONTH: Final = Decimal(730)
"""A month is 730 hours (8,760 ÷ 12), as everywhere in the cost model."""
MONTHS_PER_YEAR: Final = 12

Number = Decimal | int | float | str


def dec(value: Number) -> Decimal:
    """The exact decimal a number was written as: a float is read through its shortest repr (``0.2`` →
    ``Decimal('0.2')``, not ``0.2000000000000000111...``). Non-finite values raise ``ValueError``."""
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool):
        raise TypeError("expected a number, found a bool")
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"expected a finite amount, found {value}")
        result = Decimal(repr(value))
    else:
        result = Decimal(value)
    if not result.is_finite():
        raise ValueError(f"expected a finite amount, found {value}")
    return result


def to_micros(value: Number) -> int:
    """``value`` rounded (half to even) to a whole number of micro-units."""
    return int(dec(value).quantize(MICRO, rounding=ROUND_HALF_EVEN).scaleb(6))


def from_micros(micros: int) -> Decimal:
    """The exact amount of ``micros`` micro-units."""
    return Decimal(micros).scaleb(-6)


def to_float(value: Number) -> float:
    """The float nearest the exact amount (for JSON and charts); no rounding beyond the float's own."""
    return float(dec(value))


def round_line(value: Number) -> Decimal:
    """A line item rounded to micro-units (half to even)."""
    return dec(value).quantize(MICRO, rounding=ROUND_HALF_EVEN)


def total(lines: Iterable[Number]) -> Decimal:
    """The exact sum of line items (floats read as the decimals they print as)."""
    return sum((dec(x) for x in lines), Decimal(0))


def to_cents(value: Number) -> Decimal:
    """A bill rounded for display: cents, half away from zero (the rounding an invoice uses)."""
    return dec(value).quantize(CENT, rounding=ROUND_HALF_UP)


def format_usd(value: Number, *, minus: str = "\u2212", symbol: str = "$") -> str:
    """The one display rule for money: cents, half away from zero (``$1,234.56``); ``$0.00`` only for an
    amount that is exactly zero; a non-zero amount below half a cent shows as ``<$0.01`` (``>−$0.01`` when
    negative), never as zeros or dust. The report, the console and the verdict all print money with it."""
    amount = dec(value)
    cents = to_cents(amount)
    if amount != 0 and cents == 0:
        return f">{minus}{symbol}0.01" if amount < 0 else f"<{symbol}0.01"
    sign = minus if cents < 0 else ""
    return f"{sign}{symbol}{abs(cents):,.2f}"


def tokens_cost(tokens: int | float, usd_per_mtok: Number) -> Decimal:
    """Exact cost of ``tokens`` tokens at a price per 1,000,000 tokens. ``tokens`` must be a whole number
    (a float holding an integer, as numpy sums of token counts do, is accepted)."""
    return dec(_whole(tokens, "tokens")) * dec(usd_per_mtok) / TOKENS_PER_M


def seconds_cost(seconds: int | float, hourly_usd: Number) -> Decimal:
    """Exact cost of ``seconds`` billed seconds at an hourly price (``seconds`` a whole number)."""
    return dec(_whole(seconds, "billed seconds")) * dec(hourly_usd) / SECONDS_PER_HOUR


def hours_cost(hours: Number, hourly_usd: Number) -> Decimal:
    """Exact cost of ``hours`` hours at an hourly price."""
    return dec(hours) * dec(hourly_usd)


def per_month(amount: Number, horizon_s: float) -> Decimal:
    """``amount`` spent over ``horizon_s`` seconds, scaled to a 730-hour month (0 for an empty window)."""
    if not (math.isfinite(horizon_s) and horizon_s > 0):
        return Decimal(0)
    return dec(amount) * HOURS_PER_MONTH * SECONDS_PER_HOUR / dec(horizon_s)


def annual(monthly: Number) -> Decimal:
    """Twelve 730-hour months (8,760 hours)."""
    return dec(monthly) * MONTHS_PER_YEAR


def _whole(value: int | float, what: str) -> int:
    if isinstance(value, int):
        return value
    if not math.isfinite(value) or value != math.floor(value):
        raise ValueError(f"expected a whole number of {what}, found {value!r}")
    return int(value)
