"""The live measurement, end to end: optional launches (cold start), probe, warm sweep.

:func:`measure_async` is the library entry point: it takes the ``httpx.AsyncClient`` to use (the one
network seam) and an ``emit`` callback that receives every record as it is made (the CLI writes them to
the samples JSONL and advances the progress bar). :func:`run_measurement` is the synchronous wrapper the CLI
uses: it owns the client and the event loop and turns Ctrl-C / SIGTERM into an orderly, *partial* end.
:func:`~costmodel.profiles.live.aggregate.build_profile` turns the records into a profile afterwards.

The API key never enters a record: it lives only in the request headers of :class:`Endpoint`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import signal
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

import httpx
import numpy as np

from breakeven import __version__
from breakeven.errors import BreakevenError, InputError, MeasurementError
from costmodel.profiles.importers.vllm_log import parse_vllm_log
from costmodel.profiles.live.client import Api, Endpoint, normalize_base_url, perf, server_root
from costmodel.profiles.live.launcher import LaunchedServer, split_command
from costmodel.profiles.live.runner import first_token_s, probe, run_level
from costmodel.profiles.live.samples import scrub
from costmodel.profiles.live.transport import make_client

Kind = Literal["auto", "dedicated", "serverless"]
Emit = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class MeasureConfig:
    """Everything a measurement run needs (the CLI's options, checked)."""

    base_url: str
    model: str
    endpoint: Api = "chat"
    concurrency: tuple[int, ...] = (1, 4, 16, 64)
    input_tokens: int = 80
    output_tokens: tuple[int, ...] = (30, 220, 1200)
    requests_per_level: int | None = None  #: None: max(20, 4 × concurrency)
    launch: str | None = None
    restarts: int = 1
    timeout_s: float = 60.0
    retries: int = 2
    kind: Kind = "auto"
    profile_id: str | None = None
    gpu: str | None = None
    gpu_count: int = 1
    engine: str | None = None
    gpu_price_id: str | None = None
    serverless_price_id: str | None = None
    seed: int = 0
    launch_timeout_s: float = 1800.0
    stop_grace_s: float = 15.0
    log_dir: Path | None = None  #: where launched servers' logs go (default: the working directory)
    settings: dict[str, str | int | float | bool | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", normalize_base_url(self.base_url))
        checks = [
            ("--concurrency", all(c >= 1 for c in self.concurrency) and bool(self.concurrency), self.concurrency),
            (
                "--output-tokens",
                all(o >= 1 for o in self.output_tokens) and bool(self.output_tokens),
                self.output_tokens,
            ),
            ("--input-tokens", self.input_tokens >= 1, self.input_tokens),
            (
                "--requests-per-level",
                self.requests_per_level is None or self.requests_per_level >= 1,
                self.requests_per_level,
            ),
            ("--restarts", self.restarts >= 1, self.restarts),
            ("--timeout", self.timeout_s > 0, self.timeout_s),
            ("--retries", self.retries >= 0, self.retries),
            ("--gpu-count", self.gpu_count >= 1, self.gpu_count),
        ]
        for option, good, found in checks:
            if not good:
                raise InputError(f"option {option}: expected positive whole numbers, found {found!r}")
        if not self.model.strip():
            raise InputError("option --model: expected the served model name, found an empty string")
        if self.launch is not None:
            split_command(self.launch)

    def levels(self) -> list[tuple[int, int, int]]:
        """(concurrency, output tokens, requests) in sweep order: each output length over all concurrencies."""
        return [(c, o, self.requests_per_level or max(20, 4 * c)) for o in self.output_tokens for c in self.concurrency]

    def resolved_kind(self) -> Literal["dedicated", "serverless"]:
        """``kind``, or the guess of :func:`guess_kind` when ``auto``."""
        return guess_kind(self.base_url, launched=self.launch is not None) if self.kind == "auto" else self.kind


def guess_kind(base_url: str, *, launched: bool) -> Literal["dedicated", "serverless"]:
    """Dedicated for a launched server, loopback/private/link-local addresses, IP literals, single-label or
    ``.local/.internal/.svc/.lan`` host names, or an explicit port other than 443; serverless otherwise
    (an https API on a public DNS name, such as ``https://api.together.xyz/v1``)."""
    if launched:
        return "dedicated"
    parts = urlsplit(base_url)
    host = (parts.hostname or "").lower()
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return "dedicated"
    if host == "localhost" or "." not in host or host.endswith((".local", ".internal", ".svc", ".lan", ".localhost")):
        return "dedicated"
    if parts.port is not None and parts.port != 443:
        return "dedicated"
    return "serverless"


def default_profile_id(config: MeasureConfig) -> str:
    """``model@host`` (``model@launched`` for --launch)."""
    host = "launched" if config.launch else (urlsplit(config.base_url).hostname or "endpoint")
    return f"{config.model}@{host}"


class Reporter(Protocol):
    """Progress callbacks (the CLI's progress bar)."""

    def level(self, concurrency: int, output_tokens: int, requests: int) -> None:
        """A level starts."""

    def phase(self, text: str) -> None:
        """A non-request step starts (launch, probe)."""


def run_record(config: MeasureConfig, secrets: tuple[str, ...], started: datetime) -> dict[str, Any]:
    """The ``run`` samples record (the launch command is scrubbed of secrets)."""
    return {
        "type": "run",
        "schema": "llm-breakeven/samples/v1",
        "started": started.isoformat(),
        "base_url": config.base_url,
        "model": config.model,
        "endpoint": config.endpoint,
        "kind": config.resolved_kind(),
        "profile_id": config.profile_id or default_profile_id(config),
        "gpu": config.gpu,
        "gpu_count": config.gpu_count,
        "engine": config.engine,
        "gpu_price_id": config.gpu_price_id,
        "serverless_price_id": config.serverless_price_id,
        "input_tokens": config.input_tokens,
        "output_tokens": list(config.output_tokens),
        "concurrency": list(config.concurrency),
        "requests_per_level": [n for _, _, n in config.levels()],
        "launch": scrub(config.launch, secrets) if config.launch else None,
        "restarts": config.restarts if config.launch else 0,
        "timeout_s": config.timeout_s,
        "retries": config.retries,
        "tool_version": __version__,
        "settings": dict(config.settings),
    }


async def _engine_info(client: httpx.AsyncClient, base_url: str, kind: str) -> tuple[str | None, str | None]:
    """(engine name, version): vLLM answers ``GET /version``; a serverless endpoint is named by its host."""
    if kind == "serverless":
        return urlsplit(base_url).hostname, None
    try:
        response = await client.get(f"{server_root(base_url)}/version", timeout=5.0)
        version = response.json().get("version") if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError, AttributeError):
        version = None
    return ("vllm", str(version)) if version else ("openai-compatible", None)


def launch_log_fields(text: str, source: str) -> dict[str, Any]:
    """Phases, KV-cache figures and version from a launched server's log (the vLLM log importer)."""
    runs = parse_vllm_log(text, source=source).runs
    if not runs:
        return {}
    run = runs[-1]
    fields: dict[str, Any] = {
        "phases": run.phases.model_dump(mode="json"),
        "kv_cache_tokens": run.kv_cache_tokens,
        "engine_version": run.engine_version,
    }
    if run.max_concurrency is not None:
        fields["max_concurrency"] = run.max_concurrency.value
        fields["max_concurrency_tokens"] = run.max_concurrency.tokens_per_request
    if run.failed:
        fields["failed"] = True
        fields["error"] = run.failure
    return fields


async def _wait_port_closed(host: str, port: int, timeout_s: float = 30.0) -> None:
    deadline = perf() + timeout_s
    while perf() < deadline:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout=1.0)
        except (OSError, TimeoutError):
            return
        writer.close()
        await asyncio.sleep(0.1)
    raise MeasurementError(f"option --launch: port {host}:{port} still open {timeout_s:g} s after the server stopped")


