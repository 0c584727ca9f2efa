"""The serverless prompt-cache model (costmodel.replay.prompt_cache) and the cached-input bill, on hand-made
traces whose answers are worked out in the comments (16-token blocks throughout)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from costmodel.replay.prompt_cache import ASSUMED, cache_rules
from costmodel.replay.serverless import per_request_cost_usd, replay_serverless, serverless_bill
from costmodel.sensitivity import SensitivityInputs, analytic_outcome, effective_input_factor, prompt_cache_spreads
from costmodel.unit_economics import apply_unit_economics
from pricing.catalog import bundled_catalog
from pricing.models import PromptCache, TokenPrice
from traces import Trace, TraceMeta, summarize

B = 16


def trace(rows: list[tuple[float, int, list[int]]], *, cached: list[int] | None = None) -> Trace:
    """(arrival_s, input_tokens, hash_ids) rows, no output tokens: the bill is input only."""
    df = pd.DataFrame(
        {
            "arrival_s": np.array([r[0] for r in rows], dtype=np.float64),
            "input_tokens": np.array([r[1] for r in rows], dtype=np.int64),
            "output_tokens": np.zeros(len(rows), dtype=np.int64),
            "hash_ids": pd.arrays.ArrowExtensionArray(pa.chunked_array([pa.array([r[2] for r in rows])])),
        }
    )
    if cached is not None:
        df["cached_tokens"] = np.array(cached, dtype=np.int64)
    return Trace(df=df, meta=TraceMeta(source="hand-made", block_tokens=B))


def price(cache: PromptCache | None = None, *, cached: float | None = 0.1, **kw: object) -> TokenPrice:
    """$1 per 1M input tokens, $0.10 cached (unless changed): a token's cost reads off in micro-dollars."""
    return TokenPrice(
        id="acme/model",
        provider="acme",
        model="model",
        input_usd_per_mtok=1.0,
        output_usd_per_mtok=2.0,
        cached_input_usd_per_mtok=cached,
        as_of=date(2026, 12, 1),
        source="test",
        prompt_cache=cache,
        **kw,  # type: ignore[arg-type]
    )


def rules(**kw: object) -> PromptCache:
    base: dict[str, object] = {"min_prefix_tokens": 0, "granularity_tokens": 1, "ttl_s": 300.0}
    return PromptCache(**(base | kw))  # type: ignore[arg-type]


def cached_of(t: Trace, p: TokenPrice) -> list[int]:
    return [int(c) for c in np.rint(per_request_cached(t, p))]


def per_request_cached(t: Trace, p: TokenPrice) -> np.ndarray:
    """Cached tokens per request, read back from the per-request cost (input $1/M, cached $0.1/M, no output):
    cost = (input − cached) + 0.1·cached  ⇒  cached = (input − cost·1e6) / 0.9."""
    cost = per_request_cost_usd(t, p) * 1e6
    return (t.df["input_tokens"].to_numpy() - cost) / 0.9


def test_a_repeated_prompt_is_a_full_hit_and_the_bill_is_exact() -> None:
    # Two identical 64-token prompts 10 s apart: the second is served from the cache.
    # Bill: 64 tokens × $1/M + 64 × $0.1/M = $0.0000704.
    t = trace([(0.0, 64, [1, 2, 3, 4]), (10.0, 64, [1, 2, 3, 4])])
    bill = serverless_bill(t, price(rules()))
    assert bill.cached_input_tokens == 64 and bill.input_tokens == 128
    assert bill.input_usd == pytest.approx(64e-6, abs=1e-15)
    assert bill.cached_input_usd == pytest.approx(6.4e-6, abs=1e-15)
    assert bill.total_usd == pytest.approx(70.4e-6, abs=1e-15)
    assert "replayed over the trace's hash_ids (16-token blocks)" in (bill.cache_basis or "")


