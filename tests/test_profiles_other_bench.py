"""GuideLLM, AIPerf / genai-perf, llmperf and vLLM /metrics importers against the hand-read figures of
/work/shared/data/{other_bench,vllm_metrics}/SOURCES.md (copied to tests/data/profiles)."""

from __future__ import annotations

import copy
import io
import json
from typing import Any

import pytest

from breakeven.errors import InputError
from costmodel.profiles.importers import (
    parse_aiperf,
    parse_aiperf_csv,
    parse_guidellm,
    parse_llmperf_responses,
    parse_llmperf_summary,
    parse_vllm_metrics,
    read_part,
)
from tests.conftest import DATA

OTHER = DATA / "profiles" / "other_bench"
GRAZ = OTHER / "graz-dev-vllm-benchmark_guidellm-v0.2-format_throughput_benchmarks_trimmed.json"
STRIPPED = OTHER / "vllm-project-guidellm_v0.3.0_tests-assets_benchmarks_stripped.json"
AIPERF_JSON = OTHER / "akamaslabs-vllm-benchmark_aiperf-0.11_qwen3-4b_concurrency16_profile_export_aiperf.json"
AIPERF_CSV = OTHER / "akamaslabs-vllm-benchmark_aiperf-0.11_qwen3-4b_concurrency16_profile_export_aiperf.csv"
LLMPERF_SUMMARY = OTHER / "ray-project-llmperf-leaderboard_groq_70b_summary.json"
LLMPERF_RESPONSES = OTHER / "ray-project-llmperf-leaderboard_groq_70b_individual_responses.json"
METRICS = DATA / "profiles" / "vllm_metrics" / "er0080-vllm-benchmarking_vllm-0.25.1_metrics_loaded.prom.txt"


def load(path: Any) -> Any:
    return json.loads(path.read_text())


def test_guidellm_v02_throughput_run() -> None:
    part = read_part(GRAZ)
    assert part.format == "guidellm" and part.model == "qwen2.5-7b"
    (p,) = part.warm
    assert p.ttft_ms is not None and p.tpot_ms is not None
    assert (p.ttft_ms.mean, p.ttft_ms.p50, p.ttft_ms.p99) == pytest.approx((60957.415, 73964.504, 91623.366), abs=5e-4)
    assert p.tpot_ms.mean == pytest.approx(182.114, abs=5e-4)  # GuideLLM inter_token_latency_ms
    assert "time_per_output_token_ms (includes the first token) mean 180.692" in p.notes
    assert p.output_tok_s == pytest.approx(644.506, abs=5e-4)
    assert p.request_s == pytest.approx(5.035, abs=5e-4)
    assert p.concurrency == 512  # throughput strategy without max_concurrency: the measured peak
    assert "mean 423.4" in p.notes
    assert (p.requests, p.failed, p.valid) == (1000, 0, True)
    assert p.e2e_ms is not None and p.e2e_ms.mean == pytest.approx(84086.03, abs=0.01)  # request_latency in s


def test_guidellm_v03_synchronous_run() -> None:
    (p,) = read_part(STRIPPED).warm
    assert p.ttft_ms is not None and p.tpot_ms is not None
    assert (p.ttft_ms.mean, p.ttft_ms.p50, p.ttft_ms.p99) == pytest.approx((16.793, 16.381, 21.282), abs=5e-4)
    assert p.tpot_ms.mean == pytest.approx(4.942, abs=5e-4)
    assert "mean 4.903" in p.notes
    assert p.output_tok_s == pytest.approx(198.133, abs=5e-4)
    assert p.request_s == pytest.approx(1.548, abs=5e-4)
    assert p.concurrency == 1 and "measured mean concurrency 1.00" in p.notes  # 0.998
    assert (p.requests, p.failed) == (46, 0) and "1 requests incomplete" in p.notes


def _as_v04(doc: dict[str, Any]) -> dict[str, Any]:
    """Constructed: the real v0.3 file moved into the v0.4+ layout (config.strategy, metrics.request_totals)."""
    new = copy.deepcopy(doc)
    bench = new["benchmarks"][0]
    bench["config"] = {"strategy": bench.pop("args")["strategy"], "backend": {"model": "example_model"}}
    bench["metrics"]["request_totals"] = bench.pop("request_totals")
    del bench["worker"]
    ttft = bench["metrics"]["time_to_first_token_ms"]["successful"]
    ttft["percentiles"]["p50"] = ttft["median"]
    new["metadata"] = {"version": 2, "guidellm_version": "0.7.0"}
    return new


def test_guidellm_v04_layout() -> None:
    part = parse_guidellm(_as_v04(load(STRIPPED)), source="v04.json")
    (p,) = part.warm
    assert part.model == "example_model" and part.source.tool_version == "0.7.0"
    assert p.concurrency == 1 and p.requests == 46
    assert p.ttft_ms is not None and p.ttft_ms.p50 == pytest.approx(16.381, abs=5e-4)


