"""Import LiteLLM's ``model_prices_and_context_window.json`` (the model cost map) as per-token prices.

The file is one JSON object keyed by model name; prices are USD **per token** (we store per 1M tokens).
What is imported from each entry:

- ``input_cost_per_token`` / ``output_cost_per_token`` → input / output price;
- ``cache_read_input_token_cost`` (or DeepSeek's ``input_cost_per_token_cache_hit``) → cached-input price;
- ``input_cost_per_token_batches`` / ``output_cost_per_token_batches`` (one entry spells it
  ``input_cost_per_token_batch_requests``) → ``batch_discount`` = 1 − batch / regular;
- long-context tiers from ``input_cost_per_token_above_<N>k_tokens`` (and the output / cache-read
  variants) and from ``tiered_pricing`` lists (``range: [lo, hi]``; the first range is the base price);
- ``max_input_tokens`` → context window; ``rpm`` / ``tpm`` → rate limits.

What is skipped, each with a reason: ``sample_spec`` (documentation, not a model), entries without a
``mode`` (Fireworks size buckets), entries billed by a non-token meter (per second, character, image,
query, ...) or without a token price, entries with non-numeric or negative prices, and entries with
**implausible** prices: any per-token value ≥ :data:`MAX_USD_PER_TOKEN` ($1,000 per 1M tokens) — in the
2025-11 file these are mostly ``wandb/*`` entries that hold per-million prices in the per-token field.

Ids are ``<provider>/<model>``: the LiteLLM provider mapped by :data:`PROVIDER_NAMES` (``gradient_ai`` is
DigitalOcean's serverless inference → ``digitalocean``), then the key without its provider prefix.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import date
from typing import Any, Final, NamedTuple

from pydantic import ValidationError

from breakeven.errors import InputError
from breakeven.io import PathOrBuffer, read_bytes, source_name
from pricing.importers.common import ImportResult, Skipped, resolve_as_of, scale_to_per_mtok, source_text
from pricing.models import _ID_RE, LongContextTier, RateLimits, TokenPrice

#: Largest believable price of one token [USD]; anything at or above ($1,000 per 1M tokens) is reported.
MAX_USD_PER_TOKEN: Final = 1e-3

#: LiteLLM provider name → our provider name (others are kept as they are).
PROVIDER_NAMES: Final[dict[str, str]] = {
    "gradient_ai": "digitalocean",
    "bedrock_converse": "bedrock",
    "azure_text": "azure",
    "text-completion-openai": "openai",
    "text-completion-codestral": "codestral",
    "cohere_chat": "cohere",
    "fireworks_ai-embedding-models": "fireworks_ai",
    "lambda_ai": "lambda",
}

#: Fields that bill something other than tokens; an entry with only these is skipped.
_NON_TOKEN_METERS: Final = (
    ("per_second", "second"),
    ("per_character", "character"),
    ("per_image", "image"),
    ("per_pixel", "pixel"),
    ("per_query", "query"),
    ("per_request", "request"),
    ("per_page", "page"),
    ("dbu_cost", "Databricks DBU"),
)

_ABOVE_RE = re.compile(r"^input_cost_per_token_above_(\d+)k_tokens$")

# Skip reasons (short, counted in summaries).
SAMPLE_SPEC = "documentation entry (sample_spec), not a model"
NOT_OBJECT = "entry is not a JSON object"
NO_PROVIDER = "no litellm_provider"
NO_MODE = "no mode (not a model, e.g. a size bucket)"
NON_TOKEN = "billed by a non-token meter"  # noqa: S105 - a skip reason, not a secret
NO_TOKEN_PRICE = "no token price"  # noqa: S105 - a skip reason, not a secret
BAD_VALUE = "price is not a non-negative number"
IMPLAUSIBLE = "implausible price (>= 0.001 USD per token; per-million value stored per token?)"
BAD_ID = "key cannot form a catalog id"
DUPLICATE = "duplicate id after provider mapping"
INVALID = "entry fails the catalog schema"


class _Skip(Exception):  # noqa: N818 - internal control flow, never escapes this module
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def provider_name(litellm_provider: str) -> str:
    """Our provider name for a LiteLLM ``litellm_provider`` (``vertex_ai-*`` families become ``vertex_ai``)."""
    if litellm_provider.startswith("vertex_ai"):
        return "vertex_ai"
    return PROVIDER_NAMES.get(litellm_provider, litellm_provider).lower()


def parse_litellm(
    data: Any, *, as_of: date, source: str = "LiteLLM model_prices_and_context_window.json"
) -> ImportResult:
    """Convert a decoded LiteLLM cost map into token prices; every entry not imported is in ``skipped``.

    ``source`` prefixes each entry's ``source`` field (the entry's key is appended).
    """
    if not isinstance(data, Mapping):
        raise InputError(
            f"{source}: expected a JSON object keyed by model name (LiteLLM cost map), found {type(data).__name__}"
        )
    entries: dict[str, TokenPrice] = {}
    keys: dict[str, str] = {}
    skipped: list[Skipped] = []
    for raw_key, spec in data.items():
        key = str(raw_key)
        try:
            price = _convert(key, spec, as_of=as_of, source=source)
        except _Skip as skip:
            skipped.append(Skipped(key, skip.reason, skip.detail))
            continue
        if price.id in entries:
            # Two keys map to one id (e.g. 'deepseek-chat' and 'deepseek/deepseek-chat'): keep the key that
            # names its provider (LiteLLM's routed form), report the other.
            kept, kept_key = entries[price.id], keys[price.id]
            if _names_provider(key, spec) and not _names_provider(kept_key, data[kept_key]):
                price, key, kept, kept_key = kept, kept_key, price, key
            skipped.append(Skipped(key, DUPLICATE, _duplicate_detail(kept, kept_key, price)))
            entries[kept.id], keys[kept.id] = kept, kept_key
            continue
        entries[price.id], keys[price.id] = price, key
    return ImportResult(tuple(entries.values()), tuple(skipped), source=source, as_of=as_of)


def _names_provider(key: str, spec: Any) -> bool:
    provider = spec.get("litellm_provider", "") if isinstance(spec, Mapping) else ""
    return bool(provider) and key.startswith(f"{provider}/")


def _duplicate_detail(kept: TokenPrice, kept_key: str, dropped: TokenPrice) -> str:
    same = (kept.input_usd_per_mtok, kept.output_usd_per_mtok) == (
        dropped.input_usd_per_mtok,
        dropped.output_usd_per_mtok,
    )
    prices = (
        "same prices"
        if same
        else f"prices differ: kept {kept.input_usd_per_mtok:g}/{kept.output_usd_per_mtok:g}, "
        f"dropped {dropped.input_usd_per_mtok:g}/{dropped.output_usd_per_mtok:g} per 1M tokens"
    )
    return f"{kept.id} comes from key {kept_key!r}; {prices}"


def read_litellm(src: PathOrBuffer, *, as_of: date | None = None, source: str | None = None) -> ImportResult:
    """Read a LiteLLM cost map from a path or file-like object and import it (see :func:`parse_litellm`).

    ``as_of`` defaults as described in :mod:`pricing.importers.common` (2025-11-04 for the verified copy).
    """
    raw = read_bytes(src)
    name = source_name(src)
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        where = f"{name}:{line}" if line else name
        raise InputError(f"{where}: not valid JSON ({exc}); expected LiteLLM's model cost map") from exc
    chosen, how, known = resolve_as_of(src, raw, as_of)
    result = parse_litellm(data, as_of=chosen, source=source or source_text(name, "LiteLLM", known))
    return ImportResult(result.entries, result.skipped, source=name, as_of=chosen, notes=(how,))


# --------------------------------------------------------------------------------------------- one entry


def _convert(key: str, spec: Any, *, as_of: date, source: str) -> TokenPrice:
    """One entry of the cost map as a token price; :class:`_Skip` says why it is not imported."""
    raw_provider, mode = _provider_and_mode(key, spec)
    prices = _token_prices(spec)
    _check_plausible(prices)
    provider = provider_name(raw_provider)
    model = _strip_provider(key, raw_provider, provider)
    entry_id = f"{provider}/{model}"
    if not _ID_RE.match(entry_id):
        raise _Skip(BAD_ID, entry_id)

    notes = [f"[table] imported from LiteLLM key {key!r} (litellm_provider {raw_provider!r}, mode {mode!r})"]
    if prices.input == 0 and prices.output == 0:
        notes.append("listed at 0/0 (free, experimental or self-hosted)")
    batch_discount = _batch_discount(prices.input, prices.output, prices.batch_input, prices.batch_output, notes)
    if any(k.endswith(("_priority", "_flex")) for k in spec):
        notes.append("LiteLLM also lists priority/flex service-tier prices (not imported)")
    upstream_source = spec.get("source")

    try:
        return TokenPrice(
            id=entry_id,
            provider=provider,
            model=model,
            input_usd_per_mtok=scale_to_per_mtok(prices.input),
            output_usd_per_mtok=scale_to_per_mtok(prices.output),
            cached_input_usd_per_mtok=None if prices.cached is None else scale_to_per_mtok(prices.cached),
            batch_discount=batch_discount,
            long_context_tiers=tuple(_tier_models(prices.tiers)),
            rate_limits=_rate_limits(spec),
            context_window_tokens=_positive_int(spec.get("max_input_tokens")),
            as_of=as_of,
            source=f"{source}, key {key!r}"
            + (f"; upstream page {upstream_source}" if isinstance(upstream_source, str) and upstream_source else ""),
            notes="; ".join(notes),
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise _Skip(INVALID, f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from exc


def _provider_and_mode(key: str, spec: Any) -> tuple[str, str]:
    """``litellm_provider`` and ``mode`` of an entry that is a priced model (else :class:`_Skip`)."""
    if key == "sample_spec":
        raise _Skip(SAMPLE_SPEC)
    if not isinstance(spec, Mapping):
        raise _Skip(NOT_OBJECT, type(spec).__name__)
    raw_provider = spec.get("litellm_provider")
    if not isinstance(raw_provider, str) or not raw_provider:
        raise _Skip(NO_PROVIDER)
    mode = spec.get("mode")
    if not isinstance(mode, str):
        raise _Skip(NO_MODE)
    return raw_provider, mode


Tier = tuple[int, float, float, float | None]
"""A long-context tier: (lower bound [tokens], input, output, cached [USD / token])."""


class _TokenPrices(NamedTuple):
    """An entry's per-token prices [USD / token], as LiteLLM stores them."""

    input: float
    output: float
    cached: float | None
    batch_input: float | None
    batch_output: float | None
    tiers: list[Tier]


