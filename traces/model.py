"""The canonical in-memory trace: a pandas DataFrame plus what the loader learned about its source.

Glossary (canonical column → meaning, unit):

==================  ==========================================================  ==============
``arrival_s``       request arrival, seconds since the trace's first request     float64, s
``input_tokens``    prompt tokens                                                 int64, tokens
``output_tokens``   generated tokens                                              int64, tokens
``cached_tokens``   prompt tokens served from a prefix cache (optional)           int64, tokens
``session_id``      conversation / session key (optional)                         string
``hash_ids``        prefix-block keys, one per ``meta.block_tokens`` tokens       list[int]
``model``           model name as the trace records it (optional)                 string
``deferrable``      may be sent through a batch API (optional)                    bool
``turn``            1-based turn of the request in its ``session_id`` (optional)   int64
``think_time_s``    closed loop only: pause before sending this request (optional) float64, s
==================  ==========================================================  ==============

``hash_ids`` (see :mod:`traces.prefix`): the prompt cut into blocks of ``meta.block_tokens`` tokens
(``ceil(input_tokens / block_tokens)`` blocks, the last one may be partial); two requests whose first k
keys are equal share their first k blocks of prompt (KV cache). Mooncake uses 512-token blocks, Alibaba's
Bailian traces 16-token blocks, our generators 16 by default. Keys cover the prompt only, not the answer.

A trace with a ``think_time_s`` column is **closed-loop** (see :mod:`traces.conversations`): its
``arrival_s`` is a nominal schedule, and a simulator sends turn k+1 of a session ``think_time_s`` after
the answer to turn k ends.

Rows are sorted by ``arrival_s`` (stable), and the first arrival is 0.0 unless the trace was windowed.
Loaders rename source columns to these names the moment they read them (STYLE.md habit 3).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

import pandas as pd

REQUIRED_COLUMNS: tuple[str, ...] = ("arrival_s", "input_tokens", "output_tokens")
OPTIONAL_COLUMNS: tuple[str, ...] = (
    "cached_tokens",
    "session_id",
    "hash_ids",
    "model",
    "deferrable",
    "turn",
    "think_time_s",
)
CANONICAL_COLUMNS: tuple[str, ...] = REQUIRED_COLUMNS + OPTIONAL_COLUMNS


@dataclass(frozen=True)
class SkippedRows:
    """Rows a loader skipped (only with ``skip_bad_rows=True``): how many, where, and why."""

    count: int = 0
    first_lines: tuple[int, ...] = ()
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class TraceMeta:
    """Where a trace came from and what happened while loading it."""

    source: str | None = None
    """File path (or ``<stream>``, or ``synthetic:<spec>``)."""
    format: str = "canonical"
    """Detected or forced format name, e.g. ``azure-2023``, ``burstgpt``, ``mooncake``."""
    start_time: datetime | None = None
    """Absolute time of ``arrival_s == 0`` when the source has one (Azure, BurstGPT epoch, generic)."""
    skipped: SkippedRows = field(default_factory=SkippedRows)
    warnings: tuple[str, ...] = ()
    """Things the user should know, e.g. 'sorted 12 out-of-order rows'."""
    transforms: tuple[str, ...] = ()
    """Transforms applied since loading, in order, e.g. 'scale_rate(k=2)'."""
    block_tokens: int | None = None
    """Tokens per ``hash_ids`` block (Mooncake 512, Bailian 16); None when the trace has no hash_ids or the
    size is not known."""
    closed_loop_users: int | None = None
    """Closed-loop traces: the number of concurrent users the generator was asked for (a simulator may run
    the same sessions at another concurrency)."""


@dataclass(frozen=True)
class Trace:
    """A request trace in canonical form. Treat ``df`` as read-only; transforms return new traces."""

    df: pd.DataFrame
    meta: TraceMeta = field(default_factory=TraceMeta)

    def __len__(self) -> int:
        return len(self.df)

    @property
    def duration_s(self) -> float:
        """Last arrival minus first arrival [s] (0 for fewer than two requests)."""
        if len(self.df) < 2:
            return 0.0
        arrivals = self.df["arrival_s"]
        return float(arrivals.iloc[-1] - arrivals.iloc[0])

    def with_df(self, df: pd.DataFrame, transform: str) -> Trace:
        """A new trace with ``df`` and ``transform`` appended to the metadata's transform log."""
        return Trace(df=df, meta=replace(self.meta, transforms=(*self.meta.transforms, transform)))
