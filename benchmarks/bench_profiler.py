"""Client overhead of the live profiler at 256 concurrent streams, against GuideLLM on the same server.

Three processes: the loopback test server (``tests/support/openai_server.py``, which records its own
``perf_counter`` receive and send times), the client under test, and this script (which starts both,
samples their CPU from /proc, and joins the client's samples with the server's timestamps by response id).

Figures, per client:

- **TTFT error** per request: client TTFT − server TTFT (server: request fully read → first token written).
  It holds the client's whole overhead: building and sending the request, and reading the first token.
- **first-token arrival error** (ours only): client timestamp of the first token − server send time
  (both ``perf_counter``, i.e. CLOCK_MONOTONIC, one clock on one machine).
- **ITL error** per gap (ours only; GuideLLM stores no per-token times): client gap − server gap.
- **mean-ITL error** per request (both): client (last − first token)/(n − 1) − the server's.
- **request rate**: completed requests / measured window; **CPU**: client CPU seconds / window seconds
  (``resource.getrusage`` of our client process; /proc samples of GuideLLM's process tree in its window).

GuideLLM runs from its own virtualenv, the folder the ``GUIDELLM_VENV`` environment variable names (``PEER``
below has the default), kept out of the project's dependencies: make one with ``python -m venv DIR``, then
``DIR/bin/pip install torch`` (the CPU build, or pip pulls a CUDA one of several GB) and
``DIR/bin/pip install guidellm``. When it has no ``bin/guidellm``, its half is skipped with a message.
Run: ``GUIDELLM_VENV=DIR .venv/bin/python benchmarks/bench_profiler.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

from costmodel.profiles.live.client import Endpoint, perf
from costmodel.profiles.live.runner import probe, run_level
from costmodel.profiles.live.samples import SampleLog
from costmodel.profiles.live.transport import make_client

REPO = Path(__file__).resolve().parent.parent

PEER = Path(os.environ.get("GUIDELLM_VENV", "/tmp/peer"))
CLK_TCK = os.sysconf("SC_CLK_TCK")

TOKENIZER_SCRIPT = """
import sys
from faker.providers.lorem.en_US import Provider
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers
from transformers import PreTrainedTokenizerFast
words = sorted(set(w.lower() for w in Provider.word_list)) + list(".,;:!?'")
vocab = {"[UNK]": 0, **{w: i + 1 for i, w in enumerate(dict.fromkeys(words))}}
tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
tok.normalizer = normalizers.Lowercase()
tok.pre_tokenizer = pre_tokenizers.Whitespace()
tok.decoder = decoders.WordPiece()
PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]").save_pretrained(sys.argv[1])
"""


# --- the client under test (runs in its own process) --------------------------------------------------------


def run_our_client(args: argparse.Namespace) -> None:
    """Measure one level with the profiler's own code path; write samples and a summary JSON."""

    base = f"http://127.0.0.1:{args.port}/v1"

    async def main() -> dict[str, float]:
        async with make_client(max_connections=args.streams + 4, timeout_s=60) as client:
            endpoint = Endpoint(base, "fake")
            rng = np.random.default_rng(0)
            found = await probe(client, endpoint, input_tokens=args.input_tokens, rng=rng, timeout_s=60, retries=0)
            await client.get(f"http://127.0.0.1:{args.port}/_records")  # drop the probes' records
            with SampleLog(args.samples) as log:
                run_start = perf()
                r0, w0 = resource.getrusage(resource.RUSAGE_SELF), time.time()
                await run_level(
                    client,
                    endpoint,
                    concurrency=args.streams,
                    requests=args.requests,
                    output_tokens=args.output_tokens,
                    words=found.words,
                    rng=rng,
                    timeout_s=60,
                    retries=0,
                    run_start=run_start,
                    emit=log.write,
                )
                r1, w1 = resource.getrusage(resource.RUSAGE_SELF), time.time()
        return {
            "run_start": run_start,
            "wall_s": w1 - w0,
            "cpu_s": (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime),
            "window": [w0, w1],
        }

    wait0 = runqueue_wait_s()
    result = asyncio.run(main())
    result["runqueue_wait_s"] = runqueue_wait_s() - wait0
    Path(args.result).write_text(json.dumps(result))


