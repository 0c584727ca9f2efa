"""Turn a table of source columns (already renamed to canonical names) into a canonical :class:`Trace`.

Every check is vectorised: a boolean "bad" mask per column, one message per bad row only for the first few.
Rows are located by physical line number (CSV, JSONL) or by row number (Parquet) for error messages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from breakeven.errors import InputError
from breakeven.plausibility import MAX_TOKENS_PER_REQUEST, notice
from traces.formats import TIME_UNITS
from traces.model import CANONICAL_COLUMNS, SkippedRows, Trace, TraceMeta
from traces.prefix import PREFIX_INPUT_COLUMNS, finish_prefix_columns

MAX_REPORTED = 10
"""How many skipped line numbers and reasons are kept in :class:`SkippedRows`."""

MAX_TOKENS = MAX_TOKENS_PER_REQUEST
"""Largest token count one request may have (see :data:`breakeven.plausibility.MAX_TOKENS_PER_REQUEST`)."""

MAX_SPAN_S = 100 * 365.25 * 86400.0
"""Arrivals further than this from the trace's median arrival are bad rows (a timestamp of 1e300)."""

_HASH_LIST = r"^\s*(?:\d+(?:[\s;]+\d+)*)?\s*$"
_TRUE = ("true", "1", "yes", "y", "t")
_FALSE = ("false", "0", "no", "n", "f", "")

LineLocator = Callable[[], np.ndarray | None]
"""Returns the physical line number of every row of the table (computed only when needed), or None."""


@dataclass
class RawTable:
    """What a reader hands over: canonical-named columns plus how to find each row in the file."""

    columns: dict[str, Any]
    """Canonical column → numpy array, pandas Categorical or Arrow ChunkedArray (any type; checked here)."""
    n_rows: int
    source: str
    format: str
    mapping: dict[str, str]
    """Canonical column → source column (for messages)."""
    time_unit: str
    time_zone: str | None = None
    """For an int64 numpy arrival column: it holds nanoseconds of ``"naive"`` or ``"utc"`` datetimes."""
    locate: LineLocator = field(default=lambda: None)
    malformed: list[tuple[int, str]] = field(default_factory=list)
    """(line, reason) of rows the reader could not even split into fields."""
    row_word: str = "line"
    notes: list[str] = field(default_factory=list)
    start_time: datetime | None = None
    block_tokens: int | None = None
    """Tokens per hash_ids block, when the format or the caller says (else inferred from the lengths)."""
    inherited: TraceMeta | None = None
    """Metadata stored in a canonical Parquet file by :func:`traces.write_trace`."""
    origin: float | int | None = None
    """The arrival value taken as t = 0, in the column's own unit (int nanoseconds for datetimes); None: the
    earliest. :func:`assemble` sets it to the value used, so that the pieces of a file converted piece by piece
    (:mod:`traces.dataset`) share one clock."""
    line_offset: int = 0
    """Added to the line numbers in messages (a piece of a larger file)."""


@dataclass
class _Check:
    canonical: str
    mask: np.ndarray | None
    """Bad rows; ``None`` when a cheap scalar check proved there are none (no 5 M-element temporaries)."""
    values: Any
    expected: str


def _found(values: Any, row: int) -> str:
    value = values[row].as_py() if isinstance(values, pa.ChunkedArray | pa.Array) else values[row]
    if value is None or value is pd.NA or value is pd.NaT:
        return "an empty value"
    if isinstance(value, float | np.floating) and not np.isfinite(value):
        return str(float(value))
    return repr(value.item() if hasattr(value, "item") else value)


def _as_series(column: pa.ChunkedArray) -> pd.Series:
    return column.to_pandas()


