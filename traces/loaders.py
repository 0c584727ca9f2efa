"""``load_trace``: read any supported trace file into the canonical form (see :mod:`traces.model`)."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Mapping
from dataclasses import replace

import numpy as np
import pandas as pd

from breakeven.errors import InputError, UnknownNameError
from breakeven.io import PathOrBuffer, check_utf8
from traces._assemble import assemble
from traces._readers import READERS, resolve_format
from traces._source import Source, check_size
from traces.formats import TIME_UNITS, normalize_columns
from traces.model import Trace


def load_trace(
    src: PathOrBuffer,
    *,
    format: str | None = None,
    columns: Mapping[str, str] | None = None,
    time_unit: str | None = None,
    skip_bad_rows: bool = False,
    model: str | None = None,
    block_tokens: int | None = None,
) -> Trace:
    """Load a request trace from a path or a binary/text file object.

    Args:
        src: path, or a file-like object (read into memory once).
        format: force a format (``azure-2023``, ``azure-2024``, ``burstgpt``, ``mooncake``, ``splitwise``,
            ``canonical``, ``csv``, ``jsonl``, ``parquet``); ``None`` detects it from the header / first
            record / Parquet magic.
        columns: source column for each canonical column, keys ``arrival``, ``input``, ``output``,
            ``cached``, ``session``, ``hash_ids``, ``model``, ``deferrable`` (or the canonical names).
            Overrides the format's own names. Generic files without a mapping are matched by common names.
        time_unit: unit of the arrival column: ``s``, ``ms``, ``us``, ``ns``, ``epoch_s``, ``epoch_ms``
            (epoch units also set ``meta.start_time``) or ``iso`` (ISO-8601 datetimes). Defaults to the
            format's own unit; generic files: ``iso`` for datetime strings, else seconds.
        skip_bad_rows: skip malformed rows instead of raising; ``meta.skipped`` says how many and where.
        model: the model this traffic is for. Where the trace names models (BurstGPT), keep only that
            model's requests (:class:`UnknownNameError` lists the names present); otherwise label every
            request with it.
        block_tokens: tokens per ``hash_ids`` block (``meta.block_tokens``). Defaults to the format's own
            (Mooncake 512, Bailian 16), the size stored in a canonical Parquet file, or a size inferred from
            the lengths; also the block size of hash_ids built from a ``prefix_hash``/``prefix_tokens`` mapping
            (default 16).

    Returns:
        The trace: ``df`` sorted by ``arrival_s`` (float64 seconds since the first request), int64 token
        columns, and ``meta`` with the format, the absolute start time when known, skipped rows and
        warnings (e.g. out-of-order rows that were sorted).

    Raises:
        InputError: unreadable / empty file, a bad row (naming file and line), a missing column.
        UnknownNameError: an unknown ``format``, column key or ``model``.
    """
    source = Source.open(src)
    if time_unit is not None and time_unit not in TIME_UNITS:
        raise UnknownNameError("time unit", time_unit, TIME_UNITS, context=source.name)
    user = normalize_columns(columns, context=f"{source.name}: column mapping") if columns else None
    if block_tokens is not None and not (isinstance(block_tokens, int) and block_tokens > 0):
        raise InputError(f"{source.name}: block_tokens: expected a positive number of tokens, found {block_tokens!r}")
    try:
        trace = _load(
            source,
            format=format,
            user=user,
            time_unit=time_unit,
            skip_bad_rows=skip_bad_rows,
            model=model,
            block_tokens=block_tokens,
        )
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        # A truncated .gz ends in EOFError, which click would print as a bare "Aborted.".
        raise InputError(
            f"{source.name}: the gzip data is truncated or corrupt ({exc}); expected a complete .gz file "
            f"(check it with `gzip -t {source.name}`)"
        ) from exc
    if block_tokens is not None and trace.meta.block_tokens != block_tokens and "hash_ids" in trace.df.columns:
        trace = Trace(df=trace.df, meta=replace(trace.meta, block_tokens=block_tokens))
    return trace


def _load(
    source: Source,
    *,
    format: str | None,
    user: Mapping[str, str] | None,
    time_unit: str | None,
    skip_bad_rows: bool,
    model: str | None,
    block_tokens: int | None = None,
) -> Trace:
    head = source.head()
    if not head.startswith(b"PAR1"):
        check_utf8(head, source.name)
    check_size(source, head)
    spec, container = resolve_format(source, format, head)
    raw = READERS[container](source, spec, user, time_unit)
    raw.block_tokens = block_tokens or (raw.inherited.block_tokens if raw.inherited else None) or spec.block_tokens
    trace = assemble(raw, skip_bad_rows=skip_bad_rows)
    if model is not None:
        trace = _select_model(trace, model)
    return trace


def _select_model(trace: Trace, model: str) -> Trace:
    df = trace.df
    if "model" not in df.columns:
        labelled = df.assign(model=pd.Categorical(np.full(len(df), model, dtype=object)))
        return trace.with_df(labelled, f"label_model({model!r})")
    present = [str(m) for m in pd.unique(df["model"].dropna())]
    if model not in present:
        raise UnknownNameError("model", model, present, context=f"{trace.meta.source}: model column")
    kept = df[(df["model"] == model).to_numpy()].reset_index(drop=True)  # keeps the source clock
    return trace.with_df(kept, f"filter_model([{model!r}])")
