"""The serverless side: the exact per-token bill of a trace, its latency from a serverless profile, and the
minutes it would spend over the API's rate limits.

The bill, per request (prices in [USD / 1M tokens], ``d`` = the batch discount for deferrable requests)::

    tier     = the highest long-context tier whose threshold the input exceeds (else the base prices)
    cost     = (uncached × p_in + cached × p_cached + written × p_in × w + output × p_out) × (1 − d) ÷ 1,000,000
    uncached = input − cached − written

``cached`` and ``written`` come from the provider's prompt cache replayed over the trace's hash_ids
(:mod:`costmodel.replay.prompt_cache`; ``w`` is its write premium, ``written`` 0 where writes cost nothing
extra), else from the trace's ``cached_tokens`` column. ``p_cached`` is the entry's cached price, or the
input price less the cache's discount.

A tier without its own cached price keeps the base cached-to-input ratio; a price without a cached price
bills cached tokens as input. Token counts are summed per (tier, deferrable) group first and multiplied by
the price once, in exact decimal arithmetic (:mod:`pricing.money`): the total is the exact sum of its
lines (input, cached input, output), and a bill has no rounding dust (a price without long-context tiers
has a surcharge of exactly 0).
"""

from __future__ import annotations

import math
import shutil
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.special import ndtr, ndtri

from breakeven.errors import InputError
from breakeven.parallel import pmap
from costmodel.profiles.schema import Profile, Stat
from costmodel.replay._arrays import FloatArray, IntArray, RequestArrays, TraceLike, request_arrays
from costmodel.replay.billing import Billed, OptionBasis
from costmodel.replay.chunked import BLOCK, COLUMNS, Spill, chunks, copy_rng, skip_normals
from costmodel.replay.prompt_cache import cache_rules, replay_prompt_cache
from costmodel.replay.stats import Z_SCORE, distribution
from costmodel.results import Distribution, Latency, Slo, TokenCosts
from pricing.models import RateLimits, TokenPrice
from pricing.money import dec, to_float, tokens_cost
from traces.dataset import TraceDataset
from traces.model import Trace

TOKENS_PER_M = 1_000_000.0


@dataclass(frozen=True)
class _Tiers:
    """Prices by tier (index 0 = base) [USD / 1M tokens]."""

    thresholds: npt.NDArray[np.int64]
    p_in: FloatArray
    p_cached: FloatArray
    p_out: FloatArray


def _cached_base(price: TokenPrice) -> Decimal | None:
    """The base cached-input price as an exact decimal: the entry's cached price, else the input price less
    the prompt cache's discount; None when unknown or when the provider does not discount cached tokens."""
    cache = price.prompt_cache
    if cache is not None and cache.rules == "none":
        return None
    if price.cached_input_usd_per_mtok is not None:
        return dec(price.cached_input_usd_per_mtok)
    if cache is not None and cache.discount is not None:
        return dec(price.input_usd_per_mtok) * (1 - dec(cache.discount))
    return None


def _tiers(price: TokenPrice) -> _Tiers:
    exact = _cached_base(price)
    base_cached = float(exact) if exact is not None else None
    ratio = None
    if base_cached is not None and price.input_usd_per_mtok > 0:
        ratio = base_cached / price.input_usd_per_mtok
    p_in = [price.input_usd_per_mtok]
    p_cached = [base_cached if base_cached is not None else price.input_usd_per_mtok]
    p_out = [price.output_usd_per_mtok]
    for tier in price.long_context_tiers:
        p_in.append(tier.input_usd_per_mtok)
        p_out.append(tier.output_usd_per_mtok)
        if tier.cached_input_usd_per_mtok is not None:
            p_cached.append(tier.cached_input_usd_per_mtok)
        elif ratio is not None:
            p_cached.append(tier.input_usd_per_mtok * ratio)
        elif base_cached is not None:  # base input price 0: keep the base cached price
            p_cached.append(base_cached)
        else:
            p_cached.append(tier.input_usd_per_mtok)
    return _Tiers(
        thresholds=np.array([t.above_input_tokens for t in price.long_context_tiers], dtype=np.int64),
        p_in=np.array(p_in),
        p_cached=np.array(p_cached),
        p_out=np.array(p_out),
    )


