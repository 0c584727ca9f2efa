"""A trace dataset in bounded memory: its requests chunk by chunk, its totals, exact percentiles of values too
many to hold, and copies of a random stream.

- :func:`chunks` reads a :class:`~traces.dataset.TraceDataset`'s partitions in time order and cuts them into
  :class:`RequestArrays` of exactly the size asked (the in-memory replay's chunks, at the same request numbers);
  :func:`totals` counts requests and tokens in one pass over two columns.
- :class:`Spill` writes finite values to disk chunk by chunk and gives exact order statistics afterwards (radix
  selection), so a percentile equals ``numpy.percentile`` of all the values.
- :func:`copy_rng` and :func:`skip_normals` let a replay draw a chunk's share of a random stream that the
  in-memory replay draws in one call.

Used by the replays of a dataset: :mod:`.serverless` (bill, rate limits, latency draws), :mod:`.streamed` (the
fleet), :mod:`.hybrid` and :mod:`.trace_breakeven` (the searches). Imports nothing of the replay but
:mod:`._arrays`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from costmodel.replay._arrays import FloatArray, RequestArrays, request_arrays
from costmodel.results import Distribution
from traces.dataset import TraceDataset
from traces.dataset_summary import lerp_percentile

COLUMNS = ("arrival_s", "input_tokens", "output_tokens")
"""The columns a fleet replay reads."""
BLOCK = 1 << 22
"""Values handled at once where a pass is cut to bound memory (random draws, quantiles)."""
_GATHER = 1 << 22
"""Radix selection gathers a bucket's values once it holds at most this many."""


# ------------------------------------------------------------------------------------------------ chunks


def chunks(ds: TraceDataset, size: int, columns: tuple[str, ...] = COLUMNS) -> Iterator[RequestArrays]:
    """The dataset's requests in chunks of exactly ``size`` (the last shorter), in time order, checked."""
    wanted = tuple(c for c in columns if c in ds.columns) or COLUMNS
    buffered: list[RequestArrays] = []
    have = 0
    for df in ds.batches(wanted):
        part = request_arrays(df)
        buffered.append(part)
        have += len(part)
        while have >= size:
            joined = _concat(buffered)
            yield _slice(joined, 0, size)
            rest = _slice(joined, size, len(joined))
            buffered, have = ([rest], len(rest)) if len(rest) else ([], 0)
    if have:
        yield _concat(buffered)


def _concat(parts: list[RequestArrays]) -> RequestArrays:
    if len(parts) == 1:
        return parts[0]

    def cat(name: str) -> Any:
        values = [getattr(p, name) for p in parts]
        return None if any(v is None for v in values) else np.concatenate(values)

    return RequestArrays(
        cat("arrival_s"), cat("input_tokens"), cat("output_tokens"), cat("cached_tokens"), cat("deferrable")
    )


def _slice(req: RequestArrays, lo: int, hi: int) -> RequestArrays:
    def cut(a: Any) -> Any:
        return None if a is None else a[lo:hi]

    return RequestArrays(
        cut(req.arrival_s), cut(req.input_tokens), cut(req.output_tokens), cut(req.cached_tokens), cut(req.deferrable)
    )


@dataclass(frozen=True)
class Totals:
    """Requests, token sums and the last arrival of a dataset (one pass over two columns)."""

    n: int
    input_tokens: int
    output_tokens: int
    last_arrival_s: float

    @property
    def mean_in(self) -> float:
        """Mean input tokens, as ``ndarray.mean`` gives it (an exact integer sum ÷ n)."""
        return float(self.input_tokens) / self.n if self.n else 0.0

    @property
    def mean_out(self) -> float:
        """Mean output tokens (1 for an empty trace, as the in-memory replay)."""
        return float(self.output_tokens) / self.n if self.n else 1.0


def totals(ds: TraceDataset) -> Totals:
    """:class:`Totals` of ``ds``."""
    n = tin = tout = 0
    for df in ds.batches(("input_tokens", "output_tokens")):
        n += len(df)
        tin += int(df["input_tokens"].to_numpy().sum())
        tout += int(df["output_tokens"].to_numpy().sum())
    return Totals(n=n, input_tokens=tin, output_tokens=tout, last_arrival_s=ds.last_arrival_s)


# ------------------------------------------------------------------------------------- exact percentiles


def _keys(values: FloatArray) -> npt.NDArray[np.uint64]:
    """An order-preserving map of float64 to uint64 (for radix selection)."""
    bits = values.view(np.uint64)
    sign = bits >> np.uint64(63)
    return np.where(sign == 1, ~bits, bits | np.uint64(1 << 63))


