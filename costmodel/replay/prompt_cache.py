"""A serverless provider's prompt cache, replayed over a trace: which input tokens of each request are billed
as cached, and which are written to the cache (billed at a premium where the provider charges one).

The model, per request ``i`` at arrival ``t_i`` with prompt blocks ``k_0 .. k_{n-1}`` (:mod:`traces.prefix`:
a key names the whole prefix up to its block)::

    cacheable_i = floor(input_i / G) · G, or 0 when that is below the minimum prefix M
    stored_i    = the blocks wholly inside cacheable_i (all of them when cacheable_i = input_i)
    alive(i, j) = some earlier request stored k_j at t with t_i − t ≤ TTL     (each use renews the entry)
    matched_i   = tokens of the leading alive blocks (capped at input_i)
    cached_i    = floor(matched_i / G) · G, or 0 when below M
    written_i   = cacheable_i − cached_i                                      (billed × write premium)

``G`` granularity, ``M`` minimum prefix, ``TTL`` time to live (from :class:`pricing.models.PromptCache`). The
provider's cache is taken as unbounded within the TTL (no published capacity), shared by the whole trace (one
account), written at the request's arrival, and every hit is served (providers say hits are "not
guaranteed": the sensitivity analysis covers fewer). Explicit caches (Anthropic's ``cache_control``) are
taken as marking the whole prompt. Resolution is the trace's block size: with 512-token Mooncake blocks a hit
is rounded down to 512 tokens before the provider's own granularity applies.

Vectorised: one stable sort of the blocks by key; no loop over requests. Every block stored before is found
by its key's previous occurrence (the keys are chained, so a key occurs at most once per request and
``alive`` is prefix-closed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from costmodel.replay._arrays import FloatArray, IntArray
from costmodel.results import TokenCosts
from pricing.models import PromptCache, TokenPrice
from traces.prefix import PrefixBlocks, leading_run, prefix_reuse, tokens_of_blocks

ASSUMED: dict[str, float] = {
    "min_prefix_tokens": 0,
    "granularity_tokens": 1,
    "ttl_s": 300.0,
    "write_multiplier": 1.0,
}
"""What the bill assumes for a rule the provider does not state: no minimum, token granularity (the trace's
block size is the real resolution), the shortest time to live providers commonly publish (5 minutes:
Anthropic's default, Cerebras' guarantee, the low end of OpenAI's 5–10 minutes), and no write premium."""


@dataclass(frozen=True)
class CacheRules:
    """The rules the replay runs with, every field known (stated or assumed)."""

    min_prefix_tokens: int
    granularity_tokens: int
    ttl_s: float
    """``inf``: never expires."""
    write_multiplier: float
    assumed: tuple[str, ...] = ()
    """Fields taken from :data:`ASSUMED` because the provider does not state them."""
    basis: str = "published"
    """``published`` or ``unknown`` (every field assumed)."""

    def describe(self) -> str:
        """The rules in a few words, for notes."""
        ttl = "no expiry" if math.isinf(self.ttl_s) else f"TTL {self.ttl_s:g} s"
        parts = [f"minimum {self.min_prefix_tokens} tokens", f"{self.granularity_tokens}-token steps", ttl]
        if self.write_multiplier != 1.0:
            parts.append(f"writes ×{self.write_multiplier:g}")
        text = ", ".join(parts)
        if self.assumed:
            text += f" (assumed: {', '.join(self.assumed)})"
        return text


def cache_rules(price: TokenPrice) -> CacheRules | None:
    """The rules to replay ``price``'s cache with; None when the provider does not discount cached tokens for
    this model (``rules = "none"``). Unknown rules (no ``prompt_cache``, or ``rules = "unknown"``) are all
    assumed (:data:`ASSUMED`); without a known cached price those tokens are then billed at the input price."""
    cache = price.prompt_cache
    if cache is not None and cache.rules == "none":
        return None
    if cache is None or cache.rules == "unknown":
        return CacheRules(
            min_prefix_tokens=int(ASSUMED["min_prefix_tokens"]),
            granularity_tokens=int(ASSUMED["granularity_tokens"]),
            ttl_s=ASSUMED["ttl_s"],
            write_multiplier=ASSUMED["write_multiplier"],
            assumed=tuple(ASSUMED),
            basis="unknown",
        )
    return _published(cache)


def _published(cache: PromptCache) -> CacheRules:
    stated = {
        "min_prefix_tokens": cache.min_prefix_tokens,
        "granularity_tokens": cache.granularity_tokens,
        "ttl_s": cache.ttl_s,
        "write_multiplier": cache.write_multiplier,
    }
    values = {k: (v if v is not None else ASSUMED[k]) for k, v in stated.items()}
    return CacheRules(
        min_prefix_tokens=int(values["min_prefix_tokens"]),
        granularity_tokens=int(values["granularity_tokens"]),
        ttl_s=float(values["ttl_s"]),
        write_multiplier=float(values["write_multiplier"]),
        assumed=tuple(k for k, v in stated.items() if v is None),
    )


@dataclass(frozen=True)
class CacheUse:
    """Per request: input tokens billed as cached, and input tokens written to the cache."""

    cached: IntArray
    written: IntArray


def replay_prompt_cache(
    arrival_s: FloatArray, input_tokens: IntArray, blocks: PrefixBlocks, rules: CacheRules
) -> CacheUse:
    """Replay the provider cache over requests in arrival order (see the module docstring)."""
    inputs = np.asarray(input_tokens, dtype=np.int64)
    n = len(inputs)
    size = blocks.block_tokens
    step = max(int(rules.granularity_tokens), 1)
    minimum = int(rules.min_prefix_tokens)
    cacheable = (inputs // step) * step
    cacheable = np.where((cacheable >= max(minimum, 1)), cacheable, 0)
    if len(blocks.keys) == 0:  # no request, or no prompt blocks: nothing to hit
        return CacheUse(cached=np.zeros(n, dtype=np.int64), written=cacheable.astype(np.int64))
    counts = blocks.counts
    stored = np.where(cacheable >= inputs, counts, np.minimum(cacheable // size, counts))

    request = blocks.request_of_block()
    position = blocks.position_of_block()
    time = np.asarray(arrival_s, dtype=np.float64)[request]
    touches = position < stored[request]

    # A block can only be alive if its key occurred before: sort just the keys that occur more than once.
    repeated = np.flatnonzero(np.bincount(blocks.keys, minlength=blocks.n_keys)[blocks.keys] > 1)
    order = repeated[np.argsort(blocks.keys[repeated], kind="stable")]  # by key, arrival order within a key
    keys_sorted = blocks.keys[order]
    touch_sorted = touches[order]
    marks = np.where(touch_sorted, np.arange(len(order)), -1)
    last_touch = np.maximum.accumulate(marks) if len(marks) else marks
    previous = np.concatenate(([-1], last_touch[:-1]))
    group_start = np.flatnonzero(np.concatenate(([True], keys_sorted[1:] != keys_sorted[:-1])))
    start_of = np.repeat(group_start, np.diff(np.append(group_start, len(order)))) if len(order) else group_start
    valid = previous >= start_of
    time_sorted = time[order]
    age = time_sorted - time_sorted[np.maximum(previous, 0)] if len(order) else time_sorted
    alive = np.zeros(len(blocks.keys), dtype=bool)
    alive[order] = valid & (age <= rules.ttl_s)

    hits = leading_run(alive, blocks.offsets) if n else np.zeros(0, dtype=np.int64)
    matched = tokens_of_blocks(hits, inputs, size)
    cached = (matched // step) * step
    cached = np.where(cached >= minimum, cached, 0).astype(np.int64)
    written = np.maximum(cacheable - cached, 0).astype(np.int64)
    return CacheUse(cached=cached, written=written)


@dataclass(frozen=True)
class CacheFigures:
    """What the sensitivity analysis needs about a serverless bill's prompt cache."""

    share: float
    """Input tokens billed as cached / all input tokens."""
    upper_share: float | None
    """The infinite-cache share of the trace (None without hash_ids)."""
    discount: float | None
    """1 − cached price / input price; None when the cached price is unknown."""
    write_extra: float
    """Cache-write tokens / input tokens × (write premium − 1)."""


def cache_figures(
    costs: TokenCosts, price: TokenPrice, blocks: PrefixBlocks | None, input_tokens: IntArray
) -> CacheFigures:
    """:class:`CacheFigures` of a bill (``costs``) of a trace whose prompt blocks are ``blocks``."""
    total = costs.input_tokens or 0
    share = (costs.cached_input_tokens or 0) / total if total else 0.0
    upper = None
    if blocks is not None:
        reuse = prefix_reuse(blocks, input_tokens)
        upper = reuse.token_share
    cached_price = price.cached_price_usd_per_mtok
    cache = price.prompt_cache
    if cache is not None and cache.rules == "none":
        discount: float | None = 0.0
    elif cached_price is None:
        discount = None
    else:
        discount = 1.0 - cached_price / price.input_usd_per_mtok if price.input_usd_per_mtok > 0 else 0.0
    multiplier = cache.write_multiplier if cache is not None and cache.write_multiplier is not None else 1.0
    writes = (costs.cache_write_tokens or 0) / total if total else 0.0
    return CacheFigures(share, upper, discount, writes * (multiplier - 1.0))
