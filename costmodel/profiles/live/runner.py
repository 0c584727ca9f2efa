"""The warm sweep: probe what the server accepts, calibrate prompts, then hold each concurrency level.

A level keeps ``concurrency`` requests in flight (closed loop: a worker sends its next request as soon as
its last one ends) until ``requests`` have been sent. Every finished request is handed to ``emit`` at once
(the caller writes it to the samples file), so an interrupted level keeps what it measured. Before a level
starts, the garbage collector runs once and freezes what survives (``gc.freeze``), so that no full
collection pauses the measurement.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np

from breakeven.errors import MeasurementError
from costmodel.profiles.live.client import (
    Attempt,
    Endpoint,
    SendPacer,
    perf,
    request_record,
    stream_once,
    stream_with_retries,
)
from costmodel.profiles.live.prompts import DEFAULT_CALIBRATION, Calibration, fit_calibration, prompt_text

Emit = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class ProbeResult:
    """What the probe requests found."""

    calibration: Calibration
    words: int
    usage: bool

    def record(self, endpoint: Endpoint) -> dict[str, Any]:
        """The ``probe`` samples record."""
        c = self.calibration
        return {
            "type": "probe",
            "ignore_eos": endpoint.ignore_eos,
            "stream_options": endpoint.stream_options,
            "temperature": endpoint.temperature,
            "max_tokens_key": endpoint.max_tokens_key,
            "usage": self.usage,
            "intercept_tokens": round(c.intercept_tokens, 4),
            "tokens_per_word": round(c.tokens_per_word, 6),
            "calibrated": c.calibrated,
            "probes": [list(p) for p in c.probes],
            "words": self.words,
        }


async def _probe_once(
    client: httpx.AsyncClient,
    endpoint: Endpoint,
    words: int,
    rng: np.random.Generator,
    *,
    timeout_s: float,
    retries: int,
) -> Attempt:
    """One probe request. On a 400/422 it adapts ``endpoint`` and tries again (the choice is remembered):
    ``max_completion_tokens`` for ``max_tokens`` or no ``temperature`` when the error names them, else drop
    ``ignore_eos``, then ``stream_options``."""
    prompt = prompt_text(words, rng)
    while True:
        attempt, _ = await stream_with_retries(
            client, endpoint, endpoint.body(prompt, 2), timeout_s=timeout_s, retries=retries
        )
        if attempt.status in (400, 422) and _adapt(endpoint, (attempt.error or "").lower()):
            continue
        if not attempt.ok:
            raise MeasurementError(f"{endpoint.url}: the probe request failed: {attempt.error}")
        return attempt


def _adapt(endpoint: Endpoint, error: str) -> bool:
    """Change one request setting that a 400 answer may be about; False when nothing is left to try."""
    if "max_tokens" in error and endpoint.max_tokens_key == "max_tokens":
        endpoint.max_tokens_key = "max_completion_tokens"
    elif "temperature" in error and endpoint.temperature:
        endpoint.temperature = False
    elif endpoint.ignore_eos:
        endpoint.ignore_eos = False
    elif endpoint.stream_options:
        endpoint.stream_options = False
    else:
        return False
    return True


async def probe(
    client: httpx.AsyncClient,
    endpoint: Endpoint,
    *,
    input_tokens: int,
    rng: np.random.Generator,
    timeout_s: float,
    retries: int,
) -> ProbeResult:
    """Find what the server accepts and how it counts prompt tokens; returns the words per prompt to send."""
    small = max(4, input_tokens // 4)
    large = max(small + 16, input_tokens)
    first = await _probe_once(client, endpoint, small, rng, timeout_s=timeout_s, retries=retries)
    if first.state.prompt_tokens is None:
        return ProbeResult(DEFAULT_CALIBRATION, DEFAULT_CALIBRATION.words_for(input_tokens), usage=False)
    second = await _probe_once(client, endpoint, large, rng, timeout_s=timeout_s, retries=retries)
    if second.state.prompt_tokens is None:
        return ProbeResult(DEFAULT_CALIBRATION, DEFAULT_CALIBRATION.words_for(input_tokens), usage=False)
    calibration = fit_calibration([(small, first.state.prompt_tokens), (large, second.state.prompt_tokens)])
    return ProbeResult(calibration, calibration.words_for(input_tokens), usage=True)


async def first_token_s(
    client: httpx.AsyncClient, endpoint: Endpoint, *, t0: float, timeout_s: float, deadline_s: float
) -> float:
    """Seconds from ``t0`` [perf_counter] to the first streamed token of a one-token request.

    Retries (0.2 s apart) until ``deadline_s`` after ``t0``: right after ``/health`` a server may still
    refuse requests.
    """
    body = endpoint.body("Say hello.", 1)
    body.pop("ignore_eos", None)
    last = ""
    while perf() - t0 < deadline_s:
        attempt = await stream_once(client, endpoint, body, timeout_s=timeout_s)
        if attempt.status in (400, 422) and "stream_options" in body:
            body.pop("stream_options")
            continue
        if attempt.state.token_times:
            return attempt.state.token_times[0] - t0
        last = attempt.error or "no token"
        if attempt.status is not None and attempt.status not in (429, 500, 502, 503, 504):
            raise MeasurementError(f"{endpoint.url}: the first request after launch failed: {last}")
        await asyncio.sleep(0.2)
    raise MeasurementError(f"{endpoint.url}: no first token within {deadline_s:g} s of launch; last error: {last}")


async def run_level(
    client: httpx.AsyncClient,
    endpoint: Endpoint,
    *,
    concurrency: int,
    requests: int,
    output_tokens: int,
    words: int,
    rng: np.random.Generator,
    timeout_s: float,
    retries: int,
    run_start: float,
    emit: Emit,
) -> None:
    """Send ``requests`` requests, ``concurrency`` at a time, emitting one record per finished request."""
    prompts = [prompt_text(words, rng) for _ in range(requests)]
    counter = itertools.count()
    pacer = SendPacer()
    # A full collection walks every object the process holds (pandas, pydantic...): measured 300 ms, a stall
    # that would land in some request's timings. Collect now and freeze the survivors out of later passes.
    gc.collect()
    gc.freeze()

    async def worker() -> None:
        while (index := next(counter)) < requests:
            body = endpoint.body(prompts[index], output_tokens)
            attempt, attempts = await stream_with_retries(
                client, endpoint, body, timeout_s=timeout_s, retries=retries, pacer=pacer
            )
            emit(
                request_record(
                    attempt,
                    attempts,
                    run_start=run_start,
                    concurrency=concurrency,
                    output_tokens_target=output_tokens,
                    index=index,
                )
            )

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(concurrency, requests)):
                group.create_task(worker())
    finally:
        gc.unfreeze()  # leave the process's collector as it was
