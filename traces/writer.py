"""``write_trace``: save a trace in the canonical columns as Parquet, CSV or JSON Lines, atomically.

Parquet keeps the metadata (source, start time, transforms, ...) in the file's key-value metadata, so a
trace converted once reloads with its history; CSV and JSONL carry only the columns. In CSV, ``hash_ids``
is written as space-separated integers (``0 1 2``) and read back the same way.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from breakeven.errors import InputError, UnknownNameError
from breakeven.io import atomic_path
from traces._meta import META_KEY, meta_from_json, meta_to_json
from traces.model import CANONICAL_COLUMNS, Trace

__all__ = ["WRITE_SUFFIXES", "meta_from_json", "meta_to_json", "to_arrow", "write_trace"]

WRITE_SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def write_trace(trace: Trace, path: str | os.PathLike[str], *, format: str | None = None) -> Path:
    """Write ``trace`` to ``path`` (format from the suffix: .parquet, .csv, .jsonl) and return the path.

    Only canonical columns are written, in glossary order. The file appears all at once (temporary file +
    rename): an error never leaves a half-written trace.
    """
    target = Path(path)
    kind = format or WRITE_SUFFIXES.get(target.suffix.lower())
    if kind not in ("parquet", "csv", "jsonl"):
        raise UnknownNameError("trace output suffix", target.suffix or "(none)", WRITE_SUFFIXES, context=f"{target}")
    table = to_arrow(trace)
    with atomic_path(target) as tmp:
        if kind == "parquet":
            meta = dict(table.schema.metadata or {})
            meta[META_KEY] = meta_to_json(trace.meta).encode()
            # One row group (up to 64 Mi rows): each column reads back as one Arrow chunk, which numpy can
            # view without a copy, so a reload needs little more memory than the DataFrame itself.
            rows = min(max(table.num_rows, 1), 1 << 26)
            pq.write_table(table.replace_schema_metadata(meta), tmp, compression="zstd", row_group_size=rows)
        elif kind == "csv":
            pa_csv.write_csv(_flatten_for_csv(table), tmp, pa_csv.WriteOptions(quoting_style="needed"))
        else:
            _write_jsonl(table, tmp)
    return target


def to_arrow(trace: Trace) -> pa.Table:
    """The canonical columns of ``trace`` as an Arrow table (no pandas index)."""
    df = trace.df
    names = [c for c in CANONICAL_COLUMNS if c in df.columns]
    try:
        table = pa.Table.from_pandas(df[names], preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise InputError(f"cannot convert trace columns {names} to Arrow ({exc})") from exc
    return table.replace_schema_metadata(None)  # no pandas metadata: readers rebuild dtypes themselves


def _flatten_for_csv(table: pa.Table) -> pa.Table:
    for i, name in enumerate(table.column_names):
        col = table.column(i)
        if name == "hash_ids":
            joined = pc.binary_join(col.cast(pa.list_(pa.string())), " ")
            table = table.set_column(i, name, joined)
        elif pa.types.is_dictionary(col.type):
            table = table.set_column(i, name, col.cast(pa.string()))
    return table


def _write_jsonl(table: pa.Table, tmp: Path) -> None:
    """One JSON object per line, built column-wise with Arrow string kernels (no Python loop over requests).

    Numbers use Arrow's shortest round-trip formatting, so floats reload bit for bit; text columns are
    escaped by pandas' JSON encoder.
    """
    n = table.num_rows
    if n == 0:
        tmp.write_bytes(b"")
        return
    parts: list[pa.Array | pa.Scalar] = []
    text_columns = []
    for name in table.column_names:
        col = table.column(name).combine_chunks()
        if name == "hash_ids":
            inner = pc.binary_join(col.cast(pa.list_(pa.string())), ",")
            value = pc.fill_null(pc.binary_join_element_wise(pa.scalar("["), inner, pa.scalar("]"), ""), "null")
        elif pa.types.is_floating(col.type) or pa.types.is_integer(col.type):
            value = col.cast(pa.string())
        else:
            text_columns.append(name)
            continue
        parts += [pa.scalar(("," if parts else "{") + json.dumps(name) + ":"), value]
    if text_columns:
        encoded = table.select(text_columns).to_pandas().to_json(orient="records", lines=True)
        inner = pc.utf8_slice_codeunits(pa.array(encoded.rstrip("\n").split("\n")), 1, -1)  # drop { and }
        parts += [pa.scalar(","), inner]
    parts.append(pa.scalar("}\n"))
    lines = pc.binary_join_element_wise(*parts, "")
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32, count=len(lines) + 1, offset=lines.offset * 4)
    data = lines.buffers()[2]
    tmp.write_bytes(memoryview(data)[int(offsets[0]) : int(offsets[-1])])
