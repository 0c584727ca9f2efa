"""Read CSV, JSON Lines and Parquet trace files into a :class:`RawTable` of canonical-named columns.

Each reader has a fast path (pyarrow, typed, multithreaded, no Python per row) used for well-formed
files, and a slow path taken only when the fast one fails, which reads everything as text and records the
line of every row so that errors can name it (CSV: pyarrow with an invalid-row handler; JSONL: one
``json.loads`` per line — the only Python loop over records, and it runs on malformed files only).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from breakeven.errors import InputError
from traces._assemble import RawTable
from traces._csv_stream import SlowPath, stream_csv
from traces._meta import META_KEY, meta_from_json
from traces._source import Source, nonempty_line_numbers
from traces.formats import (
    GENERIC_FORMATS,
    Container,
    FormatSpec,
    container_of,
    detect_format,
    get_format,
    resolve_columns,
    split_csv_header,
)
from traces.model import REQUIRED_COLUMNS

_TOKENS = ("input_tokens", "output_tokens", "cached_tokens")


def _rename(table: pa.Table, mapping: Mapping[str, str]) -> dict[str, Any]:
    """Select the mapped source columns and name them canonically (STYLE.md habit 3)."""
    return {canonical: table.column(source) for canonical, source in mapping.items()}


def _described(
    source: Source, spec: FormatSpec, mapping: dict[str, str], note: str | None, unit: str
) -> dict[str, Any]:
    """The :class:`RawTable` fields that say where the columns came from, filled alike by every reader."""
    return {
        "source": source.name,
        "format": spec.name,
        "mapping": mapping,
        "time_unit": unit,
        "notes": [note] if note else [],
    }


def _unit(spec: FormatSpec, time_unit: str | None) -> str:
    if time_unit is not None:
        return time_unit
    return "auto" if spec.name in GENERIC_FORMATS else spec.time_unit


# --------------------------------------------------------------------------------------------- CSV


def _csv_types(mapping: Mapping[str, str], spec: FormatSpec, unit: str) -> dict[str, pa.DataType]:
    types: dict[str, pa.DataType] = {}
    for canonical, source in mapping.items():
        if canonical in _TOKENS:
            types[source] = pa.int64()
        elif canonical == "arrival_s":
            if spec.time_type == "naive" and unit == "iso":
                types[source] = pa.timestamp("ns")
            elif spec.time_type == "utc" and unit == "iso":
                types[source] = pa.timestamp("ns", "UTC")
            elif unit not in ("iso", "auto"):
                types[source] = pa.float64()
        elif canonical == "model":
            types[source] = pa.dictionary(pa.int32(), pa.string())
        else:
            types[source] = pa.string()
    return types


def read_csv(source: Source, spec: FormatSpec, user: Mapping[str, str] | None, time_unit: str | None) -> RawTable:
    """Read a CSV trace (any of the CSV formats) into canonical-named columns."""
    head = source.head()
    first_line = head.split(b"\n", 1)[0].decode("utf-8", errors="replace")
    header = split_csv_header(first_line)
    if not first_line.strip():
        raise InputError(f"{source.name}:1: expected a CSV header line, found an empty line")
    mapping, note = resolve_columns(spec, header, user, source=source.name)
    _check_unique_header(header, mapping, source.name)
    unit = _unit(spec, time_unit)
    sources = list(dict.fromkeys(mapping.values()))
    raw_args: dict[str, Any] = {"columns": {}, "n_rows": 0, **_described(source, spec, mapping, note, unit)}
    try:
        columns, rows, zone = stream_csv(source, mapping, _csv_types(mapping, spec, unit))
    except SlowPath:
        return _read_csv_slow(source, mapping, sources, raw_args)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{source.name}: cannot read as CSV ({exc}); expected CSV text") from exc
    raw_args.update(columns=columns, n_rows=rows, time_zone=zone)
    raw_args["locate"] = lambda: nonempty_line_numbers(source.raw())[1:]
    return RawTable(**raw_args)


def _valid_utf8(data: bytes) -> bytes:
    """``data`` with bytes that are not UTF-8 replaced by U+FFFD (lines stay where they are), so that pyarrow's
    invalid-row handler can decode every row and the bad values are reported as bad values."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="replace").encode("utf-8")
    return data


