"""Our catalog file format: schema validation and the error messages a user sees for bad entries."""

from __future__ import annotations

import json
import math
from datetime import date

import pytest

from breakeven.errors import InputError
from pricing.fileformat import (
    dump_catalog_json,
    dump_catalog_toml,
    parse_catalog_json,
    parse_catalog_toml,
)
from pricing.models import GpuPrice, LongContextTier, RateLimits, TokenPrice

GOOD_TOKEN = """
[[token]]
id = "acme/llama-70b"
provider = "acme"
model = "llama-70b"
input_usd_per_mtok = 0.5
output_usd_per_mtok = 1.5
as_of = 2026-10-01
source = "https://acme.example/pricing"
"""

GOOD_GPU = """
[[gpu]]
id = "acme/gpu-h100-1x"
provider = "acme"
offering = "h100-1"
gpu = "H100"
gpu_count = 1
hourly_usd = 2.5
as_of = 2026-10-01
source = "https://acme.example/gpus"
"""


def _token(extra: str = "", drop: str | None = None) -> str:
    lines = [line for line in GOOD_TOKEN.strip().splitlines() if drop is None or not line.startswith(drop)]
    return "\n".join(lines) + "\n" + extra


def test_valid_entries_parse_with_defaults() -> None:
    entries = parse_catalog_toml(GOOD_TOKEN + GOOD_GPU, source="team.toml")
    token, gpu = entries
    assert isinstance(token, TokenPrice) and isinstance(gpu, GpuPrice)
    assert token.currency == "USD" and token.as_of == date(2026, 10, 1)
    assert token.cached_input_usd_per_mtok is None and token.long_context_tiers == ()
    assert gpu.billing_increment_s == 1 and gpu.minimum_billed_s == 60
    assert gpu.gpu_hourly_usd == 2.5


def test_currency_is_normalised_to_upper_case() -> None:
    (entry,) = parse_catalog_toml(_token('currency = "eur"\n'), source="team.toml")
    assert entry.currency == "EUR"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (_token("colour = 'blue'\n"), ["team.toml", "'acme/llama-70b'", "field 'colour'", "unknown field", "model"]),
        (
            _token().replace("input_usd_per_mtok = 0.5", "input_usd_per_mtok = -0.5"),
            ["team.toml", "'acme/llama-70b'", "field 'input_usd_per_mtok'", "non-negative", "-0.5"],
        ),
        (
            _token().replace("output_usd_per_mtok = 1.5", "output_usd_per_mtok = nan"),
            ["team.toml", "'acme/llama-70b'", "field 'output_usd_per_mtok'", "finite", "nan"],
        ),
        (
            _token().replace("output_usd_per_mtok = 1.5", "output_usd_per_mtok = inf"),
            ["field 'output_usd_per_mtok'", "finite", "inf"],
        ),
        (_token(drop="as_of"), ["team.toml", "'acme/llama-70b'", "field 'as_of'", "missing"]),
        (_token(drop="source"), ["team.toml", "'acme/llama-70b'", "field 'source'", "missing"]),
        (_token('currency = "XYZ"\n'), ["team.toml", "'acme/llama-70b'", "field 'currency'", "ISO 4217", "'XYZ'"]),
        (_token().replace("as_of = 2026-10-01", 'as_of = "soon"'), ["field 'as_of'", "'soon'"]),
        (
            _token().replace('id = "acme/llama-70b"', 'id = "Acme Llama"'),
            ["field 'id'", "provider/name", "'Acme Llama'"],
        ),
        (
            _token("long_context_tiers = [{ above_input_tokens = 1000, input_usd_per_mtok = 1.0 }]\n"),
            ["field 'long_context_tiers[0].output_usd_per_mtok'", "missing"],
        ),
        (
            _token("rate_limits = { requests_per_minute = 60, rps = 1 }\n"),
            ["field 'rate_limits.rps'", "unknown field", "requests_per_minute"],
        ),
    ],
    ids=[
        "unknown-field",
        "negative",
        "nan",
        "inf",
        "missing-as_of",
        "missing-source",
        "unknown-currency",
        "bad-date",
        "bad-id",
        "tier-missing-output",
        "nested-unknown-field",
    ],
)
def test_bad_entries_name_file_entry_and_field(text: str, expected: list[str]) -> None:
    with pytest.raises(InputError) as info:
        parse_catalog_toml(text, source="team.toml")
    message = str(info.value)
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"
    assert "\n" not in message and "pydantic" not in message.lower()


def test_entry_without_id_is_located_by_position() -> None:
    with pytest.raises(InputError, match=r"team\.toml: \[\[gpu\]\] #1 \(no id\), field 'id': missing"):
        parse_catalog_toml(GOOD_GPU.replace('id = "acme/gpu-h100-1x"\n', ""), source="team.toml")


