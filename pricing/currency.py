"""One currency per comparison: prices stay in the currency their catalog entry states; comparing two
currencies needs an exchange rate the user gives, and nothing is ever converted silently.

This is the single place that decides it (the analysis, the CLI and the input checks all call
:func:`comparison_currency`):

>>> from pricing import load_catalog
>>> c = load_catalog()
>>> comparison_currency([c.gpu("digitalocean/gpu-h100-1x"), c.token("digitalocean/llama3-8b-instruct")])
'USD'

With an entry in EUR among USD ones, :func:`comparison_currency` raises :class:`~breakeven.errors.InputError`
naming both entries and their currencies, unless ``exchange_rates`` has ``{"EUR": 1.08}`` (1 EUR = 1.08 of
the target currency, USD by default); then :func:`convert_prices` returns copies of the EUR entries in USD,
each with a note saying the rate used.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel

from breakeven.errors import InputError
from pricing.models import ISO_4217
from pricing.money import dec

DEFAULT_CURRENCY = "USD"

P = TypeVar("P", bound=BaseModel)


def parse_exchange_rate(text: str, *, option: str = "--exchange-rate") -> tuple[str, float]:
    """``'EUR=1.08'`` → ``('EUR', 1.08)``: one unit of EUR is worth 1.08 units of the comparison currency."""
    code, sep, value = text.partition("=")
    code = code.strip().upper()
    if not sep or code not in ISO_4217:
        raise InputError(
            f"option {option}: expected CODE=RATE with an ISO 4217 code, e.g. EUR=1.08 (1 EUR = 1.08 of the "
            f"comparison currency), found {text!r}"
        )
    try:
        rate = float(value)
    except ValueError:
        rate = math.nan
    if not (math.isfinite(rate) and rate > 0):
        raise InputError(f"option {option}: expected a positive exchange rate for {code}, found {value.strip()!r}")
    return code, rate


def currencies(prices: Iterable[BaseModel]) -> dict[str, list[str]]:
    """Currency → ids of the entries priced in it (in the order given)."""
    found: dict[str, list[str]] = {}
    for price in prices:
        found.setdefault(str(price.currency), []).append(str(price.id))  # type: ignore[attr-defined]
    return found


def comparison_currency(
    prices: Iterable[BaseModel],
    *,
    exchange_rates: Mapping[str, float] | None = None,
    target: str | None = None,
) -> str:
    """The currency the compared ``prices`` are reported in.

    - All in one currency (and no ``target``, or the same one): that currency; no rate needed.
    - Otherwise every currency other than the target (default USD) needs a rate in ``exchange_rates``;
      a missing one raises :class:`InputError` naming an entry in each currency and the option to give.
    """
    found = currencies(prices)
    rates = {k.upper(): v for k, v in (exchange_rates or {}).items()}
    goal = (target or "").strip().upper() or None
    if goal is not None and goal not in ISO_4217:
        raise InputError(f"option --currency: expected an ISO 4217 code such as USD or EUR, found {target!r}")
    if goal is None and len(found) <= 1:
        return next(iter(found), DEFAULT_CURRENCY)
    goal = goal or DEFAULT_CURRENCY
    missing = [code for code in found if code != goal and code not in rates]
    if missing:
        shown = "; ".join(f"{found[c][0]} is in {c}" for c in found)
        hint = ", ".join(f"--exchange-rate {c}=RATE" for c in missing)
        raise InputError(
            f"prices in different currencies ({shown}); expected one currency, or an exchange rate for each "
            f"other currency ({hint}, where 1 {missing[0]} = RATE {goal}); nothing is converted silently"
        )
    return goal


def convert_prices(prices: Sequence[P], *, exchange_rates: Mapping[str, float] | None, target: str) -> list[P]:
    """Copies of ``prices`` in ``target``: entries already in it are returned as they are, the others with
    every money field multiplied by their rate and a note saying so (call :func:`comparison_currency`
    first: a missing rate is a ``KeyError`` here)."""
    rates = {k.upper(): v for k, v in (exchange_rates or {}).items()}
    out: list[P] = []
    for price in prices:
        code = str(price.currency)  # type: ignore[attr-defined]
        if code == target:
            out.append(price)
            continue
        rate = rates[code]
        converted = _scaled(price, dec(rate))
        note = f"converted from {code} at 1 {code} = {rate:g} {target} (exchange rate given by the user)"
        notes = str(getattr(price, "notes", "") or "")
        out.append(
            price.model_validate(converted | {"currency": target, "notes": f"{notes}; {note}" if notes else note})
        )
    return out


def _scaled(model: BaseModel, factor: Decimal) -> dict[str, Any]:
    """The fields of ``model`` with every money field (a number whose name has ``usd``) times ``factor``."""
    data: dict[str, Any] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        data[name] = _scale_value(name, value, factor)
    return data


def _scale_value(name: str, value: Any, factor: Decimal) -> Any:
    if isinstance(value, BaseModel):
        return _scaled(value, factor)
    if isinstance(value, tuple | list):
        return [_scale_value(name, v, factor) for v in value]
    if "usd" in name and isinstance(value, int | float) and not isinstance(value, bool):
        return float(dec(value) * factor)
    return value
