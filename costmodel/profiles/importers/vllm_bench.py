"""``vllm bench serve`` / ``benchmark_serving.py`` result JSON (every era) → warm points.

Accepted containers: one result object (``--save-result``), a JSON array of results (``vllm bench sweep
serve``'s ``summary.json``), or JSON Lines with one result per line (``--append-result``).

Units: every ``*_ms`` key is milliseconds; the per-request arrays ``ttfts``, ``itls`` and ``latencies``
are **seconds**. When ``ttfts``/``itls`` are present, TTFT and ITL statistics (mean, p50, p90, p99) are
recomputed from them (numpy linear percentiles, as the tool computes them, so they reproduce the stored
values); TPOT and E2E are recomputed only when ``latencies`` is present (newest files), else the stored
keys are used. Like the tool, only successful requests (empty ``errors`` entry) count, and a request that
streamed no text keeps the TTFT of 0 the tool recorded (a note gives how many, and the median without them).

Load level: ``max_concurrency`` when set; otherwise, with ``request_rate`` ``"inf"``, every one of the N
prompts was sent at t = 0, so N (``num_prompts``, or ``completed + failed``) is the offered concurrency
(the LambdaLabs sweeps); a finite ``request_rate`` is recorded as such. A run with ``completed`` below N
is a failed run: its point is kept with ``valid=False`` and a note, never as a capacity point.

Key eras (``/work/shared/notes/profile-formats.md`` §2): 2024 ``best_of``, ``input_throughput``,
``*_latency_ms`` for E2E; 2025 ``burstiness``, ``max_concurrency``, ``*_e2el_ms`` and the bug key
``"request_goodput:"``; 2026 ``endpoint_type``, ``failed``, ``max_concurrent_requests``; sweeps add
``run_number`` and the swept server arguments.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from itertools import chain, compress
from typing import Any

import numpy as np
import pandas as pd

from breakeven.errors import InputError
from costmodel.profiles.importers.base import ImportedPart, count, number, text
from costmodel.profiles.importers.stats import stat_from_samples, stat_from_values
from costmodel.profiles.schema import SourceRef, Stat, WarmPoint

_STAT_KEY = re.compile(r"^(?:mean|median|std|p\d+(?:\.\d+)?)_[a-z0-9_]+_ms$")
_KNOWN = {
    "date", "endpoint_type", "backend", "label", "model_id", "tokenizer_id", "num_prompts", "best_of",
    "use_beam_search", "request_rate", "burstiness", "max_concurrency", "ramp_up_strategy",
    "ramp_up_start_rps", "ramp_up_end_rps", "duration", "completed", "failed", "total_input_tokens",
    "total_output_tokens", "request_throughput", "request_goodput", "request_goodput:", "input_throughput",
    "output_throughput", "total_token_throughput", "input_lens", "output_lens", "ttfts", "itls", "latencies",
    "start_times", "queue_times", "generated_texts", "errors", "max_output_tokens_per_s",
    "max_concurrent_requests", "rtfx", "run_number", "rps_change_events",
}  # fmt: skip

#: Keys that make a JSON object a vLLM serving-benchmark result.
SIGNATURE = ("completed", "duration", "request_throughput")


def is_vllm_bench_record(obj: Any) -> bool:
    """True for a dict that carries the keys every era of the serving-benchmark result has."""
    return isinstance(obj, dict) and all(k in obj for k in SIGNATURE) and ("mean_ttft_ms" in obj or "ttfts" in obj)


def tool_of(record: dict[str, Any]) -> str:
    """Which tool (and era) wrote ``record``, from the keys it carries."""
    if "run_number" in record:
        return "vllm bench sweep serve"
    if "endpoint_type" in record:
        return "vllm bench serve"
    if "input_throughput" in record or "best_of" in record:
        return "benchmark_serving.py (2024)"
    return "benchmark_serving.py / vllm bench serve (2025)"


def _date(record: dict[str, Any]) -> str | None:
    raw = text(record, "date")
    if raw is None:
        return None
    try:
        return datetime.strptime(raw, "%Y%m%d-%H%M%S").isoformat()  # local time of the client, no zone
    except ValueError:
        return raw


def _stored(record: dict[str, Any], metric: str, where: str) -> Stat | None:
    def get(prefix: str) -> float | None:
        return number(record, f"{prefix}_{metric}_ms", where=where)

    return stat_from_values(mean=get("mean"), p50=get("median"), p90=get("p90"), p99=get("p99"), where=where)


def _array(record: dict[str, Any], key: str, where: str, size: int | None = None) -> np.ndarray | None:
    raw = record.get(key)
    if not isinstance(raw, list):
        return None
    try:
        values = np.asarray(raw, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{where}: key {key!r}: expected a list of numbers") from exc
    if values.ndim != 1 or (size is not None and values.size != size):
        raise InputError(f"{where}: key {key!r}: expected {size} numbers, found {values.size}")
    if values.size and (not np.isfinite(values).all() or (values < 0).any()):
        raise InputError(f"{where}: key {key!r}: expected non-negative finite numbers")
    return values


def point_from_record(record: dict[str, Any], *, where: str, source: str) -> WarmPoint:
    """One serving-benchmark result object → one :class:`WarmPoint` (see the module docstring)."""
    if not isinstance(record, dict):
        raise InputError(f"{where}: expected a JSON object (one benchmark result), found {type(record).__name__}")
    completed = count(record, "completed", where=where, required=True) or 0
    duration = number(record, "duration", where=where, required=True)
    failed = count(record, "failed", where=where)
    num_prompts = count(record, "num_prompts", where=where)
    rate = number(record, "request_rate", where=where, allow_inf=True)
    max_conc = count(record, "max_concurrency", where=where)
    offered = num_prompts if num_prompts is not None else completed + (failed or 0)
    notes: list[str] = []
    if failed is None and num_prompts is not None and num_prompts >= completed:
        failed = num_prompts - completed  # 2024 files have no 'failed' key

    concurrency: float | None = None
    request_rate: float | None = None
    if max_conc:
        concurrency = float(max_conc)
    if rate is not None and math.isfinite(rate) and rate > 0:
        request_rate = rate
    elif rate is not None and math.isinf(rate) and not max_conc and offered > 0:
        concurrency = float(offered)
        notes.append(
            f"request_rate inf without max_concurrency: all {offered} requests were sent at t=0, so the "
            "concurrency is the offered burst N, not a steady state"
        )
    if "ramp_up_strategy" in record and record.get("ramp_up_strategy"):
        notes.append(f"ramp-up run ({record['ramp_up_strategy']}); the load level changed during the run")

    valid = True
    if completed == 0:
        valid = False
        notes.append("no request completed: a failed run, not a capacity point")
    elif completed < offered:
        valid = False
        notes.append(
            f"only {completed} of {offered} requests completed; the metrics cover the completed requests "
            "only: a failed run, not a capacity point"
        )

    ttft, itl, tpot, e2e = _latencies(record, where=where, completed=completed, notes=notes)
    if itl is not None and tpot is not None and itl.mean and tpot.mean and itl.mean > 1.5 * tpot.mean:
        notes.append(
            f"ITL ({itl.mean:.1f} ms) is per streamed chunk (several tokens per chunk); use tpot_ms "
            f"({tpot.mean:.1f} ms) for per-token decode time"
        )

    total_in = number(record, "total_input_tokens", where=where)
    total_out = number(record, "total_output_tokens", where=where)
    swept = {k: v for k, v in record.items() if k not in _KNOWN and not _STAT_KEY.match(k)}
    swept_text = ", ".join(f"{k}={v}" for k, v in swept.items() if isinstance(v, str | int | float | bool))
    if swept_text:
        notes.append(f"run settings: {swept_text}")
    return WarmPoint(
        concurrency=concurrency,
        request_rate=request_rate,
        ttft_ms=ttft,
        tpot_ms=tpot,
        itl_ms=itl,
        e2e_ms=e2e,
        output_tok_s=number(record, "output_throughput", where=where),
        request_s=number(record, "request_throughput", where=where),
        input_tokens_mean=total_in / completed if total_in is not None and completed else None,
        output_tokens_mean=total_out / completed if total_out is not None and completed else None,
        requests=completed,
        failed=failed,
        duration_s=duration,
        valid=valid,
        source=source,
        notes="; ".join(notes),
    )


def _latencies(
    record: dict[str, Any], *, where: str, completed: int, notes: list[str]
) -> tuple[Stat | None, Stat | None, Stat | None, Stat | None]:
    """TTFT, ITL, TPOT and E2E statistics [ms]: from the per-request arrays when present, else stored."""
    e2e_metric = "e2el" if any(k.endswith("_e2el_ms") for k in record) else "latency"
    ttft = _stored(record, "ttft", where)
    itl = _stored(record, "itl", where)
    tpot = _stored(record, "tpot", where)
    e2e = _stored(record, e2e_metric, where)
    ttfts = _array(record, "ttfts", where)
    if ttfts is None or ttfts.size == 0:
        return ttft, itl, tpot, e2e
    n = ttfts.size
    errors = record.get("errors")
    if isinstance(errors, list) and len(errors) == n:
        errs = pd.Series(errors, dtype=object)
        ok = (errs.isna() | (errs == "")).to_numpy(dtype=bool)
    else:
        ok = np.ones(n, dtype=bool)
    if int(ok.sum()) != completed:
        notes.append(f"per-request arrays show {int(ok.sum())} successful requests, 'completed' says {completed}")
    ttft_ms = ttfts[ok] * 1000.0
    recomputed = stat_from_samples(ttft_ms)
    if recomputed is not None:
        if (
            ttft is not None
            and ttft.mean is not None
            and not math.isclose(recomputed.mean or 0, ttft.mean, rel_tol=1e-6)
        ):
            notes.append(
                f"TTFT recomputed from 'ttfts' ({recomputed.mean:.3f} ms) differs from stored ({ttft.mean:.3f} ms)"
            )
        ttft = recomputed
        silent = int((ttft_ms == 0).sum())
        if silent:
            streamed = ttft_ms[ttft_ms > 0]
            median_note = f"; TTFT p50 without them: {float(np.median(streamed)):.1f} ms" if streamed.size else ""
            notes.append(
                f"{silent} of {ttft_ms.size} completed requests streamed no text (TTFT recorded as 0 and "
                f"counted in the TTFT statistics, as the tool does){median_note}"
            )
    itls = record.get("itls")
    if isinstance(itls, list) and len(itls) == n:
        try:
            gaps_s = np.fromiter(chain.from_iterable(compress(itls, ok.tolist())), dtype=float)
        except (TypeError, ValueError) as exc:
            raise InputError(f"{where}: key 'itls': expected a list of lists of numbers (seconds)") from exc
        if gaps_s.size and (not np.isfinite(gaps_s).all() or (gaps_s < 0).any()):
            raise InputError(f"{where}: key 'itls': expected non-negative finite numbers (seconds)")
        itl = stat_from_samples(gaps_s * 1000.0) or itl
    latencies = _array(record, "latencies", where, size=n)
    output_lens = _array(record, "output_lens", where, size=n)
    if latencies is not None:
        e2e = stat_from_samples(latencies[ok] * 1000.0) or e2e
        if output_lens is not None:
            decoding = ok & (output_lens > 1)
            per_token_s = (latencies[decoding] - ttfts[decoding]) / (output_lens[decoding] - 1)
            tpot = stat_from_samples(per_token_s * 1000.0) or tpot
    return ttft, itl, tpot, e2e


def records_of(obj: Any, *, where: str) -> list[dict[str, Any]]:
    """The result objects in a decoded file: one object, or a list of them (sweep summary / JSONL)."""
    records = obj if isinstance(obj, list) else [obj]
    for i, record in enumerate(records):
        if not is_vllm_bench_record(record):
            missing = [k for k in SIGNATURE if not isinstance(record, dict) or k not in record]
            raise InputError(
                f"{where}: record {i}: not a vLLM serving-benchmark result; expected keys "
                f"{', '.join(SIGNATURE)} and mean_ttft_ms, missing {', '.join(missing) or 'mean_ttft_ms'}"
            )
    return records


def parse_vllm_bench(obj: Any, *, source: str = "<bench>", sha256: str | None = None) -> ImportedPart:
    """Decoded result JSON (object, array or list of JSONL objects) → an :class:`ImportedPart`."""
    records = records_of(obj, where=source)
    several = len(records) > 1
    points = []
    for i, record in enumerate(records):
        label = source
        if several:
            run = record.get("run_number")
            label = f"{source}#{i}" + (f" (run_number {run})" if run is not None else "")
        points.append(point_from_record(record, where=label, source=label))
    first = records[0]
    models = {m for m in (text(r, "model_id") for r in records) if m}
    notes = [f"{source}: results for several models: {', '.join(sorted(models))}"] if len(models) > 1 else []
    settings: dict[str, str | int | float | bool | None] = {}
    swept_keys = {k for r in records for k in r if k not in _KNOWN and not _STAT_KEY.match(k)}
    for key in sorted(swept_keys):
        values = {repr(r.get(key)) for r in records}
        value = first.get(key)
        if len(values) == 1 and isinstance(value, str | int | float | bool):
            settings[key] = value
    backend = text(first, "backend")
    return ImportedPart(
        format="vllm-bench",
        source=SourceRef(path=source, kind="vllm-bench", tool=tool_of(first), date=_date(first), sha256=sha256),
        model=text(first, "model_id"),
        engine_name="vllm" if backend == "vllm" else None,
        settings=settings,
        warm=points,
        notes=notes,
    )
