"""``write_trace``: save a trace in the canonical columns as Parquet, CSV or JSON Lines, atomically.

Parquet keeps the metadata (source, start time, transforms, ...) in the file's key-value metadata, so a
trace converted once reloads with its history; CSV and JSONL carry only the columns. In CSV, ``hash_ids``
is written as space-separated integers (``0 1 2``) and read back the same way.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from breakeven.errors import InputError, UnknownNameError
from breakeven.io import atomic_path
from traces._readers import META_KEY
from traces.model import CANONICAL_COLUMNS, SkippedRows, Trace, TraceMeta

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
            pq.write_table(table.replace_schema_metadata(meta), tmp, compression="zstd")
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
    # pandas' C JSON writer, one record per line; lists become JSON arrays.
    df = table.to_pandas()
    if "hash_ids" in df.columns:
        df["hash_ids"] = table.column("hash_ids").to_pylist()
    text = df.to_json(orient="records", lines=True, double_precision=15)
    tmp.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")


def meta_to_json(meta: TraceMeta) -> str:
    """TraceMeta as a small JSON object (stored in Parquet metadata)."""
    return json.dumps(
        {
            "source": meta.source,
            "format": meta.format,
            "start_time": meta.start_time.isoformat() if meta.start_time else None,
            "skipped": {
                "count": meta.skipped.count,
                "first_lines": list(meta.skipped.first_lines),
                "reasons": list(meta.skipped.reasons),
            },
            "warnings": list(meta.warnings),
            "transforms": list(meta.transforms),
        }
    )


def meta_from_json(blob: bytes | str) -> TraceMeta | None:
    """Inverse of :func:`meta_to_json`; ``None`` if the blob is not ours."""
    try:
        data: dict[str, Any] = json.loads(blob)
        skipped = data.get("skipped") or {}
        start = data.get("start_time")
        return TraceMeta(
            source=data.get("source"),
            format=str(data.get("format", "canonical")),
            start_time=datetime.fromisoformat(start) if start else None,
            skipped=SkippedRows(
                count=int(skipped.get("count", 0)),
                first_lines=tuple(int(x) for x in skipped.get("first_lines", ())),
                reasons=tuple(str(x) for x in skipped.get("reasons", ())),
            ),
            warnings=tuple(str(w) for w in data.get("warnings", ())),
            transforms=tuple(str(t) for t in data.get("transforms", ())),
        )
    except (ValueError, TypeError, AttributeError):
        return None
