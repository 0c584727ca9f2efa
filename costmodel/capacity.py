"""Capacity of one replica: fit the latency model of :mod:`costmodel.service` to a profile's warm points.

The model (see :mod:`costmodel.service`)::

    tpot_ms(b)       = tpot_base_ms + tpot_per_seq_ms × b
    ttft_ms(n_in, b) = ttft_base_ms + prefill_ms_per_token × n_in + ttft_per_seq_ms × b

is fitted twice, to the same points: once to the **means** (the parameters of :class:`ReplicaService`, which
the replay uses) and once to the **planning percentile** of the SLO (p90 by default), which decides how many
requests a replica may run at once.

How each measured point becomes a row of the fit:

- **Batch** ``b`` of a point is the mean number of requests in the server during the run, by Little's law:
  ``b = completed req/s × mean end-to-end latency [s]``. This one definition serves points measured at a
  fixed request rate (the offered rate is used when the completed rate is missing), closed-loop concurrency
  points (where it comes out at about the offered concurrency) and burst sweeps. When the point lacks the
  figures, ``b`` is the offered concurrency. ``b`` is never below 1.
- **Burst sweeps.** ``vllm bench serve`` without ``--request-rate`` sends all N prompts at t = 0 (the 2024
  LambdaLabs sweeps). Their mean concurrency is well below N (a tail of long answers) and their TTFT is
  mostly queueing behind the other N − 1 prefills. We do *not* correct for that: the TTFT contention term
  ``ttft_per_seq_ms`` is fitted to the burst TTFTs as measured, which over-states the TTFT of a steady
  stream at the same mean concurrency, so capacities are on the safe side. A warning says so whenever a
  point's mean concurrency is below 80 % of its offered concurrency.
- **TPOT** is the per-request time per output token (``tpot_ms``). When a point has none, the pooled
  inter-token latency (``itl_ms``) stands in, with a warning (ITL is per streamed chunk and over-states the
  per-token time when chunks carry several tokens); failing that, ``b × 1000 / output_tok_s``.
- **Percentiles.** :meth:`Stat.at` gives the planning percentile, falling back to the next higher one that
  was measured (p90 → p99; conservative) or, when none is higher, the next lower (optimistic); each fallback
  is reported.
- **Invalid points** (``valid = False``: runs that failed part-way) are skipped and listed in a warning.

The fit is ``scipy.optimize.lsq_linear`` with every parameter bounded to ≥ 0 and each row divided by its
measured value, so that it minimises *relative* error (a 1,000-request burst would otherwise outweigh the
low-load points that decide the SLO). A parameter the points cannot identify is not fitted but set from
:class:`FitDefaults`, with a warning:

- the TPOT and TTFT slopes need two batch levels at least 1.5× apart (one level: TPOT grows by
  ``tpot_growth_per_seq`` of its base per extra request, and TTFT contention equals the TPOT slope — a new
  request waits about one decode step);
- the prefill term needs inputs spanning at least 2× over three or more points (otherwise
  ``prefill_ms_per_token = tpot_base_ms ÷ prefill_tokens_per_decode_step``).

Capacity for an input/output mix (:meth:`CapacityFit.capacity`): the largest batch ``slots`` at which the
planning-percentile TTFT and TPOT still meet the SLO (both lines are linear in ``b``, so this is solved
exactly), capped by the KV cache (``kv_cache_tokens ÷ (n_in + n_out)``) when its size is known and by the
engine's ``max_num_seqs``; then Little's law at the mean latencies: ``rps = slots ÷ service_s(slots)``.
When no batch meets the SLO, the capacity is 0 and ``binding`` says which target failed: the report shows
that as "SLO unreachable", it is not an error.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Final, Literal, Protocol

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field
from scipy.optimize import lsq_linear

from breakeven.errors import InputError
from costmodel.profiles.schema import Profile, Stat, WarmPoint
from costmodel.results import Slo
from costmodel.service import LatencyLines, ReplicaService

Percentile = Literal["mean", "p50", "p90", "p99"]
Binding = Literal["ttft", "tpot", "kv", "none"]

_ORDER: Final[tuple[Percentile, ...]] = ("mean", "p50", "p90", "p99")
_BURST_SHARE: Final = 0.8
"""A point is a burst when its mean concurrency is below this share of its offered concurrency."""


@dataclass(frozen=True)
class FitDefaults:
    """Values used where the measured points cannot identify a parameter. Each is a stated assumption."""

    tpot_growth_per_seq: float = 0.0106
    """Relative TPOT growth per extra request in the batch. From the 8-point Llama-3.1-8B-FP8 1×H100 sweep:
    median TPOT ≈ 5.33 ms + 0.0567 ms × batch, i.e. +1.06 % of the base per request."""
    prefill_tokens_per_decode_step: float = 175.0
    """Prompt tokens prefilled in the time of one batch-1 decode step. From the same sweep: its p99 TTFT
    is the prefill of every prompt of the burst, ≈ 0.031 ms per input token (≈ 32 k tokens/s), against a
    5.35 ms decode step."""
    max_num_seqs: int = 256
    """Upper bound on the batch when the profile's settings do not give ``max_num_seqs`` (vLLM's default)."""
    min_batch_spread: float = 1.5
    """Slopes are fitted only when the largest measured batch is at least this multiple of the smallest."""
    min_input_spread: float = 2.0
    """The prefill term is fitted only when measured mean inputs span at least this ratio (3+ points)."""
    extrapolation_factor: float = 1.5
    """Asking for a batch or input length beyond this multiple of the largest measured one is flagged."""
    output_extrapolation_factor: float = 2.0
    """Same for output length (it only stretches the decode time, so it is allowed further)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PointFit(_Frozen):
    """How well the fitted model reproduces one measured point, at the planning percentile."""

    source: str | None = Field(description="File / record the point came from.")
    concurrency: float | None = Field(description="Offered concurrency, if the point was run at one.")
    request_rate: float | None = Field(description="Offered request rate [req/s], if the point was run at one.")
    batch: float = Field(description="Mean requests in the server (Little's law) used as the batch b.")
    burst: bool = Field(description="True when the client sent a burst (mean concurrency ≪ offered).")
    input_tokens: float | None = Field(description="Mean input tokens of the point.")
    output_tokens: float | None = Field(description="Mean output tokens of the point.")
    percentile: str = Field(description="Statistic compared (the planning percentile, or its fallback).")
    ttft_measured_ms: float = Field(description="Measured TTFT at that statistic [ms].")
    ttft_predicted_ms: float = Field(description="Model TTFT at the point's batch and input [ms].")
    ttft_rel_error: float = Field(description="(predicted − measured) ÷ measured.")
    tpot_measured_ms: float = Field(description="Measured TPOT at that statistic [ms].")
    tpot_predicted_ms: float = Field(description="Model TPOT at the point's batch [ms].")
    tpot_rel_error: float = Field(description="(predicted − measured) ÷ measured.")
    tpot_source: Literal["tpot", "itl", "throughput"] = Field(description="What stood in for TPOT.")


