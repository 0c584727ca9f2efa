"""Traces larger than memory: a partitioned Parquet dataset, read lazily in time order (see docs/scale.md).

A dataset is a folder (or a glob) of canonical Parquet files — ``arrival_s``, ``input_tokens``,
``output_tokens`` and the optional canonical columns — each holding a stretch of time, e.g. one file per
day. :func:`open_dataset` reads only the files' footers (row counts and the ``arrival_s`` range of each),
orders the files by time and checks that they do not overlap; the requests are read one partition at a time
(:meth:`TraceDataset.read`, :meth:`TraceDataset.batches`), so a month of traffic never has to fit in memory.

Arrivals share one clock across files: seconds since the dataset's first request. Files written by
:func:`convert_to_dataset` / :func:`write_dataset` store them that way; files that each start at 0 but carry
their absolute ``start_time`` (``write_trace`` of separately loaded days) are shifted by their start times.

:func:`convert_to_dataset` writes a dataset from a trace file of any supported format in bounded memory:
the file is read in pieces of about ``piece_bytes`` (cut at line breaks; Parquet by row group), each piece
parsed and checked by the same loader as :func:`traces.load_trace` — on one clock, with line numbers of
the whole file in errors — and written out one partition (``partition_s`` of time, at most ``max_rows``
rows) at a time.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import json
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from breakeven.errors import InputError
from breakeven.io import atomic_write_text
from traces._assemble import assemble
from traces._csv_stream import _pieces
from traces._meta import META_KEY, meta_from_json, skipped_from_json
from traces._readers import READERS, resolve_format
from traces._source import Source
from traces.formats import Container, FormatSpec, normalize_columns
from traces.model import CANONICAL_COLUMNS, REQUIRED_COLUMNS, SkippedRows, Trace, TraceMeta
from traces.writer import write_trace

PART_PATTERN = "part-{:05d}.parquet"
MANIFEST = "_dataset.json"
DEFAULT_PARTITION_S = 86_400.0
"""One partition per day of traffic."""
DEFAULT_MAX_ROWS = 8_000_000
"""At most this many requests per file (~200 MB in memory while it is written or read)."""
DEFAULT_PIECE_BYTES = 64 << 20
"""Bytes of the source file parsed at a time."""


@dataclass(frozen=True)
class Partition:
    """One file of a dataset: its path, request count and arrival range as stored (before the offset)."""

    path: str
    rows: int
    first_s: float
    last_s: float
    offset_s: float = 0.0
    """Seconds added to the stored ``arrival_s`` to put the file on the dataset's clock."""


