"""The replica simulator's fidelity, published: every measured run in ``../shared/data`` replayed and
predicted against what was measured, in three honest regimes.

- **(a) calibrated** — each run predicted by coefficients fitted to the *other* runs of the same model × GPU
  (leave-one-run-out);
- **(b) estimated** — each model predicted by coefficients fitted without any run of it (leave-one-model-out
  for the two V1 calibration models; the default coefficients for every other run: none of them is in the
  defaults' training set);
- **(c) overload** — the four ``reasoning`` runs must come out overloaded at 4 req/s; ``general`` and
  ``codegen`` must not at 20 req/s (general's measured stage, and codegen's mix replayed at 20 req/s).

It also checks the step-time model's hardware terms against the H200 microbenchmark, times the simulator on
a 600 s stage of ~12,000 requests, and (with ``--write``) writes what it fitted into the package: the default
coefficients (``costmodel/data/engine/default_coefficients.json``), the bundled Llama-3.1-8B-FP8 profile's
replica model, and the tables of ``docs/fidelity.md`` (between its generated-section markers).

Run: ``.venv/bin/python benchmarks/fidelity.py [--data ../shared/data] [--write]`` (about 10 minutes on the
2-core development machine).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from costmodel.engine import Coefficients, Deployment, gpu_spec, model_arch
from costmodel.engine.calibrate import WindowError, fit, score
from costmodel.engine.memory import estimate_kv_cache_tokens
from costmodel.engine.replica import (
    ERROR_METRICS,
    engine_settings,
    fit_rows,
    leave_one_run_out,
    typical_error,
)
from costmodel.engine.runs import (
    Deployed,
    MeasuredRun,
    load_inference_sim,
    load_vllm_bench,
    replay,
    request_lengths,
)
from costmodel.engine.simulator import simulate
from costmodel.engine.steptime import StepCost
from costmodel.engine.workload import from_arrays
from costmodel.profiles.io import bundled_profile, save_profile
from costmodel.profiles.schema import ReplicaModel

REPO = Path(__file__).resolve().parent.parent

BARS = {"a": {"e2e_mean_s": 0.10, "ttft_mean_ms": 0.25}, "b": {"e2e_mean_s": 0.15, "ttft_mean_ms": 0.35}}
SHOWN = ("ttft_mean_ms", "ttft_p99_ms", "tpot_mean_ms", "e2e_mean_s", "throughput_rps")
MARK_START = "<!-- fidelity:generated:start -->"
MARK_END = "<!-- fidelity:generated:end -->"


@dataclass
class Group:
    """Runs of one model × GPU × TP × engine generation."""

    name: str
    runs: list[MeasuredRun]
    v1: bool
    """Part of the default coefficients' training data (the 2026 V1 calibration runs)."""


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------- loading


