"""Benchmark: loading a 5 M-row BurstGPT-format CSV with ``traces.load_trace`` vs plain pandas, and the
Parquet round trip. Not a test: it prints figures (with the baselines measured in the same run).

    .venv/bin/python benchmarks/bench_traces.py [--rows 5000000] [--repeat 3]

The CSV (``benchmarks/out/burstgpt_<rows>.csv``, gitignored) is built by resampling real rows: token pairs
from the real traces in ``tests/data/traces`` (Azure 2023 code, Vidur/Splitwise conversation, Mooncake,
BurstGPT excerpts), inter-arrival gaps from the real Azure code trace (rescaled to BurstGPT's ~0.5 req/s and
rounded down to whole seconds, as in ``BurstGPT_1.csv``), model and log-type shares from BurstGPT v2.0's
published counts, and 1.8 % failed requests (zero response tokens; 1,429.7k rows vs 1,404.3k without
fails in ``BurstGPT_1``).

Every measurement runs in a fresh subprocess, loaders interleaved round-robin. Peak memory is the
process's resident high-water mark during the load (VmHWM, reset just before it) minus its resident memory
at that moment (after imports): the extra memory the load needed at its peak.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

import traces

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data" / "traces"
OUT = REPO / "benchmarks" / "out"

# BurstGPT v2.0 (BurstGPT_3.csv) published counts.
SHARE_GPT4 = 790_239 / (790_239 + 4_553_782)
SHARE_CONVERSATION = 233_617 / (233_617 + 5_110_404)
FAILED_SHARE = 1 - 1_404.3 / 1_429.7
MEAN_GAP_S = 121 * 86400 / 5_000_000


def build_csv(rows: int, path: Path) -> None:
    """Write a BurstGPT-format CSV of ``rows`` rows resampled from real rows (see the module docstring)."""

    rng = np.random.default_rng(2024)
    sources = [
        "AzureLLMInferenceTrace_code.csv",
        "vidur_splitwise_conv_first100.csv",
        "mooncake_conversation_first400.jsonl",
        "burstgpt_1_first3.csv",
        "burstgpt_3_first4.csv",
    ]
    loaded = [traces.load_trace(DATA / name) for name in sources]
    pool_in = np.concatenate([t.df["input_tokens"].to_numpy() for t in loaded])
    pool_out = np.concatenate([t.df["output_tokens"].to_numpy() for t in loaded])
    gaps = np.diff(loaded[0].df["arrival_s"].to_numpy())
    gaps = gaps * (MEAN_GAP_S / gaps.mean())
    pick = rng.integers(0, len(pool_in), size=rows)
    req = pool_in[pick]
    resp = np.where(rng.random(rows) < FAILED_SHARE, 0, pool_out[pick])
    stamp = np.floor(np.cumsum(gaps[rng.integers(0, len(gaps), size=rows)])).astype(np.int64)
    model = np.where(rng.random(rows) < SHARE_GPT4, "GPT-4", "ChatGPT")
    log_type = np.where(rng.random(rows) < SHARE_CONVERSATION, "Conversation log", "API log")
    table = pa.table(
        {
            "Timestamp": stamp,
            "Model": model,
            "Request tokens": req,
            "Response tokens": resp,
            "Total tokens": req + resp,
            "Log Type": log_type,
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    pa_csv.write_csv(table, tmp, pa_csv.WriteOptions(quoting_style="none"))
    tmp.replace(path)


# --------------------------------------------------------------------------------------------- child side


def _status_bytes(field: str) -> int | None:
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024  # kB
    return None


def _baseline_bytes() -> int:
    """Resident memory now, after resetting the peak (Linux: write 5 to /proc/self/clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        rss = _status_bytes("VmRSS")
        if rss is not None:
            return rss
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # fallback: peak so far (KiB on Linux)


def _peak_bytes() -> int:
    """Peak resident memory since the baseline (VmHWM after the reset; ru_maxrss as a fallback).

    ``ru_maxrss`` alone would be wrong here: on Linux a child inherits its parent's high-water mark across
    fork + exec, and the parent that built the CSV was large.
    """
    hwm = _status_bytes("VmHWM")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def child(loader: str, path: str) -> None:
    """Run one loader once in this (fresh) process and print its figures as JSON."""

    base = _baseline_bytes()
    start = time.perf_counter()
    if loader == "ours":
        df = traces.load_trace(path).df
    elif loader == "pandas":
        df = pd.read_csv(path)
    elif loader == "pandas_pyarrow":
        df = pd.read_csv(path, engine="pyarrow")
    elif loader == "ours_parquet":
        df = traces.load_trace(path).df
    elif loader == "pyarrow_parquet":
        df = pq.read_table(path).to_pandas()
    elif loader == "write_parquet":
        trace = traces.load_trace(path)
        target = Path(path).with_suffix(".parquet")
        base = _baseline_bytes()
        start = time.perf_counter()
        traces.write_trace(trace, target)
        df = trace.df
    else:
        raise SystemExit(f"unknown loader {loader}")
    seconds = time.perf_counter() - start
    peak = _peak_bytes() - base
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_bytes": peak,
                "df_bytes": int(df.memory_usage(deep=True).sum()),
                "rows": len(df),
                "columns": list(map(str, df.columns)),
            }
        )
    )


