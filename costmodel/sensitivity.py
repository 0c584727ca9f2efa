"""How the answer moves with each input: a tornado (one input at a time, ±20 %) and a seeded Monte Carlo over
the measured spreads, filling :class:`costmodel.results.Sensitivity`.

Both run an **evaluator**, ``Callable[[SensitivityInputs], Outcome]``: given prices and measured figures it
returns the break-even rate and the monthly cost gap (serverless minus dedicated) at the user's mean rate.
The default, :func:`analytic_outcome`, is the steady-state model, vectorised over arrays of inputs:

- dedicated fleet: ``replicas = max(min_replicas, ceil(user_rps ÷ replica_capacity_rps))`` always on;
- cold-start overhead: each replica is (re)started ``starts_per_month`` times (deploys, restarts, node
  moves; 30 by default) and every start bills ``cold_start_s`` with no capacity, so the effective hourly
  price is ``gpu_hourly_usd × (1 + starts_per_month × cold_start_s ÷ (730 × 3600))``. Idle time inside the
  last replica is already in the ``ceil``;
- break-even: :func:`costmodel.breakeven.capacity_breakeven` at the effective price (closed form when the
  capacity is ``inf``, i.e. unknown: one instance carries any rate).

A replay-based evaluator (autoscaling, real arrival pattern) can be passed for the tornado; the Monte Carlo
takes its own evaluator (default analytic) because it evaluates thousands of draws at once. A non-vectorised
evaluator can be lifted with :func:`per_sample`.

The Monte Carlo draws each varied input from a :class:`Spread` (uniform, triangular, or resampled measured
values), with a ``numpy.random.Generator`` passed in. Spreads for the usual sources:
:func:`price_spread` (between conflicting catalog entries, else ±x %), :func:`cold_start_spread` (the
profile's restart samples, else ±20 % of its best estimate) and :func:`capacity_spread` (capacity re-fitted
at p50 and p99: the latency percentiles' spread turned into a capacity spread).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from breakeven.errors import InputError, ModelError
from breakeven.plausibility import require_memory
from costmodel.capacity import FitDefaults, fit_replica_service
from costmodel.profiles.schema import Profile
from costmodel.results import HOURS_PER_MONTH, Band, Sensitivity, Slo, TornadoBar

FloatArray = npt.NDArray[np.float64]
FloatLike = float | FloatArray

SECONDS_PER_MONTH: Final = HOURS_PER_MONTH * 3600.0


@dataclass(frozen=True)
class SensitivityInputs:
    """Everything the answer depends on. Each number may be a scalar or an array of Monte Carlo draws."""

    gpu_hourly_usd: FloatLike
    """Instance price [USD / hour]."""
    input_usd_per_mtok: FloatLike
    """Serverless input price [USD / 1M tokens]."""
    output_usd_per_mtok: FloatLike
    """Serverless output price [USD / 1M tokens]."""
    input_tokens: FloatLike
    """Input tokens per request."""
    output_tokens: FloatLike
    """Output tokens per request."""
    replica_capacity_rps: FloatLike = math.inf
    """One replica's SLO capacity [req/s]; ``inf`` = unknown (one instance carries any rate: closed form)."""
    cold_start_s: FloatLike = 0.0
    """Launch to first token of a replica [s]."""
    user_rps: float = 0.0
    """The user's mean request rate [req/s], where the monthly gap is taken."""
    starts_per_month: float = 30.0
    """Replica (re)starts per month billed as cold starts (analytic evaluator)."""
    min_replicas: int = 1
    """Replicas kept running at any rate."""
    cached_input_share: FloatLike = 0.0
    """Share of serverless input tokens billed as cached (the provider's prompt cache, 0–1)."""
    cached_input_discount: FloatLike = 0.0
    """Fraction taken off the input price for cached tokens (0–1)."""
    cache_write_extra: FloatLike = 0.0
    """Extra input price paid for cache writes, as a share of all input: write share × (write premium − 1)."""

    def replace(self, **changes: FloatLike) -> SensitivityInputs:
        """A copy with some inputs changed."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Outcome:
    """What an evaluator returns (arrays, one entry per draw; length 1 for a single evaluation)."""

    breakeven_rps: FloatArray
    """Rate above which dedicated stays cheaper [req/s]; ``inf`` = never."""
    monthly_gap_usd: FloatArray
    """Serverless minus dedicated monthly cost at the user's rate [USD]; > 0 = dedicated is cheaper."""


Evaluator = Callable[[SensitivityInputs], Outcome]

