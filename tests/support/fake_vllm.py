"""A stand-in for ``vllm serve`` for the ``--launch`` tests: prints a real vLLM start-up log, then serves.

The log lines come from ``vllm_startup.log`` beside this file (real vLLM wordings, see SOURCES.md); their
``MM-DD HH:MM:SS`` stamps are replaced by the current time and their ``pid=N`` by this process's pid. After
the engine lines it binds ``--port`` and serves the OpenAI-compatible test server (``openai_server.py``);
``/health`` answers 503 for ``--warmup`` seconds after the port opens, like an engine still warming up.

Options for the failure tests: ``--fail`` prints vLLM's ``EngineCore failed to start.`` and exits 1;
``--ignore-term`` ignores SIGTERM (the launcher must escalate to SIGKILL); ``--child`` starts a child process
in the same process group (like vLLM's EngineCore) whose pid goes into ``--pid-file`` too; ``--die-after S``
exits with code 3 S seconds after it starts serving.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from tests.support.openai_server import serve  # noqa: E402 - after the path set-up

_STAMP = re.compile(r"\b\d\d-\d\d \d\d:\d\d:\d\d\b")
_PID = re.compile(r"pid=\d+")


def log_lines() -> list[str]:
    return (HERE / "vllm_startup.log").read_text(encoding="utf-8").splitlines()


def emit(line: str) -> None:
    now = time.strftime("%m-%d %H:%M:%S")
    line = _STAMP.sub(now, line, count=1)
    line = _PID.sub(f"pid={os.getpid()}", line)
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", help="Model name (printed, not used).")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--delay", type=float, default=0.02, help="Seconds between log lines.")
    parser.add_argument("--warmup", type=float, default=0.0, help="Seconds /health answers 503 after the port opens.")
    parser.add_argument("--pid-file", type=Path, help="Write this process's pid (and the child's) here.")
    parser.add_argument("--fail", action="store_true", help="Fail like an engine that cannot start.")
    parser.add_argument("--ignore-term", action="store_true", help="Ignore SIGTERM.")
    parser.add_argument("--child", action="store_true", help="Start a child process in the same group.")
    parser.add_argument("--behaviour", default="", help="Default behaviour of the test server.")
    parser.add_argument("--die-after", type=float, help="Exit with code 3 this many seconds after serving starts.")
    args = parser.parse_args()
    if args.ignore_term:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    pids = [os.getpid()]
    if args.child:
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
        pids.append(child.pid)
    if args.pid_file:
        args.pid_file.write_text(" ".join(map(str, pids)))
    lines = log_lines()
    engine, api = lines[:-7], lines[-7:]
    emit(f"(APIServer pid=1) INFO 01-01 00:00:00 [utils.py:233] non-default args: {{'model': '{args.model}'}}")
    for line in engine:
        emit(line)
        time.sleep(args.delay)
    if args.fail:
        emit("(EngineCore_DP0 pid=1) ERROR 01-01 00:00:00 [core.py:708] EngineCore failed to start.")
        emit("RuntimeError: CUDA out of memory (fake)")
        sys.exit(1)
    for line in api:
        emit(line)
    if args.ignore_term:  # asyncio's serve() would install its own SIGTERM handler
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if args.die_after is not None:  # a crash while serving
        threading.Timer(args.die_after, os._exit, (3,)).start()
    asyncio.run(
        serve(
            args.host,
            args.port,
            None,
            defaults=args.behaviour,
            healthy_after_s=args.warmup,
            stop_signals=() if args.ignore_term else (signal.SIGTERM, signal.SIGINT),
        )
    )


if __name__ == "__main__":
    main()
