"""Benchmark: render the HTML report of a 5 M-request analysis (target: < 2 s and < 2 MB).

The results are the seed case (gpt-oss-120b, 1x MI300X at $1.88/h vs $0.10 / $0.70 per 1M tokens) scaled to
5,000,000 requests over 30 days, with the series such an analysis carries at their largest: a timeline of one
bin per second (2,592,000 bins x 3 series) with autoscaled replicas and their cold starts, a 200-point cost
curve, break-even rows for three methods x 40 output lengths, a tornado and a 100-point Monte Carlo band.

Baselines measured in the same run: rendering the small 24-hour seed report (1,440 timeline bins), and
writing the same 5 M results as results.json (what `breakeven analyze` does anyway). Also shown: the
`breakeven report results.json` path (parse and validate the 56 MB JSON, then render), checked to give the
same bytes.

Run: .venv/bin/python benchmarks/bench_report.py
"""

from __future__ import annotations

import math
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from costmodel.results import BreakevenRow, CostCurve, Results, Timeline
from reports import load_results, render_report
from tests.support.reports_factory import SEED, make_results, monthly_dedicated, monthly_serverless

REQUESTS = 5_000_000
DAYS = 30
CAPACITY_RPS = 2.0  # one replica under the SLO (a small replica, so the fleet scales through the day)
COLD_START_S = 61


def big_results() -> Results:
    """The 5 M-request results with month-long per-second series."""
    rng = np.random.default_rng(42)
    n = DAYS * 86_400
    t = np.arange(n, dtype=np.float64)
    mean_rps = REQUESTS / n
    shape = 1 + 0.7 * np.sin(2 * np.pi * (t / 86_400 - 0.3)) + 0.25 * np.sin(2 * np.pi * t / (7 * 86_400))
    lam = mean_rps * shape / shape.mean()
    arrivals = rng.poisson(lam).astype(np.float64)
    # Autoscaler: replicas for the trailing 10-minute mean at 70 % target utilization, 1..12.
    window = 600
    csum = np.concatenate([[0.0], np.cumsum(arrivals)])
    trailing = (csum[window:] - csum[:-window]) / window
    trailing = np.concatenate([np.full(window - 1, trailing[0]), trailing])
    running = np.clip(np.ceil(trailing / (CAPACITY_RPS * 0.7)), 1, 12)
    ready = np.concatenate(
        [np.full(COLD_START_S, running[0]), np.minimum(running[COLD_START_S:], running[:-COLD_START_S])]
    )
    starts = t[1:][np.diff(running) > 0]

    case = SEED
    base = make_results(case, hours=DAYS * 24.0, requests=REQUESTS, timeline=False, capacity_rps=CAPACITY_RPS)
    rps = np.geomspace(0.01, 1000, 200)
    s_m = monthly_serverless(rps, case)
    d_m = monthly_dedicated(rps, case)
    curve = CostCurve(
        rps=rps.tolist(),
        serverless_monthly_usd=s_m.tolist(),
        dedicated_monthly_usd=d_m.tolist(),
        hybrid_monthly_usd=np.minimum(s_m, d_m).tolist(),
        serverless_price_id=base.options[0].serverless_price_id,
        gpu_price_id=base.options[1].gpu_price_id,
        user_rps=mean_rps,
        breakeven_rps=[3.22],
    )
    outs = np.geomspace(10, 8000, 40)
    rows = [
        BreakevenRow(
            input_tokens=80.0,
            output_tokens=float(o),
            method=m,
            breakeven_rps=1.88 * 1e6 / (80 * 0.10 + o * 0.70) / 3600 * f,
            breakeven_rph=1.88 * 1e6 / (80 * 0.10 + o * 0.70) * f,
            serverless_cost_per_request_usd=(80 * 0.10 + o * 0.70) / 1e6,
        )
        for m, f in (("closed_form", 1.0), ("capacity", 1.1), ("trace", 1.25))
        for o in outs
    ]
    timeline = Timeline(
        bin_s=1.0,
        t_s=t.tolist(),
        arrivals_rps=arrivals.tolist(),
        replicas_running=running.tolist(),
        replicas_ready=ready.tolist(),
        cold_start_times_s=starts.tolist(),
        option_id=base.options[1].id,
    )
    return base.model_copy(update={"timeline": timeline, "cost_curve": curve, "breakeven": rows})


def best_of(fn, repeat: int = 3) -> tuple[float, object]:
    best, out = math.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    small = make_results()
    render_report(small)  # warm the template cache and imports
    t_small, html_small = best_of(lambda: render_report(small))

    t0 = time.perf_counter()
    big = big_results()
    t_build = time.perf_counter() - t0
    assert big.timeline is not None
    print(
        f"5M-request results: {big.trace.requests:,} requests, timeline {len(big.timeline.t_s):,} bins x 3 series, "
        f"{len(big.timeline.cold_start_times_s):,} cold starts, cost curve {len(big.cost_curve.rps)} points, "  # type: ignore[union-attr]
        f"{len(big.breakeven)} break-even rows (built in {t_build:.1f} s)"
    )
    t_big, html_big = best_of(lambda: render_report(big))
    t_json, text = best_of(lambda: big.model_dump_json(by_alias=True), repeat=1)
    size_big = len(str(html_big).encode())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "results.json"
        path.write_text(str(text))
        t_rerender, html_again = best_of(lambda: render_report(load_results(path)), repeat=1)
    assert html_again == html_big, "re-rendering from results.json must give the same report"

    size_small = len(str(html_small).encode())
    print(f"baseline: render 24-hour seed report       {t_small * 1000:8.0f} ms   {size_small / 1e6:6.2f} MB")
    print(f"baseline: results.json of the 5M results   {t_json * 1000:8.0f} ms   {len(str(text)) / 1e6:6.2f} MB")
    print(f"render report of the 5M results            {t_big * 1000:8.0f} ms   {size_big / 1e6:6.2f} MB")
    print(f"re-render from results.json (load + render) {t_rerender * 1000:7.0f} ms   (same bytes)")
    ok = t_big < 2.0 and size_big < 2e6
    print(f"target < 2 s and < 2 MB: {'met' if ok else 'MISSED'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