# --------------------------------------------------------------------------------------------- parent side


def _once(loader: str, path: Path) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", loader, str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _collect(results: list[dict[str, object]]) -> dict[str, object]:
    seconds = statistics.median(float(r["seconds"]) for r in results)  # type: ignore[arg-type]
    rows = int(results[0]["rows"])  # type: ignore[call-overload]
    return {
        "seconds": seconds,
        "all_seconds": [round(float(r["seconds"]), 3) for r in results],  # type: ignore[arg-type]
        "rows_per_s": rows / seconds,
        "peak_mb": statistics.median(float(r["peak_bytes"]) for r in results) / 2**20,  # type: ignore[arg-type]
        "df_mb": float(results[0]["df_bytes"]) / 2**20,  # type: ignore[arg-type]
        "rows": rows,
        "columns": results[0]["columns"],
    }


def run_interleaved(jobs: dict[str, tuple[str, Path]], repeat: int) -> dict[str, dict[str, object]]:
    """Run every job ``repeat`` times, round-robin, so that load on a shared machine hits all alike."""
    raw: dict[str, list[dict[str, object]]] = {name: [] for name in jobs}
    for _ in range(repeat):
        for name, (loader, path) in jobs.items():
            raw[name].append(_once(loader, path))
    return {name: _collect(results) for name, results in raw.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per loader (fresh process each); median shown")
    parser.add_argument("--child", nargs=2, metavar=("LOADER", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return

    csv_path = OUT / f"burstgpt_{args.rows}.csv"
    if not csv_path.exists():
        t0 = time.perf_counter()
        build_csv(args.rows, csv_path)
        print(f"built {csv_path} ({csv_path.stat().st_size / 2**20:,.0f} MiB) in {time.perf_counter() - t0:.1f} s")
    parquet_path = csv_path.with_suffix(".parquet")
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    python = sys.version.split()[0]
    print(f"machine: {cpus} CPUs usable (of {os.cpu_count()}); python {python}; pyarrow threads {pa.cpu_count()}")

    print(f"pandas {pd.__version__}, pyarrow {pa.__version__}; {args.repeat} runs per loader, median time")
    print(f"file: {csv_path.name}, {csv_path.stat().st_size / 2**20:,.0f} MiB, {args.rows:,} rows\n")

    _once("write_parquet", csv_path)  # make the Parquet file once before timing reloads
    jobs = {
        "traces.load_trace (CSV)": ("ours", csv_path),
        "pandas.read_csv (C engine)": ("pandas", csv_path),
        "pandas.read_csv (engine=pyarrow)": ("pandas_pyarrow", csv_path),
        "traces.load_trace (Parquet)": ("ours_parquet", parquet_path),
        "pyarrow.parquet.read_table().to_pandas()": ("pyarrow_parquet", parquet_path),
        "write": ("write_parquet", csv_path),
    }
    rows = run_interleaved(jobs, args.repeat)
    write = rows.pop("write")

    header = f"{'loader':42} {'seconds':>8} {'rows/s':>12} {'peak MiB':>9} {'df MiB':>8} {'peak/df':>8}"
    print(header)
    print("-" * len(header))
    for name, r in rows.items():
        print(
            f"{name:42} {r['seconds']:8.3f} {r['rows_per_s']:12,.0f} {r['peak_mb']:9.0f} {r['df_mb']:8.0f} "
            f"{r['peak_mb'] / r['df_mb']:8.2f}  {r['all_seconds']}"
        )
    print(f"\nwrite_trace -> Parquet: {write['seconds']:.3f} s, {parquet_path.stat().st_size / 2**20:,.0f} MiB on disk")
    ours, plain, pq_ours = (
        rows["traces.load_trace (CSV)"],
        rows["pandas.read_csv (C engine)"],
        rows["traces.load_trace (Parquet)"],
    )
    print("\ntargets:")
    print(
        f"  load rate vs plain pandas: {ours['rows_per_s']:,.0f} vs {plain['rows_per_s']:,.0f} rows/s "
        f"= {ours['rows_per_s'] / plain['rows_per_s']:.2f}x (target >= 1x)"
    )
    print(f"  peak memory / DataFrame size: {ours['peak_mb'] / ours['df_mb']:.2f} (target <= 2)")
    print(f"  Parquet reload vs CSV load: {ours['seconds'] / pq_ours['seconds']:.1f}x faster (target >= 10x)")
    print(f"  our DataFrame columns: {ours['columns']}; plain pandas keeps all 6 source columns")


if __name__ == "__main__":
    main()
