"""What a simulated run produced: every request's timing and the run's figures.

Times a client sees (``ttft_s``, ``e2e_s``) include the API overhead of the step-time coefficients (HTTP,
tokenization, streaming) on top of what the engine did; ``first_token_s`` / ``finish_s`` are engine times.
TPOT is per request, ``(e2e − ttft) / (output tokens − 1)``; ITL is every gap between two tokens of a
request, pooled (a step's duration counted once per decode row in it, plus the gap a preempted request
waited before it resumed).

A run is **overloaded** when the server falls behind for good: over the second half of the arrival window
the number of requests in the system grew by more than 5 % of the arrival rate and ended above the engine's
``max_num_seqs`` (a queue that keeps growing), or requests were still unfinished when the clock stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Final

import numpy as np
import numpy.typing as npt

from costmodel.engine.steptime import StepShapes
from costmodel.engine.workload import FloatArray, IntArray, Workload

_GROWTH_SHARE: Final = 0.05


def _stats(values: FloatArray, scale: float = 1.0) -> dict[str, float | None]:
    v = values[np.isfinite(values)] * scale
    if not len(v):
        return {"mean": None, "p50": None, "p90": None, "p99": None}
    p50, p90, p99 = np.percentile(v, [50, 90, 99])
    return {"mean": float(v.mean()), "p50": float(p50), "p90": float(p90), "p99": float(p99)}


def _weighted_percentiles(values: FloatArray, weights: FloatArray, qs: tuple[float, ...]) -> list[float]:
    order = np.argsort(values)
    v, w = values[order], weights[order]
    cum = np.cumsum(w)
    total = cum[-1]
    return [float(v[min(int(np.searchsorted(cum, q / 100.0 * total)), len(v) - 1)]) for q in qs]


@dataclass(frozen=True)
class SimResult:
    """One simulated run (see the module docstring). Arrays are per request, in workload order."""

    workload: Workload
    api_overhead_s: float
    first_token_s: FloatArray
    finish_s: FloatArray
    admit_s: FloatArray
    first_step: IntArray
    last_step: IntArray
    preemptions: IntArray
    cached_tokens: IntArray
    rejected: npt.NDArray[np.bool_]
    step_end_s: FloatArray
    step_s: FloatArray
    step_rows: npt.NDArray[np.int32]
    step_decode_rows: npt.NDArray[np.int32]
    step_shapes: StepShapes
    """What each step did (for re-timing the run under other coefficients)."""
    kv_time_s: FloatArray
    kv_blocks_used: IntArray
    kv_blocks_total: int
    resume_gaps_s: FloatArray
    pauses: dict[int, list[tuple[int, int]]]
    """Per preempted request: (first step it sat out, step its recompute gave its next token; -1 = never)."""
    end_s: float
    max_num_seqs: int
    sent_s: FloatArray | None = None
    """When each request was sent, where a closed loop set it (else the workload's arrivals)."""

    @property
    def arrival_s(self) -> FloatArray:
        """When each request arrived [s]."""
        return self.workload.arrival_s if self.sent_s is None else self.sent_s

    # ------------------------------------------------------------------------------ per request

    @cached_property
    def ttft_s(self) -> FloatArray:
        """Time to first token as the client sees it [s]; NaN when no token came."""
        return self.first_token_s - self.arrival_s + self.api_overhead_s

    @cached_property
    def e2e_s(self) -> FloatArray:
        """End-to-end latency as the client sees it [s]; NaN when unfinished."""
        return self.finish_s - self.arrival_s + self.api_overhead_s

    @cached_property
    def tpot_s(self) -> FloatArray:
        """Time per output token after the first [s]; NaN for one-token requests and unfinished ones."""
        n = self.workload.output_tokens.astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 1, (self.finish_s - self.first_token_s) / (n - 1), np.nan)

    @property
    def finished(self) -> npt.NDArray[np.bool_]:
        """Requests that got their last token before the clock stopped."""
        return np.isfinite(self.finish_s)

    def token_times(self, request: int) -> FloatArray:
        """Engine times at which ``request`` received each of its tokens [s] (empty before its first)."""
        first, last = int(self.first_step[request]), int(self.last_step[request])
        if first < 0:
            return np.zeros(0)
        if last < 0:  # unfinished: every step it took part in until the clock stopped
            last = len(self.step_end_s) - 1
        steps = np.arange(first + 1, last + 1)
        steps = steps[self.step_decode_rows[steps] > 0]  # V0's prefill-only steps decode nothing
        resumes = []
        for paused, resumed in self.pauses.get(request, ()):
            steps = steps[(steps < paused) | ((steps > resumed) & (resumed >= 0))]
            if resumed >= 0:
                resumes.append(resumed)  # the recompute's last chunk samples a token, decoding or not
        steps = np.union1d(steps, np.array(resumes, dtype=np.int64))
        return np.concatenate([self.step_end_s[first : first + 1], self.step_end_s[steps]])

    def token_gaps(self, request: int) -> FloatArray:
        """Every inter-token gap of ``request`` [s]."""
        return np.diff(self.token_times(request))

    # ------------------------------------------------------------------------------------ per run

    @property
    def completed(self) -> int:
        """Requests finished."""
        return int(self.finished.sum())

    @property
    def unfinished(self) -> int:
        """Requests not finished when the clock stopped (rejected ones included)."""
        return len(self.workload) - self.completed

    @property
    def duration_s(self) -> float:
        """From the first arrival to the end of the run [s]."""
        return max(self.end_s - float(self.workload.arrival_s[0]), 0.0) if len(self.workload) else 0.0

    @property
    def throughput_rps(self) -> float:
        """Completed requests per second over the run."""
        return self.completed / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def output_tok_s(self) -> float:
        """Output tokens of completed requests per second over the run."""
        if self.duration_s <= 0:
            return 0.0
        return float(self.workload.output_tokens[self.finished].sum()) / self.duration_s

    @property
    def mean_batch(self) -> float:
        """Time-weighted mean number of requests in a step."""
        total = float(self.step_s.sum())
        return float((self.step_s * self.step_rows).sum() / total) if total > 0 else 0.0

    @property
    def kv_peak_share(self) -> float:
        """Largest share of the KV pool in use."""
        return float(self.kv_blocks_used.max() / self.kv_blocks_total) if len(self.kv_blocks_used) else 0.0

    def in_system(self, t: float) -> int:
        """Requests arrived and not finished at engine time ``t``."""
        arrived = int(np.searchsorted(self.workload.arrival_s, t, side="right"))
        done = int(np.count_nonzero(self.finish_s[:arrived] <= t))
        return arrived - done

    @cached_property
    def overloaded(self) -> bool:
        """True when the queue keeps growing (see the module docstring)."""
        w = self.workload
        if len(w) < 2:
            return False
        if np.any(self.rejected) or np.any(~self.finished & ~self.rejected):
            return True
        t0, t1 = float(w.arrival_s[0]), float(w.arrival_s[-1])
        mid = t0 + (t1 - t0) / 2
        if t1 <= mid:
            return False
        rate = len(w) / (t1 - t0)
        grown = self.in_system(t1) - self.in_system(mid)
        return grown > _GROWTH_SHARE * rate * (t1 - mid) and self.in_system(t1) > self.max_num_seqs

    def itl_s(self) -> tuple[FloatArray, FloatArray]:
        """Pooled inter-token gaps as (values, weights): each step's duration weighted by its decode rows."""
        values = np.concatenate([self.step_s, self.resume_gaps_s])
        weights = np.concatenate([self.step_decode_rows.astype(np.float64), np.ones(len(self.resume_gaps_s))])
        keep = weights > 0
        return values[keep], weights[keep]

    def summary(self, *, since_s: float = 0.0) -> dict[str, object]:
        """The run's figures (latencies in ms / s, each with mean, p50, p90, p99); requests arriving
        before ``since_s`` are simulated but not counted (a warm-up)."""
        keep = self.workload.arrival_s >= since_s
        done = keep & self.finished
        itl_values, itl_weights = self.itl_s()
        itl: dict[str, float | None]
        if len(itl_values):
            p50, p90, p99 = _weighted_percentiles(itl_values * 1000, itl_weights, (50, 90, 99))
            itl = {
                "mean": float(np.average(itl_values, weights=itl_weights) * 1000),
                "p50": p50,
                "p90": p90,
                "p99": p99,
            }
        else:
            itl = {"mean": None, "p50": None, "p90": None, "p99": None}
        return {
            "requests": int(keep.sum()),
            "completed": int(done.sum()),
            "unfinished": int((keep & ~self.finished).sum()),
            "ttft_ms": _stats(self.ttft_s[done], 1000.0),
            "tpot_ms": _stats(self.tpot_s[done], 1000.0),
            "itl_ms": itl,
            "e2e_s": _stats(self.e2e_s[done]),
            "throughput_rps": self.throughput_rps,
            "output_tok_s": self.output_tok_s,
            "mean_batch": self.mean_batch,
            "kv_peak_share": self.kv_peak_share,
            "preemptions": int(self.preemptions.sum()),
            "overloaded": self.overloaded,
            "duration_s": self.duration_s,
        }
