"""Trace datasets: conversion in pieces identical to loading the whole file, lazy time-ordered reads, the
checks on partitions, and the exact per-partition summary (serially and on a LocalCluster)."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from breakeven.errors import InputError
from costmodel.cli import app
from tests.conftest import DATA
from traces import load_trace, summarize, write_trace
from traces.dataset import convert_to_dataset, open_dataset, write_dataset
from traces.dataset_summary import summarize_dataset
from traces.model import Trace

AZURE = DATA / "traces" / "AzureLLMInferenceTrace_code.csv"


@pytest.fixture(scope="module")
def azure() -> Trace:
    return load_trace(AZURE)


def _same_requests(a: pd.DataFrame, b: pd.DataFrame) -> None:
    for column in ("arrival_s", "input_tokens", "output_tokens"):
        assert np.array_equal(a[column].to_numpy(), b[column].to_numpy()), column


@pytest.mark.parametrize("piece_bytes", [4_000, 60_000, 1 << 26])
def test_conversion_in_pieces_equals_loading_the_whole_file(tmp_path: Path, azure: Trace, piece_bytes: int) -> None:
    ds = convert_to_dataset(AZURE, tmp_path / "ds", partition_s=600, piece_bytes=piece_bytes)
    assert len(ds) == len(azure) == 8819
    assert len(ds.partitions) == 6  # 57 minutes in 10-minute partitions
    assert ds.meta.start_time == azure.meta.start_time
    _same_requests(ds.to_trace().df, azure.df)  # the same floats: one clock across pieces
    firsts = [p.first_s for p in ds.partitions]
    assert firsts == sorted(firsts)
    assert all(np.floor(p.first_s / 600) == np.floor(p.last_s / 600) for p in ds.partitions)


def test_max_rows_splits_partitions_and_batches_come_in_time_order(tmp_path: Path, azure: Trace) -> None:
    ds = convert_to_dataset(AZURE, tmp_path / "ds", partition_s=86_400, max_rows=1000, piece_bytes=20_000)
    rows = [p.rows for p in ds.partitions]
    assert max(rows) <= 1000 and len(rows) >= 9 and sum(rows) == 8819
    arrivals = np.concatenate([b["arrival_s"].to_numpy() for b in ds.batches(["arrival_s"])])
    assert np.array_equal(arrivals, azure.df["arrival_s"].to_numpy())
    head = ds.head(1500)
    _same_requests(head.df, azure.df.iloc[:1500])


def test_gzip_csv_converts_the_same(tmp_path: Path, azure: Trace) -> None:
    packed = tmp_path / "code.csv.gz"
    packed.write_bytes(gzip.compress(AZURE.read_bytes()))
    ds = convert_to_dataset(packed, tmp_path / "ds", partition_s=900, piece_bytes=30_000)
    _same_requests(ds.to_trace().df, azure.df)


def test_a_bad_row_in_a_later_piece_is_named_by_its_line_in_the_whole_file(tmp_path: Path) -> None:
    lines = AZURE.read_text(encoding="utf-8").splitlines(keepends=True)
    bad_line = 5000  # 1-based, header is line 1
    fields = lines[bad_line - 1].split(",")
    lines[bad_line - 1] = ",".join([fields[0], "-7", *fields[2:]])
    broken = tmp_path / "broken.csv"
    broken.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(InputError, match=rf"broken\.csv:{bad_line}: column 'ContextTokens'"):
        convert_to_dataset(broken, tmp_path / "ds", piece_bytes=8_000)
    assert not list((tmp_path / "ds").glob("*.parquet"))  # nothing half-written
    ds = convert_to_dataset(broken, tmp_path / "ds2", piece_bytes=8_000, skip_bad_rows=True)
    assert len(ds) == 8818
    assert ds.meta.skipped.count == 1 and ds.meta.skipped.first_lines == (bad_line,)


def test_rows_out_of_order_across_written_partitions_are_refused(tmp_path: Path) -> None:
    lines = AZURE.read_text(encoding="utf-8").splitlines(keepends=True)
    lines = [line if line.endswith("\n") else line + "\n" for line in lines]
    moved = [lines[0], *lines[1:4000], *lines[8000:], *lines[4000:8000]]  # an hour-late block at the end
    shuffled = tmp_path / "late.csv"
    shuffled.write_text("".join(moved), encoding="utf-8")
    with pytest.raises(InputError, match=r"late\.csv: requests near line [\d,]+ arrive at .* before .*sort it first"):
        convert_to_dataset(shuffled, tmp_path / "ds", partition_s=300, piece_bytes=8_000)


def test_files_that_overlap_in_time_are_refused(tmp_path: Path, azure: Trace) -> None:
    (tmp_path / "ds").mkdir()
    write_trace(azure.with_df(azure.df.iloc[:5000].reset_index(drop=True), "a"), tmp_path / "ds" / "a.parquet")
    write_trace(azure.with_df(azure.df.iloc[4000:].reset_index(drop=True), "b"), tmp_path / "ds" / "b.parquet")
    with pytest.raises(InputError, match=r"b\.parquet: its requests .* overlap those of .*a\.parquet"):
        open_dataset(tmp_path / "ds")


def test_a_file_without_the_canonical_columns_is_named(tmp_path: Path) -> None:
    (tmp_path / "ds").mkdir()
    pd.DataFrame({"ts": [0.0, 1.0], "input_tokens": [1, 2]}).to_parquet(tmp_path / "ds" / "x.parquet")
    with pytest.raises(InputError, match=r"x\.parquet: missing column\(s\) \['arrival_s', 'output_tokens'\]"):
        open_dataset(tmp_path / "ds")
    with pytest.raises(InputError, match="no Parquet files found"):
        open_dataset(tmp_path / "nothing-*.parquet")


def test_days_written_separately_are_put_on_one_clock_by_their_start_times(tmp_path: Path, azure: Trace) -> None:
    df = azure.df
    cut = 4000
    t_cut = float(df["arrival_s"].iloc[cut])
    late = df.iloc[cut:].assign(arrival_s=df["arrival_s"].iloc[cut:] - t_cut).reset_index(drop=True)
    early = Trace(df.iloc[:cut].reset_index(drop=True), azure.meta)
    start = azure.meta.start_time + pd.Timedelta(seconds=t_cut).to_pytimedelta()
    later = Trace(late, azure.meta.__class__(source="late", start_time=start))
    (tmp_path / "days").mkdir()
    write_trace(later, tmp_path / "days" / "day2.parquet")
    write_trace(early, tmp_path / "days" / "day1.parquet")
    ds = open_dataset(str(tmp_path / "days" / "day*.parquet"))
    assert [Path(p.path).name for p in ds.partitions] == ["day1.parquet", "day2.parquet"]
    got = ds.to_trace().df["arrival_s"].to_numpy()
    assert np.allclose(got, df["arrival_s"].to_numpy(), rtol=0, atol=1e-6)


def test_scaled_view_divides_arrivals_like_scale_rate(tmp_path: Path, azure: Trace) -> None:
    from traces import scale_rate  # noqa: PLC0415

    ds = write_dataset(azure, tmp_path / "ds", partition_s=600).scaled(4.0)
    _same_requests(ds.to_trace().df, scale_rate(azure, 4.0).df)
    assert ds.last_arrival_s == pytest.approx(float(azure.df["arrival_s"].iloc[-1]) / 4)


@pytest.mark.parametrize("partition_s", [30.0, 600.0, 7200.0])
def test_summary_per_partition_is_the_in_memory_summary(tmp_path: Path, azure: Trace, partition_s: float) -> None:
    ds = write_dataset(azure, tmp_path / "ds", partition_s=partition_s)
    whole = summarize(azure).model_dump()
    parts = summarize_dataset(ds).model_dump()
    assert parts.pop("interarrival_cv") == pytest.approx(whole.pop("interarrival_cv"), rel=1e-12)
    assert (parts.pop("source"), parts.pop("format")) == (str(tmp_path / "ds"), "dataset")
    whole.pop("source")
    whole.pop("format")
    assert parts == whole  # counts, totals, means, token percentiles, peak rates: exactly equal


@pytest.mark.slow
def test_summary_on_a_local_cluster_is_the_same(tmp_path: Path, azure: Trace) -> None:
    from breakeven.parallel import connect  # noqa: PLC0415

    ds = write_dataset(azure, tmp_path / "ds", partition_s=300)
    serial = summarize_dataset(ds)
    with connect(workers=2):
        parallel = summarize_dataset(ds)
    assert parallel == serial


def test_cli_convert_to_a_folder_and_info(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "ds"
    done = runner.invoke(app, ["trace", "convert", str(AZURE), "-o", f"{out}/", "--partition", "15m"])
    assert done.exit_code == 0, done.output
    assert "wrote 8,819 requests in 4 partitions" in done.output
    info = runner.invoke(app, ["trace", "info", str(out), "--json"])
    assert info.exit_code == 0, info.output
    assert '"requests": 8819' in info.output and '"format": "dataset"' in info.output
    again = runner.invoke(app, ["trace", "convert", str(AZURE), "-o", f"{out}/"])
    assert again.exit_code == 2 and "already holds Parquet files" in again.output
    shutil.rmtree(out)


def test_take_reads_rows_across_partitions_in_the_order_asked(tmp_path: Path, azure: Trace) -> None:
    ds = write_dataset(azure, tmp_path / "ds", partition_s=600.0)
    assert len(ds.partitions) > 3
    rows = np.random.default_rng(4).permutation(len(azure))[:700]
    rows[:3] = [len(azure) - 1, 0, len(azure) - 1]  # both ends, and a row twice
    taken = ds.take(rows, ["input_tokens", "output_tokens"])
    expected = azure.df[["input_tokens", "output_tokens"]].iloc[rows].reset_index(drop=True)
    pd.testing.assert_frame_equal(taken, expected, check_dtype=False)
    assert ds.take(np.array([], dtype=np.int64), ["input_tokens"]).empty
