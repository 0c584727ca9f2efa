"""summarize(), peak windows and binning, checked against hand-computed values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from breakeven.errors import InputError
from tests.conftest import DATA
from traces import Trace, TraceMeta, TraceSummary, binned_arrivals, binned_sum, load_trace, peak_rate_rps, summarize

TR = DATA / "traces"

ISSUE_KEYS = {
    "format",
    "requests",
    "duration_s",
    "mean_rps",
    "peak_rps_1s",
    "peak_rps_60s",
    "input_tokens_total",
    "output_tokens_total",
    "input_tokens_p50",
    "input_tokens_p90",
    "input_tokens_p99",
    "output_tokens_p50",
    "output_tokens_p90",
    "output_tokens_p99",
    "interarrival_cv",
    "skipped_rows",
}


def _trace(arrival: list[float], inp: list[int] | None = None, out: list[int] | None = None) -> Trace:
    n = len(arrival)
    df = pd.DataFrame(
        {
            "arrival_s": np.array(arrival, dtype=float),
            "input_tokens": np.array(inp or [100] * n, dtype=np.int64),
            "output_tokens": np.array(out or [10] * n, dtype=np.int64),
        }
    )
    return Trace(df=df, meta=TraceMeta(source="hand", format="canonical"))


def test_peak_windows_by_hand() -> None:
    # 5 requests in [0, 1): 0, .2, .4, .6, .9; then 1.0 and 1.05 → the busiest 1 s window [0.2, 1.2) has 6.
    arrival = np.array([0.0, 0.2, 0.4, 0.6, 0.9, 1.0, 1.05, 70.0])
    assert peak_rate_rps(arrival, 1.0) == 6.0
    assert peak_rate_rps(arrival, 60.0) == pytest.approx(7 / 60)
    assert peak_rate_rps(np.array([]), 1.0) == 0.0
    with pytest.raises(InputError, match="positive"):
        peak_rate_rps(arrival, 0)


def test_summary_fields_by_hand() -> None:
    trace = _trace([0.0, 1.0, 3.0, 6.0], inp=[10, 20, 30, 40], out=[1, 0, 3, 4])
    s = summarize(trace)
    assert s.requests == 4
    assert s.duration_s == 6.0
    assert s.mean_rps == pytest.approx(4 / 6)
    assert s.input_tokens_total == 100 and s.output_tokens_total == 8
    assert s.input_tokens_p50 == 25.0  # linear interpolation between 20 and 30
    assert s.input_tokens_p90 == pytest.approx(37.0)
    gaps = np.array([1.0, 2.0, 3.0])
    assert s.interarrival_cv == pytest.approx(gaps.std() / gaps.mean())
    assert s.failed_requests == 1
    assert s.peak_rps_1s == 1.0
    assert s.models == {}


def test_summary_json_has_the_issue_keys() -> None:
    s = summarize(load_trace(TR / "burstgpt_1_first3.csv"))
    dumped = s.model_dump(mode="json")
    assert set(dumped) >= ISSUE_KEYS
    assert TraceSummary.model_validate(dumped) == s


def test_single_request_trace() -> None:
    s = summarize(_trace([0.0]))
    assert s.duration_s == 0.0
    assert s.mean_rps == 0.0
    assert s.interarrival_cv is None
    assert s.peak_rps_1s == 1.0


def test_binned_arrivals_includes_empty_bins() -> None:
    trace = _trace([0.1, 0.5, 2.2, 2.9, 5.0], inp=[1, 2, 3, 4, 5])
    starts, counts = binned_arrivals(trace, 1.0)
    assert starts.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert counts.tolist() == [2, 0, 2, 0, 0, 1]
    _, tokens = binned_sum(trace, 2.0, "input_tokens")
    assert tokens.tolist() == [3, 7, 5]
    with pytest.raises(InputError):
        binned_arrivals(trace, 0.0)


def test_azure_binned_counts_add_up() -> None:
    trace = load_trace(TR / "AzureLLMInferenceTrace_code.csv")
    starts, counts = binned_arrivals(trace, 60.0)
    assert counts.sum() == len(trace)
    assert len(starts) == int(trace.duration_s // 60) + 1
    assert counts.max() / 60 <= summarize(trace).peak_rps_60s  # aligned bins never beat the sliding window