def load_groups(data: Path) -> tuple[list[Group], list[tuple[str, str]]]:
    """Every measured run the step model can replay, by group; and the files left out, with why."""
    sim_dir = data / "calibration" / "inference-sim-training" / "replay_data"
    pairs = sorted(p for p in sim_dir.glob("*.json") if not p.name.endswith("_ground_truth.json"))
    sim_runs = [load_inference_sim(p, gpu="H100-SXM") for p in pairs]
    groups = [
        Group("Llama-2-7B · 1× H100 · vLLM V1 (inference-sim)", [r for r in sim_runs if "llama-2-7b" in r.id], True),
        Group("Mixtral-8x7B · 2× H100 · vLLM V1 (inference-sim)", [r for r in sim_runs if "mixtral" in r.id], True),
    ]
    h100 = gpu_spec("H100-SXM")
    sweeps = data / "vllm_bench" / "sweeps" / "1xH100-80GB-SXM"
    for model, folder, label in (
        (
            "llama-3.1-8b",
            "Meta-Llama-3.1-8B-FP8_tp1_len2048",
            "Llama-3.1-8B-FP8 · 1× H100 · vLLM 0.5.4 (LambdaLabs bursts)",
        ),
        (
            "llama-3.1-70b",
            "Meta-Llama-3.1-70B-Instruct-FP8_tp1_len2048",
            "Llama-3.1-70B-FP8 · 1× H100 · vLLM 0.5.4 (LambdaLabs bursts)",
        ),
    ):
        runs = _sweep(sweeps / folder, model_arch(model), h100)
        groups.append(Group(label, runs, False))
    bench = data / "vllm_bench"
    a100 = gpu_spec("A100-SXM-40GB")
    llama70 = Deployed(model_arch("llama-3.1-70b"), a100, tp=8, max_num_seqs=256, max_num_batched_tokens=8192)
    kv70 = estimate_kv_cache_tokens(Deployment(llama70.arch, a100, 8), max_num_batched_tokens=8192)
    groups.append(
        Group(
            "Llama-3.3-70B · 8× A100-40GB · vLLM 0.8 (surajssd, 4 req/s)",
            load_vllm_bench(
                bench / "surajssd-llm-k8s_v0.8-era_llama3.3-70b_tp8_8xA100_qps04_detailed.json", llama70, kv70
            ),
            False,
        )
    )
    llama8 = Deployed(model_arch("llama-3.1-8b"), h100, max_num_seqs=1024, max_num_batched_tokens=2048, scheduler="v0")
    kv8 = estimate_kv_cache_tokens(
        Deployment(llama8.arch, h100), gpu_memory_utilization=0.95, max_num_batched_tokens=2048
    )
    groups.append(
        Group(
            "Llama-3-8B · 1× H100 · vLLM 0.5/0.6 (LambdaLabs burst of 10)",
            load_vllm_bench(
                bench / "LambdaLabsML-vllm-benchmark_2024-09_v0.6-era_llama3-8b_1xH100_detailed.json", llama8, kv8
            ),
            False,
        )
    )
    left_out = [
        (
            "vllm_bench/er0080-*_opt-125m_* (2 files)",
            (
                "OPT-125m has an ungated two-matrix MLP the architecture catalog does not describe, RTX 3090 is "
                "not in the GPU catalog, and each run is 8 requests dominated by a cold first request (TTFT mean "
                "216 ms, median 45)"
            ),
        ),
        (
            "other_bench/* (6 files)",
            (
                "no GPU is stated (GuideLLM qwen2.5-7b, GuideLLM test asset, AIPerf qwen3-4b) or the server is "
                "not a GPU running vLLM (llmperf against Groq's API)"
            ),
        ),
    ]
    return groups, left_out


def _sweep(folder: Path, arch: Any, gpu: Any) -> list[MeasuredRun]:
    deployed = Deployed(arch, gpu, weight_dtype="fp8", max_num_seqs=1024, max_num_batched_tokens=2048, scheduler="v0")
    kv = estimate_kv_cache_tokens(
        Deployment(arch, gpu, 1, "fp8"), gpu_memory_utilization=0.95, max_num_batched_tokens=2048
    )
    files = sorted(folder.glob("prompt_*.json"), key=lambda f: int(f.name.split("_")[1].split(".")[0]))
    pool_in: list[int] = []
    pool_out: list[int] = []
    for f in files:
        found = request_lengths(f)
        if found and len(found[0]) > len(pool_in):
            pool_in, pool_out = found
    pool = (pool_in, pool_out) if pool_in else None
    prefix = folder.name.split("_")[0]
    return [
        _renamed(run, f"{prefix} N={f.name.split('_')[1].split('.')[0]}")
        for f in files
        for run in load_vllm_bench(f, deployed, kv, length_pool=pool)
    ]


def _renamed(run: MeasuredRun, name: str) -> MeasuredRun:
    return replace(run, id=name)


# ------------------------------------------------------------------------------------------- regimes


def scored_rows(runs: Sequence[MeasuredRun], coefficients: Coefficients) -> list[WindowError]:
    rows = score(runs, coefficients)
    by_id = {r.id: r for r in runs}
    return [e for e in rows if e.metric in by_id[e.run].scored_metrics(e.window)]