def _tokens(column: Any) -> tuple[np.ndarray, np.ndarray | None, Any, np.ndarray | None]:
    """int64 token counts, a bad mask (null, not a number, negative, fractional), the raw values, and a
    mask of counts above :data:`MAX_TOKENS` (None when there are none)."""
    if isinstance(column, np.ndarray) and column.dtype == np.int64:
        clean = len(column) == 0 or column.min() >= 0
        over = None if len(column) == 0 or column.max() <= MAX_TOKENS else column > MAX_TOKENS
        return column, None if clean else column < 0, column, over
    if isinstance(column, np.ndarray) and column.dtype.kind in "iu":
        if len(column) and column.max() > MAX_TOKENS:  # uint64 beyond int64 included: compare before casting
            over = column > MAX_TOKENS
            return np.where(over, 0, column).astype(np.int64), None, column, over
        return _tokens(column.astype(np.int64))
    if isinstance(column, np.ndarray):
        column = pa.chunked_array([pa.array(column)])
    if pa.types.is_integer(column.type) and column.null_count == 0:
        return _tokens(column.to_numpy())  # zero-copy for one chunk
    num = pd.to_numeric(_as_series(column), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(num) | (num < 0) | (num != np.floor(num))
        over = ~bad & (num > MAX_TOKENS)
    out = np.where(bad | over, 0, num).astype(np.int64)
    return out, bad, column, over if over.any() else None


def _auto_unit(column: Any) -> str:
    if isinstance(column, np.ndarray):
        return "s"
    if pa.types.is_timestamp(column.type) or pa.types.is_date(column.type):
        return "iso"
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        first = pc.drop_null(column)
        if len(first) == 0:
            return "s"
        value = str(first[0].as_py()).strip()
        try:
            float(value)
        except ValueError:
            return "iso"
    return "s"


def _times(column: Any, unit: str, zone: str | None) -> tuple[np.ndarray, np.ndarray | None, Any, str | None]:
    """Arrival values: (float64 seconds, or int64 ns for datetimes), bad mask, raw values, datetime zone kind."""
    if isinstance(column, np.ndarray):
        if zone is not None:  # int64 nanoseconds from a typed timestamp column
            return column, None, column, zone
        floats = column.astype(np.float64, copy=False)
        clean = len(floats) == 0 or (np.isfinite(floats.min()) and np.isfinite(floats.max()))
        return floats, None if clean else ~np.isfinite(floats), floats, None
    if pa.types.is_timestamp(column.type):
        tz = column.type.tz
        ns = column.cast(pa.timestamp("ns", tz)).cast(pa.int64())
        bad = ns.is_null().to_numpy(zero_copy_only=False)
        arr = ns.fill_null(0).to_numpy()
        return arr, bad, column, ("utc" if tz else "naive")
    if unit == "iso":
        raw = _as_series(column).astype(object)
        try:
            stamps = pd.to_datetime(raw, format="ISO8601", errors="coerce")
        except (ValueError, TypeError):  # mixed zone-aware and naive strings
            stamps = pd.to_datetime(raw, format="ISO8601", errors="coerce", utc=True)
        kind = "utc" if getattr(stamps.dt, "tz", None) is not None else "naive"
        ns_series = stamps.dt.tz_convert("UTC").dt.tz_localize(None) if kind == "utc" else stamps
        try:
            ns_series = ns_series.astype("datetime64[ns]")
        except (pd.errors.OutOfBoundsDatetime, OverflowError):  # a year like 7433: outside 1677-2262, a bad row
            inside = ns_series.between(pd.Timestamp.min, pd.Timestamp.max)
            ns_series = ns_series.where(inside).astype("datetime64[ns]")
        bad = ns_series.isna().to_numpy()
        arr = ns_series.to_numpy().view(np.int64).copy()
        arr[bad] = 0
        return arr, bad, column, kind
    numeric = pa.types.is_floating(column.type) or pa.types.is_integer(column.type)
    if numeric and column.null_count == 0:
        return _times(column.to_numpy(), unit, None)
    num = pd.to_numeric(_as_series(column), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return num, ~np.isfinite(num), column, None


def _far_arrivals(times: np.ndarray, bad: np.ndarray | None, unit: str) -> np.ndarray | None:
    """Rows whose arrival lies more than :data:`MAX_SPAN_S` from the median arrival (None: none do)."""
    if len(times) == 0:
        return None
    scale = TIME_UNITS.get(unit) or 1.0
    ok = times if bad is None else times[~bad]
    if len(ok) == 0:
        return None
    with np.errstate(invalid="ignore", over="ignore"):
        low, high = float(np.nanmin(ok)), float(np.nanmax(ok))
        if (high - low) * scale <= MAX_SPAN_S:  # the cheap test passes on every real trace
            return None
        center = float(np.quantile(ok[~np.isnan(ok)], 0.5, method="lower"))  # a real row, even of two
        far = np.abs(times - center) * scale > MAX_SPAN_S
    if bad is not None:
        far &= ~bad
    return far if far.any() else None


def _hash_ids(column: pa.ChunkedArray) -> tuple[pa.ChunkedArray, np.ndarray, Any]:
    if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
        if not pa.types.is_integer(column.type.value_type):
            return column, np.ones(len(column), dtype=bool), column
        return column.cast(pa.list_(pa.int64())), np.zeros(len(column), dtype=bool), None
    if pa.types.is_null(column.type):
        return pa.chunked_array([pa.nulls(len(column), pa.list_(pa.int64()))]), np.zeros(len(column), bool), None
    text = column.cast(pa.string())
    match = pc.fill_null(pc.match_substring_regex(text, _HASH_LIST), True)
    ok = match.to_numpy()
    trimmed = pc.utf8_trim_whitespace(pc.replace_substring(pc.if_else(match, text, ""), ";", " "))
    parts = pc.split_pattern_regex(trimmed, r"\s+")
    # "" splits into [""]: make those empty lists, then cast the strings to integers.
    empty = pc.fill_null(pc.equal(trimmed, ""), False)
    parts = pc.if_else(empty, pa.scalar([], pa.list_(pa.string())), parts)
    return parts.cast(pa.list_(pa.int64())), ~ok, column


def _bools(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray, Any]:
    if pa.types.is_boolean(column.type):
        bad = column.is_null().to_numpy(zero_copy_only=False)
        return column.fill_null(False).to_numpy(zero_copy_only=False), bad, column
    text = pc.fill_null(pc.utf8_lower(pc.utf8_trim_whitespace(column.cast(pa.string()))), "")
    is_true = pc.is_in(text, value_set=pa.array(_TRUE)).to_numpy(zero_copy_only=False)
    is_false = pc.is_in(text, value_set=pa.array(_FALSE)).to_numpy(zero_copy_only=False)
    return is_true, ~(is_true | is_false), column


def _text(column: Any, *, categorical: bool) -> pd.Series:
    if isinstance(column, pd.Categorical):
        return pd.Series(column, copy=False)
    if categorical:
        if pa.types.is_dictionary(column.type):
            return column.to_pandas()
        return pd.Series(column.cast(pa.string()).to_pandas(), dtype="category")
    return column.cast(pa.string()).to_pandas().astype("str")


def _locations(raw: RawTable, rows: np.ndarray, n_rows: int) -> list[int]:
    lines = raw.locate()
    if lines is not None and len(lines) == n_rows:
        return [int(lines[r]) + raw.line_offset for r in rows]
    return [int(r) + 1 + raw.line_offset for r in rows]


def _where(raw: RawTable, line: int) -> str:
    if raw.row_word == "line":
        return f"{raw.source}:{line}"
    return f"{raw.source}: {raw.row_word} {line}"


def _session_columns(pending: dict[str, Any], columns: dict[str, Any]) -> list[_Check]:
    """``turn`` (≥ 1), ``think_time_s`` (seconds ≥ 0) and ``prefix_tokens`` (a token count)."""
    checks: list[_Check] = []
    if "turn" in pending:
        turn, _, values, _ = _tokens(pending.pop("turn"))
        columns["turn"] = turn
        checks.append(_Check("turn", turn < 1, values, "a turn number ≥ 1"))  # bad values read as 0
    if "prefix_tokens" in pending:
        tokens, bad, values, over = _tokens(pending.pop("prefix_tokens"))
        columns["prefix_tokens"] = tokens
        checks += [_Check("prefix_tokens", bad, values, "a non-negative integer token count")]
        checks += [_Check("prefix_tokens", over, values, f"at most {MAX_TOKENS:,} tokens per request")]
    if "think_time_s" in pending:
        column = pending.pop("think_time_s")
        raw = column if isinstance(column, np.ndarray) else _as_series(column)
        num = pd.to_numeric(pd.Series(raw), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(num) | (num < 0)
        columns["think_time_s"] = np.where(bad, 0.0, num)
        checks.append(_Check("think_time_s", bad, column, "a number of seconds ≥ 0"))
    return checks


def assemble(raw: RawTable, *, skip_bad_rows: bool) -> Trace:
    """Validate ``raw``'s columns (vectorised) and build the canonical trace; see the module docstring.

    Consumes ``raw.columns`` (it is emptied).
    """
    # Take the columns out one by one and drop each source column as soon as it is converted, so that peak
    # memory stays near the final DataFrame's size (benchmarks/bench_traces.py).
    n = raw.n_rows
    pending = raw.columns
    raw.columns = {}
    if n == 0 and not raw.malformed:
        raise InputError(f"{raw.source}: no requests in the file; expected at least one data row")
    unit = raw.time_unit
    if unit == "auto":
        unit = _auto_unit(pending["arrival_s"])
    if unit not in TIME_UNITS:
        raise InputError(f"{raw.source}: unknown time unit {unit!r}; expected one of {', '.join(TIME_UNITS)}")
    times, zone, checks = _arrival_checks(pending.pop("arrival_s"), unit, raw.time_zone)
    columns, column_checks = _convert_columns(pending)
    bad_any, skipped = _bad_rows(raw, [*checks, *column_checks], skip_bad_rows=skip_bad_rows)
    keep = None if bad_any is None else ~bad_any
    if keep is not None:
        times = times[keep]
        for name, col in list(columns.items()):
            columns[name] = col.filter(pa.array(keep)) if isinstance(col, pa.ChunkedArray) else col[keep]
    if len(times) == 0:
        raise InputError(f"{raw.source}: no valid requests left after skipping {_rows(skipped.count, 'bad row')}")

    arrival, start_time, raw.origin = _to_seconds(times, unit, zone, raw.origin)
    warnings = list(raw.notes)
    if skipped.count:
        first = list(skipped.first_lines[:5])
        warnings.append(f"skipped {_rows(skipped.count, 'bad row')} (first at {raw.row_word}s {first})")
    arrival, order = _sort_arrivals(arrival, raw, warnings, located=keep is None)
    if zone is None and unit != "iso":
        warnings += unit_warnings(arrival, unit=unit, column=raw.mapping.get("arrival_s", "arrival_s"))
    frame = _frame(arrival, columns, order, len(arrival))
    frame, block_tokens, prefix_notes = finish_prefix_columns(frame, raw.block_tokens, source=raw.source)
    meta = TraceMeta(
        source=raw.source,
        format=raw.format,
        start_time=start_time if start_time is not None else raw.start_time,
        skipped=skipped,
        warnings=(*warnings, *prefix_notes),
        transforms=raw.inherited.transforms if raw.inherited else (),
        block_tokens=block_tokens,
    )
    if raw.inherited is not None:
        meta = _merge_inherited(meta, raw.inherited)
    return Trace(df=frame, meta=meta)


def _arrival_checks(column: Any, unit: str, zone: str | None) -> tuple[np.ndarray, str | None, list[_Check]]:
    """The arrival column converted (see :func:`_times`), its datetime zone kind, and its checks: a value of
    the unit, and (numbers) within :data:`MAX_SPAN_S` of the other arrivals."""
    times, bad, values, zone = _times(column, unit, zone)
    unit_text = "an ISO-8601 datetime" if unit == "iso" or zone else f"a number of {unit.removeprefix('epoch_')}"
    checks = [_Check("arrival_s", bad, values, unit_text)]
    if zone is None:
        far = _far_arrivals(times, bad, unit)
        span = f"{MAX_SPAN_S / (365.25 * 86400):.0f} years"
        checks.append(_Check("arrival_s", far, values, f"{unit_text} within {span} of the other arrivals"))
    return times, zone, checks


def _convert_columns(pending: dict[str, Any]) -> tuple[dict[str, Any], list[_Check]]:
    """Every column but the arrival, converted to its canonical type (popped from ``pending`` one by one), and
    the checks of their values."""
    checks: list[_Check] = []
    columns: dict[str, Any] = {}
    for name in ("input_tokens", "output_tokens", "cached_tokens"):
        if name in pending:
            arr, bad, values, over = _tokens(pending.pop(name))
            columns[name] = arr
            checks.append(_Check(name, bad, values, "a non-negative integer token count"))
            checks.append(_Check(name, over, values, f"at most {MAX_TOKENS:,} tokens per request"))
    if "cached_tokens" in columns:
        over = columns["cached_tokens"] > columns["input_tokens"]
        checks.append(_Check("cached_tokens", over, columns["cached_tokens"], "at most input_tokens"))
    if "hash_ids" in pending:
        hashes, bad, values = _hash_ids(pending.pop("hash_ids"))
        columns["hash_ids"] = hashes
        checks.append(_Check("hash_ids", bad, values, "a list of integers (space-separated in CSV)"))
    if "deferrable" in pending:
        flags, bad, values = _bools(pending.pop("deferrable"))
        columns["deferrable"] = flags
        checks.append(_Check("deferrable", bad, values, "true or false"))
    for name in ("model", "session_id", "parent_id", "prefix_hash"):
        if name in pending:
            columns[name] = _text(pending.pop(name), categorical=name == "model")
    checks += _session_columns(pending, columns)
    return columns, checks


def _bad_rows(raw: RawTable, checks: list[_Check], *, skip_bad_rows: bool) -> tuple[np.ndarray | None, SkippedRows]:
    """The rows that fail a check (a mask; None when none does) and what :class:`SkippedRows` records of
    them and of the malformed lines. Without ``skip_bad_rows``, the first bad row raises :class:`InputError`."""
    n = raw.n_rows
    checks = [c for c in checks if c.mask is not None and c.mask.any()]
    bad_any = np.zeros(n, dtype=bool) if checks else None
    for check in checks:
        bad_any |= check.mask  # type: ignore[operator]
    bad_rows = np.flatnonzero(bad_any) if bad_any is not None else np.zeros(0, dtype=np.int64)
    problems: list[tuple[int, str]] = [(line + raw.line_offset, why) for line, why in raw.malformed]
    if len(bad_rows):
        shown = bad_rows[: MAX_REPORTED + 1]
        for row, line in zip(shown, _locations(raw, shown, n), strict=True):
            check = next(c for c in checks if c.mask is not None and c.mask[row])
            source_col = raw.mapping.get(check.canonical, check.canonical)
            problems.append(
                (line, f"column {source_col!r}: expected {check.expected}, found {_found(check.values, int(row))}")
            )
    total_bad = len(raw.malformed) + len(bad_rows)
    if total_bad:
        problems.sort(key=lambda p: p[0])
        if not skip_bad_rows:
            line, reason = problems[0]
            more = f"{_rows(total_bad - 1, 'more bad row')}; " if total_bad > 1 else ""
            raise InputError(
                f"{_where(raw, line)}: {reason} ({more}pass --skip-bad-rows / skip_bad_rows=True to load the rest)"
            )
    skipped = SkippedRows(
        count=total_bad,
        first_lines=tuple(p[0] for p in problems[:MAX_REPORTED]),
        reasons=tuple(f"{raw.row_word} {p[0]}: {p[1]}" for p in problems[:MAX_REPORTED]),
    )
    return (bad_any if len(bad_rows) else None), skipped


def _sort_arrivals(
    arrival: np.ndarray, raw: RawTable, warnings: list[str], *, located: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """``arrival`` sorted (stable) and the order that sorts it (None when it already was), with a warning
    appended to ``warnings`` that counts the rows out of order (and, when rows are still where the file has
    them, ``located``, names the first one's line)."""
    if len(arrival) <= 1 or _is_sorted(arrival):
        return arrival, None
    running_max = np.maximum.accumulate(arrival)
    late = np.flatnonzero(arrival < running_max)
    where = ""
    if located:
        first_line = _locations(raw, late[:1], raw.n_rows)[0]
        where = f"; first at {raw.row_word} {first_line}"
    warnings.append(f"sorted {_rows(len(late), 'out-of-order row')} by arrival time{where}")
    order = np.argsort(arrival, kind="stable")
    return arrival[order], order


_UNIT_NAMES = {"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}
_BIGGER = {"ns": "us", "us": "ms", "ms": "s"}
_SMALLER = {"s": "ms", "ms": "us", "us": "ns"}


def unit_warnings(arrival: np.ndarray, *, unit: str, column: str) -> list[str]:
    """Plausibility of the arrival unit (sorted ``arrival`` in seconds): thousands of requests per second
    within a minute (read in too small a unit?) or a handful over days (too large a unit?)."""
    n = len(arrival)
    if n < 2:
        return []
    span = float(arrival[-1] - arrival[0])
    base = unit.removeprefix("epoch_")
    read_as = _UNIT_NAMES.get(base, base)
    out: list[str | None] = []
    if n >= 50 and 0 < span < 60 and n / span >= 1000:
        bigger = _BIGGER.get(base)
        fix = (
            f"if it holds {_UNIT_NAMES[bigger]}, pass --time-unit {bigger}"
            if bigger
            else "check that it holds arrival times (not durations or request ids)"
        )
        out.append(
            notice(
                "trace-rate-high",
                f"{n:,} requests arrive within {span:.3g} s ({n / span:,.0f} req/s) with column {column!r} read as "
                f"{read_as}; {fix}",
            )
        )
    if span >= 86400 and span / (n - 1) >= 1800:
        smaller = _SMALLER.get(base)
        fix = f"if it holds {_UNIT_NAMES[smaller]}, pass --time-unit {smaller}" if smaller else "check the column"
        out.append(
            notice(
                "trace-rate-low",
                f"only {n:,} requests over {span / 86400:,.3g} days (one every {span / (n - 1) / 3600:,.3g} h) with "
                f"column {column!r} read as {read_as}; {fix}",
            )
        )
    return [w for w in out if w]


def _rows(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _is_sorted(values: np.ndarray, chunk: int = 1 << 20) -> bool:
    """Non-decreasing? Checked in chunks so that the temporary boolean array stays small."""
    for start in range(0, len(values) - 1, chunk):  # a loop over 1 M-row chunks, not over requests
        part = values[start : start + chunk + 1]
        if np.any(part[1:] < part[:-1]):
            return False
    return True


def _merge_inherited(meta: TraceMeta, old: TraceMeta) -> TraceMeta:
    return TraceMeta(
        source=meta.source,
        format=meta.format,
        start_time=meta.start_time or old.start_time,
        skipped=meta.skipped if meta.skipped.count else old.skipped,
        warnings=tuple(dict.fromkeys((*old.warnings, *meta.warnings))),
        transforms=old.transforms,
        block_tokens=old.block_tokens or meta.block_tokens,
        closed_loop_users=old.closed_loop_users,
    )


def _to_seconds(
    times: np.ndarray, unit: str, zone: str | None, origin: float | int | None = None
) -> tuple[np.ndarray, datetime | None, float | int]:
    """Arrival seconds since ``origin`` (default: the first request), the absolute start time when the source
    has one, and the origin used (in the column's unit)."""
    if zone is not None:  # int64 nanoseconds
        first = int(times.min()) if origin is None else int(origin)
        arrival = (times - first).astype(np.float64) / 1e9
        stamp = pd.Timestamp(first, unit="ns").floor("us")  # datetime holds microseconds: say so, do not warn
        start = stamp.tz_localize("UTC").to_pydatetime() if zone == "utc" else stamp.to_pydatetime()
        return arrival, start, first
    per_second = round(1.0 / (TIME_UNITS[unit] or 1.0))  # 1, 1e3, 1e6, 1e9: divide (exact), not multiply by 1e-3
    first_value = float(times.min()) if origin is None else float(origin)
    if first_value == 0 and per_second == 1 and times.dtype == np.float64:
        arrival = times  # already seconds from 0 (canonical files): keep it, even a read-only Arrow view
    else:
        arrival = times if times.flags.writeable and times.dtype == np.float64 else times.astype(np.float64)
        arrival -= first_value  # in place: no second copy of the biggest column
        if per_second != 1:
            arrival /= per_second
    epoch_start = datetime.fromtimestamp(first_value / per_second, tz=UTC)
    return arrival, epoch_start if unit.startswith("epoch") else None, first_value


def _frame(arrival: np.ndarray, columns: dict[str, Any], order: np.ndarray | None, n: int) -> pd.DataFrame:
    data: dict[str, Any] = {"arrival_s": arrival}
    for name in (*CANONICAL_COLUMNS[1:], *PREFIX_INPUT_COLUMNS):
        if name not in columns:
            continue
        col = columns[name]
        if isinstance(col, pa.ChunkedArray):  # hash_ids: keep Arrow lists (no Python objects per request)
            if order is not None:
                col = col.take(pa.array(order))
            data[name] = pd.Series(pd.arrays.ArrowExtensionArray(col), copy=False)
        elif isinstance(col, pd.Series):
            data[name] = (col.take(order) if order is not None else col).array
        else:
            data[name] = col[order] if order is not None else col
    frame = pd.DataFrame(data, copy=False)
    for name in ("input_tokens", "output_tokens", "cached_tokens"):
        if name in frame.columns and frame[name].dtype != np.int64:
            frame[name] = frame[name].astype(np.int64)
    if "model" in frame.columns and not isinstance(frame["model"].dtype, pd.CategoricalDtype):
        frame["model"] = frame["model"].astype("category")
    if "session_id" in frame.columns:
        frame["session_id"] = frame["session_id"].astype("str")
    frame.index = pd.RangeIndex(n)
    return frame
