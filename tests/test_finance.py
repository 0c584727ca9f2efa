"""analyze with finance-grade options: the committed mix billed as a commitment, the spot fleet with its
preemptions, owned servers, volume-priced tokens, unit economics on every option, one currency, and one
headline break-even — on the bundled scenario (real trace, real profile, bundled prices) and small cases."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from breakeven.errors import InputError
from costmodel import analyze
from costmodel.cli import app
from costmodel.finance import FinanceRequest, parse_commitment
from costmodel.results import Results
from pricing.money import HOURS_PER_MONTH

TODAY = date(2026, 11, 22)
runner = CliRunner()


def d(value: float) -> Decimal:
    return Decimal(repr(value))


@pytest.fixture(scope="module")
def bundled() -> Results:
    return analyze(today=TODAY, sensitivity_samples=0)


def test_the_bundled_scenario_adds_a_committed_and_a_spot_option(bundled: Results) -> None:
    pricing = {o.pricing for o in bundled.options}
    assert {"per_token", "on_demand", "committed", "spot"} <= pricing
    committed = next(o for o in bundled.options if o.pricing == "committed")
    c = committed.commitment
    assert c is not None and c.base == "committed" and c.term_months == 12 and c.hourly_usd == 1.91
    assert committed.label.startswith(f"Commit {c.replicas}× H100 (digitalocean) for 12 months")
    # Billed as a commitment: every hour of the month, busy or idle, plus what runs above it.
    assert d(c.monthly_base_usd) == c.replicas * HOURS_PER_MONTH * Decimal("1.91")
    assert c.obligation_usd == pytest.approx(c.replicas * 1.91 * 12 * 730)
    assert c.breakeven_utilization == pytest.approx(1.91 / 3.39)
    assert committed.monthly_cost_usd == pytest.approx(
        c.monthly_base_usd + c.monthly_on_demand_usd + c.monthly_serverless_usd, rel=1e-9
    )
    # The planner's search is in results.json for the chart, linked to the option.
    (plan,) = [p for p in bundled.commitment_plans if p.option_id == committed.id]
    assert plan.base_id == "digitalocean/gpu-h100-1x" and plan.term_months == 12
    assert plan.hours_share[0] == pytest.approx(1.0)  # min 1 replica: the first runs every hour
    assert {p.mode for p in plan.evaluated} == {"on_demand", "serverless", "on_demand+serverless"}


def test_the_spot_option_carries_its_preemption_model(bundled: Results) -> None:
    spot = next(o for o in bundled.options if o.pricing == "spot")
    s = spot.spot
    assert s is not None and spot.gpu_price_id == "nebius/gpu-h100-1x"
    assert s.rate_source == "assumed" and s.mean_hours_between_preemptions == 300.0
    assert s.notice_s == 60.0 and s.capacity_gap_s == pytest.approx(max(0.0, s.cold_start_s - 60.0))
    assert s.on_demand_option_id == "dedicated:nebius/gpu-h100-1x:llama-3.1-8b-fp8@1xH100"
    assert [w.mean_hours_between_preemptions for w in s.what_if] == [24.0, 3800.0]
    assert s.what_if[0].monthly_cost_usd >= s.what_if[1].monthly_cost_usd
    # The expected preemptions' billed time is in the GPU bill, which still equals billed hours × price.
    assert spot.gpu_costs is not None and spot.gpu_costs.tier == "spot"
    assert spot.total_cost_usd == pytest.approx(spot.gpu_costs.hours.total * spot.gpu_costs.hourly_usd, rel=1e-9)
    assert "assumed 300 h" in " ".join(bundled.inputs.assumptions)
    on_demand = bundled.option(s.on_demand_option_id)
    assert spot.monthly_cost_usd < on_demand.monthly_cost_usd


def test_every_option_has_unit_economics_and_an_annual_cost(bundled: Results) -> None:
    t = bundled.trace
    for option in bundled.options:
        units = option.unit_costs
        assert units is not None and option.annual_cost_usd is not None, option.id
        assert d(option.annual_cost_usd) == pytest.approx(d(option.monthly_cost_usd) * 12, abs=Decimal("1e-9"))
        assert units.usd_per_1k_requests * t.requests / 1000 == pytest.approx(option.total_cost_usd, rel=1e-9)
        split = units.usd_per_mtok_input * t.input_tokens_total + units.usd_per_mtok_output * t.output_tokens_total
        assert split / 1e6 == pytest.approx(option.total_cost_usd, rel=1e-9)
    # A serverless option's cost per 1M tokens is exactly its price list.
    deepinfra = bundled.option("serverless:deepinfra/meta-llama/Meta-Llama-3.1-8B-Instruct").unit_costs
    assert deepinfra is not None and (deepinfra.usd_per_mtok_input, deepinfra.usd_per_mtok_output) == (0.03, 0.05)
    # No rounding dust in any bill: the surcharge of a price without long-context tiers is exactly zero.
    for option in bundled.options:
        if option.token_costs is not None:
            assert option.token_costs.long_context_extra_usd == 0.0


def test_one_headline_break_even_and_the_others_explained(bundled: Results) -> None:
    rec = bundled.recommendation
    lines = rec.breakeven_lines
    assert [line.method for line in lines] == ["trace", "capacity", "closed_form"]
    assert lines[0].role == "headline" and all(line.role == "context" for line in lines[1:])
    assert lines[0].breakeven_rps == rec.breakeven_rps and rec.breakeven_method == "trace"
    assert "how your traffic actually arrives" in lines[0].why
    assert "steady traffic" in lines[1].meaning and "seed article's formula" in lines[2].meaning
    text = " ".join(rec.details)
    assert "trace-shaped break-even, the one to sign" in text  # whether dedicated is ever cheaper or never
    assert "capacity-aware break-even" in text and "answers another question" in text


def test_finance_inputs_are_recorded(bundled: Results) -> None:
    assert bundled.inputs.currency == "USD" and bundled.inputs.exchange_rates == {}
    f = bundled.inputs.finance
    assert f is not None and f.commitment == "auto" and f.spot and f.growth == 1.0


def test_a_given_commitment_owned_servers_and_switches() -> None:
    request = FinanceRequest(commitment=3, spot=False, owned=("example/dgx-h100-colo",), owned_servers=1)
    r = analyze(today=TODAY, sensitivity_samples=0, trace_shaped=False, finance=request)
    committed = next(o for o in r.options if o.pricing == "committed")
    assert committed.commitment is not None and committed.commitment.replicas == 3
    assert all(o.pricing != "spot" for o in r.options)
    owned = next(o for o in r.options if o.pricing == "owned")
    assert owned.commitment is not None and owned.commitment.servers == 1 and owned.commitment.replicas == 8
    assert owned.label.startswith("Own 1× NVIDIA DGX H100")
    assert "example/dgx-h100-colo" in {p.price.id for p in r.prices}
    none = analyze(today=TODAY, sensitivity_samples=0, trace_shaped=False, finance=FinanceRequest(commitment="none"))
    assert all(o.pricing != "committed" for o in none.options)


def test_a_commitment_needs_a_committed_price_and_reserved_is_refused() -> None:
    with pytest.raises(InputError, match=r"--commitment 2: none of the GPU prices compared \(nebius/gpu-h100-1x\)"):
        analyze(gpus=["nebius/gpu-h100-1x"], today=TODAY, sensitivity_samples=0, finance=FinanceRequest(commitment=2))
    with pytest.raises(InputError, match="--price-tier reserved: a reserved price is a commitment"):
        analyze(today=TODAY, sensitivity_samples=0, price_tier="reserved")
    with pytest.raises(InputError, match="expected auto, none or a replica count"):
        parse_commitment("some")


EURO_PRICE = """
[[token]]
id = "acme/llama-8b-eur"
provider = "acme"
model = "llama-8b"
input_usd_per_mtok = 0.10
output_usd_per_mtok = 0.10
currency = "EUR"
as_of = 2026-11-01
source = "a test contract"
notes = "[doc] test entry"
"""

TIERED_PRICE = """
[[token]]
id = "acme/llama-8b-tiered"
provider = "acme"
model = "llama-8b"
input_usd_per_mtok = 0.20
output_usd_per_mtok = 0.20
as_of = 2026-11-01
source = "a test price list"
notes = "[doc] test entry"
volume_tiers = [{ above_monthly_tokens = 1000000000, input_usd_per_mtok = 0.10, output_usd_per_mtok = 0.10 }]
"""


def test_mixed_currencies_are_refused_unless_a_rate_is_given(tmp_path) -> None:
    path = tmp_path / "eur.toml"
    path.write_text(EURO_PRICE)
    kw = {
        "serverless": ["acme/llama-8b-eur"],
        "gpus": ["nebius/gpu-h100-1x"],
        "price_files": [str(path)],
        "today": TODAY,
        "sensitivity_samples": 0,
        "trace_shaped": False,
    }
    with pytest.raises(InputError, match=r"acme/llama-8b-eur is in EUR.*--exchange-rate EUR=RATE"):
        analyze(**kw)  # type: ignore[arg-type]
    r = analyze(**kw, finance=FinanceRequest(exchange_rates={"EUR": 1.5}))  # type: ignore[arg-type]
    assert r.inputs.currency == "USD" and r.inputs.exchange_rates == {"EUR": 1.5}
    used = next(p for p in r.prices if p.price.id == "acme/llama-8b-eur")
    assert used.price.currency == "USD" and "converted from EUR at 1 EUR = 1.5 USD" in used.price.notes
    bill = r.option("serverless:acme/llama-8b-eur").token_costs
    assert bill is not None
    tokens = r.trace.input_tokens_total + r.trace.output_tokens_total
    assert bill.total_usd == pytest.approx(tokens * 0.15 / 1e6, rel=1e-12)  # €0.10 × 1.5 per 1M tokens


def test_volume_tiers_bill_the_month_by_its_volume(tmp_path) -> None:
    # The bundled trace at its rate is ~13.4 bn tokens a month: past 1 bn, the price halves (incremental tier).
    path = tmp_path / "tiered.toml"
    path.write_text(TIERED_PRICE)
    r = analyze(
        serverless=["acme/llama-8b-tiered", "digitalocean/llama3-8b-instruct"],
        gpus=["nebius/gpu-h100-1x"],
        price_files=[str(path)],
        today=TODAY,
        sensitivity_samples=0,
        trace_shaped=False,
    )
    tiered = r.option("serverless:acme/llama-8b-tiered")
    linear = r.option("serverless:digitalocean/llama3-8b-instruct")  # the same $0.20 / $0.20 without tiers
    months = linear.monthly_cost_usd / linear.total_cost_usd  # the window scaled to a 730-hour month
    tokens = (r.trace.input_tokens_total + r.trace.output_tokens_total) * months
    expected = (1e9 * 0.20 + (tokens - 1e9) * 0.10) / 1e6
    assert tiered.monthly_cost_usd == pytest.approx(expected, rel=1e-6)
    assert tiered.monthly_cost_usd < linear.monthly_cost_usd
    assert any("volume pricing" in n for n in tiered.notes)


def test_analyze_cli_takes_the_finance_options(tmp_path) -> None:
    out = tmp_path / "report"
    args = ["analyze", "--today", "2026-11-22", "--samples", "0", "--no-trace-breakeven", "--out", str(out)]
    result = runner.invoke(
        app,
        [
            *args,
            "--commitment",
            "2",
            "--spot-mtbp-hours",
            "48",
            "--lost-requests",
            "fail",
            "--owned",
            "example/dgx-h100-colo",
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "results.json").read_text())
    f = doc["inputs"]["finance"]
    assert (f["commitment"], f["spot_mtbp_hours"], f["lost_requests"], f["owned"]) == (
        "2",
        48.0,
        "fail",
        ["example/dgx-h100-colo"],
    )
    spot = next(o for o in doc["options"] if o["pricing"] == "spot")
    assert spot["spot"]["rate_source"] == "given" and spot["spot"]["lost_requests"] == "fail"
    html = (out / "report.html").read_text()
    assert 'id="chart-commitment-cost"' in html and "Commitments: how many replicas to commit" in html
    bad = runner.invoke(app, [*args, "--exchange-rate", "EUR=-1"])
    assert bad.exit_code == 2 and "positive exchange rate for EUR" in bad.output
