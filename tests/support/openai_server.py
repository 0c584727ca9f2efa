"""A small OpenAI-compatible streaming server for the profiler's tests and benchmark (stdlib asyncio only).

It speaks just enough HTTP/1.1 (keep-alive, Content-Length request bodies, chunked responses) to serve
``POST /v1/chat/completions`` and ``POST /v1/completions`` as Server-Sent Events the way vLLM and OpenAI
stream them, plus ``GET /health``, ``GET /version``, ``GET /v1/models`` and ``GET /_records`` (the server's
own timestamps, for the benchmark).

Behaviour is chosen per request by parameters in the model name, so one server process serves every test::

    fake                          defaults: TTFT 50 ms, ITL 10 ms, usage when asked
    fake:ttft=0.2,itl=0.02        injected delays [s]
    fake:usage=0                  never send a usage chunk (the client must count chunks)
    fake:ignore_eos=reject        answer 400 when the request has ``ignore_eos`` (as OpenAI does)
    fake:strict=1                 also 400 for ``max_tokens`` and ``temperature`` (OpenAI's reasoning models)
    fake:eos=5                    stop after 5 tokens unless ``ignore_eos`` is true
    fake:status=500               answer every request with that HTTP status
    fake:fail_every=3             every 3rd request (server-wide count) gets 503
    fake:error_after=3            send 3 tokens, then an error event
    fake:hang_after=3             send 3 tokens, then go silent (the connection stays open)
    fake:drop_after=3             send 3 tokens, then close the connection without ending the body
    fake:chunk=2                  2 tokens per SSE event (providers that bundle tokens)
    fake:key=SECRET               401 unless ``Authorization: Bearer SECRET``; the 401 body echoes the key sent
    fake:close=1                  answer, then close the connection without saying so (a stale keep-alive)

Prompt tokens are counted as whitespace-separated words, plus 7 for the chat template (4 per message + 3)
or 1 (BOS) for completions, so prompt calibration has a template overhead to find.

Send times are taken with ``time.perf_counter()`` right before each ``write``; ``GET /_records`` returns and
clears ``{"requests": [{"id", "recv_s", "send_s": [...]}], "clock": {"perf_s", "wall_s"}}`` (``recv_s`` =
request fully read, ``send_s`` = each token event; the first is the first token; ``clock`` maps wall-clock
stamps of other tools onto ``perf_counter``). Run standalone::

    python -m tests.support.openai_server --port 0 --port-file /tmp/port
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import signal
import socket
import struct
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

perf = time.perf_counter
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux; Python does not export the name

CHAT_TEMPLATE_TOKENS = 7  # 4 per message + 3, for a single user message
BOS_TOKENS = 1


@dataclass
class Behaviour:
    """Per-request behaviour parsed from the model name."""

    ttft: float = 0.05
    itl: float = 0.01
    usage: bool = True
    ignore_eos: str = "accept"  # accept | reject
    eos: int | None = None
    status: int = 200
    fail_every: int = 0
    error_after: int | None = None
    hang_after: int | None = None
    drop_after: int | None = None
    chunk: int = 1
    key: str | None = None
    close: bool = False
    strict: bool = False


def parse_behaviour(model: str, defaults: str = "") -> Behaviour:
    """``fake:ttft=0.2,itl=0.02`` -> Behaviour (``defaults``, same syntax, apply first)."""
    b = Behaviour()
    _, _, params = model.partition(":")
    for item in filter(None, f"{defaults},{params}".split(",")):
        _set(b, item, model)
    return b


def _set(b: Behaviour, item: str, model: str) -> None:
    name, _, value = item.partition("=")
    if name in ("ttft", "itl"):
        setattr(b, name, float(value))
    elif name in ("eos", "error_after", "hang_after", "drop_after", "status", "fail_every", "chunk"):
        setattr(b, name, int(value))
    elif name in ("usage", "close", "strict"):
        setattr(b, name, value not in ("0", "false", "no"))
    elif name in ("ignore_eos", "key"):
        setattr(b, name, value)
    else:
        raise ValueError(f"unknown behaviour {name!r} in model {model!r}")


def count_prompt_tokens(body: dict[str, Any], chat: bool) -> int:
    """Whitespace words + the template overhead (see the module docstring)."""
    if chat:
        messages = body.get("messages") or []
        words = sum(len(str(m.get("content", "")).split()) for m in messages)
        return words + 4 * len(messages) + 3
    return len(str(body.get("prompt", "")).split()) + BOS_TOKENS


@dataclass
class Server:
    """The server state: request counter and recorded timestamps."""

    records: list[dict[str, Any]] = field(default_factory=list)
    counter: itertools.count[int] = field(default_factory=itertools.count)
    record: bool = True
    defaults: str = ""  #: behaviour for every request, before the model name's own parameters
    healthy_at: float = 0.0  #: perf_counter time from which /health answers 200 (503 before)

    async def handle(self, conn: StampedConn) -> None:
        reader = writer = conn
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                request_line, *header_lines = head.decode("latin-1").split("\r\n")
                method, target, _version = request_line.split(" ", 2)
                headers: dict[str, str] = {}
                for line in header_lines:
                    if line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0") or 0)
                body = await reader.readexactly(length) if length else b""
                recv = conn.stamp  # when the kernel received the request's last packet
                keep = await self.route(method, target, headers, body, recv, writer)
                if not keep or headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            conn.close()

    async def route(
        self,
        method: str,
        target: str,
        headers: dict[str, str],
        body: bytes,
        recv: float,
        writer: StampedConn,
    ) -> bool:
        path = target.split("?", 1)[0]
        if method == "GET" and path == "/health":
            return await send_json(writer, 200 if perf() >= self.healthy_at else 503, None)
        if method == "GET" and path == "/version":
            return await send_json(writer, 200, {"version": "0.0.0-test"})
        if method == "GET" and path == "/v1/models":
            return await send_json(writer, 200, {"object": "list", "data": [{"id": "fake", "object": "model"}]})
        if method == "GET" and path == "/_records":
            records, self.records = self.records, []
            clock = {"perf_s": perf(), "wall_s": time.time()}  # to map other clients' wall-clock stamps
            return await send_json(writer, 200, {"requests": records, "clock": clock})
        if method == "POST" and path in ("/v1/chat/completions", "/v1/completions"):
            return await self.completions(path.endswith("chat/completions"), headers, body, recv, writer)
        return await send_json(writer, 404, {"error": {"message": f"no route {method} {path}", "code": 404}})

    async def completions(
        self, chat: bool, headers: dict[str, str], raw: bytes, recv: float, writer: StampedConn
    ) -> bool:
        body = json.loads(raw)
        try:
            b = parse_behaviour(str(body.get("model", "fake")), self.defaults)
        except ValueError as exc:
            return await send_json(writer, 400, error_body(str(exc), 400))
        n = next(self.counter)
        if b.key is not None:
            sent = headers.get("authorization", "")
            if sent != f"Bearer {b.key}":
                return await send_json(writer, 401, error_body(f"invalid API key: {sent!r}", 401))
        if b.strict and "max_tokens" in body:
            message = (
                "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens'"
            )
            return await send_json(writer, 400, error_body(message, 400))
        if b.strict and "temperature" in body:
            message = "Unsupported value: 'temperature' does not support 0 with this model."
            return await send_json(writer, 400, error_body(message, 400))
        if "ignore_eos" in body and (b.ignore_eos == "reject" or b.strict):
            return await send_json(writer, 400, error_body("Unrecognized request argument: ignore_eos", 400))
        if b.status != 200:
            return await send_json(writer, b.status, error_body(f"injected status {b.status}", b.status))
        if b.fail_every and n % b.fail_every == 0:
            return await send_json(writer, 503, error_body("injected overload", 503))
        max_tokens = int(body.get("max_tokens") or body.get("max_completion_tokens") or 16)
        produced = max_tokens
        if b.eos is not None and not body.get("ignore_eos"):
            produced = min(produced, b.eos)
        prompt_tokens = count_prompt_tokens(body, chat)
        rid = f"{'chatcmpl' if chat else 'cmpl'}-{n}"
        created = int(time.time())
        model = body.get("model", "fake")
        obj = "chat.completion.chunk" if chat else "text_completion"
        want_usage = bool((body.get("stream_options") or {}).get("include_usage")) and b.usage

        if not body.get("stream"):
            await asyncio.sleep(b.ttft + b.itl * max(produced - 1, 0))
            text = " tok" * produced
            choice: dict[str, Any] = (
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "length"}
                if chat
                else {"index": 0, "text": text, "finish_reason": "length"}
            )
            usage = {"prompt_tokens": prompt_tokens, "completion_tokens": produced}
            usage["total_tokens"] = prompt_tokens + produced
            reply = {"id": rid, "object": obj, "model": model, "choices": [choice], "usage": usage}
            return await send_json(writer, 200, reply)

        sends: list[float] = []
        if self.record:
            self.records.append({"id": rid, "recv_s": recv, "send_s": sends})
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
            b"transfer-encoding: chunked\r\n\r\n"
        )

        def event(payload: dict[str, Any] | str) -> bytes:
            data = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
            line = f"data: {data}\n\n".encode()
            return b"%x\r\n%s\r\n" % (len(line), line)

        def chunk(text: str, finish: str | None) -> bytes:
            choice: dict[str, Any]
            if chat:
                choice = {"index": 0, "delta": {"content": text}, "logprobs": None, "finish_reason": finish}
            else:
                choice = {"index": 0, "text": text, "logprobs": None, "finish_reason": finish}
            return event({"id": rid, "object": obj, "created": created, "model": model, "choices": [choice]})

        if chat:  # the role-only first chunk, sent at once, carries no token
            role = {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
            writer.write(event({"id": rid, "object": obj, "created": created, "model": model, "choices": [role]}))
        try:
            await writer.drain()
            start = recv
            sent = 0
            step = 0
            while sent < produced:
                deadline = start + b.ttft + b.itl * step
                delay = deadline - perf()
                if delay > 0:
                    await asyncio.sleep(delay)
                if b.hang_after is not None and sent >= b.hang_after:
                    await asyncio.sleep(3600)
                if b.drop_after is not None and sent >= b.drop_after:
                    return False  # close the connection in the middle of the body
                if b.error_after is not None and sent >= b.error_after:
                    err = {"error": {"object": "error", "message": "injected engine error", "code": 500}}
                    writer.write(event(err))
                    writer.write(event("[DONE]"))
                    writer.write(b"0\r\n\r\n")
                    await writer.drain()
                    return True
                k = min(b.chunk, produced - sent)
                sent += k
                finish = "length" if sent >= produced else None
                data = chunk(" tok" * k, finish)
                sends.append(perf())
                writer.write(data)
                step += 1
            tail = b""
            if want_usage:
                usage = {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": produced,
                    "total_tokens": prompt_tokens + produced,
                }
                tail += event(
                    {"id": rid, "object": obj, "created": created, "model": model, "choices": [], "usage": usage}
                )
            tail += event("[DONE]") + b"0\r\n\r\n"
            writer.write(tail)
            await writer.drain()
        except ConnectionError:
            return False
        return not b.close


def error_body(message: str, code: int) -> dict[str, Any]:
    return {"error": {"object": "error", "message": message, "type": "BadRequestError", "code": code}}


async def send_json(writer: StampedConn, status: int, payload: Any) -> bool:
    data = b"" if payload is None else json.dumps(payload).encode()
    reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 500: "Internal Server Error"}
    reason[503] = "Service Unavailable"
    head = f"HTTP/1.1 {status} {reason.get(status, 'Error')}\r\ncontent-type: application/json\r\n"
    head += f"content-length: {len(data)}\r\n\r\n"
    writer.write(head.encode() + data)
    await writer.drain()
    return True


class StampedConn:
    """A server-side connection read with ``recvmsg`` so that a request's arrival is the kernel's time.

    ``stamp`` is the ``perf_counter`` time at which the kernel queued the latest packet read (the Python
    server's own loop lag does not move it); writes go straight to the socket.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
        self.loop, self.sock, self.fd = loop, sock, sock.fileno()
        self.buf = bytearray()
        self.out = bytearray()
        self.stamp = 0.0
        self.eof = False
        self.waiter: asyncio.Future[None] | None = None
        self.kernel = True
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        except OSError:
            self.kernel = False
        loop.add_reader(self.fd, self._readable)

    def _readable(self) -> None:
        try:
            data, anc, _, _ = self.sock.recvmsg(65536, 64)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data, anc = b"", []
        now = perf()
        t = now
        for level, kind, cdata in anc:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(cdata) >= 16:
                sec, nsec = struct.unpack_from("qq", cdata)
                age = (time.time_ns() - (sec * 1_000_000_000 + nsec)) * 1e-9
                if 0 <= age < 60:
                    t = now - age
        if data:
            self.buf += data
            self.stamp = t
        else:
            self.eof = True
            self.loop.remove_reader(self.fd)
        self._wake()

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def _wait(self) -> None:
        self.waiter = self.loop.create_future()
        try:
            await self.waiter
        finally:
            self.waiter = None

    async def readuntil(self, sep: bytes) -> bytes:
        while True:
            i = self.buf.find(sep)
            if i >= 0:
                out = bytes(self.buf[: i + len(sep)])
                del self.buf[: i + len(sep)]
                return out
            if self.eof:
                raise asyncio.IncompleteReadError(bytes(self.buf), None)
            await self._wait()

    async def readexactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            if self.eof:
                raise asyncio.IncompleteReadError(bytes(self.buf), n)
            await self._wait()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def write(self, data: bytes) -> None:
        if self.fd < 0:
            raise ConnectionResetError("connection closed")
        if self.out:
            self.out += data
            return
        try:
            sent = self.sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError as exc:
            raise ConnectionResetError(str(exc)) from exc
        if sent < len(data):
            self.out += data[sent:]
            self.loop.add_writer(self.fd, self._writable)

    def _writable(self) -> None:
        try:
            sent = self.sock.send(self.out)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.out.clear()
            self.eof = True
            sent = 0
        del self.out[:sent]
        if not self.out:
            self.loop.remove_writer(self.fd)
            self._wake()

    async def drain(self) -> None:
        while self.out:
            if self.eof:
                raise ConnectionResetError("connection closed")
            await self._wait()

    def close(self) -> None:
        if self.fd >= 0:
            self.loop.remove_reader(self.fd)
            self.loop.remove_writer(self.fd)
            self.fd = -1
            self.sock.close()


async def serve(
    host: str,
    port: int,
    port_file: Path | None,
    *,
    record: bool = True,
    defaults: str = "",
    healthy_after_s: float = 0.0,
    stop_signals: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT),
) -> None:
    """Serve until cancelled or a stop signal; write the bound port to ``port_file`` once listening."""
    state = Server(record=record, defaults=defaults, healthy_at=perf() + healthy_after_s)
    loop = asyncio.get_running_loop()
    listener = socket.create_server((host, port), backlog=1024, reuse_port=False)
    listener.setblocking(False)
    bound = listener.getsockname()[1]
    if port_file is not None:
        tmp = port_file.with_suffix(".tmp")
        tmp.write_text(str(bound))
        tmp.replace(port_file)
    stop = asyncio.Event()
    for sig in stop_signals:
        loop.add_signal_handler(sig, stop.set)
    tasks: set[asyncio.Task[None]] = set()

    async def accept() -> None:
        while True:
            sock, _ = await loop.sock_accept(listener)
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            task = loop.create_task(state.handle(StampedConn(loop, sock)))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    acceptor = loop.create_task(accept())
    try:
        await stop.wait()
    finally:
        acceptor.cancel()
        for task in list(tasks):
            task.cancel()
        listener.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="OpenAI-compatible streaming test server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", type=Path, default=None, help="Write the bound port here.")
    parser.add_argument("--no-record", action="store_true", help="Do not keep send timestamps.")
    parser.add_argument("--behaviour", default="", help="Default behaviour for every request, e.g. ttft=0.1,itl=0.02.")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port, args.port_file, record=not args.no_record, defaults=args.behaviour))


if __name__ == "__main__":
    sys.exit(main())  # type: ignore[func-returns-value]
