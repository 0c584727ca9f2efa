"""Capacity by simulation: the largest steady Poisson rate one replica sustains with the SLO met.

:func:`max_rps` searches the rate: a stream of Poisson arrivals (the same random stream at every rate, so the
answer moves smoothly with it) is simulated, and a rate passes when the server keeps up (not overloaded) and
the SLO percentile of TTFT and of TPOT (over the requests after a 20 % warm-up) meet their targets. The rate
is bracketed from an upper bound (a full batch's decode throughput) and bisected to 2 %.

:class:`SimulatedCapacity` is what ``analyze``, ``table`` and the fleet replay ask: a replica's capacity for
a request mix, and a :class:`~costmodel.service.ReplicaService` — the fleet replay's small latency model —
matched to the simulation: its slots are the mean number of requests in the server at capacity (Little's
law), its TPOT and TTFT lines are fitted to simulated steady runs at 30 %, 60 % and 90 % of capacity, and its
lines are then scaled together so that ``slots ÷ service time`` equals the simulated capacity exactly. The fleet replay
stays fast; the simulator carries the per-replica physics.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from breakeven.errors import InputError
from costmodel.capacity import Binding, Capacity, FitDefaults, ReplicaCapacity, fit_replica_service
from costmodel.engine.replica import cost_of, limits_of
from costmodel.engine.results import SimResult
from costmodel.engine.simulator import EngineLimits, simulate
from costmodel.engine.steptime import Coefficients, StepCost
from costmodel.engine.workload import FloatArray, Workload
from costmodel.profiles.schema import Profile
from costmodel.results import Slo
from costmodel.service import ReplicaService

SEARCH_REQUESTS: Final = 600
"""Fewest requests simulated per trial rate; more when the server can hold many at once (5 × the largest
batch the engine and KV cache allow, up to :data:`MAX_SEARCH_REQUESTS`), so that the run reaches its steady
state well after the warm-up."""
MAX_SEARCH_REQUESTS: Final = 2000
_WARMUP_SHARE: Final = 0.2
_TOLERANCE: Final = 0.02
_SERVICE_LOADS: Final = (0.3, 0.6, 0.9)


@dataclass(frozen=True)
class Trial:
    """One simulated rate."""

    rate_rps: float
    ok: bool
    binding: Binding
    ttft_ms: float
    tpot_ms: float
    ttft_mean_ms: float
    tpot_mean_ms: float
    e2e_mean_s: float
    in_system: float
    """Mean requests in the server (Little's law: rate × mean end-to-end time)."""
    overloaded: bool


@dataclass(frozen=True)
class CapacitySearch:
    """The answer of :func:`max_rps` and the trials behind it."""

    rps: float
    binding: Binding
    trials: tuple[Trial, ...]
    at_capacity: Trial | None

    @property
    def reachable(self) -> bool:
        """False when even a trickle of requests misses the SLO."""
        return self.rps > 0


def _pct(values: FloatArray, percentile: str) -> float:
    v = values[np.isfinite(values)]
    if not len(v):
        return math.inf
    if percentile == "mean":
        return float(v.mean())
    return float(np.percentile(v, float(percentile[1:])))


class _Stream:
    """Requests with fixed lengths and unit-rate gaps: ``at(rate)`` rescales the arrival times."""

    def __init__(
        self, n_in: FloatArray, n_out: FloatArray, *, requests: int, seed: int, cached_share: float = 0.0
    ) -> None:
        rng = np.random.default_rng(seed)
        gaps = rng.exponential(1.0, size=requests)
        self.unit = np.cumsum(gaps) - gaps[0]
        if n_in.size > 1 or n_out.size > 1:
            pick = rng.integers(0, max(n_in.size, n_out.size), size=requests)
            self.n_in = np.maximum(np.rint(n_in[pick % n_in.size]), 1).astype(np.int64)
            self.n_out = np.maximum(np.rint(n_out[pick % n_out.size]), 1).astype(np.int64)
        else:
            self.n_in = np.full(requests, max(round(float(n_in[0])), 1), dtype=np.int64)
            self.n_out = np.full(requests, max(round(float(n_out[0])), 1), dtype=np.int64)
        # A prefix-cache hit rate as each prompt's cached share (at most all but its last token).
        self.cached = np.minimum(np.floor(cached_share * self.n_in), self.n_in - 1).astype(np.int64)

    def at(self, rate: float) -> Workload:
        return Workload(self.unit / rate, self.n_in, self.n_out, self.cached, label=f"poisson({rate:.4g}/s)")


def _judge(sim: SimResult, rate: float, slo: Slo) -> Trial:
    n = len(sim.workload)
    keep = np.arange(n) >= int(_WARMUP_SHARE * n)
    done = keep & sim.finished
    ttft = _pct(sim.ttft_s[done] * 1000, slo.percentile)
    tpot_values = sim.tpot_s[done] * 1000
    tpot = _pct(tpot_values, slo.percentile) if np.isfinite(tpot_values).any() else 0.0
    e2e = float(np.nanmean(sim.e2e_s[done])) if done.any() else math.inf
    overloaded = bool(sim.overloaded)
    binding: Binding = "none"
    ok = not overloaded
    if ttft > slo.ttft_ms:
        ok, binding = False, "ttft"
    elif tpot > slo.tpot_ms:
        ok, binding = False, "tpot"
    elif overloaded:
        binding = "kv" if sim.preemptions.sum() > 0 else "none"
    return Trial(
        rate_rps=rate,
        ok=ok,
        binding=binding,
        ttft_ms=ttft,
        tpot_ms=tpot,
        ttft_mean_ms=float(np.nanmean(sim.ttft_s[done]) * 1000) if done.any() else math.inf,
        tpot_mean_ms=float(np.nanmean(sim.tpot_s[done]) * 1000) if np.isfinite(sim.tpot_s[done]).any() else 0.0,
        e2e_mean_s=e2e,
        in_system=rate * e2e if math.isfinite(e2e) else math.inf,
        overloaded=overloaded,
    )


def _requests_for(limits: EngineLimits, n_in: float, n_out: float) -> int:
    batch = min(limits.max_num_seqs, limits.kv_cache_tokens // max(int(n_in + n_out), 1))
    return int(min(max(5 * batch, SEARCH_REQUESTS), MAX_SEARCH_REQUESTS))


def _upper_bound(cost: StepCost, limits: EngineLimits, n_in: float, n_out: float) -> float:
    """A rate no replica can exceed: a full batch decoding, plus every prompt's prefill [req/s]."""
    batch = max(1, min(limits.max_num_seqs, limits.kv_cache_tokens // max(int(n_in + n_out), 1)))
    step = float(cost.decode_run_s(batch, np.array([batch * (n_in + n_out / 2.0)]))[0])
    prefill = cost.step_s(0, 0.0, prefill_tokens=n_in, prefill_rows=1) - cost.step_s(0, 0.0, prefill_tokens=1)
    per_request = max(n_out - 1, 0) * step / batch + max(prefill, 0.0)
    return 1.0 / max(per_request, 1e-9)


def max_rps(
    cost: StepCost,
    limits: EngineLimits,
    slo: Slo,
    input_tokens: float | Sequence[float] | FloatArray,
    output_tokens: float | Sequence[float] | FloatArray,
    *,
    requests: int | None = None,
    seed: int = 0,
    cached_share: float = 0.0,
) -> CapacitySearch:
    """The largest Poisson rate one replica sustains with ``slo`` met (see the module docstring).

    ``input_tokens`` / ``output_tokens``: one length each, or samples of the mix (drawn with replacement,
    pairwise when both have the same size). ``cached_share``: the share of every prompt its replica's prefix
    cache holds (a routed fleet's hit rate), whose prefill is skipped.
    """
    n_in = np.atleast_1d(np.asarray(input_tokens, dtype=np.float64))
    n_out = np.atleast_1d(np.asarray(output_tokens, dtype=np.float64))
    if not (np.all(np.isfinite(n_in)) and np.all(np.isfinite(n_out))) or n_in.min() < 0 or n_out.min() < 0:
        raise InputError("capacity: token counts must be finite and non-negative")
    if n_in.size > 1 and n_out.size > 1 and n_in.size != n_out.size:
        raise InputError("capacity: input and output samples must have the same size to be drawn in pairs")
    if requests is None:
        requests = _requests_for(limits, float(n_in.mean()), float(n_out.mean()))
    stream = _Stream(n_in, n_out, requests=requests, seed=seed, cached_share=cached_share)
    trials: list[Trial] = []

    patience = 20.0 * slo.ttft_ms / 1000.0  # a queue this old means the rate is too high

    def run(rate: float) -> Trial:
        trial = _judge(simulate(stream.at(rate), cost, limits, give_up_wait_s=patience), rate, slo)
        trials.append(trial)
        return trial

    mean_in, mean_out = float(stream.n_in.mean()), float(stream.n_out.mean())
    ceiling = _upper_bound(cost, limits, mean_in, mean_out)
    trickle = run(ceiling / 200.0)
    if not trickle.ok:
        binding: Binding = trickle.binding if trickle.binding != "none" else "kv"
        return CapacitySearch(0.0, binding, tuple(trials), None)
    lo, hi = trickle, None
    rate = ceiling / 2.0
    while hi is None:  # bracket
        trial = run(rate)
        if trial.ok:
            lo = trial
            if rate >= ceiling * 4:
                break
            rate *= 2.0
        else:
            hi = trial
    while hi is not None and hi.rate_rps / lo.rate_rps > 1 + _TOLERANCE:
        trial = run(math.sqrt(lo.rate_rps * hi.rate_rps))
        if trial.ok:
            lo = trial
        else:
            hi = trial
    return CapacitySearch(lo.rate_rps, hi.binding if hi is not None else "none", tuple(trials), lo)


@dataclass
class SimulatedCapacity:
    """A replica's capacity and service model by simulation, for one profile under one SLO (cached by mix).

    ``input_sample`` / ``output_sample``: the trace's request lengths; a mix asked for at the trace's mean
    lengths is simulated with the trace's own mix, other mixes with the trace's inputs scaled to the asked
    mean and the asked output length. ``expected_error`` is the replica model's stated relative error of
    end-to-end latency (it widens the sensitivity band, it never shifts the answer).
    """

    profile_id: str
    slo: Slo
    cost: StepCost
    limits: EngineLimits
    input_sample: FloatArray | None = None
    output_sample: FloatArray | None = None
    expected_error: dict[str, float] = field(default_factory=dict)
    estimated: bool = False
    cached_share: float = 0.0
    """Share of each prompt the replica's prefix cache holds (a routed fleet's hit rate); 0 = none."""
    notes: tuple[str, ...] = ()
    calibrated_lengths: tuple[float, float, float, float] | None = None
    """(min, max) mean input and (min, max) mean output tokens of the runs the model was calibrated on; a mix
    beyond them (by :class:`~costmodel.capacity.FitDefaults`' factors) is flagged as extrapolated."""
    _searches: dict[tuple[float, float], CapacitySearch] = field(default_factory=dict, repr=False)
    _services: dict[tuple[float, float], ReplicaService] = field(default_factory=dict, repr=False)

    @property
    def kv_cache_tokens(self) -> int:
        """KV-cache capacity [tokens]."""
        return self.limits.kv_cache_tokens

    def _mix(self, n_in: float, n_out: float) -> tuple[FloatArray, FloatArray]:
        if self.input_sample is None or not len(self.input_sample):
            return np.array([n_in]), np.array([n_out])
        ins = self.input_sample * (n_in / max(float(self.input_sample.mean()), 1e-9))
        if self.output_sample is not None and len(self.output_sample):
            mean_out = float(self.output_sample.mean())
            if abs(n_out - mean_out) <= 0.01 * max(mean_out, 1.0):
                return ins, self.output_sample
        return ins, np.full(len(ins), n_out)

    def _identity(self) -> str:
        """What the answers depend on besides the mix: deployment, coefficients, limits, SLO, cached share."""
        d = self.cost.deployment
        return "|".join(
            (
                d.arch.model_dump_json(),
                d.gpu.model_dump_json(),
                f"{d.tp}|{d.weight_dtype}|{d.kv_dtype}",
                self.cost.coefficients.model_dump_json(),
                repr(self.limits),
                self.slo.model_dump_json(),
                f"{self.cached_share:.6f}",
                _digest(self.input_sample),
                _digest(self.output_sample),
            )
        )

    def search(self, n_in: float, n_out: float) -> CapacitySearch:
        """The capacity search for a mix (simulated once per process, then cached)."""
        key = (round(float(n_in), 1), round(float(n_out), 1))
        if key not in self._searches:
            shared = ("search", self._identity(), key)
            if shared not in _CACHE:
                ins, outs = self._mix(*key)
                _remember(shared, max_rps(self.cost, self.limits, self.slo, ins, outs, cached_share=self.cached_share))
            self._searches[key] = _CACHE[shared]
        return self._searches[key]

    def capacity(self, input_tokens: float, output_tokens: float) -> Capacity:
        """The replica's SLO capacity for a mix (the :class:`~costmodel.capacity.Capacity` of the linear fit)."""
        n_in, n_out = float(input_tokens), max(float(output_tokens), 1.0)
        found = self.search(n_in, n_out)
        notes = list(self._error_notes())
        if not found.reachable:
            first = found.trials[0]
            what = {
                "ttft": f"{self.slo.percentile} TTFT {first.ttft_ms:,.0f} ms > {self.slo.ttft_ms:,.0f} ms target",
                "tpot": f"{self.slo.percentile} TPOT {first.tpot_ms:,.1f} ms > {self.slo.tpot_ms:,.0f} ms target",
            }.get(found.binding, "the server cannot keep up even with a trickle of requests")
            notes.insert(0, f"SLO unreachable for {n_in:,.0f} in / {n_out:,.0f} out tokens: {what} (simulated)")
            return Capacity(
                input_tokens=n_in,
                output_tokens=n_out,
                rps=0.0,
                slots=0,
                binding=found.binding,
                extrapolated=False,
                ttft_ms=None,
                tpot_ms=None,
                service_s=None,
                warnings=tuple(notes),
            )
        at = found.at_capacity
        assert at is not None  # reachable implies a passing trial
        beyond = self._beyond_calibration(n_in, n_out)
        return Capacity(
            input_tokens=n_in,
            output_tokens=n_out,
            rps=found.rps,
            slots=max(round(at.in_system), 1),
            binding=found.binding,
            extrapolated=bool(beyond),
            ttft_ms=at.ttft_ms,
            tpot_ms=at.tpot_ms,
            service_s=at.e2e_mean_s,
            warnings=(*beyond, *notes),
        )

    def _beyond_calibration(self, n_in: float, n_out: float) -> tuple[str, ...]:
        """Notes for a mix past the calibration runs' lengths (the linear fit's rule and factors)."""
        if self.calibrated_lengths is None:
            return ()
        in_lo, in_hi, out_lo, out_hi = self.calibrated_lengths
        rules = FitDefaults()
        notes = []
        if n_in > rules.extrapolation_factor * in_hi:
            notes.append(
                f"asked for {n_in:,.0f} input tokens; the replica model was calibrated on runs with mean inputs of "
                f"{in_lo:,.0f}–{in_hi:,.0f} tokens: its prefill time is the roofline's extrapolation"
            )
        if n_out > rules.output_extrapolation_factor * out_hi:
            notes.append(
                f"asked for {n_out:,.0f} output tokens; the calibration runs' mean outputs were "
                f"{out_lo:,.0f}–{out_hi:,.0f} tokens: extrapolating"
            )
        return tuple(notes)

    def _error_notes(self) -> tuple[str, ...]:
        if not self.expected_error:
            return self.notes
        parts = ", ".join(f"{k.split('_')[0].upper()} ±{v:.0%}" for k, v in self.expected_error.items())
        kind = "estimated from the catalogs" if self.estimated else "calibrated"
        return (*self.notes, f"capacity by simulation ({kind} replica model; typical error {parts})")

    @property
    def warnings(self) -> tuple[str, ...]:
        """Caveats that apply to every mix."""
        return self._error_notes()

    def service_for(self, input_tokens: float, output_tokens: float) -> ReplicaService:
        """The fleet replay's latency model for a mix, matched to the simulation (see the module docstring)."""
        n_in, n_out = float(input_tokens), max(float(output_tokens), 1.0)
        key = (round(n_in, 1), round(n_out, 1))
        if key in self._services:
            return self._services[key]
        shared = ("service", self._identity(), key)
        if shared in _CACHE:
            self._services[key] = _CACHE[shared]
            return self._services[key]
        cap = self.capacity(n_in, n_out)
        found = self.search(n_in, n_out)
        if not cap.reachable or found.at_capacity is None:  # no slot: the trickle's latencies, for the record
            first = found.trials[0]
            service = ReplicaService(
                tpot_base_ms=first.tpot_mean_ms if math.isfinite(first.tpot_mean_ms) else 0.0,
                tpot_per_seq_ms=0.0,
                ttft_base_ms=first.ttft_mean_ms if math.isfinite(first.ttft_mean_ms) else 1.0,
                prefill_ms_per_token=0.0,
                ttft_per_seq_ms=0.0,
                slots=0,
                kv_cache_tokens=self.kv_cache_tokens,
            )
            self._services[key] = service
            _remember(shared, service)
            return service
        ins, outs = self._mix(n_in, n_out)
        stream = _Stream(
            ins, outs, requests=_requests_for(self.limits, n_in, n_out), seed=1, cached_share=self.cached_share
        )
        loads = [
            _judge(simulate(stream.at(f * cap.rps), self.cost, self.limits), f * cap.rps, self.slo)
            for f in _SERVICE_LOADS
        ]
        points = [t for t in (*loads, found.at_capacity) if math.isfinite(t.in_system) and t.in_system > 0]
        batch = np.array([max(t.in_system, 1.0) for t in points])
        tpot = np.array([t.tpot_mean_ms for t in points])
        ttft = np.array([t.ttft_mean_ms for t in points])
        tpot_slope, _ = _line(batch, tpot)
        ttft_slope, ttft_at_1 = _line(batch, ttft)
        uncached = 1.0 - self.cached_share
        prefill_ms = self._prefill_ms_per_token(max(n_in * uncached, 1.0)) * uncached
        ttft_base = max(ttft_at_1 - prefill_ms * n_in, 0.0)
        slots = cap.slots
        at = found.at_capacity
        service = ReplicaService(
            tpot_base_ms=max(float(np.mean(tpot - tpot_slope * batch)), 0.0),
            tpot_per_seq_ms=tpot_slope,
            ttft_base_ms=ttft_base,
            prefill_ms_per_token=prefill_ms,
            ttft_per_seq_ms=ttft_slope,
            slots=slots,
            ttft_p_factor=max(1.0, at.ttft_ms / at.ttft_mean_ms) if at.ttft_mean_ms > 0 else 1.0,
            tpot_p_factor=max(1.0, at.tpot_ms / at.tpot_mean_ms) if at.tpot_mean_ms > 0 else 1.0,
            kv_cache_tokens=self.kv_cache_tokens,
        )
        # Match the replay's capacity to the simulated one (slots ÷ service time = capacity): scale the lines.
        held = float(service.service_s(n_in, n_out, slots))
        k = (slots / cap.rps) / held if held > 0 else 1.0
        service = dataclasses.replace(
            service,
            tpot_base_ms=service.tpot_base_ms * k,
            tpot_per_seq_ms=service.tpot_per_seq_ms * k,
            ttft_base_ms=service.ttft_base_ms * k,
            prefill_ms_per_token=service.prefill_ms_per_token * k,
            ttft_per_seq_ms=service.ttft_per_seq_ms * k,
        )
        self._services[key] = service
        _remember(shared, service)
        return service

    def spread(self, input_tokens: float, output_tokens: float) -> tuple[float, float, float]:
        """(low, mode, high) capacity [req/s]: the model's stated end-to-end error applied to every step —
        the capacity if steps were that much slower, as simulated, and that much faster."""
        error = self.expected_error.get("e2e_mean_s", 0.0)
        mode = self.capacity(input_tokens, output_tokens).rps
        if error <= 0 or mode <= 0:
            return mode, mode, mode
        ins, outs = self._mix(float(input_tokens), max(float(output_tokens), 1.0))
        bounds = []
        for factor in (1.0 + error, 1.0 / (1.0 + error)):
            cost = self.cost.with_coefficients(_scaled(self.cost.coefficients, factor))
            bounds.append(max_rps(cost, self.limits, self.slo, ins, outs, cached_share=self.cached_share).rps)
        return min(bounds[0], mode), mode, max(bounds[1], mode)

    def with_cached_share(self, share: float) -> SimulatedCapacity:
        """The same replica model with a prefix-cache hit rate (fresh caches of searches and services)."""
        return dataclasses.replace(self, cached_share=float(share), _searches={}, _services={})

    def _prefill_ms_per_token(self, n_in: float) -> float:
        """Marginal step time of one more prompt token, at the mix's prompt length [ms]."""
        tokens = max(n_in, 1.0)
        full = self.cost.step_s(0, 0.0, prefill_tokens=tokens, prefill_rows=1)
        one = self.cost.step_s(0, 0.0, prefill_tokens=1.0, prefill_rows=1)
        return max(full - one, 0.0) / tokens * 1000.0


_CACHE: dict[tuple[str, str, tuple[float, float]], Any] = {}
"""Searches and services by what they depend on, shared by every analysis of the process (a sweep runs many
analyses of one profile and trace); the oldest half is dropped past :data:`_CACHE_SIZE` entries."""
_CACHE_SIZE: Final = 512


def _remember(key: tuple[str, str, tuple[float, float]], value: Any) -> None:
    if len(_CACHE) >= _CACHE_SIZE:
        for old in list(_CACHE)[: _CACHE_SIZE // 2]:
            del _CACHE[old]
    _CACHE[key] = value


def _digest(values: FloatArray | None) -> str:
    if values is None:
        return "-"
    return hashlib.blake2b(np.ascontiguousarray(values, dtype=np.float64).tobytes(), digest_size=16).hexdigest()


def _scaled(c: Coefficients, factor: float) -> Coefficients:
    """Coefficients under which every step and the API overhead take ``factor`` times as long."""
    return c.model_copy(
        update={
            "bandwidth_efficiency": c.bandwidth_efficiency / factor,
            "kv_bandwidth_efficiency": c.kv_bandwidth_efficiency / factor,
            "compute_efficiency": c.compute_efficiency / factor,
            "layer_overhead_us": c.layer_overhead_us * factor,
            "step_overhead_us": c.step_overhead_us * factor,
            "seq_overhead_us": c.seq_overhead_us * factor,
            "api_overhead_ms": c.api_overhead_ms * factor,
            "allreduce_latency_us": c.allreduce_latency_us * factor,
            "interconnect_efficiency": min(c.interconnect_efficiency / factor, 1.0),
        }
    )


def replica_capacity(
    profile: Profile,
    slo: Slo,
    *,
    input_sample: FloatArray | None = None,
    output_sample: FloatArray | None = None,
) -> ReplicaCapacity:
    """The replica model the cost model uses for ``profile``: simulated when the profile has a replica model,
    else the linear fit of its warm points (profiles made before the simulator)."""
    model = profile.replica_model
    if model is None:
        return fit_replica_service(profile, slo)
    notes: tuple[str, ...] = ()
    if model.estimated:
        where = f"{model.arch.id} on {model.tp}× {model.gpu.name}"
        notes = (f"{profile.id} is estimated from the catalogs ({where}), not measured",)
    points = [p for p in profile.warm if p.valid and p.input_tokens_mean and p.output_tokens_mean]
    lengths = None
    if points and not model.estimated:
        ins = [float(p.input_tokens_mean or 0) for p in points]
        outs = [float(p.output_tokens_mean or 0) for p in points]
        lengths = (min(ins), max(ins), min(outs), max(outs))
    return SimulatedCapacity(
        calibrated_lengths=lengths,
        profile_id=profile.id,
        slo=slo,
        cost=cost_of(model),
        limits=limits_of(model),
        input_sample=input_sample,
        output_sample=output_sample,
        expected_error=dict(model.expected_error),
        estimated=model.estimated,
        notes=notes,
    )


def _line(x: FloatArray, y: FloatArray) -> tuple[float, float]:
    """(slope ≥ 0, value at x = 1) of a least-squares line."""
    if len(x) < 2 or float(np.ptp(x)) <= 0:
        return 0.0, float(y.mean()) if len(y) else 0.0
    slope = np.polyfit(x, y, 1)[0]
    slope = max(float(slope), 0.0)
    return slope, float(np.mean(y - slope * x)) + slope
