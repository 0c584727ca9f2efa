"""The fleet replay streamed through a trace dataset gives the in-memory replay's results: the same bill, fleet,
SLO attainment, percentiles and random draws (means to rounding), across chunk and partition boundaries,
for every policy; so do the serverless bill, the hybrid search, the trace-shaped break-even and analyze."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import costmodel
from costmodel.capacity import fit_replica_service
from costmodel.cli import app
from costmodel.policy import parse_policy
from costmodel.profiles import bundled_profile
from costmodel.replay import chunked, fleet, streamed
from costmodel.replay.dedicated import replay_dedicated
from costmodel.replay.hybrid import best_hybrid
from costmodel.replay.serverless import replay_serverless, serverless_bill
from costmodel.replay.trace_breakeven import trace_breakeven
from costmodel.results import Slo
from costmodel.steps import setup
from pricing import load_catalog
from tests.conftest import DATA
from traces import load_trace, scale_rate
from traces.dataset import TraceDataset, write_dataset
from traces.model import Trace

AZURE = DATA / "traces" / "AzureLLMInferenceTrace_code.csv"
GPU = "nebius/gpu-h100-1x"
TOKEN = "digitalocean/llama3-8b-instruct"
DEFAULT_CHUNKS = (fleet._CHUNK, fleet._QUEUE_POLICY_CHUNK)  # before the small_chunks fixture patches them


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 1,024 requests (256 for queue policies), so that the test trace crosses many chunks."""
    monkeypatch.setattr(fleet, "_CHUNK", 1024)
    monkeypatch.setattr(fleet, "_QUEUE_POLICY_CHUNK", 256)


@pytest.fixture(scope="module")
def trace() -> Trace:
    return scale_rate(load_trace(AZURE), 3.0)  # busier: queues, scale-ups and overflow happen


@pytest.fixture(scope="module")
def dataset(trace: Trace, tmp_path_factory: pytest.TempPathFactory) -> TraceDataset:
    return write_dataset(trace, tmp_path_factory.mktemp("ds") / "ds", partition_s=97.0)  # ~12 partitions


@pytest.fixture(scope="module")
def service():
    fit = fit_replica_service(bundled_profile("llama-3.1-8b-fp8_1xH100"), Slo())
    return fit.service_for(2048.0, 28.0)


def _same_latency(a, b) -> None:
    assert a.slo_attainment == b.slo_attainment
    assert (a.ttft_attainment, a.tpot_attainment) == (b.ttft_attainment, b.tpot_attainment)
    for name in ("ttft_ms", "tpot_ms", "queue_ms"):
        x, y = getattr(a, name), getattr(b, name)
        if x is None or y is None:
            assert x is y is None, name
            continue
        assert (x.p50, x.p90, x.p99) == (y.p50, y.p90, y.p99), name  # exact order statistics
        assert x.mean == y.mean or x.mean == pytest.approx(y.mean, rel=1e-12)  # summation order only


@pytest.mark.parametrize(
    "policy", ["utilization:min=1,max=8", "utilization:min=0,max=4,idle=300", "fixed:2", "queue:queue=4,max=8"]
)
def test_streamed_replay_is_the_in_memory_replay(trace: Trace, dataset: TraceDataset, service, policy: str) -> None:
    gpu = load_catalog().gpu(GPU)
    r1, r2 = np.random.default_rng(7), np.random.default_rng(7)
    kw = {"policy": parse_policy(policy), "cold_start_s": 61.0}
    a = replay_dedicated(trace, service, gpu, rng=r1, **kw)
    b = replay_dedicated(dataset, service, gpu, rng=r2, **kw)  # dispatches to the streamed replay
    assert isinstance(b, streamed.StreamedReplay)
    assert a.costs == b.costs
    assert a.replicas == b.replicas
    assert a.timeline == b.timeline
    assert np.array_equal(a.instances.start_s, b.instances.start_s)
    assert (a.requests, a.unserved, a.slot_utilization) == (b.requests, b.unserved, b.slot_utilization)
    _same_latency(a.latency, b.latency)
    assert r1.random() == r2.random()  # the same draws were used, and the generator ends in the same state


def test_serverless_bill_and_replay_are_identical(trace: Trace, dataset: TraceDataset) -> None:
    price = load_catalog().token(TOKEN)
    assert serverless_bill(dataset, price) == serverless_bill(trace, price)
    profile = bundled_profile("gpt-oss-120b_do-serverless_article")
    r1, r2 = np.random.default_rng(3), np.random.default_rng(3)
    a = replay_serverless(trace, price, profile=profile, rng=r1)
    b = replay_serverless(dataset, price, profile=profile, rng=r2)
    assert a.costs == b.costs and a.rate_limits == b.rate_limits
    _same_latency(a.latency, b.latency)
    assert r1.random() == r2.random()


