"""Where a trace's bytes come from: a path (read by pyarrow directly, in parallel) or a file-like object.

Also the one place that maps data rows back to physical line numbers, so that every error names a line.
Line numbers are computed from the raw bytes with numpy only when an error or warning needs them.
"""

from __future__ import annotations

import gzip
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from breakeven.errors import InputError
from breakeven.io import PathOrBuffer, read_bytes, source_name
from breakeven.plausibility import require_memory

HEAD_BYTES = 65536


@dataclass
class Source:
    """A trace file, opened lazily. ``name`` is what error messages print."""

    name: str
    path: Path | None = None
    data: bytes | None = None
    _raw: bytes | None = field(default=None, repr=False)

    @classmethod
    def open(cls, src: PathOrBuffer) -> Source:
        """Wrap a path or a file-like object (a stream is read into memory once)."""
        name = source_name(src)
        if isinstance(src, str | os.PathLike):
            path = Path(src)
            if not path.exists():
                raise InputError(f"{name}: file not found; expected the path of an existing trace file")
            if path.is_dir():
                raise InputError(f"{name}: is a directory; expected a trace file")
            return cls(name=name, path=path)
        return cls(name=name, data=read_bytes(src))

    @property
    def gzipped(self) -> bool:
        """True for ``*.gz`` paths (the Azure 2025 trace ships as ``.csv.gz``)."""
        return self.path is not None and self.path.suffix.lower() == ".gz"

    @property
    def suffix(self) -> str:
        """The file suffix without ``.gz`` (``.csv``, ``.jsonl``, ``.parquet``), or '' for streams."""
        if self.path is None:
            return ""
        suffixes = [s.lower() for s in self.path.suffixes]
        if suffixes and suffixes[-1] == ".gz":
            suffixes = suffixes[:-1]
        return suffixes[-1] if suffixes else ""

    def head(self, size: int = HEAD_BYTES) -> bytes:
        """The first ``size`` bytes (decompressed)."""
        if self.data is not None:
            return self.data[:size]
        path = self._path()
        try:
            if self.gzipped:
                with gzip.open(path, "rb") as fh:
                    return fh.read(size)
            with path.open("rb") as fh:
                return fh.read(size)
        except gzip.BadGzipFile as exc:
            raise InputError(
                f"{self.name}: not gzip data ({exc}); expected a gzip-compressed file (its name ends in .gz)"
            ) from exc
        except OSError as exc:
            raise InputError(f"{self.name}: cannot read ({exc}); expected a readable file") from exc

    def raw(self) -> bytes:
        """All bytes (decompressed). Only the slow paths (errors, line numbers) call this."""
        if self._raw is None:
            if self.data is not None:
                self._raw = self.data
            else:
                data = read_bytes(self._path())
                self._raw = gzip.decompress(data) if self.gzipped else data
        return self._raw

    def _path(self) -> Path:
        if self.path is None:  # open() always sets one of path / data
            raise InputError(f"{self.name}: no data")
        return self.path

    def arrow_input(self) -> Any:
        """What pyarrow's readers accept: the path string (fast, multithreaded) or an in-memory buffer."""
        if self.data is not None:
            return io.BytesIO(self.data)
        if self.gzipped:
            import pyarrow as pa  # noqa: PLC0415 - pyarrow is heavy; import where needed

            return pa.input_stream(str(self.path), compression="gzip")
        return str(self.path)


#: Memory per row while a trace loads (the canonical columns and the reader's buffers; see
#: benchmarks/bench_traces.py), and the compression ratio assumed for .gz and Parquet files.
BYTES_PER_ROW = 64
COMPRESSION = 8


def check_size(source: Source, head: bytes) -> None:
    """Refuse (before reading it) a file whose rows would not fit in the memory budget.

    Rows are estimated from the file size and the mean line length of its first bytes.
    """
    if source.path is None:
        return  # already in memory
    try:
        size = source.path.stat().st_size
    except OSError:
        return
    compressed = source.gzipped or head.startswith(b"PAR1")
    text_bytes = size * COMPRESSION if compressed else size
    if head.startswith(b"PAR1"):
        rows = text_bytes / 24  # three 8-byte columns a row, at least
    else:
        lines = head.count(b"\n")
        rows = text_bytes / (len(head) / lines) if lines else 1.0
    require_memory(rows * BYTES_PER_ROW, where=source.name, what=f"loading about {rows:,.3g} rows")


def nonempty_line_numbers(raw: bytes) -> np.ndarray:
    """1-based physical line numbers of the non-empty lines of ``raw`` (CRLF and a missing final newline ok).

    pyarrow's CSV and JSON readers skip empty lines, so the k-th record they return sits on the k-th
    non-empty line. Vectorised over the bytes; no Python loop over lines.
    """
    buf = np.frombuffer(raw, dtype=np.uint8)
    newlines = np.flatnonzero(buf == 0x0A)
    starts = np.concatenate(([0], newlines + 1))
    ends = np.concatenate((newlines, [len(buf)]))
    lengths = ends - starts
    # A line holding only '\r' (CRLF files) is empty too.
    last = np.where(lengths > 0, ends - 1, 0)
    only_cr = (lengths == 1) & (buf[last] == 0x0D) if len(buf) else np.zeros_like(lengths, dtype=bool)
    nonempty = (lengths > 0) & ~only_cr
    return np.flatnonzero(nonempty) + 1
