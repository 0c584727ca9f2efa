"""The trace summary schema (what ``breakeven trace info --json`` prints and results.json embeds)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from traces.model import TraceMeta


class TraceSummary(BaseModel):
    """Headline statistics of a trace. Token percentiles are over requests; rates are requests / second."""

    model_config = ConfigDict(extra="forbid")

    source: str | None = Field(default=None, description="File the trace was read from, or a synthetic spec.")
    format: str = Field(description="Detected or forced format name.")
    requests: int = Field(ge=0, description="Requests in the trace.")
    duration_s: float = Field(ge=0, description="Last arrival minus first arrival [s].")
    mean_rps: float = Field(ge=0, description="Requests / duration [req/s] (0 when duration is 0).")
    peak_rps_1s: float = Field(ge=0, description="Most requests in any 1-second window [req/s].")
    peak_rps_60s: float = Field(ge=0, description="Most requests in any 60-second window / 60 [req/s].")
    input_tokens_total: int = Field(ge=0, description="Sum of input tokens.")
    output_tokens_total: int = Field(ge=0, description="Sum of output tokens.")
    cached_tokens_total: int | None = Field(default=None, description="Sum of cached input tokens, if known.")
    input_tokens_mean: float = Field(ge=0, description="Mean input tokens per request.")
    output_tokens_mean: float = Field(ge=0, description="Mean output tokens per request.")
    input_tokens_p50: float = Field(ge=0, description="Median input tokens.")
    input_tokens_p90: float = Field(ge=0, description="90th percentile of input tokens.")
    input_tokens_p99: float = Field(ge=0, description="99th percentile of input tokens.")
    output_tokens_p50: float = Field(ge=0, description="Median output tokens.")
    output_tokens_p90: float = Field(ge=0, description="90th percentile of output tokens.")
    output_tokens_p99: float = Field(ge=0, description="99th percentile of output tokens.")
    interarrival_cv: float | None = Field(
        default=None, description="Coefficient of variation of inter-arrival times (1 = Poisson; >1 = bursty)."
    )
    models: dict[str, int] = Field(default_factory=dict, description="Requests per model, when the trace names models.")
    failed_requests: int | None = Field(
        default=None, description="Requests recorded as failed (e.g. BurstGPT rows with zero response tokens)."
    )
    skipped_rows: int = Field(default=0, ge=0, description="Rows skipped while loading (only with skip-bad-rows).")
    skipped_lines: list[int] = Field(default_factory=list, description="First few line numbers skipped.")
    start_time: str | None = Field(default=None, description="Absolute start time (ISO 8601) when known.")
    warnings: list[str] = Field(default_factory=list, description="Warnings raised while loading.")
    block_tokens: int | None = Field(default=None, description="Tokens per hash_ids block, when the trace has them.")
    prefix_reuse_token_share: float | None = Field(
        default=None,
        description="Share of input tokens an infinite prefix cache would serve: tokens of the leading blocks an "
        "earlier request already sent (requests in arrival order; None without hash_ids).",
    )
    prefix_reuse_tokens: int | None = Field(default=None, description="Those input tokens.")
    prefix_reuse_block_share: float | None = Field(
        default=None, description="The same by block: blocks an earlier request already sent / all blocks."
    )
    prefix_blocks: int | None = Field(default=None, description="Prompt blocks in the trace (hash ids).")
    sessions: int | None = Field(default=None, description="Distinct session_id values, when the trace has them.")
    max_turns: int | None = Field(default=None, description="Most requests in one session.")
    closed_loop: bool = Field(
        default=False, description="True when the trace has think_time_s: a closed-loop pool of conversations."
    )


def header_fields(meta: TraceMeta, requests: int, duration_s: float) -> dict[str, Any]:
    """The :class:`TraceSummary` fields that come from the loader's metadata and the request count, shared by
    the in-memory summary (:mod:`traces.summary`) and the dataset one (:mod:`traces.dataset_summary`)."""
    return {
        "source": meta.source,
        "format": meta.format,
        "requests": requests,
        "duration_s": duration_s,
        "mean_rps": requests / duration_s if duration_s > 0 else 0.0,
        "skipped_rows": meta.skipped.count,
        "skipped_lines": list(meta.skipped.first_lines),
        "start_time": None if meta.start_time is None else pd.Timestamp(meta.start_time).isoformat(),
    }
