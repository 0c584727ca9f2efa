"""Fuzzing every loader: random bytes and random mutations of real files never escape as a traceback.

A loader may accept the input or refuse it with our :class:`BreakevenError` (one clear line in the CLI);
any other exception, or a Python warning (pytest turns them into errors), is a bug. Examples are few and
small so that the whole file runs in a few seconds; the seeds Hypothesis finds are replayed from its
database on later runs.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from breakeven.errors import BreakevenError, InputError
from breakeven.plausibility import WARNINGS, accepting
from costmodel.policy import parse_policy
from costmodel.profiles import parse_profile
from costmodel.profiles.importers import import_profile
from pricing.loading import read_price_file
from reports.render import load_results
from traces import load_trace
from traces.formats import parse_columns_option
from traces.spec import parse_spec

DATA = Path(__file__).parent / "data"
#: FUZZ_EXAMPLES=2000 searches harder (about 30 s); the suite runs 25 per test (a few seconds in all).
FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _head(path: Path, size: int = 4000) -> bytes:
    """The first lines of a real file (whole lines, at most ``size`` bytes)."""
    data = path.read_bytes()[:size]
    return data[: data.rfind(b"\n") + 1] if b"\n" in data else data


def _litellm_head(path: Path, entries: int = 12) -> bytes:
    """The first entries of LiteLLM's cost map, as a valid map."""
    doc = json.loads(path.read_bytes())
    return json.dumps(dict(list(doc.items())[:entries]), indent=1).encode()


SEEDS: dict[str, list[tuple[str, bytes]]] = {
    "trace": [
        ("azure.csv", _head(DATA / "traces" / "AzureLLMInferenceTrace_code.csv")),
        ("azure24.csv", _head(DATA / "traces" / "azure_2024_code_1week_first5.csv")),
        ("burstgpt.csv", _head(DATA / "traces" / "burstgpt_1_first3.csv")),
        ("mooncake.jsonl", _head(DATA / "traces" / "mooncake_conversation_first400.jsonl")),
        ("splitwise.csv", _head(DATA / "traces" / "vidur_splitwise_code_first64.csv")),
        ("ok.csv", (DATA / "bad" / "traces" / "ok.csv").read_bytes()),
    ],
    "prices": [
        ("litellm.json", _litellm_head(DATA / "pricing" / "litellm_excerpt.json")),
        ("catalogs/nebius/vms.csv", _head(DATA / "pricing" / "skypilot_nebius_vms.csv")),
        ("ours.toml", (Path(__file__).parents[1] / "pricing" / "data" / "lambda.toml").read_bytes()[:5000]),
    ],
    "profile": [
        (
            "profile.json",
            (
                Path(__file__).parents[1] / "costmodel" / "data" / "profiles" / "llama-3.1-8b-fp8_1xH100.json"
            ).read_bytes(),
        ),
    ],
    "import": [
        ("server.log", _head(DATA / "profiles" / "vllm_logs" / "vllm-pr19794_v1-v0.9_sm120_qwen3.log", 6000)),
        (
            "bench.json",
            (
                DATA / "profiles" / "vllm_bench" / "er0080-vllm-benchmarking_v0.25.1_opt-125m_conc2_2x3090.json"
            ).read_bytes()[:6000],
        ),
    ],
    "results": [("results.json", (DATA / "bad" / "results" / "valid.json").read_bytes())],
}


@st.composite
def mutated(draw: st.DrawFn, seeds: list[tuple[str, bytes]]) -> tuple[str, bytes]:
    """A real file with a few random edits: cut, delete a slice, insert or overwrite bytes, repeat a line."""
    name, data = draw(st.sampled_from(seeds))
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        edit = draw(st.sampled_from(["cut", "delete", "insert", "overwrite", "repeat"]))
        if edit == "cut":
            data = data[:at]
        elif edit == "delete":
            data = data[:at] + data[at + draw(st.integers(1, 64)) :]
        elif edit == "insert":
            data = data[:at] + draw(st.binary(min_size=1, max_size=16)) + data[at:]
        elif edit == "overwrite":
            chunk = draw(
                st.sampled_from(
                    [b"-", b"1e308", b"NaN", b"\x00", b"\xff\xfe", b'"', b",", b"\n", b"99999999999999999999"]
                )
            )
            data = data[:at] + chunk + data[at + len(chunk) :]
        else:
            end = data.find(b"\n", at)
            line = data[at : end + 1] if end >= 0 else data[at:]
            data = data[:at] + line * draw(st.integers(2, 5)) + data[at:]
    return name, data


