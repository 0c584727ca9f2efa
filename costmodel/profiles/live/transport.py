"""A lean HTTP/1.1 transport for ``httpx.AsyncClient`` that timestamps every read where it happens.

Why: with hundreds of concurrent streams, httpcore's connection pool rescans every connection for every
queued request (measured: 60 % of the client's CPU at 256 streams), and each streamed chunk climbs through
several coroutine layers before a timestamp can be taken, so under load the timestamp trails the arrival.
Here each connection is a :class:`~costmodel.profiles.live.connection.Connection` (a non-blocking socket read
from the loop's reader callback, stamped by the kernel on Linux), and the pool is a per-origin list of idle
keep-alive connections (O(1) to take or return).

The profiler stays on the one ``httpx.AsyncClient`` seam: the CLI builds
``httpx.AsyncClient(transport=StreamTransport())``, and the response's ``extensions["arrival_times"]`` list
holds, after each chunk ``aiter_raw()`` yields, the arrival time of that chunk. Any other transport (tests may
pass a plain client) works too; the client then timestamps at the ``aiter_raw()`` yield.

Scope: HTTP/1.1 over TCP or TLS (certifi's CA bundle, or ``SSL_CERT_FILE``), keep-alive, Content-Length /
chunked / close-delimited bodies, connect and read timeouts (httpx's ``timeout`` extension), one transparent
retry when a reused keep-alive connection turns out to be closed. Not supported: proxies (the CLI falls back
to httpx's own transport when a proxy variable is set), HTTP/2, response decompression (the profiler asks for
``identity``), request bodies larger than memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
from collections.abc import AsyncIterator
from typing import Any

import httpx

from costmodel.profiles.live.connection import Connection

_Key = tuple[str, str, int]


class _Body(httpx.AsyncByteStream):
    """The response body: yields decoded pieces and records each one's arrival time first."""

    def __init__(self, transport: StreamTransport, key: _Key, conn: Connection, times: list[float]) -> None:
        self._transport = transport
        self._key = key
        self._conn = conn
        self._times = times
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        conn = self._conn
        pieces = conn.pieces
        times = self._times
        while True:
            if pieces:
                t, data = pieces.popleft()
                times.append(t)
                yield data
            elif conn.inbox or conn.closed:
                conn.pump()
                if pieces:
                    continue
                if conn.body_done:
                    return
                if conn.error is not None:
                    raise conn.error
                await conn.wait()
            elif conn.body_done:
                return
            elif conn.error is not None:
                raise conn.error
            else:
                await conn.wait()

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            self._transport._release(self._key, self._conn)


def _ssl_context() -> ssl.SSLContext:
    cafile = os.environ.get("SSL_CERT_FILE")
    if not cafile:
        try:
            import certifi  # noqa: PLC0415 - httpx's own CA bundle, imported only for https

            cafile = certifi.where()
        except ImportError:  # pragma: no cover - certifi comes with httpx
            cafile = None
    context = ssl.create_default_context(cafile=cafile)
    context.set_alpn_protocols(["http/1.1"])
    return context


class StreamTransport(httpx.AsyncBaseTransport):
    """An ``httpx`` async transport for many concurrent streamed responses (see the module docstring)."""

    def __init__(self, *, max_connections: int | None = None, ssl_context: ssl.SSLContext | None = None) -> None:
        self._idle: dict[_Key, list[Connection]] = {}
        self._all: set[Connection] = set()
        self._ssl = ssl_context
        self._max = max_connections
        self._slots: asyncio.Semaphore | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.scheme
        if scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"StreamTransport supports http and https, not {scheme!r}")
        key = (scheme, url.host, url.port or (443 if scheme == "https" else 80))
        timeout: dict[str, float | None] = request.extensions.get("timeout", {})
        body = b"".join([part async for part in request.stream])  # type: ignore[union-attr]
        head = [b"%s %s HTTP/1.1\r\n" % (request.method.encode(), url.raw_path)]
        head += [b"%s: %s\r\n" % (name, value) for name, value in request.headers.raw]
        if body and "content-length" not in request.headers:
            head.append(b"content-length: %d\r\n" % len(body))
        data = b"".join([*head, b"\r\n", body])
        if self._max is not None:
            if self._slots is None:
                self._slots = asyncio.Semaphore(self._max)
            await self._slots.acquire()
        conn: Connection | None = None
        try:
            conn, reused = await self._connection(key, timeout.get("connect"))
            try:
                await self._send(conn, data, timeout.get("read"), request.method == "HEAD")
            except httpx.RemoteProtocolError:
                if not reused or conn.received_any:
                    raise
                self._drop(conn)  # a stale keep-alive connection: one retry on a fresh one
                conn, _ = await self._connection(key, timeout.get("connect"), fresh=True)
                await self._send(conn, data, timeout.get("read"), request.method == "HEAD")
        except BaseException:
            if conn is not None:
                self._drop(conn)
            if self._slots is not None:
                self._slots.release()
            raise
        assert conn.head is not None
        status, version, headers = conn.head
        times: list[float] = []
        return httpx.Response(
            status,
            headers=headers,
            stream=_Body(self, key, conn, times),
            extensions={"http_version": version, "arrival_times": times, "request_sent_at": conn.sent_at},
        )

    async def _send(self, conn: Connection, data: bytes, read_timeout: float | None, head_only: bool) -> None:
        conn.start_request(data, read_timeout, no_body=head_only)
        while True:
            conn.pump()
            if conn.head is not None:
                return
            if conn.error is not None:
                raise conn.error
            await conn.wait()

    def _drop(self, conn: Connection) -> None:
        conn.keep_alive = False
        conn.finish()
        self._all.discard(conn)

    async def _connection(
        self, key: _Key, connect_timeout: float | None, *, fresh: bool = False
    ) -> tuple[Connection, bool]:
        idle = self._idle.get(key)
        while idle and not fresh:
            conn = idle.pop()
            if not conn.closed:
                return conn, True
            self._all.discard(conn)
        scheme, host, port = key
        tls = None
        if scheme == "https":
            if self._ssl is None:
                self._ssl = _ssl_context()
            tls = self._ssl
        conn = await Connection.open(host, port, ssl_context=tls, timeout_s=connect_timeout)
        self._all.add(conn)
        return conn, False

    def _release(self, key: _Key, conn: Connection) -> None:
        if self._slots is not None:
            self._slots.release()
        if conn.finish():
            self._idle.setdefault(key, []).append(conn)
        else:
            self._all.discard(conn)

    async def aclose(self) -> None:
        for conn in list(self._all):
            with contextlib.suppress(Exception):
                conn.close()
        self._all.clear()
        self._idle.clear()

    def __repr__(self) -> str:
        return f"StreamTransport(connections={len(self._all)})"


def make_client(*, max_connections: int, timeout_s: float, **kwargs: Any) -> httpx.AsyncClient:
    """The profiler's client: :class:`StreamTransport`, or httpx's own when a proxy variable is set."""
    proxied = any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"))
    if proxied:
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        return httpx.AsyncClient(limits=limits, timeout=timeout_s, **kwargs)
    return httpx.AsyncClient(transport=StreamTransport(max_connections=max_connections), timeout=timeout_s, **kwargs)
