"""The requests one replica is given: arrival times and token counts, as arrays (the simulator's input).

A :class:`Workload` is built from a trace (:func:`from_trace`), a steady Poisson stream
(:func:`poisson`), a burst of N requests at t = 0 (:func:`burst`), or a measured run's request list
(:mod:`costmodel.engine.runs`). ``cached_tokens`` is the prefix of each prompt whose KV the server already
holds when the request arrives (a prefix-cache hit known in advance); 0 when unknown.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from breakeven.errors import InputError
from traces import Trace
from traces.prefix import PrefixBlocks, trace_prefix_blocks

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Workload:
    """Requests sorted by arrival. ``output_tokens`` ≥ 1 is what the server generates for each."""

    arrival_s: FloatArray
    input_tokens: IntArray
    output_tokens: IntArray
    cached_tokens: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    label: str = ""
    prefix: PrefixBlocks | None = None
    """Each prompt's prefix keys (a trace's ``hash_ids`` chained: equal keys, equal prefixes), in order."""
    answer_keys: tuple[IntArray, IntArray] | None = None
    """(keys, offsets): per request, the keys its answer completes for the next turn of its conversation."""
    session: IntArray | None = None
    """Conversation of each request (integer codes), when the trace has ``session_id``."""
    turn: IntArray | None = None
    """Turn of each request within its conversation (``turn``), when known."""
    think_s: FloatArray | None = None
    """Pause before each request is sent in a closed loop (``think_time_s``), when given."""

    def __post_init__(self) -> None:
        n = len(self.arrival_s)
        if len(self.input_tokens) != n or len(self.output_tokens) != n:
            raise InputError(f"workload {self.label!r}: arrival, input and output arrays differ in length")
        if len(self.cached_tokens) not in (0, n):
            raise InputError(f"workload {self.label!r}: cached_tokens has {len(self.cached_tokens)} rows, expected {n}")
        if n and (np.any(np.diff(self.arrival_s) < 0) or not np.all(np.isfinite(self.arrival_s))):
            raise InputError(f"workload {self.label!r}: arrival times must be finite and sorted")
        if n and (self.input_tokens.min() < 1 or self.output_tokens.min() < 1):
            raise InputError(
                f"workload {self.label!r}: every request needs ≥ 1 input and ≥ 1 output token; found "
                f"min input {int(self.input_tokens.min())}, min output {int(self.output_tokens.min())}"
            )

    def __len__(self) -> int:
        return len(self.arrival_s)

    @property
    def duration_s(self) -> float:
        """Time from the first to the last arrival [s]."""
        return float(self.arrival_s[-1] - self.arrival_s[0]) if len(self) > 1 else 0.0

    @property
    def cached(self) -> IntArray:
        """``cached_tokens``, zeros when not given."""
        return self.cached_tokens if len(self.cached_tokens) else np.zeros(len(self), dtype=np.int64)


def _ints(values: npt.ArrayLike) -> IntArray:
    return np.asarray(np.rint(np.asarray(values, dtype=np.float64)), dtype=np.int64)


def from_arrays(
    arrival_s: npt.ArrayLike,
    input_tokens: npt.ArrayLike,
    output_tokens: npt.ArrayLike,
    *,
    cached_tokens: npt.ArrayLike | None = None,
    label: str = "",
) -> Workload:
    """A workload from columns (sorted by arrival; token counts rounded, outputs at least 1)."""
    a = np.asarray(arrival_s, dtype=np.float64)
    order = np.argsort(a, kind="stable")
    n_in = np.maximum(_ints(input_tokens)[order], 1)
    n_out = np.maximum(_ints(output_tokens)[order], 1)
    cached = np.zeros(0, dtype=np.int64) if cached_tokens is None else np.minimum(_ints(cached_tokens)[order], n_in - 1)
    return Workload(a[order] - (a.min() if len(a) else 0.0), n_in, n_out, np.maximum(cached, 0), label)


def from_trace(trace: Trace) -> Workload:
    """A trace's requests as a workload: ``cached_tokens`` kept when the trace has them, and its ``hash_ids``
    as prefix keys (with each answer's keys for the next turn, found from the keys themselves)."""
    df = trace.df
    if len(df) > 1 and np.any(np.diff(df["arrival_s"].to_numpy()) < 0):  # a closed loop's lower bounds
        df = df.sort_values("arrival_s", kind="stable").reset_index(drop=True)
    cached = df["cached_tokens"].to_numpy() if "cached_tokens" in df.columns else None
    base = from_arrays(
        df["arrival_s"].to_numpy(),
        df["input_tokens"].to_numpy(),
        df["output_tokens"].to_numpy(),
        cached_tokens=cached,
        label=trace.meta.source or "",
    )
    extra: dict[str, Any] = {}
    if "session_id" in df.columns:
        extra["session"] = pd.factorize(df["session_id"].astype(str), sort=False)[0].astype(np.int64)
        if "turn" in df.columns:
            extra["turn"] = df["turn"].to_numpy(dtype=np.int64)
    if "think_time_s" in df.columns:
        extra["think_s"] = df["think_time_s"].to_numpy(dtype=np.float64)
    blocks = trace_prefix_blocks(df, trace.meta.block_tokens, source=trace.meta.source or "<trace>")
    if blocks is not None:
        extra["prefix"] = blocks
        extra["answer_keys"] = answer_keys(blocks, base.input_tokens, base.output_tokens)
    return dataclasses.replace(base, **extra) if extra else base


def answer_keys(blocks: PrefixBlocks, input_tokens: IntArray, output_tokens: IntArray) -> tuple[IntArray, IntArray]:
    """Per request, the keys of the blocks its answer completes for the next turn of its conversation.

    The next turn of request ``i`` is the first later request whose prompt starts with ``i``'s full prompt
    blocks and is at least as long as ``i``'s prompt and answer (a conversation resends its history); the
    keys of that request's blocks from the end of ``i``'s full prompt blocks to the end of ``i``'s answer are
    ``i``'s answer keys (vLLM caches the full blocks of generated tokens too).
    """
    bt = blocks.block_tokens
    keys, offsets = blocks.keys, blocks.offsets
    last_full: dict[int, int] = {}
    found: list[list[int]] = [[] for _ in range(len(blocks))]
    for j in range(len(blocks)):
        mine = keys[offsets[j] : offsets[j + 1]].tolist()
        for p in range(len(mine) - 1, -1, -1):
            i = last_full.get(mine[p])
            if i is not None and i != j:
                lo, hi = p + 1, int(input_tokens[i] + output_tokens[i]) // bt
                if not found[i] and hi > lo and int(input_tokens[j]) >= lo * bt:
                    found[i] = mine[lo : min(hi, len(mine))]
                break
        full = int(input_tokens[j]) // bt
        if full:
            last_full[mine[full - 1]] = j
    counts = np.array([len(f) for f in found], dtype=np.int64)
    flat = np.array([k for f in found for k in f], dtype=np.int64)
    return flat, np.concatenate(([0], np.cumsum(counts))).astype(np.int64)


def poisson(
    rate_rps: float,
    requests: int,
    input_tokens: npt.ArrayLike,
    output_tokens: npt.ArrayLike,
    *,
    rng: np.random.Generator,
    label: str = "",
) -> Workload:
    """``requests`` Poisson arrivals at ``rate_rps``; lengths are scalars, or arrays sampled with replacement."""
    if not (rate_rps > 0 and np.isfinite(rate_rps)):
        raise InputError(f"rate: expected a positive request rate [req/s]; found {rate_rps!r}")
    if requests < 1:
        raise InputError(f"requests: expected at least 1; found {requests}")
    gaps = rng.exponential(1.0 / rate_rps, size=requests)
    arrivals = np.cumsum(gaps) - gaps[0]
    n_in, n_out = _lengths(input_tokens, output_tokens, requests, rng)
    return Workload(arrivals, n_in, n_out, label=label or f"poisson({rate_rps:g}/s)")


def burst(requests: int, input_tokens: npt.ArrayLike, output_tokens: npt.ArrayLike, *, label: str = "") -> Workload:
    """``requests`` requests all sent at t = 0 (``vllm bench serve`` without ``--request-rate``)."""
    if requests < 1:
        raise InputError(f"requests: expected at least 1; found {requests}")
    n_in = np.broadcast_to(np.maximum(_ints(input_tokens), 1), (requests,)).copy()
    n_out = np.broadcast_to(np.maximum(_ints(output_tokens), 1), (requests,)).copy()
    return Workload(np.zeros(requests), n_in, n_out, label=label or f"burst({requests})")


def _lengths(
    input_tokens: npt.ArrayLike, output_tokens: npt.ArrayLike, n: int, rng: np.random.Generator
) -> tuple[IntArray, IntArray]:
    n_in = np.atleast_1d(_ints(input_tokens))
    n_out = np.atleast_1d(_ints(output_tokens))
    if n_in.size == 1 and n_out.size == 1:
        return np.full(n, max(int(n_in[0]), 1), dtype=np.int64), np.full(n, max(int(n_out[0]), 1), dtype=np.int64)
    if n_in.size == n_out.size:  # joint samples (a trace's own mix): draw pairs together
        pick = rng.integers(0, n_in.size, size=n)
        return np.maximum(n_in[pick], 1), np.maximum(n_out[pick], 1)
    ins = n_in[rng.integers(0, n_in.size, size=n)] if n_in.size > 1 else np.full(n, n_in[0])
    outs = n_out[rng.integers(0, n_out.size, size=n)] if n_out.size > 1 else np.full(n, n_out[0])
    return np.maximum(ins, 1).astype(np.int64), np.maximum(outs, 1).astype(np.int64)