class MeasuredRange(_Frozen):
    """The span of the measured points: predictions outside it are extrapolation."""

    points: int = Field(description="Valid points fitted.")
    skipped: int = Field(description="Invalid points skipped.")
    batch_min: float = Field(description="Smallest mean concurrency measured.")
    batch_max: float = Field(description="Largest mean concurrency measured.")
    input_tokens_min: float | None = Field(description="Smallest mean input tokens of a point.")
    input_tokens_max: float | None = Field(description="Largest mean input tokens of a point.")
    output_tokens_min: float | None = Field(description="Smallest mean output tokens of a point.")
    output_tokens_max: float | None = Field(description="Largest mean output tokens of a point.")


class Capacity(_Frozen):
    """What one replica sustains for one input/output mix under the SLO."""

    input_tokens: float = Field(description="Input tokens per request.")
    output_tokens: float = Field(description="Output tokens per request.")
    rps: float = Field(ge=0, description="Highest sustainable request rate meeting the SLO [req/s]; 0 = unreachable.")
    slots: int = Field(ge=0, description="Requests served at once at that rate.")
    binding: Binding = Field(description="What limits the batch: ttft, tpot, kv cache, or none (engine limit).")
    extrapolated: bool = Field(description="True when the answer lies outside the measured range.")
    ttft_ms: float | None = Field(description="Planning-percentile TTFT at the chosen batch [ms].")
    tpot_ms: float | None = Field(description="Planning-percentile TPOT at the chosen batch [ms].")
    service_s: float | None = Field(description="Mean time a request holds its slot at that batch [s].")
    warnings: tuple[str, ...] = Field(default=(), description="Extrapolation and unreachable-SLO explanations.")

    @property
    def reachable(self) -> bool:
        """False when no batch meets the SLO for this mix."""
        return self.slots > 0


