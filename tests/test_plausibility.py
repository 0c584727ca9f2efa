"""Size and plausibility checks at the edges, one test each (the CLI's view of them is in the bad-input corpus)."""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from breakeven.errors import InputError
from breakeven.io import check_utf8, text_encoding
from breakeven.plausibility import (
    WARNINGS,
    accepted,
    accepting,
    human_bytes,
    is_notice,
    memory_budget,
    notice,
    parse_size,
    require_memory,
    require_requests,
)
from costmodel.analyze import bundled_trace
from costmodel.checks import check_prices, check_trace, profile_problem
from costmodel.profiles import bundled_profile, parse_profile
from costmodel.profiles.importers.vllm_log import parse_vllm_log, unmarkdown
from costmodel.replay import from_arrays, replay_dedicated
from costmodel.replay.hybrid import route_by_output
from costmodel.results import AutoscalePolicy, CostCurve, Slo
from costmodel.sensitivity import check_samples
from costmodel.service import ReplicaService
from costmodel.steps.breakeven import steady_hybrid as _steady_hybrid
from pricing import load_catalog
from pricing.models import TokenPrice
from pricing.plausibility import catalog_warnings, gpu_price_warning, token_price_warning
from reports.consistency import check_consistency
from reports.render import load_results, render_report
from tests.test_replay_dedicated import gpu as _gpu  # the hand-written H100 test price
from traces import Trace, generators, load_trace, scale_rate
from traces.lengths import Fixed, Lengths
from traces.model import TraceMeta

BAD = Path(__file__).parent / "data" / "bad"
SERVICE = ReplicaService(8.0, 0.5, 50.0, 0.05, 1.0, slots=3)


def _trace(arrivals: list[float], name: str = "t.csv") -> Trace:
    n = len(arrivals)
    df = pd.DataFrame({"arrival_s": arrivals, "input_tokens": np.full(n, 500), "output_tokens": np.full(n, 30)})
    return Trace(df=df, meta=TraceMeta(source=name))


# ------------------------------------------------------------------------------------------ warnings


def test_a_warning_names_its_code_and_can_be_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    assert notice("price-tiny", "x = 2e-07") == "x = 2e-07 [price-tiny]"
    assert is_notice("x = 2e-07 [price-tiny]") and not is_notice("sorted 3 rows [by time]")
    monkeypatch.setenv("BREAKEVEN_ACCEPT", "trace-short, price-tiny")
    assert notice("price-tiny", "x") is None and accepted("trace-short") and not accepted("price-huge")
    monkeypatch.setenv("BREAKEVEN_ACCEPT", "all")
    assert all(accepted(code) for code in WARNINGS)
    monkeypatch.delenv("BREAKEVEN_ACCEPT")
    with accepting("price-huge"):
        assert notice("price-huge", "x") is None
    assert notice("price-huge", "x") is not None
    with pytest.raises(KeyError):
        notice("no-such-code", "x")


def test_every_warning_code_is_documented() -> None:
    docs = (Path(__file__).parents[1] / "docs" / "errors.md").read_text()
    for code in WARNINGS:
        assert f"| `{code}` |" in docs, code
    assert "BREAKEVEN_ACCEPT" in docs and "BREAKEVEN_MEMORY_BUDGET" in docs
    assert "(docs/errors.md)" in (Path(__file__).parents[1] / "README.md").read_text()


def test_the_bundled_catalog_raises_no_price_warning() -> None:
    assert catalog_warnings(load_catalog()) == []


@pytest.mark.parametrize(
    ("value", "code", "number", "fix"),
    [
        (2e-7, "price-tiny", "= 2e-07 USD per 1M tokens is below any real price", "the per-1M price is 0.2"),
        (60000.0, "price-huge", "= 60,000 USD per 1M tokens is above any real price", "it is 0.06 per 1M"),
        (0.2, None, None, None),
    ],
)
def test_token_prices_in_a_wrong_unit(value: float, code: str | None, number: str | None, fix: str | None) -> None:
    found = token_price_warning(value, field="p: input_usd_per_mtok")
    if code is None:
        assert found is None
    else:
        assert found is not None and found.endswith(f"[{code}]")
        assert f"p: input_usd_per_mtok {number}" in found and str(fix) in found


def test_gpu_prices_in_a_wrong_unit() -> None:
    monthly = gpu_price_warning(1800.0, field="g: hourly_usd")
    assert monthly is not None and "hourly price is 2.466" in monthly and monthly.endswith("[gpu-price-huge]")
    per_second = gpu_price_warning(0.00075, field="g: hourly_usd")
    assert per_second is not None and "if per second 2.7" in per_second
    assert gpu_price_warning(3.39, field="g") is None and gpu_price_warning(0.0, field="g") is None


