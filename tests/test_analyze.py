"""``analyze`` end to end: the bundled scenario, hand-checked bills, the CLI's outputs and its errors."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from costmodel.analyze import DEFAULT_GPUS, DEFAULT_SERVERLESS, analyze, bundled_trace_path
from costmodel.cli import app
from costmodel.profiles import bundled_profile
from costmodel.results import HOURS_PER_MONTH, AutoscalePolicy, Results
from reports import render_report
from tests.support.reports_html import check_number, parse_verdict, resolve
from traces import Trace, TraceMeta, load_trace

TODAY = date(2026, 11, 22)
runner = CliRunner()


@pytest.fixture(scope="module")
def default_results() -> Results:
    return analyze(today=TODAY, sensitivity_samples=500)


def test_bundled_scenario_compares_every_default_option(default_results: Results) -> None:
    r = default_results
    assert r.inputs.scenario == "bundled-default"
    assert r.trace.requests == 8819 and r.trace.input_tokens_total == 18_059_974
    kinds = {o.id: o.kind for o in r.options}
    for price_id in DEFAULT_SERVERLESS:
        assert kinds[f"serverless:{price_id}"] == "serverless"
    for gpu_id in DEFAULT_GPUS:
        assert kinds[f"dedicated:{gpu_id}:llama-3.1-8b-fp8@1xH100"] == "dedicated"
    assert r.recommendation.option_id in kinds
    assert {row.method for row in r.breakeven} == {"closed_form", "capacity", "trace"}
    assert r.cost_curve is not None and r.timeline is not None and r.sensitivity is not None


def test_serverless_bill_to_the_cent(default_results: Results) -> None:
    # DigitalOcean llama3-8b-instruct, $0.20 / $0.20 per 1M tokens (bundled catalog):
    # 18,059,974 input x 0.20e-6 = $3.6119948; 245,896 output x 0.20e-6 = $0.0491792; total $3.661174.
    option = default_results.option("serverless:digitalocean/llama3-8b-instruct")
    assert option.token_costs is not None
    assert option.token_costs.input_usd == pytest.approx(3.6119948, abs=5e-3)
    assert option.token_costs.output_usd == pytest.approx(0.0491792, abs=5e-3)
    assert option.total_cost_usd == pytest.approx(3.661174, abs=5e-3)
    # Monthly = the trace's bill at its mean rate over 730 h: x 730 h / 3,435.95 s.
    months = HOURS_PER_MONTH * 3600 / default_results.trace.duration_s
    assert option.monthly_cost_usd == pytest.approx(3.661174 * months, rel=1e-6)


def test_dedicated_bill_is_billed_hours_times_price(default_results: Results) -> None:
    for option in default_results.options:
        if option.kind != "dedicated":
            continue
        assert option.gpu_costs is not None
        hours = option.gpu_costs.hours
        assert hours.total == pytest.approx(hours.busy + hours.idle + hours.cold_start)
        assert option.total_cost_usd == pytest.approx(hours.total * option.gpu_costs.hourly_usd, rel=1e-9)
        # min_replicas=1 keeps at least one instance for the whole trace.
        assert hours.total >= default_results.trace.duration_s / 3600 - 1e-9


def test_closed_form_rows_follow_the_seed_formula(default_results: Results) -> None:
    for row in default_results.breakeven:
        if row.method != "closed_form":
            continue
        assert row.gpu_hourly_usd is not None and row.breakeven_rps is not None
        assert row.breakeven_rps == pytest.approx(row.gpu_hourly_usd / 3600 / row.serverless_cost_per_request_usd)
        assert row.breakeven_rph == pytest.approx(row.breakeven_rps * 3600)


def test_recommendation_is_the_cheapest_eligible_option(default_results: Results) -> None:
    rec = default_results.recommendation
    eligible = [o for o in default_results.options if o.meets_slo is not False]
    assert rec.option_id == min(eligible, key=lambda o: o.monthly_cost_usd).id
    assert rec.monthly_cost_usd == {o.id: o.monthly_cost_usd for o in default_results.options}


def test_every_verdict_number_of_a_real_analysis_equals_results_json(default_results: Results) -> None:
    doc = json.loads(default_results.model_dump_json(by_alias=True))
    verdict = parse_verdict(render_report(default_results))
    numbers = [ref for ref in verdict.refs if ref.tag == "data"]
    assert len(numbers) >= 5
    for ref in numbers:
        value = resolve(doc, ref.pointer)
        assert json.loads(ref.value_attr) == value
        check_number(ref.text, value, ref.kind)


def test_results_round_trip_through_json(default_results: Results) -> None:
    again = Results.model_validate_json(default_results.model_dump_json(by_alias=True))
    assert again == default_results


def test_same_seed_same_answer() -> None:
    trace = load_trace(bundled_trace_path())
    kwargs = {"today": TODAY, "sensitivity_samples": 200, "trace_shaped": False, "seed": 7}
    a = analyze(trace, **kwargs)  # type: ignore[arg-type]
    b = analyze(trace, **kwargs)  # type: ignore[arg-type]
    assert a.model_dump(exclude={"generated_at"}) == b.model_dump(exclude={"generated_at"})


def _steady_trace(rate_rps: float, duration_s: float, output_tokens: int) -> Trace:
    n = int(rate_rps * duration_s)
    df = pd.DataFrame(
        {
            "arrival_s": np.arange(n, dtype=np.float64) / rate_rps,
            "input_tokens": np.full(n, 80, dtype=np.int64),
            "output_tokens": np.full(n, output_tokens, dtype=np.int64),
        }
    )
    return Trace(df=df, meta=TraceMeta(source="synthetic:steady", format="synthetic"))


def test_seed_case_serverless_wins_low_and_dedicated_wins_high() -> None:
    # The seed article: gpt-oss-120b on 1x MI300X at $1.88/h vs $0.10/$0.70 per 1M tokens; at ~220 output
    # tokens the closed-form line is ~3.2 req/s. One always-on replica.
    profile = bundled_profile("gpt-oss-120b_1xMI300X_article")
    common = {
        "profiles": [profile],
        "serverless": ["digitalocean/gpt-oss-120b"],
        "gpus": ["digitalocean/gpu-mi300x-1x-article"],
        "policy": AutoscalePolicy(kind="fixed", min_replicas=1, max_replicas=1),
        "today": TODAY,
        "sensitivity_samples": 100,
        "trace_shaped": False,
        "hybrid": False,
    }
    low = analyze(_steady_trace(0.5, 1800, 220), **common)  # type: ignore[arg-type]
    assert low.recommendation.kind == "serverless"
    closed = [r for r in low.breakeven if r.method == "closed_form" and r.output_tokens == 220]
    assert closed[0].breakeven_rps == pytest.approx(3.22, abs=0.01)
    high = analyze(_steady_trace(6.0, 1800, 220), **common)  # type: ignore[arg-type]
    dedicated = high.option("dedicated:digitalocean/gpu-mi300x-1x-article:gpt-oss-120b@1xMI300X")
    serverless = high.option("serverless:digitalocean/gpt-oss-120b")
    assert dedicated.monthly_cost_usd < serverless.monthly_cost_usd


def test_cli_writes_report_and_results_and_rerenders_identically(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["analyze", "--out", str(out), "--today", "2026-11-22", "--samples", "200", "--no-trace-breakeven"]
    )
    assert result.exit_code == 0, result.output
    assert "report:" in result.output and "Run " in result.output
    results_json, report_html = out / "results.json", out / "report.html"
    assert results_json.stat().st_size > 0 and report_html.stat().st_size > 0
    again = tmp_path / "again.html"
    rerender = runner.invoke(app, ["report", str(results_json), "-o", str(again)])
    assert rerender.exit_code == 0, rerender.output
    assert again.read_bytes() == report_html.read_bytes()


def test_cli_synthetic_traffic_and_json(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "analyze",
            "--synthetic",
            "poisson:rate=1,duration=600,input=fixed(80),output=fixed(220)",
            "--profile",
            "gpt-oss-120b_1xMI300X_article",
            "--serverless",
            "digitalocean/gpt-oss-120b",
            "--gpu",
            "digitalocean/gpu-mi300x-1x-article",
            "--policy",
            "fixed:1",
            "--samples",
            "0",
            "--no-trace-breakeven",
            "--out",
            str(tmp_path),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    text = result.stdout
    start = text.index("{\n")  # the JSON document (the verdict goes to stderr)
    doc, _ = json.JSONDecoder().raw_decode(text[start:])
    assert doc["schema"] == "llm-breakeven/results/v1"
    assert doc["trace"]["requests"] > 500
    assert doc["recommendation"]["kind"] == "serverless"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--serverless", "digitalocean/gpt-oss-12b"], "did you mean 'digitalocean/gpt-oss-120b'"),
        (["--gpu", "nebius/h100"], "unknown"),
        (["--policy", "elastic"], "unknown policy kind"),
        (["--profile", "no-such-profile.json"], "no-such-profile.json"),
        (["--trace", "missing.csv"], "missing.csv"),
        (["--trace", "x.csv", "--synthetic", "poisson:rate=1,duration=10"], "found both"),
        (["--output-tokens", "30,abc"], "--output-tokens"),
    ],
)
def test_cli_bad_input_is_one_line_and_writes_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "never"
    result = runner.invoke(app, ["analyze", "--out", str(out), *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_results_convert_to_dataframes(default_results: Results) -> None:
    from costmodel import breakeven_frame, options_frame, timeline_frame  # noqa: PLC0415 - the public API under test

    options = options_frame(default_results)
    assert len(options) == len(default_results.options)
    assert options["monthly_cost_usd"].is_monotonic_increasing
    assert options.loc[options["recommended"], "id"].tolist() == [default_results.recommendation.option_id]
    rows = breakeven_frame(default_results)
    assert set(rows["method"]) == {"closed_form", "capacity", "trace"}
    timeline = timeline_frame(default_results)
    assert default_results.timeline is not None and len(timeline) == len(default_results.timeline.t_s)


def test_long_traces_search_on_a_window_and_scale_the_hybrid() -> None:
    # Nebius H100 against DigitalOcean's 8B price: one always-on replica plus overflow is the cheapest split
    # with the linear fit of the profile's measured points (its replica model is left out: this test is about
    # the windowed search, and the simulated capacity of the 2024 engine makes no hybrid split pay).
    linear = bundled_profile("llama-3.1-8b-fp8_1xH100").model_copy(update={"replica_model": None})
    kwargs = {
        "profiles": [linear],
        "serverless": ["digitalocean/llama3-8b-instruct"],
        "gpus": ["nebius/gpu-h100-1x"],
        "today": TODAY,
        "sensitivity_samples": 0,
    }
    trace = load_trace(bundled_trace_path())
    full = analyze(trace, search_requests=0, **kwargs)  # type: ignore[arg-type]
    windowed = analyze(trace, search_requests=3000, **kwargs)  # type: ignore[arg-type]
    exact = next(o for o in full.options if o.id.startswith("hybrid:"))
    scaled = next(o for o in windowed.options if o.id.startswith("hybrid:"))
    assert any("scaled to all 8,819" in n for n in scaled.notes)
    assert any("used the first 3,000 of 8,819 requests" in w for w in windowed.warnings)
    assert scaled.replicas is not None and exact.replicas is not None
    assert scaled.monthly_cost_usd == pytest.approx(exact.monthly_cost_usd, rel=0.05)
    # Every other option's bill still covers the whole trace, exactly.
    for option in full.options:
        if option.kind != "hybrid":
            assert windowed.option(option.id).total_cost_usd == pytest.approx(option.total_cost_usd, rel=1e-9)


def test_what_ifs_price_tiers_and_nfs_storage_are_noted() -> None:
    # The seed MI300X profile logs 63.3 GiB of weights: the what-if replays the fleet with them read over NFS
    # at the seed article's 420 MB/s (default) and 880 MB/s (tuned): 63.3 GiB / 420 MB/s ~ 162 s of loading.
    results = analyze(
        _steady_trace(0.5, 1800, 220),
        profiles=[bundled_profile("gpt-oss-120b_1xMI300X_article")],
        serverless=["digitalocean/gpt-oss-120b"],
        gpus=["digitalocean/gpu-mi300x-1x-article", "nebius/gpu-h100-1x"],
        today=TODAY,
        sensitivity_samples=0,
        trace_shaped=False,
    )
    mi300x = results.option("dedicated:digitalocean/gpu-mi300x-1x-article:gpt-oss-120b@1xMI300X")
    storage = [n for n in mi300x.notes if n.startswith("what-if, weights over NFS")]
    assert storage and "420 MB/s" in storage[0] and "880 MB/s" in storage[0]
    nebius = results.option("dedicated:nebius/gpu-h100-1x:gpt-oss-120b@1xMI300X")
    assert any(n.startswith("what-if, same fleet at other price tiers") and "spot" in n for n in nebius.notes)
    assert any("measured on MI300X" in w for w in results.warnings)
