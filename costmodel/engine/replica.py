"""A profile's replica model: build one from the catalogs (estimate) or from measured runs (calibrate).

:class:`~costmodel.profiles.schema.ReplicaModel` is the serialised form (it lives in the profile JSON);
this module turns it into the engine's objects and back:

- :func:`estimate` — a model × GPU nobody measured: the architecture and GPU from the catalogs, the default
  coefficients (fitted across all calibration runs, ``costmodel/data/engine/default_coefficients.json``),
  and the leave-one-model-out error they carry.
- :func:`calibrate` — coefficients fitted by replaying measured runs; with ``cross_validate`` the
  leave-one-run-out error too (one more fit per run).
"""

from __future__ import annotations

import dataclasses
import json
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final, Literal

from breakeven.errors import InputError
from costmodel.engine.arch import ModelArch
from costmodel.engine.calibrate import DEFAULT_FITTED, FitResult, WindowError, fit, score
from costmodel.engine.gpu import GpuSpec
from costmodel.engine.memory import estimate_kv_cache_tokens
from costmodel.engine.runs import Deployed, MeasuredRun
from costmodel.engine.simulator import EngineLimits
from costmodel.engine.steptime import Coefficients, Deployment, StepCost
from costmodel.profiles.schema import EngineSettings, FitRow, ReplicaModel

#: Metrics whose typical error a replica model states.
ERROR_METRICS: Final = ("ttft_mean_ms", "tpot_mean_ms", "e2e_mean_s")


@dataclass(frozen=True)
class Defaults:
    """The default coefficients and what they were fitted on."""

    coefficients: Coefficients
    expected_error: dict[str, float]
    fitted_on: tuple[str, ...]
    note: str


@cache
def default_coefficients() -> Defaults:
    """The bundled default coefficients (``benchmarks/fidelity.py --write-defaults`` writes them)."""
    path = resources.files("costmodel").joinpath("data", "engine") / "default_coefficients.json"
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return Defaults(
        coefficients=Coefficients.model_validate(doc["coefficients"]),
        expected_error={k: float(v) for k, v in doc.get("expected_error", {}).items()},
        fitted_on=tuple(doc.get("fitted_on", ())),
        note=str(doc.get("note", "")),
    )


def deployment_of(model: ReplicaModel) -> Deployment:
    """The engine's view of where the model runs."""
    return Deployment(model.arch, model.gpu, model.tp, model.weight_dtype, model.kv_dtype)


def limits_of(model: ReplicaModel) -> EngineLimits:
    """The engine limits the simulator schedules with."""
    return EngineLimits(**_limit_settings(model.engine))


def _limit_settings(engine: EngineSettings) -> dict[str, Any]:
    """The engine settings that are engine limits (the simulator's fields of the same vLLM names)."""
    return engine.model_dump(include={f.name for f in dataclasses.fields(EngineLimits)})


def cost_of(model: ReplicaModel) -> StepCost:
    """The step-time model."""
    return StepCost(deployment_of(model), model.coefficients)


def engine_settings(
    deployment: Deployment,
    *,
    scheduler: str = "v1",
    max_num_seqs: int = 256,
    max_num_batched_tokens: int = 8192,
    block_size: int = 16,
    kv_cache_tokens: int | None = None,
    gpu_memory_utilization: float = 0.9,
) -> EngineSettings:
    """Engine settings, the KV size estimated from GPU memory when not given."""
    if max_num_batched_tokens < max_num_seqs:
        raise InputError(
            f"--max-num-batched-tokens ({max_num_batched_tokens}) must be at least --max-num-seqs "
            f"({max_num_seqs}), as vLLM requires"
        )
    source: Literal["log", "estimated", "given"] = "given"
    if kv_cache_tokens is None:
        kv_cache_tokens = estimate_kv_cache_tokens(
            deployment, gpu_memory_utilization=gpu_memory_utilization, max_num_batched_tokens=max_num_batched_tokens
        )
        source = "estimated"
    return EngineSettings(
        scheduler="v0" if scheduler == "v0" else "v1",
        max_num_seqs=max_num_seqs,
        max_num_batched_tokens=max_num_batched_tokens,
        block_size=block_size,
        kv_cache_tokens=kv_cache_tokens,
        kv_cache_source=source,
        gpu_memory_utilization=gpu_memory_utilization,
    )