def _named(data: bytes, name: str) -> io.BytesIO:
    buffer = io.BytesIO(data)
    buffer.name = name
    return buffer


def _survives(load: Callable[[], Any]) -> None:
    """``load()`` returns, or raises our error; anything else fails the test (warnings are errors too)."""
    # Plausibility warnings are strings, not Python warnings: accepted here to keep the output quiet.
    with accepting(*WARNINGS), contextlib.suppress(BreakevenError):
        load()


ANY_BYTES = st.binary(max_size=2000)
SUFFIXES = st.sampled_from(["x.csv", "x.jsonl", "x.parquet", "x.json", "x.toml", "x.log", "x"])


# ------------------------------------------------------------------------------------------ traces


@FUZZ
@given(name=SUFFIXES, data=ANY_BYTES)
def test_trace_loader_survives_random_bytes(name: str, data: bytes) -> None:
    _survives(lambda: load_trace(_named(data, name)))


@FUZZ
@given(case=mutated(SEEDS["trace"]), skip=st.booleans())
def test_trace_loader_survives_mutated_real_traces(case: tuple[str, bytes], skip: bool) -> None:
    name, data = case
    _survives(lambda: load_trace(_named(data, name), skip_bad_rows=skip))


@FUZZ
@given(text=st.text(max_size=120))
def test_spec_and_option_parsers_survive_random_text(text: str) -> None:
    _survives(lambda: parse_spec(text, loader=_no_files))
    _survives(lambda: parse_spec("poisson:" + text, loader=_no_files))
    _survives(lambda: parse_policy(text))
    _survives(lambda: parse_policy("utilization:" + text))
    _survives(lambda: parse_columns_option(text))


def _no_files(path: str) -> Any:
    raise InputError(f"{path}: not read while fuzzing")  # a random spec may name any file, even /dev/zero


# ------------------------------------------------------------------------------------------ prices


@FUZZ
@given(name=SUFFIXES, data=ANY_BYTES)
def test_price_loader_survives_random_bytes(name: str, data: bytes) -> None:
    _survives(lambda: read_price_file(_named(data, name), as_of=date(2026, 1, 1)))


@FUZZ
@given(case=mutated(SEEDS["prices"]))
def test_price_loader_survives_mutated_real_price_files(case: tuple[str, bytes]) -> None:
    name, data = case
    _survives(lambda: read_price_file(_named(data, name), as_of=date(2026, 1, 1)))


# ----------------------------------------------------------------------------------------- profiles


@FUZZ
@given(data=ANY_BYTES)
def test_profile_parser_survives_random_bytes(data: bytes) -> None:
    _survives(lambda: parse_profile(data, source="p.json"))


@FUZZ
@given(case=mutated(SEEDS["profile"]))
def test_profile_parser_survives_mutated_profiles(case: tuple[str, bytes]) -> None:
    _survives(lambda: parse_profile(case[1], source=case[0]))


@FUZZ
@given(case=st.one_of(mutated(SEEDS["import"]), st.tuples(SUFFIXES, ANY_BYTES)))
def test_profile_importers_survive_mutated_logs_and_benchmarks(case: tuple[str, bytes]) -> None:
    name, data = case
    _survives(lambda: import_profile([_named(data, name)], gpu="H100", model="m"))


# ------------------------------------------------------------------------------------------ results


@FUZZ
@given(case=st.one_of(mutated(SEEDS["results"]), st.tuples(st.just("r.json"), ANY_BYTES)))
def test_results_loader_survives_mutations(case: tuple[str, bytes]) -> None:
    _survives(lambda: load_results(_named(case[1], case[0])))


def test_the_seeds_load() -> None:
    """The unmutated seeds are valid, so the mutations start from files the loaders accept."""
    for name, data in SEEDS["trace"]:
        assert len(load_trace(_named(data, name))) > 0, name
    for name, data in SEEDS["prices"]:
        assert read_price_file(_named(data, name), as_of=date(2026, 1, 1)).entries, name
    assert parse_profile(SEEDS["profile"][0][1]).warm
    assert load_results(_named(*reversed(SEEDS["results"][0]))).options


@pytest.mark.parametrize("spec", ["poisson:rate=2,duration=1h,input=resample(x.csv),output=fixed(2)"])
def test_a_spec_naming_a_missing_file_is_our_error(spec: str) -> None:
    with pytest.raises(BreakevenError):
        parse_spec(spec)
