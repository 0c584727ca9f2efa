"""The bundled catalog (pricing/data/*.toml): every entry loads, is dated, sourced and marked, and the ids
other areas rely on exist with the published numbers."""

from __future__ import annotations

import json
import re
import tomllib
from datetime import date
from importlib import resources

import pytest

from pricing.catalog import bundled_catalog, load_catalog
from pricing.importers.litellm import read_litellm
from pricing.models import GpuPrice, TokenPrice
from tests.conftest import DATA

CONFIDENCE_MARKS = ("[doc]", "[3p]", "[table]", "[unverified]")
BUNDLED_FILES = sorted(f.name for f in (resources.files("pricing") / "data").iterdir() if f.name.endswith(".toml"))


def test_bundled_files_are_package_data_one_per_provider() -> None:
    assert "digitalocean.toml" in BUNDLED_FILES
    assert len(BUNDLED_FILES) >= 8
    catalog = bundled_catalog()
    for price in catalog:
        # Each file holds one provider, named after it.
        assert catalog.origin(price.id) == f"bundled:{price.provider}.toml"


def test_every_bundled_entry_is_dated_sourced_and_marked() -> None:
    catalog = bundled_catalog()
    assert len(catalog) >= 50
    for price in catalog:
        assert price.as_of >= date(2025, 1, 1), price.id
        assert price.source.strip(), price.id
        assert any(mark in price.notes for mark in CONFIDENCE_MARKS), f"{price.id} has no confidence mark"
        assert price.id.startswith(f"{price.provider}/"), price.id


def test_bundled_ids_are_unique_across_files() -> None:
    ids: list[str] = []
    for name in BUNDLED_FILES:
        data = tomllib.loads((resources.files("pricing") / "data" / name).read_text(encoding="utf-8"))
        ids.extend(entry["id"] for kind in ("token", "gpu", "owned") for entry in data.get(kind, []))
    assert len(ids) == len(set(ids))
    assert len(ids) == len(bundled_catalog())


# ids other areas use, with the numbers the sources give (notes/prices-facts.md, the seed article).
STABLE_TOKEN = {
    "digitalocean/gpt-oss-120b": (0.10, 0.70, date(2026, 6, 23)),
    "digitalocean/llama3-8b-instruct": (0.20, 0.20, date(2025, 11, 4)),
    "digitalocean/llama3.3-70b-instruct": (0.65, 0.65, date(2025, 11, 4)),
}
STABLE_GPU = {
    "digitalocean/gpu-mi300x-1x": (1.99, 1, date(2026, 5, 28)),
    "digitalocean/gpu-mi300x-1x-article": (1.88, 1, date(2026, 6, 23)),
    "digitalocean/gpu-mi300x-8x": (15.92, 8, date(2026, 5, 28)),
    "digitalocean/gpu-h100-1x": (3.39, 1, date(2026, 5, 28)),
    "digitalocean/gpu-h100-8x": (23.92, 8, date(2026, 5, 28)),
    "digitalocean/gpu-h100-1x-skypilot": (6.74, 1, date(2025, 4, 22)),
    "digitalocean/gpu-h100-8x-skypilot": (47.60, 8, date(2025, 4, 22)),
    "digitalocean/gpu-l40s-1x": (1.57, 1, date(2026, 5, 28)),
    "digitalocean/gpu-rtx4000-ada-1x": (0.76, 1, date(2025, 4, 22)),
    "digitalocean/gpu-rtx6000-ada-1x": (1.89, 1, date(2025, 4, 22)),
}


@pytest.mark.parametrize(("entry_id", "expected"), STABLE_TOKEN.items())
def test_stable_token_ids(entry_id: str, expected: tuple[float, float, date]) -> None:
    price = bundled_catalog().token(entry_id)
    assert (price.input_usd_per_mtok, price.output_usd_per_mtok, price.as_of) == expected


@pytest.mark.parametrize(("entry_id", "expected"), STABLE_GPU.items())
def test_stable_gpu_ids(entry_id: str, expected: tuple[float, int, date]) -> None:
    price = bundled_catalog().gpu(entry_id)
    assert (price.hourly_usd, price.gpu_count, price.as_of) == expected


