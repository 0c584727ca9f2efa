"""Measured runs, replayable: the requests a real server got, its settings, and what was measured.

A :class:`MeasuredRun` pairs a :class:`~costmodel.engine.workload.Workload` (what to replay) with the
deployment it ran on and one or more scoring :class:`Window` s (what was measured, and over which arrivals).
Three sources:

- **inference-sim replay pairs** (``<exp>.json`` + ``<exp>_ground_truth.json``, the BLIS authors' H100 runs):
  every request with its arrival, prompt length and measured TTFT / E2E; the server settings and the model's
  architecture are in the file. One window per constant-rate stage (``profile.yaml`` beside it, when found).
- **vLLM serving-benchmark JSON** (``vllm bench serve`` / ``benchmark_serving.py``): the request lengths
  when the file lists them (``input_lens`` / ``output_lens``), else its mean lengths; all at t = 0 when the
  request rate was ``inf``, else Poisson arrivals at the recorded rate (seeded). One window.
- **a profile's warm points** (:func:`runs_from_profile`): each point replayed the same way from its mean
  lengths.

Two readings of the inference-sim data, applied to every run alike (``docs/fidelity.md`` shows the
evidence): the server ran with ``ignore_eos`` and a fixed ``output_len``, so every request generated
``output_len`` tokens — the ``output_tokens`` in the replay file are the client re-tokenizing the streamed
text and undercount by up to 90 % for a quarter of the Llama-2 requests, while their end-to-end times match
the full length; and the shared system prompt (``system_prompt_len``) is a prefix-cache hit (prefix caching
was on), so every prompt but its last partial block is passed as ``cached_tokens`` — inference-perf's
``shared_prefix`` generator makes ``num_groups × num_prompts_per_group`` prompts once and cycles through
them (the files hold only 24–35 distinct prompt lengths in 4,800–16,800 requests), and the first time each
is seen falls in the unscored warm-up.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt

from breakeven.errors import InputError
from breakeven.io import read_text
from costmodel.engine.arch import ModelArch
from costmodel.engine.catalog import gpu_spec, model_arch
from costmodel.engine.gpu import GpuSpec
from costmodel.engine.results import SimResult
from costmodel.engine.simulator import EngineLimits, Scheduler, simulate
from costmodel.engine.steptime import Deployment, StepCost
from costmodel.engine.workload import FloatArray, IntArray, Workload, burst, from_arrays, poisson
from costmodel.profiles.importers.vllm_bench import is_vllm_bench_record, point_from_record, records_of
from costmodel.profiles.io import load_profile
from costmodel.profiles.schema import Profile, WarmPoint

#: Requests arriving in the first seconds of a replayed run are simulated but not scored: the Mixtral runs'
#: first requests wait up to 1.8 s for their first token, a warm-up no step model describes.
WARMUP_S: Final = 30.0

Metric = Literal["ttft_mean_ms", "ttft_p99_ms", "tpot_mean_ms", "e2e_mean_s", "throughput_rps"]
METRICS: Final[tuple[Metric, ...]] = ("ttft_mean_ms", "ttft_p99_ms", "tpot_mean_ms", "e2e_mean_s", "throughput_rps")


@dataclass(frozen=True)
class Window:
    """A span of arrivals scored together, and what was measured for them (None = not measured)."""

    name: str
    start_s: float
    end_s: float
    rate_rps: float | None
    measured: dict[str, float | None]
    overloaded: bool
    """True when the measured server fell behind (requests failed, or TTFT grew without bound)."""
    requests: int


@dataclass(frozen=True)
class MeasuredRun:
    """One measured run, ready to replay (see the module docstring)."""

    id: str
    arch: ModelArch
    gpu: GpuSpec
    tp: int
    weight_dtype: str
    limits: EngineLimits
    workload: Workload
    windows: tuple[Window, ...]
    kind: Literal["replay", "burst", "poisson"]
    source: str
    group: str
    """Model × GPU × TP × engine generation: the unit left out in leave-one-model-out."""
    notes: tuple[str, ...] = ()
    measured_ttft_s: FloatArray | None = field(default=None, repr=False)
    measured_e2e_s: FloatArray | None = field(default=None, repr=False)

    @property
    def scored(self) -> tuple[Window, ...]:
        """Windows scored for latency error (the steady ones)."""
        return tuple(w for w in self.windows if not w.overloaded)

    def scored_metrics(self, window_name: str) -> tuple[str, ...]:
        """The figures of a window that are compared: all of a steady one's; none of an overloaded one — its
        latencies are its queue and the client's time-outs (aborted requests also thin its batch, so even its
        TPOT is not a full batch's), judged by whether the simulation overloads too."""
        window = next((w for w in self.windows if w.name == window_name), None)
        return METRICS if window is not None and not window.overloaded else ()


