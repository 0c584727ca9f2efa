"""Loaders on real trace files: counts, totals, spans and quirks read by hand in the SOURCES.md files."""

from __future__ import annotations

import gzip
import io
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from breakeven.errors import InputError, UnknownNameError
from tests.conftest import DATA, shared_file
from traces import load_trace, summarize

TR = DATA / "traces"
AZURE_CODE = TR / "AzureLLMInferenceTrace_code.csv"


def _check_canonical(df: pd.DataFrame) -> None:
    assert df["arrival_s"].dtype == np.float64
    assert df["input_tokens"].dtype == np.int64
    assert df["output_tokens"].dtype == np.int64
    arrival = df["arrival_s"].to_numpy()
    assert np.all(np.diff(arrival) >= 0)
    assert isinstance(df.index, pd.RangeIndex)


# ------------------------------------------------------------------------------------------- Azure 2023


def test_azure_2023_code_whole_file_counts_totals_span() -> None:
    # The shared traces SOURCES.md (hand-read): 8,819 rows, 18,059,974 input / 245,896 output, span 3,435.9 s.
    trace = load_trace(AZURE_CODE)
    assert trace.meta.format == "azure-2023"
    assert len(trace) == 8819
    assert int(trace.df["input_tokens"].sum()) == 18_059_974
    assert int(trace.df["output_tokens"].sum()) == 245_896
    assert trace.duration_s == pytest.approx(3435.9, abs=0.05)
    assert trace.df["arrival_s"].iloc[0] == 0.0
    # 2023-11-16 18:17:03.9799600: naive (no zone in the file), 7th digit is 0 so microseconds are exact.
    assert trace.meta.start_time == datetime(2023, 11, 16, 18, 17, 3, 979960)
    assert trace.meta.warnings == ()
    _check_canonical(trace.df)
    # First rows, read by hand: 4808/10 at 18:17:03.9799600, 3180/8 at 18:17:04.0319600.
    assert trace.df["input_tokens"].iloc[:2].tolist() == [4808, 3180]
    assert trace.df["arrival_s"].iloc[1] == pytest.approx(0.052, abs=1e-9)


def test_azure_2023_summary_matches_hand_read_stats() -> None:
    s = summarize(load_trace(AZURE_CODE))
    # SOURCES.md: ContextTokens p50 1,469, mean 2,047.8; GeneratedTokens p50 13, mean 27.9.
    assert s.input_tokens_p50 == 1469
    assert s.input_tokens_mean == pytest.approx(2047.8, abs=0.05)
    assert s.output_tokens_p50 == 13
    assert s.output_tokens_mean == pytest.approx(27.9, abs=0.05)
    assert s.failed_requests == 0  # "No value is zero."
    assert s.start_time == "2023-11-16T18:17:03.979960"


def test_azure_2023_shared_copy_is_the_same_file() -> None:
    shared = shared_file("traces/AzureLLMInferenceTrace_code.csv")
    assert shared.read_bytes() == AZURE_CODE.read_bytes()


def test_vidur_splitwise_code_equals_azure_code_trace() -> None:
    # Vidur's processed Splitwise code trace is the same Azure trace re-based to 0: an independent check
    # of our timestamp parsing (7 fractional digits) against someone else's.
    azure = load_trace(AZURE_CODE).df.iloc[:64]
    vidur = load_trace(TR / "vidur_splitwise_code_first64.csv")
    assert vidur.meta.format == "splitwise"
    np.testing.assert_allclose(vidur.df["arrival_s"], azure["arrival_s"], atol=1e-9)
    assert vidur.df["input_tokens"].tolist() == azure["input_tokens"].tolist()
    assert vidur.df["output_tokens"].tolist() == azure["output_tokens"].tolist()


# ------------------------------------------------------------------------------------------- Mooncake


