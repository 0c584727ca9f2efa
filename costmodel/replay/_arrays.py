"""Request arrays the replay runs on, taken from the canonical trace (``traces.model``) and checked once.

Every replay function accepts a :class:`traces.model.Trace`, its canonical DataFrame, or a
:class:`RequestArrays` built by the caller; they all become a :class:`RequestArrays` here
(:func:`request_arrays`: where a request enters the replay), so the math never touches pandas and never
re-validates. A :class:`~traces.dataset.TraceDataset` is streamed instead by the replays that can
(:mod:`.streamed`). Next: :func:`.dedicated.replay_dedicated`, :func:`.serverless.replay_serverless`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from breakeven.errors import InputError
from traces.dataset import TraceDataset
from traces.model import Trace
from traces.prefix import PrefixBlocks, cached_prefix_blocks

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class RequestArrays:
    """A trace as numpy arrays, sorted by arrival. Treat the arrays as read-only.

    ``arrival_s`` [s since trace start], ``input_tokens`` / ``output_tokens`` / ``cached_tokens`` [tokens],
    ``deferrable`` (may go through a batch API). Optional columns are ``None`` when the trace lacks them.
    """

    arrival_s: FloatArray
    input_tokens: IntArray
    output_tokens: IntArray
    cached_tokens: IntArray | None = None
    deferrable: BoolArray | None = None
    source: str = "<trace>"
    hash_ids: Any = None
    """The trace's ``hash_ids`` column (pandas array, all rows of the trace it came from) or None."""
    block_tokens: int | None = None
    """Tokens per hash_ids block (``trace.meta.block_tokens``; None: inferred from the lengths when needed)."""
    rows: BoolArray | None = None
    """Which rows of ``hash_ids`` these requests are (after :meth:`subset`); None = all."""
    hash_inputs: IntArray | None = None
    """Input tokens of every row of ``hash_ids`` (set by :meth:`subset`; None = :attr:`input_tokens`)."""

    def __len__(self) -> int:
        return int(self.arrival_s.shape[0])

    @property
    def last_arrival_s(self) -> float:
        """Arrival of the last request [s] (0 for an empty trace)."""
        return float(self.arrival_s[-1]) if len(self) else 0.0

    def scaled(self, rate_factor: float) -> RequestArrays:
        """The same requests with time compressed by ``rate_factor`` (k > 1 = k times the request rate)."""
        if not (np.isfinite(rate_factor) and rate_factor > 0):
            raise InputError(f"rate factor: expected a positive finite number, found {rate_factor!r}")
        return replace(self, arrival_s=self.arrival_s / rate_factor, source=f"{self.source} ×{rate_factor:g} rate")

    def with_output_tokens(self, output_tokens: int) -> RequestArrays:
        """The same arrivals and inputs with every request's output length set to ``output_tokens``."""
        if output_tokens < 0:
            raise InputError(f"output tokens: expected a non-negative count, found {output_tokens}")
        return replace(
            self,
            output_tokens=np.full(len(self), int(output_tokens), dtype=np.int64),
            source=f"{self.source} (output={output_tokens})",
        )

    def subset(self, mask: BoolArray) -> RequestArrays:
        """The requests where ``mask`` is true (order kept)."""
        return RequestArrays(
            arrival_s=self.arrival_s[mask],
            input_tokens=self.input_tokens[mask],
            output_tokens=self.output_tokens[mask],
            cached_tokens=None if self.cached_tokens is None else self.cached_tokens[mask],
            deferrable=None if self.deferrable is None else self.deferrable[mask],
            source=self.source,
            hash_ids=self.hash_ids,
            block_tokens=self.block_tokens,
            rows=self._rows_of(mask),
            hash_inputs=None
            if self.hash_ids is None
            else (self.input_tokens if self.hash_inputs is None else self.hash_inputs),
        )

    def _rows_of(self, mask: BoolArray) -> BoolArray | None:
        if self.hash_ids is None:
            return None
        if self.rows is None:
            return np.asarray(mask, dtype=bool).copy()
        rows = self.rows.copy()
        rows[np.flatnonzero(rows)[~np.asarray(mask, dtype=bool)]] = False
        return rows

    def prefix_blocks(self) -> PrefixBlocks | None:
        """These requests' prompt blocks (chained keys, :mod:`traces.prefix`), or None without hash_ids.

        Chained once per trace (kept for the next replays of the same trace), then cut to :attr:`rows`.
        """
        if self.hash_ids is None:
            return None
        inputs = self.input_tokens if self.hash_inputs is None else self.hash_inputs
        blocks = cached_prefix_blocks(self.hash_ids, inputs, block_tokens=self.block_tokens, source=self.source)
        return blocks if self.rows is None else blocks.subset(self.rows)


TraceLike = Trace | pd.DataFrame | RequestArrays | TraceDataset
"""A trace dataset is streamed by the replays that can (:mod:`.streamed`); the others read it into memory up to
:data:`MATERIALIZE_ROWS` requests."""

MATERIALIZE_ROWS = 20_000_000


