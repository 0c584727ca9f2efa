"""LiteLLM and SkyPilot importers on real files (tests/data/pricing, the full LiteLLM map when present)."""

from __future__ import annotations

import io
import json
import os
from datetime import date
from pathlib import Path

import pytest

from breakeven.errors import InputError
from pricing.importers import parse_litellm, parse_skypilot, read_litellm, read_skypilot
from pricing.importers.litellm import (
    BAD_ID,
    BAD_VALUE,
    DUPLICATE,
    IMPLAUSIBLE,
    NO_MODE,
    NO_TOKEN_PRICE,
    NON_TOKEN,
    SAMPLE_SPEC,
)
from pricing.importers.skypilot import NO_PRICE, NOT_GPU, provider_from_name
from pricing.models import GpuPrice, TokenPrice
from tests.conftest import DATA, shared_file

PRICES = DATA / "pricing"
LITELLM = PRICES / "litellm_excerpt.json"
AS_OF = date(2025, 11, 4)


@pytest.fixture(scope="module")
def excerpt() -> dict[str, TokenPrice]:
    result = read_litellm(LITELLM, as_of=AS_OF)
    assert all(isinstance(e, TokenPrice) for e in result.entries)
    return {e.id: e for e in result.entries if isinstance(e, TokenPrice)}


@pytest.fixture(scope="module")
def skipped() -> dict[str, str]:
    return {s.key: s.reason for s in read_litellm(LITELLM, as_of=AS_OF).skipped}


# ------------------------------------------------------------------------------------------------- LiteLLM


def test_plain_prices_are_converted_per_million(excerpt: dict[str, TokenPrice]) -> None:
    gpt_oss = excerpt["deepinfra/openai/gpt-oss-120b"]
    assert (gpt_oss.input_usd_per_mtok, gpt_oss.output_usd_per_mtok) == (0.05, 0.45)  # exact, not 0.0499999
    assert gpt_oss.context_window_tokens == 131072
    assert gpt_oss.as_of == AS_OF and "deepinfra/openai/gpt-oss-120b" in gpt_oss.source


def test_gradient_ai_is_digitalocean(excerpt: dict[str, TokenPrice]) -> None:
    price = excerpt["digitalocean/llama3-8b-instruct"]
    assert price.provider == "digitalocean" and price.model == "llama3-8b-instruct"
    assert (price.input_usd_per_mtok, price.output_usd_per_mtok) == (0.2, 0.2)
    assert "gradient_ai" in price.notes


def test_cached_input_batch_discount_and_service_tiers(excerpt: dict[str, TokenPrice]) -> None:
    gpt4o = excerpt["openai/gpt-4o"]  # 2.5e-06 in, 1e-05 out, cache 1.25e-06, batches 1.25e-06 / 5e-06
    assert (gpt4o.input_usd_per_mtok, gpt4o.output_usd_per_mtok, gpt4o.cached_input_usd_per_mtok) == (2.5, 10.0, 1.25)
    assert gpt4o.batch_discount == 0.5
    assert "priority/flex" in gpt4o.notes


def test_cache_hit_spelling_and_duplicate_ids(excerpt: dict[str, TokenPrice], skipped: dict[str, str]) -> None:
    # 'deepseek-chat' and 'deepseek/deepseek-chat' both map to deepseek/deepseek-chat with different prices:
    # the key that names its provider wins and the other is reported.
    chat = excerpt["deepseek/deepseek-chat"]
    assert (chat.input_usd_per_mtok, chat.output_usd_per_mtok) == (0.27, 1.1)
    assert chat.cached_input_usd_per_mtok == 0.07  # input_cost_per_token_cache_hit
    assert skipped["deepseek-chat"] == DUPLICATE


def test_odd_batch_field_name_and_vertex_provider(excerpt: dict[str, TokenPrice]) -> None:
    embedding = excerpt["vertex_ai/text-embedding-preview-0409"]
    assert embedding.batch_discount == pytest.approx(0.2)  # 5e-09 / 6.25e-09
    assert excerpt["vertex_ai/openai/gpt-oss-120b-maas"].provider == "vertex_ai"
    assert excerpt["bedrock/openai.gpt-oss-120b-1:0"].provider == "bedrock"
    assert excerpt["lambda/llama3.3-70b-instruct-fp8"].provider == "lambda"


