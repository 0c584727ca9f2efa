"""Samples → profile (pure), the samples file, prompt calibration and the option checks."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import numpy as np
import pytest

from breakeven.errors import InputError, MeasurementError
from costmodel.profiles.live.aggregate import build_profile, cold_start, requests_frame, stat_ms, warm_point
from costmodel.profiles.live.client import normalize_base_url
from costmodel.profiles.live.measure import MeasureConfig, guess_kind, run_record
from costmodel.profiles.live.prompts import INSTRUCTION, Calibration, fit_calibration, prompt_text
from costmodel.profiles.live.samples import SampleLog, read_samples
from costmodel.profiles.schema import Profile


def req(index: int, start: float, ttft: float | None, itl: list[float], e2e: float, **kw: object) -> dict:
    record = {
        "type": "request",
        "concurrency": 2,
        "output_tokens_target": 4,
        "index": index,
        "start_s": start,
        "ok": True,
        "status": 200,
        "error": None,
        "ttft_s": ttft,
        "itl_s": itl,
        "e2e_s": e2e,
        "prompt_tokens": 80,
        "completion_tokens": 4,
        "completion_tokens_source": "usage",
        "events": 4,
        "attempts": 1,
        "response_id": f"chatcmpl-{index}",
    }
    record.update(kw)
    return record


LEVEL = [
    req(0, 0.0, 0.10, [0.02, 0.02, 0.02], 0.16),
    req(1, 0.0, 0.12, [0.03, 0.01, 0.02], 0.18, prompt_tokens=82),
    req(2, 0.16, 0.11, [0.02, 0.02, 0.04], 0.19, prompt_tokens=81),
    req(3, 0.18, None, [], 0.05, ok=False, status=503, error="HTTP 503: overloaded", prompt_tokens=None,
        completion_tokens=None, completion_tokens_source=None, events=0),
]  # fmt: skip


def test_warm_point_matches_hand_computed_statistics() -> None:
    point = warm_point(requests_frame(LEVEL), planned=4, source="s.jsonl")
    # TTFT [100, 120, 110] ms: numpy linear percentiles of the sorted [100, 110, 120]
    assert point.ttft_ms is not None
    assert point.ttft_ms.mean == pytest.approx(110.0)
    assert point.ttft_ms.p50 == pytest.approx(110.0)
    assert point.ttft_ms.p90 == pytest.approx(118.0)
    assert point.ttft_ms.p99 == pytest.approx(119.8)
    # TPOT = (e2e - ttft) / (4 - 1): 20, 20, 26.667 ms
    assert point.tpot_ms is not None and point.tpot_ms.mean == pytest.approx((20 + 20 + 80 / 3) / 3)
    # ITL pooled over the 9 gaps [10, 20 x6, 30, 40] ms
    assert point.itl_ms is not None
    assert point.itl_ms.mean == pytest.approx(200 / 9)
    assert point.itl_ms.p50 == pytest.approx(20.0)
    assert point.itl_ms.p90 == pytest.approx(32.0)
    assert point.itl_ms.p99 == pytest.approx(39.2)
    assert point.e2e_ms is not None and point.e2e_ms.mean == pytest.approx(530 / 3)
    # the level runs from the first send (0.0) to the last end (0.16 + 0.19 = 0.35 s)
    assert point.duration_s == pytest.approx(0.35)
    assert point.output_tok_s == pytest.approx(12 / 0.35)
    assert point.request_s == pytest.approx(3 / 0.35)
    assert point.input_tokens_mean == pytest.approx(81.0)
    assert point.output_tokens_mean == pytest.approx(4.0)
    assert (point.requests, point.failed, point.concurrency) == (3, 1, 2)
    assert point.valid is False  # 1 of 4 failed: more than 5 %
    assert "1 of 4 requests failed" in point.notes


def test_partial_level_is_not_valid() -> None:
    point = warm_point(requests_frame(LEVEL[:3]), planned=10)
    assert point.valid is False
    assert "3 of 10 planned" in point.notes
    assert warm_point(requests_frame(LEVEL[:3]), planned=3).valid is True


def test_stat_ms_empty_and_nan() -> None:
    assert stat_ms(np.array([])) is None
    assert stat_ms(np.array([np.nan, 5.0])) == stat_ms(np.array([5.0]))


RUN = {
    "type": "run",
    "schema": "llm-breakeven/samples/v1",
    "started": "2026-01-02T03:04:05+00:00",
    "base_url": "http://127.0.0.1:8000/v1",
    "model": "m",
    "endpoint": "chat",
    "kind": "dedicated",
    "profile_id": "m@local",
    "gpu": "H100",
    "gpu_count": 1,
    "engine": None,
    "input_tokens": 80,
    "output_tokens": [4],
    "concurrency": [2],
    "requests_per_level": [4],
    "launch": "vllm serve m",
    "restarts": 2,
    "timeout_s": 60.0,
    "retries": 2,
    "tool_version": "0.1.0",
    "settings": {},
}
PROBE = {
    "type": "probe",
    "ignore_eos": False,
    "stream_options": True,
    "usage": True,
    "intercept_tokens": 19.0,
    "tokens_per_word": 1.0,
    "calibrated": True,
    "probes": [[20, 39], [80, 99]],
    "words": 61,
    "engine": "vllm",
    "engine_version": "0.11.1",
}


def launch(restart: int, first: float, ready: float, load: float) -> dict:
    return {
        "type": "launch",
        "restart": restart,
        "port_open_s": ready - 1,
        "ready_s": ready,
        "first_token_s": first,
        "log_path": f"launch-{restart}.log",
        "phases": {"weights_load_s": load, "compile_s": 19.69},
        "kv_cache_tokens": 1587648,
        "max_concurrency": 775.22,
        "max_concurrency_tokens": 2048,
    }


def test_build_profile_from_a_complete_run() -> None:
    records = [RUN, launch(0, 62.0, 60.0, 27.2), launch(1, 61.0, 59.5, 24.0), PROBE, *LEVEL]
    records.append({"type": "end", "finished": "2026-01-02T03:05:00+00:00", "interrupted": False, "error": None})
    profile = build_profile(records, samples_source="run.samples.jsonl")
    assert profile.kind == "dedicated" and profile.gpu == "H100"
    assert profile.engine.name == "vllm" and profile.engine.version == "0.11.1"
    assert profile.cold_start is not None
    assert profile.cold_start.samples_s == [62.0, 61.0]
    assert profile.cold_start.total_s == pytest.approx(61.5)  # median of the launches
    assert profile.cold_start.ready_s == pytest.approx(59.75)
    assert profile.cold_start.phases.weights_load_s == pytest.approx(25.6)  # median per phase
    assert profile.kv_cache_tokens == 1587648
    assert profile.max_concurrency is not None and profile.max_concurrency.tokens_per_request == 2048
    assert len(profile.warm) == 1 and profile.warm[0].requests == 3
    assert any("refused ignore_eos" in n for n in profile.provenance.notes)
    assert not any("partial" in n for n in profile.provenance.notes)
    assert {s.kind for s in profile.provenance.sources} == {"live", "live-samples", "vllm-log"}
    Profile.model_validate_json(profile.dump_json())  # the written form loads back


def test_build_profile_of_a_killed_or_interrupted_run_says_so() -> None:
    killed = build_profile([RUN, PROBE, *LEVEL[:2]])
    assert any("did not finish" in n for n in killed.provenance.notes)
    assert killed.warm[0].valid is False
    interrupted = build_profile(
        [RUN, PROBE, *LEVEL[:2], {"type": "end", "finished": "2026-01-02T03:05:00+00:00", "interrupted": True}]
    )
    assert any("interrupted" in n for n in interrupted.provenance.notes)
    with pytest.raises(InputError, match="'run' record"):
        build_profile([PROBE])


def test_cold_start_of_failed_launches() -> None:
    failed = {"type": "launch", "restart": 0, "failed": True, "error": "EngineCore failed to start."}
    cold = cold_start([failed])
    assert cold is not None and cold.failed and cold.failure == "EngineCore failed to start."
    assert cold_start([]) is None


def test_samples_file_round_trip_truncated_last_line_and_bad_lines(tmp_path) -> None:
    path = tmp_path / "s.jsonl"
    with SampleLog(path, secrets=("sk-secret-123",)) as log:
        for record in [RUN, PROBE, *LEVEL]:
            log.write(record)
        log.write({**LEVEL[3], "index": 4, "error": "HTTP 401: invalid API key: 'Bearer sk-secret-123'"})
    text = path.read_text()
    assert "sk-secret-123" not in text and "Bearer ***" in text
    records, notes = read_samples(path)
    assert [r["type"] for r in records][:2] == ["run", "probe"] and not notes
    path.write_text(text + text.splitlines()[-1][:40])  # a run killed mid-write
    records2, notes2 = read_samples(path)
    assert len(records2) == len(records) and "truncated last line" in notes2[0]
    lines = text.splitlines()
    lines[3] = '{"type": "request", "concurrency": "two"}'
    with pytest.raises(InputError, match=r"bad\.jsonl:4: .* at key 'request.concurrency'"):
        read_samples(_write(tmp_path / "bad.jsonl", lines))
    with pytest.raises(InputError, match="expected a JSON object per line"):
        read_samples(_write(tmp_path / "bad2.jsonl", [lines[0], "not json", lines[1]]))
    with pytest.raises(InputError, match="'run' record on the first line"):
        read_samples(_write(tmp_path / "bad3.jsonl", text.splitlines()[1:]))


def _write(path, lines: list[str]):
    path.write_text("\n".join(lines) + "\n")
    return path


def test_read_samples_accepts_a_file_object() -> None:
    records, _ = read_samples(io.BytesIO((json.dumps(RUN) + "\n").encode()))
    assert records[0]["model"] == "m"


def test_prompt_calibration() -> None:
    calibration = fit_calibration([(20, 39), (80, 99)])
    assert calibration.intercept_tokens == pytest.approx(19.0)
    assert calibration.tokens_per_word == pytest.approx(1.0)
    assert calibration.words_for(80) == 61
    assert Calibration(10.0, 1.3, calibrated=True).words_for(140) == 100
    assert Calibration(500.0, 1.0, calibrated=True).words_for(80) == 1  # never fewer than one word
    with pytest.raises(MeasurementError, match="two word counts"):
        fit_calibration([(20, 39), (20, 40)])
    with pytest.raises(MeasurementError, match="do not grow"):
        fit_calibration([(20, 50), (80, 50)])
    text = prompt_text(30, np.random.default_rng(1))
    assert text.startswith(INSTRUCTION + " ")
    assert len(text.split()) == 30 + 12  # the 12-word instruction
    assert prompt_text(30, np.random.default_rng(1)) == text  # seeded
    assert prompt_text(30, np.random.default_rng(2)) != text


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://127.0.0.1:8000/v1", "dedicated"),
        ("http://localhost:8000", "dedicated"),
        ("http://10.0.3.7:8000/v1", "dedicated"),
        ("http://gpu-box:8000/v1", "dedicated"),
        ("http://vllm.default.svc:8000/v1", "dedicated"),
        ("https://vllm.example.com:8443/v1", "dedicated"),
        ("https://api.together.xyz/v1", "serverless"),
        ("https://openrouter.ai/api/v1", "serverless"),
        ("https://inference.do-ai.run/v1", "serverless"),
    ],
)
def test_guess_kind(url: str, kind: str) -> None:
    assert guess_kind(url, launched=False) == kind
    assert guess_kind(url, launched=True) == "dedicated"


def test_base_url_and_config_checks() -> None:
    assert normalize_base_url("http://127.0.0.1:8000") == "http://127.0.0.1:8000/v1"
    assert normalize_base_url("https://openrouter.ai/api/v1/") == "https://openrouter.ai/api/v1"
    with pytest.raises(InputError, match="--base-url"):
        normalize_base_url("127.0.0.1:8000")
    config = MeasureConfig(base_url="http://127.0.0.1:8000", model="m", concurrency=(1, 16), output_tokens=(30, 220))
    assert config.levels() == [(1, 30, 20), (16, 30, 64), (1, 220, 20), (16, 220, 64)]
    with pytest.raises(InputError, match="--concurrency"):
        MeasureConfig(base_url="http://h:1", model="m", concurrency=(0,))
    with pytest.raises(InputError, match="--model"):
        MeasureConfig(base_url="http://h:1", model=" ")
    with pytest.raises(InputError, match="--launch"):
        MeasureConfig(base_url="http://h:1", model="m", launch="vllm serve 'unbalanced")


def test_run_record_never_holds_the_key() -> None:
    config = MeasureConfig(base_url="http://h:1", model="m", launch="vllm serve m --api-key sk-abc-123456")
    record = run_record(config, ("sk-abc-123456",), datetime.now(UTC))
    assert "sk-abc-123456" not in json.dumps(record)
    assert record["launch"] == "vllm serve m --api-key ***"