def regime_a(groups: list[Group], start: Coefficients) -> dict[str, list[WindowError]]:
    out: dict[str, list[WindowError]] = {}
    for g in groups:
        usable = g.runs
        if sum(1 for r in usable if r.scored) < 2:
            continue
        say(f"(a) leave-one-run-out: {g.name} ({len(usable)} runs)")
        out[g.name] = leave_one_run_out(usable, start, progress=say)
    return out


def regime_b(groups: list[Group], defaults: Coefficients, start: Coefficients) -> dict[str, list[WindowError]]:
    out: dict[str, list[WindowError]] = {}
    v1 = [g for g in groups if g.v1]
    for g in groups:
        if g.v1:
            others = [r for h in v1 if h is not g for r in h.runs]
            say(f"(b) leave-one-model-out: fitting without {g.name}")
            coefficients = fit(others, start=start, progress=say).coefficients
        else:
            coefficients = defaults
        out[g.name] = scored_rows(g.runs, coefficients)
    return out


def regime_c(groups: list[Group], defaults: Coefficients) -> list[dict[str, Any]]:
    """Overload verdicts: measured and simulated (the defaults; calibrated runs say the same)."""
    rows = []
    for g in groups:
        if not g.v1:
            continue
        for run in g.runs:
            workload = run.id.rsplit("-", 1)[-1]
            if workload not in ("reasoning", "general", "codegen"):
                continue
            cost = StepCost(Deployment(run.arch, run.gpu, run.tp, run.weight_dtype), defaults)
            sim = replay(run, cost)
            for w in run.windows:
                if w.rate_rps is None or (workload != "reasoning" and w.rate_rps < 10):
                    continue
                rows.append(_verdict(run, w.name, w.rate_rps, w.overloaded, _window_overloaded(sim, w)))
            if workload == "codegen":  # its mix at 20 req/s: nobody measured it, it must not overload
                rows.append(_codegen_at(run, cost, 20.0))
    return rows


def _window_overloaded(sim: Any, window: Any) -> bool:
    a = sim.workload.arrival_s
    sel = (a >= window.start_s) & (a < window.end_s)
    t0, t1 = float(a[sel].min()), float(a[sel].max())
    mid = (t0 + t1) / 2
    grown = sim.in_system(t1) - sim.in_system(mid)
    rate = sel.sum() / max(t1 - t0, 1e-9)
    unfinished = bool((sel & ~sim.finished).any())
    return unfinished or (grown > 0.05 * rate * (t1 - mid) and sim.in_system(t1) > sim.max_num_seqs)


def _verdict(run: MeasuredRun, window: str, rate: float, measured: bool, simulated: bool) -> dict[str, Any]:
    expected = "reasoning" in run.id
    return {
        "run": run.id,
        "window": window,
        "rate_rps": rate,
        "measured_overloaded": measured,
        "simulated_overloaded": simulated,
        "required": "overloaded" if expected else "not overloaded",
        "met": simulated == expected,
    }


def _codegen_at(run: MeasuredRun, cost: StepCost, rate: float) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    n = int(rate * 600)
    pick = rng.integers(0, len(run.workload), size=n)
    gaps = rng.exponential(1 / rate, size=n)
    w = from_arrays(
        np.cumsum(gaps) - gaps[0],
        run.workload.input_tokens[pick],
        run.workload.output_tokens[pick],
        cached_tokens=run.workload.cached[pick],
        label="codegen mix at 20 req/s",
    )
    sim = simulate(w, cost, run.limits, horizon_s=float(w.arrival_s[-1]) + 600)
    return _verdict(run, f"its mix at {rate:g} req/s (simulated only)", rate, False, bool(sim.overloaded))


# -------------------------------------------------------------------------------------------- reports


def table(rows: Sequence[WindowError], metrics: Sequence[str] = SHOWN) -> list[str]:
    lines = [
        "| run | window | metric | measured | predicted | error |",
        "|---|---|---|---:|---:|---:|",
    ]
    for e in rows:
        if e.metric not in metrics:
            continue
        pred = "—" if e.predicted is None or not math.isfinite(e.predicted) else f"{e.predicted:,.4g}"
        err = "—" if e.error is None else f"{e.error:+.1%}"
        lines.append(f"| {e.run} | {e.window} | {e.metric} | {e.measured:,.4g} | {pred} | {err} |")
    return lines