def test_guidellm_rate_strategy_and_errors() -> None:
    doc = load(STRIPPED)
    bench = doc["benchmarks"][0]
    bench["args"]["strategy"] = {"type_": "poisson", "rate": 2.0}
    bench["request_totals"]["errored"] = 3
    (p,) = parse_guidellm(doc, source="g.json").warm
    assert (p.concurrency, p.request_rate) == (None, 2.0)
    assert not p.valid and "3 errored requests" in p.notes
    bench["args"]["strategy"] = {"type_": "concurrent", "streams": 8}
    assert parse_guidellm(doc, source="g.json").warm[0].concurrency == 8


def test_aiperf_json() -> None:
    part = read_part(AIPERF_JSON)
    assert part.format == "aiperf" and part.model == "qwen3-4b"
    assert (part.source.tool, part.source.tool_version) == ("aiperf", "0.11.0")
    (p,) = part.warm
    assert p.ttft_ms is not None and p.tpot_ms is not None and p.itl_ms is not None
    assert (p.ttft_ms.mean, p.ttft_ms.p50, p.ttft_ms.p99) == pytest.approx((28.736, 26.770, 66.760), abs=5e-4)
    assert (p.tpot_ms.mean, p.tpot_ms.p99) == pytest.approx((8.779, 9.839), abs=5e-4)  # inter_token_latency
    assert p.itl_ms.p99 == pytest.approx(16.039, abs=5e-4)  # inter_chunk_latency, pooled
    assert p.output_tok_s == pytest.approx(1792.231, abs=5e-4)
    assert p.request_s == pytest.approx(6.815, abs=5e-4)
    assert "per user 114.046" in p.notes
    assert (p.concurrency, p.requests, p.failed, p.valid) == (16, 2044, 0, True)
    assert p.duration_s == pytest.approx(299.936, abs=5e-4)


def test_aiperf_csv_matches_the_json_to_two_decimals() -> None:
    csv_part = read_part(AIPERF_CSV)
    assert csv_part.format == "aiperf-csv"
    (c,) = csv_part.warm
    (j,) = read_part(AIPERF_JSON).warm
    for name in ("ttft_ms", "tpot_ms", "itl_ms", "e2e_ms"):
        for which in ("mean", "p50", "p90", "p99"):
            assert getattr(getattr(c, name), which) == pytest.approx(getattr(getattr(j, name), which), abs=0.006)
    assert (c.requests, c.output_tok_s, c.duration_s) == (2044, 1792.23, 299.94)
    assert c.concurrency is None and "records no load level" in c.notes


def test_genai_perf_layout() -> None:
    """Constructed from the AIPerf numbers in genai-perf's documented layout (no real genai-perf file exists)."""
    aiperf = load(AIPERF_JSON)
    keys = ("time_to_first_token", "inter_token_latency", "request_latency", "output_token_throughput",
            "request_throughput", "output_sequence_length")  # fmt: skip
    doc = {k: aiperf[k] for k in keys}
    doc["request_latency"] = {**doc["request_latency"], "unit": "sec"}
    doc["request_latency"].update({k: v / 1000 for k, v in doc["request_latency"].items() if k[0] in "ap"})
    doc["input_sequence_length"] = {"unit": "tokens", "avg": 550.0}
    doc["request_count"] = {"unit": "count", "avg": 2044}
    doc["input_config"] = {"model": ["qwen3-4b"], "concurrency": 16, "request_rate": None, "streaming": True}
    part = parse_aiperf(doc, source="profile_export_genai_perf.json")
    (p,) = part.warm
    assert part.source.tool == "genai-perf" and part.model == "qwen3-4b"
    assert p.concurrency == 16 and p.input_tokens_mean == 550.0 and p.itl_ms is None
    assert p.e2e_ms is not None and p.e2e_ms.mean == pytest.approx(2334.7705, abs=1e-3)  # unit 'sec' -> ms
    doc["input_config"] = {"model_names": ["m"], "perf_analyzer": {"stimulus": {"request_rate": 4.0}}}
    assert parse_aiperf(doc, source="x").warm[0].request_rate == 4.0
    csv_text = "Metric,avg,min,max,p99,p95,p90,p75,p50,p25\nTime To First Token (ms),10,1,20,19,18,17,15,12,8\n"
    (p,) = parse_aiperf_csv(csv_text, source="genai.csv").warm
    assert p.ttft_ms is not None and (p.ttft_ms.mean, p.ttft_ms.p50, p.ttft_ms.p90) == (10, 12, 17)


def test_aiperf_bad_unit_and_bad_csv_cell() -> None:
    doc = load(AIPERF_JSON)
    doc["time_to_first_token"]["unit"] = "furlongs"
    with pytest.raises(InputError, match=r"x\.json: time_to_first_token\.unit: expected a time unit"):
        parse_aiperf(doc, source="x.json")
    text = AIPERF_CSV.read_text().replace("First Token (ms),28.74,22.09", "First Token (ms),28.74,fast")
    with pytest.raises(InputError, match=r"a\.csv:\d+: column 'min': expected a number, found 'fast'"):
        parse_aiperf_csv(text, source="a.csv")


