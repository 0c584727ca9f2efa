"""Real profiles for the capacity tests: the vLLM benchmark sweeps in tests/data/costmodel read by
``costmodel.profiles.import_profile``, and the seed article's bundled MI300X profile.

The tests below check the imported points against the hand-read table of
``/work/shared/data/vllm_bench/sweeps/SOURCES.md``, so the capacity tests stand on the real numbers.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from costmodel.profiles import Profile, bundled_profile, import_profile
from tests.conftest import DATA

SWEEPS = DATA / "costmodel"
LLAMA_8B = SWEEPS / "Meta-Llama-3.1-8B-FP8_tp1_len2048"
LLAMA_70B = SWEEPS / "Meta-Llama-3.1-70B-Instruct-FP8_tp1_len2048"


def sweep_profile(folder: Path, profile_id: str) -> Profile:
    """A profile of every ``prompt_<N>[.summary].json`` in ``folder``, read by the real importer."""
    return import_profile(sorted(folder.glob("prompt_*.json")), gpu="H100", profile_id=profile_id)


@cache
def _cached(folder: Path, profile_id: str) -> Profile:
    return sweep_profile(folder, profile_id)


def llama_8b() -> Profile:
    """Llama-3.1-8B-FP8 on 1×H100: the clean 8-point burst sweep (N = 10 … 1280)."""
    return _cached(LLAMA_8B, "llama-3.1-8b-fp8@1xH100").model_copy(deep=True)


def llama_70b() -> Profile:
    """Llama-3.1-70B-FP8 on 1×H100: N = 10, 20 valid; N = 40, 80 failed part-way."""
    return _cached(LLAMA_70B, "llama-3.1-70b-fp8@1xH100").model_copy(deep=True)


def mi300x_seed() -> Profile:
    """The seed article's gpt-oss-120b on 1×MI300X (bundled, hand-written from the article): one warm
    level, TTFT p50 322 ms (spread ~2 ms over 20 requests), ~154 tok/s single stream; input length not
    stated. Cold start 61 s (60.8–61.4 s over restarts)."""
    return bundled_profile("gpt-oss-120b_1xMI300X_article")


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