def estimate(deployment: Deployment, engine: EngineSettings) -> ReplicaModel:
    """A replica model from the catalogs and the default coefficients (marked *estimated*)."""
    defaults = default_coefficients()
    fitted_on = ", ".join(defaults.fitted_on) or "the calibration runs"
    notes = [f"estimated: the default coefficients, fitted on {fitted_on}; no run of this deployment was measured"]
    notes.append(defaults.note)
    if engine.kv_cache_source == "estimated":
        notes.append(
            f"KV cache of {engine.kv_cache_tokens:,} tokens estimated from {engine.gpu_memory_utilization:.0%} of "
            f"{deployment.gpu.memory_gib:g} GiB per GPU less the weights and activations"
        )
    return _replica_model(
        deployment,
        engine,
        defaults.coefficients,
        estimated=True,
        expected_error=dict(defaults.expected_error),
        notes=[n for n in notes if n],
    )


def _replica_model(
    deployment: Deployment, engine: EngineSettings, coefficients: Coefficients, **rest: Any
) -> ReplicaModel:
    """A profile's replica model of ``deployment`` (``rest``: how it was obtained and its stated error)."""
    where = {f.name: getattr(deployment, f.name) for f in dataclasses.fields(deployment)}
    return ReplicaModel(**where, engine=engine, coefficients=coefficients, **rest)


def fit_rows(errors: Sequence[WindowError]) -> list[FitRow]:
    """Error-table rows for a profile."""
    return [
        FitRow(run=e.run, window=e.window, metric=e.metric, measured=e.measured, predicted=e.predicted, error=e.error)
        for e in errors
    ]


def typical_error(errors: Sequence[WindowError], metrics: Sequence[str] = ERROR_METRICS) -> dict[str, float]:
    """Median |relative error| by metric (the figure a replica model states as its expected error)."""
    out: dict[str, float] = {}
    for metric in metrics:
        values = [abs(e.error) for e in errors if e.metric == metric and e.error is not None]
        if values:
            out[metric] = float(statistics.median(values))
    return out


def leave_one_run_out(
    runs: Sequence[MeasuredRun], start: Coefficients, *, progress: Callable[[str], None] | None = None
) -> list[WindowError]:
    """Each run predicted by coefficients fitted to the others (runs with steady windows only)."""
    usable = [r for r in runs if any(r.scored_metrics(w.name) for w in r.windows if any(w.measured.values()))]
    if len(usable) < 2:
        return []
    rows: list[WindowError] = []
    for k, held in enumerate(usable):
        if progress:
            progress(f"cross-validating: run {k + 1}/{len(usable)} left out")
        others = [r for r in usable if r is not held]
        found = fit(others, start=start)
        rows += [e for e in score([held], found.coefficients) if _scored(held, e)]
    return rows


def _scored(run: MeasuredRun, error: WindowError) -> bool:
    return error.metric in run.scored_metrics(error.window)


def calibrate(
    runs: Sequence[MeasuredRun],
    *,
    deployment: Deployment,
    engine: EngineSettings,
    start: Coefficients | None = None,
    cross_validate: bool = True,
    progress: Callable[[str], None] | None = None,
) -> tuple[ReplicaModel, FitResult]:
    """Fit the coefficients to ``runs`` (all on ``deployment``) and return the profile's replica model."""
    if not runs:
        raise InputError("calibrate: expected at least one measured run (a benchmark file, replay pair or profile)")
    start = start or default_coefficients().coefficients
    result = fit(runs, start=start, fitted=DEFAULT_FITTED, progress=progress)
    errors = [e for r in runs for e in result.errors if e.run == r.id and _scored(r, e)]
    expected = typical_error(errors)
    notes = [f"fitted to {len(runs)} measured run(s) by replaying them (in-sample error in 'fit')"]
    if cross_validate:
        loro = leave_one_run_out(runs, result.coefficients, progress=progress)
        if loro:
            expected = typical_error(loro)
            notes.append(f"expected_error: median |error| leaving each of {len(runs)} runs out of the fit")
        else:
            notes.append("expected_error: in-sample (one run only: nothing to leave out)")
    model = _replica_model(
        deployment,
        engine,
        result.coefficients,
        estimated=False,
        calibrated_on=sorted({r.source for r in runs}),
        fit=fit_rows(result.errors),
        expected_error=expected,
        notes=notes,
    )
    return model, result


def deployed_of(model_arch: ModelArch, gpu: GpuSpec, engine: EngineSettings, *, tp: int, weight_dtype: str) -> Deployed:
    """What :mod:`costmodel.engine.runs` needs to turn a benchmark file into a replayable run."""
    return Deployed(arch=model_arch, gpu=gpu, tp=tp, weight_dtype=weight_dtype, **_limit_settings(engine))