def test_a_shared_leading_part_is_a_partial_hit() -> None:
    # The second prompt shares 2 blocks (32 tokens), then differs: 32 cached. The third repeats the second
    # whole, its partial last block (8 tokens) included: 40 cached.
    t = trace([(0.0, 64, [1, 2, 3, 4]), (5.0, 40, [1, 2, 9]), (6.0, 40, [1, 2, 9])])
    assert cached_of(t, price(rules())) == [0, 32, 40]


def test_keys_are_matched_as_prefixes_not_as_single_blocks() -> None:
    # Block hash 2 appears in the second request after a different first block: no prefix match, no hit.
    t = trace([(0.0, 32, [1, 2]), (1.0, 32, [7, 2])])
    assert cached_of(t, price(rules())) == [0, 0]


def test_minimum_prefix() -> None:
    # Minimum 64: a 48-token prompt is neither stored nor read; an 80-token prompt is (all 80 tokens).
    short = trace([(0.0, 48, [1, 2, 3]), (1.0, 48, [1, 2, 3])])
    assert cached_of(short, price(rules(min_prefix_tokens=64))) == [0, 0]
    long = trace([(0.0, 80, [1, 2, 3, 4, 5]), (1.0, 80, [1, 2, 3, 4, 5])])
    assert cached_of(long, price(rules(min_prefix_tokens=64))) == [0, 80]
    # A 48-token match below the minimum is not billed as cached even though the prompt is long enough.
    partial = trace([(0.0, 80, [1, 2, 3, 4, 5]), (1.0, 80, [1, 2, 3, 8, 9])])
    assert cached_of(partial, price(rules(min_prefix_tokens=64))) == [0, 0]


def test_granularity() -> None:
    # 32-token steps: an 80-token prompt stores 64 tokens (4 blocks); its repeat reads 64, not 80.
    t = trace([(0.0, 80, [1, 2, 3, 4, 5]), (1.0, 80, [1, 2, 3, 4, 5])])
    assert cached_of(t, price(rules(granularity_tokens=32))) == [0, 64]
    # A 48-token match rounds down to 32.
    t = trace([(0.0, 80, [1, 2, 3, 4, 5]), (1.0, 80, [1, 2, 3, 8, 9])])
    assert cached_of(t, price(rules(granularity_tokens=32))) == [0, 32]


def test_ttl_expiry_and_renewal_on_use() -> None:
    # TTL 60 s. Expiry: 0 s stores, 100 s misses (100 s old) and stores again, 120 s hits (20 s old).
    expired = trace([(0.0, 32, [1, 2]), (100.0, 32, [1, 2]), (120.0, 32, [1, 2])])
    assert cached_of(expired, price(rules(ttl_s=60.0))) == [0, 0, 32]
    # Renewal: a hit at 50 s renews the entry, so 100 s (50 s after the last use, 100 s after the write) hits.
    renewed = trace([(0.0, 32, [1, 2]), (50.0, 32, [1, 2]), (100.0, 32, [1, 2])])
    assert cached_of(renewed, price(rules(ttl_s=60.0))) == [0, 32, 32]
    # Exactly at the TTL it still hits (age ≤ TTL).
    edge = trace([(0.0, 32, [1, 2]), (60.0, 32, [1, 2])])
    assert cached_of(edge, price(rules(ttl_s=60.0))) == [0, 32]


def test_write_premium_is_its_own_line() -> None:
    # Writes cost 1.25× input. Request 1 writes 64 tokens: 64 × 1.25 = 80 µ$. Request 2 (80 tokens) reads 64
    # (6.4 µ$) and writes the 16 new ones (20 µ$). Nothing is billed as plain input.
    t = trace([(0.0, 64, [1, 2, 3, 4]), (1.0, 80, [1, 2, 3, 4, 5])])
    bill = serverless_bill(t, price(rules(write_multiplier=1.25)))
    assert bill.cache_write_tokens == 80 and bill.cached_input_tokens == 64
    assert bill.cache_write_usd == pytest.approx(100e-6, abs=1e-15)
    assert bill.cached_input_usd == pytest.approx(6.4e-6, abs=1e-15)
    assert bill.input_usd == 0.0
    assert bill.total_usd == pytest.approx(106.4e-6, abs=1e-15)
    assert bill.long_context_extra_usd == 0.0  # a write premium is not a long-context surcharge
    # Without a premium, written tokens are plain input: 64 + 16 + 6.4 µ$.
    plain = serverless_bill(t, price(rules()))
    assert plain.cache_write_usd == 0.0 and plain.cache_write_tokens == 0
    assert plain.total_usd == pytest.approx(86.4e-6, abs=1e-15)


