"""Beyond one machine: a 100 M-request trace dataset, in-memory vs dataset bills, and a sweep on Dask.

Three measurements, each printed with its baseline from the same run (docs/scale.md has the latest figures):

1. ``--part big``: a 100 M-request partitioned dataset (one Parquet file per day, about 30 days) built from
   the real Azure 2023 code trace's pattern — its 8,819 arrivals repeated back to back, compressed 15x
   to about 39 req/s, each request's (input, output) pair resampled from the real rows — written once to
   ``--dataset`` (default ``/tmp/breakeven-100M``, not the repository), then ``breakeven analyze`` on it in a
   fresh process: wall time, time per million requests, and peak resident memory (target < 4 GB).
2. ``--part identity``: the same pattern at 5 M requests, analysed in memory and as a dataset (partitions of
   a day): every option's bill must be identical; times and peak memory of both.
3. ``--part sweep``: a sweep of 216 cells (3 GPU offers x 2 serverless prices x 3 policies x 12 growth
   factors, on the bundled trace, hybrid search on) run serially and on a 2-worker LocalCluster, with the
   speed-up; the two tables must agree.

Each analysis runs in a subprocess so that ``ru_maxrss`` is its own. Run:
``.venv/bin/python benchmarks/bench_scale.py --part identity`` (minutes), ``--part sweep`` (minutes),
``--part big`` (long: run it last, alone).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.timing import StepTimer

REPO = Path(__file__).resolve().parent.parent
DAY_S = 86_400.0
RATE_FACTOR = 15.0  # 8,819 requests per 57 min x 15 = ~39 req/s: 100 M requests in ~30 days


def _pattern() -> tuple[object, object, object, float]:
    """The bundled trace's arrivals, input and output tokens, and its period (with one mean gap after it)."""
    from costmodel.analyze import bundled_trace  # noqa: PLC0415 - the parent process stays light

    df = bundled_trace().df
    a = df["arrival_s"].to_numpy()
    return a, df["input_tokens"].to_numpy(), df["output_tokens"].to_numpy(), float(a[-1] + a[-1] / len(a))


def build_dataset(n: int, folder: Path, *, rate_factor: float = RATE_FACTOR, seed: int = 0) -> None:
    """Write ``n`` requests of the repeated Azure pattern as one canonical Parquet file per day, a day at a
    time (bounded memory)."""
    import numpy as np  # noqa: PLC0415
    import pandas as pd  # noqa: PLC0415

    from traces import Trace, TraceMeta, write_trace  # noqa: PLC0415

    a, inp, out, period = _pattern()
    per_rep = len(a)  # type: ignore[arg-type]
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    meta = TraceMeta(source=f"azure-code pattern x{rate_factor:g} rate, {n:,} requests", format="canonical")
    done, day = 0, 0
    rep = 0
    while done < n:
        end_s = (day + 1) * DAY_S * rate_factor  # in pattern time: a day after compression
        reps = []
        while rep * period < end_s and done + sum(len(r) for r in reps) < n:
            reps.append(np.asarray(a) + rep * period)
            rep += 1
        t = np.concatenate(reps)[: n - done] / rate_factor
        rows = rng.integers(0, per_rep, t.size)
        df = pd.DataFrame({"arrival_s": t, "input_tokens": inp[rows], "output_tokens": out[rows]})  # type: ignore[index]
        write_trace(Trace(df=df, meta=meta), folder / f"part-{day:05d}.parquet")
        done += t.size
        day += 1


def child(mode: str, path: str, workers: int, *, hybrid: bool) -> None:
    """One analysis (in memory or as a dataset), timed; prints a JSON line with the bills."""
    t0 = time.perf_counter()
    from breakeven.parallel import connect  # noqa: PLC0415
    from costmodel.analyze import DEFAULT_GPUS, DEFAULT_PROFILE, DEFAULT_SERVERLESS, analyze  # noqa: PLC0415
    from costmodel.finance import FinanceRequest  # noqa: PLC0415
    from costmodel.profiles import bundled_profile  # noqa: PLC0415
    from traces import load_trace  # noqa: PLC0415
    from traces.dataset import open_dataset  # noqa: PLC0415

    trace = load_trace(path) if mode == "memory" else open_dataset(path)
    t_load = time.perf_counter() - t0
    timer = StepTimer("start")
    t = time.perf_counter()
    kwargs = {
        "profiles": [bundled_profile(DEFAULT_PROFILE)],
        "serverless": list(DEFAULT_SERVERLESS),
        "gpus": list(DEFAULT_GPUS),
        "sensitivity_samples": 2000,
        "hybrid": hybrid,
        "finance": FinanceRequest(commitment="none", spot=False),  # both replay the trace in memory
        "progress": timer.progress,
    }
    if workers:
        with connect(workers=workers):
            results = analyze(trace, **kwargs)  # type: ignore[arg-type]
    else:
        results = analyze(trace, **kwargs)  # type: ignore[arg-type]
    timer.progress("end")
    print(
        json.dumps(
            {
                "requests": results.trace.requests,
                "load_s": t_load,
                "analyze_s": time.perf_counter() - t,
                "steps": timer.steps[1:],
                "bills": {o.id: o.total_cost_usd for o in results.options},
                "attainment": {o.id: o.slo_attainment for o in results.options},
                "headline": results.recommendation.headline,
                "warnings": results.warnings,
                "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
                "workers_rss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0,
            }
        )
    )