def _groups(req: RequestArrays, price: TokenPrice, mask: npt.NDArray[np.bool_] | None) -> tuple[np.ndarray, int]:
    tiers = _tiers(price)
    tier = np.searchsorted(tiers.thresholds, req.input_tokens, side="left") if tiers.thresholds.size else None
    deferrable = req.deferrable if (req.deferrable is not None and price.batch_discount) else None
    group = np.zeros(len(req), dtype=np.int64) if tier is None else tier.astype(np.int64) * 2
    if deferrable is not None:
        group = group + deferrable.astype(np.int64)
    if mask is not None:
        group = np.where(mask, group, -1)
    return group, 2 * (tiers.thresholds.size + 1)


def serverless_bill(trace: TraceLike, price: TokenPrice, *, mask: npt.ArrayLike | None = None) -> TokenCosts:
    """The per-token bill of the trace's requests (or of those where ``mask`` is true) [USD].

    Cached input: with ``hash_ids`` in the trace, the provider's prompt cache is replayed over the billed
    requests (:mod:`costmodel.replay.prompt_cache`, rules from ``price.prompt_cache``); otherwise the trace's
    own ``cached_tokens`` column is used, if any. Cache writes are a line of their own where the provider
    charges a write premium. A trace dataset is billed partition by partition and the bills added, with the
    same hits as in memory (:func:`_dataset_bill`).
    """
    if isinstance(trace, TraceDataset) and mask is None:
        return _dataset_bill(trace, price)
    req = request_arrays(trace)
    sel = None if mask is None else np.asarray(mask, dtype=bool)
    if sel is not None and sel.shape != (len(req),):
        raise InputError(f"serverless bill: mask has shape {sel.shape}; expected ({len(req)},)")
    return price_bill(price, bill_sums(req, price, sel))


@dataclass(frozen=True)
class BillSums:
    """Token counts per (tier, deferrable) group — the whole input of a bill. Sums of disjoint sets of requests
    add up exactly (integers held in float64), so a bill priced from added sums is the bill of the union."""

    uncached: npt.NDArray[Any]
    cached: npt.NDArray[Any]
    written: npt.NDArray[Any]
    output: npt.NDArray[Any]
    requests: int
    input_tokens: int
    basis: str | None

    def __add__(self, other: BillSums) -> BillSums:
        return BillSums(
            self.uncached + other.uncached,
            self.cached + other.cached,
            self.written + other.written,
            self.output + other.output,
            self.requests + other.requests,
            self.input_tokens + other.input_tokens,
            self.basis or other.basis,
        )


def bill_sums(
    req: RequestArrays, price: TokenPrice, sel: npt.NDArray[np.bool_] | None = None, *, warm: int = 0
) -> BillSums:
    """The token counts :func:`price_bill` prices, for the requests where ``sel`` is true (default: all).
    ``warm``: the first ``warm`` requests came before the billed ones, within the provider cache's time to
    live; they fill its cache and are not billed."""
    cached_all, written_all, basis = cached_input(req, price, sel)
    billed = sel
    if warm:
        late = np.arange(len(req)) >= warm
        billed = late if sel is None else sel & late
    group, n_groups = _groups(req, price, billed)
    keep = group >= 0
    g = group[keep]
    inputs = req.input_tokens[keep]
    cached = cached_all[keep] if cached_all is not None else None
    written = written_all[keep] if written_all is not None else None
    uncached = inputs if cached is None else inputs - cached
    if written is not None:
        uncached = uncached - written
    return BillSums(
        uncached=np.bincount(g, weights=uncached, minlength=n_groups),
        cached=np.bincount(g, weights=cached, minlength=n_groups) if cached is not None else np.zeros(n_groups),
        written=np.bincount(g, weights=written, minlength=n_groups) if written is not None else np.zeros(n_groups),
        output=np.bincount(g, weights=req.output_tokens[keep], minlength=n_groups),
        requests=int(keep.sum()),
        input_tokens=int(inputs.sum()),
        basis=basis,
    )


