"""The live profiler against a real OpenAI-compatible streaming server on loopback (tests/support/openai_server.py).

Every test sends real HTTP over 127.0.0.1 to a server process with injected delays and faults; the
behaviour is picked per request through the model name (see the server's docstring).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest

from breakeven.errors import MeasurementError
from costmodel.profiles.live.aggregate import build_profile
from costmodel.profiles.live.client import Endpoint, stream_once, stream_with_retries
from costmodel.profiles.live.measure import MeasureConfig, measure_async
from costmodel.profiles.live.transport import StreamTransport
from tests.support.servers import RunningServer, free_port, running_server

CLIENTS = ["stream-transport", "httpx-default"]


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with running_server() as running:
        yield running


def make_client(kind: str) -> httpx.AsyncClient:
    if kind == "stream-transport":
        return httpx.AsyncClient(transport=StreamTransport(max_connections=16), timeout=10)
    return httpx.AsyncClient(timeout=10)


def measure(
    server: RunningServer, model: str, *, client: str = "stream-transport", api_key: str | None = None, **options: Any
) -> list[dict]:
    records: list[dict] = []
    options = {"concurrency": (1,), "output_tokens": (8,), "requests_per_level": 4, "timeout_s": 5.0} | options

    async def go() -> None:
        async with make_client(client) as http:
            config = MeasureConfig(base_url=server.base_url, model=model, **options)
            await measure_async(http, config, records.append, api_key=api_key)

    asyncio.run(go())
    return records


def requests_of(records: list[dict]) -> list[dict]:
    return [r for r in records if r["type"] == "request"]


@pytest.mark.parametrize("client", CLIENTS)
def test_measured_ttft_and_itl_match_the_injected_delays(server: RunningServer, client: str) -> None:
    server.records()  # clear
    records = measure(
        server, "fake:ttft=0.15,itl=0.025", client=client, concurrency=(2,), output_tokens=(10,), requests_per_level=6
    )
    reqs = requests_of(records)
    assert len(reqs) == 6 and all(r["ok"] for r in reqs)
    ttft = np.array([r["ttft_s"] for r in reqs])
    itl = np.concatenate([r["itl_s"] for r in reqs])
    assert len(itl) == 6 * 9
    # Within 5 ms of what the server was told to do (its sleeps overshoot by up to ~1 ms).
    assert abs(np.median(ttft) - 0.150) < 0.005
    assert abs(np.median(itl) - 0.025) < 0.005
    # Against the server's own timestamps (kernel receive time of the request, time of each write), the
    # StreamTransport's kernel-stamped reads agree far closer; httpx's own transport stamps at the yield.
    truth = server.records()
    ttft_err = [r["ttft_s"] - (truth[r["response_id"]]["send_s"][0] - truth[r["response_id"]]["recv_s"]) for r in reqs]
    itl_err = np.concatenate([np.array(r["itl_s"]) - np.diff(truth[r["response_id"]]["send_s"]) for r in reqs])
    bound = 0.001 if client == "stream-transport" else 0.005
    assert np.median(np.abs(ttft_err)) < bound
    assert np.median(np.abs(itl_err)) < bound
    point = build_profile(records).warm[0]
    assert point.ttft_ms is not None and point.ttft_ms.p50 == pytest.approx(np.median(ttft) * 1e3)
    assert point.tpot_ms is not None and abs(point.tpot_ms.p50 - 25.0) < 5.0


def test_usage_accounting_and_prompt_calibration(server: RunningServer) -> None:
    records = measure(server, "fake:ttft=0.01,itl=0.002", input_tokens=300, output_tokens=(12,))
    probe = next(r for r in records if r["type"] == "probe")
    # The server counts words + 7 (chat template): calibration finds both numbers exactly.
    assert probe["calibrated"] and probe["usage"]
    assert probe["intercept_tokens"] == pytest.approx(7 + 12)  # template + the 12-word instruction
    assert probe["tokens_per_word"] == pytest.approx(1.0)
    assert probe["engine"] == "vllm" and probe["engine_version"] == "0.0.0-test"
    for r in requests_of(records):
        assert r["prompt_tokens"] == 300  # exactly the asked input length
        assert r["completion_tokens"] == 12 and r["completion_tokens_source"] == "usage"
        assert r["events"] == 12


def test_completions_endpoint(server: RunningServer) -> None:
    records = measure(server, "fake:ttft=0.01,itl=0.002", endpoint="completions", input_tokens=50)
    reqs = requests_of(records)
    assert all(r["ok"] and r["prompt_tokens"] == 50 and r["completion_tokens"] == 8 for r in reqs)
    assert all(r["response_id"].startswith("cmpl-") for r in reqs)


def test_fallback_count_when_the_server_sends_no_usage(server: RunningServer) -> None:
    records = measure(server, "fake:ttft=0.01,itl=0.002,usage=0", output_tokens=(9,))
    probe = next(r for r in records if r["type"] == "probe")
    assert not probe["usage"] and not probe["calibrated"]
    for r in requests_of(records):
        assert r["prompt_tokens"] is None
        assert r["completion_tokens"] == 9 and r["completion_tokens_source"] == "events"
    profile = build_profile(records)
    assert any("no usage" in n for n in profile.provenance.notes)


def test_bundled_tokens_count_events_and_itl_per_event(server: RunningServer) -> None:
    records = measure(server, "fake:ttft=0.01,itl=0.01,usage=0,chunk=3", output_tokens=(9,))
    for r in requests_of(records):
        assert r["events"] == 3 and r["completion_tokens"] == 3  # what a client without usage can count
        assert len(r["itl_s"]) == 2


def test_ignore_eos_refused_is_dropped_and_remembered(server: RunningServer) -> None:
    records = measure(server, "fake:ttft=0.01,itl=0.002,ignore_eos=reject,eos=5", output_tokens=(20,))
    probe = next(r for r in records if r["type"] == "probe")
    assert probe["ignore_eos"] is False and probe["stream_options"] is True
    reqs = requests_of(records)
    assert all(r["ok"] and r["completion_tokens"] == 5 for r in reqs)  # the model stopped at its EOS
    assert build_profile(records).settings["ignore_eos"] is False
    accepted = measure(server, "fake:ttft=0.01,itl=0.002,eos=5", output_tokens=(20,))
    assert all(r["completion_tokens"] == 20 for r in requests_of(accepted))  # ignore_eos pins the length


def test_probe_adapts_to_a_strict_openai_style_api(server: RunningServer) -> None:
    records = measure(server, "fake:ttft=0.005,itl=0.001,strict=1,eos=3", output_tokens=(6,))
    probe = next(r for r in records if r["type"] == "probe")
    assert probe["max_tokens_key"] == "max_completion_tokens"
    assert probe["temperature"] is False and probe["ignore_eos"] is False and probe["stream_options"] is True
    assert all(r["ok"] and r["completion_tokens"] == 3 for r in requests_of(records))


def test_http_500_on_every_request_fails_the_probe(server: RunningServer) -> None:
    with pytest.raises(MeasurementError, match="probe request failed: HTTP 500: injected status 500"):
        measure(server, "fake:status=500", retries=1)


def test_overloaded_server_failures_are_recorded_and_retried(server: RunningServer) -> None:
    # every 2nd request (server-wide count) answers 503
    failing = requests_of(measure(server, "fake:ttft=0.005,itl=0.001,fail_every=2", retries=0, requests_per_level=6))
    failed = [r for r in failing if not r["ok"]]
    assert failed and all(r["status"] == 503 and "injected overload" in r["error"] for r in failed)
    assert all(r["ttft_s"] is None and r["completion_tokens"] is None for r in failed)
    retried = requests_of(measure(server, "fake:ttft=0.005,itl=0.001,fail_every=2", retries=2, requests_per_level=6))
    assert all(r["ok"] for r in retried)
    assert any(r["attempts"] == 2 for r in retried)


def test_error_event_mid_stream_fails_the_request(server: RunningServer) -> None:
    records = measure(server, "fake:ttft=0.005,itl=0.001,error_after=3", retries=2)
    for r in requests_of(records):
        assert not r["ok"] and r["status"] == 200 and r["attempts"] == 1  # never retried after tokens
        assert r["events"] == 3 and "injected engine error" in r["error"]
    point = build_profile(records).warm[0]
    assert point.failed == 4 and point.requests == 0 and point.valid is False


def test_server_that_hangs_mid_stream_times_out(server: RunningServer) -> None:
    records = measure(server, "fake:ttft=0.005,itl=0.001,hang_after=3", timeout_s=0.4, requests_per_level=2)
    for r in requests_of(records):
        assert not r["ok"] and "timeout" in r["error"] and r["events"] == 3
        assert r["attempts"] == 1  # tokens had arrived: never retried
        assert 0.4 <= r["e2e_s"] < 1.5


def test_a_request_that_times_out_before_its_first_token_is_retried(server: RunningServer) -> None:
    async def go() -> tuple[int, str | None]:
        async with make_client("stream-transport") as http:
            endpoint = Endpoint(server.base_url, "fake:ttft=5")
            attempt, attempts = await stream_with_retries(
                http, endpoint, endpoint.body("hi", 2), timeout_s=0.2, retries=1
            )
            return attempts, attempt.error

    attempts, error = asyncio.run(go())
    assert attempts == 2 and error is not None and error.startswith("timeout: no read progress for 0.2 s")


@pytest.mark.parametrize("client", CLIENTS)
def test_connection_closed_mid_body_fails_the_request(server: RunningServer, client: str) -> None:
    records = measure(server, "fake:ttft=0.005,itl=0.001,drop_after=2", client=client, requests_per_level=2)
    for r in requests_of(records):
        assert not r["ok"] and r["events"] == 2 and r["error"]


def test_api_key_is_sent_and_a_wrong_one_fails_clearly(server: RunningServer) -> None:
    records = measure(server, "fake:ttft=0.005,itl=0.001,key=sk-test-123456", api_key="sk-test-123456")
    assert all(r["ok"] for r in requests_of(records))
    with pytest.raises(MeasurementError, match="HTTP 401"):
        measure(server, "fake:key=sk-test-123456", api_key="sk-wrong-999999")


def test_stream_transport_reuses_connections_and_survives_a_stale_one(server: RunningServer) -> None:
    async def go() -> None:
        transport = StreamTransport()
        async with httpx.AsyncClient(transport=transport, timeout=5) as http:
            endpoint = Endpoint(server.base_url, "fake:ttft=0,itl=0")
            for _ in range(5):
                attempt = await stream_once(http, endpoint, endpoint.body("hello", 3), timeout_s=5)
                assert attempt.ok and attempt.state.events == 3
            assert len(transport._all) == 1  # one keep-alive connection served all five
            # the server closes this connection after answering, without telling the client
            stale = Endpoint(server.base_url, "fake:ttft=0,itl=0,close=1")
            assert (await stream_once(http, stale, stale.body("hi", 2), timeout_s=5)).ok
            await asyncio.sleep(0.1)
            attempt = await stream_once(http, endpoint, endpoint.body("hello", 3), timeout_s=5)
            assert attempt.ok  # retried once on a fresh connection
            health = await http.get(f"http://127.0.0.1:{server.port}/health")  # Content-Length bodies
            models = await http.get(f"{server.base_url}/models")
            assert health.status_code == 200 and models.json()["data"][0]["id"] == "fake"
            missing = await http.get(f"http://127.0.0.1:{server.port}/nope")
            assert missing.status_code == 404

    asyncio.run(go())


def test_connect_errors_are_httpx_errors() -> None:
    async def go() -> None:
        async with httpx.AsyncClient(transport=StreamTransport(), timeout=2) as http:
            with pytest.raises(httpx.ConnectError):
                await http.get(f"http://127.0.0.1:{free_port()}/health")
            with pytest.raises(httpx.UnsupportedProtocol):
                await http.get("ftp://127.0.0.1/x")

    asyncio.run(go())


def test_measurement_of_a_server_that_is_down_fails_clearly() -> None:
    down = RunningServer(free_port(), None)  # type: ignore[arg-type]
    with pytest.raises(MeasurementError, match="probe request failed: ConnectError"):
        measure(down, "fake", retries=0)
