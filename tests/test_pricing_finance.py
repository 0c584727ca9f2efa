"""The finance side of the catalog: exact money, one currency per comparison, and the schema for
commitments, spot preemption terms, owned servers, volume tiers and committed spend."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from breakeven.errors import InputError, UnknownNameError
from pricing import bundled_catalog
from pricing.currency import comparison_currency, convert_prices, parse_exchange_rate
from pricing.fileformat import dump_catalog_json, dump_catalog_toml, parse_catalog_json, parse_catalog_toml
from pricing.models import CommitmentTerm, GpuPrice, OwnedServer, TokenPrice, term_months
from pricing.money import (
    annual,
    dec,
    from_micros,
    per_month,
    round_line,
    seconds_cost,
    to_cents,
    to_float,
    to_micros,
    tokens_cost,
    total,
)

BASE = {"as_of": date(2026, 6, 1), "source": "test"}


def gpu(**kw: object) -> GpuPrice:
    fields = {"id": "acme/h100", "provider": "acme", "offering": "h100", "gpu": "H100", "gpu_count": 1}
    return GpuPrice.model_validate(fields | {"hourly_usd": 3.0} | BASE | kw)


def token(**kw: object) -> TokenPrice:
    fields = {"id": "acme/llama", "provider": "acme", "model": "llama"}
    return TokenPrice.model_validate(fields | {"input_usd_per_mtok": 0.2, "output_usd_per_mtok": 0.6} | BASE | kw)


# ------------------------------------------------------------------------------------------------ money


def test_prices_are_read_as_the_decimals_they_were_written_as() -> None:
    assert dec(0.2) == Decimal("0.2")
    assert dec(0.1) + dec(0.2) == Decimal("0.3")  # the float sum is 0.30000000000000004
    assert tokens_cost(1_234_567, 0.20) == Decimal("0.2469134")
    assert seconds_cost(300, 3.39) == Decimal("0.2825")  # five minutes at $3.39/h
    with pytest.raises(ValueError, match="whole number of tokens"):
        tokens_cost(1.5, 0.2)
    with pytest.raises(ValueError, match="finite"):
        dec(float("nan"))


def test_micro_units_round_half_to_even_and_floats_leave_at_the_edge() -> None:
    assert to_micros(Decimal("0.0000005")) == 0
    assert to_micros(Decimal("0.0000015")) == 2
    assert round_line(Decimal("2529.5859715")) == Decimal("2529.585972")
    assert from_micros(123) == Decimal("0.000123")
    assert to_float(Decimal("0.2469134")) == 0.2469134
    assert repr(to_float(Decimal(1) / 3)) == "0.3333333333333333"


def test_totals_are_exact_sums() -> None:
    assert total([0.1, 0.2]) == Decimal("0.3")  # the float sum is 0.30000000000000004
    assert total([Decimal("0.0000004")] * 3) == Decimal("0.0000012")


def test_invoice_rounding_and_months() -> None:
    assert to_cents(Decimal("0.125")) == Decimal("0.13")  # half away from zero, as on an invoice
    assert to_cents(Decimal("-0.125")) == Decimal("-0.13")
    assert per_month(Decimal(1), 3600.0) == Decimal(730)
    assert per_month(Decimal(1), 0.0) == Decimal(0)
    assert annual(Decimal("100.50")) == Decimal("1206.00")


@given(st.lists(st.integers(min_value=0, max_value=10**10), min_size=1, max_size=20))
def test_token_bills_are_exact_whatever_the_counts(counts: list[int]) -> None:
    # Summing the lines and billing the sum give the same micro-units when no line needs rounding.
    lines = [tokens_cost(n, 0.25) for n in counts]
    assert sum(lines, Decimal(0)) == tokens_cost(sum(counts), 0.25)


# --------------------------------------------------------------------------------------------- currency


def test_one_currency_needs_no_rate() -> None:
    assert comparison_currency([gpu(), token()]) == "USD"
    assert comparison_currency([gpu(currency="EUR"), token(currency="EUR")]) == "EUR"
    assert comparison_currency([]) == "USD"


def test_mixed_currencies_are_refused_without_a_rate() -> None:
    with pytest.raises(InputError, match=r"acme/h100 is in EUR.*acme/llama is in USD.*--exchange-rate EUR=RATE"):
        comparison_currency([gpu(currency="EUR"), token()])


def test_mixed_currencies_convert_with_a_given_rate_and_say_so() -> None:
    eur = gpu(currency="EUR", hourly_usd=2.0, commitments=[{"term_months": 12, "hourly_usd": 1.5} | BASE])
    target = comparison_currency([eur, token()], exchange_rates={"EUR": 1.08})
    assert target == "USD"
    converted, same = convert_prices([eur, token()], exchange_rates={"EUR": 1.08}, target=target)
    assert isinstance(converted, GpuPrice)
    assert converted.currency == "USD"
    assert converted.hourly_usd == pytest.approx(2.16)
    assert converted.commitments[0].hourly_usd == pytest.approx(1.62)
    assert converted.gpu_count == 1  # only money fields scale
    assert "converted from EUR at 1 EUR = 1.08 USD" in converted.notes
    assert same == token()


def test_exchange_rate_option_parses_and_rejects() -> None:
    assert parse_exchange_rate("eur=1.08") == ("EUR", 1.08)
    with pytest.raises(InputError, match="expected CODE=RATE"):
        parse_exchange_rate("EURO=1")
    with pytest.raises(InputError, match="positive exchange rate for EUR, found '-1'"):
        parse_exchange_rate("EUR=-1")
    with pytest.raises(InputError, match="ISO 4217"):
        comparison_currency([gpu()], target="XYZ")


# ---------------------------------------------------------------------------------------------- schema


def test_commitment_terms_include_the_older_reserved_fields() -> None:
    price = gpu(
        reserved_hourly_usd=2.0,
        reserved_term="1 year",
        commitments=[{"term_months": 36, "hourly_usd": 1.2, "upfront_usd": 8760.0} | BASE],
    )
    terms = price.commitment_terms()
    assert [t.term_months for t in terms] == [36, 12]
    assert terms[0].effective_hourly_usd == pytest.approx(1.2 + 8760.0 / (36 * 730))
    assert gpu(reserved_hourly_usd=2.0, reserved_term="multi-month").commitment_terms() == ()
    assert (term_months("12 months"), term_months("3 years"), term_months("some")) == (12, 36, None)


def test_commitment_and_spot_terms_must_be_dated_and_sourced() -> None:
    with pytest.raises(ValueError, match="as_of"):
        CommitmentTerm.model_validate({"term_months": 12, "hourly_usd": 1.0, "source": "x"})
    with pytest.raises(ValueError, match="mean_hours_between_preemptions"):
        gpu(spot_preemption={"mean_hours_between_preemptions": 0} | BASE)


def test_volume_tiers_must_be_ordered() -> None:
    tiers = [
        {"above_monthly_tokens": 10**9, "input_usd_per_mtok": 0.1, "output_usd_per_mtok": 0.3},
        {"above_monthly_tokens": 10**8, "input_usd_per_mtok": 0.15, "output_usd_per_mtok": 0.4},
    ]
    with pytest.raises(ValueError, match="volume_tiers: expected strictly increasing"):
        token(volume_tiers=tiers)
    assert token(volume_tiers=tiers[::-1]).volume_tier_mode == "incremental"


def test_owned_server_costs_and_residual_check() -> None:
    owned = OwnedServer.model_validate(
        {
            "id": "us/box",
            "provider": "us",
            "offering": "box",
            "gpu": "H100",
            "gpu_count": 8,
            "purchase_usd": 120_000.0,
            "residual_usd": 24_000.0,
            "depreciation_years": 4,
            "power_w": 6000,
            "electricity_usd_per_kwh": 0.1,
            "hosting_usd_per_month": 1000.0,
        }
        | BASE
    )
    assert owned.depreciation_usd_per_month == pytest.approx(2000.0)
    assert owned.fixed_usd_per_month == pytest.approx(3000.0)
    with pytest.raises(ValueError, match="residual_usd: expected at most purchase_usd"):
        owned.model_validate(owned.model_dump() | {"residual_usd": 200_000.0})


def test_new_fields_round_trip_through_toml_and_json() -> None:
    entries = [
        gpu(
            commitments=[{"term_months": 12, "hourly_usd": 1.91} | BASE],
            spot_hourly_usd=1.0,
            spot_preemption={"notice_s": 60, "mean_hours_between_preemptions": 300.0} | BASE,
        ),
        token(
            volume_tiers=[{"above_monthly_tokens": 10**9, "input_usd_per_mtok": 0.1, "output_usd_per_mtok": 0.3}],
            committed_spend={"monthly_commit_usd": 1000.0, "discount": 0.2, "term_months": 12} | BASE,
        ),
        bundled_catalog().owned("example/dgx-h100-colo"),
    ]
    assert parse_catalog_toml(dump_catalog_toml(entries), source="x.toml") == [entries[1], entries[0], entries[2]]
    assert parse_catalog_json(dump_catalog_json(entries), source="x.json") == entries


# ------------------------------------------------------------------------------------- bundled entries


def test_bundled_commitment_spot_and_owned_entries_are_dated_sourced_and_marked() -> None:
    catalog = bundled_catalog()
    h100 = catalog.gpu("digitalocean/gpu-h100-1x")
    (term,) = h100.commitment_terms()
    assert (term.term_months, term.hourly_usd, term.upfront_usd, term.as_of) == (12, 1.91, 0.0, date(2026, 9, 20))
    assert "[3p]" in term.notes and "[unverified]" in term.notes and "floor" in term.notes
    assert catalog.gpu("digitalocean/gpu-h100-8x").commitment_terms()[0].hourly_usd == pytest.approx(8 * 1.91)
    spot = catalog.gpu("nebius/gpu-h100-1x").spot_preemption
    assert spot is not None and spot.notice_s == 60 and spot.mean_hours_between_preemptions is None
    assert "[doc]" in spot.notes and spot.source.startswith("https://docs.nebius.com/")
    owned = catalog.owned("example/dgx-h100-colo")
    assert owned.gpu_count == 8 and owned.pue == 1.58 and owned.electricity_usd_per_kwh == 0.1199
    assert owned.hosting_usd_per_month == pytest.approx(184.06 * 10.2, abs=0.01)
    assert catalog.origin(owned.id) == "bundled:example.toml"
    with pytest.raises(UnknownNameError, match="'nebius/gpu-h100-1x' is a gpu price"):
        catalog.owned("nebius/gpu-h100-1x")


def test_skypilot_spot_prices_come_with_the_providers_spot_notice() -> None:
    # The real Nebius catalog copy (tests/data/pricing): its H100 and H200 rows have a SpotPrice; the importer
    # attaches Nebius' documented 60 s notice, and no preemption rate (none is published).
    from pathlib import Path  # noqa: PLC0415 - this test alone reads a fixture

    from pricing.importers import read_skypilot  # noqa: PLC0415

    result = read_skypilot(Path(__file__).parent / "data" / "pricing" / "skypilot_nebius_vms.csv")
    spot = [e for e in result.entries if isinstance(e, GpuPrice) and e.spot_hourly_usd is not None]
    assert spot
    for entry in spot:
        assert entry.spot_preemption is not None
        assert entry.spot_preemption.notice_s == 60.0
        assert entry.spot_preemption.mean_hours_between_preemptions is None
        assert entry.spot_preemption.source.startswith("https://docs.nebius.com/")
    assert all(e.spot_preemption is None for e in result.entries if isinstance(e, GpuPrice) and not e.spot_hourly_usd)