def test_llmperf_summary_is_seconds() -> None:
    part = read_part(LLMPERF_SUMMARY)
    assert part.format == "llmperf-summary"
    assert (part.model, part.engine_name) == ("llama2-70b-4096", "groq")
    (p,) = part.warm
    assert p.ttft_ms is not None and p.e2e_ms is not None and p.tpot_ms is not None
    assert (p.ttft_ms.mean, p.ttft_ms.p50, p.ttft_ms.p99) == pytest.approx((227.86, 221.89, 350.03), abs=5e-3)
    assert "inter_token_latency (includes the first token) mean 5.384 ms" in p.notes
    # (E2E 815.108 - TTFT 227.860) / (150 - 1): every request had exactly 150 output tokens
    assert p.tpot_ms.mean == pytest.approx((815.1081097126007 - 227.86034579078357) / 149)
    assert p.output_tok_s == pytest.approx(441.847, abs=5e-4)
    assert p.request_s == pytest.approx(176.739 / 60, abs=1e-5)
    assert (p.concurrency, p.requests, p.failed, p.valid) == (5, 150, 0, True)
    assert (p.input_tokens_mean, p.output_tokens_mean) == (550, 150)


def test_llmperf_individual_responses_agree_with_the_summary() -> None:
    part = read_part(LLMPERF_RESPONSES)
    assert part.format == "llmperf-responses"
    (p,) = part.warm
    (s,) = parse_llmperf_summary(load(LLMPERF_SUMMARY), source="s").warm
    assert p.ttft_ms is not None and s.ttft_ms is not None and p.e2e_ms is not None and s.e2e_ms is not None
    for which in ("mean", "p50", "p90", "p99"):  # llmperf's pandas quantiles = numpy linear percentiles
        assert getattr(p.ttft_ms, which) == pytest.approx(getattr(s.ttft_ms, which), rel=1e-9)
        assert getattr(p.e2e_ms, which) == pytest.approx(getattr(s.e2e_ms, which), rel=1e-9)
    assert p.tpot_ms is not None and s.tpot_ms is not None
    assert p.tpot_ms.mean == pytest.approx(s.tpot_ms.mean, rel=1e-9)
    assert p.concurrency is None and p.requests == 150


def test_llmperf_errored_and_bad_records() -> None:
    records = load(LLMPERF_RESPONSES)[:3]
    records[2] = {**records[2], "error_code": 429, "error_msg": "rate limited"}
    (p,) = parse_llmperf_responses(records, source="r.json").warm
    assert (p.requests, p.failed, p.valid) == (2, 1, False)
    records[1] = {**records[1], "ttft_s": -1}
    with pytest.raises(InputError, match=r"r\.json: record 1: key 'ttft_s': expected a non-negative number"):
        parse_llmperf_responses(records, source="r.json")


def test_vllm_metrics_scrape() -> None:
    part = read_part(METRICS)
    assert part.format == "vllm-metrics" and part.model == "opt-125m-tp2"
    assert part.kv_cache_tokens == 400_448
    assert part.max_concurrency is not None
    assert (part.max_concurrency.value, part.max_concurrency.tokens_per_request) == (195.53125, 2048)
    assert part.settings == {"gpu_memory_utilization": 0.3, "block_size": 16, "enable_prefix_caching": True}
    (p,) = part.warm
    assert p.ttft_ms is not None and p.itl_ms is not None and p.e2e_ms is not None
    assert p.ttft_ms.mean == pytest.approx(88.24499082565308 / 664 * 1000)  # 132.9 ms
    assert p.itl_ms.mean == pytest.approx(998.1225105317717 / 164629 * 1000)  # 6.06 ms
    assert p.e2e_ms.mean == pytest.approx(999.2306158542633 / 600 * 1000)
    assert p.requests == 600 and not p.valid and "not a capacity point" in p.notes


def test_vllm_metrics_blocks_fallback_and_bad_line() -> None:
    text = '# TYPE vllm:cache_config_info gauge\nvllm:cache_config_info{block_size="32",num_gpu_blocks="100"} 1.0\n'
    part = parse_vllm_metrics(text, source="m.txt")
    assert part.kv_cache_tokens == 3200 and part.warm == []
    with pytest.raises(InputError, match=r"m\.txt:2: not a Prometheus sample line"):
        parse_vllm_metrics("vllm:num_requests_running 1\nthis is not a sample {\n", source="m.txt")
    stream = io.BytesIO(b"# HELP python_info x\npython_info 1.0\n")
    stream.name = "other.prom"
    with pytest.raises(InputError, match=r"other\.prom: format not recognised"):
        read_part(stream)