def test_tiered_pricing_list(excerpt: dict[str, TokenPrice]) -> None:
    qwen = excerpt["dashscope/qwen3-max-preview"]  # ranges [0,32k] 1.2/6, [32k,128k] 2.4/12, [128k,252k] 3/15
    assert (qwen.input_usd_per_mtok, qwen.output_usd_per_mtok) == (1.2, 6.0)
    assert [(t.above_input_tokens, t.input_usd_per_mtok, t.output_usd_per_mtok) for t in qwen.long_context_tiers] == [
        (32_000, 2.4, 12.0),
        (128_000, 3.0, 15.0),
    ]
    coder = excerpt["dashscope/qwen3-coder-plus"]
    assert coder.cached_input_usd_per_mtok is not None
    assert all(t.cached_input_usd_per_mtok is not None for t in coder.long_context_tiers)


def test_above_n_k_tokens_tiers(excerpt: dict[str, TokenPrice]) -> None:
    sonnet = excerpt["bedrock/anthropic.claude-sonnet-4-20250514-v1:0"]
    (tier,) = sonnet.long_context_tiers
    assert (tier.above_input_tokens, tier.input_usd_per_mtok, tier.output_usd_per_mtok) == (200_000, 6.0, 22.5)
    assert tier.cached_input_usd_per_mtok == 0.6
    flash = excerpt["vertex_ai/gemini-1.5-flash"]
    assert [t.above_input_tokens for t in flash.long_context_tiers] == [128_000]


def test_rate_limits(excerpt: dict[str, TokenPrice]) -> None:
    limits = excerpt["gemini/gemini-1.5-flash"].rate_limits
    assert limits is not None and (limits.requests_per_minute, limits.tokens_per_minute) == (2000, 4_000_000)


def test_zero_prices_are_imported_with_a_note(excerpt: dict[str, TokenPrice]) -> None:
    free = excerpt["lemonade/gpt-oss-120b-mxfp-GGUF"]  # stored as the JSON integer 0
    assert (free.input_usd_per_mtok, free.output_usd_per_mtok) == (0.0, 0.0)
    assert "0/0" in free.notes


def test_everything_not_imported_is_reported_with_a_reason(skipped: dict[str, str]) -> None:
    assert skipped == {
        "sample_spec": SAMPLE_SPEC,
        "gradient_ai/openai-gpt-4o": NO_TOKEN_PRICE,
        "snowflake/llama3.3-70b": NO_TOKEN_PRICE,
        "deepseek-chat": DUPLICATE,
        "wandb/openai/gpt-oss-120b": IMPLAUSIBLE,
        "wandb/meta-llama/Llama-3.3-70B-Instruct": IMPLAUSIBLE,
        "azure_ai/jais-30b-chat": IMPLAUSIBLE,
        "whisper-1": NON_TOKEN,
        "exa_ai/search": NON_TOKEN,
        "bedrock/*/1-month-commitment/cohere.command-text-v14": NON_TOKEN,
        "fireworks-ai-up-to-4b": NO_MODE,
    }
    raw = json.loads(LITELLM.read_text(encoding="utf-8"))
    assert len(read_litellm(LITELLM, as_of=AS_OF).entries) + len(skipped) == len(raw)


def test_unit_error_detail_shows_the_per_million_value() -> None:
    result = read_litellm(LITELLM, as_of=AS_OF)
    wandb = next(s for s in result.skipped if s.key == "wandb/openai/gpt-oss-120b")
    assert "60,000 USD per 1M tokens" in wandb.detail
    assert result.skipped_by_reason()[IMPLAUSIBLE] == 3


def test_bad_values_and_bad_keys_are_skipped_not_imported() -> None:
    def chat(input_cost: object, output_cost: object) -> dict[str, object]:
        return {"litellm_provider": "acme", "mode": "chat", "input_cost_per_token": input_cost,
                "output_cost_per_token": output_cost}  # fmt: skip

    data = {
        "acme/bad": chat(-1e-6, 1e-6),
        "acme/text": chat("1e-6", 1e-6),
        "acme/nan": chat(float("nan"), 0),
        "acme/we ird": chat(1e-6, 1e-6),
        "acme/ok": chat(1e-6, 2e-6),
        "acme/list": [1, 2],
    }
    result = parse_litellm(data, as_of=AS_OF)
    assert [e.id for e in result.entries] == ["acme/ok"]
    reasons = {s.key: s.reason for s in result.skipped}
    assert reasons["acme/bad"] == reasons["acme/text"] == reasons["acme/nan"] == BAD_VALUE
    assert reasons["acme/we ird"] == BAD_ID
    assert "acme/list" in reasons


def test_not_a_cost_map_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text("[1, 2]")
    with pytest.raises(InputError, match=r"prices\.json: expected a JSON object keyed by model name"):
        read_litellm(path, as_of=AS_OF)
    path.write_text("{broken")
    with pytest.raises(InputError, match=r"prices\.json:1: not valid JSON"):
        read_litellm(path, as_of=AS_OF)


