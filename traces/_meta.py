"""How a trace's :class:`~traces.model.TraceMeta` travels inside a Parquet file's key-value metadata.

:func:`traces.writer.write_trace` stores it under :data:`META_KEY`; the Parquet reader and the dataset
loader read it back, so a trace converted once reloads with its source, skipped rows and transforms.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from traces.model import SkippedRows, TraceMeta

META_KEY = b"llm_breakeven.trace_meta"
"""The Parquet key-value metadata key holding :func:`meta_to_json`'s JSON."""


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
            "block_tokens": meta.block_tokens,
            "closed_loop_users": meta.closed_loop_users,
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
            skipped=skipped_from_json(skipped),
            warnings=tuple(str(w) for w in data.get("warnings", ())),
            transforms=tuple(str(t) for t in data.get("transforms", ())),
            block_tokens=_positive_int(data.get("block_tokens")),
            closed_loop_users=_positive_int(data.get("closed_loop_users")),
        )
    except (ValueError, TypeError, AttributeError):
        return None


def _positive_int(value: object) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def skipped_from_json(data: dict[str, Any]) -> SkippedRows:
    """:class:`SkippedRows` from its JSON object (in the Parquet metadata and the dataset manifest).

    Raises ValueError, TypeError or AttributeError when ``data`` is not one."""
    return SkippedRows(
        count=int(data.get("count", 0)),
        first_lines=tuple(int(x) for x in data.get("first_lines", ())),
        reasons=tuple(str(x) for x in data.get("reasons", ())),
    )
