"""Fit the step-time coefficients by replaying measured runs in the simulator.

The objective is the squared log-error of each steady window's mean TTFT, mean TPOT and mean end-to-end
latency (and, for a burst, its throughput) — every run and window weighted alike — plus a weak prior that
pulls each fitted coefficient towards its starting value (a factor of 10 away costs as much as one window
missed by 25 %): a coefficient the runs cannot tell apart stays where the prior put it instead of wandering.

The fit is Levenberg–Marquardt on the logarithms of the coefficients. Each iteration simulates every run
once; the Jacobian comes from that simulation with its schedule held fixed: every step's duration is a known
function of the coefficients (:meth:`StepCost.time`), a request's first-token and finish times are sums of
the durations of the steps from the one running when they arrived, so their derivatives are sums too. A
proposed step is kept only when the re-simulated objective (schedule free to change) improves.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np

from breakeven.errors import InputError
from costmodel.engine.results import SimResult
from costmodel.engine.runs import MeasuredRun, Window, predict, replay
from costmodel.engine.steptime import Coefficients, Deployment, StepCost
from costmodel.engine.workload import FloatArray

Fitted = Literal[
    "bandwidth_efficiency",
    "kv_bandwidth_efficiency",
    "compute_efficiency",
    "step_overhead_us",
    "seq_overhead_us",
    "layer_overhead_us",
    "api_overhead_ms",
    "allreduce_latency_us",
]
#: Fitted by default. The layer overhead and the p-norm exponent come from the H200 microbenchmark (the
#: vLLM runs cannot separate a per-layer cost from a per-step one); the all-reduce latency from NCCL's.
DEFAULT_FITTED: Final[tuple[Fitted, ...]] = (
    "bandwidth_efficiency",
    "kv_bandwidth_efficiency",
    "compute_efficiency",
    "step_overhead_us",
    "seq_overhead_us",
    "api_overhead_ms",
)
_FIT_METRICS: Final = ("ttft_mean_ms", "tpot_mean_ms", "e2e_mean_s")
_PRIOR_SIGMA: Final = math.log(10.0)
_ROBUST: Final = 0.25
"""Scale of the robust loss on log-errors: a window missed by more than ~25 % counts less than
quadratically (Cauchy loss), so one window near its tipping point cannot drag every coefficient."""
_BOUNDS: Final[dict[str, tuple[float, float]]] = {
    "bandwidth_efficiency": (0.2, 1.2),
    "kv_bandwidth_efficiency": (0.2, 1.2),
    "compute_efficiency": (0.1, 1.2),
    "step_overhead_us": (1.0, 50_000.0),
    "seq_overhead_us": (0.01, 1_000.0),
    "layer_overhead_us": (0.01, 1_000.0),
    "api_overhead_ms": (0.01, 1_000.0),
    "allreduce_latency_us": (0.1, 1_000.0),
}


def cost_for(run: MeasuredRun, coefficients: Coefficients) -> StepCost:
    """The step-time model of the deployment ``run`` was measured on."""
    return StepCost(Deployment(run.arch, run.gpu, run.tp, run.weight_dtype), coefficients)


@dataclass(frozen=True)
class WindowError:
    """Predicted against measured for one window of one run."""

    run: str
    group: str
    window: str
    metric: str
    measured: float
    predicted: float | None

    @property
    def error(self) -> float | None:
        """(predicted − measured) ÷ measured."""
        if self.predicted is None or not math.isfinite(self.predicted) or self.measured == 0:
            return None
        return (self.predicted - self.measured) / self.measured


@dataclass(frozen=True)
class FitResult:
    """Coefficients found, the error table of the runs fitted, and how the fit went."""

    coefficients: Coefficients
    fitted: tuple[str, ...]
    errors: tuple[WindowError, ...]
    objective: float
    iterations: int
    evaluations: int


def score(runs: Sequence[MeasuredRun], coefficients: Coefficients) -> list[WindowError]:
    """Replay ``runs`` under ``coefficients``: predicted against measured for every measured figure."""
    rows: list[WindowError] = []
    for run in runs:
        sim = replay(run, cost_for(run, coefficients))
        rows += _rows(run, sim)
    return rows


def _rows(run: MeasuredRun, sim: SimResult) -> list[WindowError]:
    rows = []
    for window in run.windows:
        pred = predict(run, sim, window)
        for metric, measured in window.measured.items():
            if measured is not None and math.isfinite(measured) and measured > 0:
                rows.append(WindowError(run.id, run.group, window.name, metric, measured, pred.get(metric)))
    return rows


# --------------------------------------------------------------------------------------------- the fit


@dataclass
class _Eval:
    theta: FloatArray
    residuals: FloatArray
    jacobian: FloatArray
    objective: float


def fit(
    runs: Sequence[MeasuredRun],
    *,
    start: Coefficients | None = None,
    fitted: Sequence[Fitted] = DEFAULT_FITTED,
    max_iterations: int = 12,
    progress: Callable[[str], None] | None = None,
) -> FitResult:
    """Coefficients that make the simulator reproduce ``runs`` (see the module docstring).

    Raises :class:`InputError` when no run has a steady, measured window to fit.
    """
    start = start or Coefficients()
    names = tuple(fitted)
    usable = [r for r in runs if any(_fit_targets(r, w) for w in r.windows)]
    if not usable:
        raise InputError(
            "calibration: no measured run has a window with TTFT, TPOT or end-to-end latency to fit; "
            f"given {len(runs)} run(s)"
        )
    lo = np.log([_BOUNDS[n][0] for n in names])
    hi = np.log([_BOUNDS[n][1] for n in names])
    theta0 = np.clip(np.log(np.array([max(getattr(start, n), _BOUNDS[n][0]) for n in names])), lo, hi)
    say = progress or (lambda _msg: None)

    def coefficients(theta: FloatArray) -> Coefficients:
        return start.model_copy(update={n: float(math.exp(t)) for n, t in zip(names, theta, strict=True)})

    evaluations = 0

    def evaluate(theta: FloatArray) -> _Eval:
        nonlocal evaluations
        evaluations += 1
        c = coefficients(theta)
        res: list[float] = []
        jac: list[FloatArray] = []
        for run in usable:
            cost = cost_for(run, c)
            sim = replay(run, cost)
            r, j = _residuals(run, sim, cost, names)
            res += r
            jac += j
        data = np.array(res)
        data_jac = np.array(jac).reshape(-1, len(names))
        bad = ~np.isfinite(data)
        data[bad] = 5.0  # a window the simulation could not finish counts as a large miss
        data_jac[bad] = 0.0
        # Cauchy loss by iteratively reweighted least squares: weight = 1 / sqrt(1 + (r / c)²).
        weight = 1.0 / np.sqrt(1.0 + (data / _ROBUST) ** 2)
        loss = float(np.sum(_ROBUST**2 * np.log1p((data / _ROBUST) ** 2)))
        prior = _ROBUST * (theta - theta0) / _PRIOR_SIGMA
        res_arr = np.concatenate([data * weight, prior])
        jac_arr = np.vstack([data_jac * weight[:, None], _ROBUST * np.eye(len(names)) / _PRIOR_SIGMA])
        return _Eval(theta, res_arr, jac_arr, loss + float(prior @ prior))

    current, iterations = _levenberg_marquardt(evaluate, theta0, lo, hi, max_iterations=max_iterations, say=say)
    best = coefficients(current.theta)
    return FitResult(
        coefficients=best,
        fitted=names,
        errors=tuple(score(usable, best)),
        objective=current.objective,
        iterations=iterations,
        evaluations=evaluations,
    )


def _levenberg_marquardt(
    evaluate: Callable[[FloatArray], _Eval],
    theta0: FloatArray,
    lo: FloatArray,
    hi: FloatArray,
    *,
    max_iterations: int,
    say: Callable[[str], None],
) -> tuple[_Eval, int]:
    """Damped Gauss-Newton steps from ``theta0`` within [lo, hi] until the objective stops falling (relative
    gain below 1e-4) or no damping in six finds a lower one. Returns the best point and the iterations run."""
    current = evaluate(theta0)
    damping = 1e-2
    iterations = 0
    for iterations in range(1, max_iterations + 1):
        say(f"iteration {iterations}: objective {current.objective:.4f}")
        j, r = current.jacobian, current.residuals
        jtj = j.T @ j
        grad = j.T @ r
        improved = False
        gain = 0.0
        for _ in range(6):
            step = np.linalg.solve(jtj + damping * np.diag(np.diag(jtj) + 1e-9), -grad)
            step = np.clip(step, -1.0, 1.0)  # at most a factor e per iteration
            trial = evaluate(np.clip(current.theta + step, lo, hi))
            if trial.objective < current.objective:
                gain = (current.objective - trial.objective) / max(current.objective, 1e-12)
                current = trial
                damping = max(damping / 3, 1e-6)
                improved = True
                break
            damping *= 4
        if not improved or gain < 1e-4:
            break
    return current, iterations


def _fit_targets(run: MeasuredRun, window: Window) -> list[str]:
    if window.overloaded:  # its latencies are its queue (see MeasuredRun.scored_metrics)
        return []
    metrics = [*_FIT_METRICS, *(("throughput_rps",) if run.kind == "burst" else ())]
    return [m for m in metrics if (window.measured.get(m) or 0) > 0]


def _step_derivatives(sim: SimResult, cost: StepCost, names: Sequence[str]) -> FloatArray:
    """d step duration / d log(coefficient), one column per fitted coefficient [s]."""
    c = cost.coefficients
    raw = cost.raw(sim.step_shapes)
    p = c.overlap_exponent

    def shares(mem: FloatArray, comp: FloatArray) -> tuple[FloatArray, FloatArray]:
        """d‖m, c‖p / d log(efficiency) for the memory and the compute term."""
        hi = np.maximum(np.maximum(mem, comp), 1e-300)
        total = hi * ((mem / hi) ** p + (comp / hi) ** p) ** (1 / p)
        return -mem * (mem / total) ** (p - 1), -comp * (comp / total) ** (p - 1)

    d_w, d_gemm = shares(raw.weights_s / c.bandwidth_efficiency, raw.gemm_s / c.compute_efficiency)
    d_kv, d_attn = shares(raw.kv_s / c.kv_bandwidth_efficiency, raw.attention_s / c.compute_efficiency)
    n = len(raw.rows)
    layers = cost.deployment.arch.layers
    cols = {
        "bandwidth_efficiency": d_w,
        "kv_bandwidth_efficiency": d_kv,
        "compute_efficiency": d_gemm + d_attn,
        "step_overhead_us": np.full(n, c.step_overhead_us * 1e-6),
        "seq_overhead_us": c.seq_overhead_us * 1e-6 * raw.rows,
        "layer_overhead_us": np.full(n, layers * c.layer_overhead_us * 1e-6),
        "allreduce_latency_us": np.full(
            n, (2 * layers if cost.deployment.tp > 1 else 0) * c.allreduce_latency_us * 1e-6
        ),
        "api_overhead_ms": np.zeros(n),
    }
    return np.column_stack([cols[n] for n in names])


def _residuals(
    run: MeasuredRun, sim: SimResult, cost: StepCost, names: Sequence[str]
) -> tuple[list[float], list[FloatArray]]:
    """log(predicted ÷ measured) of every fitted figure, and its gradient in log-coefficients."""
    if not len(sim.step_s):
        return [], []
    # A request's latency is the sum of the steps from the one running when it arrived to the one that
    # gave its token: with the schedule held, its derivative is the same sum of per-step derivatives.
    cum = np.vstack([np.zeros(len(names)), np.cumsum(_step_derivatives(sim, cost, names), axis=0)])
    arrived = np.searchsorted(sim.step_end_s, run.workload.arrival_s, side="right")
    alpha = np.array([cost.coefficients.api_overhead_ms / 1000.0 if n == "api_overhead_ms" else 0.0 for n in names])
    done = sim.finished
    d_first = np.zeros((len(done), len(names)))
    d_finish = np.zeros((len(done), len(names)))
    d_first[done] = cum[sim.first_step[done] + 1] - cum[arrived[done]]
    d_finish[done] = cum[sim.last_step[done] + 1] - cum[arrived[done]]
    n_out = run.workload.output_tokens.astype(np.float64)
    res: list[float] = []
    jac: list[FloatArray] = []
    a = run.workload.arrival_s
    for window in run.windows:
        pred = predict(run, sim, window)
        sel = (a >= window.start_s) & (a < window.end_s) & done
        for metric in _fit_targets(run, window):
            measured = float(window.measured[metric] or 0)
            value = pred.get(metric)
            if value is None or not math.isfinite(value) or value <= 0 or not sel.any():
                res.append(math.nan)
                jac.append(np.zeros(len(names)))
                continue
            if metric == "ttft_mean_ms":
                grad = (d_first[sel].mean(axis=0) + alpha) * 1000
            elif metric == "e2e_mean_s":
                grad = d_finish[sel].mean(axis=0) + alpha
            elif metric == "tpot_mean_ms":
                multi = sel & (n_out > 1)
                grad = ((d_finish[multi] - d_first[multi]) / (n_out[multi, None] - 1)).mean(axis=0) * 1000
            else:  # burst throughput = N / last finish
                last = int(np.argmax(np.where(sel, sim.finish_s, -np.inf)))
                grad = -value * d_finish[last] / max(float(sim.finish_s[last]), 1e-9)
            res.append(math.log(value / measured))
            jac.append(grad / value)
    return res, jac
