"""Profile JSON: save → load round-trips; every kind of bad file gets an error naming the file and the key."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from breakeven.errors import InputError
from costmodel.profiles import bundled_profile, bundled_profile_names, load_profile, parse_profile, save_profile
from costmodel.profiles.schema import PROFILE_SCHEMA, ColdStart, Phases, Profile, Stat, WarmPoint

finite = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)
maybe = st.none() | finite
stats = st.none() | st.builds(Stat, mean=maybe, p50=maybe, p90=maybe, p99=maybe)
points = st.builds(
    WarmPoint,
    concurrency=st.none() | st.floats(min_value=1, max_value=4096),
    request_rate=st.none() | st.floats(min_value=0.01, max_value=1e4),
    ttft_ms=stats,
    tpot_ms=stats,
    output_tok_s=maybe,
    requests=st.none() | st.integers(min_value=0, max_value=10**6),
    valid=st.booleans(),
    notes=st.text(max_size=20),
)


@settings(max_examples=40, deadline=None)
@given(
    warm=st.lists(points, max_size=6),
    phases=st.builds(Phases, weights_load_s=maybe, compile_s=maybe, weights_gib=maybe),
    samples=st.lists(finite, max_size=4),
    kv=st.none() | st.integers(min_value=1, max_value=10**8),
)
def test_save_then_load_round_trips(
    tmp_path_factory: pytest.TempPathFactory,
    warm: list[WarmPoint],
    phases: Phases,
    samples: list[float],
    kv: int | None,
) -> None:
    profile = Profile(
        id="p", model="m", warm=warm, kv_cache_tokens=kv, cold_start=ColdStart(samples_s=samples, phases=phases)
    )
    path = tmp_path_factory.mktemp("rt") / "p.json"
    save_profile(profile, path)
    assert load_profile(path) == profile


@pytest.mark.parametrize("name", bundled_profile_names())
def test_bundled_profiles_round_trip(tmp_path: Path, name: str) -> None:
    profile = bundled_profile(name)
    save_profile(profile, tmp_path / "x.json")
    assert load_profile(tmp_path / "x.json") == profile
    assert load_profile(io.BytesIO((tmp_path / "x.json").read_bytes())) == profile


def test_save_replaces_atomically(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "profile.json"
    save_profile(Profile(id="a", model="m"), target)
    save_profile(Profile(id="b", model="m"), target)
    assert load_profile(target).id == "b"
    assert [p.name for p in target.parent.iterdir()] == ["profile.json"]  # no temporary files left


def _doc(**changes: object) -> str:
    doc: dict[str, object] = {"schema": PROFILE_SCHEMA, "id": "x", "model": "m"}
    doc.update(changes)
    return json.dumps({k: v for k, v in doc.items() if v is not ...})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{\n  "schema": 1,,\n}', "p.json:2: invalid JSON"),
        ("[1, 2]", "p.json: expected a JSON object (a profile), found list"),
        (
            _doc(schema="llm-breakeven/profile/v2"),
            "schema: expected 'llm-breakeven/profile/v1', found 'llm-breakeven/profile/v2'",
        ),
        (_doc(schema=...), "schema: expected 'llm-breakeven/profile/v1', found no 'schema' key"),
        (_doc(gpu_cnt=1), "p.json: gpu_cnt: unknown key; valid keys: cold_start, engine, gpu, gpu_count"),
        (_doc(warm=[{"ttft_ms": {"p50": -3}}]), "p.json: warm[0].ttft_ms.p50: expected a number >= 0.0, found -3"),
        (
            _doc(cold_start={"phases": {"compile": 1}}),
            "cold_start.phases.compile: unknown key; valid keys: api_server_s",
        ),
        (_doc(model=...), "p.json: model: missing required key"),
        (_doc(kv_cache_tokens="many"), "p.json: kv_cache_tokens: expected: input should be a valid integer"),
        (
            '{"schema": "llm-breakeven/profile/v1", "id": "x", "model": "m", "kv_cache_tokens": NaN}',
            "NaN is not allowed",
        ),
    ],
)
def test_bad_profiles_are_refused_with_file_and_key(text: str, message: str) -> None:
    with pytest.raises(InputError) as err:
        parse_profile(text, source="p.json")
    assert message in str(err.value)


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        load_profile(tmp_path / "nope.json")