def _token_prices(spec: Mapping[str, Any]) -> _TokenPrices:
    """The entry's prices: flat fields first, else the first ``tiered_pricing`` tier (which also gives the
    cached price when no flat field does); :class:`_Skip` when it has no input and output price per token."""
    tiers_list = _tiered_pricing(spec)
    input_pt = _price(spec, "input_cost_per_token")
    output_pt = _price(spec, "output_cost_per_token")
    if (input_pt is None or output_pt is None) and tiers_list:
        input_pt, output_pt = tiers_list[0][1], tiers_list[0][2]
    if input_pt is None or output_pt is None:
        meters = _non_token_meters(spec)
        if meters:
            raise _Skip(NON_TOKEN, "per " + ", ".join(meters))
        missing = [
            n for n, v in (("input_cost_per_token", input_pt), ("output_cost_per_token", output_pt)) if v is None
        ]
        raise _Skip(NO_TOKEN_PRICE, "missing " + " and ".join(missing))

    cached_pt = _price(spec, "cache_read_input_token_cost")
    if cached_pt is None:
        cached_pt = _price(spec, "input_cost_per_token_cache_hit")
    if cached_pt is None and tiers_list:
        cached_pt = tiers_list[0][3]
    batch_in = _price(spec, "input_cost_per_token_batches")
    if batch_in is None:
        batch_in = _price(spec, "input_cost_per_token_batch_requests")
    batch_out = _price(spec, "output_cost_per_token_batches")
    tiers = _above_tiers(spec, output_pt) + [(lo, i, o, c) for lo, i, o, c in tiers_list[1:] if lo > 0]
    return _TokenPrices(input_pt, output_pt, cached_pt, batch_in, batch_out, tiers)