def runqueue_wait_s() -> float:
    """Seconds this process has spent runnable but waiting for a CPU (Linux schedstat; 0 elsewhere)."""
    try:
        return int(Path("/proc/self/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


# --- helpers of the driver ----------------------------------------------------------------------------------


def tree_cpu_s(root: int) -> float:
    """utime+stime (+ reaped children's) of ``root`` and all its live descendants [s], from /proc."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for path in Path("/proc").iterdir():
        entry = path.name
        if not entry.isdigit():
            continue
        try:
            stat = (path / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        pid = int(entry)
        parents[pid] = int(fields[1])
        cpu[pid] = sum(int(x) for x in fields[11:15]) / CLK_TCK
    total = 0.0
    for pid, value in cpu.items():
        p = pid
        while p > 1:
            if p == root:
                total += value
                break
            p = parents.get(p, 0)
    return total


class CpuSampler(threading.Thread):
    """Samples a process tree's CPU seconds once per ``period`` [wall time, cpu_s]."""

    def __init__(self, pid: int, period: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.pid, self.period = pid, period
        self.samples: list[tuple[float, float]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.samples.append((time.time(), tree_cpu_s(self.pid)))
            self.stop.wait(self.period)

    def cpu_between(self, t0: float, t1: float) -> float:
        times = np.array([s[0] for s in self.samples])
        values = np.array([s[1] for s in self.samples])
        return float(np.interp(t1, times, values) - np.interp(t0, times, values))


def nice(args: argparse.Namespace) -> list[str]:
    return ["nice", "-n", str(args.nice)] if args.nice else []


def start_server(args: argparse.Namespace, behaviour: str, workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port_file = workdir / "port"
    port_file.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "tests.support.openai_server", "--port-file", str(port_file), "--behaviour", behaviour]
    proc = subprocess.Popen([*nice(args), *cmd], cwd=REPO)
    for _ in range(200):
        if port_file.exists():
            return proc, int(port_file.read_text())
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("the test server did not start")


def server_records(port: int) -> tuple[dict[str, dict], float]:
    """The server's records by response id, and its wall − perf clock offset [s]."""
    reply = httpx.get(f"http://127.0.0.1:{port}/_records", timeout=60).json()
    offset = reply["clock"]["wall_s"] - reply["clock"]["perf_s"]
    return {r["id"]: r for r in reply["requests"]}, offset


def summarize(ttft_err: list[float], arrival: list[float], lead: list[float], mitl: list[float]) -> dict[str, float]:
    return {
        "ttft_p50": float(np.median(np.abs(ttft_err)) * 1e3),
        "ttft_p99": p99_abs_ms(np.array(ttft_err)),
        "arrival_p50": float(np.median(np.abs(arrival)) * 1e3),
        "arrival_p99": p99_abs_ms(np.array(arrival)),
        "lead_p50": float(np.median(lead) * 1e3),
        "lead_p99": float(np.percentile(lead, 99) * 1e3),
        "mitl_p99": p99_abs_ms(np.array(mitl)),
    }


def p99_abs_ms(errors_s: np.ndarray) -> float:
    return float(np.percentile(np.abs(errors_s), 99) * 1e3) if errors_s.size else float("nan")


def mean_gap(times: list[float]) -> float:
    return (times[-1] - times[0]) / (len(times) - 1) if len(times) > 1 else float("nan")


def bench_ours(args: argparse.Namespace, port: int, workdir: Path, server_pid: int) -> dict[str, float]:
    samples, result = workdir / "ours.jsonl", workdir / "ours.json"
    cmd = [*nice(args), sys.executable, __file__, "--role", "client", "--port", str(port), "--samples", str(samples)]
    cmd += ["--result", str(result), "--streams", str(args.streams), "--requests", str(args.requests)]
    cmd += ["--output-tokens", str(args.output_tokens), "--input-tokens", str(args.input_tokens)]
    server_cpu = CpuSampler(server_pid)
    server_cpu.start()
    subprocess.run(cmd, check=True, cwd=REPO)
    server_cpu.stop.set()
    server_cpu.join()
    res = json.loads(result.read_text())
    server, _ = server_records(port)
    rows = [json.loads(line) for line in samples.read_text().splitlines()]
    ttft_err, arrival, lead, itl_err, mitl_err = [], [], [], [], []
    ok = [r for r in rows if r["type"] == "request" and r["ok"]]
    for r in ok:
        s = server[r["response_id"]]
        sends = s["send_s"]
        start = res["run_start"] + r["start_s"]
        ttft_err.append(r["ttft_s"] - (sends[0] - s["recv_s"]))
        arrival.append(start + r["ttft_s"] - sends[0])
        lead.append(s["recv_s"] - start)
        server_gaps = np.diff(sends)
        if len(server_gaps) == len(r["itl_s"]):
            itl_err.extend(np.asarray(r["itl_s"]) - server_gaps)
        client_times = np.concatenate([[0.0], np.cumsum(r["itl_s"])])
        mitl_err.append(mean_gap(list(client_times)) - mean_gap(sends))
    first = min(r["start_s"] for r in ok)
    last = max(r["start_s"] + r["e2e_s"] for r in ok)
    window = res["window"]
    return {
        "requests": len(ok),
        "failed": sum(1 for r in rows if r["type"] == "request" and not r["ok"]),
        "rate": len(ok) / (last - first),
        "cpu": res["cpu_s"] / res["wall_s"],
        "runqueue": res["runqueue_wait_s"] / res["wall_s"],
        "server_cpu": server_cpu.cpu_between(*window) / (window[1] - window[0]),
        **summarize(ttft_err, arrival, lead, mitl_err),
        "itl_p50": float(np.median(np.abs(itl_err)) * 1e3),
        "itl_p99": p99_abs_ms(np.array(itl_err)),
    }


def bench_guidellm(args: argparse.Namespace, port: int, workdir: Path, server_pid: int) -> dict[str, float] | None:
    guidellm = PEER / "bin" / "guidellm"
    if not guidellm.exists():
        print(f"GuideLLM half skipped: {guidellm} not found (install it as /work/shared/notes/peers.md says)")
        return None
    tokenizer = workdir / "tokenizer"
    if not tokenizer.exists():
        subprocess.run([str(PEER / "bin" / "python"), "-c", TOKENIZER_SCRIPT, str(tokenizer)], check=True)
    server_records(port)  # clear
    out = workdir / "guidellm.json"
    cmd = [
        str(guidellm), "run",
        "--backend", f"kind=openai_http,target=http://127.0.0.1:{port},model=fake",
        "--profile", f"kind=concurrent,streams={args.streams}",
        "--constraint", f"kind=max_requests,count={args.requests}",
        "--data", f"kind=synthetic_text,prompt_tokens={args.input_tokens},output_tokens={args.output_tokens}",
        "--tokenizer", f"kind=huggingface_auto,model={tokenizer}",
        "--output", f"kind=json,path={out}",
        "--disable-console",
    ]  # fmt: skip
    proc = subprocess.Popen([*nice(args), *cmd], cwd=workdir, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    sampler, server_cpu = CpuSampler(proc.pid), CpuSampler(server_pid)
    sampler.start()
    server_cpu.start()
    proc.wait()
    for thread in (sampler, server_cpu):
        thread.stop.set()
        thread.join()
    if proc.returncode != 0:
        print(f"GuideLLM exited with {proc.returncode}")
        return None
    report = json.loads(out.read_text())["benchmarks"][0]
    server, offset = server_records(port)
    ok = report["requests"]["successful"]
    ttft_err, arrival, lead, mitl_err = [], [], [], []
    for r in ok:
        s = server.get(r.get("response_id"))
        t = r["info"]["timings"]
        if s is None or t.get("first_token_iteration") is None:
            continue
        start, first = t["request_start"] - offset, t["first_token_iteration"] - offset  # wall -> perf clock
        ttft_err.append((first - start) - (s["send_s"][0] - s["recv_s"]))
        arrival.append(first - s["send_s"][0])
        lead.append(s["recv_s"] - start)
        n = t.get("token_iterations") or 0
        if n > 1:
            client_mitl = (t["last_token_iteration"] - t["first_token_iteration"]) / (n - 1)
            mitl_err.append(client_mitl - mean_gap(s["send_s"]))
    sm = report["scheduler_metrics"]
    window = (sm["measure_start_time"], sm["measure_end_time"])
    made = sm["requests_made"]
    return {
        "requests": made["successful"],
        "failed": made["errored"] + made["incomplete"],
        "rate": made["successful"] / (window[1] - window[0]),
        "cpu": sampler.cpu_between(*window) / (window[1] - window[0]),
        "server_cpu": server_cpu.cpu_between(*window) / (window[1] - window[0]),
        **summarize(ttft_err, arrival, lead, mitl_err),
        "joined": len(ttft_err),
    }


def print_table(title: str, ideal_rate: float, results: dict[str, dict[str, float] | None]) -> None:
    print(f"\n{title}")
    print(f"  ideal request rate (streams / nominal e2e): {ideal_rate:.1f} req/s")
    cols = [
        ("requests ok", "requests", "{:.0f}"),
        ("failed", "failed", "{:.0f}"),
        ("req/s sustained", "rate", "{:.1f}"),
        ("client CPU (cores)", "cpu", "{:.2f}"),
        ("client waiting for a CPU (share of wall)", "runqueue", "{:.2f}"),
        ("server CPU (cores)", "server_cpu", "{:.2f}"),
        ("TTFT err vs server p50 ms", "ttft_p50", "{:.2f}"),
        ("TTFT err vs server p99 ms", "ttft_p99", "{:.2f}"),
        ("1st-token stamp err p50 ms", "arrival_p50", "{:.3f}"),
        ("1st-token stamp err p99 ms", "arrival_p99", "{:.2f}"),
        ("ITL err p50 ms (per gap)", "itl_p50", "{:.3f}"),
        ("ITL err p99 ms (per gap)", "itl_p99", "{:.2f}"),
        ("mean-ITL err p99 ms (per request)", "mitl_p99", "{:.3f}"),
        ("start stamp → server read p50 ms", "lead_p50", "{:.2f}"),
        ("start stamp → server read p99 ms", "lead_p99", "{:.2f}"),
    ]
    names = list(results)
    print("  " + f"{'':36}" + "".join(f"{n:>16}" for n in names))
    for label, key, fmt in cols:
        cells = []
        for n in names:
            r = results[n]
            cells.append("skipped" if r is None else fmt.format(r[key]) if key in r else "—")
        print("  " + f"{label:36}" + "".join(f"{c:>16}" for c in cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--role", default="driver", choices=["driver", "client"])
    parser.add_argument("--streams", type=int, default=256)
    parser.add_argument("--requests", type=int, default=2048)
    parser.add_argument("--input-tokens", type=int, default=80)
    parser.add_argument("--output-tokens", type=int, default=64)
    parser.add_argument("--ttft", type=float, default=0.1, help="Injected TTFT [s].")
    parser.add_argument("--itl", type=float, default=0.02, help="Injected ITL [s].")
    parser.add_argument("--skip-guidellm", action="store_true")
    parser.add_argument("--repeat", type=int, default=1, help="Rounds (alternating the clients); medians are printed.")
    parser.add_argument(
        "--nice", type=int, default=0, help="Run server and clients at this nice level (e.g. -10 on a busy machine)."
    )
    parser.add_argument("--port", type=int)
    parser.add_argument("--samples")
    parser.add_argument("--result")
    args = parser.parse_args()
    if args.role == "client":
        run_our_client(args)
        return
    with tempfile.TemporaryDirectory(prefix="bench-profiler-") as tmp:
        workdir = Path(tmp)
        server, port = start_server(args, f"ttft={args.ttft},itl={args.itl}", workdir)
        try:
            print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; httpx {httpx.__version__}")
            print(
                f"workload: {args.streams} concurrent streams, {args.requests} requests, {args.input_tokens} input / "
                f"{args.output_tokens} output tokens, server TTFT {args.ttft * 1e3:.0f} ms, ITL {args.itl * 1e3:.0f} ms"
                + (f"; nice {args.nice}" if args.nice else "")
            )
            rounds: dict[str, list[dict[str, float] | None]] = {"llm-breakeven": [], "GuideLLM": []}
            for k in range(args.repeat):  # alternate the two clients, so that both see the same machine
                load = os.getloadavg()[0]
                rounds["llm-breakeven"].append(bench_ours(args, port, workdir, server.pid))
                line = f"round {k + 1}: load {load:.2f}; llm-breakeven {rounds['llm-breakeven'][-1]['rate']:.1f} req/s"
                if not args.skip_guidellm:
                    rounds["GuideLLM"].append(bench_guidellm(args, port, workdir, server.pid))
                    last = rounds["GuideLLM"][-1]
                    line += f", GuideLLM {last['rate']:.1f} req/s" if last else ", GuideLLM failed"
                print(line + f"; load after {os.getloadavg()[0]:.2f}", flush=True)
        finally:
            server.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.wait(10)
        ideal = args.streams / (args.ttft + args.itl * (args.output_tokens - 1))
        results = {name: median_of(runs) for name, runs in rounds.items() if runs}
        title = "results (errors are |client − server| against the server's own timestamps"
        title += f"; median of {args.repeat} rounds)" if args.repeat > 1 else ")"
        print_table(title, ideal, results)


def median_of(runs: list[dict[str, float] | None]) -> dict[str, float] | None:
    """Per-figure median over the rounds that ran (None when none did)."""
    done = [r for r in runs if r is not None]
    if not done:
        return None
    return {key: float(np.median([r[key] for r in done if key in r])) for key in done[0]}


if __name__ == "__main__":
    main()