# ------------------------------------------------------------------------------------------ predicting


def predict(run: MeasuredRun, result: SimResult, window: Window) -> dict[str, float | None]:
    """The simulated counterparts of ``window.measured`` from a simulation of ``run``."""
    a = run.workload.arrival_s
    sel = (a >= window.start_s) & (a < window.end_s)
    done = sel & result.finished
    if not done.any():
        return dict.fromkeys(METRICS)
    ttft = result.ttft_s[done]
    out: dict[str, float | None] = {
        "ttft_mean_ms": float(ttft.mean() * 1000),
        "ttft_p99_ms": float(np.percentile(ttft, 99) * 1000),
        "tpot_mean_ms": _nanmean(result.tpot_s[done]) * 1000,
        "e2e_mean_s": float(result.e2e_s[done].mean()),
    }
    if run.kind == "burst":
        out["throughput_rps"] = float(done.sum() / max(float(result.finish_s[done].max()), 1e-9))
    else:
        span = float(a[sel].max()) - window.start_s
        out["throughput_rps"] = float(done.sum() / span) if span > 0 else None
    return out


def _nanmean(values: FloatArray) -> float:
    v = values[np.isfinite(values)]
    return float(v.mean()) if len(v) else math.nan


def replay(run: MeasuredRun, cost: StepCost) -> SimResult:
    """Simulate ``run`` on ``cost`` (a step-time model of the run's deployment)."""
    horizon = None
    if any(w.overloaded for w in run.windows):  # an overloaded server never drains: stop a while after
        horizon = float(run.workload.arrival_s[-1]) + 600.0
    return simulate(run.workload, cost, run.limits, horizon_s=horizon)


# ----------------------------------------------------------------------------------- inference-sim pairs

_MODEL_CONFIG_KEYS: Final = {
    "num_layers": "layers",
    "hidden_dim": "hidden",
    "num_heads": "heads",
    "num_kv_heads": "kv_heads",
    "intermediate_dim": "intermediate",
    "num_local_experts": "experts",
    "num_experts_per_tok": "experts_per_token",
    "vocab_size": "vocab",
}


def _read_json(path: Path) -> Any:
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from exc


def is_inference_sim_replay(obj: Any) -> bool:
    """True for an inference-sim ``replay_data/<exp>.json`` (requests + server config + model config)."""
    return isinstance(obj, dict) and {"requests", "config", "model_config"} <= set(obj)


