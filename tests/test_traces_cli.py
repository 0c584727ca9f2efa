"""``breakeven trace info | generate | convert`` on real files."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.conftest import DATA
from traces import load_trace
from traces.cli import app

TR = DATA / "traces"
AZURE = TR / "AzureLLMInferenceTrace_code.csv"
runner = CliRunner()


def _err(result) -> str:
    # The shared stderr console wraps long lines at the terminal width; compare without the breaks.
    return " ".join(result.stderr.split())


def _ok(args: list[str]):
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return result


def test_info_table() -> None:
    out = _ok(["info", str(AZURE)]).stdout
    assert "azure-2023" in out
    assert "8,819" in out
    assert "18,059,974" in out


def test_info_json_has_issue_keys_and_values() -> None:
    data = json.loads(_ok(["info", str(AZURE), "--json"]).stdout)
    assert data["format"] == "azure-2023"
    assert data["requests"] == 8819
    assert data["input_tokens_total"] == 18_059_974
    assert data["output_tokens_total"] == 245_896
    assert data["duration_s"] == pytest.approx(3435.948056)
    assert data["skipped_rows"] == 0
    for key in ("mean_rps", "peak_rps_1s", "peak_rps_60s", "input_tokens_p99", "output_tokens_p90", "interarrival_cv"):
        assert key in data


def test_info_bad_file_is_one_line_error(tmp_path: Path) -> None:
    lines = AZURE.read_bytes().split(b"\r\n")[:5]
    lines[3] = lines[3].replace(b",110,", b",-110,")
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\r\n".join(lines))
    result = runner.invoke(app, ["info", str(bad)])
    assert result.exit_code == 2
    assert "bad.csv:4" in _err(result) and "-110" in _err(result)
    assert "Traceback" not in result.output
    skipped = json.loads(_ok(["info", str(bad), "--skip-bad-rows", "--json"]).stdout)
    assert skipped["requests"] == 3
    assert skipped["skipped_rows"] == 1
    assert skipped["skipped_lines"] == [4]


def test_info_prints_warnings_to_stderr(tmp_path: Path) -> None:
    lines = (TR / "vidur_splitwise_conv_first100.csv").read_text().splitlines()
    lines[2], lines[3] = lines[3], lines[2]
    path = tmp_path / "swapped.csv"
    path.write_text("\n".join(lines) + "\n")
    result = _ok(["info", str(path), "--json"])
    assert json.loads(result.stdout)["warnings"] == ["sorted 1 out-of-order row by arrival time; first at line 4"]
    assert "warning: sorted 1 out-of-order row " in _err(result)


def test_info_unknown_format() -> None:
    result = runner.invoke(app, ["info", str(AZURE), "--format", "azure"])
    assert result.exit_code == 2
    assert "unknown trace format 'azure'" in _err(result)


def test_info_generic_with_columns_and_time_unit(tmp_path: Path) -> None:
    azure = load_trace(AZURE).df.iloc[:3]
    path = tmp_path / "mine.csv"
    ms = (azure["arrival_s"] * 1000).round(3)
    pd.DataFrame({"t": ms, "p": azure["input_tokens"], "c": azure["output_tokens"]}).to_csv(path, index=False)
    data = json.loads(
        _ok(["info", str(path), "--columns", "arrival=t,input=p,output=c", "--time-unit", "ms", "--json"]).stdout
    )
    assert data["format"] == "csv"
    assert data["duration_s"] == pytest.approx(0.098189)
    assert data["input_tokens_total"] == 4808 + 3180 + 110


@pytest.mark.parametrize(
    "args",
    [
        ["poisson", "--rate", "2", "--duration", "10m", "--input", "lognormal(800,1500)", "--output", "fixed(220)"],
        ["bursty", "--rate", "120/min", "--duration", "10m", "--cv", "3", "--input", "100", "--output", "10"],
        ["bursty", "--rate", "2", "--duration", "10m", "--on", "30s", "--off", "90s", "--lengths-from", str(AZURE)],
        ["diurnal", "--rate", "1", "--duration", "1d", "--peak-to-trough", "3", "--input", "50", "--output", "5"],
        ["spec", "poisson:rate=2,duration=10m,input=fixed(800),output=fixed(200)"],
    ],
)
@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_generate_is_seeded(tmp_path: Path, args: list[str], suffix: str) -> None:
    first, second = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
    _ok(["generate", *args, "--seed", "3", "-o", str(first)])
    _ok(["generate", *args, "--seed", "3", "-o", str(second)])
    a, b = load_trace(first), load_trace(second)
    assert len(a) > 100
    pd.testing.assert_frame_equal(a.df, b.df)


def test_generate_errors() -> None:
    result = runner.invoke(app, ["generate", "poisson", "--rate", "2", "--input", "fixed(1)", "-o", "x.parquet"])
    assert result.exit_code == 2
    assert "--input and --output" in _err(result)
    result = runner.invoke(app, ["generate", "spec", "poisson:rate=2", "-o", "x.parquet"])
    assert result.exit_code == 2
    assert "missing key 'duration'" in _err(result)


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_convert_to_canonical(tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"m{suffix}"
    _ok(["convert", str(TR / "mooncake_conversation_first400.jsonl"), "-o", str(out)])
    again = load_trace(out)
    assert again.meta.format == "canonical"
    assert len(again) == 400
    assert list(again.df.columns) == ["arrival_s", "input_tokens", "output_tokens", "hash_ids"]


def test_convert_with_transforms(tmp_path: Path) -> None:
    out = tmp_path / "w.parquet"
    _ok(["convert", str(AZURE), "-o", str(out), "--window", "10m:20m", "--scale-rate", "2"])
    trace = load_trace(out)
    full = load_trace(AZURE).df["arrival_s"]
    assert len(trace) == int(((full >= 600) & (full < 1200)).sum())
    assert trace.df["arrival_s"].max() < 300
    assert trace.meta.transforms == ("window(600, 1200)", "scale_rate(k=2)")


def test_convert_bad_output_suffix_writes_nothing(tmp_path: Path) -> None:
    result = runner.invoke(app, ["convert", str(AZURE), "-o", str(tmp_path / "x.txt")])
    assert result.exit_code == 2
    assert list(tmp_path.iterdir()) == []
