"""``breakeven table``: the seed case from the bundled catalog, explicit prices, profiles, and bad options."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costmodel.cli import app
from costmodel.results import BreakevenRow
from tests.test_capacity_profiles import llama_8b, mi300x_seed

runner = CliRunner()


def _json(args: list[str]) -> list[dict[str, object]]:
    result = runner.invoke(app, ["table", *args, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert list(data) == ["rows"]
    for row in data["rows"]:
        BreakevenRow.model_validate(row)
    return data["rows"]


def test_defaults_are_the_seed_article_case() -> None:
    rows = _json([])
    assert [r["output_tokens"] for r in rows] == [30, 220, 1200]
    assert [r["method"] for r in rows] == ["closed_form"] * 3
    assert [r["breakeven_rps"] for r in rows] == pytest.approx([18.0077, 3.2236, 0.6158], abs=5e-4)
    assert rows[1]["breakeven_rph"] == pytest.approx(11604.9, abs=0.1)
    assert rows[0]["serverless_cost_per_request_usd"] == pytest.approx(29e-6)
    assert {r["serverless_price_id"] for r in rows} == {"digitalocean/gpt-oss-120b"}
    assert {r["gpu_price_id"] for r in rows} == {"digitalocean/gpu-mi300x-1x-article"}


def test_readable_table() -> None:
    result = runner.invoke(app, ["table"])
    assert result.exit_code == 0, result.output
    assert "$1.88/h GPU (digitalocean/gpu-mi300x-1x-article, on_demand)" in result.stdout
    for text in ("18.0", "3.22", "0.616", "64,828", "11,605", "2,217"):
        assert text in result.stdout


def test_explicit_prices_and_lengths() -> None:
    rows = _json(["--gpu-hourly", "2", "--input-price", "0", "--output-price", "1", "--input-tokens", "0",
                  "--output-tokens", "100, 1_000"])  # fmt: skip
    # $2/h ÷ (100 × $1/1M) ÷ 3600 = 5.556 req/s; ÷ 10 for 1,000 tokens
    assert [r["breakeven_rps"] for r in rows] == pytest.approx([5.5556, 0.55556], rel=1e-4)
    assert rows[0]["gpu_price_id"] is None


def test_catalog_conflict_and_tier() -> None:
    docs = _json(["--gpu", "digitalocean/gpu-mi300x-1x", "--output-tokens", "220"])
    # DigitalOcean's docs price, $1.99/h: 1.99 / 162e-6 / 3600 = 3.412 req/s
    assert docs[0]["breakeven_rps"] == pytest.approx(3.4122, abs=1e-3)
    result = runner.invoke(app, ["table", "--price-tier", "spot"])
    assert result.exit_code == 2
    assert "--price-tier" in result.output and "spot" in result.output


def test_profile_adds_capacity_rows(tmp_path: Path) -> None:
    path = tmp_path / "llama.json"
    path.write_text(llama_8b().dump_json())
    rows = _json(["--profile", str(path), "--gpu", "digitalocean/gpu-h100-1x",
                  "--serverless", "digitalocean/llama3-8b-instruct", "--output-tokens", "30,220"])  # fmt: skip
    assert [r["method"] for r in rows] == ["closed_form", "capacity", "closed_form", "capacity"]
    capacity = rows[1]
    assert capacity["replicas"] is not None and capacity["replicas"] >= 1
    assert capacity["crossings_rps"] and capacity["breakeven_rps"] == pytest.approx(capacity["crossings_rps"][-1])
    assert capacity["replica_capacity_rps"] > 0
    # 220 output tokens: one replica (~9 req/s) carries less than the closed-form rate: never.
    assert rows[3]["breakeven_rps"] is None and rows[3]["replicas"] is None
    result = runner.invoke(app, ["table", "--profile", str(path), "--gpu", "digitalocean/gpu-h100-1x"])
    assert result.exit_code == 0
    assert "burst" in result.stderr and "replicas" in result.stdout
    # the default serverless price is gpt-oss-120b, not the Llama 8B the profile measured
    assert "check that they are the same model" in " ".join(result.stderr.split())


def test_gpu_mismatch_is_warned(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(mi300x_seed().dump_json())
    result = runner.invoke(app, ["table", "--profile", str(path), "--gpu", "digitalocean/gpu-h100-8x"])
    assert result.exit_code == 0, result.output
    stderr = " ".join(result.stderr.split())
    assert "was measured on MI300X but digitalocean/gpu-h100-8x is a H100" in stderr
    assert "is a 8-GPU instance priced as one replica" in stderr
    assert "same model" not in stderr  # openai/gpt-oss-120b is what digitalocean/gpt-oss-120b serves


def test_profile_names_its_gpu_price(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(mi300x_seed().model_copy(update={"gpu_price_id": "digitalocean/gpu-mi300x-1x"}).dump_json())
    rows = _json(["--profile", str(path), "--output-tokens", "220"])
    assert rows[0]["gpu_price_id"] == "digitalocean/gpu-mi300x-1x"


def test_unreachable_slo_is_a_row_not_an_error(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(mi300x_seed().dump_json())
    rows = _json(["--profile", str(path), "--slo-ttft-ms", "300", "--output-tokens", "220"])
    assert rows[1]["replica_capacity_rps"] == 0 and rows[1]["breakeven_rps"] is None
    assert any("SLO unreachable" in n for n in rows[1]["notes"])


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--gpu", "digitalocean/gpu-h100-1x", "--gpu-hourly", "2"], "not both"),
        (["--gpu-hourly", "2"], "--input-price, --output-price"),
        (["--gpu-hourly", "2", "--input-price", "1", "--output-price", "1", "--price-tier", "spot"], "--price-tier"),
        (["--gpu-hourly", "-2", "--input-price", "1", "--output-price", "1"], "--gpu-hourly"),
        (["--gpu-hourly", "2", "--input-price", "1", "--output-price", "1", "--prices", "x.toml"], "--prices"),
        (["--serverless", "digitalocean/gpt-oss-12b"], "did you mean 'digitalocean/gpt-oss-120b'"),
        (["--gpu", "digitalocean/gpt-oss-120b"], "GPU price id"),
        (["--output-tokens", "30,abc"], "--output-tokens"),
        (["--slo-ttft-ms", "0"], "--slo-ttft-ms"),
        (["--profile", "missing.json"], "missing.json: file not found"),
    ],
)
def test_bad_options_are_one_clear_line(args: list[str], expected: str) -> None:
    result = runner.invoke(app, ["table", *args])
    assert result.exit_code == 2, result.output
    assert expected in " ".join(result.output.split())  # rich wraps stderr at the terminal width
    assert "Traceback" not in result.output


def test_malformed_profile_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"schema": "llm-breakeven/profile/v1", "id": "x"}))
    result = runner.invoke(app, ["table", "--profile", str(path)])
    assert result.exit_code == 2
    assert "bad.json" in result.output and "model: missing required key" in " ".join(result.output.split())


def test_bundled_profile_by_name() -> None:
    rows = _json(["--profile", "gpt-oss-120b_1xMI300X_article", "--output-tokens", "220"])
    assert [r["method"] for r in rows] == ["closed_form", "capacity"]
    assert rows[1]["replicas"] == 1  # one MI300X carries far more than the 3.22 req/s closed form
    assert rows[1]["gpu_price_id"] == "digitalocean/gpu-mi300x-1x-article"  # the profile's own price


def test_a_note_of_every_row_is_printed_once() -> None:
    """The replica model's notes are the same for every capacity row: the table prints each once, after it,
    led by the rows it is about; the JSON rows keep their own notes."""
    args = ["--profile", "llama-3.1-8b-fp8_1xH100", "--serverless", "digitalocean/llama3-8b-instruct"]
    args += ["--gpu", "digitalocean/gpu-h100-1x", "--input-tokens", "2048"]
    result = runner.invoke(app, ["table", *args])
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert sum("capacity by simulation" in line for line in lines) == 1
    assert sum("asked for 2,048 input tokens" in line for line in lines) == 1
    assert any(line.startswith("warning: 30 / 220 / 1,200 out, capacity: asked for 2,048") for line in lines)
    assert any(line.startswith("warning: 1,200 out, capacity: asked for 1,200 output tokens") for line in lines)
    assert "replicas" in result.stdout  # the table itself, before them, on stdout
    rows = _json(args)
    assert all(any("capacity by simulation" in n for n in r["notes"]) for r in rows if r["method"] == "capacity")