@pytest.mark.parametrize("price_id", ["groq/openai/gpt-oss-120b", "digitalocean/anthropic-claude-sonnet-4.6"])
def test_the_prompt_cache_carries_across_partitions(tmp_path: Path, price_id: str) -> None:
    """Mooncake's conversations cut into 60-second partitions: each partition first replays the requests
    within the provider cache's time to live before it (2 h at Groq: every earlier partition; 5 min with
    cache writes at DigitalOcean's Claude), so the dataset's bill is the whole trace's — hits, writes and
    dollars — where restarting the cache at each partition would lose the hits across boundaries."""
    conv = load_trace(DATA / "replay" / "mooncake_FAST25_conversation_first1200.jsonl")
    ds = write_dataset(conv, tmp_path / "ds", partition_s=60.0)
    assert len(ds.partitions) > 5
    price = load_catalog().token(price_id)
    whole, parts = serverless_bill(conv, price), serverless_bill(ds, price)
    assert whole.cached_input_tokens and whole.cached_input_tokens > 0
    assert parts == whole
    restarted = sum(
        (serverless_bill(Trace(df=ds.read(i), meta=ds.meta), price).cached_input_tokens or 0)
        for i in range(len(ds.partitions))
    )
    assert restarted < whole.cached_input_tokens  # the boundaries matter on this trace


def test_hybrid_search_replays_the_same_candidates(trace: Trace, dataset: TraceDataset, service) -> None:
    catalog = load_catalog()
    gpu, token = catalog.gpu(GPU), catalog.token(TOKEN)
    a = best_hybrid(trace, service, gpu, token, rng=np.random.default_rng(1))
    b = best_hybrid(dataset, service, gpu, token, rng=np.random.default_rng(1))
    assert [c.total_cost_usd for c in a.candidates] == [c.total_cost_usd for c in b.candidates]
    assert [c.slo_attainment for c in a.candidates] == [c.slo_attainment for c in b.candidates]
    assert a.best.replicas == b.best.replicas and a.best.replicas
    assert a.best.total_cost_usd == b.best.total_cost_usd
    assert a.best.overflow_share == b.best.overflow_share > 0
    _same_latency(a.best.latency, b.best.latency)


def test_trace_breakeven_rows_are_identical(trace: Trace, dataset: TraceDataset, service) -> None:
    catalog = load_catalog()
    kw = {"policy": parse_policy("utilization:min=1,max=8"), "cold_start_s": 61.0, "output_tokens": [30, 220]}
    a = trace_breakeven(trace, service, catalog.gpu(GPU), catalog.token(TOKEN), **kw)
    b = trace_breakeven(dataset, service, catalog.gpu(GPU), catalog.token(TOKEN), **kw)
    assert [r.model_dump() for r in a] == [r.model_dump() for r in b]
    assert all(r.breakeven_rps for r in a)


def test_exact_order_statistics_through_radix_levels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chunked, "_GATHER", 50)  # force several radix levels
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.lognormal(5, 1, 3000), np.zeros(500), np.full(300, 17.25), -rng.random(40)])
    rng.shuffle(values)
    spill = chunked.Spill(tmp_path, "v")
    for part in np.array_split(values, 7):
        spill.add(np.concatenate([part, [np.nan, np.inf]]))  # non-finite values are left out, as in memory
    d = spill.distribution()
    assert (d.p50, d.p90, d.p99) == tuple(float(x) for x in np.percentile(values, [50, 90, 99]))
    ranks = [0, 1, 539, 540, 3839]
    stats = spill.order_statistics(ranks)
    assert [stats[r] for r in ranks] == [float(x) for x in np.sort(values)[ranks]]


def test_analyze_on_a_dataset_is_analyze_in_memory(
    trace: Trace, dataset: TraceDataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The replica's capacity is simulated on a sample of the trace's lengths: 500 of its 8,819 requests here,
    # drawn from the whole trace in both cases (a dataset's sample once came from its head alone).
    monkeypatch.setattr(setup, "LENGTH_SAMPLE", 500)
    kw = {
        "profiles": [bundled_profile("llama-3.1-8b-fp8_1xH100")],
        "gpus": [GPU],
        "serverless": [TOKEN],
        "today": date(2026, 11, 22),
        "sensitivity_samples": 100,
    }
    a = costmodel.analyze(trace, **kw)
    b = costmodel.analyze(dataset, **kw)
    fa, fb = costmodel.options_frame(a), costmodel.options_frame(b)
    assert fa.drop(columns=["slo_attainment"]).equals(fb.drop(columns=["slo_attainment"]))
    assert fa["slo_attainment"].equals(fb["slo_attainment"])
    assert costmodel.breakeven_frame(a).equals(costmodel.breakeven_frame(b))
    assert a.recommendation.headline == b.recommendation.headline
    assert b.trace.requests == len(trace) and b.trace.format == "dataset"


@pytest.mark.slow
def test_cli_analyzes_a_dataset_on_a_local_cluster(
    dataset: TraceDataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The worker processes replay with the default chunks (the small_chunks patch does not reach them): the
    # serial run uses the same chunks (a queue trigger decides per chunk).
    monkeypatch.setattr(fleet, "_CHUNK", DEFAULT_CHUNKS[0])
    monkeypatch.setattr(fleet, "_QUEUE_POLICY_CHUNK", DEFAULT_CHUNKS[1])
    out = tmp_path / "report"
    args = ["analyze", "--trace", dataset.root, "--gpu", GPU, "--serverless", TOKEN, "--today", "2026-11-22"]
    result = CliRunner().invoke(app, [*args, "--workers", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    serial = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "serial")])
    assert serial.exit_code == 0, serial.output
    verdict = [line for line in result.output.splitlines() if line.startswith("Run ")]
    assert verdict and verdict == [line for line in serial.output.splitlines() if line.startswith("Run ")]
    assert (out / "report.html").exists()