def test_mooncake_whole_file_counts_totals_span() -> None:
    # SOURCES.md: 12,031 rows, 144,793,823 / 4,122,048 tokens, 0 to 3,536,999 ms.
    trace = load_trace(shared_file("traces/mooncake_FAST25_conversation_trace.jsonl"))
    assert trace.meta.format == "mooncake"
    assert len(trace) == 12_031
    assert int(trace.df["input_tokens"].sum()) == 144_793_823
    assert int(trace.df["output_tokens"].sum()) == 4_122_048
    assert trace.duration_s == 3536.999
    s = summarize(trace)
    assert s.input_tokens_p50 == 6909
    assert s.output_tokens_p50 == 350
    assert s.peak_rps_1s == 28.0  # "up to 28 requests share one millisecond"
    _check_canonical(trace.df)


def test_mooncake_excerpt_hash_ids_and_duplicate_timestamps() -> None:
    trace = load_trace(TR / "mooncake_conversation_first400.jsonl")
    df = trace.df
    assert len(df) == 400
    assert trace.meta.warnings == ()  # equal timestamps are not out of order
    assert (df["arrival_s"] == 0.0).sum() > 1
    hashes = df["hash_ids"]
    assert isinstance(hashes.dtype, pd.ArrowDtype)
    first = list(hashes.iloc[0])
    assert first == list(range(14))
    # len(hash_ids) == ceil(input_length / 512) and hash_ids[0] == 0 for every row (SOURCES.md).
    lengths = np.array([len(h) for h in hashes.tolist()])
    assert np.array_equal(lengths, np.ceil(df["input_tokens"].to_numpy() / 512).astype(int))
    assert all(h[0] == 0 for h in hashes.tolist())


# ------------------------------------------------------------------------------------------- Azure 2024


@pytest.mark.parametrize(
    ("name", "start", "first_tokens"),
    [
        ("azure_2024_code_1week_first5.csv", datetime(2024, 5, 10, 0, 0, 0, 9930, tzinfo=UTC), (2162, 5)),
        ("azure_2024_conv_1week_first5.csv", datetime(2024, 5, 12, 0, 0, 0, 1163, tzinfo=UTC), (1452, 3)),
    ],
)
def test_azure_2024_detected_by_utc_offset(name: str, start: datetime, first_tokens: tuple[int, int]) -> None:
    trace = load_trace(TR / name)
    assert trace.meta.format == "azure-2024"
    assert trace.meta.start_time == start
    assert len(trace) == 5
    assert (int(trace.df["input_tokens"].iloc[0]), int(trace.df["output_tokens"].iloc[0])) == first_tokens
    _check_canonical(trace.df)


def test_azure_2024_code_arrivals_to_the_microsecond() -> None:
    df = load_trace(TR / "azure_2024_code_1week_first5.csv").df
    # 00:00:00.009930, .017335, .022314, .037845, .083890 → seconds after the first.
    expected = np.array([0.0, 0.007405, 0.012384, 0.027915, 0.07396])
    np.testing.assert_allclose(df["arrival_s"], expected, atol=1e-9)


def test_azure_2024_mixed_fraction_and_whole_second_timestamps() -> None:
    # The 2024 files mix '...00.009930+00:00' and '...01+00:00' (a reader needed date_format='mixed').
    real = (TR / "azure_2024_code_1week_first5.csv").read_text().splitlines()
    rows = [*real, "2024-05-10 00:00:01+00:00,76,15"]
    trace = load_trace(io.BytesIO("\n".join(rows).encode()))
    assert trace.meta.format == "azure-2024"
    assert trace.df["arrival_s"].iloc[-1] == pytest.approx(1.0 - 0.009930, abs=1e-9)


# ------------------------------------------------------------------------------------------- BurstGPT


def test_burstgpt_v1_rows() -> None:
    trace = load_trace(TR / "burstgpt_1_first3.csv")
    df = trace.df
    assert trace.meta.format == "burstgpt"
    assert df["arrival_s"].tolist() == [0.0, 40.0, 113.0]  # Timestamp 5, 45, 118 s
    assert df["input_tokens"].tolist() == [472, 1087, 417]
    assert df["output_tokens"].tolist() == [18, 230, 276]
    assert isinstance(df["model"].dtype, pd.CategoricalDtype)
    assert df["model"].tolist() == ["ChatGPT", "ChatGPT", "GPT-4"]
    assert summarize(trace).models == {"ChatGPT": 2, "GPT-4": 1}