def _column(df: pd.DataFrame, name: str, source: str) -> npt.NDArray[np.generic]:
    if name not in df.columns:
        raise InputError(
            f"{source}: missing column {name!r}; expected the canonical trace columns, found {list(df.columns)}"
        )
    return np.asarray(df[name].to_numpy())


def _counts(values: npt.NDArray[np.generic], name: str, source: str) -> IntArray:
    arr = np.asarray(values)
    if arr.dtype.kind not in "iuf":
        raise InputError(f"{source}: column {name!r}: expected integer token counts, found dtype {arr.dtype}")
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr) | (arr != np.round(arr))
        if bad.any():
            row = int(np.argmax(bad))
            raise InputError(f"{source}: row {row}, column {name!r}: expected a whole token count, found {arr[row]!r}")
    if arr.size and arr.min() < 0:
        row = int(np.argmin(arr))
        raise InputError(f"{source}: row {row}, column {name!r}: expected a count ≥ 0, found {arr[row]!r}")
    return arr.astype(np.int64, copy=False)


def request_arrays(trace: TraceLike) -> RequestArrays:
    """Validate a trace and return it as :class:`RequestArrays` (no copy when the dtypes already fit).

    Raises :class:`InputError` naming the row and column for a missing column, a NaN or negative value, or
    arrivals out of order.
    """
    if isinstance(trace, RequestArrays):
        return trace
    if isinstance(trace, TraceDataset):
        trace = trace.to_trace(max_rows=MATERIALIZE_ROWS)
    if isinstance(trace, Trace):
        df, source = trace.df, trace.meta.source or "<trace>"
    elif isinstance(trace, pd.DataFrame):
        df, source = trace, "<trace>"
    else:
        raise InputError(f"trace: expected a traces.model.Trace or a canonical DataFrame, found {type(trace).__name__}")
    arrival = np.asarray(_column(df, "arrival_s", source), dtype=np.float64)
    if arrival.size:
        bad = ~np.isfinite(arrival) | (arrival < 0)
        if bad.any():
            row = int(np.argmax(bad))
            raise InputError(
                f"{source}: row {row}, column 'arrival_s': expected finite seconds ≥ 0, found {arrival[row]!r}"
            )
        step = np.diff(arrival)
        if (step < 0).any():
            row = int(np.argmax(step < 0)) + 1
            raise InputError(
                f"{source}: row {row}, column 'arrival_s': expected arrivals sorted ascending, found "
                f"{arrival[row]!r} after {arrival[row - 1]!r}"
            )
    inputs = _counts(_column(df, "input_tokens", source), "input_tokens", source)
    outputs = _counts(_column(df, "output_tokens", source), "output_tokens", source)
    cached = None
    if "cached_tokens" in df.columns:
        cached_raw = df["cached_tokens"]
        cached = _counts(np.asarray(cached_raw.fillna(0).to_numpy()), "cached_tokens", source)
        over = cached > inputs
        if over.any():
            row = int(np.argmax(over))
            raise InputError(
                f"{source}: row {row}, column 'cached_tokens': expected at most input_tokens ({inputs[row]}), "
                f"found {cached[row]}"
            )
    deferrable = None
    if "deferrable" in df.columns:
        deferrable = np.asarray(df["deferrable"].fillna(False).to_numpy(), dtype=bool)
    hash_ids = df["hash_ids"].array if "hash_ids" in df.columns else None
    block_tokens = trace.meta.block_tokens if isinstance(trace, Trace) else None
    return RequestArrays(
        arrival, inputs, outputs, cached, deferrable, source, hash_ids=hash_ids, block_tokens=block_tokens
    )


def from_arrays(
    arrival_s: npt.ArrayLike,
    input_tokens: npt.ArrayLike,
    output_tokens: npt.ArrayLike,
    *,
    cached_tokens: npt.ArrayLike | None = None,
    deferrable: npt.ArrayLike | None = None,
    source: str = "<arrays>",
) -> RequestArrays:
    """Build checked :class:`RequestArrays` from plain sequences (same checks as :func:`request_arrays`)."""
    columns: dict[str, npt.ArrayLike] = {
        "arrival_s": np.asarray(arrival_s, dtype=np.float64),
        "input_tokens": np.asarray(input_tokens),
        "output_tokens": np.asarray(output_tokens),
    }
    if cached_tokens is not None:
        columns["cached_tokens"] = np.asarray(cached_tokens)
    if deferrable is not None:
        columns["deferrable"] = np.asarray(deferrable, dtype=bool)
    lengths = {k: np.shape(v)[0] if np.ndim(v) else -1 for k, v in columns.items()}
    if len(set(lengths.values())) != 1 or -1 in lengths.values():
        raise InputError(f"{source}: expected 1-D arrays of one length, found lengths {lengths}")
    arrays = request_arrays(pd.DataFrame(columns))
    return RequestArrays(
        arrays.arrival_s, arrays.input_tokens, arrays.output_tokens, arrays.cached_tokens, arrays.deferrable, source
    )
