"""One streamed request against an OpenAI-compatible endpoint, timed at the read.

The only network seam is the ``httpx.AsyncClient`` the caller passes in (tests pass a real client pointed
at a loopback server). The hot loop does as little as possible per network read: take
``time.perf_counter()``, hand the bytes to :class:`~costmodel.profiles.live.sse.StreamState`, go on.

Retries: a request is retried (up to ``retries`` times, with backoff) when it fails *before its first token*
on a connection error, a timeout, or HTTP 429/500/502/503/504; a stream that breaks after tokens arrived
is a failed request, never retried (retrying would hide the failure and bias the latency).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import httpx
import numpy as np

from breakeven.errors import InputError
from costmodel.profiles.live.sse import StreamState, error_from_body

perf = time.perf_counter

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
Api = Literal["chat", "completions"]


def normalize_base_url(url: str) -> str:
    """The OpenAI base URL: ``http://host:8000`` gets ``/v1``; ``https://x/api/v1/`` loses its trailing slash."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError(f"option --base-url: expected an http(s) URL like http://127.0.0.1:8000/v1, found {url!r}")
    path = parts.path.rstrip("/") or "/v1"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def server_root(base_url: str) -> str:
    """``scheme://host:port`` of a base URL (where vLLM serves ``/health`` and ``/version``)."""
    parts = urlsplit(base_url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


@dataclass
class Endpoint:
    """Where and how to send requests. ``headers`` may hold the API key: never serialise this object."""

    base_url: str
    model: str
    api: Api = "chat"
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    ignore_eos: bool = True  #: send ``ignore_eos: true`` (dropped when the server refuses it)
    stream_options: bool = True  #: send ``stream_options: {include_usage: true}``
    temperature: bool = True  #: send ``temperature: 0`` (some reasoning models refuse any temperature)
    max_tokens_key: str = "max_tokens"  #: or ``max_completion_tokens`` (OpenAI's reasoning models)

    @property
    def url(self) -> str:
        """The completion URL."""
        return f"{self.base_url}/chat/completions" if self.api == "chat" else f"{self.base_url}/completions"

    def body(self, prompt: str, max_tokens: int) -> dict[str, Any]:
        """The request body for ``prompt`` with the output pinned to ``max_tokens``."""
        body: dict[str, Any] = {"model": self.model, self.max_tokens_key: max_tokens, "stream": True}
        if self.temperature:
            body["temperature"] = 0
        if self.api == "chat":
            body["messages"] = [{"role": "user", "content": prompt}]
        else:
            body["prompt"] = prompt
        if self.stream_options:
            body["stream_options"] = {"include_usage": True}
        if self.ignore_eos:
            body["ignore_eos"] = True
        return body


class SendPacer:
    """Lets one request start per event-loop iteration, so that reads are polled between sends.

    When a wave of streams ends together (closed-loop load with pinned output lengths does that), every
    worker starts its next request in the same loop iteration; building and writing a request costs the
    client ~0.5 ms, so 256 of them would keep the loop from reading for >100 ms and every token arriving
    meanwhile would be stamped late. Through the pacer, each start waits its turn and the loop reads (and
    stamps) between two starts. TTFT is timed from the socket write, so the wait is not counted as latency.
    """

    def __init__(self, burst: int = 1) -> None:
        # Starts released per loop iteration. Measured at 256 streams: 1 gave a first-token p99 error of
        # 0.01 ms, 8 gave 20 ms, no pacing 100 ms; the request rate did not change beyond the noise.
        self.burst = burst
        self._queue: deque[asyncio.Future[None]] = deque()
        self._scheduled = False

    async def turn(self) -> None:
        """Wait for this request's turn to start."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._queue.append(future)
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._release)
        await future

    def _release(self) -> None:
        released = 0
        while self._queue and released < self.burst:
            future = self._queue.popleft()
            if not future.done():  # skip the cancelled
                future.set_result(None)
                released += 1
        if self._queue:
            asyncio.get_running_loop().call_soon(self._release)  # the next one, one iteration later
        else:
            self._scheduled = False


@dataclass
class Attempt:
    """The outcome of one HTTP attempt."""

    status: int | None
    state: StreamState
    t_send: float
    t_end: float
    error: str | None = None
    retry_after_s: float | None = None
    transport_error: bool = False  #: a timeout or a connection error (not an answer from the server)

    @property
    def ok(self) -> bool:
        """True when the stream completed with no error."""
        return self.error is None and self.status == 200

    @property
    def retryable(self) -> bool:
        """Failed before any token, for a reason worth another try (transport error, 429, 5xx)."""
        if self.ok or self.state.events:
            return False
        return self.transport_error or self.status is None or self.status in RETRY_STATUSES


async def stream_once(
    client: httpx.AsyncClient,
    endpoint: Endpoint,
    body: dict[str, Any],
    *,
    timeout_s: float,
    pacer: SendPacer | None = None,
) -> Attempt:
    """Send one streamed request and time every token event. Never raises for network or HTTP errors."""
    if pacer is not None:
        await pacer.turn()
    state = StreamState()
    feed = state.feed
    status: int | None = None
    t_send = perf()
    headers = {"accept-encoding": "identity", **endpoint.headers}  # raw SSE bytes, never compressed
    try:
        async with client.stream(
            "POST", endpoint.url, json=body, headers=headers, timeout=httpx.Timeout(timeout_s)
        ) as response:
            t_send = response.extensions.get("request_sent_at", t_send)
            status = response.status_code
            if status != 200:
                raw = await response.aread()
                retry_after = _retry_after_s(response.headers.get("retry-after"))
                return Attempt(status, state, t_send, perf(), error_from_body(status, raw), retry_after)
            times = response.extensions.get("arrival_times")
            if times is None:  # another transport: timestamp at the yield
                async for data in response.aiter_raw():
                    feed(perf(), data)
            else:  # StreamTransport: the time data_received ran for this chunk
                async for data in response.aiter_raw():
                    feed(times[-1], data)
            t_end = times[-1] if times else perf()
            state.finish(t_end)
    except httpx.TimeoutException as exc:
        what = "connect" if isinstance(exc, httpx.ConnectTimeout) else "read"
        after = f" after {state.events} token events" if status == 200 else ""
        message = f"timeout: no {what} progress for {timeout_s:g} s{after}"
        return Attempt(status, state, t_send, perf(), message, transport_error=True)
    except httpx.HTTPError as exc:
        after = f" after {state.events} token events" if state.events else ""
        message = f"{type(exc).__name__}: {exc}{after}".strip()
        return Attempt(status, state, t_send, perf(), message, transport_error=True)
    if state.error is not None:
        return Attempt(status, state, t_send, t_end, state.error)
    if not state.done and not state.events:
        return Attempt(status, state, t_send, t_end, "stream ended without any token or [DONE]")
    return Attempt(status, state, t_send, t_end)


def _retry_after_s(value: str | None) -> float | None:
    try:
        return min(float(value), 30.0) if value else None
    except ValueError:
        return None


async def stream_with_retries(
    client: httpx.AsyncClient,
    endpoint: Endpoint,
    body: dict[str, Any],
    *,
    timeout_s: float,
    retries: int,
    pacer: SendPacer | None = None,
) -> tuple[Attempt, int]:
    """:func:`stream_once`, retried before the first token; returns (last attempt, attempts made)."""
    attempts = 0
    while True:
        attempts += 1
        attempt = await stream_once(client, endpoint, body, timeout_s=timeout_s, pacer=pacer)
        if attempt.ok or attempts > retries or not attempt.retryable:
            return attempt, attempts
        backoff = attempt.retry_after_s if attempt.retry_after_s is not None else min(0.1 * 2 ** (attempts - 1), 2.0)
        await asyncio.sleep(backoff)


def request_record(
    attempt: Attempt,
    attempts: int,
    *,
    run_start: float,
    concurrency: int,
    output_tokens_target: int,
    index: int,
) -> dict[str, Any]:
    """A ``request`` samples record (see :mod:`costmodel.profiles.live.samples`) for a finished attempt."""
    state = attempt.state
    times = state.token_times
    ttft = times[0] - attempt.t_send if times else None
    itl: list[float] = np.diff(times).round(7).tolist() if len(times) > 1 else []
    completion = state.completion_tokens
    source = "usage" if completion is not None else ("events" if attempt.status == 200 else None)
    if completion is None and attempt.status == 200:
        completion = state.events
    return {
        "type": "request",
        "concurrency": concurrency,
        "output_tokens_target": output_tokens_target,
        "index": index,
        "start_s": round(attempt.t_send - run_start, 6),
        "ok": attempt.ok,
        "status": attempt.status,
        "error": attempt.error,
        "ttft_s": round(ttft, 7) if ttft is not None else None,
        "itl_s": itl,
        "e2e_s": round(attempt.t_end - attempt.t_send, 7),
        "prompt_tokens": state.prompt_tokens,
        "completion_tokens": completion,
        "completion_tokens_source": source,
        "events": state.events,
        "attempts": attempts,
        "response_id": state.response_id,
    }