def _check_plausible(prices: _TokenPrices) -> None:
    """:class:`_Skip` when the dearest price is beyond any real one (a per-1M price in a per-token field)."""
    named = [
        ("input_cost_per_token", prices.input),
        ("output_cost_per_token", prices.output),
        ("cache_read_input_token_cost", prices.cached),
        ("input_cost_per_token_batches", prices.batch_input),
        ("output_cost_per_token_batches", prices.batch_output),
    ] + [(f"tier above {t[0]:,} tokens", v) for t in prices.tiers for v in t[1:]]
    field, worst = max(((n, v) for n, v in named if v is not None), key=lambda item: item[1])
    if worst >= MAX_USD_PER_TOKEN:
        raise _Skip(
            IMPLAUSIBLE, f"field {field} = {worst:g} USD/token = {scale_to_per_mtok(worst):,.0f} USD per 1M tokens"
        )


def _price(spec: Mapping[str, Any], name: str) -> float | None:
    """A per-token price field: None when absent or null; :class:`_Skip` when not a non-negative number."""
    value = spec.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise _Skip(BAD_VALUE, f"{name} = {value!r}")
    return float(value)


def _non_token_meters(spec: Mapping[str, Any]) -> list[str]:
    found = [label for marker, label in _NON_TOKEN_METERS if any(marker in k and "cost" in k for k in spec)]
    tiered = spec.get("tiered_pricing")
    if isinstance(tiered, list) and any(isinstance(t, Mapping) and "input_cost_per_query" in t for t in tiered):
        found.append("query (tiered)")
    return sorted(set(found))


