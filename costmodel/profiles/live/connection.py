"""One HTTP/1.1 client connection on a non-blocking socket, with the kernel's receive time of every read.

The socket is read straight from the event loop's reader callback with ``recvmsg``; on Linux the socket has
``SO_TIMESTAMPNS`` on, so each read comes with the time the kernel queued its last packet. That time is
taken before the client process sees the data, so a busy event loop, a garbage-collection pause or the
process being descheduled (2 cores shared by server and client) does not move it. Elsewhere the time is
``perf_counter()`` at the read. Times are converted to the ``perf_counter`` clock (its age at the read is
subtracted from the read's ``perf_counter``).

A read is stamped with the time of its *last* packet. When the client falls behind by more than the gap
between two tokens, the kernel merges their packets and both tokens get the later time (an inter-token gap of
0 and one gap too long); reading promptly is the only cure, which is why the client keeps its per-token work
small.

The reader callback only stamps and queues ``(time, bytes)``; the coroutine reading the response parses
(:meth:`Connection.pump`): status line and headers, then a Content-Length, chunked or close-delimited body,
each decoded piece keeping the time of the read that completed it. TLS runs through an ``ssl.SSLObject`` over
memory BIOs, so TLS reads are stamped the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import struct
import time
from collections import deque
from time import perf_counter

import httpx

#: ``SO_TIMESTAMPNS`` on Linux (Python does not export the name); its control message has the same type.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
_READ_SIZE = 256 * 1024
_ANC_SIZE = socket.CMSG_SPACE(16) if hasattr(socket, "CMSG_SPACE") else 64
_MAX_HEAD = 64 * 1024
Head = tuple[int, bytes, list[tuple[bytes, bytes]]]


class Connection:
    """An open connection; see the module docstring. Not safe to share between two requests at once."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sock: socket.socket, tls: ssl.SSLObject | None) -> None:
        self.loop = loop
        self.sock = sock
        self.fd = sock.fileno()
        self.tls = tls
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.stamps = False  #: the kernel stamps reads
        self.closed = False
        self.close_reason: BaseException | None = None
        self.error: BaseException | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.read_timeout: float | None = None
        self.last = 0.0  #: perf_counter of the last read or write (for the read timeout)
        self.sent_at = 0.0  #: perf_counter just before the last request was written
        self.no_body = False
        self._out = b""
        self._writing = False
        self._reset()

    # --- opening ----------------------------------------------------------------------------------------------

    @classmethod
    async def open(
        cls, host: str, port: int, *, ssl_context: ssl.SSLContext | None, timeout_s: float | None
    ) -> Connection:
        """Connect (and handshake) within ``timeout_s``; raises ``httpx.ConnectError`` / ``ConnectTimeout``."""
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout_s):
                sock = await _connect(loop, host, port)
                try:
                    tls = await _handshake(loop, sock, ssl_context, host) if ssl_context is not None else None
                except BaseException:
                    sock.close()
                    raise
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(f"connect to {host}:{port} took longer than {timeout_s:g} s") from exc
        except (OSError, ssl.SSLError) as exc:
            raise httpx.ConnectError(f"cannot connect to {host}:{port}: {exc}") from exc
        conn = cls(loop, sock, tls[0] if tls else None)
        if tls:
            conn.incoming, conn.outgoing = tls[1], tls[2]
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            conn.stamps = hasattr(sock, "recvmsg")
        except OSError:
            conn.stamps = False
        loop.add_reader(conn.fd, conn._readable)
        return conn

    # --- the event loop's side: read, stamp, queue ------------------------------------------------------------

    def _readable(self) -> None:
        try:
            if self.stamps:
                data, anc, _flags, _addr = self.sock.recvmsg(_READ_SIZE, _ANC_SIZE)
            else:
                data, anc = self.sock.recv(_READ_SIZE), []
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._closed(exc)
            return
        now = perf_counter()
        t = now
        for level, kind, cdata in anc:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(cdata) >= 16:
                sec, nsec = struct.unpack_from("qq", cdata)
                age = (time.time_ns() - (sec * 1_000_000_000 + nsec)) * 1e-9
                if 0.0 <= age < 60.0:
                    t = now - age
        if not data:
            self._closed(None)
            return
        if self.tls is not None:
            data = self._decrypt(data)
            if not data:
                return
        self.inbox.append((t, data))
        self.last = now
        self.received_any = True
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _decrypt(self, data: bytes) -> bytes:
        assert self.tls is not None
        self.incoming.write(data)
        parts = []
        try:
            while True:
                part = self.tls.read(_READ_SIZE)
                if not part:
                    break
                parts.append(part)
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLZeroReturnError:
            self.loop.call_soon(self._closed, None)
        except ssl.SSLError as exc:
            self._closed(exc)
        pending = self.outgoing.read()
        if pending:
            self._send_raw(pending)
        return b"".join(parts)

    def _send_raw(self, data: bytes) -> None:
        if self._out:
            self._out += data
            return
        try:
            sent = self.sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError as exc:
            self._closed(exc)
            return
        if sent < len(data):
            self._out = data[sent:]
            if not self._writing:
                self._writing = True
                self.loop.add_writer(self.fd, self._writable)

    def _writable(self) -> None:
        try:
            sent = self.sock.send(self._out)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._closed(exc)
            return
        self._out = self._out[sent:]
        if not self._out:
            self.loop.remove_writer(self.fd)
            self._writing = False

    def _closed(self, exc: BaseException | None) -> None:
        if not self.closed:
            self.closed = True
            self.close_reason = exc
            self.close()
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self._wake()

    def close(self) -> None:
        """Stop watching the socket and close it (idempotent)."""
        self.closed = True
        if self.fd >= 0:
            with contextlib.suppress(Exception):
                self.loop.remove_reader(self.fd)
            if self._writing:
                with contextlib.suppress(Exception):
                    self.loop.remove_writer(self.fd)
                self._writing = False
            self.fd = -1
            self.sock.close()

    # --- the reader's side: parse ---------------------------------------------------------------------------

    def _reset(self) -> None:
        self.head: Head | None = None
        self.buf = b""
        self.mode = ""  # "length" | "chunked" | "close"
        self.remaining = 0  # body bytes left (length) or in the current chunk (chunked)
        self.crlf = 0  # bytes of a chunk's trailing CRLF still to skip
        self.trailer = False  # after the 0-size chunk
        self.body_done = False
        self.inbox: deque[tuple[float, bytes]] = deque()  # raw reads with their times
        self.pieces: deque[tuple[float, bytes]] = deque()  # decoded body bytes with their times
        self.keep_alive = True
        self.received_any = False

    def pump(self) -> None:
        """Parse every queued read into the head and timestamped body pieces; note errors and EOF."""
        inbox = self.inbox
        try:
            while inbox:
                t, data = inbox.popleft()
                if self.head is None:
                    data = self._parse_head(data)
                    if self.head is None:
                        continue
                if self.body_done:
                    if data:
                        self.keep_alive = False  # bytes after the response: do not reuse
                    continue
                if data:
                    body = self._parse_body(data)
                    if body:
                        self.pieces.append((t, body))
        except httpx.RemoteProtocolError as exc:
            inbox.clear()
            self.error = self.error or exc
            self.keep_alive = False
            self.close()
        if self.closed and not inbox:
            if self.head is not None and self.mode == "close":
                self.body_done = True
            if not self.body_done and self.error is None:
                where = "before the response head" if self.head is None else "in the middle of the response body"
                detail = f": {self.close_reason}" if self.close_reason else ""
                self.error = httpx.RemoteProtocolError(f"server closed the connection {where}{detail}")

    def _parse_head(self, data: bytes) -> bytes:
        buf = self.buf + data if self.buf else data
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) > _MAX_HEAD:
                raise httpx.RemoteProtocolError("response head larger than 64 KiB")
            self.buf = buf
            return b""
        lines = buf[:end].split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise httpx.RemoteProtocolError(f"not an HTTP/1.x response: {lines[0][:80]!r}")
        try:
            status = int(parts[1])
        except ValueError as exc:
            raise httpx.RemoteProtocolError(f"bad status line {lines[0][:80]!r}") from exc
        headers: list[tuple[bytes, bytes]] = []
        length = None
        chunked = False
        connection = b""
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep:
                raise httpx.RemoteProtocolError(f"bad header line {line[:80]!r}")
            name, value = name.strip(), value.strip()
            headers.append((name, value))
            lower = name.lower()
            if lower == b"content-length":
                try:
                    length = int(value)
                except ValueError as exc:
                    raise httpx.RemoteProtocolError(f"bad content-length {value[:40]!r}") from exc
            elif lower == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif lower == b"connection":
                connection = value.lower()
        self.buf = b""
        if 100 <= status < 200:  # an interim response: the real head follows
            return self._parse_head(buf[end + 4 :])
        self.keep_alive = parts[0] == b"HTTP/1.1" and b"close" not in connection
        if chunked:
            self.mode = "chunked"
        elif status in (204, 304) or self.no_body:
            self.mode, self.body_done = "length", True
        elif length is not None:
            self.mode, self.remaining, self.body_done = "length", length, length == 0
        else:
            self.mode, self.keep_alive = "close", False
        self.head = (status, parts[0], headers)
        return buf[end + 4 :]

    def _parse_body(self, data: bytes) -> bytes:
        if self.mode == "length":
            body = data[: self.remaining]
            self.remaining -= len(body)
            if len(data) > len(body):
                self.keep_alive = False
            if self.remaining == 0:
                self.body_done = True
            return body
        if self.mode == "close":
            return data
        buf = self.buf + data if self.buf else data
        out: list[bytes] = []
        i, n = 0, len(buf)
        while i < n:
            if self.remaining:
                take = min(self.remaining, n - i)
                out.append(buf[i : i + take])
                i += take
                self.remaining -= take
                if not self.remaining:
                    self.crlf = 2
                continue
            if self.crlf:
                skip = min(self.crlf, n - i)
                i += skip
                self.crlf -= skip
                continue
            j = buf.find(b"\r\n", i)
            if j < 0:
                if n - i > 4096:
                    raise httpx.RemoteProtocolError("chunk-size line longer than 4 KiB")
                break
            line = buf[i:j]
            i = j + 2
            if self.trailer:
                if not line:  # end of the trailers: the message is complete
                    self.body_done = True
                    if i < n:
                        self.keep_alive = False
                    i = n
                continue
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError as exc:
                raise httpx.RemoteProtocolError(f"bad chunk size {line[:40]!r}") from exc
            if size == 0:
                self.trailer = True
            else:
                self.remaining = size
        self.buf = buf[i:] if i < n else b""
        return out[0] if len(out) == 1 else b"".join(out)

    # --- requests and waiting ------------------------------------------------------------------------------

    def start_request(self, data: bytes, read_timeout: float | None, *, no_body: bool) -> None:
        """Reset the parser and write a whole request (``sent_at`` is taken just before the write)."""
        self._reset()
        self.error = None
        self.no_body = no_body
        self.read_timeout = read_timeout
        if self.tls is not None:
            self.tls.write(data)
            data = self.outgoing.read()
        self.sent_at = self.last = perf_counter()
        self._send_raw(data)

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self) -> None:
        """Until new data, the end of the connection, or the read timeout."""
        waiter = self.loop.create_future()
        self.waiter = waiter
        if self.read_timeout is not None and self.timer is None:
            self.timer = self.loop.call_later(self.read_timeout, self._check_timeout)
        try:
            await waiter
        finally:
            self.waiter = None

    def _check_timeout(self) -> None:
        self.timer = None
        if self.read_timeout is None or self.closed:
            return
        idle = perf_counter() - self.last
        waiter = self.waiter
        if waiter is not None and not waiter.done() and idle >= self.read_timeout:
            self.error = httpx.ReadTimeout(f"no data for {self.read_timeout:g} s")
            self.keep_alive = False
            self.close()
            waiter.set_result(None)
            return
        if waiter is not None or not self.body_done:
            self.timer = self.loop.call_later(max(self.read_timeout - idle, 0.001), self._check_timeout)

    def finish(self) -> bool:
        """The response is over: True when the connection can serve another request (else it is closed)."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        reusable = self.body_done and self.keep_alive and not self.closed and self.error is None and not self.inbox
        if not reusable:
            self.close()
        return reusable


async def _connect(loop: asyncio.AbstractEventLoop, host: str, port: int) -> socket.socket:
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    last: OSError | None = None
    for family, kind, proto, _name, addr in infos:
        sock = socket.socket(family, kind, proto)
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, addr)
        except OSError as exc:
            sock.close()
            last = exc
            continue
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    raise last or OSError(f"no address for {host}")


async def _handshake(
    loop: asyncio.AbstractEventLoop, sock: socket.socket, context: ssl.SSLContext, host: str
) -> tuple[ssl.SSLObject, ssl.MemoryBIO, ssl.MemoryBIO]:
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname=host)
    while True:
        try:
            tls.do_handshake()
        except ssl.SSLWantReadError:
            pending = outgoing.read()
            if pending:
                await loop.sock_sendall(sock, pending)
            data = await loop.sock_recv(sock, _READ_SIZE)
            if not data:
                raise ssl.SSLError("the server closed the connection during the TLS handshake") from None
            incoming.write(data)
            continue
        break
    pending = outgoing.read()
    if pending:
        await loop.sock_sendall(sock, pending)
    return tls, incoming, outgoing