def test_duplicate_ids_in_one_file_are_an_error() -> None:
    with pytest.raises(InputError) as info:
        parse_catalog_toml(GOOD_TOKEN + GOOD_TOKEN, source="team.toml")
    message = str(info.value)
    assert "team.toml" in message and "'acme/llama-70b'" in message and "field 'id'" in message
    assert "duplicate" in message and "[[token]] #1 and [[token]] #2" in message


def test_duplicate_ids_across_kinds_are_an_error() -> None:
    clash = GOOD_GPU.replace("acme/gpu-h100-1x", "acme/llama-70b")
    with pytest.raises(InputError, match="duplicate id"):
        parse_catalog_toml(GOOD_TOKEN + clash, source="team.toml")


def test_unknown_table_lists_the_valid_ones() -> None:
    with pytest.raises(InputError, match=r"unknown table 'tokens'.*valid tables: gpu, owned, token"):
        parse_catalog_toml(GOOD_TOKEN.replace("[[token]]", "[[tokens]]"), source="team.toml")


def test_kind_inside_the_wrong_table_is_an_error() -> None:
    with pytest.raises(InputError, match=r"field 'kind': expected 'token' inside \[\[token\]\], found 'gpu'"):
        parse_catalog_toml(_token('kind = "gpu"\n'), source="team.toml")


def test_toml_syntax_error_names_the_file_and_line() -> None:
    with pytest.raises(InputError, match=r"team\.toml: not valid TOML .*line 3"):
        parse_catalog_toml('[[token]]\nid = "a/b"\nprovider = \n', source="team.toml")


def test_json_list_form_with_bad_kind() -> None:
    payload = json.dumps([{"kind": "tpu", "id": "acme/x"}])
    with pytest.raises(InputError, match=r"entry #1 \('acme/x'\), field 'kind': expected one of 'token', 'gpu'"):
        parse_catalog_json(payload, source="team.json")


def test_json_syntax_error_names_the_line() -> None:
    with pytest.raises(InputError, match=r"team\.json:2: not valid JSON"):
        parse_catalog_json('[\n{"kind": }]', source="team.json")


def test_json_nan_is_rejected() -> None:
    entry = {
        "kind": "token",
        "id": "acme/x",
        "provider": "acme",
        "model": "x",
        "input_usd_per_mtok": math.nan,
        "output_usd_per_mtok": 1,
        "as_of": "2026-01-01",
        "source": "s",
    }
    with pytest.raises(InputError, match=r"entry 'acme/x', field 'input_usd_per_mtok': expected a finite number"):
        parse_catalog_json(json.dumps([entry]), source="team.json")


def _rich_entries() -> list[TokenPrice | GpuPrice]:
    return [
        TokenPrice(
            id="acme/model-x",
            provider="acme",
            model="model-x",
            input_usd_per_mtok=0.1,
            output_usd_per_mtok=0.7,
            cached_input_usd_per_mtok=0.025,
            batch_discount=0.5,
            long_context_tiers=(
                LongContextTier(above_input_tokens=128_000, input_usd_per_mtok=0.2, output_usd_per_mtok=1.4),
            ),
            rate_limits=RateLimits(requests_per_minute=600, tokens_per_minute=1e6, tier="free"),
            context_window_tokens=131_072,
            currency="EUR",
            as_of=date(2026, 6, 23),
            source='A "quoted" source\nwith a newline and ünïcode',
            notes="[doc] test",
        ),
        GpuPrice(
            id="acme/gpu-h100-8x",
            provider="acme",
            offering="h100x8",
            gpu="H100",
            gpu_count=8,
            gpu_memory_gib=80.0,
            hourly_usd=23.92,
            reserved_hourly_usd=15.0,
            reserved_term="12 months",
            spot_hourly_usd=10.0,
            billing_increment_s=1,
            minimum_billed_s=300,
            regions=("tor1", "nyc2"),
            as_of=date(2026, 5, 28),
            source="https://acme.example",
        ),
    ]


def test_toml_writer_round_trips_every_field() -> None:
    entries = _rich_entries()
    text = dump_catalog_toml(entries, header="line one\nline two")
    assert text.startswith("# line one\n# line two\n")
    assert parse_catalog_toml(text, source="out.toml") == entries


def test_json_writer_round_trips_every_field() -> None:
    entries = _rich_entries()
    assert parse_catalog_json(dump_catalog_json(entries), source="out.json") == entries


def test_json_object_form_mirrors_toml() -> None:
    entries = _rich_entries()
    listed = json.loads(dump_catalog_json(entries))
    payload = {"token": [e for e in listed if e["kind"] == "token"], "gpu": [e for e in listed if e["kind"] == "gpu"]}
    assert parse_catalog_json(json.dumps(payload), source="out.json") == entries