def test_burstgpt_v2_rows_with_session_ids_and_offset_clock() -> None:
    trace = load_trace(TR / "burstgpt_3_first4.csv")
    df = trace.df
    assert trace.meta.format == "burstgpt"
    assert df["arrival_s"].tolist() == [0.0, 51.0, 82.0, 144.0]  # 19440110.0 ... 19440254.0
    assert df["session_id"].iloc[0] == "1722ac82-0a46-4bf0-aa08-89794e7a2b3f"
    assert df["input_tokens"].tolist() == [906, 36, 1779, 935]


def _burstgpt_with_failure() -> io.BytesIO:
    # A real row with Response tokens set to 0: BurstGPT's documented marker of a failed request.
    lines = (TR / "burstgpt_1_first3.csv").read_text().splitlines()
    lines[2] = "45,ChatGPT,1087,0,1087,Conversation log"
    return io.BytesIO(("\n".join(lines) + "\n").encode())


def test_burstgpt_failed_requests_are_kept_and_counted() -> None:
    trace = load_trace(_burstgpt_with_failure())
    assert len(trace) == 3
    assert summarize(trace).failed_requests == 1


def test_burstgpt_model_selection_on_load() -> None:
    trace = load_trace(TR / "burstgpt_1_first3.csv", model="GPT-4")
    assert trace.df["input_tokens"].tolist() == [417]
    assert trace.meta.transforms == ("filter_model(['GPT-4'])",)
    with pytest.raises(UnknownNameError, match=r"unknown model 'gpt-5'.*ChatGPT, GPT-4"):
        load_trace(TR / "burstgpt_1_first3.csv", model="gpt-5")


def test_model_label_for_traces_without_models() -> None:
    trace = load_trace(TR / "vidur_splitwise_conv_first100.csv", model="llama-3-70b")
    assert set(trace.df["model"]) == {"llama-3-70b"}


# ------------------------------------------------------------------------------------------- Splitwise


def test_vidur_splitwise_conv_rows() -> None:
    trace = load_trace(TR / "vidur_splitwise_conv_first100.csv")
    df = trace.df
    assert trace.meta.format == "splitwise"
    assert len(df) == 100
    assert df["arrival_s"].iloc[4] == 5.8926549999999995  # the file's own float artifact survives
    assert df["input_tokens"].iloc[:3].tolist() == [374, 396, 879]
    assert trace.meta.start_time is None


# ------------------------------------------------------------------------------------------- generic


def _azure_as_generic(time_values: list[str], header: str = "ts,prompt_tokens,completion_tokens") -> bytes:
    azure = load_trace(AZURE_CODE).df.iloc[: len(time_values)]
    body = [f"{t},{i},{o}" for t, i, o in zip(time_values, azure["input_tokens"], azure["output_tokens"], strict=True)]
    return ("\n".join([header, *body]) + "\n").encode()


def test_generic_csv_with_mapping_and_milliseconds() -> None:
    data = _azure_as_generic(["1000", "1052", "1098"])
    trace = load_trace(
        io.BytesIO(data),
        format="csv",
        columns={"arrival": "ts", "input": "prompt_tokens", "output": "completion_tokens"},
        time_unit="ms",
    )
    assert trace.meta.format == "csv"
    np.testing.assert_allclose(trace.df["arrival_s"], [0.0, 0.052, 0.098])
    assert trace.df["input_tokens"].tolist() == [4808, 3180, 110]
    assert trace.meta.start_time is None


def test_generic_csv_epoch_seconds_sets_start_time() -> None:
    data = _azure_as_generic(["1700158623.97996", "1700158624.03196"])
    trace = load_trace(io.BytesIO(data), time_unit="epoch_s")
    assert trace.meta.start_time == datetime(2023, 11, 16, 18, 17, 3, 979960, tzinfo=UTC)
    assert trace.df["arrival_s"].iloc[1] == pytest.approx(0.052, abs=1e-6)