@dataclass(frozen=True)
class TraceDataset:
    """A trace as time-ordered Parquet partitions, read lazily. Treat as immutable; :meth:`scaled` returns a
    new view (the files are not rewritten)."""

    root: str
    partitions: tuple[Partition, ...]
    columns: tuple[str, ...]
    meta: TraceMeta = field(default_factory=TraceMeta)
    rate_factor: float = 1.0
    """Arrival times are divided by this (``scaled(k)``: k times the request rate)."""
    output_tokens: int | None = None
    """Every request's output length, when overridden (:meth:`with_output_tokens`)."""

    def __len__(self) -> int:
        return sum(p.rows for p in self.partitions)

    @property
    def requests(self) -> int:
        """Requests in the dataset."""
        return len(self)

    @property
    def first_arrival_s(self) -> float:
        """Arrival of the first request [s] (0 for an empty dataset)."""
        if not self.partitions:
            return 0.0
        p = self.partitions[0]
        return (p.first_s + p.offset_s) / self.rate_factor

    @property
    def last_arrival_s(self) -> float:
        """Arrival of the last request [s] (0 for an empty dataset)."""
        if not self.partitions:
            return 0.0
        p = self.partitions[-1]
        return (p.last_s + p.offset_s) / self.rate_factor

    def span(self, i: int) -> tuple[float, float]:
        """First and last arrival of partition ``i`` on the dataset's clock [s] (as :meth:`read` puts them)."""
        p = self.partitions[i]
        return (p.first_s + p.offset_s) / self.rate_factor, (p.last_s + p.offset_s) / self.rate_factor

    @property
    def duration_s(self) -> float:
        """Last arrival minus first arrival [s]."""
        return self.last_arrival_s - self.first_arrival_s if len(self) > 1 else 0.0

    def read(self, i: int, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """Partition ``i`` as a canonical DataFrame on the dataset's clock (only ``columns`` when given)."""
        part = self.partitions[i]
        wanted = [c for c in (columns or self.columns) if c in self.columns]
        if "arrival_s" not in wanted:
            wanted.insert(0, "arrival_s")
        df = read_partition(part.path, wanted)
        if part.offset_s != 0.0 or self.rate_factor != 1.0:
            arrival = df["arrival_s"].to_numpy()
            if part.offset_s != 0.0:
                arrival = arrival + part.offset_s
            if self.rate_factor != 1.0:
                arrival = arrival / self.rate_factor  # as traces.scale_rate: the same floats as in memory
            df["arrival_s"] = arrival
        if self.output_tokens is not None and "output_tokens" in df.columns:
            df["output_tokens"] = np.full(len(df), self.output_tokens, dtype=np.int64)
        return df

    def batches(self, columns: Sequence[str] | None = None) -> Iterator[pd.DataFrame]:
        """The partitions in time order, one DataFrame at a time."""
        for i in range(len(self.partitions)):
            yield self.read(i, columns)

    def scaled(self, k: float) -> TraceDataset:
        """The same requests at ``k`` times the rate (arrivals divided by ``k``), lazily."""
        if not (math.isfinite(k) and k > 0):
            raise InputError(f"scale_rate: expected a positive factor k, found {k!r}")
        meta = replace(self.meta, transforms=(*self.meta.transforms, f"scale_rate(k={k:g})"))
        return replace(self, rate_factor=self.rate_factor * float(k), meta=meta)

    def with_output_tokens(self, output_tokens: int) -> TraceDataset:
        """The same arrivals and inputs with every request's output length set to ``output_tokens``."""
        if output_tokens < 0:
            raise InputError(f"output tokens: expected a non-negative count, found {output_tokens}")
        meta = replace(self.meta, transforms=(*self.meta.transforms, f"override_output({output_tokens})"))
        return replace(self, output_tokens=int(output_tokens), meta=meta)

    def take(self, rows: npt.NDArray[np.integer], columns: Sequence[str]) -> pd.DataFrame:
        """``columns`` of the dataset's ``rows`` (row numbers of the whole dataset, in any order), in that
        order, read partition by partition (only those holding one of them)."""
        order = np.argsort(rows, kind="stable")
        wanted = np.asarray(rows)[order]
        pieces, first = [], 0
        for k, part in enumerate(self.partitions):
            lo, hi = np.searchsorted(wanted, [first, first + part.rows])
            if hi > lo:
                pieces.append(self.read(k, columns)[list(columns)].iloc[wanted[lo:hi] - first])
            first += part.rows
        taken = pd.concat(pieces, ignore_index=True) if pieces else _empty()[list(columns)]
        return taken.iloc[np.argsort(order, kind="stable")].reset_index(drop=True)

    def head(self, rows: int) -> Trace:
        """The first ``rows`` requests as an in-memory :class:`Trace`."""
        frames, have = [], 0
        for df in self.batches():
            frames.append(df.iloc[: rows - have])
            have += len(frames[-1])
            if have >= rows:
                break
        df = pd.concat(frames, ignore_index=True) if frames else _empty()
        return Trace(df=df, meta=replace(self.meta, transforms=(*self.meta.transforms, f"head({rows})")))

    def to_trace(self, *, max_rows: int | None = None) -> Trace:
        """The whole dataset in memory (refused above ``max_rows`` requests, naming the dataset)."""
        if max_rows is not None and len(self) > max_rows:
            raise InputError(
                f"{self.root}: {len(self):,} requests do not fit in memory here (limit {max_rows:,}); expected a "
                "function that reads the dataset partition by partition"
            )
        frames = list(self.batches())
        df = pd.concat(frames, ignore_index=True) if frames else _empty()
        return Trace(df=df, meta=self.meta)


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "arrival_s": np.zeros(0),
            "input_tokens": np.zeros(0, dtype=np.int64),
            "output_tokens": np.zeros(0, dtype=np.int64),
        }
    )


