"""Transforms return new traces, log themselves, and leave the input untouched."""

from __future__ import annotations

import itertools
import math
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from breakeven.errors import InputError, UnknownNameError
from tests.conftest import DATA
from traces import (
    concat,
    drop_failed,
    filter_model,
    load_trace,
    merge,
    override_output,
    scale_rate,
    subsample,
    summarize,
    window,
)

TR = DATA / "traces"


@pytest.fixture
def azure():
    return load_trace(TR / "AzureLLMInferenceTrace_code.csv")


def test_scale_rate_compresses_time(azure) -> None:
    before = azure.df.copy()
    fast = scale_rate(azure, 4)
    assert fast.duration_s == pytest.approx(azure.duration_s / 4)
    assert summarize(fast).mean_rps == pytest.approx(summarize(azure).mean_rps * 4)
    assert fast.df["input_tokens"].tolist() == azure.df["input_tokens"].tolist()
    assert fast.meta.transforms == ("scale_rate(k=4)",)
    pd.testing.assert_frame_equal(azure.df, before)  # the input is not modified
    with pytest.raises(InputError):
        scale_rate(azure, 0)


def test_window_keeps_half_open_interval_and_rebases(azure) -> None:
    arrival = azure.df["arrival_s"].to_numpy()
    t0, t1 = 600.0, 1200.0
    part = window(azure, t0, t1)
    expected = ((arrival >= t0) & (arrival < t1)).sum()
    assert len(part) == expected
    assert part.df["arrival_s"].min() >= 0 and part.df["arrival_s"].max() < t1 - t0
    assert part.meta.start_time == azure.meta.start_time + timedelta(seconds=600)
    assert part.meta.transforms == ("window(600, 1200)",)
    kept = window(azure, t0, t1, rebase=False)
    assert kept.df["arrival_s"].min() >= t0
    with pytest.raises(InputError, match="t0 < t1"):
        window(azure, 5, 5)


def test_filter_model_and_errors() -> None:
    burst = load_trace(TR / "burstgpt_1_first3.csv")
    gpt4 = filter_model(burst, ["GPT-4"])
    assert gpt4.df["input_tokens"].tolist() == [417]
    assert gpt4.df["model"].cat.categories.tolist() == ["GPT-4"]
    assert len(filter_model(burst, "ChatGPT")) == 2
    with pytest.raises(UnknownNameError, match=r"unknown model 'gpt4'.*GPT-4"):
        filter_model(burst, ["gpt4"])
    with pytest.raises(InputError, match="no model column"):
        filter_model(load_trace(TR / "vidur_splitwise_conv_first100.csv"), ["x"])


def test_drop_failed_removes_zero_output_rows() -> None:
    lines = (TR / "burstgpt_1_first3.csv").read_text().splitlines()
    lines[1] = "5,ChatGPT,472,0,472,Conversation log"  # a real row marked failed the BurstGPT way
    import io  # noqa: PLC0415

    trace = load_trace(io.BytesIO("\n".join(lines).encode()))
    kept = drop_failed(trace)
    assert len(kept) == 2
    assert summarize(kept).failed_requests == 0
    assert kept.meta.transforms == ("drop_failed()",)


def test_override_output_fixed_and_buckets(azure) -> None:
    fixed = override_output(azure, fixed=220)
    assert set(fixed.df["output_tokens"]) == {220}
    assert fixed.df["input_tokens"].equals(azure.df["input_tokens"])
    out = azure.df["output_tokens"].to_numpy()
    bucketed = override_output(azure, buckets=[(30, 30), (250, 220), (math.inf, 1200)])
    new = bucketed.df["output_tokens"].to_numpy()
    assert np.all(new[out <= 30] == 30)
    assert np.all(new[(out > 30) & (out <= 250)] == 220)
    assert np.all(new[out > 250] == 1200)
    partial = override_output(azure, buckets=[(13, 13)])
    assert np.array_equal(partial.df["output_tokens"].to_numpy()[out > 13], out[out > 13])
    by_input = override_output(azure, buckets=[(1000, 50), (math.inf, 500)], by="input_tokens")
    inp = azure.df["input_tokens"].to_numpy()
    assert np.all(by_input.df["output_tokens"].to_numpy()[inp <= 1000] == 50)
    with pytest.raises(InputError, match="exactly one"):
        override_output(azure)
    with pytest.raises(InputError, match="increasing bounds"):
        override_output(azure, buckets=[(100, 1), (50, 2)])


def test_subsample_thins_with_the_given_probability(azure) -> None:
    rng = np.random.default_rng(1)
    half = subsample(azure, 0.5, rng)
    n = len(azure)
    assert abs(len(half) - n / 2) < 4 * math.sqrt(n * 0.25)
    assert set(half.df["arrival_s"]) <= set(azure.df["arrival_s"])
    again = subsample(azure, 0.5, np.random.default_rng(1))
    pd.testing.assert_frame_equal(half.df, again.df)
    with pytest.raises(InputError):
        subsample(azure, 1.5, rng)


def test_concat_plays_back_to_back() -> None:
    a = load_trace(TR / "burstgpt_1_first3.csv")
    b = load_trace(TR / "burstgpt_3_first4.csv")
    both = concat([a, b], gap_s=10)
    assert len(both) == 7
    assert both.df["arrival_s"].tolist() == [0.0, 40.0, 113.0, 123.0, 174.0, 205.0, 267.0]
    assert both.df["model"].astype(str).tolist()[:4] == ["ChatGPT", "ChatGPT", "GPT-4", "GPT-4"]
    assert both.df["session_id"].isna().sum() == 3
    assert both.meta.transforms[-1] == "concat(2 traces, gap_s=10)"


def test_merge_superposes_on_one_clock() -> None:
    a = load_trace(TR / "burstgpt_1_first3.csv")
    b = load_trace(TR / "vidur_splitwise_conv_first100.csv")
    both = merge([a, b])
    assert len(both) == 103
    assert np.all(np.diff(both.df["arrival_s"].to_numpy()) >= 0)
    assert both.meta.format == "mixed"


def test_transforms_work_on_read_only_columns_from_parquet(tmp_path, azure) -> None:
    # A Parquet reload hands out numpy views of Arrow memory (read-only); transforms must not write into them.
    from traces import write_trace  # noqa: PLC0415

    again = load_trace(write_trace(azure, tmp_path / "a.parquet"))
    assert not again.df["arrival_s"].to_numpy().flags.writeable
    assert scale_rate(again, 2).duration_s == pytest.approx(azure.duration_s / 2)
    assert set(override_output(again, fixed=7).df["output_tokens"]) == {7}
    assert len(window(again, 0, 60)) == len(window(azure, 0, 60))
    assert len(concat([again, again])) == 2 * len(azure)


@settings(max_examples=30, deadline=None)
@given(
    cuts=st.lists(st.floats(min_value=0, max_value=3500, allow_nan=False), min_size=1, max_size=6), k=st.floats(0.1, 50)
)
def test_windows_partition_the_trace_and_scaling_inverts(cuts: list[float], k: float) -> None:
    trace = load_trace(TR / "vidur_splitwise_conv_first100.csv")
    edges = [0.0, *sorted(cuts), 1e9]
    pieces = [window(trace, a, b) for a, b in itertools.pairwise(edges) if b > a]
    assert sum(len(p) for p in pieces) == len(trace)
    back = scale_rate(scale_rate(trace, k), 1 / k)
    np.testing.assert_allclose(back.df["arrival_s"], trace.df["arrival_s"], rtol=1e-12, atol=1e-9)