def _check_unique_header(header: list[str], mapping: Mapping[str, str], name: str) -> None:
    """A column the trace reads must appear once in the header (a reader would silently take the first)."""
    for column in dict.fromkeys(mapping.values()):
        positions = [i + 1 for i, h in enumerate(header) if h == column]
        if len(positions) > 1:
            raise InputError(
                f"{name}:1: column {column!r} appears {len(positions)} times in the header (columns "
                f"{', '.join(map(str, positions))}); expected each column name once (rename or drop the extra one)"
            )


def _read_csv_slow(
    source: Source, mapping: Mapping[str, str], sources: list[str], raw_args: dict[str, Any]
) -> RawTable:
    malformed: list[tuple[int, str]] = []

    def on_invalid(row: Any) -> str:
        malformed.append(
            (int(row.number or 0), f"expected {row.expected_columns} fields, found {row.actual_columns}: {row.text!r}")
        )
        return "skip"

    data = _valid_utf8(source.raw())
    try:
        table = pa_csv.read_csv(
            pa.BufferReader(data),
            read_options=pa_csv.ReadOptions(use_threads=False),
            parse_options=pa_csv.ParseOptions(invalid_row_handler=on_invalid),
            convert_options=pa_csv.ConvertOptions(
                include_columns=sources,
                column_types=dict.fromkeys(sources, pa.string()),
                null_values=[""],
                strings_can_be_null=True,
            ),
        )
    except pa.ArrowException as exc:
        raise InputError(f"{source.name}: cannot read as CSV ({exc}); expected CSV text") from exc
    lines = nonempty_line_numbers(data)
    # pyarrow numbers rows among the non-empty lines, header included, from 1.
    bad_index = np.array([m[0] - 1 for m in malformed], dtype=np.int64)
    fixed = [
        (int(lines[i]) if 0 <= i < len(lines) else int(i) + 1, m[1]) for i, m in zip(bad_index, malformed, strict=True)
    ]
    body, drop = lines[1:], bad_index - 1
    if len(drop) and (drop.min() < 0 or drop.max() >= len(body)):
        row_lines = np.zeros(0, dtype=np.int64)  # rows and lines do not line up (quoted newlines): use record numbers
    else:
        row_lines = np.delete(body, drop) if len(drop) else body
    raw_args["columns"] = _rename(table, mapping)
    raw_args["malformed"] = fixed
    n_rows = raw_args["n_rows"] = table.num_rows
    raw_args["locate"] = lambda: row_lines if len(row_lines) == n_rows else None
    if len(row_lines) != n_rows:  # quoted newlines: fall back to record numbers
        raw_args["row_word"] = "record"
    return RawTable(**raw_args)


# --------------------------------------------------------------------------------------------- JSONL


def read_jsonl(source: Source, spec: FormatSpec, user: Mapping[str, str] | None, time_unit: str | None) -> RawTable:
    """Read a JSON Lines trace (Mooncake, canonical or generic) into canonical-named columns."""
    unit = _unit(spec, time_unit)
    try:
        table = pa_json.read_json(source.arrow_input())
        names = table.column_names  # a key that is not UTF-8 fails here, not in read_json
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return _read_jsonl_slow(source, spec, user, unit)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{source.name}: cannot read as JSON Lines ({exc}); expected one JSON object a line") from exc
    mapping, note = resolve_columns(spec, names, user, source=source.name)
    return RawTable(
        columns=_rename(table, mapping),
        n_rows=table.num_rows,
        locate=lambda: nonempty_line_numbers(source.raw()),
        **_described(source, spec, mapping, note, unit),
    )


