"""The serverless replay: bills hand-computed to the cent, rate-limit minutes, latency from a profile."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from breakeven.errors import InputError
from costmodel.profiles import bundled_profile
from costmodel.replay import from_arrays, rate_limit_violations, replay_serverless, serverless_bill
from costmodel.replay.serverless import per_request_cost_usd
from costmodel.results import Slo
from pricing.models import LongContextTier, RateLimits, TokenPrice
from tests.conftest import DATA
from traces import load_trace
from traces.model import Trace

AZURE = DATA / "traces" / "AzureLLMInferenceTrace_code.csv"


def price(**kw: object) -> TokenPrice:
    base: dict[str, object] = {
        "id": "test/model",
        "provider": "test",
        "model": "model",
        "input_usd_per_mtok": 3.0,
        "output_usd_per_mtok": 15.0,
        "as_of": date(2026, 6, 1),
        "source": "hand-written test price",
    }
    base.update(kw)
    return TokenPrice.model_validate(base)


TIERED = price(
    cached_input_usd_per_mtok=0.30,
    batch_discount=0.5,
    long_context_tiers=[
        LongContextTier(
            above_input_tokens=128_000, input_usd_per_mtok=6.0, output_usd_per_mtok=22.5, cached_input_usd_per_mtok=0.6
        )
    ],
)

FOUR = from_arrays(
    [0.0, 1.0, 2.0, 3.0],
    input_tokens=[1000, 3000, 200_000, 150_000],
    output_tokens=[200, 500, 1000, 100],
    cached_tokens=[0, 1000, 50_000, 0],
    deferrable=[False, True, False, True],
)


def test_bill_with_cache_tiers_and_batch_to_the_cent() -> None:
    bill = serverless_bill(FOUR, TIERED)
    # r0: 1000 × 3 + 200 × 15                     = 0.003 + 0.003                    = 0.006
    # r1: (2000 × 3 + 1000 × 0.3 + 500 × 15) × 0.5 = (0.006 + 0.0003 + 0.0075) × 0.5 = 0.0069   (deferrable)
    # r2: tier (> 128k): 150000 × 6 + 50000 × 0.6 + 1000 × 22.5 = 0.9 + 0.03 + 0.0225 = 0.9525
    # r3: tier, deferrable: (150000 × 6 + 100 × 22.5) × 0.5 = (0.9 + 0.00225) × 0.5  = 0.451125
    # total 0.006 + 0.0069 + 0.9525 + 0.451125 = 1.416525
    assert bill.total_usd == pytest.approx(1.416525, abs=1e-12)
    assert round(bill.total_usd, 2) == 1.42
    assert bill.input_usd == pytest.approx(0.003 + 0.003 + 0.9 + 0.45)
    assert bill.cached_input_usd == pytest.approx(0.00015 + 0.03)
    assert bill.output_usd == pytest.approx(0.003 + 0.00375 + 0.0225 + 0.001125)
    # long-context surcharge: r2 at base prices 0.45 + 0.015 + 0.015 = 0.48 → +0.4725;
    # r3 at base (0.45 + 0.0015) × 0.5 = 0.22575 → +0.225375; together 0.697875
    assert bill.long_context_extra_usd == pytest.approx(0.697875)
    # batch savings: r1 0.0138 − 0.0069 = 0.0069; r3 0.90225 − 0.451125 = 0.451125
    assert bill.batch_savings_usd == pytest.approx(0.458025)
    assert bill.requests == 4
    assert per_request_cost_usd(FOUR, TIERED) == pytest.approx([0.006, 0.0069, 0.9525, 0.451125])


def test_bill_without_cache_or_batch_prices_bills_them_as_plain_tokens() -> None:
    plain = price()
    bill = serverless_bill(FOUR, plain)
    # every input token at 3, every output token at 15, no discount:
    # inputs 354,000 × 3 = 1.062; outputs 1,800 × 15 = 0.027
    assert bill.total_usd == pytest.approx(1.089)
    assert bill.cached_input_usd == pytest.approx(51_000 * 3 / 1e6)
    assert bill.batch_savings_usd == 0.0
    assert bill.long_context_extra_usd == 0.0
    out = replay_serverless(FOUR, plain)
    assert any("no batch tier" in n for n in out.notes)


def test_tier_without_cached_price_keeps_the_base_discount_ratio() -> None:
    p = price(
        cached_input_usd_per_mtok=0.75,  # a quarter of the input price
        long_context_tiers=[
            LongContextTier(above_input_tokens=128_000, input_usd_per_mtok=6.0, output_usd_per_mtok=22.5)
        ],
    )
    one = from_arrays([0.0], [200_000], [0], cached_tokens=[100_000])
    # 100,000 uncached × 6 + 100,000 cached × 6/4 = 0.6 + 0.15
    assert serverless_bill(one, p).total_usd == pytest.approx(0.75)


def test_seed_article_price_on_the_real_azure_trace() -> None:
    trace = load_trace(AZURE)
    gpt_oss = price(input_usd_per_mtok=0.10, output_usd_per_mtok=0.70)
    bill = serverless_bill(trace, gpt_oss)
    # SOURCES.md totals: 18,059,974 input and 245,896 output tokens
    assert bill.total_usd == pytest.approx((18_059_974 * 0.10 + 245_896 * 0.70) / 1e6)
    assert round(bill.total_usd, 2) == 1.98
    replay = replay_serverless(trace, gpt_oss)
    hours = trace.duration_s / 3600
    assert replay.monthly_cost_usd == pytest.approx(bill.total_usd / hours * 730)


def test_mask_bills_a_subset() -> None:
    bill = serverless_bill(FOUR, TIERED, mask=[True, False, False, True])
    assert bill.total_usd == pytest.approx(0.006 + 0.451125)
    assert bill.requests == 2
    with pytest.raises(InputError, match="mask"):
        serverless_bill(FOUR, TIERED, mask=[True])


def test_rate_limit_minutes() -> None:
    trace = from_arrays([0.0, 10.0, 20.0, 61.0, 130.0], [100, 100, 100, 5000, 10], [10, 10, 10, 10, 10])
    limits = RateLimits(requests_per_minute=2, tokens_per_minute=1000)
    report = rate_limit_violations(trace, limits)
    # minute 0: 3 requests (> 2 RPM), 330 tokens; minute 1: 1 request, 5,010 tokens (> 1,000 TPM); minute 2: ok
    assert report.minutes == 3
    assert report.over_rpm == 1
    assert report.over_tpm == 1
    assert report.violations == 2
    assert report.excess_requests == 1
    assert report.peak_rpm == 3
    assert report.peak_tpm == 5010
    assert rate_limit_violations(trace, None).violations == 0
    replay = replay_serverless(trace, price(rate_limits=limits))
    assert replay.option(id="serverless:test/model", label="x").rate_limit_violations == 2


def test_latency_from_the_seed_serverless_profile() -> None:
    profile = bundled_profile("gpt-oss-120b_do-serverless_article")
    trace = load_trace(AZURE)
    replay = replay_serverless(trace, price(input_usd_per_mtok=0.1, output_usd_per_mtok=0.7), profile=profile)
    lat = replay.latency
    assert lat is not None
    # the profile: median 546 ms, slowest of 20 runs 1.3 s (taken as p99)
    assert lat.ttft_ms.p50 == pytest.approx(546.0)
    assert lat.ttft_ms.p99 == pytest.approx(1300.0)
    # a lognormal through (p50 546, p99 1300): P(TTFT ≤ 600 ms) = Φ(2.3263 × ln(600/546) / ln(1300/546)) ≈ 0.600
    assert lat.ttft_attainment == pytest.approx(0.600, abs=0.002)
    assert lat.tpot_attainment == 1.0  # not measured: counted as met, with a note
    assert any("TPOT not measured" in n for n in replay.notes)
    drawn = replay_serverless(trace, price(), profile=profile, rng=np.random.default_rng(7)).latency
    assert drawn is not None
    assert drawn.ttft_attainment == pytest.approx(lat.ttft_attainment, abs=0.02)
    opt = replay.option(id="serverless:x/y", label="x", slo=Slo(attainment_target=0.5))
    assert opt.meets_slo is True
    with pytest.raises(InputError, match="serverless profile"):
        replay_serverless(trace, price(), profile=bundled_profile("llama-3.1-8b-fp8_1xH100"))


def test_bad_traces_are_rejected_with_the_row() -> None:
    df = pd.DataFrame({"arrival_s": [0.0, 2.0, 1.0], "input_tokens": [1, 2, 3], "output_tokens": [1, 1, 1]})
    with pytest.raises(InputError, match=r"row 2.*sorted"):
        serverless_bill(df, price())
    df = pd.DataFrame({"arrival_s": [0.0, 1.0], "input_tokens": [1, -2], "output_tokens": [1, 1]})
    with pytest.raises(InputError, match=r"row 1.*input_tokens"):
        serverless_bill(df, price())
    df = pd.DataFrame({"arrival_s": [0.0, np.nan], "input_tokens": [1, 2], "output_tokens": [1, 1]})
    with pytest.raises(InputError, match="arrival_s"):
        serverless_bill(df, price())
    with pytest.raises(InputError, match="missing column 'output_tokens'"):
        serverless_bill(pd.DataFrame({"arrival_s": [0.0], "input_tokens": [1]}), price())
    with pytest.raises(InputError, match="cached_tokens"):
        serverless_bill(from_arrays([0.0], [10], [1], cached_tokens=[11]), price())
    with pytest.raises(InputError, match="Trace"):
        serverless_bill([1, 2, 3], price())  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------- properties

requests = st.lists(
    st.tuples(
        st.floats(0, 3600, allow_nan=False),
        st.integers(0, 300_000),
        st.integers(0, 5_000),
        st.integers(0, 100),
        st.booleans(),
    ),
    max_size=40,
)


def _trace(rows: list[tuple[float, int, int, int, bool]]) -> Trace:
    rows = sorted(rows)
    df = pd.DataFrame(
        {
            "arrival_s": [r[0] for r in rows],
            "input_tokens": [r[1] for r in rows],
            "output_tokens": [r[2] for r in rows],
            "cached_tokens": [r[1] * r[3] // 100 for r in rows],
            "deferrable": [r[4] for r in rows],
        }
    )
    return Trace(df.astype({"arrival_s": float, "input_tokens": "int64", "output_tokens": "int64"}))


@settings(max_examples=60, deadline=None)
@given(base=requests, extra=requests)
def test_more_traffic_never_lowers_the_bill(base: list, extra: list) -> None:
    small = serverless_bill(_trace(base), TIERED)
    large = serverless_bill(_trace(base + extra), TIERED)
    assert large.total_usd >= small.total_usd - 1e-12
    for field in ("input_usd", "cached_input_usd", "output_usd", "long_context_extra_usd", "batch_savings_usd"):
        assert getattr(small, field) >= 0.0
    assert small.total_usd == pytest.approx(small.input_usd + small.cached_input_usd + small.output_usd, abs=1e-12)
