"""ray-project/llmperf results → one warm point. **Latencies in these files are seconds.**

- ``*_summary.json``: flattened ``results_{metric}_{mean|quantiles_pNN}`` keys. TTFT and E2E map directly
  (x 1000). llmperf's ``inter_token_latency_s`` is each request's total time / output tokens, so it
  *includes* the first token; it is kept in the notes, and ``tpot_ms`` (first token excluded) is derived
  as (mean E2E − mean TTFT) / (output tokens − 1) only when every request had the same output length
  (``stddev_output_tokens`` 0), where that identity is exact; its percentiles are unknown.
  ``num_concurrent_requests`` is the concurrency; ``results_num_completed_requests_per_min`` / 60 the
  request rate; the run's duration is derived from completed requests and that rate.
- ``*_individual_responses.json``: a list of per-request records; statistics are computed from them
  (errored records excluded), TPOT per request exactly as (E2E − TTFT) / (output tokens − 1). These files
  record neither the concurrency nor the run's duration.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from breakeven.errors import InputError
from costmodel.profiles.importers.base import ImportedPart, count, number, text
from costmodel.profiles.importers.stats import stat_from_samples, stat_from_values
from costmodel.profiles.schema import SourceRef, Stat, WarmPoint

_RESPONSE_KEYS = ("ttft_s", "end_to_end_latency_s", "number_output_tokens")


def is_llmperf_summary(obj: Any) -> bool:
    """True for a decoded llmperf ``*_summary.json``."""
    return isinstance(obj, dict) and "results_ttft_s_mean" in obj


def is_llmperf_responses(obj: Any) -> bool:
    """True for a decoded llmperf ``*_individual_responses.json`` (a list of per-request records)."""
    return isinstance(obj, list) and bool(obj) and isinstance(obj[0], dict) and all(k in obj[0] for k in _RESPONSE_KEYS)


def _summary_stat(obj: dict[str, Any], metric: str, where: str) -> Stat | None:
    def get(suffix: str) -> float | None:
        return number(obj, f"results_{metric}_{suffix}", where=where)

    return stat_from_values(
        mean=get("mean"),
        p50=get("quantiles_p50"),
        p90=get("quantiles_p90"),
        p99=get("quantiles_p99"),
        scale=1000.0,
        where=where,
    )


def parse_llmperf_summary(obj: Any, *, source: str = "<llmperf>", sha256: str | None = None) -> ImportedPart:
    """Decoded llmperf summary → an :class:`ImportedPart` with one warm point."""
    if not is_llmperf_summary(obj):
        raise InputError(f"{source}: not an llmperf summary; expected key 'results_ttft_s_mean'")
    where = source
    ttft = _summary_stat(obj, "ttft_s", where)
    e2e = _summary_stat(obj, "end_to_end_latency_s", where)
    itl_incl_first = number(obj, "results_inter_token_latency_s_mean", where=where)
    out_mean = number(obj, "results_number_output_tokens_mean", where=where)
    if out_mean is None:
        out_mean = number(obj, "mean_output_tokens", where=where)
    out_std = number(obj, "results_number_output_tokens_stddev", where=where)
    notes = []
    tpot: Stat | None = None
    if (
        ttft is not None
        and e2e is not None
        and ttft.mean is not None
        and e2e.mean is not None
        and out_mean is not None
        and out_mean > 1
        and out_std == 0
    ):
        tpot = Stat(mean=max(0.0, (e2e.mean - ttft.mean) / (out_mean - 1)))
        notes.append("tpot_ms mean derived as (E2E − TTFT)/(output tokens − 1): every request had the same length")
    if itl_incl_first is not None:
        notes.append(f"llmperf inter_token_latency (includes the first token) mean {itl_incl_first * 1000:.3f} ms")
    completed = count(obj, "results_num_completed_requests", where=where)
    started = count(obj, "results_num_requests_started", where=where)
    errors = count(obj, "results_number_errors", where=where) or 0
    per_min = number(obj, "results_num_completed_requests_per_min", where=where)
    request_s = per_min / 60.0 if per_min is not None else None
    duration = completed / request_s if completed and request_s else None
    if duration is not None:
        notes.append("duration_s derived from completed requests / completed-per-minute")
    valid = bool(completed) and not errors and (started is None or completed is None or completed >= started)
    if not valid:
        notes.append(
            f"{errors} errors, {completed} of {started} requests completed: a failed run, not a capacity point"
        )
    in_mean = number(obj, "results_number_input_tokens_mean", where=where)
    if in_mean is None:
        in_mean = number(obj, "mean_input_tokens", where=where)
    point = WarmPoint(
        concurrency=number(obj, "num_concurrent_requests", where=where),
        ttft_ms=ttft,
        tpot_ms=tpot,
        e2e_ms=e2e,
        output_tok_s=number(obj, "results_mean_output_throughput_token_per_s", where=where),
        request_s=request_s,
        input_tokens_mean=in_mean,
        output_tokens_mean=out_mean,
        requests=completed,
        failed=errors,
        duration_s=duration,
        valid=valid,
        source=source,
        notes="; ".join(notes),
    )
    stamp = number(obj, "timestamp", where=where)
    return ImportedPart(
        format="llmperf-summary",
        source=SourceRef(
            path=source,
            kind="llmperf-summary",
            tool="llmperf",
            tool_version=text(obj, "version"),
            date=datetime.fromtimestamp(stamp, tz=UTC).isoformat() if stamp else None,
            sha256=sha256,
        ),
        model=text(obj, "model"),
        engine_name=text(obj, "framework"),
        warm=[point],
    )


def parse_llmperf_responses(obj: Any, *, source: str = "<llmperf>", sha256: str | None = None) -> ImportedPart:
    """Decoded llmperf individual responses → an :class:`ImportedPart` with one warm point."""
    if not is_llmperf_responses(obj):
        raise InputError(
            f"{source}: not llmperf individual responses; expected a list of records with {', '.join(_RESPONSE_KEYS)}"
        )
    frame = pd.DataFrame.from_records(obj)
    missing = [k for k in _RESPONSE_KEYS if k not in frame.columns]
    if missing:
        raise InputError(f"{source}: records lack {', '.join(missing)}")
    error_code = frame["error_code"] if "error_code" in frame.columns else pd.Series(None, index=frame.index)
    ok = error_code.isna().to_numpy()
    good = frame.loc[ok]
    numbers = good[list(_RESPONSE_KEYS)].apply(pd.to_numeric, errors="coerce")
    bad = ~np.isfinite(numbers.to_numpy(dtype=float)) | (numbers.to_numpy(dtype=float) < 0)
    if bad.any():
        row, col = (int(x[0]) for x in np.nonzero(bad))
        raise InputError(
            f"{source}: record {int(good.index[row])}: key {_RESPONSE_KEYS[col]!r}: "
            "expected a non-negative number (seconds)"
        )
    ttft_s = numbers["ttft_s"].to_numpy(dtype=float)
    e2e_s = numbers["end_to_end_latency_s"].to_numpy(dtype=float)
    out = numbers["number_output_tokens"].to_numpy(dtype=float)
    decoding = out > 1
    tpot_ms = (e2e_s[decoding] - ttft_s[decoding]) / (out[decoding] - 1) * 1000.0
    failed = int((~ok).sum())
    notes = ["llmperf individual responses record no concurrency and no run duration"]
    if failed:
        notes.append(f"{failed} errored requests: a failed run, not a capacity point")
    input_mean = None
    if "number_input_tokens" in good.columns and len(good):
        input_mean = float(pd.to_numeric(good["number_input_tokens"], errors="coerce").mean())
    point = WarmPoint(
        ttft_ms=stat_from_samples(ttft_s * 1000.0),
        tpot_ms=stat_from_samples(tpot_ms),
        e2e_ms=stat_from_samples(e2e_s * 1000.0),
        input_tokens_mean=input_mean if input_mean is not None and np.isfinite(input_mean) else None,
        output_tokens_mean=float(out.mean()) if out.size else None,
        requests=int(ok.sum()),
        failed=failed,
        valid=bool(ok.sum()) and not failed,
        source=source,
        notes="; ".join(notes),
    )
    return ImportedPart(
        format="llmperf-responses",
        source=SourceRef(path=source, kind="llmperf-responses", tool="llmperf", sha256=sha256),
        warm=[point],
    )