def price_bill(price: TokenPrice, sums: BillSums) -> TokenCosts:
    """The bill of :class:`BillSums` at ``price``, in exact decimals."""
    uncached_sum, cached_sum, written_sum, out_sum = sums.uncached, sums.cached, sums.written, sums.output
    n_groups = int(uncached_sum.shape[0])
    prices = _decimal_tiers(price)
    write_factor = _write_multiplier(price)
    discount = dec(price.batch_discount or 0.0)
    zero = Decimal(0)
    line_in, line_cached, line_write, line_out, extra, saved = zero, zero, zero, zero, zero, zero
    for k in range(n_groups):
        if not (uncached_sum[k] or cached_sum[k] or written_sum[k] or out_sum[k]):
            continue
        p_in, p_cached, p_out = prices[k // 2]
        factor = 1 - discount if k % 2 else Decimal(1)
        in_usd = tokens_cost(uncached_sum[k], p_in)
        cached_usd = tokens_cost(cached_sum[k], p_cached)
        write_usd = tokens_cost(written_sum[k], p_in * write_factor)
        out_usd = tokens_cost(out_sum[k], p_out)
        b_in, b_cached, b_out = prices[0]
        at_base = tokens_cost(uncached_sum[k], b_in) + tokens_cost(cached_sum[k], b_cached)
        at_base += tokens_cost(written_sum[k], b_in * write_factor) + tokens_cost(out_sum[k], b_out)
        full = in_usd + cached_usd + write_usd + out_usd
        line_in += in_usd * factor
        line_cached += cached_usd * factor
        line_write += write_usd * factor
        line_out += out_usd * factor
        extra += (full - at_base) * factor
        saved += full * (1 - factor)
    lines = [line_in, line_cached, line_write, line_out]
    return TokenCosts(
        input_usd=to_float(line_in),
        cached_input_usd=to_float(line_cached),
        output_usd=to_float(line_out),
        long_context_extra_usd=max(0.0, to_float(extra)),
        batch_savings_usd=to_float(saved),
        total_usd=to_float(sum(lines, zero)),
        requests=sums.requests,
        cache_write_usd=to_float(line_write),
        input_tokens=sums.input_tokens,
        cached_input_tokens=int(cached_sum.sum()),
        cache_write_tokens=int(written_sum.sum()),
        cache_basis=sums.basis,
    )


def priced(price: TokenPrice, parts: list[BillSums]) -> TokenCosts:
    """The bill of the union of the disjoint sets of requests behind ``parts``: their counts added in order,
    priced once."""
    if not parts:
        return TokenCosts(input_usd=0.0, output_usd=0.0, total_usd=0.0, requests=0)
    return price_bill(price, sum(parts[1:], parts[0]))


def _partition_sums(i: int, ds: TraceDataset, price: TokenPrice) -> BillSums:
    part = ds.read(i)
    warm = _cache_warmup(ds, i, price)
    if warm is None:
        return bill_sums(request_arrays(Trace(df=part, meta=ds.meta)), price)
    both = pd.concat([warm, part], ignore_index=True)
    return bill_sums(request_arrays(Trace(df=both, meta=ds.meta)), price, warm=len(warm))


def _cache_warmup(ds: TraceDataset, i: int, price: TokenPrice) -> pd.DataFrame | None:
    """The requests of the partitions before ``i`` that arrived within the provider cache's time to live of
    partition ``i``'s first arrival — what decides its cache when the partition starts (a block is alive when
    some request stored it within the TTL, and what a request stores does not depend on its hits). None when
    nothing carries over: no ``hash_ids``, no cached discount, the first partition, or entries that never
    expire (then the cache restarts at the partition, and the bill's basis says so)."""
    rules = cache_rules(price)
    if i == 0 or rules is None or "hash_ids" not in ds.columns or not math.isfinite(rules.ttl_s):
        return None
    since = ds.span(i)[0] - rules.ttl_s
    pieces: list[pd.DataFrame] = []
    for j in range(i - 1, -1, -1):
        first, last = ds.span(j)
        if last < since:
            break
        df = ds.read(j)
        pieces.append(df[df["arrival_s"].to_numpy() >= since])
        if first < since:
            break
    return pd.concat(pieces[::-1], ignore_index=True) if pieces else None


def _dataset_bill(ds: TraceDataset, price: TokenPrice) -> TokenCosts:
    """The per-token bill of a dataset: each partition's token counts (on the Dask client when one is open),
    added, then priced once — the same bill as the whole trace's. With ``hash_ids``, each partition first
    replays the requests before it within the provider cache's time to live (:func:`_cache_warmup`), so its
    hits are the whole trace's; a cache whose entries never expire restarts at each partition."""
    costs = priced(price, pmap(_partition_sums, list(range(len(ds.partitions))), ds, price))
    rules = cache_rules(price)
    if len(ds.partitions) > 1 and "hash_ids" in ds.columns and rules is not None and math.isinf(rules.ttl_s):
        restart = "; entries that never expire were not carried across the dataset's partitions"
        costs = costs.model_copy(update={"cache_basis": (costs.cache_basis or "") + restart})
    return costs


def _write_multiplier(price: TokenPrice) -> Decimal:
    cache = price.prompt_cache
    if cache is None or cache.rules != "published" or cache.write_multiplier is None:
        return Decimal(1)
    return dec(cache.write_multiplier)


def cached_input(
    req: RequestArrays, price: TokenPrice, mask: npt.NDArray[np.bool_] | None = None
) -> tuple[IntArray | None, IntArray | None, str]:
    """Per request (all of ``req``; zeros outside ``mask``): input tokens billed as cached and input tokens
    billed as cache writes (only where writes cost extra), None for none at all; and a sentence saying how
    they were decided."""
    rules = cache_rules(price)
    blocks = req.prefix_blocks() if rules is not None else None
    if rules is not None and blocks is not None:
        sel = np.ones(len(req), dtype=bool) if mask is None else mask
        use = replay_prompt_cache(
            req.arrival_s[sel], req.input_tokens[sel], blocks if mask is None else blocks.subset(sel), rules
        )
        cached = np.zeros(len(req), dtype=np.int64)
        cached[sel] = use.cached
        written = None
        if _write_multiplier(price) != 1:
            written = np.zeros(len(req), dtype=np.int64)
            written[sel] = use.written
        price_note = "" if price.cached_price_usd_per_mtok is not None else "; cached price unknown: billed as input"
        basis = (
            f"{price.id} prompt cache ({rules.basis} rules: {rules.describe()}) replayed over the trace's "
            f"hash_ids ({blocks.block_tokens}-token blocks){price_note}"
        )
        ignored = "; the trace's cached_tokens column was not used" if req.cached_tokens is not None else ""
        return cached, written, basis + ignored
    if rules is None:
        return None, None, f"{price.id}: the provider does not discount cached tokens for this model"
    if req.cached_tokens is not None:
        return req.cached_tokens, None, "the trace's cached_tokens column"
    return None, None, "none: the trace has no hash_ids and no cached_tokens column"


def _decimal_tiers(price: TokenPrice) -> list[tuple[Decimal, Decimal, Decimal]]:
    """(input, cached input, output) prices of each tier (0 = base) as exact decimals [USD / 1M tokens];
    the same rules as :func:`_tiers`, with the cached-to-input ratio kept exact."""
    base_in = dec(price.input_usd_per_mtok)
    base_cached = _cached_base(price)
    rows = [(base_in, base_cached if base_cached is not None else base_in, dec(price.output_usd_per_mtok))]
    for tier in price.long_context_tiers:
        t_in = dec(tier.input_usd_per_mtok)
        if tier.cached_input_usd_per_mtok is not None:
            cached = dec(tier.cached_input_usd_per_mtok)
        elif base_cached is not None and base_in > 0:
            cached = t_in * base_cached / base_in
        else:
            cached = base_cached if base_cached is not None else t_in
        rows.append((t_in, cached, dec(tier.output_usd_per_mtok)))
    return rows


def per_request_cost_usd(trace: TraceLike, price: TokenPrice) -> FloatArray:
    """Each request's serverless cost [USD] (same rules as :func:`serverless_bill`)."""
    req = request_arrays(trace)
    tiers = _tiers(price)
    tier = np.searchsorted(tiers.thresholds, req.input_tokens, side="left") if tiers.thresholds.size else 0
    cached_or_none, written_or_none, _ = cached_input(req, price)
    cached = cached_or_none if cached_or_none is not None else 0
    written = written_or_none if written_or_none is not None else 0
    write = float(_write_multiplier(price))
    cost = (
        (req.input_tokens - cached - written) * tiers.p_in[tier]
        + np.asarray(cached) * tiers.p_cached[tier]
        + np.asarray(written) * tiers.p_in[tier] * write
        + req.output_tokens * tiers.p_out[tier]
    ) / TOKENS_PER_M
    if req.deferrable is not None and price.batch_discount:
        cost = np.where(req.deferrable, cost * (1.0 - price.batch_discount), cost)
    return np.asarray(cost, dtype=np.float64)


# ------------------------------------------------------------------------------------------- rate limits


@dataclass(frozen=True)
class RateLimitReport:
    """Per-minute traffic against the published limits (minutes aligned to the trace start)."""

    minutes: int
    """Minutes in the trace (with or without traffic)."""
    violations: int
    """Minutes over any known limit."""
    over_rpm: int
    over_tpm: int
    over_input_tpm: int
    over_output_tpm: int
    excess_requests: int
    """Requests beyond the RPM limit, summed over minutes (what would be throttled)."""
    peak_rpm: int
    peak_tpm: int


def rate_limit_violations(trace: TraceLike, limits: RateLimits | None) -> RateLimitReport:
    """Count the minutes in which the trace exceeds ``limits`` (none known: no violations). A trace dataset is
    counted chunk by chunk, the per-minute counts added up."""
    if isinstance(trace, TraceDataset):
        minutes = trace_minutes(len(trace), trace.last_arrival_s)
        rpm = np.zeros(minutes, dtype=np.int64)
        tin = np.zeros(minutes)
        tout = np.zeros(minutes)
        for part in chunks(trace, BLOCK, COLUMNS):  # whole-token counts: exact sums in any chunk size
            r, i, o = per_minute(part, minutes)
            rpm += r
            tin += i
            tout += o
        return minute_report(rpm, tin, tout, limits)
    req = request_arrays(trace)
    return minute_report(*per_minute(req, trace_minutes(len(req), req.last_arrival_s)), limits)


def trace_minutes(requests: int, last_arrival_s: float) -> int:
    """Minutes a trace spans, aligned to its start (0 for no requests)."""
    return int(np.floor(last_arrival_s / 60.0)) + 1 if requests else 0


def per_minute(req: RequestArrays, minutes: int) -> tuple[npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[Any]]:
    """Requests, input tokens and output tokens in each minute ``[60 j, 60 (j + 1))`` s, j < ``minutes``."""
    idx = np.floor(req.arrival_s / 60.0).astype(np.int64)
    rpm = np.bincount(idx, minlength=minutes)
    tin = np.bincount(idx, weights=req.input_tokens, minlength=minutes)
    tout = np.bincount(idx, weights=req.output_tokens, minlength=minutes)
    return rpm, tin, tout


def minute_report(
    rpm: npt.NDArray[Any], tin: npt.NDArray[Any], tout: npt.NDArray[Any], limits: RateLimits | None
) -> RateLimitReport:
    """The rate-limit report from requests, input and output tokens per minute (minute 0 first)."""
    minutes = int(rpm.shape[0])
    tpm = tin + tout
    limits = limits or RateLimits()

    def over(values: np.ndarray, limit: float | None) -> np.ndarray:
        return values > limit if limit is not None else np.zeros(values.shape, dtype=bool)

    o_rpm = over(rpm, limits.requests_per_minute)
    o_tpm = over(tpm, limits.tokens_per_minute)
    o_in = over(tin, limits.input_tokens_per_minute)
    o_out = over(tout, limits.output_tokens_per_minute)
    excess = 0
    if limits.requests_per_minute is not None:
        excess = int(np.maximum(rpm - np.floor(limits.requests_per_minute), 0).sum())
    return RateLimitReport(
        minutes=minutes,
        violations=int((o_rpm | o_tpm | o_in | o_out).sum()),
        over_rpm=int(o_rpm.sum()),
        over_tpm=int(o_tpm.sum()),
        over_input_tpm=int(o_in.sum()),
        over_output_tpm=int(o_out.sum()),
        excess_requests=excess,
        peak_rpm=int(rpm.max()) if minutes else 0,
        peak_tpm=int(tpm.max()) if minutes else 0,
    )


# ---------------------------------------------------------------------------------------------- latency


@dataclass(frozen=True)
class StatCurve:
    """A latency distribution through a profile's known percentiles: ``ln(value)`` piecewise linear in the
    standard-normal z of the percentile (a lognormal when two are known), extended with the end slopes."""

    z: FloatArray
    log_value: FloatArray

    @classmethod
    def of(cls, stat: Stat) -> StatCurve | None:
        """The curve through ``stat``'s p50/p90/p99 (and its mean when only one percentile is known)."""
        points = [(Z_SCORE[name], getattr(stat, name)) for name in ("p50", "p90", "p99")]
        known = [(z, v) for z, v in points if v is not None and v > 0]
        if len(known) >= 2:
            z = np.array([k[0] for k in known])
            logv = np.maximum.accumulate(np.log([k[1] for k in known]))
            return cls(z, logv)
        if len(known) == 1 and stat.mean is not None and stat.mean > known[0][1] and known[0][0] == 0.0:
            sigma = float(np.sqrt(2.0 * np.log(stat.mean / known[0][1])))  # mean = median × exp(σ²/2)
            return cls(np.array([0.0, 1.0]), np.array([np.log(known[0][1]), np.log(known[0][1]) + sigma]))
        value = known[0][1] if known else stat.mean
        if value is None or value <= 0:
            return None
        return cls(np.array([0.0]), np.array([np.log(value)]))

    def value_at(self, z: npt.ArrayLike) -> FloatArray:
        """The latency at standard-normal ``z`` [ms]."""
        zz = np.asarray(z, dtype=np.float64)
        if self.z.size == 1:
            return np.exp(np.full(zz.shape, self.log_value[0]))
        slope_lo = (self.log_value[1] - self.log_value[0]) / (self.z[1] - self.z[0])
        slope_hi = (self.log_value[-1] - self.log_value[-2]) / (self.z[-1] - self.z[-2])
        inside = np.interp(zz, self.z, self.log_value)
        below = self.log_value[0] + slope_lo * (zz - self.z[0])
        above = self.log_value[-1] + slope_hi * (zz - self.z[-1])
        return np.exp(np.where(zz < self.z[0], below, np.where(zz > self.z[-1], above, inside)))

    def share_at_most(self, value_ms: float) -> float:
        """Share of requests at or below ``value_ms``."""
        if self.z.size == 1:
            return 1.0 if np.exp(self.log_value[0]) <= value_ms else 0.0
        grid = np.linspace(-6.0, 6.0, 2401)
        return float(ndtr(np.interp(np.log(value_ms), np.log(self.value_at(grid)), grid, left=-np.inf, right=np.inf)))

    def summary(self) -> Distribution:
        """Mean (numerically), p50, p90, p99 of the curve [ms]."""
        grid = ndtri((np.arange(20000) + 0.5) / 20000)
        mean = float(self.value_at(grid).mean())
        p50, p90, p99 = (float(v) for v in self.value_at([Z_SCORE["p50"], Z_SCORE["p90"], Z_SCORE["p99"]]))
        return Distribution(mean=mean, p50=p50, p90=p90, p99=p99)


def serverless_latency(
    profile: Profile, slo: Slo, *, requests: int = 0, rng: np.random.Generator | None = None
) -> tuple[Latency, list[str]]:
    """Latency of a serverless API from its profile's first warm point (no queueing: the provider's pool).

    Without ``rng`` the shares come from the distribution through the profile's percentiles; with it,
    ``requests`` latencies are drawn. TTFT does not depend on the prompt here (the profile measured one
    prompt length); an unknown TPOT counts as met, with a note.
    """
    if profile.kind != "serverless":
        raise InputError(f"profile {profile.id!r}: expected a serverless profile, found kind {profile.kind!r}")
    if not profile.warm or profile.warm[0].ttft_ms is None:
        raise InputError(f"profile {profile.id!r}: expected a warm point with TTFT, found none")
    notes: list[str] = []
    point = profile.warm[0]
    ttft = StatCurve.of(point.ttft_ms) if point.ttft_ms else None
    tpot = StatCurve.of(point.tpot_ms) if point.tpot_ms else None
    if ttft is None:
        raise InputError(f"profile {profile.id!r}: warm[0].ttft_ms has no usable statistic")
    if tpot is None:
        notes.append(f"{profile.id}: TPOT not measured; counted as meeting the {slo.tpot_ms:g} ms target")
    if rng is not None and requests > 0:
        t1 = ttft.value_at(rng.standard_normal(requests))
        t2 = tpot.value_at(rng.standard_normal(requests)) if tpot else np.zeros(requests)
        ok1, ok2 = t1 <= slo.ttft_ms, t2 <= slo.tpot_ms
        latency = Latency(
            ttft_ms=distribution(t1),
            tpot_ms=distribution(t2) if tpot else Distribution(),
            slo_attainment=float((ok1 & ok2).mean()),
            ttft_attainment=float(ok1.mean()),
            tpot_attainment=float(ok2.mean()),
            source=profile.id,
        )
        return latency, notes
    share_ttft = ttft.share_at_most(slo.ttft_ms)
    share_tpot = tpot.share_at_most(slo.tpot_ms) if tpot else 1.0
    latency = Latency(
        ttft_ms=ttft.summary(),
        tpot_ms=tpot.summary() if tpot else Distribution(),
        slo_attainment=share_ttft * share_tpot,  # independent draws
        ttft_attainment=share_ttft,
        tpot_attainment=share_tpot,
        source=profile.id,
    )
    return latency, notes


# ------------------------------------------------------------------------------------------------ replay


@dataclass(frozen=True)
class ServerlessReplay(Billed):
    """A trace on a serverless API: the bill, latency (when a profile is given), rate-limit minutes."""

    costs: TokenCosts
    horizon_s: float
    latency: Latency | None
    rate_limits: RateLimitReport
    notes: list[str] = field(default_factory=list)

    @property
    def total_cost_usd(self) -> float:
        """The bill over the trace [USD]."""
        return self.costs.total_usd

    def option_basis(self) -> OptionBasis:
        """``kind='serverless'``: the token bill and the rate-limit minutes (no SLO verdict without latency)."""
        fields = {"token_costs": self.costs, "rate_limit_violations": self.rate_limits.violations}
        return OptionBasis("serverless", self.costs.requests, self.latency, True, fields)


def replay_serverless(
    trace: TraceLike,
    price: TokenPrice,
    *,
    profile: Profile | None = None,
    slo: Slo | None = None,
    horizon_s: float | None = None,
    rng: np.random.Generator | None = None,
) -> ServerlessReplay:
    """Bill ``trace`` on ``price``; latency from a serverless ``profile`` if given; rate-limit minutes. A trace
    dataset is billed partition by partition, its minutes counted and its latency drawn chunk by chunk
    (:mod:`.chunked`), with the in-memory results."""
    data = trace if isinstance(trace, TraceDataset) else request_arrays(trace)
    slo = slo or Slo()
    notes: list[str] = []
    last = data.last_arrival_s
    horizon = last if horizon_s is None else float(horizon_s)
    if horizon < last:
        raise InputError(f"horizon_s: expected seconds ≥ the last arrival ({last:g} s), found {horizon}")
    latency = None
    if profile is not None:
        latency, more = _latency_of(data, profile, slo, rng)
        notes += more
    if isinstance(data, TraceDataset):
        deferrable = "deferrable" in data.columns
    else:
        deferrable = data.deferrable is not None and bool(data.deferrable.any())
    if deferrable and not price.batch_discount:
        notes.append(f"{price.id}: no batch tier; deferrable requests billed at full price")
    limits = rate_limit_violations(data, price.rate_limits)
    if limits.violations:
        notes.append(
            f"{limits.violations} minute(s) over the published rate limits (peak {limits.peak_rpm} req/min, "
            f"{limits.peak_tpm:,} tok/min): requests would be throttled or need a higher tier"
        )
    costs = serverless_bill(data, price)
    if costs.cached_input_tokens and costs.input_tokens:
        notes.append(
            f"{costs.cached_input_tokens / costs.input_tokens:.1%} of input billed as cached: {costs.cache_basis}"
        )
    return ServerlessReplay(costs, horizon, latency, limits, notes)


def _latency_of(
    data: RequestArrays | TraceDataset, profile: Profile, slo: Slo, rng: np.random.Generator | None
) -> tuple[Latency, list[str]]:
    """:func:`serverless_latency` with one draw per request (a dataset's drawn chunk by chunk)."""
    n = len(data)
    if isinstance(data, TraceDataset) and rng is not None and n > 0:
        return _drawn_in_chunks(profile, slo, n, rng)
    return serverless_latency(profile, slo, requests=n, rng=rng)


def _drawn_in_chunks(profile: Profile, slo: Slo, n: int, rng: np.random.Generator) -> tuple[Latency, list[str]]:
    """:func:`serverless_latency` with ``n`` draws made chunk by chunk from the same random stream (TTFT draws
    first, then TPOT, as in memory) and exact percentiles from values spilled to disk."""
    latency, notes = serverless_latency(profile, slo)  # checks the profile; the shares are replaced below
    point = profile.warm[0]
    ttft = StatCurve.of(point.ttft_ms) if point.ttft_ms else None
    tpot = StatCurve.of(point.tpot_ms) if point.tpot_ms else None
    if ttft is None:
        return latency, notes
    g_ttft = copy_rng(rng)
    state = copy_rng(rng)
    skip_normals(state, n)
    folder = Path(tempfile.mkdtemp(prefix="breakeven-serverless-"))
    try:
        s1, s2 = Spill(folder, "ttft"), Spill(folder, "tpot")
        ok1 = ok2 = both = 0
        left = n
        while left:
            step = min(left, BLOCK)
            t1 = ttft.value_at(g_ttft.standard_normal(step))
            t2 = tpot.value_at(state.standard_normal(step)) if tpot else np.zeros(step)
            a, b = t1 <= slo.ttft_ms, t2 <= slo.tpot_ms
            ok1, ok2, both = ok1 + int(a.sum()), ok2 + int(b.sum()), both + int((a & b).sum())
            s1.add(t1)
            if tpot:
                s2.add(t2)
            left -= step
        rng.bit_generator.state = (state if tpot else g_ttft).bit_generator.state
        latency = Latency(
            ttft_ms=s1.distribution(),
            tpot_ms=s2.distribution() if tpot else Distribution(),
            slo_attainment=both / n,
            ttft_attainment=ok1 / n,
            tpot_attainment=ok2 / n,
            source=profile.id,
        )
        return latency, notes
    finally:
        shutil.rmtree(folder, ignore_errors=True)
