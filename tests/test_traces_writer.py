"""write_trace → load_trace round trips in every container, metadata in Parquet, atomic writes."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from breakeven.errors import InputError, UnknownNameError
from tests.conftest import DATA
from traces import Trace, TraceMeta, load_trace, scale_rate, write_trace

TR = DATA / "traces"


def _assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    np.testing.assert_array_equal(a["arrival_s"].to_numpy(), b["arrival_s"].to_numpy())  # exact floats
    for col in ("input_tokens", "output_tokens"):
        assert a[col].tolist() == b[col].tolist()
    for col in ("model", "session_id"):
        if col in a.columns:
            assert a[col].astype(str).tolist() == b[col].astype(str).tolist()
    if "hash_ids" in a.columns:
        assert [list(x) for x in a["hash_ids"]] == [list(x) for x in b["hash_ids"]]


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
@pytest.mark.parametrize(
    "name",
    [
        "AzureLLMInferenceTrace_code.csv",
        "mooncake_conversation_first400.jsonl",
        "burstgpt_3_first4.csv",
        "vidur_splitwise_conv_first100.csv",
    ],
)
def test_round_trip_keeps_every_value(tmp_path: Path, name: str, suffix: str) -> None:
    original = load_trace(TR / name)
    path = write_trace(original, tmp_path / f"out{suffix}")
    again = load_trace(path)
    assert again.meta.format == "canonical"
    _assert_same(original.df, again.df)


def test_parquet_keeps_start_time_and_transforms(tmp_path: Path) -> None:
    trace = scale_rate(load_trace(TR / "AzureLLMInferenceTrace_code.csv"), 2)
    again = load_trace(write_trace(trace, tmp_path / "azure.parquet"))
    assert again.meta.start_time == trace.meta.start_time
    assert again.meta.transforms == ("scale_rate(k=2)",)
    assert again.meta.source == str(tmp_path / "azure.parquet")


def test_canonical_csv_is_plain_text(tmp_path: Path) -> None:
    trace = load_trace(TR / "mooncake_conversation_first400.jsonl")
    path = write_trace(trace, tmp_path / "m.csv")
    lines = path.read_text().splitlines()
    assert lines[0].replace('"', "") == "arrival_s,input_tokens,output_tokens,hash_ids"
    assert lines[1] == '0,6758,500,"0 1 2 3 4 5 6 7 8 9 10 11 12 13"'


def test_unknown_suffix(tmp_path: Path) -> None:
    trace = load_trace(TR / "burstgpt_1_first3.csv")
    with pytest.raises(UnknownNameError, match=r"unknown trace output suffix '\.xlsx'"):
        write_trace(trace, tmp_path / "t.xlsx")


def test_failed_write_leaves_no_file(tmp_path: Path) -> None:
    bad = Trace(
        df=pd.DataFrame({"arrival_s": [0.0], "input_tokens": [1], "output_tokens": [object()]}), meta=TraceMeta()
    )
    target = tmp_path / "bad.parquet"
    with pytest.raises(InputError):
        write_trace(bad, target)
    assert list(tmp_path.iterdir()) == []


@settings(max_examples=25, deadline=None)
@given(
    gaps=st.lists(st.floats(min_value=0, max_value=1e4, allow_nan=False), min_size=1, max_size=40),
    tokens=st.lists(st.integers(min_value=0, max_value=10**9), min_size=80, max_size=80),
    suffix=st.sampled_from([".parquet", ".csv", ".jsonl"]),
)
def test_round_trip_property(gaps: list[float], tokens: list[int], suffix: str) -> None:
    arrival = np.concatenate(([0.0], np.cumsum(gaps)))
    n = len(arrival)
    df = pd.DataFrame(
        {"arrival_s": arrival, "input_tokens": np.array(tokens[:n]), "output_tokens": np.array(tokens[40 : 40 + n])}
    )
    trace = Trace(df=df, meta=TraceMeta(source="test"))
    buffer_dir = Path(__import__("tempfile").mkdtemp())
    again = load_trace(write_trace(trace, buffer_dir / f"t{suffix}"))
    _assert_same(df, again.df)


def test_write_then_read_from_a_stream(tmp_path: Path) -> None:
    trace = load_trace(TR / "burstgpt_1_first3.csv")
    path = write_trace(trace, tmp_path / "b.jsonl")
    again = load_trace(io.BytesIO(path.read_bytes()))
    _assert_same(trace.df, again.df)