def test_trace_unit_warnings_name_the_number_and_the_fix() -> None:
    fast = load_trace(BAD / "traces" / "seconds_read_as_ms.jsonl")
    assert any("2,020 req/s" in w and "--time-unit s" in w for w in fast.meta.warnings)
    slow = load_trace(BAD / "traces" / "ms_read_as_s.csv")
    assert any("only 30 requests over 1.01 days" in w and "--time-unit ms" in w for w in slow.meta.warnings)
    with accepting("trace-rate-low"):
        assert not any("[trace-rate-low]" in w for w in load_trace(BAD / "traces" / "ms_read_as_s.csv").meta.warnings)
    ok = load_trace(Path(__file__).parent / "data" / "traces" / "AzureLLMInferenceTrace_code.csv")
    assert not any(is_notice(w) for w in ok.meta.warnings)


# ---------------------------------------------------------------------------------------------- size


def test_memory_budget_and_sizes(monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_size("16G", where="x") == 16 << 30
    assert parse_size("512m", where="x") == 512 << 20
    assert parse_size("none", where="x") is None
    with pytest.raises(InputError, match="expected a size like 16G"):
        parse_size("lots", where="x")
    monkeypatch.setenv("BREAKEVEN_MEMORY_BUDGET", "1G")
    assert memory_budget() == 1 << 30
    require_memory(1 << 29, where="w", what="half")
    with pytest.raises(InputError, match=r"w: twice would need about 2\.0 GiB of memory; expected at most 1\.0 GiB"):
        require_memory(2 << 30, where="w", what="twice")
    with pytest.raises(InputError, match="expected a finite number of requests"):
        require_requests(float("inf"), where="w", what="x")
    monkeypatch.setenv("BREAKEVEN_MEMORY_BUDGET", "none")
    require_memory(1e30, where="w", what="anything")  # the explicit go-ahead
    assert human_bytes(1536) == "1.5 KiB"


def test_generators_refuse_before_allocating(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BREAKEVEN_MEMORY_BUDGET", "1G")
    lengths = Lengths(input=Fixed(10), output=Fixed(10))
    started = time.perf_counter()
    with pytest.raises(InputError, match="would need about"):
        generators.poisson(1e12, 86400, lengths, np.random.default_rng(0))
    with pytest.raises(InputError, match="would need about"):
        generators.diurnal(1.0, 1e15, lengths, np.random.default_rng(0))
    assert time.perf_counter() - started < 1.0


def test_an_analysis_in_memory_is_sized_before_it_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    # sized at 200 B a request (bench_analyze measured ~110 B at 5 M requests): 8,819 requests need ~1.7 MiB
    trace = bundled_trace()
    monkeypatch.setenv("BREAKEVEN_MEMORY_BUDGET", "1M")
    with pytest.raises(InputError, match=r"analysing it \(8,819 requests at ~200 B each\) would need about 1\.7 MiB"):
        check_trace(trace)
    monkeypatch.setenv("BREAKEVEN_MEMORY_BUDGET", "2M")
    check_trace(trace)


def test_monte_carlo_draws_are_sized(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BREAKEVEN_MEMORY_BUDGET", "1G")
    check_samples(2000)
    with pytest.raises(InputError, match="a Monte Carlo of 1,000,000,000 draws would need"):
        check_samples(10**9)


def test_the_steady_hybrid_curve_does_not_build_a_replicas_by_rates_matrix() -> None:
    # A per-token price typed into a per-1M field pushes the rate axis to millions of req/s; with a small
    # replica capacity the old matrix had ~1e7 rows x 200 rates (16 GB). Three candidates per rate now.
    rates = np.linspace(0, 5e6, 200)
    curve = CostCurve(
        rps=list(rates), serverless_monthly_usd=list(rates), dedicated_monthly_usd=list(rates), user_rps=0.0
    )
    started = time.perf_counter()
    out = _steady_hybrid(curve, hourly=3.39, capacity_rps=0.5, per_request=4e-10)
    assert time.perf_counter() - started < 0.5
    # Brute force on a few rates: min over every N of N*h + overflow*3600*c.
    for r, got in list(zip(rates, out, strict=True))[::40]:
        n = np.arange(0, int(r / 0.5) + 3)
        best = (n * 3.39 + np.maximum(r - n * 0.5, 0) * 3600 * 4e-10).min() * 730
        assert got == pytest.approx(best)


def test_scale_rate_refuses_to_stretch_a_trace_past_a_century() -> None:
    trace = load_trace(BAD / "traces" / "ok.csv")
    with pytest.raises(InputError, match="stretches the trace's 60 s"):
        scale_rate(trace, 1e-300)
    assert len(scale_rate(trace, 0.5)) == len(trace)


# ----------------------------------------------------------------------------------- wrong answers


def test_a_trace_without_duration_is_refused_and_a_short_one_warned() -> None:
    with pytest.raises(InputError, match=r"spans 0 s \(one request\)"):
        check_trace(_trace([0.0]))
    with pytest.raises(InputError, match=r"spans 2\.2e-311 s"):
        check_trace(_trace([0.0, 2.2e-311]))
    (warning,) = check_trace(_trace([0.0, 0.004, 0.009], "nine.csv"))
    assert "nine.csv: the trace spans only 0.009 s" in warning and "x292,000,000" in warning
    assert check_trace(_trace([0.0, 30.0, 61.0])) == []


def test_a_denormal_trace_span_replays_without_overflow() -> None:
    # Was a flaky hypothesis failure: a RuntimeWarning (overflow) in the timeline for arrivals=[2.2e-311].
    trace = from_arrays(np.array([2.2e-311]), np.full(1, 500), np.full(1, 30))
    out = replay_dedicated(trace, SERVICE, _gpu(), policy=AutoscalePolicy(), cold_start_s=5.0, slo=Slo())
    assert out.timeline.bin_s >= 1e-3


def test_unserved_requests_count_against_an_option() -> None:
    trace = from_arrays(np.linspace(0, 600, 50), np.full(50, 500), np.r_[np.full(25, 10), np.full(25, 400)])
    none = AutoscalePolicy(kind="fixed", min_replicas=0, max_replicas=1)
    replay = replay_dedicated(trace, SERVICE, _gpu(), policy=none, slo=Slo(attainment_target=0.01))
    assert replay.unserved > 0
    assert replay.option(id="d", label="d", slo=Slo(attainment_target=0.01)).meets_slo is False
    # Routing the long half to a fleet that serves nothing must not pass, however low the target.
    token = load_catalog().token("digitalocean/llama3-8b-instruct")
    search = route_by_output(trace, SERVICE, _gpu(), token, policy=none, slo=Slo(attainment_target=0.4))
    assert all(not c.meets_slo for c in search.candidates if c.serverless_share < 1.0)


def test_mixed_currencies_are_refused_unless_one() -> None:
    catalog = load_catalog()
    token = catalog.token("digitalocean/llama3-8b-instruct")
    eur = _gpu(currency="EUR")
    with pytest.raises(InputError, match=r"USD; test/gpu-h100-1x is in EUR\); expected one currency"):
        check_prices([token], [eur])
    assert check_prices([token], [_gpu()]) == []
    tiny = TokenPrice.model_validate(
        token.model_dump() | {"id": "t/x", "input_usd_per_mtok": 2e-7, "output_usd_per_mtok": 0.2}
    )
    assert [w for w in check_prices([tiny], [_gpu()]) if "[price-tiny]" in w]


def test_a_profile_without_warm_points_is_named_before_analysis() -> None:
    assert profile_problem(bundled_profile("llama-3.1-8b-fp8_1xH100")) is None
    empty = parse_profile((BAD / "profiles" / "no_warm_table.json").read_bytes())
    assert "no usable warm point" in (profile_problem(empty) or "")


# ---------------------------------------------------------------------------------- odd inputs read


def test_markdown_around_numbers_in_pasted_vllm_logs() -> None:
    assert unmarkdown("Loading weights took **7.51 s**") == "Loading weights took 7.51 s"
    assert unmarkdown("took `14.99` GiB and *8.02* seconds") == "took 14.99 GiB and 8.02 seconds"
    assert unmarkdown("set `gpu_memory_utilization` higher") == "set `gpu_memory_utilization` higher"
    log = parse_vllm_log(
        "INFO 09-18 10:00:00 api_server.py:1] vLLM API server version 0.10.1\n"
        "INFO 09-18 10:00:30 [default_loader.py:262] Loading weights took **7.51** seconds\n"
        "INFO 09-18 10:00:40 [backends.py:1] torch.compile takes `4.2 s` in total\n"
        "INFO 09-18 10:00:50 [core.py:193] init engine (profile, create kv cache, warmup model) took *19.40* s\n"
    )
    (run,) = log.runs
    assert run.phases.weights_load_s == pytest.approx(7.51) and run.phases.engine_init_s == pytest.approx(19.40)
    assert run.phases.compile_s == pytest.approx(4.2)


@pytest.mark.parametrize(
    ("codec", "name"), [("utf-16", "UTF-16 LE"), ("utf-16-be", "UTF-16 BE"), ("utf-32", "UTF-32 LE")]
)
def test_utf16_and_utf32_text_is_named(codec: str, name: str) -> None:
    data = "arrival_s,input_tokens,output_tokens\n0,1,2\n".encode(codec)
    assert text_encoding(data) == name
    with pytest.raises(InputError, match=f"the file is {name} text; expected UTF-8"):
        check_utf8(data, "t.csv")
    assert text_encoding(b"arrival_s,input_tokens\n") is None


def test_a_saved_results_file_is_consistent_or_refused() -> None:
    results = load_results(BAD / "results" / "valid.json")
    check_consistency(results)
    assert "<html" in render_report(results)
    with pytest.raises(InputError, match=r"key 'recommendation\.option_id'"):
        load_results(io.BytesIO((BAD / "results" / "recommends_missing_option.json").read_bytes()))
