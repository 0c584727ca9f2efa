"""StreamTransport over TLS (serverless endpoints are https): handshake, decryption, keep-alive, bad certificates.

A self-signed certificate is made with the system's ``openssl`` (skipped when absent) and served by a
small asyncio TLS server in a thread of the test process.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from costmodel.profiles.live.client import Endpoint, stream_once
from costmodel.profiles.live.transport import StreamTransport


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                ),
                0,
            )
            body = json.loads(await reader.readexactly(length))
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
            for k in range(body["max_tokens"]):
                event = {"id": "chatcmpl-tls", "choices": [{"index": 0, "delta": {"content": f" t{k}"}}]}
                writer.write(_chunk(b"data: " + json.dumps(event).encode() + b"\n\n"))
                await writer.drain()
                await asyncio.sleep(0.005)
            usage = {"id": "chatcmpl-tls", "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 3}}
            writer.write(_chunk(b"data: " + json.dumps(usage).encode() + b"\n\n") + _chunk(b"data: [DONE]\n\n"))
            writer.write(b"0\r\n\r\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
        writer.close()


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(asyncio.start_server(_handle, "127.0.0.1", 0, ssl=context))
    port = server.sockets[0].getsockname()[1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield port, cert
    loop.call_soon_threadsafe(server.close)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.run_until_complete(server.wait_closed())
    for task in asyncio.all_tasks(loop):
        task.cancel()
    loop.run_until_complete(asyncio.sleep(0))
    loop.close()


def test_streams_over_tls_with_keep_alive(tls_server: tuple[int, Path]) -> None:
    port, cert = tls_server
    trusted = ssl.create_default_context(cafile=str(cert))

    async def go() -> None:
        transport = StreamTransport(ssl_context=trusted)
        async with httpx.AsyncClient(transport=transport, timeout=5) as http:
            endpoint = Endpoint(f"https://localhost:{port}/v1", "m")
            for _ in range(3):
                attempt = await stream_once(http, endpoint, endpoint.body("hello", 3), timeout_s=5)
                assert attempt.ok, attempt.error
                assert attempt.state.events == 3 and attempt.state.completion_tokens == 3
                gaps = [b - a for a, b in zip(attempt.state.token_times, attempt.state.token_times[1:], strict=False)]
                assert all(0.004 < g < 0.05 for g in gaps)
            assert len(transport._all) == 1  # one TLS connection, kept alive

    asyncio.run(go())


def test_an_untrusted_certificate_is_a_connect_error(tls_server: tuple[int, Path]) -> None:
    port, _ = tls_server

    async def go() -> None:
        async with httpx.AsyncClient(transport=StreamTransport(), timeout=5) as http:
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await http.get(f"https://localhost:{port}/health")

    asyncio.run(go())
