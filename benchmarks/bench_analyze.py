"""A full ``analyze`` of a 5 M-request trace: time per step, total time and peak memory, printed.

Target: under 20 s (issue 9; issue 5 asked for 30 s) and under 2 GB on the 2-core development machine,
with the trace-shaped break-even, the hybrid search and the finance options included; and (issue 6) rendering
the report under 2 s into a file under 2 MB.

The trace: the real Azure 2023 code trace's arrival pattern (8,819 requests over 57 min, bundled) repeated
back to back until 5 M requests (about 22.5 days), each request's (input, output) pair resampled from the real
rows (seeded), written once to ``benchmarks/out/azure_x5M.parquet``. Everything else is the bundled scenario:
two serverless prices, the Llama-3.1-8B-FP8 1×H100 profile on two H100 prices, autoscale 1..8.

The analysis runs in a fresh subprocess so that its peak resident memory (``ru_maxrss``) is its own. The
baseline in the same run is the bundled 8,819-request analysis, timed the same way.

Run: ``.venv/bin/python benchmarks/bench_analyze.py [--requests 5000000]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from benchmarks.timing import StepTimer

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "benchmarks" / "out"


def build_trace(n: int, path: Path, seed: int = 0) -> None:
    """Azure's arrival pattern repeated to ``n`` requests with resampled token pairs, as canonical Parquet."""
    import numpy as np  # noqa: PLC0415 - the parent process stays light
    import pandas as pd  # noqa: PLC0415

    from costmodel.analyze import bundled_trace  # noqa: PLC0415
    from traces import Trace, TraceMeta, write_trace  # noqa: PLC0415

    base = bundled_trace().df
    arrivals = base["arrival_s"].to_numpy()
    period = arrivals[-1] + arrivals[-1] / len(arrivals)
    reps = -(-n // len(arrivals))
    big = (arrivals[None, :] + period * np.arange(reps)[:, None]).ravel()[:n]
    rows = np.random.default_rng(seed).integers(0, len(arrivals), n)
    df = pd.DataFrame(
        {
            "arrival_s": big,
            "input_tokens": base["input_tokens"].to_numpy()[rows],
            "output_tokens": base["output_tokens"].to_numpy()[rows],
        }
    )
    write_trace(Trace(df=df, meta=TraceMeta(source=f"azure-code x{reps} (resampled)", format="canonical")), path)


def child(trace_path: str) -> None:
    """Time one full analysis (load, analyze, render, write) and print a JSON line."""
    t0 = time.perf_counter()
    from costmodel.analyze import DEFAULT_GPUS, DEFAULT_PROFILE, DEFAULT_SERVERLESS, analyze  # noqa: PLC0415
    from costmodel.profiles import bundled_profile  # noqa: PLC0415
    from reports import render_report, write_outputs  # noqa: PLC0415
    from traces import load_trace  # noqa: PLC0415

    t_import = time.perf_counter() - t0
    t = time.perf_counter()
    trace = load_trace(trace_path) if trace_path != "bundled" else None
    t_load = time.perf_counter() - t

    timer = StepTimer("(before the first step)")
    t = time.perf_counter()
    if trace is None:
        results = analyze(progress=timer.progress, today=date(2026, 11, 22))
    else:  # the bundled scenario's comparisons, on the big trace
        results = analyze(
            trace,
            profiles=[bundled_profile(DEFAULT_PROFILE)],
            serverless=DEFAULT_SERVERLESS,
            gpus=DEFAULT_GPUS,
            progress=timer.progress,
            today=date(2026, 11, 22),
        )
    timer.progress("(end)")
    t_analyze = time.perf_counter() - t
    t = time.perf_counter()
    html = render_report(results)
    t_render = time.perf_counter() - t
    t = time.perf_counter()
    out = OUT / ("analyze-" + Path(trace_path).stem)
    json_path, html_path = write_outputs(results, out)
    t_write = time.perf_counter() - t
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "requests": results.trace.requests,
                "import_s": t_import,
                "load_s": t_load,
                "analyze_s": t_analyze,
                "render_s": t_render,
                "write_s": t_write,
                "html_bytes": len(html.encode()),
                "json_bytes": json_path.stat().st_size,
                "report": str(html_path),
                "peak_rss_mib": peak_mib,
                "steps": timer.steps[1:],  # the first entry is the time before the first step (none)
                "verdict": results.recommendation.headline,
            }
        )
    )


def run_child(trace_path: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", trace_path], capture_output=True, text=True, check=True, cwd=REPO
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def report(name: str, r: dict[str, object]) -> None:
    total = float(r["load_s"]) + float(r["analyze_s"])  # type: ignore[arg-type]
    print(f"\n== {name}: {r['requests']:,} requests")
    print(f"   load trace          {r['load_s']:7.2f} s")
    for step, seconds in r["steps"]:  # type: ignore[union-attr]
        print(f"     {step[:60]:60} {seconds:6.2f} s")
    print(f"   analyze (all steps) {r['analyze_s']:7.2f} s")
    print(f"   load + analyze      {total:7.2f} s   (target < 20 s)")
    size_mb = int(r["html_bytes"]) / 1e6  # type: ignore[call-overload]
    print(f"   render report       {r['render_s']:7.2f} s   (target < 2 s), {size_mb:.2f} MB (target < 2 MB)")
    print(f"   write outputs       {r['write_s']:7.2f} s   results.json {int(r['json_bytes']) / 1e6:.2f} MB")
    print(f"   peak memory (RSS)   {float(r['peak_rss_mib']):7.0f} MiB (target < 2,048 MiB; includes imports)")
    print(f"   verdict: {r['verdict']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5_000_000)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"azure_x{args.requests}.parquet"
    if not path.exists():
        print(f"building {path} ...", flush=True)
        build_trace(args.requests, path)
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    baseline = run_child("bundled")
    report("baseline: the bundled scenario", baseline)
    big = run_child(str(path))
    report("the 5 M-request trace", big)
    ratio = (float(big["load_s"]) + float(big["analyze_s"])) / float(baseline["analyze_s"])  # type: ignore[arg-type]
    scale = int(big["requests"]) / int(baseline["requests"])  # type: ignore[call-overload]
    print(f"\n5 M / bundled analysis time: {ratio:.1f}x for {scale:.0f}x the requests")


if __name__ == "__main__":
    main()