def test_discount_instead_of_a_cached_price() -> None:
    # 50 % off $1/M: the repeat's 64 tokens cost 32 µ$.
    t = trace([(0.0, 64, [1, 2, 3, 4]), (10.0, 64, [1, 2, 3, 4])])
    p = price(rules(discount=0.5), cached=None)
    assert p.cached_price_usd_per_mtok == 0.5
    assert serverless_bill(t, p).total_usd == pytest.approx(96e-6, abs=1e-15)


def test_no_discount_and_unknown_rules() -> None:
    t = trace([(0.0, 64, [1, 2, 3, 4]), (10.0, 64, [1, 2, 3, 4])])
    # rules "none": the provider does not discount this model; nothing is billed as cached.
    none = serverless_bill(t, price(PromptCache(rules="none"), cached=None))
    assert none.cached_input_tokens == 0 and none.total_usd == pytest.approx(128e-6, abs=1e-15)
    assert "does not discount" in (none.cache_basis or "")
    # Unknown rules and no cached price: the repeat counts as cached (assumed rules) but costs the input price.
    unknown = serverless_bill(t, price(None, cached=None))
    assert unknown.cached_input_tokens == 64 and unknown.total_usd == pytest.approx(128e-6, abs=1e-15)
    assert "unknown rules" in (unknown.cache_basis or "") and "billed as input" in (unknown.cache_basis or "")
    assumed = cache_rules(price(None))
    assert assumed is not None and assumed.ttl_s == ASSUMED["ttl_s"] and set(assumed.assumed) == set(ASSUMED)


def test_the_traces_cached_tokens_column_without_hash_ids() -> None:
    t = trace([(0.0, 64, [1, 2, 3, 4]), (10.0, 64, [1, 2, 3, 4])], cached=[10, 20])
    no_hashes = Trace(df=t.df.drop(columns=["hash_ids"]), meta=t.meta)
    bill = serverless_bill(no_hashes, price(rules()))
    assert bill.cached_input_tokens == 30 and bill.cache_basis == "the trace's cached_tokens column"
    with_hashes = serverless_bill(t, price(rules()))  # the replay wins over the column, and says so
    assert with_hashes.cached_input_tokens == 64
    assert "cached_tokens column was not used" in (with_hashes.cache_basis or "")


def test_a_masked_bill_replays_only_the_billed_requests() -> None:
    # Overflow billing: the provider sees only the masked requests. Requests 0 and 2 share a prompt; with
    # request 0 kept on the dedicated side, request 2 has nothing to hit.
    t = trace([(0.0, 32, [1, 2]), (1.0, 32, [5, 6]), (2.0, 32, [1, 2])])
    p = price(rules())
    masked = serverless_bill(t, p, mask=np.array([False, True, True]))
    assert masked.cached_input_tokens == 0 and masked.requests == 2
    sub = Trace(df=t.df.iloc[[1, 2]].reset_index(drop=True), meta=t.meta)
    assert serverless_bill(sub, p).total_usd == masked.total_usd
    assert serverless_bill(t, p, mask=np.array([True, False, True])).cached_input_tokens == 32


def test_per_request_costs_add_up_to_the_bill() -> None:
    rng = np.random.default_rng(3)
    rows = [
        (float(i), 16 * int(k), [int(x) for x in rng.integers(1, 4, size=1)] + list(range(100 * i, 100 * i + k - 1)))
        for i, k in enumerate(rng.integers(2, 9, size=40))
    ]
    t = trace(rows)
    p = price(rules(write_multiplier=1.25, granularity_tokens=32))
    assert per_request_cost_usd(t, p).sum() == pytest.approx(serverless_bill(t, p).total_usd, rel=1e-12)


