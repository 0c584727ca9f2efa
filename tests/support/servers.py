"""Start the loopback test server (``openai_server.py``) in its own process, for tests and benchmarks."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent.parent


@dataclass(frozen=True)
class RunningServer:
    """A test server process listening on 127.0.0.1:``port``."""

    port: int
    proc: subprocess.Popen[bytes]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def records(self) -> dict[str, dict[str, Any]]:
        """The server's own timestamps by response id (and clears them)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/_records", timeout=10) as reply:
            data = json.load(reply)
        return {r["id"]: r for r in data["requests"]}


@contextlib.contextmanager
def running_server(behaviour: str = "") -> Iterator[RunningServer]:
    """Run ``python -m tests.support.openai_server`` until the block ends."""
    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "port"
        cmd = [sys.executable, "-m", "tests.support.openai_server", "--port-file", str(port_file)]
        if behaviour:
            cmd += ["--behaviour", behaviour]
        proc = subprocess.Popen(cmd, cwd=REPO)
        try:
            deadline = time.monotonic() + 20
            while not port_file.exists():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the test server did not start")
                time.sleep(0.02)
            yield RunningServer(int(port_file.read_text()), proc)
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def process_alive(pid: int) -> bool:
    """True when ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"
