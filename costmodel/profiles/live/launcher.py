"""Launch a server process (``vllm serve ...``), time its cold start, and always stop it.

The command is split with :func:`shlex.split` and run without a shell, in a new session (its own process
group), so that stopping it reaches every process it started (vLLM's API server, engine core and workers):
SIGTERM to the group, then SIGKILL after ``stop_grace_s``. :class:`LaunchedServer` is an async context
manager; leaving it, by any path (an error, Ctrl-C, cancellation), stops the group. Its output goes through
this process, with secrets scrubbed, into a log file.

Timings, all from the spawn: ``port_open_s`` (a TCP connect succeeds), ``ready_s`` (``GET /health`` answers
200), and ``first_token_s`` (the first streamed token of a one-token request; measured by the caller).

A SIGKILL of the profiler itself cannot be caught: the launched group then keeps running (documented).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
from pathlib import Path
from types import TracebackType
from typing import IO

import httpx

from breakeven.errors import InputError, MeasurementError
from costmodel.profiles.live.client import perf
from costmodel.profiles.live.samples import scrub

POLL_S = 0.05


def split_command(command: str) -> list[str]:
    """``shlex.split`` with a clear error for an empty or unbalanced command."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise InputError(f"option --launch: cannot split the command ({exc}); found {command!r}") from exc
    if not argv:
        raise InputError("option --launch: expected a command like 'vllm serve MODEL', found an empty string")
    return argv


def group_members(pgid: int) -> list[int] | None:
    """Pids of the live (non-zombie) processes in process group ``pgid``; None when /proc is unreadable."""
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    members = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


class LaunchedServer:
    """A server process group started from ``command``; use ``async with``."""

    def __init__(
        self,
        command: str,
        *,
        log_path: str | os.PathLike[str],
        secrets: tuple[str, ...] = (),
        stop_grace_s: float = 15.0,
        env: dict[str, str] | None = None,
    ) -> None:
        self.argv = split_command(command)
        self.log_path = Path(log_path)
        self.stop_grace_s = stop_grace_s
        self._secrets = tuple(s for s in secrets if s)
        self._env = env
        self.proc: asyncio.subprocess.Process | None = None
        self.pgid: int | None = None
        self.t0: float = 0.0
        self._reader: asyncio.Task[None] | None = None
        self._log: IO[bytes] | None = None

    async def __aenter__(self) -> LaunchedServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            await self.stop()
        except BaseException:
            self.kill_now()
            raise

    async def start(self) -> None:
        """Spawn the process (t0 is taken right before the spawn)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb", buffering=0)
        self.t0 = perf()
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
                env=self._env,
            )
        except OSError as exc:
            self._log.close()
            raise MeasurementError(f"option --launch: cannot start {self.argv[0]!r}: {exc.strerror or exc}") from exc
        self.pgid = self.proc.pid  # start_new_session: the child leads its own group
        self._reader = asyncio.create_task(self._copy_output())

    async def _copy_output(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None and self._log is not None
        while line := await self.proc.stdout.readline():
            text = line.decode("utf-8", "replace")
            if self._secrets:
                text = scrub(text, self._secrets)
            self._log.write(text.encode("utf-8"))

    def log_text(self) -> str:
        """What the server has printed so far (secrets scrubbed)."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def _log_tail(self, lines: int = 4) -> str:
        tail = [line.strip() for line in self.log_text().splitlines() if line.strip()][-lines:]
        return " | ".join(tail)

    @property
    def exited(self) -> bool:
        """The launched process has exited."""
        return self.proc is not None and self.proc.returncode is not None

    def _check_alive(self) -> None:
        if self.exited:
            assert self.proc is not None
            raise MeasurementError(
                f"option --launch: the server exited with code {self.proc.returncode} before it was ready "
                f"(log: {self.log_path}); last lines: {self._log_tail()}"
            )

    async def wait_port(self, host: str, port: int, *, deadline_s: float) -> float:
        """Seconds from spawn until a TCP connect to host:port succeeds."""
        while True:
            self._check_alive()
            try:
                _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout=1.0)
            except (OSError, TimeoutError):
                if perf() - self.t0 > deadline_s:
                    raise MeasurementError(
                        f"option --launch: port {host}:{port} not open within {deadline_s:g} s "
                        f"(log: {self.log_path}); last lines: {self._log_tail()}"
                    ) from None
                await asyncio.sleep(POLL_S)
                continue
            t = perf() - self.t0
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return t

    async def wait_health(self, client: httpx.AsyncClient, url: str, *, deadline_s: float) -> float:
        """Seconds from spawn until ``GET url`` answers 200."""
        last = "no answer"
        while True:
            self._check_alive()
            try:
                response = await client.get(url, timeout=5.0)
                if response.status_code == 200:
                    return perf() - self.t0
                last = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            if perf() - self.t0 > deadline_s:
                raise MeasurementError(
                    f"option --launch: {url} not 200 within {deadline_s:g} s (last: {last}; log: {self.log_path})"
                )
            await asyncio.sleep(POLL_S)

    def _group_alive(self) -> bool:
        """A live (non-zombie) process is left in the group."""
        if self.pgid is None:
            return False
        members = group_members(self.pgid)
        if members is not None:
            return bool(members)
        try:
            os.killpg(self.pgid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True

    def _signal_group(self, sig: signal.Signals) -> None:
        if self.pgid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pgid, sig)

    async def stop(self) -> None:
        """SIGTERM the group, wait up to ``stop_grace_s``, then SIGKILL whatever is left; reap; close the log."""
        if self.proc is None:
            return
        try:
            if self.proc.returncode is None or self._group_alive():
                self._signal_group(signal.SIGTERM)
                deadline = perf() + self.stop_grace_s
                while perf() < deadline and (self.proc.returncode is None or self._group_alive()):
                    await asyncio.sleep(POLL_S)
                if self.proc.returncode is None or self._group_alive():
                    self._signal_group(signal.SIGKILL)
                with contextlib.suppress(TimeoutError):  # wait() also waits for the pipe: bound it
                    await asyncio.wait_for(self.proc.wait(), timeout=10.0)
            if self._reader is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._reader, timeout=5.0)
        finally:
            if self._reader is not None and not self._reader.done():
                self._reader.cancel()
            if self._log is not None:
                self._log.close()

    def kill_now(self) -> None:
        """Synchronous last resort (no event loop needed): SIGKILL the group."""
        self._signal_group(signal.SIGKILL)
        if self._log is not None:
            self._log.close()