#: Inputs the tornado varies, with plain-words labels.
TORNADO_PARAMETERS: Final[tuple[tuple[str, str], ...]] = (
    ("gpu_hourly_usd", "GPU price ($/h)"),
    ("input_usd_per_mtok", "serverless input price ($/1M tokens)"),
    ("output_usd_per_mtok", "serverless output price ($/1M tokens)"),
    ("replica_capacity_rps", "replica capacity (req/s; TPOT and TTFT)"),
    ("cold_start_s", "cold start (s)"),
    ("output_tokens", "output tokens per request"),
    ("input_tokens", "input tokens per request"),
    ("cached_input_share", "share of serverless input billed as cached"),
)


def _arr(value: FloatLike) -> FloatArray:
    return np.atleast_1d(np.asarray(value, dtype=np.float64))


def effective_hourly_usd(inputs: SensitivityInputs) -> FloatArray:
    """GPU price with the cold-start overhead [USD / hour]:
    ``gpu_hourly_usd × (1 + starts_per_month × cold_start_s ÷ seconds per month)``."""
    overhead = inputs.starts_per_month * _arr(inputs.cold_start_s) / SECONDS_PER_MONTH
    return _arr(inputs.gpu_hourly_usd) * (1.0 + overhead)


def effective_input_factor(inputs: SensitivityInputs) -> FloatArray:
    """What a serverless input token costs relative to the input price, prompt cache included:
    ``1 − cached_input_share × cached_input_discount + cache_write_extra``."""
    return 1.0 - _arr(inputs.cached_input_share) * _arr(inputs.cached_input_discount) + _arr(inputs.cache_write_extra)


def prompt_cache_spreads(
    *, share: float, upper_share: float | None, discount: float | None, price_id: str
) -> list[Spread]:
    """Monte Carlo spreads for the serverless prompt cache: the cached share between 0 (no hit served:
    providers do not guarantee hits) and the infinite-cache share of the trace (mode: the replayed share),
    and, when the provider's cached price is unknown, the discount over the range providers publish
    (0–90 %: Groq 50 %, OpenAI 50–90 %, Anthropic 90 %)."""
    spreads: list[Spread] = []
    high = max(upper_share or 0.0, share)
    if high > 0:
        spreads.append(
            Spread(
                "cached_input_share",
                f"input billed as cached ({price_id}): 0–{high:.0%} (no hit … every repeat served), "
                f"{share:.0%} as replayed",
                "triangular",
                low=0.0,
                mode=share,
                high=high,
            )
        )
        if discount is None:
            spreads.append(
                Spread(
                    "cached_input_discount",
                    f"cached-input discount of {price_id} unknown: 0–90 % (published discounts: Groq 50 %, "
                    "OpenAI 50–90 %, Anthropic 90 %)",
                    "uniform",
                    low=0.0,
                    mode=0.0,
                    high=0.9,
                )
            )
    return spreads


def analytic_outcome(inputs: SensitivityInputs) -> Outcome:
    """The steady-state evaluator (see the module docstring); vectorised over array inputs."""
    hourly = effective_hourly_usd(inputs)
    per_request = (
        _arr(inputs.input_tokens) * _arr(inputs.input_usd_per_mtok) * effective_input_factor(inputs)
        + _arr(inputs.output_tokens) * _arr(inputs.output_usd_per_mtok)
    ) / 1e6
    cap = _arr(inputs.replica_capacity_rps)
    hourly, per_request, cap = np.broadcast_arrays(hourly, per_request, cap)
    with np.errstate(divide="ignore", invalid="ignore"):
        r_c = np.where(per_request > 0, hourly / (3600.0 * per_request), np.inf)
        # m = ceil(cap / (cap − r_c)) − 1 replicas at the last crossing (costmodel.breakeven.capacity_breakeven)
        m = np.maximum(np.ceil(cap / (cap - r_c) - 1e-9) - 1.0, 1.0)
        breakeven = np.where(np.isinf(cap), r_c, np.where(cap > r_c, m * r_c, np.inf))
        breakeven = np.where(np.isfinite(r_c), breakeven, np.inf)
        user = float(inputs.user_rps)
        replicas = np.where(
            cap > 0, np.maximum(np.ceil(user / cap - 1e-12), float(inputs.min_replicas)), np.inf if user > 0 else 1.0
        )
    serverless = user * SECONDS_PER_MONTH * per_request
    dedicated = replicas * hourly * HOURS_PER_MONTH
    return Outcome(breakeven_rps=breakeven, monthly_gap_usd=serverless - dedicated)


