"""Trace file formats: their names, their columns (source name → canonical name), and auto-detection.

Detection reads only the first few kilobytes: the Parquet magic, the first JSON record's keys, or the CSV
header (and, for Azure, the first timestamp, which tells the 2023 and 2024 releases apart). A format is
detected by its :attr:`FormatSpec.signature` (the source names of its required columns): a new format is one
more :class:`FormatSpec` in :data:`FORMATS`, which the readers, detection and ``--format`` all take from.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from breakeven.errors import InputError, UnknownNameError
from traces.model import CANONICAL_COLUMNS, OPTIONAL_COLUMNS

Container = Literal["csv", "jsonl", "parquet"]

TIME_UNITS: Final[dict[str, float | None]] = {
    "s": 1.0,
    "ms": 1e-3,
    "us": 1e-6,
    "ns": 1e-9,
    "epoch_s": 1.0,
    "epoch_ms": 1e-3,
    "iso": None,
}
"""Units of a source's arrival column → seconds per unit. ``epoch_*`` also sets the trace's absolute start
time; ``iso`` means ISO-8601 datetime strings (with or without a UTC offset)."""


@dataclass(frozen=True)
class FormatSpec:
    """One trace format: which container, which source column feeds which canonical column, which unit."""

    name: str
    container: Container | None
    """``None``: the container is read from the file itself (canonical files may be CSV, JSONL or Parquet)."""
    columns: Mapping[str, str]
    """Canonical column → source column, required and optional."""
    time_unit: str
    description: str
    required: tuple[str, ...] = ("arrival_s", "input_tokens", "output_tokens")
    time_type: str | None = None
    """``"naive"`` / ``"utc"``: the arrival column holds datetimes of that kind (lets pyarrow parse them)."""
    keep: tuple[str, ...] = field(default=())
    """Optional canonical columns to keep when present (from ``columns``)."""
    block_tokens: int | None = None
    """Tokens per ``hash_ids`` block in this format (Mooncake 512, Bailian 16); None = not fixed."""
    detect_by: tuple[str, ...] = ()
    """Canonical columns beyond ``required`` whose source columns detection also looks for (Bailian's
    ``chat_id`` and ``parent_chat_id`` tell it from Mooncake)."""

    @property
    def signature(self) -> frozenset[str]:
        """The source columns (CSV header, first JSON record's keys) that identify this format; empty for the
        generic formats, which only a column mapping makes readable."""
        return frozenset(self.columns[c] for c in (*self.required, *self.detect_by) if c in self.columns)


_CANONICAL_IDENTITY = {name: name for name in CANONICAL_COLUMNS}

_AZURE = {"arrival_s": "TIMESTAMP", "input_tokens": "ContextTokens", "output_tokens": "GeneratedTokens"}

FORMATS: Final[dict[str, FormatSpec]] = {
    "azure-2023": FormatSpec(
        "azure-2023",
        "csv",
        _AZURE,
        "iso",
        "Azure LLM inference trace 2023 (TIMESTAMP with 7 fractional digits, no zone)",
        time_type="naive",
    ),
    "azure-2024": FormatSpec(
        "azure-2024",
        "csv",
        _AZURE,
        "iso",
        "Azure LLM inference trace 2024, week-long (TIMESTAMP like 2024-05-10 00:00:00.009930+00:00)",
        time_type="utc",
    ),
    "burstgpt": FormatSpec(
        "burstgpt",
        "csv",
        {
            "arrival_s": "Timestamp",
            "input_tokens": "Request tokens",
            "output_tokens": "Response tokens",
            "model": "Model",
            "session_id": "Session ID",
        },
        "s",
        "BurstGPT CSV (Timestamp in seconds, Model, Request/Response tokens; failed requests have 0 response tokens)",
        keep=("model", "session_id"),
    ),
    "mooncake": FormatSpec(
        "mooncake",
        "jsonl",
        {
            "arrival_s": "timestamp",
            "input_tokens": "input_length",
            "output_tokens": "output_length",
            "hash_ids": "hash_ids",
        },
        "ms",
        "Mooncake JSONL (timestamp in ms, input_length, output_length, hash_ids of 512-token blocks)",
        keep=("hash_ids",),
        block_tokens=512,
    ),
    "bailian": FormatSpec(
        "bailian",
        "jsonl",
        {
            "arrival_s": "timestamp",
            "input_tokens": "input_length",
            "output_tokens": "output_length",
            "hash_ids": "hash_ids",
            "turn": "turn",
            "session_id": "chat_id",
            "parent_id": "parent_chat_id",
        },
        "s",
        "Alibaba Bailian (Qwen) usage trace JSONL (chat_id, parent_chat_id, timestamp in s, input_length, "
        "output_length, type, turn, hash_ids of 16-token blocks); sessions are the roots of parent_chat_id chains",
        keep=("hash_ids", "turn", "session_id", "parent_id"),
        block_tokens=16,
        detect_by=("session_id", "parent_id"),
    ),
    "splitwise": FormatSpec(
        "splitwise",
        "csv",
        {
            "arrival_s": "arrived_at",
            "input_tokens": "num_prefill_tokens",
            "output_tokens": "num_decode_tokens",
            "session_id": "session_id",
        },
        "s",
        "Vidur / Splitwise CSV (arrived_at in seconds, num_prefill_tokens, num_decode_tokens)",
        keep=("session_id",),
    ),
    "canonical": FormatSpec(
        "canonical",
        None,
        _CANONICAL_IDENTITY,
        "s",
        "llm-breakeven's own columns (arrival_s, input_tokens, output_tokens, ...) as CSV, JSONL or Parquet",
        keep=OPTIONAL_COLUMNS,
    ),
    "csv": FormatSpec("csv", "csv", {}, "s", "any CSV with a column mapping (--columns) and a time unit"),
    "jsonl": FormatSpec("jsonl", "jsonl", {}, "s", "any JSON Lines file with a column mapping and a time unit"),
    "parquet": FormatSpec("parquet", "parquet", {}, "s", "any Parquet file with a column mapping and a time unit"),
}

FORMAT_NAMES: Final[tuple[str, ...]] = tuple(FORMATS)
GENERIC_FORMATS: Final[frozenset[str]] = frozenset({"csv", "jsonl", "parquet"})

COLUMN_KEYS: Final[dict[str, str]] = {
    "arrival": "arrival_s",
    "arrival_s": "arrival_s",
    "time": "arrival_s",
    "input": "input_tokens",
    "input_tokens": "input_tokens",
    "output": "output_tokens",
    "output_tokens": "output_tokens",
    "cached": "cached_tokens",
    "cached_tokens": "cached_tokens",
    "session": "session_id",
    "session_id": "session_id",
    "hash_ids": "hash_ids",
    "model": "model",
    "deferrable": "deferrable",
    "turn": "turn",
    "think_time": "think_time_s",
    "think_time_s": "think_time_s",
    "parent": "parent_id",
    "prefix_hash": "prefix_hash",
    "prefix_tokens": "prefix_tokens",
}
"""Keys accepted in a column mapping (``--columns arrival=ts,input=prompt_tokens``) → canonical column."""

_ALIASES: Final[dict[str, tuple[str, ...]]] = {
    "arrival_s": ("arrival_s", "arrival_time", "arrived_at", "timestamp", "Timestamp", "TIMESTAMP", "time", "ts"),
    "input_tokens": (
        "input_tokens",
        "prompt_tokens",
        "input_length",
        "num_prefill_tokens",
        "ContextTokens",
        "Request tokens",
        "input_len",
        "prompt_len",
    ),
    "output_tokens": (
        "output_tokens",
        "completion_tokens",
        "output_length",
        "num_decode_tokens",
        "GeneratedTokens",
        "Response tokens",
        "output_len",
    ),
    "cached_tokens": ("cached_tokens",),
    "session_id": ("session_id",),
    "hash_ids": ("hash_ids",),
    "model": ("model",),
    "deferrable": ("deferrable",),
    "turn": ("turn",),
    "think_time_s": ("think_time_s",),
}
"""Column names tried, in order, when a generic file comes without a mapping."""

_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})\s*$")


def get_format(name: str, *, context: str | None = None) -> FormatSpec:
    """The :class:`FormatSpec` called ``name``; :class:`UnknownNameError` lists the valid names."""
    try:
        return FORMATS[name]
    except KeyError:
        raise UnknownNameError("trace format", name, FORMAT_NAMES, context=context) from None


def parse_columns_option(text: str, *, option: str = "--columns") -> dict[str, str]:
    """Parse ``"arrival=ts,input=prompt_tokens"`` into a mapping canonical column → source column."""
    mapping: dict[str, str] = {}
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InputError(
                f"option {option}: expected KEY=COLUMN pairs like arrival=ts,input=prompt_tokens, found {item!r}"
            )
        if key.strip() in mapping:
            raise InputError(
                f"option {option}: key {key.strip()!r} is given twice ({key.strip()}={mapping[key.strip()]} and "
                f"{item}); expected each field once"
            )
        mapping[key.strip()] = value.strip()
    return normalize_columns(mapping, context=f"option {option}")


def normalize_columns(columns: Mapping[str, str], *, context: str = "columns") -> dict[str, str]:
    """Map the keys of a user mapping (``arrival``, ``input``, ... or canonical names) to canonical names."""
    out: dict[str, str] = {}
    given: dict[str, str] = {}
    for key, source in columns.items():
        canonical = COLUMN_KEYS.get(key)
        if canonical is None:
            raise UnknownNameError("column key", key, COLUMN_KEYS, context=context)
        if canonical in out:
            raise InputError(
                f"{context}: field {canonical} is mapped twice ({given[canonical]}={out[canonical]} and "
                f"{key}={source}); expected each field once"
            )
        twin = next((c for c, s in out.items() if s == source), None)
        if twin is not None:
            raise InputError(
                f"{context}: column {source!r} is mapped to both {twin} and {canonical}; expected a column of its own "
                "for each field"
            )
        out[canonical] = source
        given[canonical] = key
    return out


def resolve_columns(
    spec: FormatSpec, header: list[str], user: Mapping[str, str] | None, *, source: str
) -> tuple[dict[str, str], str | None]:
    """Which source column feeds each canonical column, for this file's header.

    Returns the mapping and, when columns were matched by name for a generic file, a note saying how.
    """
    present = set(header)
    mapping = {
        canonical: column
        for canonical, column in spec.columns.items()
        if canonical in spec.required or (canonical in spec.keep and column in present)
    }
    note = None
    if spec.name in GENERIC_FORMATS and not user:
        guessed = []
        for canonical, names in _ALIASES.items():
            hit = next((n for n in names if n in present), None)
            if hit is not None:
                mapping[canonical] = hit
                guessed.append(f"{canonical}<-{hit}")
        note = "matched columns by name: " + ", ".join(guessed) if guessed else None
    if user:
        mapping.update(user)
    missing = [c for c in spec.required if mapping.get(c) not in present]
    if missing:
        wanted = ", ".join(f"{c} (from {mapping[c]!r})" if c in mapping else c for c in missing)
        hint = " pass a column mapping like --columns arrival=ts,input=prompt_tokens,output=completion_tokens"
        raise InputError(
            f"{source}:1: header lacks the columns for {wanted} (format {spec.name}); "
            f"expected {', '.join(repr(mapping.get(c, c)) for c in spec.required)}, found {header!r};{hint}"
        )
    return mapping, note


def split_csv_header(line: str) -> list[str]:
    """The column names of a CSV header line (simple quoting, surrounding spaces and a BOM removed)."""
    return [c.strip().strip('"').strip() for c in line.lstrip("\ufeff").rstrip("\r\n").split(",")]


def detect_format(head: bytes, *, source: str, suffix: str = "") -> tuple[str, Container]:
    """Detect a trace's format and container from its first bytes (see the module docstring)."""
    if head.startswith(b"PAR1"):
        return "parquet", "parquet"
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    if not text.strip():
        raise InputError(
            f"{source}: empty file; expected a trace with a header or JSON records and at least one request"
        )
    stripped = text.lstrip()
    if stripped.startswith("{"):
        first = stripped.splitlines()[0]
        try:
            keys = set(json.loads(first))
        except (json.JSONDecodeError, TypeError):
            keys = set()
        return _match(keys, "jsonl"), "jsonl"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl", "jsonl"
    lines = text.splitlines()
    header = set(split_csv_header(lines[0]))
    name = _match(header, "csv")
    if name == "azure-2023":  # the same columns as azure-2024: the first timestamp's UTC offset tells them apart
        first_row = next((ln for ln in lines[1:] if ln.strip()), "")
        columns = split_csv_header(lines[0])
        fields = first_row.split(",")
        stamp = fields[columns.index(_AZURE["arrival_s"])] if len(fields) == len(columns) else ""
        name = "azure-2024" if _OFFSET.search(stamp) else "azure-2023"
    return name, "csv"


def _match(names: set[str], container: Container) -> str:
    """The format readable from ``container`` whose signature ``names`` hold, the most specific one (largest
    signature: Bailian over Mooncake) and on a tie the first in :data:`FORMATS`; else the container's generic
    format."""
    found = [
        spec
        for spec in FORMATS.values()
        if spec.container in (container, None) and spec.signature and spec.signature <= names
    ]
    return max(found, key=lambda spec: len(spec.signature)).name if found else container


def container_of(name: str, head: bytes, *, source: str, suffix: str) -> Container:
    """The container for a forced format (canonical files: look at the bytes)."""
    spec = get_format(name, context=source)
    if spec.container is not None:
        return spec.container
    return detect_format(head, source=source, suffix=suffix)[1]