def test_digitalocean_gpus_bill_per_second_with_a_five_minute_minimum_marked_unverified() -> None:
    gpus = bundled_catalog().entries(kind="gpu", provider="digitalocean")
    assert len(gpus) == len(STABLE_GPU)
    for price in gpus:
        assert isinstance(price, GpuPrice)
        assert (price.billing_increment_s, price.minimum_billed_s) == (1, 300), price.id
    header = (resources.files("pricing") / "data" / "digitalocean.toml").read_text(encoding="utf-8")
    assert "5-minute minimum" in header and "[unverified]" in header


def test_conflicting_prices_are_separate_dated_entries() -> None:
    catalog = bundled_catalog()
    docs, article = catalog.gpu("digitalocean/gpu-mi300x-1x"), catalog.gpu("digitalocean/gpu-mi300x-1x-article")
    assert docs.gpu == article.gpu == "MI300X"
    assert (docs.hourly_usd, article.hourly_usd) == (1.99, 1.88)
    assert docs.source != article.source and "[doc]" in docs.notes and "[unverified]" in article.notes
    assert "1.88" in docs.notes and "1.99" in article.notes  # each points at the other
    assert "skypilot" in catalog.gpu("digitalocean/gpu-h100-1x-skypilot").source
    assert "[3p]" in catalog.gpu("nebius/gpu-h100-1x-silybench").notes


def test_the_seed_break_even_uses_bundled_numbers() -> None:
    # The seed article: break-even req/hour = GPU $/hr / (in * p_in + out * p_out); ~80 input tokens,
    # ~30 output tokens -> ~18 req/s. Using the bundled entries gives the same figure.
    catalog = bundled_catalog()
    gpu = catalog.gpu("digitalocean/gpu-mi300x-1x-article").hourly_usd
    token = catalog.token("digitalocean/gpt-oss-120b")
    per_request = (80 * token.input_usd_per_mtok + 30 * token.output_usd_per_mtok) / 1e6
    assert gpu / per_request / 3600 == pytest.approx(18.0, abs=0.05)


def test_other_clouds_and_api_providers_are_covered() -> None:
    catalog = bundled_catalog()
    gpu_providers = set(catalog.providers("gpu")) - {"digitalocean"}
    assert {"nebius", "azure", "aws", "gcp", "runpod", "lambda"} <= gpu_providers
    for model in ("gpt-oss-120b", "llama-3.3-70b", "8b"):
        pattern = model.replace("llama-3.3", "llama-?3.3")
        providers = {
            p.provider
            for p in catalog.entries(kind="token")
            if re.search(pattern, p.id.lower()) and p.provider != "digitalocean"
        }
        assert len(providers) >= 3, (model, providers)


def test_litellm_derived_bundled_prices_match_the_real_file() -> None:
    """Bundled entries that cite a LiteLLM key carry exactly that key's prices (copied whole into the
    excerpt fixture), converted per 1M tokens."""
    imported = read_litellm(DATA / "pricing" / "litellm_excerpt.json", as_of=date(2025, 11, 4))
    raw = json.loads((DATA / "pricing" / "litellm_excerpt.json").read_text(encoding="utf-8"))
    checked = 0
    for price in bundled_catalog().entries(kind="token"):
        match = re.search(r"LiteLLM model_prices_and_context_window\.json@19a1f629\w*, key '([^']+)'", price.source)
        if match is None:
            continue
        spec = raw[match.group(1)]
        assert isinstance(price, TokenPrice)
        assert price.input_usd_per_mtok == pytest.approx(spec["input_cost_per_token"] * 1e6), price.id
        assert price.output_usd_per_mtok == pytest.approx(spec["output_cost_per_token"] * 1e6), price.id
        assert price.as_of == date(2025, 11, 4)
        same = [e for e in imported.entries if e.id == price.id]
        assert same and same[0].input_usd_per_mtok == price.input_usd_per_mtok, price.id
        checked += 1
    assert checked >= 20


def test_bundled_catalog_is_cached_but_load_catalog_returns_fresh_objects() -> None:
    assert len(load_catalog()) == len(load_catalog()) == len(bundled_catalog())
    assert load_catalog() is not load_catalog()