def _arch_from_replay(cfg: dict[str, Any], short: str, where: str) -> ModelArch:
    raw = {ours: cfg.get(theirs) for theirs, ours in _MODEL_CONFIG_KEYS.items()}
    missing = [k for k, v in raw.items() if not isinstance(v, int)]
    if missing:
        raise InputError(f"{where}: model_config lacks integer {', '.join(missing)}")
    values = {k: int(v) for k, v in raw.items() if isinstance(v, int)}
    try:  # prefer the catalog entry (same shapes, and its id groups runs of one model)
        known = model_arch(short)
        if all(getattr(known, k) == v for k, v in values.items()):
            return known
    except InputError:
        pass
    return ModelArch(id=short, head_dim=values["hidden"] // values["heads"], source=where, **values)


def _profile_yaml(replay_path: Path, experiment: str) -> dict[str, Any]:
    """The inference-perf ``profile.yaml`` (one JSON line) of an experiment, when the folder has it."""
    for parent in (replay_path.parent.parent, replay_path.parent):
        candidate = parent / "default_args" / experiment / "profile.yaml"
        if candidate.is_file():
            doc = _read_json(candidate)
            return doc if isinstance(doc, dict) else {}
    return {}


def load_inference_sim(path: str | Path, *, gpu: str | GpuSpec = "H100-SXM") -> MeasuredRun:
    """A replay pair of the inference-sim calibration data (``<exp>.json`` and ``<exp>_ground_truth.json``).

    The GPU is not in the files: the data set's SOURCES says H100 SXM 80 GB, the default here.
    """
    p = Path(path)
    spec = gpu if isinstance(gpu, GpuSpec) else gpu_spec(gpu)
    doc = _read_json(p)
    if not is_inference_sim_replay(doc):
        raise InputError(f"{p}: not an inference-sim replay file; expected keys requests, config, model_config")
    truth_path = p.with_name(p.stem + "_ground_truth.json")
    truth = _read_json(truth_path) if truth_path.is_file() else None
    cfg = doc["config"]
    experiment = str(doc.get("experiment", p.stem))
    arch = _arch_from_replay(doc["model_config"], str(doc.get("model_short", experiment)), str(p))
    prof = _profile_yaml(p, experiment)
    data = prof.get("data", {}).get("shared_prefix", {}) if isinstance(prof.get("data"), dict) else {}
    server = prof.get("server", {}) if isinstance(prof.get("server"), dict) else {}
    stages = prof.get("load", {}).get("stages", []) if isinstance(prof.get("load"), dict) else []

    reqs = doc["requests"]
    arrival = np.array([r["arrival_time_us"] for r in reqs], dtype=np.float64) / 1e6
    n_in = np.array([r["input_tokens"] for r in reqs], dtype=np.int64)
    error = np.array([bool(r.get("has_error")) for r in reqs])
    n_out, notes = _replay_outputs(reqs, error, data, server)
    cached, cache_notes = _replay_cached(n_in, data)
    workload = from_arrays(arrival, n_in, n_out, cached_tokens=cached, label=experiment)
    block_size = int(cfg.get("block_size", 16))
    deployed = Deployed(
        arch,
        spec,
        tp=int(cfg.get("tensor_parallelism", 1)),
        kv_cache_tokens=int(cfg["kv_blocks_total_gpu"]) * block_size,
        max_num_seqs=int(cfg["max_num_seqs"]),
        max_num_batched_tokens=int(cfg["max_num_batched_tokens"]),
        block_size=block_size,
    )
    ttft = e2e = None
    if isinstance(truth, list) and len(truth) == len(reqs):
        ttft = np.array([_num(t.get("ttft_s")) for t in truth])
        e2e = np.array([_num(t.get("e2e_s")) for t in truth])
        failed = np.array([bool(t.get("has_error")) for t in truth]) | error
        ttft[failed] = np.nan
        e2e[failed] = np.nan
    bounds = _stage_bounds(stages, float(arrival[-1]) if len(arrival) else 0.0)
    windows = tuple(
        _replay_window(
            f"stage {k} ({rate:g} req/s)", lo=lo, hi=hi, rate=rate, arrival=arrival, n_out=n_out, ttft=ttft, e2e=e2e
        )
        for k, (lo, hi, rate) in enumerate(bounds)
    )
    return _measured_on(
        deployed,
        None,
        id=experiment,
        workload=workload,
        windows=windows,
        kind="replay",
        source=str(p),
        notes=(*notes, *cache_notes),
        measured_ttft_s=ttft,
        measured_e2e_s=e2e,
    )


def _replay_outputs(
    reqs: list[dict[str, Any]], error: npt.NDArray[np.bool_], data: dict[str, Any], server: dict[str, Any]
) -> tuple[IntArray, list[str]]:
    """Output lengths to replay: the configured ``output_len`` when the server ignored EOS (the file's counts
    are re-tokenized and fall short of it), else the recorded counts."""
    recorded = np.array([r["output_tokens"] for r in reqs], dtype=np.int64)
    output_len = data.get("output_len")
    if not (server.get("ignore_eos") and isinstance(output_len, int) and output_len > 0):
        return np.maximum(recorded, 1), []
    short = float(np.mean(recorded[~error] < 0.8 * output_len)) if (~error).any() else 0.0
    note = (
        f"ignore_eos with output_len {output_len}: every request generated {output_len} tokens "
        f"(the file's re-tokenized counts are below 80 % of that for {short:.0%} of them)"
    )
    return np.full(len(reqs), output_len, dtype=np.int64), [note]


def _replay_cached(n_in: IntArray, data: dict[str, Any]) -> tuple[IntArray | None, list[str]]:
    """Prompt tokens the prefix cache holds in an inference-perf ``shared_prefix`` run."""
    prompts = int(data.get("num_unique_system_prompts") or 0) * int(data.get("num_users_per_system_prompt") or 0)
    system = int(data.get("system_prompt_len") or 0)
    if prompts:
        # inference-perf's shared_prefix generator makes this many prompts once and cycles through them:
        # with prefix caching on, a prompt seen before is a hit but for its last partial block.
        note = (
            f"{prompts} distinct prompts cycled (inference-perf shared_prefix): each repeat is a prefix-cache hit "
            f"but for its last partial block ({len(np.unique(n_in))} distinct prompt lengths in "
            f"{len(n_in):,} requests)"
        )
        return n_in - 1, [note]
    if system:
        cached = np.minimum(np.full(len(n_in), system, dtype=np.int64), n_in - 1)
        return cached, [f"shared system prompt of {system} tokens served from the prefix cache"]
    return None, []


def _num(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.nan


def _stage_bounds(stages: Sequence[Any], last_arrival: float) -> list[tuple[float, float, float | None]]:
    bounds: list[tuple[float, float, float | None]] = []
    t = 0.0
    for stage in stages:
        if isinstance(stage, dict) and isinstance(stage.get("duration"), int | float):
            rate = stage.get("rate")
            bounds.append((t, t + float(stage["duration"]), float(rate) if isinstance(rate, int | float) else None))
            t += float(stage["duration"])
    if not bounds:
        bounds = [(0.0, last_arrival + 1e-9, None)]
    return [
        (max(lo, WARMUP_S) if k == 0 else lo, hi if k < len(bounds) - 1 else math.inf, r)
        for k, (lo, hi, r) in enumerate(bounds)
    ]


def _replay_window(
    name: str,
    *,
    lo: float,
    hi: float,
    rate: float | None,
    arrival: FloatArray,
    n_out: npt.NDArray[np.int64],
    ttft: FloatArray | None,
    e2e: FloatArray | None,
) -> Window:
    sel = (arrival >= lo) & (arrival < hi)
    end = min(hi, float(arrival[sel].max()) if sel.any() else lo)
    if ttft is None or e2e is None:
        return Window(name, lo, hi, rate, dict.fromkeys(METRICS), overloaded=False, requests=int(sel.sum()))
    ok = sel & np.isfinite(ttft) & np.isfinite(e2e)
    failed = int(sel.sum() - ok.sum())
    measured: dict[str, float | None] = dict.fromkeys(METRICS)
    if ok.any():
        tpot = (e2e[ok] - ttft[ok]) / np.maximum(n_out[ok] - 1, 1)
        measured = {
            "ttft_mean_ms": float(ttft[ok].mean() * 1000),
            "ttft_p99_ms": float(np.percentile(ttft[ok], 99) * 1000),
            "tpot_mean_ms": float(tpot[n_out[ok] > 1].mean() * 1000) if (n_out[ok] > 1).any() else None,
            "e2e_mean_s": float(e2e[ok].mean()),
            "throughput_rps": float(ok.sum() / (end - lo)) if end > lo else None,
        }
    # A server that fails requests, or whose TTFT exceeds a minute, has fallen behind for good.
    overloaded = failed > 0.01 * max(int(sel.sum()), 1) or (measured["ttft_mean_ms"] or 0.0) > 60_000
    return Window(name, lo, hi, rate, measured, overloaded=overloaded, requests=int(sel.sum()))


# --------------------------------------------------------------------------------- vLLM bench / profiles


@dataclass(frozen=True)
class Deployed(Deployment):
    """Where a benchmark file or profile ran (not in those files): the deployment (model, GPU, TP, dtypes)
    and the engine limits."""

    kv_cache_tokens: int | None = None
    max_num_seqs: int = 256
    max_num_batched_tokens: int = 8192
    block_size: int = 16
    scheduler: Scheduler = "v1"

    def limits(self, kv_cache_tokens: int | None) -> EngineLimits:
        """The engine limits, with ``kv_cache_tokens`` (the file's, or estimated) where this states none."""
        mine = {f.name: getattr(self, f.name) for f in fields(EngineLimits)}
        return EngineLimits(**(mine | {"kv_cache_tokens": self.kv_cache_tokens or kv_cache_tokens}))

    @property
    def group(self) -> str:
        """Model × GPU × TP × engine generation."""
        return f"{self.arch.id}|{self.gpu.name}|tp{self.tp}|{self.scheduler}"


def _measured_on(deployed: Deployed, kv_cache_tokens: int | None, **run: Any) -> MeasuredRun:
    """A measured run on ``deployed``: its model, GPU, TP, dtype, engine limits and group, and ``run``'s own
    id, workload, windows, kind, source and notes."""
    return MeasuredRun(
        arch=deployed.arch,
        gpu=deployed.gpu,
        tp=deployed.tp,
        weight_dtype=deployed.weight_dtype,
        limits=deployed.limits(kv_cache_tokens),
        group=deployed.group,
        **run,
    )


def _point_window(point: WarmPoint, n: int, end: float, *, lengths_known: bool) -> Window:
    def stat(s: Any, name: str) -> float | None:
        return None if s is None else getattr(s, name)

    e2e = stat(point.e2e_ms, "mean")
    measured: dict[str, float | None] = {
        "ttft_mean_ms": stat(point.ttft_ms, "mean"),
        "ttft_p99_ms": stat(point.ttft_ms, "p99"),
        "tpot_mean_ms": stat(point.tpot_ms, "mean"),
        "e2e_mean_s": e2e / 1000 if e2e is not None else None,
        # A burst's throughput is set by its longest answers: without the request lengths it cannot be replayed.
        "throughput_rps": point.request_s if lengths_known or point.request_rate is not None else None,
    }
    if not point.valid:  # a run that failed part-way measured nothing we can compare
        measured = dict.fromkeys(METRICS)
    return Window("run", 0.0, end, point.request_rate, measured, overloaded=not point.valid, requests=n)


def run_from_point(
    point: WarmPoint,
    deployed: Deployed,
    kv_cache_tokens: int,
    *,
    lens: tuple[Sequence[int], Sequence[int]] | None = None,
    length_pool: tuple[Sequence[int], Sequence[int]] | None = None,
    id: str,
    source: str,
    seed: int = 0,
) -> MeasuredRun:
    """A measured run from one warm point: a burst of N (rate ``inf``) or Poisson arrivals at its rate.

    Request lengths: ``lens`` when the file listed them; else pairs drawn from ``length_pool`` (e.g. the
    requests of another run of the same sweep) scaled to the point's mean lengths; else the mean lengths.
    """
    known = lens is not None and len(lens[0]) > 0 and len(lens[0]) == len(lens[1])
    if lens is not None and known:
        n_in, n_out = np.asarray(lens[0]), np.asarray(lens[1])
    else:
        if point.input_tokens_mean is None or point.output_tokens_mean is None:
            raise InputError(f"{source}: no request lengths (input_lens/output_lens or mean lengths) to replay")
        n = int(point.requests or point.concurrency or 0)
        if n < 1:
            raise InputError(f"{source}: no request count (completed requests or concurrency) to replay")
        if length_pool is not None and len(length_pool[0]) and len(length_pool[0]) == len(length_pool[1]):
            pick = np.random.default_rng(seed).integers(0, len(length_pool[0]), size=n)
            ins = np.asarray(length_pool[0], dtype=np.float64)[pick]
            outs = np.asarray(length_pool[1], dtype=np.float64)[pick]
            n_in = ins * point.input_tokens_mean / max(float(ins.mean()), 1e-9)
            n_out = outs * point.output_tokens_mean / max(float(outs.mean()), 1e-9)
        else:
            n_in = np.full(n, point.input_tokens_mean)
            n_out = np.full(n, point.output_tokens_mean)
    n = len(n_in)
    if point.request_rate is None:
        workload = burst(n, n_in, n_out, label=id)
        kind: Literal["burst", "poisson"] = "burst"
        end = math.inf
    else:
        rng = np.random.default_rng(seed)
        workload = poisson(point.request_rate, n, 0, 0, rng=rng, label=id)
        workload = from_arrays(workload.arrival_s, n_in, n_out, label=id)
        kind = "poisson"
        end = math.inf
    return _measured_on(
        deployed,
        kv_cache_tokens,
        id=id,
        workload=workload,
        windows=(_point_window(point, n, end, lengths_known=known),),
        kind=kind,
        source=source,
        notes=(point.notes,) if point.notes else (),
    )


def load_vllm_bench(
    path: str | Path,
    deployed: Deployed,
    kv_cache_tokens: int,
    *,
    length_pool: tuple[Sequence[int], Sequence[int]] | None = None,
) -> list[MeasuredRun]:
    """Every result in a vLLM serving-benchmark JSON file (one, a sweep array, or JSON lines).

    ``length_pool``: request lengths to draw from for results that list none (see :func:`run_from_point`).
    """
    p = Path(path)
    text = read_text(p)
    try:
        obj: Any = json.loads(text)
    except json.JSONDecodeError:
        obj = [json.loads(line) for line in text.splitlines() if line.strip()]
    runs = []
    for k, record in enumerate(records_of(obj, where=str(p))):
        if not is_vllm_bench_record(record):
            continue
        point = point_from_record(record, where=f"{p}[{k}]", source=p.name)
        lens = None
        if isinstance(record.get("input_lens"), list) and isinstance(record.get("output_lens"), list):
            errors = record.get("errors") or [""] * len(record["input_lens"])
            ok = [not e for e in errors]
            lens = (
                [x for x, good in zip(record["input_lens"], ok, strict=False) if good],
                [max(int(x), 1) for x, good in zip(record["output_lens"], ok, strict=False) if good],
            )
        runs.append(
            run_from_point(
                point, deployed, kv_cache_tokens, lens=lens, length_pool=length_pool, id=f"{p.stem}", source=str(p)
            )
        )
    if not runs:
        raise InputError(f"{p}: no vLLM serving-benchmark result in it (expected keys completed, duration, ...)")
    return runs


def request_lengths(path: str | Path) -> tuple[list[int], list[int]] | None:
    """The (input, output) lengths a vLLM serving-benchmark file lists for its successful requests, if any."""
    try:
        obj = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    records = obj if isinstance(obj, list) else [obj]
    ins: list[int] = []
    outs: list[int] = []
    for record in records:
        if isinstance(record, dict) and isinstance(record.get("input_lens"), list):
            errors = record.get("errors") or [""] * len(record["input_lens"])
            for n_in, n_out, err in zip(record["input_lens"], record.get("output_lens", []), errors, strict=False):
                if not err:
                    ins.append(int(n_in))
                    outs.append(max(int(n_out), 1))
    return (ins, outs) if ins else None


def runs_from_profile(
    profile: Profile,
    deployed: Deployed,
    kv_cache_tokens: int,
    *,
    length_pool: tuple[Sequence[int], Sequence[int]] | None = None,
) -> list[MeasuredRun]:
    """One run per valid warm point of a profile (bursts, or Poisson at the point's rate; lengths drawn
    from ``length_pool`` scaled to each point's means when given, else the means)."""
    runs = []
    for k, point in enumerate(profile.warm):
        if not point.valid:
            continue
        level = f"c{point.concurrency:g}" if point.concurrency else f"r{point.request_rate:g}"
        runs.append(
            run_from_point(
                point, deployed, kv_cache_tokens, id=f"{profile.id}:{level}", source=point.source or f"warm[{k}]"
            )
        )
    return runs


# -------------------------------------------------------------------------------------- any measured file


def load_measured(
    paths: Sequence[str | Path],
    deployed: Deployed,
    kv_cache_tokens: int,
) -> list[MeasuredRun]:
    """Every measured run in ``paths``, by content: an inference-sim replay pair, a vLLM serving-benchmark
    result, or a profile JSON (its warm points). Benchmark results and profiles without request lengths
    draw them from the other files' listed lengths (scaled to each point's means) when any has them."""
    docs: list[tuple[Path, Any]] = []
    for path in paths:
        p = Path(path)
        docs.append((p, _read_json(p)))
    pool_in: list[int] = []
    pool_out: list[int] = []
    for p, _ in docs:
        found = request_lengths(p)
        if found:
            pool_in += found[0]
            pool_out += found[1]
    pool = (pool_in, pool_out) if pool_in else None
    runs: list[MeasuredRun] = []
    for p, doc in docs:
        if is_inference_sim_replay(doc):
            runs.append(load_inference_sim(p, gpu=deployed.gpu))
        elif isinstance(doc, dict) and str(doc.get("schema", "")).startswith("llm-breakeven/profile/"):
            runs += runs_from_profile(load_profile(p), deployed, kv_cache_tokens, length_pool=pool)
        else:
            runs += load_vllm_bench(p, deployed, kv_cache_tokens, length_pool=pool)
    return runs