class ReplicaCapacity(Protocol):
    """What the cost model asks of a replica model: its SLO capacity and service model for a request mix.

    Two implement it: :class:`CapacityFit` (the linear fit of a profile's warm points) and
    :class:`costmodel.engine.capacity.SimulatedCapacity` (the replica simulator).
    """

    @property
    def profile_id(self) -> str:
        """The profile it models."""
        ...

    @property
    def slo(self) -> Slo:
        """The SLO capacity is planned under."""
        ...

    @property
    def warnings(self) -> tuple[str, ...]:
        """Caveats that apply to every mix."""
        ...

    def capacity(self, input_tokens: float, output_tokens: float) -> Capacity:
        """Highest request rate one replica sustains for this mix while meeting the SLO."""
        ...

    def service_for(self, input_tokens: float, output_tokens: float) -> ReplicaService:
        """The fleet replay's latency model for this mix."""
        ...


def _max_batch_under(base: float, slope: float, target: float) -> float:
    """Largest b ≥ 1 with ``base + slope × b ≤ target`` (inf when the slope is 0; 0 when b = 1 fails)."""
    if base + slope * 1.0 > target:
        return 0.0
    if slope <= 0.0:
        return math.inf
    return (target - base) / slope


@dataclass(frozen=True)
class CapacityFit:
    """The latency model fitted to one profile under one SLO, and the capacity it implies.

    ``mean`` parameterises :class:`ReplicaService` (replay); ``planning`` is the same model fitted to the SLO
    percentile (the planning percentile TTFT/TPOT used for slots is ``max(mean, planning)`` at every batch).
    """

    profile_id: str
    slo: Slo
    mean: LatencyLines
    planning: LatencyLines
    kv_cache_tokens: int | None
    max_batch: int
    points: tuple[PointFit, ...]
    measured: MeasuredRange
    reference_input_tokens: float
    reference_output_tokens: float
    warnings: tuple[str, ...] = ()
    defaults: FitDefaults = field(default_factory=FitDefaults)

    # ------------------------------------------------------------------ planning-percentile latencies

    def ttft_planning_ms(self, input_tokens: float, batch: float) -> float:
        """Planning-percentile TTFT (never below the mean) at an input length and batch [ms]."""
        return float(max(self.mean.ttft_ms(input_tokens, batch), self.planning.ttft_ms(input_tokens, batch)))

    def tpot_planning_ms(self, batch: float) -> float:
        """Planning-percentile TPOT (never below the mean) at a batch [ms]."""
        return float(max(self.mean.tpot_ms(batch), self.planning.tpot_ms(batch)))

    # ------------------------------------------------------------------------------------ capacity

    def capacity(self, input_tokens: float, output_tokens: float) -> Capacity:
        """Highest request rate one replica sustains for this mix while meeting the SLO [req/s].

        See the module docstring for the method. Never raises for an unreachable SLO: the result then has
        ``rps = 0``, ``slots = 0`` and ``binding`` naming the target that fails at batch 1.
        """
        n_in, n_out = _check_tokens(input_tokens, output_tokens)
        binding, slots = self._batch_limit(n_in, n_out)
        notes = self._extrapolation_notes(n_in, n_out)
        extrapolated = bool(notes)
        reachable = slots > 0
        if not reachable:
            notes.insert(0, self._unreachable(n_in, n_out, binding))
        elif slots > self.defaults.extrapolation_factor * self.measured.batch_max:
            extrapolated = True
            notes.append(
                f"capacity runs {slots:,} requests at once; the largest measured mean concurrency was "
                f"{self.measured.batch_max:,.1f}: extrapolating the latency lines"
            )
        service_s = float(self._service(slots).service_s(n_in, n_out, slots)) if reachable else None
        return Capacity(
            input_tokens=n_in,
            output_tokens=n_out,
            rps=slots / service_s if service_s is not None else 0.0,
            slots=slots if reachable else 0,
            binding=binding,
            extrapolated=extrapolated,
            ttft_ms=self.ttft_planning_ms(n_in, slots) if reachable else None,
            tpot_ms=self.tpot_planning_ms(slots) if reachable else None,
            service_s=service_s,
            warnings=tuple(notes),
        )

    def _batch_limit(self, n_in: float, n_out: float) -> tuple[Binding, int]:
        """The largest batch meeting both targets at the mean and the planning percentile, capped by the KV
        cache and the engine; and what binds it."""
        slo = self.slo
        limits: dict[Binding, float] = {}
        fixed_ttft = self.mean.ttft_base_ms + self.mean.prefill_ms_per_token * n_in
        fixed_ttft_p = self.planning.ttft_base_ms + self.planning.prefill_ms_per_token * n_in
        limits["ttft"] = min(
            _max_batch_under(fixed_ttft, self.mean.ttft_per_seq_ms, slo.ttft_ms),
            _max_batch_under(fixed_ttft_p, self.planning.ttft_per_seq_ms, slo.ttft_ms),
        )
        limits["tpot"] = min(
            _max_batch_under(self.mean.tpot_base_ms, self.mean.tpot_per_seq_ms, slo.tpot_ms),
            _max_batch_under(self.planning.tpot_base_ms, self.planning.tpot_per_seq_ms, slo.tpot_ms),
        )
        if self.kv_cache_tokens is not None:
            limits["kv"] = float(self.kv_cache_tokens // max(n_in + n_out, 1.0))
        limits["none"] = float(self.max_batch)
        binding: Binding = min(limits, key=limits.__getitem__)  # first of equals: ttft, tpot, kv, none
        return binding, math.floor(limits[binding] + 1e-9)

    def _extrapolation_notes(self, n_in: float, n_out: float) -> list[str]:
        """Input and output lengths beyond the measured ones (prefill and decode times extrapolated)."""
        span = self.measured
        notes = []
        if span.input_tokens_max is not None and n_in > self.defaults.extrapolation_factor * span.input_tokens_max:
            notes.append(
                f"asked for {n_in:,.0f} input tokens; measured inputs were "
                f"{span.input_tokens_min:,.0f}–{span.input_tokens_max:,.0f} tokens: extrapolating the prefill time"
            )
        if span.output_tokens_max is not None and n_out > self.defaults.output_extrapolation_factor * (
            span.output_tokens_max
        ):
            notes.append(
                f"asked for {n_out:,.0f} output tokens; measured outputs were "
                f"{span.output_tokens_min:,.0f}–{span.output_tokens_max:,.0f} tokens: extrapolating"
            )
        return notes

    def _unreachable(self, n_in: float, n_out: float, binding: Binding) -> str:
        """Why no batch meets the SLO, in words."""
        slo = self.slo
        why = {
            "ttft": f"{slo.percentile} TTFT at batch 1 is {self.ttft_planning_ms(n_in, 1):,.0f} ms "
            f"> {slo.ttft_ms:,.0f} ms target",
            "tpot": f"{slo.percentile} TPOT at batch 1 is {self.tpot_planning_ms(1):,.1f} ms "
            f"> {slo.tpot_ms:,.0f} ms target",
            "kv": f"one request of {n_in + n_out:,.0f} tokens does not fit the "
            f"{self.kv_cache_tokens or 0:,} token KV cache",
            "none": "the engine allows no request",
        }[binding]
        return f"SLO unreachable for {n_in:,.0f} in / {n_out:,.0f} out tokens: {why}"

    # ------------------------------------------------------------------------------------ services

    def _service(self, slots: int, input_tokens: float | None = None) -> ReplicaService:
        m = self.mean
        n_in = self.reference_input_tokens if input_tokens is None else input_tokens
        b = max(slots, 1)
        ttft_mean = float(m.ttft_ms(n_in, b))
        tpot_mean = float(m.tpot_ms(b))
        return ReplicaService(
            **asdict(m),
            slots=slots,
            ttft_p_factor=max(1.0, self.ttft_planning_ms(n_in, b) / ttft_mean) if ttft_mean > 0 else 1.0,
            tpot_p_factor=max(1.0, self.tpot_planning_ms(b) / tpot_mean) if tpot_mean > 0 else 1.0,
            kv_cache_tokens=self.kv_cache_tokens,
        )

    def service_for(self, input_tokens: float, output_tokens: float) -> ReplicaService:
        """The replica's :class:`ReplicaService` for a request mix: mean parameters, the SLO slots for that
        mix, and percentile factors matched at that batch (``slots = 0`` when the SLO is unreachable)."""
        cap = self.capacity(input_tokens, output_tokens)
        return self._service(cap.slots, input_tokens)

    @property
    def service(self) -> ReplicaService:
        """:meth:`service_for` at the measured mix (mean input and output tokens of the points)."""
        return self.service_for(self.reference_input_tokens, self.reference_output_tokens)


# ---------------------------------------------------------------------------------------------- fitting


@dataclass(frozen=True)
class _Row:
    point: WarmPoint
    batch: float
    burst: bool
    n_in: float | None
    n_out: float | None
    ttft_mean: float
    ttft_p: float
    ttft_p_name: str
    ttft_mean_name: str
    tpot_mean: float
    tpot_p: float
    tpot_p_name: str
    tpot_mean_name: str
    tpot_source: Literal["tpot", "itl", "throughput"]


def _stat_value(stat: Stat, want: Percentile) -> tuple[float, str] | None:
    """The statistic asked for, else the nearest higher, else the nearest lower; with the name used."""
    start = _ORDER.index(want)
    for name in [*_ORDER[start:], *reversed(_ORDER[:start])]:
        value = getattr(stat, name)
        if value is not None:
            return float(value), name
    return None


def _point_batch(p: WarmPoint) -> float | None:
    e2e = _stat_value(p.e2e_ms, "mean") if p.e2e_ms is not None else None
    rate = p.request_s if p.request_s else p.request_rate
    if e2e is not None and rate:
        return max(rate * e2e[0] / 1000.0, 1.0)
    if p.concurrency is not None:
        return max(p.concurrency, 1.0)
    return None


def _tpot_stat(p: WarmPoint, batch: float) -> tuple[Stat, Literal["tpot", "itl", "throughput"]] | None:
    """The statistic standing for per-token decode time: TPOT, else ITL, else derived from throughput."""
    if p.tpot_ms is not None and _stat_value(p.tpot_ms, "mean") is not None:
        return p.tpot_ms, "tpot"
    if p.itl_ms is not None and _stat_value(p.itl_ms, "mean") is not None:
        return p.itl_ms, "itl"
    if p.output_tok_s:
        return Stat(mean=batch * 1000.0 / p.output_tok_s), "throughput"
    return None


def _row(p: WarmPoint, want: Percentile, label: str) -> _Row | str:
    """A fit row from a point, or the reason it cannot be used."""
    batch = _point_batch(p)
    if batch is None:
        return f"{label}: no concurrency, and no request rate with end-to-end latency to derive it"
    ttft_mean = _stat_value(p.ttft_ms, "mean") if p.ttft_ms is not None else None
    ttft_p = _stat_value(p.ttft_ms, want) if p.ttft_ms is not None else None
    if ttft_mean is None or ttft_p is None:
        return f"{label}: no TTFT"
    decode = _tpot_stat(p, batch)
    if decode is None:
        return f"{label}: no TPOT, ITL or output throughput"
    tpot_stat, tpot_source = decode
    tpot_mean = _stat_value(tpot_stat, "mean")
    tpot_p = _stat_value(tpot_stat, want)
    if tpot_mean is None or tpot_p is None:  # cannot happen: _tpot_stat checked a value exists
        return f"{label}: no TPOT"
    if min(ttft_mean[0], tpot_mean[0], ttft_p[0], tpot_p[0]) <= 0:
        return f"{label}: zero TTFT or TPOT (a failed run?)"
    burst = p.concurrency is not None and batch < _BURST_SHARE * p.concurrency
    return _Row(
        point=p,
        batch=batch,
        burst=burst,
        n_in=p.input_tokens_mean,
        n_out=p.output_tokens_mean,
        ttft_mean=ttft_mean[0],
        ttft_p=ttft_p[0],
        ttft_p_name=ttft_p[1],
        ttft_mean_name=ttft_mean[1],
        tpot_mean=tpot_mean[0],
        tpot_p=tpot_p[0],
        tpot_p_name=tpot_p[1],
        tpot_mean_name=tpot_mean[1],
        tpot_source=tpot_source,
    )


def _nonneg_relative_lstsq(
    design: npt.NDArray[np.float64], target: npt.NDArray[np.float64], measured: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Non-negative least squares on ``design @ x ≈ target``, each row divided by its measured value so
    that the fit minimises relative error (``target`` may be the measurement minus a fixed term)."""
    weights = 1.0 / measured
    result = lsq_linear(design * weights[:, None], target * weights, bounds=(0.0, np.inf), method="bvls")
    return np.asarray(result.x, dtype=np.float64)


def _fit_tpot(
    batch: npt.NDArray[np.float64], y: npt.NDArray[np.float64], *, slopes: bool, growth: float
) -> tuple[float, float]:
    """(base, per-seq slope) of TPOT [ms]."""
    if slopes:
        base, slope = _nonneg_relative_lstsq(np.column_stack([np.ones_like(batch), batch]), y, y)
        return float(base), float(slope)
    # One batch level: y = base × (1 + growth × b)  →  base = y / (1 + growth × b), averaged over the points.
    base = float(np.mean(y / (1.0 + growth * batch)))
    return base, base * growth


def _fit_ttft(
    batch: npt.NDArray[np.float64],
    n_in: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    *,
    slopes: bool,
    prefill: float | None,
    default_contention: float,
) -> tuple[float, float, float]:
    """(base, prefill per input token, contention per seq) of TTFT [ms].

    ``prefill=None`` fits the prefill term; otherwise it is held at the given value. Without ``slopes`` the
    contention is held at ``default_contention``.
    """
    ones = np.ones_like(batch)
    fixed = (0.0 if prefill is None else prefill * n_in) + (0.0 if slopes else default_contention * batch)
    cols = [ones]
    if prefill is None:
        cols.append(n_in)
    if slopes:
        cols.append(batch)
    coef = [float(c) for c in _nonneg_relative_lstsq(np.column_stack(cols), y - fixed, y)]
    base = coef.pop(0)
    pre = coef.pop(0) if prefill is None else prefill
    contention = coef.pop(0) if slopes else default_contention
    return base, pre, contention


def fit_replica_service(
    profile: Profile,
    slo: Slo | None = None,
    *,
    defaults: FitDefaults | None = None,
) -> CapacityFit:
    """Fit the replica latency model to ``profile``'s valid warm points under ``slo`` (see module docstring).

    Raises :class:`InputError` when the profile is a serverless one or has no usable warm point.
    """
    slo = slo or Slo()
    defaults = defaults or FitDefaults()
    if profile.kind != "dedicated":
        raise InputError(
            f"profile {profile.id!r}: capacity needs a dedicated deployment profile; found kind {profile.kind!r}"
        )
    rows, skipped, warnings = _usable_rows(profile, slo.percentile)
    batch = np.array([r.batch for r in rows])
    slopes = len(rows) >= 2 and batch.max() >= defaults.min_batch_spread * batch.min()
    inputs_known = [r.n_in for r in rows if r.n_in is not None]
    fit_prefill = (
        len(inputs_known) == len(rows)
        and len(rows) >= 3
        and min(inputs_known) > 0
        and max(inputs_known) >= defaults.min_input_spread * min(inputs_known)
    )
    mean, planning = _fit_lines(rows, slo.percentile, defaults, slopes=slopes, fit_prefill=fit_prefill)
    if not slopes:
        warnings.append(
            f"only one load level measured (mean concurrency {batch.min():,.1f}): TPOT is assumed to grow by "
            f"{defaults.tpot_growth_per_seq:.2%} per extra request and TTFT contention to equal that slope; "
            "capacity at higher load is an estimate, not a measurement"
        )
    if not fit_prefill:
        warnings.append(
            "measured inputs do not vary enough to fit the prefill time: assumed "
            f"{mean.prefill_ms_per_token:.4f} ms per input token "
            f"(a batch-1 decode step ÷ {defaults.prefill_tokens_per_decode_step:g})"
        )
    if len(inputs_known) < len(rows):
        warnings.append(
            "input tokens of the measured points are unknown: the TTFT base includes their prefill, and "
            "longer inputs add the assumed prefill time on top"
        )
    bursts = [r for r in rows if r.burst]
    if bursts:
        warnings.append(
            f"{len(bursts)} point(s) were a burst (all requests sent at once; mean concurrency well below the "
            "offered one): their TTFT is mostly queueing behind the burst, so the fitted TTFT contention is "
            "pessimistic for steady traffic"
        )
    _fallback_warnings(rows, slo.percentile, warnings)
    kv_tokens = _kv_cache_tokens(profile, warnings)
    outs = [r.n_out for r in rows if r.n_out is not None]
    return CapacityFit(
        profile_id=profile.id,
        slo=slo,
        mean=mean,
        planning=planning,
        kv_cache_tokens=kv_tokens,
        max_batch=_max_num_seqs(profile, defaults),
        points=tuple(_point_fit(r, mean, planning, slo.percentile) for r in rows),
        measured=MeasuredRange(
            points=len(rows),
            skipped=skipped,
            batch_min=float(batch.min()),
            batch_max=float(batch.max()),
            input_tokens_min=min(inputs_known) if inputs_known else None,
            input_tokens_max=max(inputs_known) if inputs_known else None,
            output_tokens_min=min(outs) if outs else None,
            output_tokens_max=max(outs) if outs else None,
        ),
        reference_input_tokens=float(np.mean(inputs_known)) if inputs_known else 0.0,
        reference_output_tokens=float(np.mean(outs)) if outs else 1.0,
        warnings=tuple(warnings),
        defaults=defaults,
    )


def _usable_rows(profile: Profile, want: Percentile) -> tuple[list[_Row], int, list[str]]:
    """The fit rows of the profile's valid points, how many invalid points were skipped, and what was skipped
    and why (:class:`InputError` when no point is usable)."""
    warnings: list[str] = []
    skipped = [p for p in profile.warm if not p.valid]
    rows: list[_Row] = []
    unusable: list[str] = []
    for index, point in enumerate(profile.warm):
        if not point.valid:
            continue
        row = _row(point, want, point.source or f"warm[{index}]")
        if isinstance(row, str):
            unusable.append(row)
        else:
            rows.append(row)
    if skipped:
        levels = ", ".join(_level(p) for p in skipped)
        warnings.append(f"skipped {len(skipped)} invalid point(s) (runs that failed part-way): {levels}")
    if unusable:
        warnings.append("skipped unusable point(s): " + "; ".join(unusable))
    if not rows:
        raise InputError(
            f"profile {profile.id!r}: no usable warm point; expected at least one valid point with TTFT and TPOT "
            f"(or ITL / output throughput), found {len(profile.warm)} point(s), {len(skipped)} invalid"
        )
    return rows, len(skipped), warnings


def _fit_lines(
    rows: Sequence[_Row], want: Percentile, defaults: FitDefaults, *, slopes: bool, fit_prefill: bool
) -> tuple[LatencyLines, LatencyLines]:
    """The latency lines fitted to the means and to the planning percentile (the same lines for 'mean')."""
    batch = np.array([r.batch for r in rows])
    n_in = np.array([r.n_in if r.n_in is not None else 0.0 for r in rows])
    lines: dict[str, LatencyLines] = {}
    for which in ("mean", "planning"):
        tpot_y = np.array([r.tpot_mean if which == "mean" else r.tpot_p for r in rows])
        ttft_y = np.array([r.ttft_mean if which == "mean" else r.ttft_p for r in rows])
        tpot_base, tpot_slope = _fit_tpot(batch, tpot_y, slopes=slopes, growth=defaults.tpot_growth_per_seq)
        prefill: float | None = None  # fitted
        if not fit_prefill:  # the same physical prefill for both fits: the mean's decode step ÷ the default ratio
            mean_base = tpot_base if which == "mean" else lines["mean"].tpot_base_ms
            prefill = mean_base / defaults.prefill_tokens_per_decode_step
        ttft_base, pre, contention = _fit_ttft(
            batch, n_in, ttft_y, slopes=slopes, prefill=prefill, default_contention=tpot_slope
        )
        lines[which] = LatencyLines(tpot_base, tpot_slope, ttft_base, pre, contention)
    return lines["mean"], lines["mean"] if want == "mean" else lines["planning"]


def _kv_cache_tokens(profile: Profile, warnings: list[str]) -> int | None:
    """The KV cache's size in tokens: measured, else the largest concurrency × tokens per request, else
    unknown (with a warning: batches are then not capped by memory)."""
    kv_tokens = profile.kv_cache_tokens
    if kv_tokens is None and profile.max_concurrency is not None:
        kv_tokens = int(profile.max_concurrency.value * profile.max_concurrency.tokens_per_request)
    if kv_tokens is None:
        warnings.append("KV-cache capacity unknown: batches are not capped by memory")
    return kv_tokens


def _level(p: WarmPoint) -> str:
    if p.concurrency is not None:
        return f"concurrency {p.concurrency:g}"
    if p.request_rate is not None:
        return f"rate {p.request_rate:g} req/s"
    return p.source or "?"


def _fallback_warnings(rows: Sequence[_Row], want: Percentile, warnings: list[str]) -> None:
    checks = [
        ("mean", "TTFT", [r.ttft_mean_name for r in rows]),
        ("mean", "TPOT", [r.tpot_mean_name for r in rows]),
    ]
    if want != "mean":
        checks += [(want, "TTFT", [r.ttft_p_name for r in rows]), (want, "TPOT", [r.tpot_p_name for r in rows])]
    for stat, metric, names in checks:
        for name in sorted({n for n in names if n != stat}, key=_ORDER.index):
            side = "conservative" if _ORDER.index(name) > _ORDER.index(stat) else "optimistic"
            if stat == "mean":  # a percentile standing in for the mean is neither side for sure
                side = "an approximation"
            warnings.append(
                f"{stat} {metric} not measured at {names.count(name)} point(s): used {name} instead ({side})"
            )
    itl = sum(r.tpot_source == "itl" for r in rows)
    if itl:
        warnings.append(
            f"TPOT missing at {itl} point(s): used the inter-token latency, which is per streamed chunk and "
            "over-states the per-token time when chunks carry several tokens"
        )
    thr = sum(r.tpot_source == "throughput" for r in rows)
    if thr:
        warnings.append(
            f"TPOT missing at {thr} point(s): derived from output throughput (mean concurrency × 1000 ÷ tok/s); "
            "no spread known, so the planning percentile equals the mean"
        )


def _max_num_seqs(profile: Profile, defaults: FitDefaults) -> int:
    value = profile.settings.get("max_num_seqs")
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 1:
        return int(value)
    return defaults.max_num_seqs


def _point_fit(row: _Row, mean: LatencyLines, planning: LatencyLines, want: Percentile) -> PointFit:
    n_in = row.n_in if row.n_in is not None else 0.0
    ttft_pred = float(max(mean.ttft_ms(n_in, row.batch), planning.ttft_ms(n_in, row.batch)))
    tpot_pred = float(max(mean.tpot_ms(row.batch), planning.tpot_ms(row.batch)))
    p = row.point
    return PointFit(
        source=p.source,
        concurrency=p.concurrency,
        request_rate=p.request_rate,
        batch=row.batch,
        burst=row.burst,
        input_tokens=row.n_in,
        output_tokens=row.n_out,
        percentile=want if row.ttft_p_name == row.tpot_p_name == want else f"{row.ttft_p_name}/{row.tpot_p_name}",
        ttft_measured_ms=row.ttft_p,
        ttft_predicted_ms=ttft_pred,
        ttft_rel_error=(ttft_pred - row.ttft_p) / row.ttft_p,
        tpot_measured_ms=row.tpot_p,
        tpot_predicted_ms=tpot_pred,
        tpot_rel_error=(tpot_pred - row.tpot_p) / row.tpot_p,
        tpot_source=row.tpot_source,
    )


def _check_tokens(input_tokens: float, output_tokens: float) -> tuple[float, float]:
    n_in, n_out = float(input_tokens), float(output_tokens)
    for name, value in (("input_tokens", n_in), ("output_tokens", n_out)):
        if not math.isfinite(value) or value < 0:
            raise InputError(f"{name}: expected a non-negative finite token count, found {value!r}")
    return n_in, max(n_out, 1.0)