async def _warm(
    client: httpx.AsyncClient,
    config: MeasureConfig,
    endpoint: Endpoint,
    emit: Emit,
    *,
    reporter: Reporter | None,
    run_start: float,
    rng: np.random.Generator,
) -> None:
    if reporter:
        reporter.phase("probing the endpoint")
    kind = config.resolved_kind()
    engine, version = await _engine_info(client, config.base_url, kind)
    found = await probe(  # a set-up step: a transient error must not end the run, whatever --retries says
        client,
        endpoint,
        input_tokens=config.input_tokens,
        rng=rng,
        timeout_s=config.timeout_s,
        retries=max(2, config.retries),
    )
    emit({**found.record(endpoint), "engine": engine, "engine_version": version})
    for concurrency, output_tokens, requests in config.levels():
        if reporter:
            reporter.level(concurrency, output_tokens, requests)
        await run_level(
            client,
            endpoint,
            concurrency=concurrency,
            requests=requests,
            output_tokens=output_tokens,
            words=found.words,
            rng=rng,
            timeout_s=config.timeout_s,
            retries=config.retries,
            run_start=run_start,
            emit=emit,
        )


async def measure_async(
    client: httpx.AsyncClient,
    config: MeasureConfig,
    emit: Emit,
    *,
    api_key: str | None = None,
    reporter: Reporter | None = None,
    started: datetime | None = None,
) -> None:
    """Measure ``config`` with ``client``; every record goes to ``emit`` the moment it exists.

    Raises :class:`MeasurementError` when the endpoint cannot be measured at all (probe fails, launched
    server does not come up). A launched server is stopped on every exit path.
    """
    secrets = (api_key,) if api_key else ()
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    endpoint = Endpoint(config.base_url, config.model, config.endpoint, headers=headers)
    rng = np.random.default_rng(config.seed)
    run_start = perf()
    emit(run_record(config, secrets, started or datetime.now(UTC)))
    if config.launch is None:
        await _warm(client, config, endpoint, emit, reporter=reporter, run_start=run_start, rng=rng)
        return
    parts = urlsplit(config.base_url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    log_dir = config.log_dir or Path()
    for restart in range(config.restarts):
        if reporter:
            reporter.phase(f"launch {restart + 1} of {config.restarts}: waiting for the server")
        log_path = log_dir / f"launch-{restart}.log"
        record: dict[str, Any] = {"type": "launch", "restart": restart, "log_path": str(log_path)}
        server = LaunchedServer(config.launch, log_path=log_path, secrets=secrets, stop_grace_s=config.stop_grace_s)
        async with server:
            try:
                record["port_open_s"] = round(await server.wait_port(host, port, deadline_s=config.launch_timeout_s), 4)
                health = f"{server_root(config.base_url)}/health"
                record["ready_s"] = round(
                    await server.wait_health(client, health, deadline_s=config.launch_timeout_s), 4
                )
                first = await first_token_s(
                    client, endpoint, t0=server.t0, timeout_s=config.timeout_s, deadline_s=config.launch_timeout_s
                )
                record["first_token_s"] = round(first, 4)
            except MeasurementError as exc:
                record.update(launch_log_fields(server.log_text(), str(log_path)))
                record.update(failed=True, error=scrub(str(exc), secrets))
                emit(record)
                raise
            record.update(launch_log_fields(server.log_text(), str(log_path)))
            emit(record)
            if restart == config.restarts - 1:
                warm = _warm(client, config, endpoint, emit, reporter=reporter, run_start=run_start, rng=rng)
                await _while_alive(server, warm)
        if restart < config.restarts - 1:
            await _wait_port_closed(host, port)


async def _while_alive(server: LaunchedServer, work: Coroutine[Any, Any, None]) -> None:
    """Run ``work``; if the launched server exits meanwhile, stop it and raise :class:`MeasurementError`."""

    async def watch() -> None:
        # Poll: Process.wait() also waits for the output pipe, which a surviving child can hold open.
        while not server.exited:
            await asyncio.sleep(0.2)
        code = server.proc.returncode if server.proc is not None else None
        raise MeasurementError(
            f"option --launch: the server exited with code {code} during the measurement (log: {server.log_path})"
        )

    try:
        async with asyncio.TaskGroup() as group:
            watcher = group.create_task(watch())
            await work
            watcher.cancel()
    except ExceptionGroup as failed:  # the watcher's error (or the work's), unwrapped
        raise failed.exceptions[0] from None


def run_measurement(
    config: MeasureConfig, emit: Emit, *, api_key: str | None = None, reporter: Reporter | None = None
) -> tuple[bool, str | None]:
    """Run :func:`measure_async` in a fresh event loop with the profiler's client (:func:`make_client`: the
    kernel-stamped :class:`~costmodel.profiles.live.transport.StreamTransport`) sized for the largest level.

    Returns (interrupted, error): Ctrl-C or SIGTERM give ``(True, None)``; a :class:`BreakevenError` gives
    ``(False, message)``. Either way an ``end`` record is emitted last, so the samples say how the run ended.
    """
    top = max(config.concurrency) + 4

    async def main() -> None:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        if task is not None:
            with contextlib.suppress(NotImplementedError, RuntimeError):  # not on Windows / not main thread
                loop.add_signal_handler(signal.SIGTERM, task.cancel)
        async with make_client(max_connections=top, timeout_s=config.timeout_s) as client:
            await measure_async(client, config, emit, api_key=api_key, reporter=reporter)

    interrupted, error = False, None
    try:
        asyncio.run(main())
    except (KeyboardInterrupt, asyncio.CancelledError):
        interrupted = True
    except BreakevenError as exc:
        error = scrub(str(exc), (api_key,) if api_key else ())
    emit({"type": "end", "finished": datetime.now(UTC).isoformat(), "interrupted": interrupted, "error": error})
    return interrupted, error