def summary(rows: Sequence[WindowError], regime: str) -> list[str]:
    lines = []
    for metric in ("ttft_mean_ms", "tpot_mean_ms", "e2e_mean_s", "ttft_p99_ms"):
        errs = [abs(e.error) for e in rows if e.metric == metric and e.error is not None]
        if not errs:
            continue
        bar = BARS.get(regime, {}).get(metric)
        worst = max(errs)
        mean = statistics.fmean(errs)
        verdict = "" if bar is None else (" — **met**" if mean <= bar else f" — **missed** (bar {bar:.0%})")
        lines.append(
            f"- {metric}: mean |error| {mean:.1%}, median {statistics.median(errs):.1%}, worst {worst:.1%} "
            f"over {len(errs)} windows{verdict}"
        )
    return lines


def microbench(data: Path, defaults: Coefficients) -> list[str]:
    """The step-time model's hardware terms against the H200 microbenchmark (per-layer times)."""
    from scipy.optimize import least_squares  # noqa: PLC0415

    rows = []
    for name in ("h200_llm_step_microbench_2026-12-04.jsonl", "h200_mixed_step_microbench_2026-12-04.jsonl"):
        path = data / "gpu_microbench" / name
        if path.is_file():
            rows += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    shapes = {"llama-3.1-8b": model_arch("llama-3.1-8b"), "llama-3.1-70b": model_arch("llama-3.1-70b")}
    h200 = gpu_spec("H200")
    cases = []
    for r in rows:
        if r.get("kind") not in ("decode", "prefill", "mixed_step"):
            continue
        arch = shapes[r["model"]]
        dtype = r.get("weights", "bf16")
        one_layer = arch.model_copy(update={"layers": 1, "vocab": 1})
        cost = StepCost(Deployment(one_layer, h200, 1, dtype), defaults)
        if r["kind"] == "decode":
            b, ctx = r["batch"], r["context"]
            args = (b, float(b * ctx), 0.0, 0.0, 0.0, 0)
        elif r["kind"] == "prefill":
            t = r["tokens"]
            args = (0, 0.0, float(t), t * t / 2.0, 0.0, 1)
        else:
            b, ctx, c = r["decode_rows"], r["context"], r["chunk_tokens"]
            args = (b, float(b * ctx), float(c), c * c / 2.0, 0.0, 1 if c else 0)
        cases.append((cost, args, r["ms_per_layer"] / 1000.0))

    def predict(params: np.ndarray) -> np.ndarray:
        eff_w, eff_kv, eff_c, overhead = params
        c = defaults.model_copy(
            update={
                "bandwidth_efficiency": eff_w,
                "kv_bandwidth_efficiency": eff_kv,
                "compute_efficiency": eff_c,
                "layer_overhead_us": 0.0,
                "step_overhead_us": overhead * 1e6,
                "seq_overhead_us": 0.0,
            }
        )
        out = []
        for cost, (n_dec, ctx, pf, pairs, prior, pf_rows), _ in cases:
            out.append(
                cost.with_coefficients(c).step_s(
                    n_dec,
                    ctx,
                    prefill_tokens=pf,
                    prefill_pairs=pairs,
                    prefill_prior=prior,
                    prefill_rows=pf_rows,
                    sampled_rows=0,
                )
            )
        return np.array(out)

    measured = np.array([m for *_, m in cases])
    found = least_squares(
        lambda p: (predict(p) - measured) / measured,
        [0.9, 0.9, 0.6, 5e-5],
        bounds=([0.1] * 3 + [0], [1.2] * 3 + [1e-3]),
    )
    err = np.abs(predict(found.x) - measured) / measured
    eff_w, eff_kv, eff_c, overhead = found.x
    return [
        (
            f"- {len(cases)} shapes (decode batch 1–256 × context 512–8k, prefill 128–8k, mixed chunk + decode rows; "
            f"bf16 and fp8; Llama-3.1-8B and -70B layers), the roofline's form (two kernels, p = "
            f"{defaults.overlap_exponent:g}) fitted with four numbers: η_w {eff_w:.2f}, η_kv {eff_kv:.2f}, "
            f"η_c {eff_c:.2f}, {overhead * 1e6:.0f} µs per layer."
        ),
        f"- per-layer time error: mean {err.mean():.1%}, median {np.median(err):.1%}, worst {err.max():.1%}.",
    ]