def _read_jsonl_slow(source: Source, spec: FormatSpec, user: Mapping[str, str] | None, unit: str) -> RawTable:
    records: list[dict[str, Any]] = []
    lines: list[int] = []
    malformed: list[tuple[int, str]] = []
    keys: dict[str, None] = {}
    for number, line in enumerate(source.raw().split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            malformed.append(
                (number, f"expected a JSON object, found invalid JSON ({exc.msg if hasattr(exc, 'msg') else exc})")
            )
            continue
        if not isinstance(record, dict):
            malformed.append((number, f"expected a JSON object, found {type(record).__name__}"))
            continue
        records.append(record)
        lines.append(number)
        keys.update(dict.fromkeys(record))
    mapping, note = resolve_columns(spec, list(keys), user, source=source.name)
    columns = {}
    for canonical, key in mapping.items():
        values = [r.get(key) for r in records]
        columns[canonical] = pa.chunked_array([_loose_array(values)])
    row_lines = np.asarray(lines, dtype=np.int64)
    return RawTable(
        columns=columns,
        n_rows=len(records),
        locate=lambda: row_lines,
        malformed=malformed,
        **_described(source, spec, mapping, note, unit),
    )


def _loose_array(values: list[Any]) -> pa.Array:
    """An Arrow array from JSON values of possibly mixed types (mixed → strings, checked later)."""
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):  # mixed types, or an int beyond int64
        return pa.array(
            [None if v is None else (json.dumps(v) if isinstance(v, list | dict) else str(v)) for v in values]
        )


# --------------------------------------------------------------------------------------------- Parquet


def read_parquet(source: Source, spec: FormatSpec, user: Mapping[str, str] | None, time_unit: str | None) -> RawTable:
    """Read a Parquet trace (canonical or generic with a mapping)."""
    try:
        # ParquetFile.read gives one Arrow chunk per row group (read_table would cut 128 Ki-row batches);
        # our own files have one row group, so numpy views the columns without copying them.
        parquet = pq.ParquetFile(source.arrow_input())
        schema = parquet.schema_arrow
        mapping, note = resolve_columns(spec, list(schema.names), user, source=source.name)
        table = parquet.read(columns=list(dict.fromkeys(mapping.values())))
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{source.name}: cannot read as Parquet ({exc}); expected a complete Parquet file") from exc
    meta = (schema.metadata or {}).get(META_KEY)
    return RawTable(
        columns=_rename(table, mapping),
        n_rows=table.num_rows,
        row_word="row",
        inherited=meta_from_json(meta) if meta else None,
        **_described(source, spec, mapping, note, _unit(spec, time_unit)),
    )


# --------------------------------------------------------------------------------------------- dispatch

READERS: dict[Container, Callable[[Source, FormatSpec, Mapping[str, str] | None, str | None], RawTable]] = {
    "csv": read_csv,
    "jsonl": read_jsonl,
    "parquet": read_parquet,
}
"""The reader of each container."""


def resolve_format(source: Source, format: str | None, head: bytes) -> tuple[FormatSpec, Container]:
    """The format ``source`` is read as and its container: ``format`` when given, else detected from the
    first bytes, ``head`` (:func:`traces.formats.detect_format`; a Parquet file with the required canonical
    columns is ``canonical``)."""
    if format is None:
        name, container = detect_format(head, source=source.name, suffix=source.suffix)
        if container == "parquet" and _is_canonical_parquet(source):
            name = "canonical"
    else:
        spec = get_format(format, context=source.name)
        if not head.strip():
            raise InputError(f"{source.name}: empty file; expected a trace with at least one request")
        name, container = spec.name, container_of(spec.name, head, source=source.name, suffix=source.suffix)
    return get_format(name, context=source.name), container


def _is_canonical_parquet(source: Source) -> bool:
    try:
        names = set(pq.read_schema(source.arrow_input()).names)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{source.name}: cannot read as Parquet ({exc}); expected a complete Parquet file") from exc
    return set(REQUIRED_COLUMNS) <= names
