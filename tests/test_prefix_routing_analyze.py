"""``analyze --routing``: a trace with prefixes is costed with the simulated prefix caches, every routing
policy compared, and the report shows it."""

from __future__ import annotations

import numpy as np
import pytest

import costmodel
from costmodel.engine import Deployment, gpu_spec, model_arch
from costmodel.engine.replica import engine_settings, estimate
from costmodel.profiles import bundled_profile
from reports import render_report
from traces.conversations import ConversationShape, conversations
from traces.lengths import Fixed


@pytest.fixture(scope="module")
def results():
    shape = ConversationShape(doc=Fixed(1500), docs=6)
    trace = conversations(0.2, 600, np.random.default_rng(1), shape=shape)
    deployment = Deployment(model_arch("llama-3.1-8b"), gpu_spec("H100"), 1, "fp8")
    profile = bundled_profile("llama-3.1-8b-fp8_1xH100").model_copy(
        update={"replica_model": estimate(deployment, engine_settings(deployment, max_num_seqs=64))}
    )
    return costmodel.analyze(
        trace,
        profiles=[profile],
        serverless=["deepinfra/meta-llama/Meta-Llama-3.1-8B-Instruct"],
        gpus=["nebius/gpu-h100-1x"],
        routing="kv_aware",
        hybrid=False,
        trace_shaped=False,
        sensitivity_samples=0,
    )


def test_every_policy_is_costed_and_caching_raises_capacity(results):
    pc = results.prefix_caching
    assert pc is not None and pc.routing == "kv_aware"
    rows = {r.routing: r for r in pc.rows}
    assert list(rows) == ["none", "round_robin", "least_loaded", "session", "kv_aware"]
    assert rows["none"].hit_rate_tokens == 0.0
    assert rows["kv_aware"].hit_rate_tokens > 0.3
    assert rows["kv_aware"].replica_capacity_rps > rows["none"].replica_capacity_rps
    assert all(r.monthly_cost_usd > 0 for r in pc.rows)
    dedicated = results.option("dedicated:nebius/gpu-h100-1x:llama-3.1-8b-fp8@1xH100")
    assert dedicated.routing == "kv_aware"
    assert dedicated.prefix_hit_rate == pytest.approx(rows["kv_aware"].hit_rate_tokens)


def test_the_report_shows_the_routing_section(results):
    html = render_report(results)
    assert 'id="prefix"' in html and "chart-routing-cost" in html
    assert "KV-aware (Dynamo) (chosen)" in html


def test_without_prefixes_there_is_no_section():
    r = costmodel.analyze(trace_shaped=False, hybrid=False, sensitivity_samples=0)
    assert r.prefix_caching is None
    assert 'id="prefix"' not in render_report(r)
