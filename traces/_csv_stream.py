"""The CSV fast path: stream typed record batches from pyarrow straight into preallocated numpy arrays.

Reading the whole file into an Arrow table first and converting it afterwards would hold both copies at
once (and glibc keeps the freed Arrow blocks); streaming keeps peak memory close to the final DataFrame
(see benchmarks/bench_traces.py). The row count is estimated from the file size and the first batch; the
arrays grow by doubling in the rare case the estimate is short, and are trimmed at the end.

Anything unusual — a conversion error, a malformed row, an empty cell in a numeric column — raises
:class:`SlowPath`, and the caller re-reads the file on the slow path, which can name the line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from traces._source import Source

_NUMERIC = {pa.float64(): np.float64, pa.int64(): np.int64}


class SlowPath(Exception):  # noqa: N818 - a control-flow signal, not an error shown to users
    """The fast path cannot read this file; use the slow path."""


class _Growable:
    """A numpy array filled batch by batch; doubles when full, trimmed by :meth:`result`."""

    def __init__(self, dtype: Any, capacity: int) -> None:
        self.data = np.empty(max(capacity, 1), dtype=dtype)
        self.size = 0

    def append(self, values: np.ndarray) -> None:
        end = self.size + len(values)
        if end > len(self.data):
            grown = np.empty(max(2 * len(self.data), end), dtype=self.data.dtype)
            grown[: self.size] = self.data[: self.size]
            self.data = grown
        self.data[self.size : end] = values
        self.size = end

    def result(self) -> np.ndarray:
        if self.size == len(self.data):
            return self.data
        self.data.resize(self.size, refcheck=False)  # shrink in place (realloc), no second copy
        return self.data


class _Categories:
    """Per-batch dictionary arrays → one set of categories and int32 codes (-1 for missing)."""

    def __init__(self, capacity: int) -> None:
        self.index: dict[str, int] = {}
        self.codes = _Growable(np.int32, capacity)

    def append(self, array: pa.Array) -> None:
        if not pa.types.is_dictionary(array.type):
            array = array.dictionary_encode()
        mapping = np.array(
            [self.index.setdefault(str(v), len(self.index)) for v in array.dictionary.to_pylist()] or [0],
            dtype=np.int32,
        )  # a loop over the few distinct names of one batch, not over requests
        indices = array.indices
        codes = mapping[indices.fill_null(0).to_numpy(zero_copy_only=False)]
        if indices.null_count:
            codes[indices.is_null().to_numpy(zero_copy_only=False)] = -1
        self.codes.append(codes)

    def result(self) -> pd.Categorical:
        categories = list(self.index)
        return pd.Categorical.from_codes(self.codes.result(), categories=pd.Index(categories, dtype=object))


def stream_csv(
    source: Source, mapping: Mapping[str, str], column_types: Mapping[str, pa.DataType]
) -> tuple[dict[str, Any], int, str | None]:
    """Read the mapped columns; returns (canonical → numpy / Categorical / ChunkedArray, rows, time zone kind).

    Numeric and timestamp columns must be typed in ``column_types`` (by source name) to land in numpy;
    others are kept as Arrow chunks. Raises :class:`SlowPath` when the file needs the careful reader.
    """
    sources = list(dict.fromkeys(mapping.values()))
    convert = pa_csv.ConvertOptions(
        include_columns=sources,
        column_types=dict(column_types),
        null_values=[""],  # 'NaN', 'null', 'NA' are errors to report, not silent gaps
        strings_can_be_null=True,
    )
    try:
        reader = pa_csv.open_csv(source.arrow_input(), convert_options=convert)
        batches = iter(reader)
        first = next(batches, None)
    except pa.ArrowInvalid as exc:
        raise SlowPath(str(exc)) from exc
    if first is None:
        return {name: pa.chunked_array([], pa.string()) for name in mapping}, 0, None
    capacity = _estimate_rows(source, first)
    sinks: dict[str, Any] = {}
    zone: str | None = None
    for canonical, name in mapping.items():
        typ = first.schema.field(name).type
        if pa.types.is_timestamp(typ):
            zone = "utc" if typ.tz else "naive"
            sinks[canonical] = _Growable(np.int64, capacity)
        elif typ in _NUMERIC and name in column_types:
            sinks[canonical] = _Growable(_NUMERIC[typ], capacity)
        elif canonical == "model":
            sinks[canonical] = _Categories(capacity)
        else:
            sinks[canonical] = []
    rows = 0
    batch: pa.RecordBatch | None = first
    try:
        while batch is not None:
            for canonical, name in mapping.items():
                _append(sinks[canonical], batch.column(name))
            rows += batch.num_rows
            batch = next(batches, None)
    except pa.ArrowInvalid as exc:
        raise SlowPath(str(exc)) from exc
    out: dict[str, Any] = {}
    for canonical, sink in sinks.items():
        if isinstance(sink, list):
            out[canonical] = pa.chunked_array(sink, type=first.schema.field(mapping[canonical]).type)
        else:
            out[canonical] = sink.result()
    return out, rows, zone


def _append(sink: Any, array: pa.Array) -> None:
    if isinstance(sink, list):
        sink.append(array)
        return
    if isinstance(sink, _Categories):
        sink.append(array)
        return
    if array.null_count:
        raise SlowPath("empty value in a numeric column")
    if pa.types.is_timestamp(array.type):
        array = array.cast(pa.int64())
    sink.append(array.to_numpy(zero_copy_only=False))


def _estimate_rows(source: Source, first: pa.RecordBatch) -> int:
    """Rows in the file, from its size and the first batch (≈ 1 MiB of text); +5 % and a margin."""
    size = len(source.data) if source.data is not None else None
    if size is None and source.path is not None and not source.gzipped:
        size = source.path.stat().st_size
    if size is None:
        return first.num_rows * 8
    per_block = pa_csv.ReadOptions().block_size
    estimate = size / per_block * first.num_rows if size > per_block else first.num_rows
    return int(estimate * 1.05) + 1024
