"""``breakeven profile estimate / calibrate``, ``simulate`` and ``capacity`` through the real CLI root."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costmodel.cli import app
from costmodel.profiles import load_profile
from tests.conftest import DATA

runner = CliRunner()
SWEEP = DATA / "costmodel" / "Meta-Llama-3.1-8B-FP8_tp1_len2048"
SIM = DATA / "engine" / "inference-sim" / "replay_data"


@pytest.fixture(scope="module")
def estimated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("est") / "llama.json"
    result = runner.invoke(
        app,
        [
            "profile",
            "estimate",
            "--model",
            "llama-3.1-8b",
            "--gpu",
            "H100",
            "--dtype",
            "fp8",
            "--id",
            "l8",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    return out


def test_estimate_writes_an_estimated_profile_with_its_error(estimated: Path):
    profile = load_profile(estimated)
    model = profile.replica_model
    assert model is not None and model.estimated
    assert (profile.id, profile.gpu, model.arch.id, model.weight_dtype, model.tp) == (
        "l8",
        "H100-SXM",
        "llama-3.1-8b",
        "fp8",
        1,
    )
    assert model.engine.kv_cache_source == "estimated" and model.engine.kv_cache_tokens > 100_000
    assert set(model.expected_error) >= {"ttft_mean_ms", "e2e_mean_s"}
    shown = runner.invoke(app, ["profile", "show", str(estimated)])
    assert shown.exit_code == 0 and "cannot use this profile" not in shown.output


def test_simulate_json_has_the_documented_figures(estimated: Path):
    result = runner.invoke(
        app,
        [
            "simulate",
            "--profile",
            str(estimated),
            "--rate",
            "4",
            "--requests",
            "300",
            "--input-tokens",
            "800",
            "--output-tokens",
            "120",
            "--seed",
            "3",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    for key in ("ttft_ms", "tpot_ms", "e2e_s"):
        assert set(out[key]) >= {"mean", "p50", "p90", "p99"}
        assert out[key]["p50"] <= out[key]["p90"] <= out[key]["p99"]
    assert out["completed"] == 300 and out["unfinished"] == 0 and out["overloaded"] is False
    assert out["throughput_rps"] == pytest.approx(4, rel=0.25)
    assert out["output_tok_s"] == pytest.approx(out["throughput_rps"] * 120, rel=0.01)


def test_simulate_replays_a_measured_run_and_compares(estimated: Path):
    result = runner.invoke(
        app, ["simulate", "--profile", str(estimated), "--replay", str(SWEEP / "prompt_20.json"), "--json"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["completed"] == 20
    rows = {r["metric"]: r for r in out["measured_vs_predicted"]}
    assert rows["ttft_mean_ms"]["measured"] == pytest.approx(77.66, abs=0.01)
    assert rows["ttft_mean_ms"]["predicted"] > 0


def test_simulate_a_trace_file(estimated: Path):
    trace = DATA / "traces" / "mooncake_conversation_first400.jsonl"
    result = runner.invoke(app, ["simulate", "--profile", str(estimated), "--trace", str(trace), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["requests"] == 400


def test_capacity_json(estimated: Path):
    result = runner.invoke(
        app, ["capacity", "--profile", str(estimated), "--input-tokens", "2048", "--output-tokens", "200", "--json"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["max_rps"] > 1 and out["binding"] in ("ttft", "tpot", "kv", "none")
    assert out["ttft_p90_ms"] <= 600 and out["tpot_p90_ms"] <= 60
    text = runner.invoke(
        app, ["capacity", "--profile", str(estimated), "--input-tokens", "2048", "--output-tokens", "200"]
    )
    assert "max_rps" in text.output and "estimated" in text.output


def test_calibrate_fits_a_profile_to_benchmark_files(tmp_path: Path):
    out = tmp_path / "calibrated.json"
    result = runner.invoke(
        app,
        [
            "profile",
            "calibrate",
            str(SWEEP / "prompt_10.json"),
            str(SWEEP / "prompt_20.json"),
            str(SWEEP / "prompt_40.summary.json"),
            "--model",
            "llama-3.1-8b",
            "--gpu",
            "H100",
            "--dtype",
            "fp8",
            "--scheduler",
            "v0",
            "--max-num-seqs",
            "1024",
            "--max-num-batched-tokens",
            "2048",
            "--gpu-memory-utilization",
            "0.95",
            "--no-cross-validate",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    model = load_profile(out).replica_model
    assert model is not None and not model.estimated
    assert {r.run for r in model.fit} == {"prompt_10", "prompt_20", "prompt_40.summary"}
    e2e = [abs(r.error) for r in model.fit if r.metric == "e2e_mean_s" and r.error is not None]
    assert e2e and max(e2e) < 0.35
    assert "Fit (in-sample)" in result.output


def test_calibrate_an_inference_sim_pair_with_cross_validation(tmp_path: Path):
    out = tmp_path / "llama2.json"
    result = runner.invoke(
        app,
        [
            "profile",
            "calibrate",
            str(SIM / "20260217-231439-llama-2-7b-tp1-general.json"),
            "--model",
            "llama-2-7b",
            "--gpu",
            "H100",
            "--max-num-seqs",
            "128",
            "--max-num-batched-tokens",
            "2048",
            "--kv-cache-tokens",
            "119392",
            "-o",
            str(out),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    model = json.loads(result.output)["replica_model"]
    assert model["engine"]["kv_cache_source"] == "given"
    stage1 = [r for r in model["fit"] if r["window"].startswith("stage 1") and r["metric"] == "e2e_mean_s"]
    assert stage1 and abs(stage1[0]["error"]) < 0.15


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["profile", "estimate", "--model", "llama-3.1-8b", "--gpu", "H1000", "-o", "{out}"], "unknown GPU 'H1000'"),
        (["profile", "estimate", "--gpu", "H100", "-o", "{out}"], "expected exactly one of --model-config"),
        (["profile", "estimate", "--model", "llama-3.1-8b", "--gpu", "H100", "--tp", "3", "-o", "{out}"],
         "does not divide the 32 attention heads"),
        (["profile", "estimate", "--model", "llama-3.1-70b", "--gpu", "L4", "-o", "{out}"],
         "do not leave room for a KV cache"),
        (["profile", "estimate", "--model", "llama-3.1-8b", "--gpu", "H100", "--max-num-seqs", "512",
          "--max-num-batched-tokens", "256", "-o", "{out}"], "must be at least --max-num-seqs"),
        (["simulate", "--profile", "llama-3.1-8b-arch-random_hf-cb_1xH100", "--rate", "1"], "no replica model"),
        (["capacity", "--profile", "{est}", "--input-tokens", "10", "--output-tokens", "10", "--slo-ttft-ms", "0.01"],
         ""),
    ],
)  # fmt: skip
def test_bad_options_fail_with_one_clear_line(tmp_path: Path, estimated: Path, args: list[str], message: str):
    out = tmp_path / "p.json"
    argv = [a.replace("{out}", str(out)).replace("{est}", str(estimated)) for a in args]
    result = runner.invoke(app, argv)
    if not message:  # an unreachable SLO is an answer, not an error
        assert result.exit_code == 0 and "SLO unreachable" in result.output
        return
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_simulate_a_fleet_replays_a_trace(estimated: Path, tmp_path: Path):
    """--replicas routes a trace's requests over a fleet; a fleet without a trace is one clear error."""
    trace = tmp_path / "t.csv"
    lengths = ["--input", "fixed(500)", "--output", "fixed(100)"]
    made = runner.invoke(app, ["trace", "generate", "poisson", "-o", str(trace), "--rate", "2", *lengths])
    assert made.exit_code == 0, made.output
    result = runner.invoke(
        app, ["simulate", "--profile", str(estimated), "--trace", str(trace), "--replicas", "2", "--json"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["replicas"] == 2 and out["routing"] == "round_robin"
    assert out["completed"] == out["requests"] and sum(out["requests_per_replica"]) == out["requests"]
    refused = runner.invoke(app, ["simulate", "--profile", str(estimated), "--rate", "1", "--replicas", "2"])
    assert refused.exit_code == 2 and "replays a trace: expected --trace FILE" in refused.output