def speed(groups: list[Group], defaults: Coefficients) -> str:
    run = next(r for g in groups if g.v1 for r in g.runs if r.id.endswith("general") and "llama" in r.id)
    a = run.workload.arrival_s
    sel = a >= 600.0
    w = from_arrays(
        a[sel], run.workload.input_tokens[sel], run.workload.output_tokens[sel], cached_tokens=run.workload.cached[sel]
    )
    cost = StepCost(Deployment(run.arch, run.gpu, run.tp), defaults)
    simulate(w, cost, run.limits)  # warm the caches
    times = []
    for _ in range(3):
        t = time.perf_counter()
        res = simulate(w, cost, run.limits)
        times.append(time.perf_counter() - t)
    return (
        f"Llama-2-7B general, the 600 s stage at 20 req/s ({len(w):,} requests, {len(res.step_s):,} engine steps): "
        f"simulated in {min(times):.2f} s (best of 3; {statistics.median(times):.2f} s median) on "
        f"{platform.processor() or platform.machine()}, {_cpus()} CPUs — target < 2 s"
    )


def _cpus() -> int:
    return os.cpu_count() or 1


# ------------------------------------------------------------------------------------------------ main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data", help="The shared data folder.")
    parser.add_argument("--write", action="store_true", help="Write the defaults, the bundled profile and the docs.")
    args = parser.parse_args()
    started = time.perf_counter()
    groups, left_out = load_groups(args.data)
    start = Coefficients()  # the class defaults: a fixed start, so that the defaults written are the data's
    v1_runs = [r for g in groups if g.v1 for r in g.runs]

    say("defaults: fitting all V1 calibration runs")
    defaults_fit = fit(v1_runs, start=start, progress=say)
    defaults = defaults_fit.coefficients
    a = regime_a(groups, defaults)
    b = regime_b(groups, defaults, defaults)
    c = regime_c(groups, defaults)
    hardware = microbench(args.data, defaults)
    timing = speed(groups, defaults)

    # The bundled Llama-3.1-8B-FP8 profile: calibrated on its own sweep (the runs the profile was built from).
    sweep = next(g for g in groups if g.name.startswith("Llama-3.1-8B-FP8"))
    say("bundled profile: calibrating Llama-3.1-8B-FP8 on its sweep")
    sweep_fit = fit(sweep.runs, start=defaults, progress=say)

    lines = [
        MARK_START,
        "",
        (
            f"Generated by `benchmarks/fidelity.py` on {datetime.now(UTC):%Y-%m-%d} "
            f"({platform.machine()}, {_cpus()} CPUs; {time.perf_counter() - started:,.0f} s in all)."
        ),
        "",
        "### Default coefficients (fitted on every window of the V1 calibration runs)",
        "",
        "```",
        *(f"{k:26} {v:.4g}" for k, v in defaults.model_dump().items()),
        "```",
        "",
        "### (a) Calibrated: leave one run out, within one model × GPU",
        "",
    ]
    all_a = [e for rows in a.values() for e in rows]
    lines += [*summary(all_a, "a"), ""]
    for name, rows in a.items():
        lines += [f"#### {name}", "", *summary(rows, "a"), "", *table(rows), ""]
    lines += ["### (b) Estimated: a model never calibrated", ""]
    all_b = [e for rows in b.values() for e in rows]
    v1_b = [e for g in groups if g.v1 for e in b[g.name]]
    lines += [
        "All runs:",
        *summary(all_b, "b"),
        "",
        "The two V1 models, each predicted from the other:",
        *summary(v1_b, "b"),
        "",
    ]
    for name, rows in b.items():
        lines += [f"#### {name}", "", *summary(rows, "b"), "", *table(rows), ""]
    lines += [
        "### (c) Overload",
        "",
        "| run | window | rate req/s | required | measured | simulated | met |",
        "|---|---|---:|---|---|---|---|",
    ]
    for row in c:
        measured = (
            "—" if "simulated only" in row["window"] else ("overloaded" if row["measured_overloaded"] else "keeps up")
        )
        lines.append(
            f"| {row['run']} | {row['window']} | {row['rate_rps']:g} | {row['required']} | {measured} | "
            f"{'overloaded' if row['simulated_overloaded'] else 'keeps up'} | {'yes' if row['met'] else '**no**'} |"
        )
    lines += [
        "",
        "### Hardware terms against the H200 microbenchmark",
        "",
        *hardware,
        "",
        "### Speed",
        "",
        f"- {timing}",
        "",
    ]
    lines += ["### Runs left out", ""] + [f"- `{f}`: {why}" for f, why in left_out] + ["", MARK_END]
    text = "\n".join(lines)
    print(text)

    if args.write:
        lomo = typical_error(v1_b)
        doc = {
            "coefficients": defaults.model_dump(),
            "expected_error": lomo,
            "fitted_on": [f"{g.name}: {len(g.runs)} runs" for g in groups if g.v1],
            "note": "expected_error: median |error| of each V1 calibration model predicted by coefficients fitted "
            "on the other one (leave-one-model-out, docs/fidelity.md regime b)",
            "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        (REPO / "costmodel" / "data" / "engine" / "default_coefficients.json").write_text(
            json.dumps(doc, indent=2) + "\n"
        )
        _write_profile(sweep, sweep_fit, a.get(sweep.name, []))
        docs = REPO / "docs" / "fidelity.md"
        current = docs.read_text() if docs.is_file() else f"# Fidelity\n\n{MARK_START}\n{MARK_END}\n"
        head, _, rest = current.partition(MARK_START)
        _, _, tail = rest.partition(MARK_END)
        docs.write_text(head + text + tail)
        say(f"wrote {docs}, the default coefficients and the bundled profile's replica model")


