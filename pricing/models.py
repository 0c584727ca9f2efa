"""Schemas of the price catalog: a per-token price (serverless APIs) and a per-GPU-hour price (instances).

Units are in the field names: ``*_usd_per_mtok`` is US dollars (or ``currency``) per 1,000,000 tokens;
``*_hourly_usd`` is per instance-hour (the whole instance, all its GPUs). Every entry carries the date the
price was read (``as_of``) and where it was read (``source``); prices older than the staleness limit are
flagged, never silently trusted.
"""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

#: ISO 4217 codes accepted in the catalog (the currencies cloud and API providers bill in).
ISO_4217 = frozenset(
    [
        "USD",
        "EUR",
        "GBP",
        "JPY",
        "CNY",
        "CAD",
        "AUD",
        "CHF",
        "SEK",
        "NOK",
        "DKK",
        "PLN",
        "CZK",
        "INR",
        "KRW",
        "SGD",
        "HKD",
        "BRL",
        "MXN",
        "ZAR",
        "AED",
        "SAR",
        "ILS",
        "TRY",
        "NZD",
        "TWD",
    ]
)

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*(/[A-Za-z0-9._:@+-]+)+$")


def _finite_non_negative(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, found {value}")
    if value < 0:
        raise ValueError(f"expected a non-negative price, found {value}")
    return value


def _check_currency(value: str) -> str:
    code = value.strip().upper()
    if code not in ISO_4217:
        raise ValueError(f"expected an ISO 4217 currency code such as USD or EUR, found {value!r}")
    return code


def _check_id(value: str) -> str:
    if not _ID_RE.match(value):
        raise ValueError(
            "expected an id like 'provider/name' (lowercase provider, then '/', then the model or offering), "
            f"found {value!r}"
        )
    return value


Usd = Annotated[float, AfterValidator(_finite_non_negative)]
Currency = Annotated[str, AfterValidator(_check_currency)]
EntryId = Annotated[str, AfterValidator(_check_id)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class LongContextTier(_Strict):
    """Prices that apply when a request's input exceeds a threshold (e.g. above 128k tokens)."""

    above_input_tokens: int = Field(
        ge=0, description="The tier applies to requests whose input tokens exceed this count."
    )
    input_usd_per_mtok: Usd = Field(description="Input price in this tier [currency / 1M tokens].")
    output_usd_per_mtok: Usd = Field(description="Output price in this tier [currency / 1M tokens].")
    cached_input_usd_per_mtok: Usd | None = Field(
        default=None, description="Cached-input price in this tier [currency / 1M tokens], if different."
    )


class RateLimits(_Strict):
    """Published rate limits of an API tier; any may be unknown."""

    requests_per_minute: float | None = Field(default=None, gt=0, description="Requests per minute allowed.")
    tokens_per_minute: float | None = Field(default=None, gt=0, description="Input + output tokens per minute allowed.")
    input_tokens_per_minute: float | None = Field(
        default=None, gt=0, description="Input tokens per minute allowed, where the provider limits them apart."
    )
    output_tokens_per_minute: float | None = Field(
        default=None, gt=0, description="Output tokens per minute allowed, where the provider limits them apart."
    )
    tier: str | None = Field(default=None, description="The provider's name for the account tier these apply to.")


class TokenPrice(_Strict):
    """A per-token (serverless API) price for one model at one provider."""

    kind: Literal["token"] = Field(default="token", description="Discriminator: a per-token price.")
    id: EntryId = Field(description="Stable id, 'provider/model', e.g. 'digitalocean/gpt-oss-120b'.")
    provider: str = Field(min_length=1, description="Who bills it, e.g. 'digitalocean', 'together_ai'.")
    model: str = Field(min_length=1, description="The model as the provider names it, e.g. 'gpt-oss-120b'.")
    input_usd_per_mtok: Usd = Field(description="Price of input (prompt) tokens [currency / 1M tokens].")
    output_usd_per_mtok: Usd = Field(description="Price of output (generated) tokens [currency / 1M tokens].")
    cached_input_usd_per_mtok: Usd | None = Field(
        default=None,
        description="Price of input tokens served from the provider's prompt cache [currency / 1M tokens]; "
        "None = no discount (cached tokens are billed as input).",
    )
    batch_discount: float | None = Field(
        default=None,
        ge=0,
        lt=1,
        description="Fraction taken off input and output prices for deferrable (batch API) traffic, "
        "e.g. 0.5 for half price; None = no batch tier.",
    )
    long_context_tiers: tuple[LongContextTier, ...] = Field(
        default=(), description="Higher prices for long inputs, ordered by threshold."
    )
    rate_limits: RateLimits | None = Field(default=None, description="Published rate limits, if known.")
    context_window_tokens: int | None = Field(
        default=None, gt=0, description="Largest input the model accepts [tokens], if known."
    )
    currency: Currency = Field(default="USD", description="ISO 4217 currency of every price in this entry.")
    as_of: date = Field(description="The date the price was read at its source (YYYY-MM-DD).")
    source: str = Field(min_length=1, description="Where the price was read: a URL or a citation.")
    notes: str = Field(default="", description="Free text: caveats, confidence, conflicts with other sources.")

    @model_validator(mode="after")
    def _tiers_ordered(self) -> TokenPrice:
        thresholds = [t.above_input_tokens for t in self.long_context_tiers]
        if thresholds != sorted(set(thresholds)):
            raise ValueError("long_context_tiers: expected strictly increasing above_input_tokens")
        return self


class GpuPrice(_Strict):
    """An hourly price for one GPU instance (the whole instance, all its GPUs)."""

    kind: Literal["gpu"] = Field(default="gpu", description="Discriminator: a per-GPU-hour instance price.")
    id: EntryId = Field(description="Stable id, 'provider/offering', e.g. 'digitalocean/gpu-mi300x-1x'.")
    provider: str = Field(min_length=1, description="Who bills it, e.g. 'digitalocean', 'nebius', 'azure'.")
    offering: str = Field(min_length=1, description="The provider's instance / plan name.")
    gpu: str = Field(min_length=1, description="GPU model, e.g. 'H100', 'MI300X', 'L40S'.")
    gpu_count: int = Field(ge=1, description="GPUs in the instance.")
    gpu_memory_gib: float | None = Field(default=None, gt=0, description="Memory of one GPU [GiB], if known.")
    hourly_usd: Usd = Field(description="On-demand price of the whole instance [currency / hour].")
    reserved_hourly_usd: Usd | None = Field(
        default=None, description="Committed-use price of the whole instance [currency / hour], if offered."
    )
    reserved_term: str | None = Field(
        default=None, description="Commitment the reserved price needs, e.g. '12 months'."
    )
    spot_hourly_usd: Usd | None = Field(
        default=None, description="Spot / preemptible price of the whole instance [currency / hour], if offered."
    )
    billing_increment_s: int = Field(
        default=1, ge=1, description="Billing granularity [seconds]: 1 = per second, 3600 = per started hour."
    )
    minimum_billed_s: int = Field(
        default=60, ge=0, description="Minimum billed time per instance start [seconds] (e.g. 300 = 5 minutes)."
    )
    regions: tuple[str, ...] = Field(default=(), description="Regions where this price applies.")
    currency: Currency = Field(default="USD", description="ISO 4217 currency of every price in this entry.")
    as_of: date = Field(description="The date the price was read at its source (YYYY-MM-DD).")
    source: str = Field(min_length=1, description="Where the price was read: a URL or a citation.")
    notes: str = Field(default="", description="Free text: caveats, confidence, conflicts with other sources.")

    @property
    def gpu_hourly_usd(self) -> float:
        """On-demand price per GPU-hour [currency / GPU-hour]."""
        return self.hourly_usd / self.gpu_count

    def hourly_for(self, tier: Literal["on_demand", "reserved", "spot"]) -> float:
        """Instance price for a pricing tier; raises ``ValueError`` if the tier is not offered."""
        value = {"on_demand": self.hourly_usd, "reserved": self.reserved_hourly_usd, "spot": self.spot_hourly_usd}[tier]
        if value is None:
            raise ValueError(f"{self.id}: no {tier} price in the catalog")
        return value


Price = Annotated[TokenPrice | GpuPrice, Field(discriminator="kind")]
