"""The profiles shipped in costmodel/data/profiles: the default one is exactly what the importer builds.

Regenerate the default profile after an importer change (and review the diff)::

    .venv/bin/python -m tests.test_profiles_bundled --write
"""

from __future__ import annotations

import io
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from breakeven.errors import UnknownNameError
from costmodel.profiles import bundled_profile, import_profile, load_profile
from costmodel.profiles.io import bundled_profile_names, save_profile
from costmodel.profiles.schema import Profile
from tests.conftest import DATA, REPO

SWEEP = DATA / "profiles" / "vllm_bench" / "sweeps" / "1xH100-80GB-SXM" / "Meta-Llama-3.1-8B-FP8_tp1_len2048"
DEFAULT_FILE = REPO / "costmodel" / "data" / "profiles" / "llama-3.1-8b-fp8_1xH100.json"
UPSTREAM = (
    "LambdaLabsML/vllm-benchmark:results/prompt_{n}/1xH100-80GB-SXM/Meta-Llama-3.1-8B-FP8_tp1_len2048.json@a4f9f43"
)
ARTICLE = "https://dev.to/digitalocean/when-is-serverless-inference-cheaper-than-your-self-hosted-gpu-i-benchmarked-gpt-oss-120b-on-both-4bla"
#: When the bundled default profile was assembled (fixed so that a rebuild is byte-identical).
ASSEMBLED = datetime(2026, 11, 22, tzinfo=UTC)


def build_default_profile() -> Profile:
    """The bundled default profile, built by the importer from the 8 LambdaLabs sweep files."""
    sources = []
    for path in sorted(SWEEP.glob("prompt_*.json"), key=lambda p: int(p.name.split("_")[1].split(".")[0])):
        n = path.name.split("_")[1].split(".")[0]
        stream = io.BytesIO(path.read_bytes())
        kept = "head-only copy (scalar keys; per-request arrays dropped), " if ".summary." in path.name else ""
        stream.name = f"{UPSTREAM.format(n=n)} ({kept}tests/data/profiles/.../{path.name})"
        sources.append(stream)
    return import_profile(
        sources,
        profile_id="llama-3.1-8b-fp8@1xH100",
        gpu="H100",
        gpu_count=1,
        gpu_price_id="digitalocean/gpu-h100-1x",
        engine="vllm",
        engine_version="0.5.4",
        settings={
            "max_model_len": 2048,
            "gpu_memory_utilization": 0.95,
            "max_num_seqs": 1024,
            "tensor_parallel_size": 1,
            "docker_image": "vllm/vllm-openai:v0.5.4",
            "bench_dataset": "sharegpt",
            "bench_endpoint": "/v1/completions",
        },
        notes=[
            "1x H100 80GB SXM (from the source folder name 1xH100-80GB-SXM); the result files do not name the GPU",
            (
                "engine version 0.5.4 and the server settings are from the repository's scripts "
                "(benchmark_1x2x4x8x.sh@3dd9ba5 runs the vllm/vllm-openai:v0.5.4 image; benchmark.py@29dd18a starts "
                "the server with --max-model-len 2048 --gpu-memory-utilization 0.95 --max-num-seqs 1024); the result "
                "files do not record them"
            ),
            "base model (not instruct): many requests stop at once, so mean output lengths are short (44-137 tokens)",
            "the same ShareGPT prompts at every N: all N requests sent at t=0 (request_rate inf), N = concurrency",
            "no cold start was measured for this deployment: cold_start is null",
        ],
        created=ASSEMBLED,
    )


def test_bundled_default_profile_is_the_importer_output() -> None:
    # The replica model is not the importer's: benchmarks/fidelity.py --write calibrates it on the sweep.
    skip = {"provenance": {"tool_version"}, "replica_model": True}
    bundled = load_profile(DEFAULT_FILE)
    rebuilt = build_default_profile()
    assert bundled.model_dump(mode="json", exclude=skip) == rebuilt.model_dump(mode="json", exclude=skip), (
        "run: .venv/bin/python -m tests.test_profiles_bundled --write"
    )


def test_bundled_default_profile_carries_a_replica_model_fitted_to_its_sweep() -> None:
    profile = bundled_profile("llama-3.1-8b-fp8_1xH100")
    model = profile.replica_model
    assert model is not None, "run: .venv/bin/python -m benchmarks.fidelity --write"
    assert (model.gpu.name, model.tp, model.weight_dtype) == ("H100-SXM", 1, "fp8")
    assert model.engine.scheduler == "v0"  # vLLM 0.5.4
    assert model.engine.max_num_seqs == profile.settings["max_num_seqs"]
    assert model.engine.max_num_batched_tokens == profile.settings["max_model_len"]
    # every point of the sweep was fitted, and the stated error is the fit's own
    assert {row.run for row in model.fit} == {f"Meta-Llama-3.1-8B-FP8 N={p.concurrency:g}" for p in profile.warm}
    assert all(abs(row.predicted / row.measured - 1 - row.error) < 1e-9 for row in model.fit)
    assert model.expected_error


