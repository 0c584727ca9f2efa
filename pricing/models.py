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

#: Hours in a month, everywhere in the tool (8,760 ÷ 12).
HOURS_PER_MONTH = 730.0

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*(/[A-Za-z0-9._:@+-]+)+$")


#: Largest price any money field accepts: beyond it, bills over millions of requests overflow float64
#: (a GPU price of 1e308 would make every cost infinite). Implausible prices below it are warnings
#: (:mod:`pricing.plausibility`), not errors.
MAX_PRICE = 1e9


def _finite_non_negative(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, found {value}")
    if value < 0:
        raise ValueError(f"expected a non-negative price, found {value}")
    if value > MAX_PRICE:
        raise ValueError(f"expected a price of at most {MAX_PRICE:g} (larger ones overflow the bills), found {value:g}")
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


class VolumeTier(_Strict):
    """A per-token price that applies once a month's volume passes a threshold (a published volume tier)."""

    above_monthly_tokens: int = Field(
        ge=0, description="The tier applies to tokens beyond this many in a calendar month (input + output)."
    )
    input_usd_per_mtok: Usd = Field(description="Input price in this tier [currency / 1M tokens].")
    output_usd_per_mtok: Usd = Field(description="Output price in this tier [currency / 1M tokens].")


class CommittedSpend(_Strict):
    """A committed-spend agreement: pay at least ``monthly_commit_usd`` a month, get ``discount`` off usage."""

    monthly_commit_usd: Usd = Field(description="Minimum billed each month of the term [currency / month].")
    discount: float = Field(ge=0, lt=1, description="Fraction taken off the usage bill, e.g. 0.2 for 20 % off.")
    term_months: int = Field(ge=1, le=120, description="Length of the commitment [months].")
    as_of: date = Field(description="The date the terms were read at their source (YYYY-MM-DD).")
    source: str = Field(min_length=1, description="Where the terms were read: a URL, a contract or a citation.")
    notes: str = Field(default="", description="Free text: caveats and the confidence mark.")


class PromptCache(_Strict):
    """How a provider's prompt cache bills a repeated prompt prefix (see docs/pricing.md, "Prompt caching").

    ``rules``: ``published`` (the fields below come from the provider's own text, unknown ones left None),
    ``unknown`` (not found: the bill replays the cache with stated assumptions only when the entry has a
    cached price, and the sensitivity analysis varies the discount) or ``none`` (the provider says cached
    tokens are not discounted for this model). The cached price itself is the entry's
    ``cached_input_usd_per_mtok``, or ``discount`` off the input price.
    """

    rules: Literal["published", "unknown", "none"] = Field(
        default="published", description="Where the rules come from: published, unknown, or none (no discount)."
    )
    discount: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Fraction taken off the input price for cached tokens (0.5 = half price), when published "
        "as a discount rather than a cached price.",
    )
    min_prefix_tokens: int | None = Field(
        default=None, ge=0, description="Shortest prompt prefix the cache stores or reads [tokens]; None = not stated."
    )
    granularity_tokens: int | None = Field(
        default=None, ge=1, description="Cached prefixes count in multiples of this [tokens]; None = not stated."
    )
    ttl_s: float | None = Field(
        default=None,
        gt=0,
        description="A cached prefix is dropped after this long without use [s] (each hit renews it); "
        "None = not stated.",
    )
    write_multiplier: float | None = Field(
        default=None,
        ge=0,
        description="Tokens written to the cache cost this many times the input price (1.25 = 25 % extra); "
        "None or 1 = writes cost nothing extra.",
    )
    explicit: bool = Field(
        default=False,
        description="The caller marks what to cache (Anthropic's cache_control); the bill assumes every request "
        "marks its whole prompt.",
    )
    as_of: date | None = Field(default=None, description="The date the rules were read (YYYY-MM-DD).")
    source: str | None = Field(default=None, description="Where the rules were read: a URL or a citation.")
    notes: str = Field(default="", description="Caveats and the confidence mark ([doc], [3p], [unverified]).")


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

    volume_tiers: tuple[VolumeTier, ...] = Field(
        default=(), description="Published volume tiers: lower prices past a monthly volume, by threshold."
    )
    volume_tier_mode: Literal["incremental", "all_units"] = Field(
        default="incremental",
        description="incremental: a tier's price applies to the tokens beyond its threshold (like tax brackets); "
        "all_units: once a month passes a threshold, all its tokens are billed at that tier.",
    )
    committed_spend: CommittedSpend | None = Field(
        default=None, description="A committed-spend discount, if the provider publishes one (or you signed one)."
    )
    prompt_cache: PromptCache | None = Field(
        default=None,
        description="The provider's prompt-cache rules (discount, minimum prefix, granularity, time to live, write "
        "premium); None = not recorded (treated as unknown).",
    )

    @property
    def cached_price_usd_per_mtok(self) -> float | None:
        """The cached-input price [currency / 1M tokens]: ``cached_input_usd_per_mtok``, else the input price less
        ``prompt_cache.discount``; None when neither is known."""
        if self.cached_input_usd_per_mtok is not None:
            return self.cached_input_usd_per_mtok
        if self.prompt_cache is not None and self.prompt_cache.discount is not None:
            return self.input_usd_per_mtok * (1.0 - self.prompt_cache.discount)
        return None

    @model_validator(mode="after")
    def _cache_price_consistent(self) -> TokenPrice:
        cache = self.prompt_cache
        if cache is None or cache.discount is None or self.cached_input_usd_per_mtok is None:
            return self
        implied = self.input_usd_per_mtok * (1.0 - cache.discount)
        if abs(implied - self.cached_input_usd_per_mtok) > 1e-9 + 0.01 * self.input_usd_per_mtok:
            raise ValueError(
                f"prompt_cache.discount: {cache.discount:g} off {self.input_usd_per_mtok:g} is {implied:g}, but "
                f"cached_input_usd_per_mtok is {self.cached_input_usd_per_mtok:g}; expected one of them, or both "
                "agreeing"
            )
        return self

    @model_validator(mode="after")
    def _tiers_ordered(self) -> TokenPrice:
        thresholds = [t.above_input_tokens for t in self.long_context_tiers]
        if thresholds != sorted(set(thresholds)):
            raise ValueError("long_context_tiers: expected strictly increasing above_input_tokens")
        return self

    @model_validator(mode="after")
    def _volume_tiers_ordered(self) -> TokenPrice:
        thresholds = [t.above_monthly_tokens for t in self.volume_tiers]
        if thresholds != sorted(set(thresholds)):
            raise ValueError("volume_tiers: expected strictly increasing above_monthly_tokens")
        return self


