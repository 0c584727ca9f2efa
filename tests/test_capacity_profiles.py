"""Real profiles for the capacity tests, built from the vLLM benchmark sweeps in tests/data/costmodel.

``sweep_profile`` is a deliberately small reader of the 2024 ``benchmark_serving.py`` result keys (the
profile importers of ``costmodel.profiles`` own the general job); the tests below check that it reproduces
the hand-read table of ``/work/shared/data/vllm_bench/sweeps/SOURCES.md``, so the capacity tests stand on
the real numbers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from costmodel.profiles.schema import Profile, Stat, WarmPoint
from tests.conftest import DATA

SWEEPS = DATA / "costmodel"
LLAMA_8B = SWEEPS / "Meta-Llama-3.1-8B-FP8_tp1_len2048"
LLAMA_70B = SWEEPS / "Meta-Llama-3.1-70B-Instruct-FP8_tp1_len2048"


def _point(path: Path) -> WarmPoint:
    d = json.loads(path.read_text())
    n = int(d["num_prompts"])
    completed = int(d["completed"])

    def stat(metric: str) -> Stat:
        return Stat(mean=d[f"mean_{metric}_ms"], p50=d[f"median_{metric}_ms"], p99=d[f"p99_{metric}_ms"])

    return WarmPoint(
        concurrency=float(n),  # request_rate "inf": all N prompts at t = 0
        ttft_ms=stat("ttft"),
        tpot_ms=stat("tpot"),
        itl_ms=stat("itl"),
        e2e_ms=stat("latency"),
        output_tok_s=d["output_throughput"],
        request_s=d["request_throughput"],
        input_tokens_mean=d["total_input_tokens"] / completed if completed else None,
        output_tokens_mean=d["total_output_tokens"] / completed if completed else None,
        requests=completed,
        failed=n - completed,
        duration_s=d["duration"],
        valid=completed == n,
        source=path.name,
    )


def sweep_profile(folder: Path, profile_id: str) -> Profile:
    """A profile of every ``prompt_<N>[.summary].json`` in ``folder``."""
    points = [_point(p) for p in sorted(folder.glob("prompt_*.json"))]
    d = json.loads(next(folder.glob("prompt_*.json")).read_text())
    return Profile(id=profile_id, model=d["model_id"], gpu="H100", warm=points, settings={"max_num_seqs": 1024})


def llama_8b() -> Profile:
    """Llama-3.1-8B-FP8 on 1×H100: the clean 8-point burst sweep (N = 10 … 1280)."""
    return sweep_profile(LLAMA_8B, "llama-3.1-8b-fp8@1xH100")


def llama_70b() -> Profile:
    """Llama-3.1-70B-FP8 on 1×H100: N = 10, 20 valid; N = 40, 80 failed part-way."""
    return sweep_profile(LLAMA_70B, "llama-3.1-70b-fp8@1xH100")


def mi300x_seed() -> Profile:
    """The seed article's gpt-oss-120b on 1×MI300X: one warm level, TTFT ~322 ms (spread ~2 ms over 20
    requests), ~154 tok/s single stream; input length not stated."""
    return Profile(
        id="gpt-oss-120b@1xMI300X-article",
        model="openai/gpt-oss-120b",
        gpu="MI300X",
        warm=[
            WarmPoint(
                concurrency=1,
                ttft_ms=Stat(p50=322.0),
                output_tok_s=154.0,
                source="serverless-vs-gpu-breakeven-and-nfs-tuning.txt",
            )
        ],
    )


# Hand-read from SOURCES.md: N → (req/s, TTFT mean, TTFT p99, mean TPOT, total in, total out).
LLAMA_8B_TABLE = {
    10: (9.364, 44.2, 64.6, 6.02, 1369, 442),
    80: (20.079, 390.4, 720.4, 16.30, 19504, 8600),
    1280: (65.426, 3656.5, 8687.6, 165.73, 283459, 158741),
}


@pytest.mark.parametrize("n", sorted(LLAMA_8B_TABLE))
def test_sweep_reader_matches_the_hand_read_table(n: int) -> None:
    (point,) = [p for p in llama_8b().warm if p.concurrency == n]
    rps, ttft_mean, ttft_p99, tpot_mean, total_in, total_out = LLAMA_8B_TABLE[n]
    assert point.request_s == pytest.approx(rps, abs=1e-3)
    assert point.ttft_ms is not None and point.tpot_ms is not None
    assert point.ttft_ms.mean == pytest.approx(ttft_mean, abs=0.05)
    assert point.ttft_ms.p99 == pytest.approx(ttft_p99, abs=0.05)
    assert point.tpot_ms.mean == pytest.approx(tpot_mean, abs=0.005)
    assert point.input_tokens_mean == pytest.approx(total_in / n)
    assert point.output_tokens_mean == pytest.approx(total_out / n)
    assert point.valid


def test_70b_sweep_marks_failed_runs_invalid() -> None:
    profile = llama_70b()
    assert [(p.concurrency, p.valid) for p in profile.warm] == [(10, True), (20, True), (40, False), (80, False)]