# ----------------------------------------------------------------------------------------------- reading


def is_dataset(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names a dataset: a folder, or a glob pattern."""
    text = os.fspath(path)
    return Path(text).is_dir() or any(ch in text for ch in "*?[")


def _files(path: str) -> list[str]:
    if Path(path).is_dir():
        files = sorted(str(p) for p in Path(path).glob("*.parquet") if not p.name.startswith((".", "_")))
    else:
        pattern = Path(path)
        files = sorted(str(f) for f in pattern.parent.glob(pattern.name) if f.is_file())
    if not files:
        raise InputError(f"{path}: no Parquet files found; expected a dataset folder of *.parquet files or a glob")
    return files


def open_dataset(path: str | os.PathLike[str]) -> TraceDataset:
    """Open a dataset (folder or glob of canonical Parquet files) from the files' footers, in time order.

    Raises :class:`InputError` naming the file when one is not Parquet, lacks a canonical column, or
    overlaps another in time.
    """
    root = os.fspath(path)
    parts: list[Partition] = []
    metas: list[TraceMeta | None] = []
    columns: tuple[str, ...] | None = None
    for file in _files(root):
        try:
            pf = pq.ParquetFile(file)
        except (OSError, pa.ArrowException) as exc:
            raise InputError(
                f"{file}: cannot read as Parquet ({exc}); expected a partition of a trace dataset"
            ) from exc
        names = tuple(c for c in CANONICAL_COLUMNS if c in pf.schema_arrow.names)
        missing = [c for c in REQUIRED_COLUMNS if c not in names]
        if missing:
            raise InputError(
                f"{file}: missing column(s) {missing}; expected the canonical trace columns "
                "(convert files with `breakeven trace convert FILE -o DIR/`)"
            )
        columns = names if columns is None else tuple(c for c in columns if c in names)
        rows = pf.metadata.num_rows
        if rows == 0:
            continue
        first, last = _arrival_range(pf, file)
        blob = (pf.schema_arrow.metadata or {}).get(META_KEY)
        metas.append(meta_from_json(blob) if blob else None)
        parts.append(Partition(path=file, rows=rows, first_s=first, last_s=last))
    parts = _on_one_clock(parts, metas)
    parts.sort(key=lambda p: (p.first_s + p.offset_s, p.last_s + p.offset_s))
    for a, b in itertools.pairwise(parts):
        if b.first_s + b.offset_s < a.last_s + a.offset_s:
            raise InputError(
                f"{b.path}: its requests ({_span(b)}) overlap those of {a.path} ({_span(a)}); expected partitions "
                "that each hold their own stretch of time (e.g. one file per day)"
            )
    meta = _dataset_meta(root, metas)
    return TraceDataset(root=root, partitions=tuple(parts), columns=columns or REQUIRED_COLUMNS, meta=meta)


def _span(p: Partition) -> str:
    return f"{p.first_s + p.offset_s:,.3f}–{p.last_s + p.offset_s:,.3f} s"


def _arrival_range(pf: pq.ParquetFile, file: str) -> tuple[float, float]:
    """Min and max ``arrival_s`` from the row-group statistics (read from the column when absent)."""
    index = pf.schema_arrow.names.index("arrival_s")
    lo, hi = math.inf, -math.inf
    for g in range(pf.metadata.num_row_groups):
        stats = pf.metadata.row_group(g).column(index).statistics
        if stats is None or not stats.has_min_max:
            values = pf.read(columns=["arrival_s"]).column(0).to_numpy()
            return float(values.min()), float(values.max())
        lo, hi = min(lo, float(stats.min)), max(hi, float(stats.max))
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise InputError(f"{file}: column 'arrival_s': expected finite seconds, found {lo!r}..{hi!r}")
    return lo, hi


def _on_one_clock(parts: list[Partition], metas: list[TraceMeta | None]) -> list[Partition]:
    """Files that each start their clock at 0 but know their absolute start: shift them onto one clock."""
    starts = [m.start_time if m is not None else None for m in metas]
    if not parts or any(s is None for s in starts) or len(set(starts)) == 1:
        return parts
    base = min(s for s in starts if s is not None)
    return [
        replace(p, offset_s=(s - base).total_seconds())  # type: ignore[operator]
        for p, s in zip(parts, starts, strict=True)
    ]


def _dataset_meta(root: str, metas: list[TraceMeta | None]) -> TraceMeta:
    manifest = Path(root) / MANIFEST
    first = next((m for m in metas if m is not None), None) or TraceMeta()
    starts = [m.start_time for m in metas if m is not None and m.start_time is not None]
    meta = replace(first, source=root, format="dataset", start_time=min(starts) if starts else None)
    if manifest.is_file():
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
            meta = replace(
                meta,
                skipped=skipped_from_json(data.get("skipped") or {}),
                warnings=tuple(str(w) for w in data.get("warnings", ())),
            )
        except (ValueError, TypeError, AttributeError) as exc:
            raise InputError(
                f"{manifest}: not a dataset manifest ({exc}); expected the JSON `trace convert` writes"
            ) from exc
    return meta


def read_partition(path: str, columns: Sequence[str]) -> pd.DataFrame:
    """One partition file's ``columns`` as a canonical DataFrame, checked (sorted, finite, counts ≥ 0)."""
    try:
        table = pq.ParquetFile(path).read(columns=list(columns))
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{path}: cannot read as Parquet ({exc})") from exc
    df = table.to_pandas(split_blocks=True, self_destruct=True)
    arrival = df["arrival_s"].to_numpy(dtype=np.float64)
    bad = ~np.isfinite(arrival) | (arrival < 0)
    if bad.any():
        row = int(np.argmax(bad))
        raise InputError(
            f"{path}: row {row + 1}, column 'arrival_s': expected finite seconds ≥ 0, found {arrival[row]!r}"
        )
    if arrival.size > 1 and (np.diff(arrival) < 0).any():
        df = df.iloc[np.argsort(arrival, kind="stable")].reset_index(drop=True)
    for name in ("input_tokens", "output_tokens", "cached_tokens"):
        if name in df.columns:
            values = df[name].to_numpy()
            if values.dtype.kind not in "iu" or (values.size and values.min() < 0):
                raise InputError(f"{path}: column {name!r}: expected non-negative integer token counts")
            if values.dtype != np.int64:
                df[name] = values.astype(np.int64)
    return df


# ----------------------------------------------------------------------------------------------- writing


@dataclass
class _Writer:
    """Writes time-ordered rows into partition files: a new file at every ``partition_s`` boundary and
    every ``max_rows`` rows."""

    folder: Path
    meta: TraceMeta
    partition_s: float
    max_rows: int
    files: list[str] = field(default_factory=list)
    rows: int = 0
    written_until: float = -math.inf

    def write(self, df: pd.DataFrame) -> None:
        """Write ``df`` (sorted, arrivals ≥ everything written so far) as one or more partitions."""
        if df.empty:
            return
        arrival = df["arrival_s"].to_numpy()
        window = np.floor(arrival / self.partition_s).astype(np.int64)
        cuts = np.flatnonzero(np.diff(window)) + 1
        for chunk in np.split(np.arange(len(df)), cuts):
            for start in range(0, len(chunk), self.max_rows):
                rows = chunk[start : start + self.max_rows]
                part = df.iloc[int(rows[0]) : int(rows[-1]) + 1].reset_index(drop=True)
                path = self.folder / PART_PATTERN.format(len(self.files))
                write_trace(Trace(df=part, meta=self.meta), path)
                self.files.append(str(path))
                self.rows += len(part)
        self.written_until = float(arrival[-1])


def _check_output(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder}: expected a folder for the dataset, found a file")
    if folder.is_dir() and any(folder.glob("*.parquet")):
        raise InputError(f"{folder}: the folder already holds Parquet files; expected a new or empty folder")


def write_dataset(
    trace: Trace,
    folder: str | os.PathLike[str],
    *,
    partition_s: float = DEFAULT_PARTITION_S,
    max_rows: int = DEFAULT_MAX_ROWS,
) -> TraceDataset:
    """Write an in-memory trace as a dataset (one file per ``partition_s`` of time, at most ``max_rows``
    requests each) and open it."""
    out = Path(folder)
    _check_partitioning(partition_s, max_rows)
    _check_output(out)
    out.mkdir(parents=True, exist_ok=True)
    writer = _Writer(out, trace.meta, partition_s, max_rows)
    writer.write(trace.df)
    _write_manifest(out, trace.meta, writer)
    return open_dataset(out)


def _check_partitioning(partition_s: float, max_rows: int) -> None:
    if not (math.isfinite(partition_s) and partition_s > 0):
        raise InputError(f"option --partition: expected a positive duration, found {partition_s!r}")
    if max_rows < 1:
        raise InputError(f"option --max-rows: expected at least 1 row per file, found {max_rows}")


def _write_manifest(folder: Path, meta: TraceMeta, writer: _Writer) -> None:
    atomic_write_text(
        folder / MANIFEST,
        json.dumps(
            {
                "format": "llm-breakeven/trace-dataset/v1",
                "source": meta.source,
                "requests": writer.rows,
                "files": [Path(f).name for f in writer.files],
                "start_time": meta.start_time.isoformat() if meta.start_time else None,
                "skipped": dataclasses.asdict(meta.skipped),
                "warnings": list(meta.warnings),
                "transforms": list(meta.transforms),
            },
            indent=2,
        )
        + "\n",
    )


@dataclass
class _Pieces:
    """The pieces of a source file as small in-memory sources, with the line number each starts at."""

    source: Source
    container: str
    piece_bytes: int

    def __iter__(self) -> Iterator[tuple[Source, int]]:
        if self.container == "parquet":
            yield from self._parquet()
            return
        header = b""
        line = 1
        for k, piece in enumerate(_pieces(self.source, self.piece_bytes)):
            data = bytes(piece)
            if k == 0 and self.container == "csv":
                header = data[: data.find(b"\n") + 1] if b"\n" in data else data
                yield Source(name=self.source.name, data=data), 0
            elif self.container == "csv":
                yield Source(name=self.source.name, data=header + data), line - 2
            else:
                yield Source(name=self.source.name, data=data), line - 1
            line += data.count(b"\n")

    def _parquet(self) -> Iterator[tuple[Source, int]]:
        pf = pq.ParquetFile(self.source.arrow_input())
        done = 0
        rows = max(1, self.piece_bytes // 64)
        for batch in pf.iter_batches(batch_size=rows):
            buf = io.BytesIO()
            pq.write_table(pa.Table.from_batches([batch]).replace_schema_metadata(pf.schema_arrow.metadata), buf)
            yield Source(name=self.source.name, data=buf.getvalue()), done
            done += batch.num_rows


def convert_to_dataset(
    src: str | os.PathLike[str],
    folder: str | os.PathLike[str],
    *,
    format: str | None = None,
    columns: Mapping[str, str] | None = None,
    time_unit: str | None = None,
    skip_bad_rows: bool = False,
    partition_s: float = DEFAULT_PARTITION_S,
    max_rows: int = DEFAULT_MAX_ROWS,
    piece_bytes: int = DEFAULT_PIECE_BYTES,
    transform: Any = None,
) -> TraceDataset:
    """Convert a trace file of any supported format into a dataset in bounded memory (see the module
    docstring); returns the opened dataset.

    ``transform``: an optional function applied to each piece's :class:`Trace` (a drop or a rate scaling
    that acts request by request). Rows may be out of order within a piece and the next one; a row that
    arrives before a partition already written is an error (sort the file first).
    """
    source = Source.open(src)
    out = Path(folder)
    _check_partitioning(partition_s, max_rows)
    _check_output(out)
    user = normalize_columns(columns, context=f"{source.name}: column mapping") if columns else None
    spec, container = resolve_format(source, format, source.head())
    pieces = _piece_traces(
        source,
        spec,
        container,
        user=user,
        time_unit=time_unit,
        skip_bad_rows=skip_bad_rows,
        piece_bytes=piece_bytes,
    )
    writer: _Writer | None = None
    pending: list[pd.DataFrame] = []
    pending_rows = 0
    log = _PieceLog()
    out.mkdir(parents=True, exist_ok=True)
    try:
        for trace, line_offset in pieces:
            piece = transform(trace) if transform is not None else trace
            log.add(piece.meta)
            if writer is None:
                writer = _Writer(out, replace(piece.meta, source=source.name), partition_s, max_rows)
            if piece.df.empty:
                continue
            first = float(piece.df["arrival_s"].iloc[0])
            _check_in_order(source.name, writer, first, line_offset)
            pending.append(piece.df)
            pending_rows += len(piece.df)
            # rows before this piece's first arrival are final; write whole partitions of them
            boundary = math.floor(first / partition_s) * partition_s
            if pending_rows >= max_rows:
                boundary = max(boundary, first)
            pending, pending_rows = _flush(writer, pending, below=boundary)
        if writer is None:
            raise InputError(f"{source.name}: no requests in the file; expected at least one data row")
        _flush(writer, pending, below=math.inf)
    except BaseException:
        for file in writer.files if writer is not None else []:
            Path(file).unlink(missing_ok=True)
        raise
    if writer.rows == 0:
        raise InputError(f"{source.name}: no requests left to write")
    _write_manifest(out, log.into(writer.meta), writer)
    return open_dataset(out)


def _piece_traces(
    source: Source,
    spec: FormatSpec,
    container: Container,
    *,
    user: Mapping[str, str] | None,
    time_unit: str | None,
    skip_bad_rows: bool,
    piece_bytes: int,
) -> Iterator[tuple[Trace, int]]:
    """Each piece of ``source`` loaded as a trace, on the clock of the first piece, with the line its rows
    start after."""
    origin: float | int | None = None
    for piece, line_offset in _Pieces(source, container, piece_bytes):
        raw = READERS[container](piece, spec, user, time_unit)
        raw.origin, raw.line_offset = origin, line_offset
        raw.block_tokens = raw.block_tokens or spec.block_tokens
        trace = assemble(raw, skip_bad_rows=skip_bad_rows)
        origin = raw.origin
        yield trace, line_offset


def _check_in_order(name: str, writer: _Writer, first: float, line_offset: int) -> None:
    """A piece whose first request arrives before what is already written cannot be converted in pieces."""
    if first < writer.written_until:
        raise InputError(
            f"{name}: requests near line {line_offset + 2:,} arrive at {first:,.3f} s, before "
            f"{writer.written_until:,.3f} s already written to {Path(writer.files[-1]).name}; expected a "
            "file in time order (sort it first, or convert it whole with `trace convert FILE -o out.parquet`)"
        )


@dataclass
class _PieceLog:
    """What the pieces of a converted file skipped and warned, gathered for the dataset's manifest."""

    count: int = 0
    lines: list[int] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def add(self, meta: TraceMeta) -> None:
        self.count += meta.skipped.count
        self.lines += list(meta.skipped.first_lines)
        self.reasons += list(meta.skipped.reasons)
        self.warnings += [w for w in meta.warnings if not w.startswith("skipped ")]

    def into(self, meta: TraceMeta) -> TraceMeta:
        """``meta`` with the skipped rows (first 10) and the warnings (each once) of all pieces."""
        skipped = SkippedRows(count=self.count, first_lines=tuple(self.lines[:10]), reasons=tuple(self.reasons[:10]))
        return replace(meta, skipped=skipped, warnings=tuple(dict.fromkeys(self.warnings)))


def _flush(writer: _Writer, pending: list[pd.DataFrame], *, below: float) -> tuple[list[pd.DataFrame], int]:
    """Write the pending rows that arrive before ``below``; keep the rest (merged, sorted)."""
    if not pending:
        return [], 0
    df = pending[0] if len(pending) == 1 else pd.concat(pending, ignore_index=True)
    arrival = df["arrival_s"].to_numpy()
    if len(pending) > 1 and (np.diff(arrival) < 0).any():
        df = df.iloc[np.argsort(arrival, kind="stable")].reset_index(drop=True)
        arrival = df["arrival_s"].to_numpy()
    cut = int(np.searchsorted(arrival, below, side="left"))
    if cut:
        writer.write(df.iloc[:cut].reset_index(drop=True))
    rest = df.iloc[cut:].reset_index(drop=True)
    return ([rest], len(rest)) if len(rest) else ([], 0)
