"""Format detection by content, merging several files into one profile, and the errors of import_profile."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from breakeven.errors import InputError, UnknownNameError
from costmodel.profiles import import_profile
from costmodel.profiles.importers import build_profile, detect_format, read_part
from tests.conftest import DATA

ROOT = DATA / "profiles"
SWEEP_8B = ROOT / "vllm_bench" / "sweeps" / "1xH100-80GB-SXM" / "Meta-Llama-3.1-8B-FP8_tp1_len2048"
SWEEP_70B = ROOT / "vllm_bench" / "sweeps" / "1xH100-80GB-SXM" / "Meta-Llama-3.1-70B-Instruct-FP8_tp1_len2048"
LOG_70B = ROOT / "vllm_logs" / "vllm-pr12569_v1-v0.7_llama3.1-70b-w8a8.log"

EXPECTED = {
    "vllm_logs": "vllm-log",
    "vllm_bench": "vllm-bench",
    "sweeps": "vllm-bench",
    "vllm_metrics": "vllm-metrics",
}


def _expected_format(path: Path) -> str:
    name = path.name
    if "guidellm" in name:
        return "guidellm"
    if name.endswith("_aiperf.json"):
        return "aiperf"
    if name.endswith(".csv"):
        return "aiperf-csv"
    if name.endswith("_summary.json"):
        return "llmperf-summary"
    if "individual_responses" in name:
        return "llmperf-responses"
    return next(fmt for folder, fmt in EXPECTED.items() if folder in path.parts)


FIXTURES = sorted(p for p in ROOT.rglob("*") if p.is_file() and p.name != "SOURCES.md")


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name[:60])
def test_every_fixture_is_detected_by_content_not_name(path: Path) -> None:
    stream = io.BytesIO(path.read_bytes())  # no name, no extension: content only
    assert read_part(stream).format == _expected_format(path)


def test_detection_ignores_misleading_extensions(tmp_path: Path) -> None:
    log_as_json = tmp_path / "server.json"
    log_as_json.write_bytes(LOG_70B.read_bytes())
    bench_as_log = tmp_path / "bench.log"
    bench_as_log.write_bytes((SWEEP_8B / "prompt_10.json").read_bytes())
    assert read_part(log_as_json).format == "vllm-log"
    assert read_part(bench_as_log).format == "vllm-bench"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"hello": 1}', "x.txt: JSON of an unknown kind"),
        ('{"a": 1,\n "b": }', "x.txt:2: invalid JSON"),
        ("just some words\n", "x.txt: format not recognised; expected a vLLM server log"),
        ("", "x.txt: format not recognised"),
        ('{"schema": "llm-breakeven/profile/v1", "id": "x"}', "this is already a profile"),
    ],
)
def test_unknown_or_broken_content(text: str, message: str) -> None:
    with pytest.raises(InputError, match=r"x\.txt") as err:
        detect_format(text, name="x.txt")
    assert message in str(err.value)


def test_binary_and_forced_formats() -> None:
    stream = io.BytesIO(b"\xff\xfe\x00binary")
    stream.name = "blob.bin"
    with pytest.raises(InputError, match=r"blob\.bin: not UTF-8 text"):
        read_part(stream)
    with pytest.raises(InputError, match="not a GuideLLM report"):
        read_part(SWEEP_8B / "prompt_10.json", format="guidellm")
    with pytest.raises(UnknownNameError, match=r"option --format: unknown format 'vllm-logs'.*did you mean 'vllm-log'"):
        read_part(LOG_70B, format="vllm-logs")
    assert read_part(LOG_70B, format="vllm-log").runs


def test_sweep_and_log_merge_into_one_profile() -> None:
    files = [*sorted(SWEEP_70B.glob("*.json"), reverse=True), LOG_70B]
    profile = import_profile(files, model="neuralmagic/Meta-Llama-3.1-70B-Instruct-FP8", gpu="H100")
    assert profile.id == "Meta-Llama-3.1-70B-Instruct-FP8@1xH100"
    assert [p.concurrency for p in profile.warm] == [10, 20, 40, 80, 160, 320, 640, 1280]  # sorted
    assert [p.valid for p in profile.warm] == [True, True] + [False] * 6
    assert profile.kv_cache_tokens == 22_096
    assert profile.max_concurrency is not None and profile.max_concurrency.tokens_per_request == 2048
    assert profile.cold_start is not None and profile.cold_start.phases.compile_s == 54.73
    assert profile.settings == {"max_model_len": 2048, "gpu_memory_utilization": 0.98}
    assert profile.engine.name == "vllm"
    assert len(profile.provenance.sources) == 9
    assert {s.kind for s in profile.provenance.sources} == {"vllm-bench", "vllm-log"}
    assert any("the files say" in n for n in profile.provenance.notes)


def test_different_models_are_refused_unless_named() -> None:
    with pytest.raises(InputError, match="the inputs describe different models") as err:
        import_profile([SWEEP_8B / "prompt_10.json", SWEEP_70B / "prompt_10.json"])
    assert "neuralmagic/Meta-Llama-3.1-8B-FP8" in str(err.value) and "pass --model" in str(err.value)


def test_overrides_and_defaults() -> None:
    profile = import_profile(
        SWEEP_8B / "prompt_20.json",
        gpu="H100",
        gpu_count=2,
        profile_id="mine",
        gpu_price_id="digitalocean/gpu-h100-1x",
        engine_version="0.5.4",
        settings={"max_model_len": 2048},
        notes=["measured by us"],
        kind="dedicated",
    )
    assert (profile.id, profile.gpu_count, profile.engine.version) == ("mine", 2, "0.5.4")
    assert profile.settings == {"max_model_len": 2048}
    assert profile.provenance.notes[0] == "measured by us"
    assert profile.provenance.sources[0].sha256 is not None
    assert profile.provenance.created is not None and profile.provenance.tool_version


def test_no_model_and_no_input_are_errors() -> None:
    with pytest.raises(InputError, match="no model name in the inputs; pass --model"):
        import_profile(
            ROOT
            / "other_bench"
            / "akamaslabs-vllm-benchmark_aiperf-0.11_qwen3-4b_concurrency16_profile_export_aiperf.csv"
        )
    with pytest.raises(InputError, match="no input files"):
        build_profile([])
    with pytest.raises(InputError, match="file not found"):
        import_profile(ROOT / "missing.json")


def test_engine_is_unknown_when_no_file_says() -> None:
    profile = import_profile(
        ROOT / "other_bench" / "vllm-project-guidellm_v0.3.0_tests-assets_benchmarks_stripped.json"
    )
    assert profile.engine.name == "unknown" and profile.cold_start is None
    assert (
        import_profile(ROOT / "other_bench" / "ray-project-llmperf-leaderboard_groq_70b_summary.json").engine.name
        == "groq"
    )


def test_values_outside_the_schema_bounds_are_input_errors() -> None:
    doc = json.loads((ROOT / "other_bench" / "ray-project-llmperf-leaderboard_groq_70b_summary.json").read_text())
    doc["num_concurrent_requests"] = 0
    stream = io.BytesIO(json.dumps(doc).encode())
    stream.name = "zero.json"
    with pytest.raises(InputError, match=r"zero\.json: concurrency: Input should be greater than 0, found 0\.0"):
        read_part(stream)