def _write_profile(sweep: Group, found: Any, loro: list[WindowError]) -> None:
    profile = bundled_profile("llama-3.1-8b-fp8_1xH100")
    run = sweep.runs[0]
    deployment = Deployment(run.arch, run.gpu, run.tp, run.weight_dtype)
    engine = engine_settings(
        deployment, scheduler="v0", max_num_seqs=1024, max_num_batched_tokens=2048, gpu_memory_utilization=0.95
    )
    by_id = {r.id: r for r in sweep.runs}
    errors = [e for e in found.errors if e.metric in by_id[e.run].scored_metrics(e.window)]
    model = ReplicaModel(
        arch=run.arch,
        gpu=run.gpu,
        tp=1,
        weight_dtype="fp8",
        engine=engine,
        coefficients=found.coefficients,
        estimated=False,
        calibrated_on=[r.source.split("/")[-1] for r in sweep.runs],
        fit=fit_rows(errors),
        expected_error=typical_error(loro, ERROR_METRICS) if loro else typical_error(errors),
        notes=[
            (
                "calibrated by benchmarks/fidelity.py on the 8-point LambdaLabs burst sweep this profile was imported "
                "from (vLLM 0.5.4, V0 scheduler); request lengths of the N ≥ 40 bursts drawn from the 20 listed by "
                "the N = 20 file, scaled to each burst's mean"
            ),
            "expected_error: median |error| leaving each burst out of the fit (docs/fidelity.md regime a)",
            "the KV cache is estimated (the result files do not log it): 0.95 of 79.6 GiB less weights and activations",
        ],
    )
    path = REPO / "costmodel" / "data" / "profiles" / "llama-3.1-8b-fp8_1xH100.json"
    save_profile(profile.model_copy(update={"replica_model": model}), path)


if __name__ == "__main__":
    main()