def test_bundled_default_profile_content() -> None:
    profile = bundled_profile("llama-3.1-8b-fp8_1xH100")
    assert profile.id == "llama-3.1-8b-fp8@1xH100"
    assert profile.model == "neuralmagic/Meta-Llama-3.1-8B-FP8"
    assert (profile.gpu, profile.gpu_count, profile.gpu_price_id) == ("H100", 1, "digitalocean/gpu-h100-1x")
    assert (profile.engine.name, profile.engine.version) == ("vllm", "0.5.4")
    assert profile.settings["max_model_len"] == 2048
    assert profile.cold_start is None
    assert [p.concurrency for p in profile.warm] == [10, 20, 40, 80, 160, 320, 640, 1280]
    assert all(p.valid for p in profile.warm)
    assert len(profile.provenance.sources) == 8
    assert all(s.sha256 and len(s.sha256) == 64 for s in profile.provenance.sources)
    # N = 1280 from SOURCES.md: 65.426 req/s, 8113.9 tok/s, TTFT mean 3656.5 ms
    top = profile.warm[-1]
    assert top.request_s == pytest.approx(65.426, abs=5e-4)
    assert top.output_tok_s == pytest.approx(8113.9, abs=0.05)
    assert top.ttft_ms is not None and top.ttft_ms.mean == pytest.approx(3656.5, abs=0.05)


def test_bundled_profile_by_id_and_unknown_name() -> None:
    assert bundled_profile("llama-3.1-8b-fp8@1xH100").id == "llama-3.1-8b-fp8@1xH100"
    assert set(bundled_profile_names()) >= {
        "llama-3.1-8b-fp8_1xH100",
        "gpt-oss-120b_1xMI300X_article",
        "gpt-oss-120b_do-serverless_article",
    }
    with pytest.raises(UnknownNameError, match=r"llama-3\.1-8b-fp8_1xH100"):
        bundled_profile("llama-3.1-8b_1xH100")


def test_article_profile_mi300x_records_the_published_figures() -> None:
    profile = bundled_profile("gpt-oss-120b_1xMI300X_article")
    assert (profile.model, profile.gpu, profile.gpu_count) == ("openai/gpt-oss-120b", "MI300X", 1)
    assert profile.gpu_price_id == "digitalocean/gpu-mi300x-1x-article"
    cold = profile.cold_start
    assert cold is not None
    assert cold.total_s == 61.0
    assert cold.samples_s == [60.8, 61.4]  # the article gives the range of 3 restarts, not the middle one
    assert cold.best_total_s() == 61.0
    ph = cold.phases
    assert (ph.weights_load_s, ph.compile_s, ph.cuda_graph_s) == (24.0, 4.0, 11.0)
    assert ph.engine_init_s == 36.0  # 21 s "engine init, KV cache, warmup" + compile 4 + graphs 11 (vLLM's meaning)
    assert ph.weights_gib == pytest.approx(68e9 / 2**30, abs=0.01)
    (point,) = profile.warm
    assert point.concurrency == 1 and point.requests == 20
    assert point.ttft_ms is not None and point.ttft_ms.p50 == 322.0
    assert point.output_tok_s == 154.0
    assert point.tpot_ms is not None and point.tpot_ms.mean == pytest.approx(1000 / 154, abs=0.01)
    assert ARTICLE in profile.provenance.sources[0].path


def test_article_profile_serverless_records_the_published_figures() -> None:
    profile = bundled_profile("gpt-oss-120b_do-serverless_article")
    assert profile.kind == "serverless" and profile.gpu is None
    assert profile.serverless_price_id == "digitalocean/gpt-oss-120b"
    assert profile.cold_start is None
    assert any("no cold start" in note for note in profile.provenance.notes)
    (point,) = profile.warm
    assert point.ttft_ms is not None
    assert (point.ttft_ms.p50, point.ttft_ms.p99) == (546.0, 1300.0)
    assert point.requests == 20
    assert ARTICLE in profile.provenance.sources[0].path


def main(argv: list[str]) -> int:
    """``--write``: rebuild costmodel/data/profiles/llama-3.1-8b-fp8_1xH100.json from tests/data."""
    if argv != ["--write"]:
        sys.stderr.write("usage: python -m tests.test_profiles_bundled --write\n")
        return 2
    rebuilt = build_default_profile()
    if Path(DEFAULT_FILE).exists():  # keep the calibrated replica model (benchmarks/fidelity.py --write)
        rebuilt = rebuilt.model_copy(update={"replica_model": load_profile(DEFAULT_FILE).replica_model})
    save_profile(rebuilt, DEFAULT_FILE)
    sys.stdout.write(f"wrote {Path(DEFAULT_FILE).relative_to(REPO)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