def test_as_of_defaults(tmp_path: Path) -> None:
    # A verified copy gets its documented date; an unknown file its modification date; a stream needs one.
    excerpt_bytes = LITELLM.read_bytes()
    copy = tmp_path / "litellm.json"
    copy.write_bytes(excerpt_bytes)
    os.utime(copy, (1_750_000_000, 1_750_000_000))  # 2025-06-15 UTC
    result = read_litellm(copy)
    assert result.as_of == date(2025, 6, 15) and "modification date" in result.notes[0]
    with pytest.raises(InputError, match="expected an explicit as_of"):
        read_litellm(io.BytesIO(excerpt_bytes))
    assert read_litellm(io.BytesIO(excerpt_bytes), as_of=date(2026, 1, 2)).as_of == date(2026, 1, 2)


def test_full_litellm_file_yields_well_over_a_thousand_prices() -> None:
    path = shared_file("prices/litellm_model_prices.json")
    result = read_litellm(path)
    assert result.as_of == AS_OF  # verified copy: SOURCES.md date
    assert "BerriAI/litellm" in result.entries[0].source
    assert len(result.entries) > 1_000
    counts = result.skipped_by_reason()
    assert counts[SAMPLE_SPEC] == 1
    assert counts[IMPLAUSIBLE] == 17  # SOURCES.md: 17 entries >= 1e-3 $/token
    # SOURCES.md says "15 of them wandb/*", but the file has 14 wandb entries (all flagged) plus
    # azure_ai/jais-30b-chat and two watsonx entries.
    flagged = {s.key for s in result.skipped if s.reason == IMPLAUSIBLE}
    assert {k for k in flagged if not k.startswith("wandb/")} == {
        "azure_ai/jais-30b-chat",
        "watsonx/bigscience/mt0-xxl-13b",
        "watsonx/core42/jais-13b-chat",
    }
    assert not any(e.provider == "wandb" for e in result.entries)
    assert counts[NO_MODE] == 8  # the fireworks-ai-* size buckets
    assert len(result.entries) + len(result.skipped) == 1_709
    assert all(e.input_usd_per_mtok < 1_000 and e.output_usd_per_mtok < 1_000 for e in result.entries)
    ids = {e.id: e for e in result.entries}
    assert sum(1 for i in ids if i.startswith("digitalocean/")) == 10  # 13 gradient_ai keys, 3 without prices


# ------------------------------------------------------------------------------------------------- SkyPilot


def _gpus(name: str, **kwargs: object) -> dict[str, GpuPrice]:
    result = read_skypilot(PRICES / name, **kwargs)  # type: ignore[arg-type]
    return {e.id: e for e in result.entries if isinstance(e, GpuPrice)}


@pytest.mark.parametrize("name", ["skypilot_do_vms.csv", "skypilot_do_vms_alt_lowercase_gpuinfo.csv"])
def test_digitalocean_both_gpuinfo_spellings(name: str) -> None:
    gpus = _gpus(name)
    assert set(gpus) == {"digitalocean/gpu-h100x1-80gb", "digitalocean/gpu-h100x8-640gb"}
    one, eight = gpus["digitalocean/gpu-h100x1-80gb"], gpus["digitalocean/gpu-h100x8-640gb"]
    assert (one.hourly_usd, one.gpu_count, one.gpu) == (6.74, 1, "H100")
    assert (eight.hourly_usd, eight.gpu_count, eight.gpu_hourly_usd) == (47.6, 8, 5.95)
    assert one.gpu_memory_gib == eight.gpu_memory_gib == round(81559 / 1024, 2)  # per GPU, from GpuInfo
    assert one.regions == ("tor1",) and one.spot_hourly_usd is None
    assert (one.billing_increment_s, one.minimum_billed_s) == (1, 300) and "[unverified]" in one.notes


def test_cpu_rows_are_skipped_with_a_reason() -> None:
    result = read_skypilot(PRICES / "skypilot_do_vms.csv")
    assert len(result.entries) == 2 and len(result.skipped) == 42
    assert {s.reason for s in result.skipped} == {NOT_GPU}
    assert result.skipped[0].key.startswith("line 2: ")