def _tiered_pricing(spec: Mapping[str, Any]) -> list[Tier]:
    """``tiered_pricing`` as ``(lower bound [tokens], input, output, cached)`` sorted by lower bound; [] if none."""
    tiered = spec.get("tiered_pricing")
    if not isinstance(tiered, list):
        return []
    tiers = []
    for item in tiered:
        if not isinstance(item, Mapping) or "input_cost_per_token" not in item:
            return []  # a non-token tier list (e.g. per-query search pricing)
        bounds = item.get("range")
        if not isinstance(bounds, list) or not bounds or not isinstance(bounds[0], int | float):
            raise _Skip(BAD_VALUE, f"tiered_pricing range = {bounds!r}")
        i, o = _price(item, "input_cost_per_token"), _price(item, "output_cost_per_token")
        if i is None or o is None:
            raise _Skip(NO_TOKEN_PRICE, "a tiered_pricing tier lacks input or output cost")
        tiers.append((int(bounds[0]), i, o, _price(item, "cache_read_input_token_cost")))
    return sorted(tiers)


def _above_tiers(spec: Mapping[str, Any], base_output: float) -> list[Tier]:
    """Flat ``*_above_<N>k_tokens`` fields as tiers (N×1000 tokens, LiteLLM's convention)."""
    tiers = []
    for name in spec:
        match = _ABOVE_RE.match(name)
        if not match:
            continue
        suffix = f"above_{match.group(1)}k_tokens"
        input_pt = _price(spec, name)
        if input_pt is None:
            continue
        output_pt = _price(spec, f"output_cost_per_token_{suffix}")
        cached_pt = _price(spec, f"cache_read_input_token_cost_{suffix}")
        tiers.append((int(match.group(1)) * 1000, input_pt, base_output if output_pt is None else output_pt, cached_pt))
    return tiers


def _tier_models(tiers: list[Tier]) -> list[LongContextTier]:
    by_threshold: dict[int, Tier] = {}
    for tier in tiers:
        by_threshold.setdefault(tier[0], tier)
    return [
        LongContextTier(
            above_input_tokens=lo,
            input_usd_per_mtok=scale_to_per_mtok(i),
            output_usd_per_mtok=scale_to_per_mtok(o),
            cached_input_usd_per_mtok=None if c is None else scale_to_per_mtok(c),
        )
        for lo, i, o, c in sorted(by_threshold.values())
    ]


def _batch_discount(
    input_pt: float, output_pt: float, batch_in: float | None, batch_out: float | None, notes: list[str]
) -> float | None:
    ratios = [1 - b / p for b, p in ((batch_in, input_pt), (batch_out, output_pt)) if b is not None and p > 0]
    if not ratios:
        return None
    discount = round(ratios[0], 6)
    if len(ratios) == 2 and abs(ratios[0] - ratios[1]) > 1e-6:
        notes.append(f"batch discount differs for input and output ({ratios[0]:.3f} vs {ratios[1]:.3f}); input's used")
    if not 0 <= discount < 1:
        notes.append(f"batch price is not a discount (ratio {discount:.3f}); not imported")
        return None
    return discount


def _strip_provider(key: str, raw_provider: str, provider: str) -> str:
    for prefix in (raw_provider, provider):
        if key.startswith(prefix + "/"):
            return key[len(prefix) + 1 :]
    return key


def _positive_int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        return None
    return int(value) if float(value).is_integer() else None


def _rate_limits(spec: Mapping[str, Any]) -> RateLimits | None:
    rpm, tpm = _positive_int(spec.get("rpm")), _positive_int(spec.get("tpm"))
    if rpm is None and tpm is None:
        return None
    return RateLimits(requests_per_minute=rpm, tokens_per_minute=tpm)