class CommitmentTerm(_Strict):
    """A committed (reserved) price: the instance is paid for every hour of the term, used or not."""

    term_months: int = Field(ge=1, le=120, description="Length of the commitment [months], e.g. 12 or 36.")
    hourly_usd: Usd = Field(
        description="Recurring price of the whole instance for every hour of the term [currency / hour]."
    )
    upfront_usd: Usd = Field(
        default=0.0, description="Paid once per instance at the start of the term [currency] (0 = no upfront)."
    )
    as_of: date = Field(description="The date the committed price was read at its source (YYYY-MM-DD).")
    source: str = Field(min_length=1, description="Where the committed price was read: a URL or a citation.")
    notes: str = Field(default="", description="Free text: caveats and the confidence mark.")

    @property
    def effective_hourly_usd(self) -> float:
        """Hourly price with the upfront spread over the term's hours (730 a month) [currency / hour]."""
        return self.hourly_usd + self.upfront_usd / (self.term_months * HOURS_PER_MONTH)


class SpotTerms(_Strict):
    """How a spot / preemptible instance is taken back: how often, and with how much notice."""

    mean_hours_between_preemptions: float | None = Field(
        default=None,
        gt=0,
        description="Mean running hours of one instance between preemptions [h]; None = not published.",
    )
    notice_s: float = Field(default=0.0, ge=0, description="Warning before the instance is stopped [s].")
    as_of: date = Field(description="The date the terms were read at their source (YYYY-MM-DD).")
    source: str = Field(min_length=1, description="Where the terms were read: a URL or a citation.")
    notes: str = Field(default="", description="Free text: caveats and the confidence mark.")


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

    commitments: tuple[CommitmentTerm, ...] = Field(
        default=(), description="Committed prices by term, each dated and sourced (billed every hour of the term)."
    )
    spot_preemption: SpotTerms | None = Field(
        default=None, description="How spot instances are preempted (rate and notice), if known."
    )

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

    def commitment_terms(self) -> tuple[CommitmentTerm, ...]:
        """Every committed price: ``commitments``, plus the older ``reserved_hourly_usd`` when its
        ``reserved_term`` names a length ('12 months', '1 year', '3 years')."""
        legacy: tuple[CommitmentTerm, ...] = ()
        months = term_months(self.reserved_term) if self.reserved_term else None
        if self.reserved_hourly_usd is not None and months is not None:
            legacy = (
                CommitmentTerm(
                    term_months=months,
                    hourly_usd=self.reserved_hourly_usd,
                    as_of=self.as_of,
                    source=self.source,
                    notes="from reserved_hourly_usd / reserved_term",
                ),
            )
        return (*self.commitments, *legacy)