def test_the_replay_notes_the_cached_share_and_how() -> None:
    t = trace([(0.0, 64, [1, 2, 3, 4]), (10.0, 64, [1, 2, 3, 4])])
    replay = replay_serverless(t, price(rules()))
    assert any(n.startswith("50.0% of input billed as cached") for n in replay.notes)


def test_bundled_groq_rules_bill_half_price_for_two_hours() -> None:
    # Groq: 50 % off, 2 h without use. A repeat after 1 h hits, after 3 h it does not.
    groq = bundled_catalog().token("groq/openai/gpt-oss-120b")
    t = trace([(0.0, 64, [1, 2, 3, 4]), (3600.0, 64, [1, 2, 3, 4]), (3 * 3600.0 + 3601.0, 64, [1, 2, 3, 4])])
    bill = serverless_bill(t, groq)
    assert bill.cached_input_tokens == 64
    assert bill.cached_input_usd == pytest.approx(64 * 0.075e-6, abs=1e-15)


def test_sensitivity_moves_the_cached_share_and_an_unknown_discount() -> None:
    base = SensitivityInputs(
        gpu_hourly_usd=2.0,
        input_usd_per_mtok=1.0,
        output_usd_per_mtok=2.0,
        input_tokens=1000.0,
        output_tokens=100.0,
        replica_capacity_rps=5.0,
        user_rps=1.0,
        cached_input_share=0.6,
        cached_input_discount=0.5,
    )
    # Input costs 1 − 0.6 × 0.5 = 0.7 of its price: a cheaper serverless side, a smaller monthly gap.
    assert effective_input_factor(base)[0] == pytest.approx(0.7)
    gap = analytic_outcome(base).monthly_gap_usd[0]
    plain = analytic_outcome(base.replace(cached_input_share=0.0)).monthly_gap_usd[0]
    assert gap == pytest.approx(plain - 1.0 * 730 * 3600 * 1000 * 0.3 / 1e6)
    spreads = prompt_cache_spreads(share=0.6, upper_share=0.8, discount=None, price_id="x/y")
    assert [(s.parameter, s.low, s.mode, s.high) for s in spreads] == [
        ("cached_input_share", 0.0, 0.6, 0.8),
        ("cached_input_discount", 0.0, 0.0, 0.9),
    ]
    assert prompt_cache_spreads(share=0.0, upper_share=None, discount=0.5, price_id="x/y") == []


def test_unit_costs_count_cache_writes_as_input() -> None:
    """A bill with a write premium: per 1M input and output tokens, the unit costs split the bill by its own
    lines (writes are input), and the split adds back up to the bill."""
    t = trace([(0.0, 64, [1, 2, 3, 4]), (1.0, 80, [1, 2, 3, 4, 5])])
    t = Trace(df=t.df.assign(output_tokens=np.array([10, 30], dtype=np.int64)), meta=t.meta)
    replay = replay_serverless(t, price(rules(write_multiplier=1.25)))
    assert replay.costs.cache_write_usd > 0
    summary = summarize(t)
    (option,) = apply_unit_economics([replay.option(id="s", label="s")], summary, 3600.0, [], None)
    units = option.unit_costs
    assert units is not None
    c = replay.costs
    # 144 input tokens: 100 µ$ of writes + 6.4 µ$ cached; 40 output tokens at $2/M: 80 µ$
    assert units.usd_per_mtok_input * 144 / 1e6 == pytest.approx(c.cache_write_usd + c.cached_input_usd, rel=1e-9)
    assert units.usd_per_mtok_output == pytest.approx(2.0, rel=1e-9)
    split = units.usd_per_mtok_input * 144 + units.usd_per_mtok_output * 40
    assert split / 1e6 == pytest.approx(option.total_cost_usd, rel=1e-9)
