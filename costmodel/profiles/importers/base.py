"""What every importer returns (:class:`ImportedPart`) and the small checked accessors they share.

An importer turns one input file into one :class:`ImportedPart`: the warm points it measured, the
cold-start runs it logged, the KV-cache figures, and what it says about the deployment (model, engine
version, settings). :func:`costmodel.profiles.importers.merge.build_profile` merges parts into a
:class:`~costmodel.profiles.schema.Profile`.

The accessors (:func:`number`, :func:`count`) turn a JSON value into a checked float/int, raising
:class:`~breakeven.errors.InputError` that names the file, the record and the key.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any, Literal

from breakeven.errors import InputError
from costmodel.profiles.schema import MaxConcurrency, Phases, SourceRef, WarmPoint

#: Input formats the importers understand (``--format`` choices; auto-detected by content).
FormatName = Literal[
    "vllm-log",
    "vllm-bench",
    "guidellm",
    "aiperf",
    "aiperf-csv",
    "llmperf-summary",
    "llmperf-responses",
    "vllm-metrics",
]

#: Default vLLM KV-cache block size [tokens per block] when the log gives blocks only.
DEFAULT_BLOCK_SIZE = 16


@dataclass(frozen=True)
class LogRun:
    """One server start read from a vLLM log (a log may hold several restarts)."""

    phases: Phases = field(default_factory=Phases)
    ready_s: float | None = None
    """Start-marker line → ready line [s], from the log's own timestamps (None when not both present)."""
    init_compilation_s: float | None = None
    """The ``(compilation: X s)`` part of the 2026 init-engine line [s]."""
    kv_cache_tokens: int | None = None
    gpu_blocks: int | None = None
    max_concurrency: MaxConcurrency | None = None
    engine_version: str | None = None
    model: str | None = None
    command: str | None = None
    settings: dict[str, str | int | float | bool | None] = field(default_factory=dict)
    ranks: int = 1
    """Distinct ranks (processes) that logged per-rank phase lines."""
    failed: bool = False
    failure: str | None = None
    first_line: int = 1
    """1-based line number where this run starts in the file."""
    extras: dict[str, float] = field(default_factory=dict)
    """Other figures the log states, e.g. ``cuda_graph_gib``, ``graph_compile_s``, ``cpu_blocks``."""
    notes: tuple[str, ...] = ()


@dataclass
class ImportedPart:
    """Everything one input file contributes to a profile."""

    format: FormatName
    source: SourceRef
    model: str | None = None
    engine_name: str | None = None
    engine_version: str | None = None
    gpu_count: int | None = None
    settings: dict[str, str | int | float | bool | None] = field(default_factory=dict)
    runs: list[LogRun] = field(default_factory=list)
    kv_cache_tokens: int | None = None
    max_concurrency: MaxConcurrency | None = None
    warm: list[WarmPoint] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of ``data`` (recorded in the provenance of every imported file)."""
    return hashlib.sha256(data).hexdigest()


def number(
    obj: dict[str, Any],
    key: str,
    *,
    where: str,
    required: bool = False,
    allow_inf: bool = False,
) -> float | None:
    """``obj[key]`` as a finite, non-negative float; None when absent/null (unless ``required``).

    ``allow_inf`` accepts the string ``"inf"`` and float infinity (vLLM's ``request_rate``) as ``math.inf``.
    """
    if key not in obj or obj[key] is None:
        if required:
            raise InputError(f"{where}: missing key {key!r}; expected a number")
        return None
    raw = obj[key]
    if allow_inf and isinstance(raw, str) and raw.strip().lower() in {"inf", "infinity"}:
        return math.inf
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise InputError(f"{where}: key {key!r}: expected a number, found {raw!r}")
    try:
        value = float(raw)
    except ValueError as exc:
        raise InputError(f"{where}: key {key!r}: expected a number, found {raw!r}") from exc
    if math.isnan(value) or (math.isinf(value) and not allow_inf):
        raise InputError(f"{where}: key {key!r}: expected a finite number, found {raw!r}")
    if value < 0:
        raise InputError(f"{where}: key {key!r}: expected a non-negative number, found {raw!r}")
    return value


def count(obj: dict[str, Any], key: str, *, where: str, required: bool = False) -> int | None:
    """``obj[key]`` as a non-negative integer count (``12.0`` is accepted, ``12.5`` is not)."""
    value = number(obj, key, where=where, required=required)
    if value is None:
        return None
    if not float(value).is_integer():
        raise InputError(f"{where}: key {key!r}: expected a whole count, found {obj[key]!r}")
    return int(value)


def text(obj: dict[str, Any], key: str) -> str | None:
    """``obj[key]`` as a non-empty string, else None."""
    value = obj.get(key)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None
