"""How one dedicated replica serves requests: the small latency model shared by capacity and replay.

The model (fitted to a profile's warm points by :mod:`costmodel.capacity`; used as-is by the replay):

- **Decode step time grows linearly with the batch** (requests decoding together)::

      tpot_ms(b) = tpot_base_ms + tpot_per_seq_ms × b

- **Time to first token** without queueing is a fixed overhead, prefill time linear in the prompt, and a
  contention term linear in the batch it joins::

      ttft_ms(n_in, b) = ttft_base_ms + prefill_ms_per_token × n_in + ttft_per_seq_ms × b

- A request with ``n_out`` output tokens holds a slot for
  ``service_s = (ttft_ms(n_in, b) + (n_out − 1) × tpot_ms(b)) / 1000``.

- A replica runs at most ``slots`` requests at once: the largest batch at which the SLO percentile still
  holds, capped by the KV cache (``kv_cache_tokens ÷ (n_in + n_out)``). Requests beyond that wait in a
  FIFO queue; waiting time adds to TTFT. Little's law gives the sustainable rate:
  ``capacity_rps = slots ÷ service_s(slots)``.

Percentile factors (``*_p_factor``) scale mean latencies to the planning percentile (e.g. p90 / mean as
measured), so the same parameters serve mean-based replay and percentile-based SLO checks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class LatencyLines:
    """The five latency parameters and the two lines they draw (see the module docstring). Times in ms.

    :mod:`costmodel.capacity` fits one set to a profile's means and one to its planning percentile;
    :class:`ReplicaService` is a set with what a replica serves by it."""

    tpot_base_ms: float
    tpot_per_seq_ms: float
    ttft_base_ms: float
    prefill_ms_per_token: float
    ttft_per_seq_ms: float

    def tpot_ms(self, batch: float | npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Mean time per output token at a batch size [ms]."""
        b = np.maximum(np.asarray(batch, dtype=np.float64), 1.0)
        return self.tpot_base_ms + self.tpot_per_seq_ms * b

    def ttft_ms(self, input_tokens: float | npt.ArrayLike, batch: float | npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Mean time to first token without queueing [ms]."""
        n_in = np.asarray(input_tokens, dtype=np.float64)
        b = np.maximum(np.asarray(batch, dtype=np.float64), 1.0)
        return self.ttft_base_ms + self.prefill_ms_per_token * n_in + self.ttft_per_seq_ms * b


@dataclass(frozen=True)
class ReplicaService(LatencyLines):
    """One replica's latency model: the mean latency lines, the slots the SLO allows, the percentile factors
    and the KV cache (see the module docstring). Times in milliseconds."""

    slots: int
    """Requests served at once (batch size) at which the SLO still holds; ≥ 1 unless the SLO is unreachable."""
    ttft_p_factor: float = 1.0
    """Planning-percentile TTFT ÷ mean TTFT (≥ 1)."""
    tpot_p_factor: float = 1.0
    """Planning-percentile TPOT ÷ mean TPOT (≥ 1)."""
    kv_cache_tokens: int | None = None

    def service_s(
        self, input_tokens: float | npt.ArrayLike, output_tokens: float | npt.ArrayLike, batch: float | npt.ArrayLike
    ) -> npt.NDArray[np.float64]:
        """Time a request holds its slot [s]: first token, then the remaining tokens at the batch's TPOT."""
        n_out = np.maximum(np.asarray(output_tokens, dtype=np.float64), 1.0)
        return (self.ttft_ms(input_tokens, batch) + (n_out - 1.0) * self.tpot_ms(batch)) / 1000.0

    def slots_for(self, input_tokens: float, output_tokens: float) -> int:
        """Slots for a request mix, capped by the KV cache when its size is known."""
        slots = self.slots
        if self.kv_cache_tokens is not None:
            per_request = max(input_tokens + output_tokens, 1.0)
            slots = min(slots, int(self.kv_cache_tokens // per_request))
        return max(slots, 0)

    def capacity_rps(self, input_tokens: float, output_tokens: float) -> float:
        """Sustainable request rate of one replica for a mix [req/s] (Little's law at full slots)."""
        slots = self.slots_for(input_tokens, output_tokens)
        if slots <= 0:
            return 0.0
        return float(slots / self.service_s(input_tokens, output_tokens, slots))
