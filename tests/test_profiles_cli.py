"""``breakeven profile import`` and ``breakeven profile show`` through the real CLI root."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from costmodel.cli import app
from costmodel.profiles import import_profile, load_profile
from tests.conftest import DATA

runner = CliRunner()
SWEEP_8B = DATA / "profiles" / "vllm_bench" / "sweeps" / "1xH100-80GB-SXM" / "Meta-Llama-3.1-8B-FP8_tp1_len2048"
LOG = DATA / "profiles" / "vllm_logs" / "vllm-pr19794_v1-v0.9_sm120_qwen3.log"
FILES = [str(p) for p in sorted(SWEEP_8B.glob("*.json"))]


def test_import_writes_the_profile_and_says_so(tmp_path: Path) -> None:
    out = tmp_path / "profile.json"
    args = ["profile", "import", *FILES, "-o", str(out), "--gpu", "H100", "--gpu-price", "digitalocean/gpu-h100-1x",
            "--id", "llama8b", "--engine-version", "0.5.4", "--setting", "max_model_len=2048",
            "--setting", "bench_dataset=sharegpt", "--note", "our run"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"wrote {out}: 8 warm points (8 valid), no cold start" in result.output
    profile = load_profile(out)
    assert (profile.id, profile.gpu, profile.gpu_price_id, profile.engine.version) == (
        "llama8b",
        "H100",
        "digitalocean/gpu-h100-1x",
        "0.5.4",
    )
    assert profile.settings == {"max_model_len": 2048, "bench_dataset": "sharegpt"}
    assert profile.provenance.notes[0] == "our run"
    expected = import_profile(FILES, gpu="H100")
    assert [p.model_dump() for p in profile.warm] == [p.model_dump() for p in expected.warm]


def test_import_json_prints_the_profile(tmp_path: Path) -> None:
    result = runner.invoke(app, ["profile", "import", str(LOG), "--json", "--model", "Qwen/Qwen3-0.6B"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["schema"] == "llm-breakeven/profile/v1"
    assert doc["kv_cache_tokens"] == 251_920
    assert doc["cold_start"]["phases"]["engine_init_s"] == 44.51
    assert doc["max_concurrency"] == {"value": 6.15, "tokens_per_request": 40_960}


def test_import_without_output_prints_a_readable_summary() -> None:
    result = runner.invoke(app, ["profile", "import", *FILES, "--gpu", "H100"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Profile Meta-Llama-3.1-8B-FP8@1xH100" in out
    assert "Cold start: not measured" in out
    assert "Warm table" in out and "1,280" in out and "8,113.9" in out  # N = 1280 row, out tok/s
    assert "all 10 requests were sent at t=0" in out  # the notes are shown


def test_show_renders_tables_and_json(tmp_path: Path) -> None:
    out = tmp_path / "p.json"
    assert runner.invoke(app, ["profile", "import", str(LOG), "-o", str(out), "--model", "q"]).exit_code == 0
    shown = runner.invoke(app, ["profile", "show", str(out)])
    assert shown.exit_code == 0, shown.output
    assert "Cold start" in shown.stdout and "engine_init_s" in shown.stdout and "44.51" in shown.stdout
    assert "251,920 tokens" in shown.stdout and "6.15x at 40,960 tokens per request" in shown.stdout
    as_json = runner.invoke(app, ["profile", "show", str(out), "--json"])
    assert json.loads(as_json.stdout) == json.loads(out.read_text())


def test_show_a_bundled_profile_by_name() -> None:
    result = runner.invoke(app, ["profile", "show", "gpt-oss-120b_1xMI300X_article"])
    assert result.exit_code == 0, result.output
    assert "launch → first token  61.0 s" in result.stdout
    assert "60.8, 61.4 s" in result.stdout
    assert "digitalocean/gpu-mi300x-1x-article" in result.stdout


def test_errors_are_one_line_with_exit_2_and_nothing_written(tmp_path: Path) -> None:
    out = tmp_path / "never.json"
    missing = runner.invoke(app, ["profile", "import", str(tmp_path / "nope.log"), "-o", str(out)])
    assert missing.exit_code == 2 and "file not found" in missing.output and "Traceback" not in missing.output
    other_model = DATA / "profiles" / "vllm_logs" / "vllm-pr12569_v1-v0.7_llama3.1-70b-w8a8.log"
    mixed = runner.invoke(app, ["profile", "import", FILES[0], str(other_model), "-o", str(out)])
    assert mixed.exit_code == 2 and "different models" in mixed.output
    bad_setting = runner.invoke(app, ["profile", "import", FILES[0], "--setting", "oops", "-o", str(out)])
    assert bad_setting.exit_code == 2 and "option --setting: expected KEY=VALUE, found 'oops'" in bad_setting.output
    assert not out.exists()
    broken = tmp_path / "broken.json"
    broken.write_text('{"schema": "llm-breakeven/profile/v1", "id": "x", "model": "m", "gpu_count": 0}')
    shown = runner.invoke(app, ["profile", "show", str(broken)])
    assert shown.exit_code == 2 and "gpu_count: expected a number >= 1, found 0" in shown.output


def test_forced_format_option() -> None:
    result = runner.invoke(app, ["profile", "import", FILES[0], "--format", "guidellm"])
    assert result.exit_code == 2 and "not a GuideLLM report" in result.output
    result = runner.invoke(app, ["profile", "import", FILES[0], "--format", "nonsense"])
    assert result.exit_code != 0