def per_sample(evaluate: Evaluator) -> Evaluator:
    """Lift an evaluator that only takes scalar inputs to arrays of draws (one call per draw)."""

    def lifted(inputs: SensitivityInputs) -> Outcome:
        fields = {f.name: getattr(inputs, f.name) for f in dataclasses.fields(inputs)}
        arrays = {k: _arr(v) for k, v in fields.items() if not isinstance(v, int | float)}
        n = max((len(v) for v in arrays.values()), default=1)
        be = np.empty(n)
        gap = np.empty(n)
        for i in range(n):  # one evaluation per Monte Carlo draw, not per request
            scalar = inputs.replace(**{k: float(v[i] if len(v) > 1 else v[0]) for k, v in arrays.items()})
            out = evaluate(scalar)
            be[i], gap[i] = float(out.breakeven_rps[0]), float(out.monthly_gap_usd[0])
        return Outcome(breakeven_rps=be, monthly_gap_usd=gap)

    return lifted


# ----------------------------------------------------------------------------------------------- tornado


def _finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def tornado(
    inputs: SensitivityInputs, *, delta: float = 0.2, evaluate: Evaluator = analytic_outcome
) -> list[TornadoBar]:
    """One bar per input of :data:`TORNADO_PARAMETERS`, each moved by ±``delta`` alone; widest first
    (by the swing of the monthly gap, then of the break-even rate). Unknown (infinite) inputs are skipped."""
    if not 0 < delta < 1:
        raise InputError(f"delta: expected a fraction between 0 and 1 (0.2 = ±20 %), found {delta!r}")
    bars: list[tuple[float, float, TornadoBar]] = []
    for name, label in TORNADO_PARAMETERS:
        base = float(_arr(getattr(inputs, name))[0])
        no_cache = name == "cached_input_share" and base * float(_arr(inputs.cached_input_discount)[0]) == 0
        if not math.isfinite(base) or no_cache:
            continue  # unknown, or no prompt cache in the bill
        low, high = base * (1.0 - delta), base * (1.0 + delta)
        out_low = evaluate(inputs.replace(**{name: low}))
        out_high = evaluate(inputs.replace(**{name: high}))
        be_low, be_high = float(out_low.breakeven_rps[0]), float(out_high.breakeven_rps[0])
        gap_low, gap_high = float(out_low.monthly_gap_usd[0]), float(out_high.monthly_gap_usd[0])
        bar = TornadoBar(
            parameter=name,
            label=label,
            base_value=base,
            low_value=low,
            high_value=high,
            breakeven_rps_low=_finite_or_none(be_low),
            breakeven_rps_high=_finite_or_none(be_high),
            monthly_gap_usd_low=gap_low,
            monthly_gap_usd_high=gap_high,
        )
        be_swing = abs(be_high - be_low) if math.isfinite(be_high - be_low) else math.inf
        bars.append((abs(gap_high - gap_low), be_swing, bar))
    bars.sort(key=lambda item: (item[0], item[1]), reverse=True)
    return [bar for _, _, bar in bars]


# ------------------------------------------------------------------------------------------- Monte Carlo


@dataclass(frozen=True)
class Spread:
    """How one input of :class:`SensitivityInputs` is drawn in the Monte Carlo."""

    parameter: str
    """Field of :class:`SensitivityInputs` drawn."""
    description: str
    """Plain words for the report, e.g. 'GPU price: $1.88–$1.99/h (conflicting catalog entries)'."""
    kind: Literal["uniform", "triangular", "samples"]
    low: float = 0.0
    mode: float = 0.0
    high: float = 0.0
    values: tuple[float, ...] = ()
    """Measured values resampled with replacement (``kind='samples'``)."""

    def draw(self, rng: np.random.Generator, n: int) -> FloatArray:
        """``n`` draws."""
        if self.kind == "samples":
            return rng.choice(np.asarray(self.values, dtype=np.float64), size=n, replace=True)
        if self.high <= self.low:
            return np.full(n, self.low)
        if self.kind == "uniform":
            return rng.uniform(self.low, self.high, size=n)
        return rng.triangular(self.low, min(max(self.mode, self.low), self.high), self.high, size=n)


def relative_spread(parameter: str, base: float, fraction: float, description: str) -> Spread:
    """Uniform ±``fraction`` around ``base``."""
    return Spread(
        parameter,
        f"{description}: ±{fraction:.0%} around {base:.4g}",
        "uniform",
        low=base * (1 - fraction),
        mode=base,
        high=base * (1 + fraction),
    )