@dataclass
class Spill:
    """Finite values written to disk chunk by chunk; exact order statistics and percentiles afterwards."""

    folder: Path
    name: str
    files: list[Path] = field(default_factory=list)
    count: int = 0
    total: float = 0.0

    def add(self, values: FloatArray) -> None:
        """Append the finite ``values``."""
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            return
        path = self.folder / f"{self.name}-{len(self.files):06d}.npy"
        np.save(path, finite)
        self.files.append(path)
        self.count += int(finite.size)
        self.total += float(finite.sum())

    def _blocks(self) -> Iterator[FloatArray]:
        for path in self.files:
            yield np.load(path, mmap_mode="r")

    def order_statistics(self, ranks: list[int]) -> dict[int, float]:
        """The ``r``-th smallest value (0-based) for each rank, by radix selection over the spilled files."""
        out: dict[int, float] = {}
        pending = {r: (0, 0, r) for r in sorted(set(ranks))}  # rank -> (prefix, bits fixed, rank in bucket)
        while pending:
            groups: dict[tuple[int, int], list[int]] = {}
            for r, (prefix, fixed, _) in pending.items():
                groups.setdefault((prefix, fixed), []).append(r)
            for (prefix, fixed), members in groups.items():
                gathered = self._select(prefix, fixed, {r: pending[r][2] for r in members})
                for r, result in gathered.items():
                    if isinstance(result, float):
                        out[r] = result
                        del pending[r]
                    else:
                        pending[r] = result
        return out

    def _select(self, prefix: int, fixed: int, local: dict[int, int]) -> dict[int, Any]:
        """One radix level: the bucket of 16 more bits holding each rank, or the value once it is small."""
        shift = np.uint64(64 - fixed)
        count = 0
        for block in self._blocks():
            keys = _keys(np.asarray(block))
            if fixed:
                keys = keys[(keys >> shift) == np.uint64(prefix)]
            count += keys.size
        if count <= _GATHER or fixed >= 64:
            values = np.concatenate(
                [
                    np.asarray(b)[(_keys(np.asarray(b)) >> shift) == np.uint64(prefix)] if fixed else np.asarray(b)
                    for b in self._blocks()
                ]
            )
            ordered = np.partition(values, sorted(set(local.values())))
            return {r: float(ordered[i]) for r, i in local.items()}
        nxt = fixed + 16
        hist = np.zeros(1 << 16, dtype=np.int64)
        for block in self._blocks():
            keys = _keys(np.asarray(block))
            if fixed:
                keys = keys[(keys >> shift) == np.uint64(prefix)]
            digit = ((keys >> np.uint64(64 - nxt)) & np.uint64(0xFFFF)).astype(np.int64)
            hist += np.bincount(digit, minlength=1 << 16)
        cum = np.cumsum(hist)
        result: dict[int, Any] = {}
        for r, i in local.items():
            d = int(np.searchsorted(cum, i, side="right"))
            below = int(cum[d - 1]) if d else 0
            result[r] = ((prefix << 16) | d, nxt, i - below)
        return result

    def distribution(self) -> Distribution:
        """Mean, p50, p90, p99 (``numpy.percentile``, linear) of everything added."""
        n = self.count
        if n == 0:
            return Distribution()
        qs = (50.0, 90.0, 99.0)
        ranks = {q: int(np.floor((n - 1) * np.true_divide(q, 100))) for q in qs}
        wanted = sorted(set(ranks.values()) | {min(r + 1, n - 1) for r in ranks.values()})
        stats = self.order_statistics(wanted)
        p = {q: lerp_percentile(stats[r], stats[min(r + 1, n - 1)], n, q) for q, r in ranks.items()}
        return Distribution(mean=self.total / n, p50=p[50.0], p90=p[90.0], p99=p[99.0])


# ------------------------------------------------------------------------------------------ random draws


def copy_rng(rng: np.random.Generator) -> np.random.Generator:
    """An independent generator in ``rng``'s current state."""
    gen = np.random.Generator(type(rng.bit_generator)())
    gen.bit_generator.state = rng.bit_generator.state
    return gen


def skip_normals(rng: np.random.Generator, n: int) -> None:
    """Advance ``rng`` past ``n`` standard-normal draws, in bounded memory."""
    left = n
    while left:
        step = min(left, BLOCK)
        rng.standard_normal(step)
        left -= step