def run_child(
    mode: str, path: Path, workers: int = 0, *, hybrid: bool = False
) -> tuple[dict[str, object], float, float]:
    """Run :func:`child` in a fresh process: (its JSON, wall seconds, its peak RSS [MiB]; a Dask worker's
    peak is in the JSON as ``workers_rss_mib``)."""
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path), "--workers", str(workers)]
        + (["--hybrid"] if hybrid else []),
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - t
    if proc.returncode:
        sys.exit(f"child failed:\n{proc.stderr[-4000:]}")
    line = [x for x in proc.stdout.splitlines() if x.startswith("{")][-1]
    out = json.loads(line)
    return out, wall, float(out["rss_mib"])


def _machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def part_big(dataset: Path, requests: int, workers: int, *, hybrid: bool) -> None:
    if not (dataset / "part-00000.parquet").exists():
        t = time.perf_counter()
        build_dataset(requests, dataset)
        print(f"built {requests:,} requests into {dataset} in {time.perf_counter() - t:,.0f} s")
    size = sum(f.stat().st_size for f in dataset.glob("*.parquet")) / 2**30
    print(f"dataset: {dataset} ({len(list(dataset.glob('*.parquet')))} files, {size:.2f} GiB)")
    out, wall, rss = run_child("dataset", dataset, workers, hybrid=hybrid)
    n = int(out["requests"])  # type: ignore[call-overload]
    print(f"analyze of {n:,} requests as a dataset ({'serial' if not workers else f'{workers} workers'}):")
    print(
        f"  wall {wall:,.0f} s = {wall / (n / 1e6):.2f} s per million requests; peak RSS {rss:,.0f} MiB (target < 4096)"
    )
    for name, seconds in out["steps"]:  # type: ignore[union-attr]
        print(f"    {seconds:8.1f} s  {name}")
    print(f"  verdict: {out['headline']}")


def part_identity(requests: int, *, hybrid: bool) -> None:
    folder = Path(tempfile.mkdtemp(prefix="breakeven-5M-"))
    try:
        build_dataset(requests, folder / "ds")
        from traces import write_trace  # noqa: PLC0415
        from traces.dataset import open_dataset  # noqa: PLC0415

        write_trace(open_dataset(folder / "ds").to_trace(), folder / "whole.parquet")
        mem, wall_m, rss_m = run_child("memory", folder / "whole.parquet", hybrid=hybrid)
        ds, wall_d, rss_d = run_child("dataset", folder / "ds", hybrid=hybrid)
        print(f"{requests:,} requests ({len(list((folder / 'ds').glob('*.parquet')))} daily partitions):")
        print(f"  in memory : {wall_m:6.1f} s, peak RSS {rss_m:,.0f} MiB")
        print(f"  dataset   : {wall_d:6.1f} s, peak RSS {rss_d:,.0f} MiB (x{wall_d / wall_m:.2f} the time)")
        same = mem["bills"] == ds["bills"]
        print(f"  bills identical: {same}")
        for key, value in mem["bills"].items():  # type: ignore[union-attr]
            other = ds["bills"].get(key)  # type: ignore[union-attr]
            print(f"    {key:90} {value:14.6f} {other!s:>14}  {'==' if value == other else '!='}")
        print(f"  SLO attainment identical: {mem['attainment'] == ds['attainment']}")
        notes = set(ds["warnings"]) - set(mem["warnings"])  # type: ignore[arg-type]
        print(f"  notes only in memory: {sorted(set(mem['warnings']) - set(ds['warnings']))}")  # type: ignore[arg-type]
        print(f"  notes only as a dataset: {sorted(notes)}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


SPEC = """
name = "bench-216"
trace = "bundled"
gpu = ["digitalocean/gpu-h100-1x", "nebius/gpu-h100-1x", "lambda/gpu-h100-sxm-1x"]
serverless = ["digitalocean/llama3-8b-instruct", "deepinfra/meta-llama/Meta-Llama-3.1-8B-Instruct"]
policy = ["utilization:min=1,max=8", "utilization:min=0,max=8,idle=300", "fixed:2"]
growth = [0.5, 1, 1.5, 2, 3, 4, 6, 8, 12, 16, 24, 32]
[options]
hybrid = true
trace_breakeven = false
today = "2026-11-22"
"""


def part_sweep(workers: int) -> None:
    from costmodel.sweep import sweep_outcome  # noqa: PLC0415

    folder = Path(tempfile.mkdtemp(prefix="breakeven-sweep-"))
    try:
        spec = folder / "spec.toml"
        spec.write_text(SPEC, encoding="utf-8")
        serial = sweep_outcome(spec, out=folder / "serial", workers=0)
        parallel = sweep_outcome(spec, out=folder / "dask", workers=workers)
        cells = serial.ran
        print(f"sweep of {cells} cells (bundled trace, hybrid search on):")
        print(f"  serial (in process): {serial.seconds:6.1f} s ({serial.seconds / cells:.2f} s per cell)")
        print(f"  LocalCluster, {parallel.workers} workers: {parallel.seconds:6.1f} s (start-up included)")
        print(f"  speed-up: x{serial.seconds / parallel.seconds:.2f}")
        cols = [c for c in serial.frame.columns if c != "seconds"]
        print(f"  tables agree: {serial.frame[cols].equals(parallel.frame[cols])}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["big", "identity", "sweep"], required="--child" not in sys.argv)
    parser.add_argument("--dataset", type=Path, default=Path("/tmp/breakeven-100M"))
    parser.add_argument("--requests", type=int, default=None)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"))
    parser.add_argument("--hybrid", action="store_true", help="Include the hybrid search (slow on heavy overflow).")
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.workers, hybrid=args.hybrid)
        return
    print(f"machine: {_machine()}")
    if args.part == "big":
        part_big(args.dataset, args.requests or 100_000_000, args.workers, hybrid=args.hybrid)
    elif args.part == "identity":
        part_identity(args.requests or 5_000_000, hybrid=args.hybrid)
    else:
        part_sweep(args.workers or 2)


if __name__ == "__main__":
    main()