def price_spread(parameter: str, values: Sequence[float], *, fraction: float = 0.1, description: str) -> Spread:
    """A price between conflicting catalog entries (uniform over their range), or ±``fraction`` of one."""
    distinct = sorted({float(v) for v in values})
    if not distinct:
        raise InputError(f"{parameter}: expected at least one price, found none")
    if len(distinct) == 1:
        return relative_spread(parameter, distinct[0], fraction, description)
    return Spread(
        parameter,
        f"{description}: {distinct[0]:.4g}–{distinct[-1]:.4g} (conflicting catalog entries)",
        "uniform",
        low=distinct[0],
        mode=float(np.median(distinct)),
        high=distinct[-1],
    )


def cold_start_spread(profile: Profile, *, fraction: float = 0.2) -> Spread | None:
    """The profile's cold-start samples (resampled), else ±``fraction`` of its best estimate; None if unknown."""
    cold = profile.cold_start
    if cold is None:
        return None
    if len(cold.samples_s) >= 2:
        lo, hi = min(cold.samples_s), max(cold.samples_s)
        return Spread(
            "cold_start_s",
            f"cold start: {len(cold.samples_s)} measured restarts, {lo:.1f}–{hi:.1f} s",
            "samples",
            values=tuple(float(x) for x in cold.samples_s),
        )
    best = cold.best_total_s()
    return None if best is None else relative_spread("cold_start_s", best, fraction, "cold start (s)")


def capacity_spread(
    profile: Profile, slo: Slo, input_tokens: float, output_tokens: float, *, defaults: FitDefaults | None = None
) -> Spread:
    """Replica capacity drawn between the capacity planned at p99 latencies (low), at the SLO's percentile
    (mode) and at p50 (high): the measured latency spread turned into a capacity spread (triangular)."""
    caps = {
        pct: fit_replica_service(profile, slo.model_copy(update={"percentile": pct}), defaults=defaults)
        .capacity(input_tokens, output_tokens)
        .rps
        for pct in ("p99", slo.percentile, "p50")
    }
    low, mode, high = sorted([caps["p99"], caps[slo.percentile], caps["p50"]])
    return Spread(
        "replica_capacity_rps",
        f"replica capacity: {low:.3g}–{high:.3g} req/s (latency planned at p99 … p50; {mode:.3g} at {slo.percentile})",
        "triangular",
        low=low,
        mode=caps[slo.percentile],
        high=high,
    )


def _band(values: FloatArray) -> Band:
    if values.size == 0:
        return Band(p10=None, p50=None, p90=None)
    q = np.quantile(values, [0.1, 0.5, 0.9], method="inverted_cdf")
    return Band(p10=_finite_or_none(q[0]), p50=_finite_or_none(q[1]), p90=_finite_or_none(q[2]))


def _check_inputs(inputs: SensitivityInputs, spreads: Sequence[Spread], samples: int) -> None:
    """Refuse negative, NaN or out-of-range inputs, a capacity of 0, too many draws and unknown spreads."""
    for f in dataclasses.fields(inputs):
        value = np.asarray(getattr(inputs, f.name), dtype=np.float64)
        allowed_inf = f.name == "replica_capacity_rps"
        if np.isnan(value).any() or (value < 0).any() or (not allowed_inf and np.isinf(value).any()):
            raise InputError(f"{f.name}: expected non-negative finite numbers, found {getattr(inputs, f.name)!r}")
        if f.name in ("cached_input_share", "cached_input_discount") and (value > 1).any():
            raise InputError(f"{f.name}: expected a share between 0 and 1, found {getattr(inputs, f.name)!r}")
    if float(_arr(inputs.replica_capacity_rps)[0]) <= 0:
        raise ModelError("sensitivity: the replica capacity is 0 (SLO unreachable): no dedicated option to vary")
    check_samples(samples)
    names = {f.name for f in dataclasses.fields(inputs)}
    for spread in spreads:
        if spread.parameter not in names:
            raise InputError(f"spread {spread.description!r}: unknown parameter {spread.parameter!r}")