def test_generic_csv_iso_datetimes_detected_and_columns_matched_by_name() -> None:
    data = _azure_as_generic(["2023-11-16T18:17:03.97996Z", "2023-11-16T18:17:04.03196Z"])
    trace = load_trace(io.BytesIO(data))
    assert trace.meta.format == "csv"
    assert trace.df["arrival_s"].iloc[1] == pytest.approx(0.052, abs=1e-9)
    assert trace.meta.start_time == datetime(2023, 11, 16, 18, 17, 3, 979960, tzinfo=UTC)
    assert any("matched columns by name" in w for w in trace.meta.warnings)


def test_generic_jsonl_with_mapping(tmp_path: Path) -> None:
    src = (TR / "mooncake_conversation_first400.jsonl").read_text().splitlines()[:3]
    renamed = [line.replace('"timestamp"', '"t_ms"') for line in src]
    path = tmp_path / "x.jsonl"
    path.write_text("\n".join(renamed) + "\n")
    trace = load_trace(
        path, columns={"arrival": "t_ms", "input": "input_length", "output": "output_length"}, time_unit="ms"
    )
    assert trace.meta.format == "jsonl"
    assert trace.df["input_tokens"].tolist() == [6758, 7322, 7236]


def test_generic_parquet_with_mapping(tmp_path: Path) -> None:
    azure = load_trace(AZURE_CODE).df.iloc[:50]
    frame = pd.DataFrame(
        {
            "created": pd.Timestamp("2023-11-16 18:17:03.97996", tz="UTC")
            + pd.to_timedelta(azure["arrival_s"], unit="s"),
            "prompt": azure["input_tokens"],
            "completion": azure["output_tokens"],
        }
    )
    path = tmp_path / "generic.parquet"
    frame.to_parquet(path)
    trace = load_trace(path, columns={"arrival": "created", "input": "prompt", "output": "completion"})
    assert trace.meta.format == "parquet"
    np.testing.assert_allclose(trace.df["arrival_s"], azure["arrival_s"], atol=1e-6)
    assert trace.meta.start_time is not None


# ------------------------------------------------------------------------------------------- sources


def test_file_like_objects_binary_and_text() -> None:
    text = (TR / "burstgpt_1_first3.csv").read_text()
    assert len(load_trace(io.StringIO(text))) == 3
    assert len(load_trace(io.BytesIO(text.encode()))) == 3


def test_gzip_csv(tmp_path: Path) -> None:
    path = tmp_path / "AzureLLMInferenceTrace_code.csv.gz"
    path.write_bytes(gzip.compress(AZURE_CODE.read_bytes()))
    trace = load_trace(path)
    assert trace.meta.format == "azure-2023"
    assert len(trace) == 8819


def test_forced_format_overrides_detection() -> None:
    trace = load_trace(TR / "vidur_splitwise_conv_first100.csv", format="splitwise")
    assert trace.meta.format == "splitwise"
    with pytest.raises(InputError, match=r"header lacks.*format burstgpt"):
        load_trace(TR / "vidur_splitwise_conv_first100.csv", format="burstgpt")


@pytest.mark.parametrize("piece_bytes", [64, 4096, 100_000])
@pytest.mark.parametrize("how", ["path", "stream", "gzip"])
def test_piecewise_csv_reading_matches_whole_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, piece_bytes: int, how: str
) -> None:
    # The fast path parses the file in pieces cut at line breaks; tiny pieces exercise every boundary
    # (CRLF, the header, the last line without a newline, lines longer than a piece).
    import traces._csv_stream as fast  # noqa: PLC0415

    expected = load_trace(AZURE_CODE).df
    monkeypatch.setattr(fast, "PIECE_BYTES", piece_bytes)
    if how == "path":
        src: Path | io.BytesIO = AZURE_CODE
    elif how == "stream":
        src = io.BytesIO(AZURE_CODE.read_bytes())
    else:
        src = tmp_path / "azure.csv.gz"
        src.write_bytes(gzip.compress(AZURE_CODE.read_bytes()))
    pd.testing.assert_frame_equal(load_trace(src).df, expected)