def test_nebius_crlf_and_spot_prices() -> None:
    raw = (PRICES / "skypilot_nebius_vms.csv").read_bytes()
    assert raw.count(b"\r\n") == 62  # the fixture really is CRLF
    gpus = _gpus("skypilot_nebius_vms.csv")
    assert len(gpus) == 17  # 21 GPU rows; H200 shapes listed in 3 regions at one price merge
    h100 = gpus["nebius/gpu-h100-sxm_1gpu-16vcpu-200gb"]
    assert (h100.hourly_usd, h100.spot_hourly_usd, h100.gpu_memory_gib) == (2.95, 1.25, 80.0)
    h200x8 = gpus["nebius/gpu-h200-sxm_8gpu-128vcpu-1600gb"]
    assert h200x8.regions == ("eu-north1", "eu-west1", "us-central1")
    assert (h200x8.hourly_usd, h200x8.gpu_hourly_usd, h200x8.spot_hourly_usd) == (28.0, 3.5, 11.6)
    assert gpus["nebius/gpu-b200-sxm_8gpu-160vcpu-1792gb"].spot_hourly_usd is None
    assert "\r" not in "".join(g.offering + "".join(g.regions) for g in gpus.values())
    assert (h100.billing_increment_s, h100.minimum_billed_s) == (1, 60) and "schema defaults" in h100.notes


def test_azure_column_order_bare_gpuinfo_and_known_errors() -> None:
    result = read_skypilot(PRICES / "skypilot_azure_vms_gpu_subset.csv")
    gpus = {e.id: e for e in result.entries if isinstance(e, GpuPrice)}
    reasons = [s.reason for s in result.skipped]
    assert reasons.count(NO_PRICE) == 4 and reasons.count(NOT_GPU) == 23  # 9 empty prices in all
    nd = gpus["azure/Standard_ND96isr_H100_v5@eastus"]
    assert nd.gpu_count == 8 and nd.gpu_hourly_usd == pytest.approx(12.29)
    assert "AcceleratorCount=12" in nd.notes and "corrected to 8" in nd.notes
    assert nd.regions == ("eastus", "eastus2")
    assert gpus["azure/Standard_ND96isr_H100_v5@westus"].hourly_usd == 127.816
    nc40 = gpus["azure/Standard_NC40ads_H100_v5@eastus"]
    assert (nc40.hourly_usd, nc40.gpu, nc40.spot_hourly_usd) == (6.98, "H100", None)  # SpotPrice == Price dropped
    assert "not a spot discount" in nc40.notes
    a100 = gpus["azure/Standard_NC24ads_A100_v4@eastus"]
    assert (a100.hourly_usd, a100.spot_hourly_usd, a100.gpu_memory_gib) == (3.673, 0.444433, 80.0)
    assert "promotional" in gpus["azure/Standard_NC6_Promo@westus2"].notes
    assert "azure/Standard_NV12" in gpus  # one region only: no @region suffix


def test_provider_detection() -> None:
    assert provider_from_name("catalogs/v8/nebius/vms.csv") == "nebius"
    assert provider_from_name("skypilot_do_vms.csv") == "digitalocean"
    assert provider_from_name("vms.csv") is None
    text = (PRICES / "skypilot_azure_vms_gpu_subset.csv").read_text(encoding="utf-8")
    stream = io.BytesIO(text.encode())
    result = read_skypilot(stream, as_of=AS_OF)  # no name: Azure's Generation column tells
    assert result.entries[0].provider == "azure"
    header_only = io.BytesIO(
        b"InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,Price,Region,GpuInfo,SpotPrice\n"
    )
    with pytest.raises(InputError, match="cannot tell which cloud"):
        read_skypilot(header_only, as_of=AS_OF)


def test_missing_columns_and_malformed_numbers() -> None:
    with pytest.raises(InputError, match=r"not a SkyPilot vms\.csv; expected columns .* missing Price"):
        parse_skypilot("InstanceType,AcceleratorName,AcceleratorCount,Region\n", provider="acme", as_of=AS_OF)
    text = (
        "InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,Price,Region,GpuInfo,SpotPrice\n"
        "a,H100,1,8,32,cheap,r1,,\n"
        "b,H100,1,8,32,-3,r1,,\n"
        "c,H100,1.5,8,32,3,r1,,\n"
        "d,H100,1,8,32,2.5,r1,{not a dict,\n"
    )
    result = parse_skypilot(text, provider="acme", as_of=AS_OF)
    assert [s.reason for s in result.skipped] == ["malformed number"] * 3
    assert [s.key for s in result.skipped] == ["line 2: a", "line 3: b", "line 4: c"]
    (entry,) = result.entries
    assert entry.id == "acme/d" and "GpuInfo could not be read" in entry.notes


def test_import_results_summarise_by_reason() -> None:
    result = read_skypilot(PRICES / "skypilot_azure_vms_gpu_subset.csv")
    lines = result.report_lines()
    assert "imported 133 GPU prices" in lines[0] and "skipped 27" in lines[0]
    assert any(NOT_GPU in line and "23" in line for line in lines[1:])
