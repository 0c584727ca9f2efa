"""vllm bench serve / benchmark_serving.py importer: every row of the SOURCES.md tables, recomputation from the
per-request arrays, the offered-concurrency rule, failed runs, containers (array, JSONL) and bad input."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import pytest

from breakeven.errors import InputError
from costmodel.profiles.importers import import_profile, parse_vllm_bench, read_part
from costmodel.profiles.schema import WarmPoint
from tests.conftest import DATA, shared_file

BENCH = DATA / "profiles" / "vllm_bench"
SWEEPS = BENCH / "sweeps" / "1xH100-80GB-SXM"
LAMBDA = BENCH / "LambdaLabsML-vllm-benchmark_2024-09_v0.6-era_llama3-8b_1xH100_detailed.json"
SURAJ = BENCH / "surajssd-llm-k8s_v0.8-era_llama3.3-70b_tp8_8xA100_qps04_trimmed.json"
ER_ONE = BENCH / "er0080-vllm-benchmarking_v0.25.1_opt-125m_conc2_2x3090.json"
ER_SWEEP = BENCH / "er0080-vllm-benchmarking_v0.25.1_bench-sweep-summary_max_num_seqs4_conc2.json"


def points(path: Path) -> list[WarmPoint]:
    part = read_part(path)
    assert part.format == "vllm-bench"
    return part.warm


def stat(point: WarmPoint, name: str, which: str) -> float | None:
    value = getattr(point, name)
    return None if value is None else getattr(value, which)


# /work/shared/data/vllm_bench/SOURCES.md "Ground truth": (file, record, concurrency, request_rate, completed,
# failed, duration s, req/s, out tok/s, TTFT mean/median/p99, TPOT mean, ITL mean/p99), all as printed there.
SINGLE_ROWS = [
    (LAMBDA, 0, 10, None, 10, 0, 5.367, 1.863, 347.892, (62.426, 62.195, 63.363), 11.105, (72.399, 75.278)),
    (SURAJ, 0, None, 4.0, 200, 0, 62.988, 3.175, 673.918, (50.325, 49.500, 67.564), 27.083, (27.104, 29.630)),
    (ER_ONE, 0, 2, None, 8, 0, 1.544, 5.181, 82.893, (215.536, 55.681, 734.405), 11.266, (11.266, 29.816)),
    (ER_SWEEP, 0, 2, None, 8, 0, 1.365, 5.859, 93.748, (217.273, 44.923, 762.494), 8.205, (8.205, 22.265)),
    (ER_SWEEP, 1, 2, None, 8, 0, 0.642, 12.461, 199.369, (39.307, 38.188, 57.583), 8.012, (8.012, 23.304)),
]  # fmt: skip


@pytest.mark.parametrize("row", SINGLE_ROWS, ids=["lambdalabs", "surajssd", "er0080", "sweep-run0", "sweep-run1"])
def test_single_file_ground_truth(row: tuple[Any, ...]) -> None:
    path, index, conc, rate, completed, failed, duration, req_s, tok_s, ttft, tpot, itl = row
    p = points(path)[index]
    assert p.concurrency == conc and p.request_rate == rate
    assert (p.requests, p.failed, p.valid) == (completed, failed, True)
    assert p.duration_s == pytest.approx(duration, abs=5e-4)
    assert p.request_s == pytest.approx(req_s, abs=5e-4)
    assert p.output_tok_s == pytest.approx(tok_s, abs=5e-4)
    for which, expected in zip(("mean", "p50", "p99"), ttft, strict=True):
        assert stat(p, "ttft_ms", which) == pytest.approx(expected, abs=5e-4)
    assert stat(p, "tpot_ms", "mean") == pytest.approx(tpot, abs=5e-4)
    assert stat(p, "itl_ms", "mean") == pytest.approx(itl[0], abs=5e-4)
    assert stat(p, "itl_ms", "p99") == pytest.approx(itl[1], abs=5e-4)


# sweeps/SOURCES.md tables: N, completed, duration s, req/s, out tok/s, TTFT mean/median/p99, TPOT mean, ITL mean,
# total input / output tokens.
SWEEP_8B = [
    (10, 10, 1.068, 9.364, 413.9, (44.2, 62.5, 64.6), 6.02, 50.32, 1369, 442),
    (20, 20, 2.215, 9.030, 1061.0, (77.7, 108.9, 114.9), 5.96, 52.89, 3590, 2350),
    (40, 40, 3.399, 11.768, 1273.5, (152.6, 171.5, 269.1), 8.57, 58.40, 8595, 4329),
    (80, 80, 3.984, 20.079, 2158.5, (390.4, 456.6, 720.4), 16.30, 67.50, 19504, 8600),
    (160, 160, 5.831, 27.438, 3431.6, (635.5, 819.5, 1181.6), 20.79, 80.48, 34050, 20011),
    (320, 320, 7.679, 41.673, 5724.0, (1026.7, 1151.2, 2051.1), 34.50, 117.63, 65578, 43953),
    (640, 640, 11.335, 56.463, 7387.6, (1885.9, 2138.0, 4140.6), 78.48, 188.49, 129604, 83738),
    (1280, 1280, 19.564, 65.426, 8113.9, (3656.5, 4232.6, 8687.6), 165.73, 358.79, 283459, 158741),
]
SWEEP_70B = [
    (10, 10, 23.148, 0.432, 85.8, (224.4, 280.4, 281.4), 35.97, 310.83, 1369, 1987),
    (20, 20, 23.779, 0.841, 166.5, (507.3, 595.7, 600.4), 35.45, 317.32, 3590, 3960),
    (40, 4, 1.127, 3.548, 0.0, (0.0, 0.0, 0.0), 0.00, 0.00, 1718, 0),
    (80, 28, 10.121, 2.767, 186.1, (1152.3, 1152.9, 2907.5), 60.41, 438.01, 8311, 1883),
    (160, 21, 5.351, 3.925, 124.8, (1072.0, 1383.1, 2040.0), 60.34, 403.68, 5692, 668),
    (320, 13, 3.559, 3.653, 23.9, (621.5, 0.0, 1928.6), 76.97, 537.02, 4917, 85),
    (640, 43, 25.023, 1.718, 259.3, (1765.8, 2175.5, 3271.9), 52.74, 402.30, 9595, 6488),
    (1280, 3, 4.660, 0.644, 0.0, (0.0, 0.0, 0.0), 0.00, 0.00, 1232, 0),
]


def _sweep_point(folder: str, n: int) -> WarmPoint:
    base = SWEEPS / folder
    path = base / f"prompt_{n}.json"
    return points(path if path.exists() else base / f"prompt_{n}.summary.json")[0]


@pytest.mark.parametrize(
    ("folder", "row"),
    [("Meta-Llama-3.1-8B-FP8_tp1_len2048", r) for r in SWEEP_8B]
    + [("Meta-Llama-3.1-70B-Instruct-FP8_tp1_len2048", r) for r in SWEEP_70B],
    ids=[f"8B-N{r[0]}" for r in SWEEP_8B] + [f"70B-N{r[0]}" for r in SWEEP_70B],
)
def test_sweep_ground_truth(folder: str, row: tuple[Any, ...]) -> None:
    n, completed, duration, req_s, tok_s, ttft, tpot, itl, total_in, total_out = row
    p = _sweep_point(folder, n)
    assert p.concurrency == n and p.request_rate is None  # request_rate "inf": N sent at t = 0
    assert p.requests == completed and p.failed == n - completed
    assert p.duration_s == pytest.approx(duration, abs=5e-4)
    assert p.request_s == pytest.approx(req_s, abs=5e-4)
    assert p.output_tok_s == pytest.approx(tok_s, abs=0.05)
    for which, expected in zip(("mean", "p50", "p99"), ttft, strict=True):
        assert stat(p, "ttft_ms", which) == pytest.approx(expected, abs=0.05)
    assert stat(p, "tpot_ms", "mean") == pytest.approx(tpot, abs=5e-3)
    assert stat(p, "itl_ms", "mean") == pytest.approx(itl, abs=5e-3)
    assert p.input_tokens_mean is not None and p.output_tokens_mean is not None
    assert p.input_tokens_mean * completed == pytest.approx(total_in)
    assert p.output_tokens_mean * completed == pytest.approx(total_out)
    assert p.valid == (completed == n)
    if completed < n:
        assert f"only {completed} of {n} requests completed" in p.notes and "not a capacity point" in p.notes


@pytest.mark.parametrize(
    "path",
    [
        LAMBDA,
        SURAJ,
        *(SWEEPS / "Meta-Llama-3.1-8B-FP8_tp1_len2048").glob("prompt_?0.json"),
        *(SWEEPS / "Meta-Llama-3.1-70B-Instruct-FP8_tp1_len2048").glob("prompt_?0.json"),
    ],
    ids=lambda p: f"{p.parent.name[:12]}/{p.name}",
)
def test_arrays_reproduce_the_stored_statistics(path: Path) -> None:
    """TTFT (and ITL where 'itls' is kept) recomputed from the second-valued arrays equal the stored ms keys."""
    record = json.loads(path.read_text())
    (p,) = points(path)
    assert p.ttft_ms is not None and p.ttft_ms.p90 is not None  # p90 only exists when recomputed
    assert p.ttft_ms.mean == pytest.approx(record["mean_ttft_ms"], rel=1e-9)
    assert p.ttft_ms.p50 == pytest.approx(record["median_ttft_ms"], rel=1e-9)
    assert p.ttft_ms.p99 == pytest.approx(record["p99_ttft_ms"], rel=1e-9)
    if "itls" in record:
        assert p.itl_ms is not None
        assert p.itl_ms.mean == pytest.approx(record["mean_itl_ms"], rel=1e-9)
        assert p.itl_ms.p99 == pytest.approx(record["p99_itl_ms"], rel=1e-9)
    assert "differs from stored" not in p.notes


def test_full_surajssd_file_recomputes_itl() -> None:
    (p,) = points(shared_file("vllm_bench/surajssd-llm-k8s_v0.8-era_llama3.3-70b_tp8_8xA100_qps04_detailed.json"))
    assert p.itl_ms is not None and p.itl_ms.p90 is not None
    assert p.itl_ms.mean == pytest.approx(27.103891616876638, rel=1e-9)
    assert p.itl_ms.p99 == pytest.approx(29.629998059913305, rel=1e-9)


def test_notes_say_what_the_numbers_mean() -> None:
    (p,) = points(SWEEPS / "Meta-Llama-3.1-8B-FP8_tp1_len2048" / "prompt_10.json")
    assert "all 10 requests were sent at t=0" in p.notes
    assert "3 of 10 completed requests streamed no text" in p.notes  # ttft 0.0 kept, as the tool does
    assert "TTFT p50 without them: 62.7 ms" in p.notes
    assert "per streamed chunk" in p.notes  # ITL 50 ms vs TPOT 6 ms
    part = read_part(ER_SWEEP)
    assert part.settings == {"max_num_seqs": 4}  # the swept server argument, same in both runs
    assert "run settings: max_num_seqs=4" in part.warm[0].notes
    assert part.source.tool == "vllm bench sweep serve"
    assert read_part(LAMBDA).source.tool == "benchmark_serving.py (2024)"
    assert read_part(LAMBDA).source.date == "2024-09-07T08:27:31"


def test_sweep_array_keeps_duplicate_concurrency_points_with_their_sources() -> None:
    profile = import_profile([ER_SWEEP, ER_ONE])
    assert [p.concurrency for p in profile.warm] == [2, 2, 2]
    sources = [p.source for p in profile.warm]
    assert len(set(sources)) == 3
    assert any(s and s.endswith("#1 (run_number 1)") for s in sources)


def test_jsonl_append_result_is_one_point_per_line() -> None:
    lines = [json.dumps(json.loads(ER_ONE.read_text())), json.dumps(json.loads(LAMBDA.read_text()))]
    stream = io.BytesIO(("\n".join(lines) + "\n").encode())
    stream.name = "appended.jsonl"
    part = read_part(stream)
    assert part.format == "vllm-bench"
    assert [p.concurrency for p in part.warm] == [2, 10]
    assert part.warm[1].source == "appended.jsonl#1"


def _record(**changes: Any) -> dict[str, Any]:
    record = json.loads(ER_ONE.read_text())
    record.update(changes)
    return {k: v for k, v in record.items() if v is not ...}


def test_latency_arrays_give_tpot_and_e2e_per_request() -> None:
    # Hand-computed: request 0: TTFT 0.1 s, latency 1.1 s, 11 tokens -> TPOT (1.1 - 0.1) / 10 = 100 ms;
    # request 1: 1 token -> no TPOT; E2E 1100 and 200 ms; request 2 failed -> excluded everywhere.
    record = _record(
        num_prompts=3, completed=2, failed=1,
        ttfts=[0.1, 0.2, 0.0], latencies=[1.1, 0.2, 0.0], output_lens=[11, 1, 0], errors=["", "", "timeout"],
        itls=[[0.1] * 10, [], []],
    )  # fmt: skip
    (p,) = parse_vllm_bench(record, source="t.json").warm
    assert p.tpot_ms is not None and (p.tpot_ms.mean, p.tpot_ms.p50) == pytest.approx((100.0, 100.0))
    assert p.e2e_ms is not None and p.e2e_ms.mean == pytest.approx(650.0)
    assert p.ttft_ms is not None and p.ttft_ms.mean == pytest.approx(150.0)
    assert p.itl_ms is not None and p.itl_ms.p99 == pytest.approx(100.0)
    assert not p.valid and "only 2 of 3 requests completed" in p.notes


def test_request_rate_inf_as_a_number_and_finite_rates() -> None:
    (p,) = parse_vllm_bench(_record(request_rate=math.inf, max_concurrency=None), source="t").warm
    assert (p.concurrency, p.request_rate) == (8, None)
    (p,) = parse_vllm_bench(_record(request_rate=2.5, max_concurrency=4), source="t").warm
    assert (p.concurrency, p.request_rate) == (4, 2.5)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"completed": ...}, "not a vLLM serving-benchmark result; expected keys completed, duration"),
        ({"duration": -1.0}, "key 'duration': expected a non-negative number, found -1.0"),
        ({"mean_ttft_ms": float("nan")}, "key 'mean_ttft_ms': expected a finite number"),
        ({"request_rate": "fast"}, "key 'request_rate': expected a number, found 'fast'"),
        ({"completed": 7.5}, "key 'completed': expected a whole count, found 7.5"),
        ({"ttfts": [0.1, -0.2]}, "key 'ttfts': expected non-negative finite numbers"),
        ({"ttfts": [0.1, 0.2], "itls": [["a"], []]}, "key 'itls': expected a list of lists of numbers"),
    ],
)
def test_bad_input_names_file_and_key(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=r"bad\.json") as err:
        parse_vllm_bench(_record(**changes), source="bad.json")
    assert message in str(err.value)


def test_a_list_with_a_foreign_record_is_refused() -> None:
    with pytest.raises(InputError, match=r"record 1: not a vLLM serving-benchmark result.*missing completed"):
        parse_vllm_bench([_record(), {"duration": 1, "request_throughput": 1}], source="mixed.json")
