"""Per-token volume tiers and committed-spend discounts: a month's token bill when the price falls with
volume.

**Volume tiers** (``TokenPrice.volume_tiers``) are thresholds on the month's tokens (input + output)
counted from the first of the month:

- ``incremental`` (like tax brackets): tokens beyond a threshold are billed at that tier's prices; the
  tokens before it keep the earlier price. A tier crossed mid-month bills the rest of the month lower.
- ``all_units``: the month's total decides one tier for all of its tokens (billed at month end).

Usage arrives in chunks (days, hours, or the whole month at once); within a chunk the tokens that fall in
a tier are split between input and output in the chunk's own proportion. The arithmetic is exact
(fractions), so a bill is exact to the cent.

**Committed spend** (``TokenPrice.committed_spend``): a discount off the usage bill in exchange for a
monthly minimum: ``max(monthly commit, usage × (1 − discount))``.

The batch discount and the long-context tiers of the price keep applying as they do without volume tiers
(see :mod:`costmodel.replay.serverless`); :func:`volume_factor` is how much a month's volume lowers the
bill, and the analysis applies it to the month's token bill.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from breakeven.errors import InputError
from pricing.models import TokenPrice
from pricing.money import TOKENS_PER_M, dec


@dataclass(frozen=True)
class Usage:
    """Tokens used in one chunk of the month (in the order they were used)."""

    input_tokens: int
    output_tokens: int


@dataclass(frozen=True)
class TierLine:
    """The tokens billed at one tier and what they cost."""

    tier: int
    """0 = the base price, k = ``volume_tiers[k - 1]``."""
    input_tokens: Fraction
    output_tokens: Fraction
    usd: Fraction


@dataclass(frozen=True)
class VolumeBill:
    """A month's token bill under volume tiers and committed spend [currency]."""

    lines: tuple[TierLine, ...]
    usage_usd: Decimal
    """After volume tiers, before the committed-spend discount."""
    at_base_usd: Decimal
    """The same tokens at the base prices (no tiers)."""
    committed_usd: Decimal | None
    """``max(commit, usage × (1 − discount))`` when a committed spend applies, else None."""

    @property
    def total_usd(self) -> Decimal:
        """What the month is billed."""
        return self.committed_usd if self.committed_usd is not None else self.usage_usd

    @property
    def tier_savings_usd(self) -> Decimal:
        """What the volume tiers took off the base prices."""
        return self.at_base_usd - self.usage_usd


def _prices(price: TokenPrice) -> list[tuple[int, Fraction, Fraction]]:
    rows = [(0, Fraction(dec(price.input_usd_per_mtok)), Fraction(dec(price.output_usd_per_mtok)))]
    rows += [
        (t.above_monthly_tokens, Fraction(dec(t.input_usd_per_mtok)), Fraction(dec(t.output_usd_per_mtok)))
        for t in price.volume_tiers
    ]
    return rows


def _exact(value: Fraction) -> Decimal:
    """A fraction as a decimal to 12 places (exact for any bill a test can write by hand)."""
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("1e-12"))


def volume_bill(price: TokenPrice, usage: Sequence[Usage]) -> VolumeBill:
    """The month's bill of ``usage`` (chunks in the order they were used) under ``price``'s volume tiers
    and committed spend. Without tiers the base prices apply to every token."""
    tiers = _prices(price)
    thresholds = [t[0] for t in tiers]
    by_tier: dict[int, list[Fraction]] = {}
    total_tokens = 0
    for chunk in usage:
        if chunk.input_tokens < 0 or chunk.output_tokens < 0:
            raise InputError(f"volume bill: expected token counts ≥ 0, found {chunk}")
        n = chunk.input_tokens + chunk.output_tokens
        if n == 0:
            continue
        lo, hi = total_tokens, total_tokens + n
        for k, threshold in enumerate(thresholds):
            upper = thresholds[k + 1] if k + 1 < len(thresholds) else None
            a = max(lo, threshold)
            b = hi if upper is None else min(hi, upper)
            if b <= a:
                continue
            share = Fraction(b - a, n)
            row = by_tier.setdefault(k, [Fraction(0), Fraction(0)])
            row[0] += chunk.input_tokens * share
            row[1] += chunk.output_tokens * share
        total_tokens = hi
    if price.volume_tier_mode == "all_units" and by_tier:
        top = max(k for k, t in enumerate(thresholds) if t <= max(total_tokens - 1, 0))
        all_in = sum((r[0] for r in by_tier.values()), Fraction(0))
        all_out = sum((r[1] for r in by_tier.values()), Fraction(0))
        by_tier = {top: [all_in, all_out]}
    lines = tuple(
        TierLine(
            tier=k,
            input_tokens=tokens[0],
            output_tokens=tokens[1],
            usd=(tokens[0] * tiers[k][1] + tokens[1] * tiers[k][2]) / TOKENS_PER_M,
        )
        for k, tokens in sorted(by_tier.items())
    )
    usage_usd = sum((line.usd for line in lines), Fraction(0))
    all_in = sum((line.input_tokens for line in lines), Fraction(0))
    all_out = sum((line.output_tokens for line in lines), Fraction(0))
    at_base = (all_in * tiers[0][1] + all_out * tiers[0][2]) / TOKENS_PER_M
    committed = None
    spend = price.committed_spend
    if spend is not None:
        discounted = usage_usd * (1 - Fraction(dec(spend.discount)))
        committed = _exact(max(Fraction(dec(spend.monthly_commit_usd)), discounted))
    return VolumeBill(lines=lines, usage_usd=_exact(usage_usd), at_base_usd=_exact(at_base), committed_usd=committed)


def has_volume_pricing(price: TokenPrice) -> bool:
    """True when the price has volume tiers or a committed spend (its month is not linear in tokens)."""
    return bool(price.volume_tiers) or price.committed_spend is not None


def volume_factor(price: TokenPrice, monthly_input_tokens: int, monthly_output_tokens: int) -> Decimal:
    """The month's bill under volume pricing ÷ the same tokens at the base prices (1 without any)."""
    bill = volume_bill(price, [Usage(monthly_input_tokens, monthly_output_tokens)])
    if bill.at_base_usd <= 0:
        return Decimal(1)
    return bill.total_usd / bill.at_base_usd
