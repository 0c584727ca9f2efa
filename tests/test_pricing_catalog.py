"""Catalog loading: layering user files over the bundled catalog, origins, staleness, format detection
and lookups of unknown ids."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from breakeven.errors import InputError, UnknownNameError
from pricing.catalog import Catalog, Origin, bundled_catalog, load_catalog
from pricing.loading import PriceFormat, detect_format, read_price_file
from tests.conftest import DATA

PRICES = DATA / "pricing"

TEAM = """
[[token]]
id = "digitalocean/gpt-oss-120b"
provider = "digitalocean"
model = "gpt-oss-120b"
input_usd_per_mtok = 0.09
output_usd_per_mtok = 0.60
as_of = 2026-11-01
source = "our DO account manager, email of 2026-11-01"
notes = "[doc] negotiated"

[[gpu]]
id = "team/gpu-h100-1x"
provider = "team"
offering = "colo-h100"
gpu = "H100"
gpu_count = 1
hourly_usd = 2.10
minimum_billed_s = 3600
billing_increment_s = 3600
as_of = 2026-10-15
source = "colo contract"
"""


@pytest.fixture
def team_file(tmp_path: Path) -> Path:
    path = tmp_path / "team.toml"
    path.write_text(TEAM, encoding="utf-8")
    return path


def test_user_file_overrides_bundled_and_keeps_origins(team_file: Path) -> None:
    bundled = bundled_catalog()
    catalog = load_catalog([team_file])
    assert len(catalog) == len(bundled) + 1
    price = catalog.token("digitalocean/gpt-oss-120b")
    assert (price.input_usd_per_mtok, price.output_usd_per_mtok) == (0.09, 0.60)
    assert catalog.record("digitalocean/gpt-oss-120b").origin == Origin(str(team_file), ("bundled:digitalocean.toml",))
    assert catalog.origin("digitalocean/gpt-oss-120b") == f"{team_file} (overrides bundled:digitalocean.toml)"
    assert catalog.origin("team/gpu-h100-1x") == str(team_file)
    assert catalog.origin("digitalocean/gpu-h100-1x") == "bundled:digitalocean.toml"
    # The bundled catalog itself is unchanged.
    assert bundled.token("digitalocean/gpt-oss-120b").input_usd_per_mtok == 0.10


def test_later_files_win_and_the_chain_of_replacements_is_kept(team_file: Path, tmp_path: Path) -> None:
    second = tmp_path / "later.json"
    entry = {
        "kind": "token",
        "id": "digitalocean/gpt-oss-120b",
        "provider": "digitalocean",
        "model": "gpt-oss-120b",
        "input_usd_per_mtok": 0.08,
        "output_usd_per_mtok": 0.5,
        "as_of": "2026-11-20",
        "source": "later quote",
    }
    second.write_text(json.dumps([entry]), encoding="utf-8")
    catalog = load_catalog([team_file, second])
    assert catalog.token("digitalocean/gpt-oss-120b").input_usd_per_mtok == 0.08
    origin = catalog.record("digitalocean/gpt-oss-120b").origin
    assert origin.file == str(second)
    assert origin.replaced == ("bundled:digitalocean.toml", str(team_file))
    reversed_order = load_catalog([second, team_file])
    assert reversed_order.token("digitalocean/gpt-oss-120b").input_usd_per_mtok == 0.09


def test_without_bundled(team_file: Path) -> None:
    catalog = load_catalog([team_file], include_bundled=False)
    assert catalog.ids() == ["digitalocean/gpt-oss-120b", "team/gpu-h100-1x"]
    assert load_catalog(include_bundled=False).ids() == []


def test_litellm_and_skypilot_files_load_directly() -> None:
    catalog = load_catalog([PRICES / "litellm_excerpt.json", PRICES / "skypilot_nebius_vms.csv"])
    # The excerpt is not a verified upstream copy, so its entries are dated by the file's modification time.
    modified = datetime.fromtimestamp((PRICES / "litellm_excerpt.json").stat().st_mtime, tz=UTC).date()
    assert catalog.token("deepinfra/openai/gpt-oss-120b").as_of == modified
    # The SkyPilot files are byte-identical to verified copies: their documented date.
    assert catalog.gpu("nebius/gpu-h100-sxm_1gpu-16vcpu-200gb").as_of == date(2026, 11, 22)
    assert catalog.gpu("nebius/gpu-h100-sxm_1gpu-16vcpu-200gb").hourly_usd == 2.95
    assert catalog.origin("digitalocean/llama3-8b-instruct").endswith("(overrides bundled:digitalocean.toml)")
    reports = {Path(r.file).name: len(r.skipped) for r in catalog.skip_reports}
    assert reports == {"litellm_excerpt.json": 11, "skypilot_nebius_vms.csv": 40}


def test_imported_file_with_explicit_as_of() -> None:
    catalog = load_catalog([PRICES / "skypilot_do_vms.csv"], include_bundled=False, as_of=date(2026, 1, 31))
    assert {p.as_of for p in catalog} == {date(2026, 1, 31)}


def test_lookups_by_kind_and_unknown_ids() -> None:
    catalog = bundled_catalog()
    assert catalog.get("digitalocean/gpu-h100-1x").kind == "gpu"
    with pytest.raises(UnknownNameError) as info:
        catalog.token("digitalocean/gpu-h100-1x")
    message = str(info.value)
    assert "is a gpu price" in message and "digitalocean/gpt-oss-120b" in message
    assert "digitalocean/gpu-h100-8x" not in message  # lists token ids only
    with pytest.raises(UnknownNameError) as info:
        catalog.gpu("digitalocean/gpu-mi300x")
    assert "did you mean" in str(info.value) and "valid choices" in str(info.value)
    assert info.value.choices == catalog.ids("gpu")
    with pytest.raises(UnknownNameError, match="unknown price id 'nope/x'"):
        catalog.get("nope/x")
    with pytest.raises(UnknownNameError):
        catalog.origin("nope/x")
    assert isinstance(info.value, KeyError) and isinstance(info.value, InputError)


def test_entries_filters() -> None:
    catalog = bundled_catalog()
    tokens = catalog.entries(kind="token")
    assert tokens and all(p.kind == "token" for p in tokens)
    assert [p.id for p in tokens] == sorted(p.id for p in tokens)
    do_gpus = catalog.entries(kind="gpu", provider="DigitalOcean")
    assert {p.provider for p in do_gpus} == {"digitalocean"}
    mi300x = catalog.entries(match="mi300x")
    assert {p.id for p in mi300x} == {
        "digitalocean/gpu-mi300x-1x",
        "digitalocean/gpu-mi300x-1x-article",
        "digitalocean/gpu-mi300x-8x",
    }
    assert {p.id for p in catalog.entries(kind="gpu", match="h200")} == {"nebius/gpu-h200-1x", "nebius/gpu-h200-8x"}
    assert catalog.entries(match="no-such-model") == []
    with pytest.raises(UnknownNameError, match=r"unknown provider 'digitalocan' \(did you mean 'digitalocean'\?\)"):
        catalog.entries(provider="digitalocan")
    with pytest.raises(UnknownNameError, match="valid choices: gpu, owned, token"):
        catalog.entries(kind="tpu")  # type: ignore[arg-type]
    assert list(catalog) == catalog.entries()
    assert "digitalocean/gpu-h100-1x" in catalog and "nope/x" not in catalog


def test_staleness_with_a_pinned_today() -> None:
    catalog = bundled_catalog()
    # MI300X docs price: 2026-05-28. 180 days later is 2026-11-24.
    assert catalog.age_days("digitalocean/gpu-mi300x-1x", today=date(2026, 11, 24)) == 180
    assert not catalog.is_stale("digitalocean/gpu-mi300x-1x", today=date(2026, 11, 24))
    assert catalog.is_stale("digitalocean/gpu-mi300x-1x", today=date(2026, 11, 25))
    assert catalog.is_stale("digitalocean/gpu-mi300x-1x", today=date(2026, 7, 1), max_age_days=30)
    assert not catalog.is_stale("digitalocean/gpu-mi300x-1x", today=date(2026, 11, 25), max_age_days=365)
    # LiteLLM-derived prices (2025-11-04) are stale a year later; the article's (2026-06-23) are not.
    assert catalog.is_stale("digitalocean/llama3-8b-instruct", today=date(2026, 11, 22))
    assert not catalog.is_stale("digitalocean/gpt-oss-120b", today=date(2026, 11, 22))
    annotated = catalog.annotated("digitalocean/llama3-8b-instruct", today=date(2026, 11, 22))
    assert (annotated["age_days"], annotated["stale"], annotated["origin"]) == (383, True, "bundled:digitalocean.toml")


def test_default_today_is_real_today() -> None:
    catalog = bundled_catalog()
    assert catalog.age_days("digitalocean/gpt-oss-120b") >= catalog.age_days(
        "digitalocean/gpt-oss-120b", today=date(2026, 6, 23)
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("litellm_excerpt.json", PriceFormat.LITELLM),
        ("skypilot_nebius_vms.csv", PriceFormat.SKYPILOT),
        ("skypilot_azure_vms_gpu_subset.csv", PriceFormat.SKYPILOT),
    ],
)
def test_format_detection_on_real_files(name: str, expected: PriceFormat) -> None:
    assert detect_format((PRICES / name).read_bytes(), name) is expected


def test_format_detection_of_our_formats() -> None:
    assert detect_format(TEAM.encode(), "team.toml") is PriceFormat.TOML
    assert detect_format(TEAM.encode(), "team.txt") is PriceFormat.TOML  # starts with a table header
    assert detect_format(b'[{"kind": "token"}]', "x") is PriceFormat.JSON
    assert detect_format(b'{"gpu": []}', "x.json") is PriceFormat.JSON
    with pytest.raises(InputError, match=r"cannot tell the price file format.*expected our catalog"):
        detect_format(b"hello world", "notes.txt")


def test_read_price_file_from_a_stream() -> None:
    loaded = read_price_file(io.BytesIO(TEAM.encode()))
    assert loaded.format is PriceFormat.TOML and len(loaded.entries) == 2
    stream = io.BytesIO((PRICES / "litellm_excerpt.json").read_bytes())
    with pytest.raises(InputError, match="expected an explicit as_of"):
        read_price_file(stream)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (TEAM + TEAM.split("[[gpu]]", maxsplit=1)[0], ["team.toml", "'digitalocean/gpt-oss-120b'", "duplicate id"]),
        (TEAM.replace('gpu = "H100"', 'gpu = "H100"\nvram = 80'), ["team.toml", "'team/gpu-h100-1x'", "field 'vram'"]),
        (TEAM.replace("hourly_usd = 2.10", "hourly_usd = -2.10"), ["'team/gpu-h100-1x'", "field 'hourly_usd'", "-2.1"]),
        (TEAM.replace('source = "colo contract"\n', ""), ["'team/gpu-h100-1x'", "field 'source'", "missing"]),
        (TEAM.replace("as_of = 2026-10-15\n", ""), ["'team/gpu-h100-1x'", "field 'as_of'", "missing"]),
        (TEAM.replace('gpu = "H100"', 'gpu = "H100"\ncurrency = "DOGE"'), ["field 'currency'", "'DOGE'"]),
    ],
    ids=["duplicate", "unknown-field", "negative", "no-source", "no-as_of", "currency"],
)
def test_bad_user_files_fail_loading_with_file_entry_and_field(
    tmp_path: Path, content: str, expected: list[str]
) -> None:
    path = tmp_path / "team.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_catalog([path])
    for part in expected:
        assert part in str(info.value)


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        load_catalog([tmp_path / "nope.toml"])


def test_empty_catalog() -> None:
    empty = Catalog()
    assert len(empty) == 0 and list(empty) == [] and empty.providers() == []
    with pytest.raises(UnknownNameError, match=r"valid choices: \(none\)"):
        empty.get("a/b")