def _dedicated_monthly(drawn: SensitivityInputs, grid: FloatArray, samples: int, *, min_replicas: int) -> FloatArray:
    """Monthly cost of the steady fleet at each rate of ``grid`` for each draw (``samples`` × rates; ``inf``
    where a draw's capacity is 0 and the rate positive)."""
    hourly = effective_hourly_usd(drawn)
    cap = _arr(drawn.replica_capacity_rps)
    hourly, cap = (np.broadcast_to(a, (samples,)) for a in (hourly, cap))
    with np.errstate(divide="ignore", invalid="ignore"):
        replicas = np.maximum(np.ceil(grid[None, :] / cap[:, None] - 1e-12), float(min_replicas))
        replicas = np.where(cap[:, None] > 0, replicas, np.where(grid[None, :] > 0, np.inf, 1.0))
    return np.asarray(replicas * hourly[:, None] * HOURS_PER_MONTH, dtype=np.float64)


#: Memory one Monte Carlo draw costs, estimated: every parameter's draw, the outcome, and the dedicated
#: monthly-cost band over its 50-point rate grid (a float64 each, with temporaries).
BYTES_PER_SAMPLE = 2048


def check_samples(samples: int, *, where: str = "samples") -> None:
    """Refuse a negative count, or more Monte Carlo draws than the memory budget holds (before any work)."""
    if samples < 0:
        raise InputError(f"{where}: expected a non-negative count, found {samples}")
    require_memory(samples * BYTES_PER_SAMPLE, where=where, what=f"a Monte Carlo of {samples:,} draws")


def sensitivity_analysis(
    inputs: SensitivityInputs,
    *,
    spreads: Sequence[Spread] = (),
    rng: np.random.Generator,
    seed: int = 0,
    delta: float = 0.2,
    samples: int = 2000,
    evaluate: Evaluator = analytic_outcome,
    mc_evaluate: Evaluator = analytic_outcome,
    rps_grid: Sequence[float] | None = None,
) -> Sensitivity:
    """The tornado (with ``evaluate``) and the Monte Carlo (``samples`` draws of ``spreads`` from ``rng``,
    evaluated by ``mc_evaluate``) around ``inputs``.

    ``seed`` is recorded in the result: pass the seed ``rng`` was built from. The monthly saving is that of
    the option cheaper at the base inputs over the other (negative in draws where the choice would lose).
    The dedicated monthly-cost band over ``rps_grid`` (default: 0 … 2× the larger of the user's rate and the
    break-even, 50 points) uses the analytic fleet model whatever the evaluators.
    Raises :class:`ModelError` when the base capacity is 0 (no dedicated option to compare).
    """
    _check_inputs(inputs, spreads, samples)
    base = evaluate(inputs)
    base_be = float(base.breakeven_rps[0])
    base_gap = float(base.monthly_gap_usd[0])
    bars = tornado(inputs, delta=delta, evaluate=evaluate)

    top = max(2.0 * inputs.user_rps, 2.0 * base_be if math.isfinite(base_be) else 0.0, 1.0)
    grid = np.asarray(rps_grid if rps_grid is not None else np.linspace(0.0, top, 50), dtype=np.float64)
    result = Sensitivity(
        delta=delta,
        base_breakeven_rps=_finite_or_none(base_be),
        base_monthly_gap_usd=base_gap,
        tornado=bars,
        samples=samples,
        seed=seed,
        cost_band_rps=[float(x) for x in grid],
        varied=[s.description for s in spreads],
    )
    if samples == 0 or not spreads:  # no Monte Carlo: no band to draw either
        return result.model_copy(update={"samples": 0, "cost_band_rps": []})

    draws = {s.parameter: s.draw(rng, samples) for s in spreads}
    drawn = inputs.replace(**draws)
    out = mc_evaluate(drawn)
    saving = out.monthly_gap_usd if base_gap > 0 else -out.monthly_gap_usd
    monthly = _dedicated_monthly(drawn, grid, samples, min_replicas=inputs.min_replicas)
    unserved = ~np.isfinite(monthly).all(axis=1)
    varied = list(result.varied)
    if unserved.any():
        varied.append(
            f"{unserved.mean():.1%} of draws left no replica meeting the SLO (excluded from the dedicated cost band)"
        )
    kept = monthly[~unserved]
    q = (
        np.quantile(kept, [0.1, 0.5, 0.9], axis=0, method="inverted_cdf")
        if len(kept)
        else np.full((3, len(grid)), np.nan)
    )
    return result.model_copy(
        update={
            "varied": varied,
            "breakeven_rps": _band(out.breakeven_rps),
            "monthly_saving_usd": _band(saving),
            "dedicated_monthly_p10": [float(x) for x in q[0]] if len(kept) else [],
            "dedicated_monthly_p50": [float(x) for x in q[1]] if len(kept) else [],
            "dedicated_monthly_p90": [float(x) for x in q[2]] if len(kept) else [],
        }
    )
