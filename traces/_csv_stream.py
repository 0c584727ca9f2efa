"""The CSV fast path: parse the file piece by piece with pyarrow's multithreaded reader, straight into
preallocated numpy arrays.

Reading the whole file into one Arrow table and converting it afterwards would hold both copies at once
(and the allocator keeps the freed Arrow blocks); pyarrow's streaming reader keeps memory low but parses
on one core. Pieces of 8 MiB get both: all cores, and peak memory close to the final DataFrame (see
benchmarks/bench_traces.py). The row count is estimated from the file size and the first piece; the
arrays grow by doubling in the rare case the estimate is short, and are trimmed at the end.

Anything unusual — a conversion error, a malformed row, an empty cell in a numeric column — raises
:class:`SlowPath`, and the caller re-reads the file on the slow path, which can name the line.
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Iterator, Mapping
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


PIECE_BYTES = 8 << 20
"""Bytes of CSV text parsed per ``read_csv`` call (in 1 MiB blocks, in parallel). pyarrow's parse buffers
take a few times the piece's size, so bigger pieces cost memory (benchmarks/bench_traces.py)."""


def _pieces(source: Source, piece_bytes: int) -> Iterator[memoryview]:
    """The file's bytes in pieces of about ``piece_bytes`` that end at a line break (the header included).

    Plain files and in-memory data are cut without copying the text twice (seek / memoryview slices);
    a gzip stream is decompressed piece by piece.
    """
    if source.data is not None:
        view = memoryview(source.data)
        start = 0
        while start < len(view):
            end = _cut(view, start, piece_bytes)
            yield view[start:end]
            start = end
        return
    if source.gzipped:
        with gzip.open(source.path, "rb") as handle:  # type: ignore[arg-type]
            yield from _stream_pieces(handle, piece_bytes)
        return
    with source.path.open("rb") as handle:  # type: ignore[union-attr]
        offset = 0
        while True:
            handle.seek(offset)
            data = handle.read(piece_bytes)
            if not data:
                return
            cut = data.rfind(b"\n") + 1 if len(data) == piece_bytes else len(data)
            if cut == 0:  # one line longer than a piece: read on until its end
                rest = handle.read()
                newline = rest.find(b"\n")
                data += rest if newline < 0 else rest[: newline + 1]
                cut = len(data)
            yield memoryview(data)[:cut]
            offset += cut


def _cut(view: memoryview, start: int, piece_bytes: int) -> int:
    end = min(start + piece_bytes, len(view))
    if end == len(view):
        return end
    newline = bytes(view[max(start, end - (1 << 16)) : end]).rfind(b"\n")
    if newline >= 0:
        return max(start, end - (1 << 16)) + newline + 1
    rest = bytes(view[end:]).find(b"\n")  # a very long line: extend the piece to its end
    return len(view) if rest < 0 else end + rest + 1


def _stream_pieces(handle: Any, piece_bytes: int) -> Iterator[memoryview]:
    carry = b""
    while True:
        chunk = handle.read(piece_bytes)
        if not chunk:
            if carry:
                yield memoryview(carry)
            return
        data = carry + chunk
        cut = data.rfind(b"\n")
        if cut < 0:
            carry = data
            continue
        carry = data[cut + 1 :]
        yield memoryview(data)[: cut + 1]


def _total_bytes(source: Source) -> int | None:
    if source.data is not None:
        return len(source.data)
    if source.path is not None and not source.gzipped:
        return source.path.stat().st_size
    return None


def stream_csv(
    source: Source,
    mapping: Mapping[str, str],
    column_types: Mapping[str, pa.DataType],
    *,
    piece_bytes: int | None = None,
) -> tuple[dict[str, Any], int, str | None]:
    """Read the mapped columns; returns (canonical → numpy / Categorical / ChunkedArray, rows, time zone kind).

    The text is cut into pieces at line breaks; each piece is parsed by pyarrow's multithreaded reader
    and copied into the preallocated output arrays before the next is read. Numeric and timestamp
    columns must be typed in ``column_types`` (by source name) to land in numpy; others stay Arrow chunks.
    Raises :class:`SlowPath` when the file needs the careful reader.
    """
    sources = list(dict.fromkeys(mapping.values()))
    convert = pa_csv.ConvertOptions(
        include_columns=sources,
        column_types=dict(column_types),
        null_values=[""],  # 'NaN', 'null', 'NA' are errors to report, not silent gaps
        strings_can_be_null=True,
    )
    sinks: dict[str, Any] = {}
    types: dict[str, pa.DataType] = {}
    zone: str | None = None
    rows = 0
    header: list[str] | None = None
    total = _total_bytes(source)
    for piece in _pieces(source, piece_bytes or PIECE_BYTES):
        if header is None:
            first_line = bytes(piece[: 1 << 16]).split(b"\n", 1)[0]
            try:
                header = next(csv.reader([first_line.decode("utf-8-sig").rstrip("\r")]))
            except (UnicodeDecodeError, csv.Error, StopIteration) as exc:  # the slow path names the problem
                raise SlowPath(f"header: {exc}") from exc
            read = pa_csv.ReadOptions(column_names=header, skip_rows=1)
        else:
            read = pa_csv.ReadOptions(column_names=header)
        try:
            # The system allocator: blocks freed after each piece are reused by numpy (same malloc).
            table = pa_csv.read_csv(
                pa.BufferReader(pa.py_buffer(piece)),
                read_options=read,
                convert_options=convert,
                memory_pool=pa.system_memory_pool(),
            )
        except pa.ArrowInvalid as exc:
            raise SlowPath(str(exc)) from exc
        if not sinks:
            scale = total / piece.nbytes if total else 8.0
            capacity = int(table.num_rows * scale * 1.02) + 1024
            for canonical, name in mapping.items():
                typ = types[canonical] = table.schema.field(name).type
                if pa.types.is_timestamp(typ):
                    zone = "utc" if typ.tz else "naive"
                    sinks[canonical] = _Growable(np.int64, capacity)
                elif typ in _NUMERIC and name in column_types:
                    sinks[canonical] = _Growable(_NUMERIC[typ], capacity)
                elif canonical == "model":
                    sinks[canonical] = _Categories(capacity)
                else:
                    sinks[canonical] = []
        for canonical, name in mapping.items():
            column = table.column(name)
            if column.type != types[canonical]:
                raise SlowPath(f"column {name!r} changes type between pieces")
            for chunk in column.chunks:
                _append(sinks[canonical], chunk)
        rows += table.num_rows
        del table
    if header is None or not sinks:
        return {name: pa.chunked_array([], pa.string()) for name in mapping}, 0, None
    out: dict[str, Any] = {}
    for canonical, sink in sinks.items():
        out[canonical] = pa.chunked_array(sink, type=types[canonical]) if isinstance(sink, list) else sink.result()
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