class OwnedServer(_Strict):
    """A GPU server you own: bought once, depreciated over years, paying for power and hosting every month.

    Monthly cost (every month of the depreciation period, used or not)::

        depreciation = (purchase_usd - residual_usd) / (depreciation_years x 12)
        fixed        = depreciation + hosting_usd_per_month + other_usd_per_month
        energy       = (busy_h x power_w + idle_h x idle_power_w) / 1000 x pue x electricity_usd_per_kwh
    """

    kind: Literal["owned"] = Field(default="owned", description="Discriminator: an owned server's costs.")
    id: EntryId = Field(description="Stable id, 'owner/server', e.g. 'example/dgx-h100-colo'.")
    provider: str = Field(min_length=1, description="Who owns it (your team), or 'example' for a bundled example.")
    offering: str = Field(min_length=1, description="The server model, e.g. 'NVIDIA DGX H100'.")
    gpu: str = Field(min_length=1, description="GPU model, e.g. 'H100'.")
    gpu_count: int = Field(ge=1, description="GPUs in the server.")
    gpu_memory_gib: float | None = Field(default=None, gt=0, description="Memory of one GPU [GiB], if known.")
    purchase_usd: Usd = Field(description="Purchase price of the whole server [currency].")
    residual_usd: Usd = Field(default=0.0, description="Expected resale value at the end of depreciation [currency].")
    depreciation_years: float = Field(gt=0, le=20, description="Straight-line depreciation period [years].")
    power_w: float = Field(ge=0, description="Power the server draws while serving [W].")
    idle_power_w: float | None = Field(
        default=None, ge=0, description="Power while idle [W]; None = the same as power_w."
    )
    electricity_usd_per_kwh: Usd = Field(description="Electricity price [currency / kWh].")
    pue: float = Field(
        default=1.0, ge=1.0, le=4.0, description="Power usage effectiveness of the facility (total / IT power)."
    )
    hosting_usd_per_month: Usd = Field(
        default=0.0, description="Colocation / rack space / network per server [currency / month]."
    )
    other_usd_per_month: Usd = Field(
        default=0.0, description="Other fixed costs per server, e.g. support contract, staff share [currency / month]."
    )
    currency: Currency = Field(default="USD", description="ISO 4217 currency of every amount in this entry.")
    as_of: date = Field(description="The date the figures were read at their sources (YYYY-MM-DD).")
    source: str = Field(min_length=1, description="Where each figure was read: URLs or citations.")
    notes: str = Field(default="", description="Free text: which figure came from where, caveats, confidence.")

    @model_validator(mode="after")
    def _residual_below_purchase(self) -> OwnedServer:
        if self.residual_usd > self.purchase_usd:
            raise ValueError(
                f"residual_usd: expected at most purchase_usd ({self.purchase_usd}), found {self.residual_usd}"
            )
        return self

    @property
    def depreciation_usd_per_month(self) -> float:
        """Straight-line depreciation per month [currency / month]."""
        return (self.purchase_usd - self.residual_usd) / (self.depreciation_years * 12)

    @property
    def fixed_usd_per_month(self) -> float:
        """What the server costs a month whether it serves or not (depreciation, hosting, other)."""
        return self.depreciation_usd_per_month + self.hosting_usd_per_month + self.other_usd_per_month


_TERM_RE = re.compile(r"^\s*(\d+)\s*(month|months|mo|year|years|yr|yrs|y)\s*$", re.IGNORECASE)


def term_months(text: str) -> int | None:
    """Months in a term written as '12 months', '1 year', '3 years' (None when it names no length)."""
    match = _TERM_RE.match(text)
    if match is None:
        return None
    count = int(match.group(1))
    return count * 12 if match.group(2).lower().startswith("y") else count


Price = Annotated[TokenPrice | GpuPrice | OwnedServer, Field(discriminator="kind")]
