"""From raw samples to a profile: pure functions, no I/O.

Definitions (the same as ``vllm bench serve``, so that profiles from either compare):

- TTFT = send → first token event; E2E = send → end of stream.
- TPOT per request = (E2E − TTFT) / (completion tokens − 1), over requests with more than one token.
- ITL = every gap between token events, pooled over the level's requests (a provider that bundles several
  tokens into one event shows a larger ITL than TPOT).
- A level's duration runs from its first send to its last end; ``output_tok_s`` and ``request_s`` are
  completed output tokens and completed requests over that duration.
- Percentiles are numpy's linear interpolation; statistics are in milliseconds.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from breakeven.errors import InputError
from costmodel.profiles.schema import (
    ColdStart,
    Engine,
    MaxConcurrency,
    Phases,
    Profile,
    Provenance,
    SourceRef,
    Stat,
    WarmPoint,
)

#: A level whose failed share is above this is flagged ``valid=False`` (not a capacity point).
MAX_FAILED_FRACTION = 0.05

_REQUEST_COLUMNS = {
    "concurrency": "int64",
    "output_tokens_target": "int64",
    "index": "int64",
    "start_s": "float64",
    "ok": "bool",
    "ttft_s": "float64",
    "e2e_s": "float64",
    "prompt_tokens": "float64",
    "completion_tokens": "float64",
}


def stat_ms(values_ms: np.ndarray) -> Stat | None:
    """mean / p50 / p90 / p99 of ``values_ms`` [ms]; None when empty."""
    values = np.asarray(values_ms, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    p50, p90, p99 = np.percentile(values, [50, 90, 99])
    return Stat(mean=float(values.mean()), p50=float(p50), p90=float(p90), p99=float(p99))


def requests_frame(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """The ``request`` records as a DataFrame (one row per request; ``itl_s`` stays a list column)."""
    rows = [r for r in records if r.get("type") == "request"]
    frame = pd.DataFrame.from_records(rows, columns=[*_REQUEST_COLUMNS, "itl_s"])
    return frame.astype(_REQUEST_COLUMNS)


def warm_point(level: pd.DataFrame, *, planned: int | None = None, source: str | None = None) -> WarmPoint:
    """One load level (rows of :func:`requests_frame` with one concurrency and output target) → WarmPoint."""
    if level.empty:
        raise InputError("warm_point: expected at least one request sample in the level, found none")
    concurrency = int(level["concurrency"].iloc[0])
    ok = level[level["ok"]]
    failed = int(len(level) - len(ok))
    ttft_ms = ok["ttft_s"].to_numpy() * 1e3
    e2e_ms = ok["e2e_s"].to_numpy() * 1e3
    tokens = ok["completion_tokens"].to_numpy()
    multi = tokens > 1
    tpot_ms = (e2e_ms[multi] - ttft_ms[multi]) / (tokens[multi] - 1)
    itl = ok["itl_s"].explode().dropna()
    itl_ms = itl.to_numpy(dtype=float) * 1e3
    ends = level["start_s"] + level["e2e_s"].fillna(0.0)
    duration_s = float(ends.max() - level["start_s"].min())
    notes = [f"measured live at concurrency {concurrency}, max_tokens {int(level['output_tokens_target'].iloc[0])}"]
    valid = bool(len(ok)) and failed <= MAX_FAILED_FRACTION * len(level)
    if failed:
        notes.append(f"{failed} of {len(level)} requests failed")
    if planned is not None and len(level) < planned:
        valid = False
        notes.append(f"partial level: {len(level)} of {planned} planned requests (run interrupted)")
    return WarmPoint(
        concurrency=concurrency,
        ttft_ms=stat_ms(ttft_ms),
        tpot_ms=stat_ms(tpot_ms),
        itl_ms=stat_ms(itl_ms),
        e2e_ms=stat_ms(e2e_ms),
        output_tok_s=float(np.nansum(tokens) / duration_s) if duration_s > 0 and len(ok) else None,
        request_s=float(len(ok) / duration_s) if duration_s > 0 and len(ok) else None,
        input_tokens_mean=_mean(ok["prompt_tokens"]),
        output_tokens_mean=_mean(ok["completion_tokens"]),
        requests=len(ok),
        failed=failed,
        duration_s=duration_s if duration_s > 0 else None,
        valid=valid,
        source=source,
        notes="; ".join([*notes, "ITL is per streamed event"]),
    )


def _mean(series: pd.Series) -> float | None:
    values = series.dropna()
    return float(values.mean()) if len(values) else None


def warm_points(
    frame: pd.DataFrame, *, planned: Mapping[tuple[int, int], int] | None = None, source: str | None = None
) -> list[WarmPoint]:
    """One :class:`WarmPoint` per (concurrency, output target) level, in sweep order."""
    points = []
    for _, level in frame.groupby(["concurrency", "output_tokens_target"], sort=False):
        key = (int(level["concurrency"].iloc[0]), int(level["output_tokens_target"].iloc[0]))
        label = f"{source}#concurrency={key[0]},max_tokens={key[1]}" if source else None
        points.append(warm_point(level, planned=(planned or {}).get(key), source=label))
    return points


def cold_start(launches: Sequence[Mapping[str, Any]]) -> ColdStart | None:
    """Combine ``launch`` records: medians of the timings, per-phase medians of the parsed logs."""
    if not launches:
        return None
    good = [r for r in launches if not r.get("failed")]
    firsts = [float(r["first_token_s"]) for r in good if r.get("first_token_s") is not None]
    readies = [float(r["ready_s"]) for r in good if r.get("ready_s") is not None]
    phases = [Phases.model_validate(r["phases"]) for r in launches if r.get("phases")]
    merged: dict[str, float] = {}
    for name in Phases.model_fields:
        values = [getattr(p, name) for p in phases if getattr(p, name) is not None]
        if values:
            merged[name] = float(statistics.median(values))
    failures = [r for r in launches if r.get("failed")]
    return ColdStart(
        total_s=float(statistics.median(firsts)) if firsts else None,
        ready_s=float(statistics.median(readies)) if readies else None,
        samples_s=firsts,
        phases=Phases(**merged),
        failed=not good,
        failure=(failures[-1].get("error") if failures else None),
    )


def build_profile(
    records: Sequence[Mapping[str, Any]],
    *,
    samples_source: str | None = None,
    notes: Sequence[str] = (),
    created: datetime | None = None,
) -> Profile:
    """The profile a run's records describe (complete or partial). ``records[0]`` must be the ``run`` record."""
    if not records or records[0].get("type") != "run":
        raise InputError("samples: expected a 'run' record first, found none")
    run = records[0]
    probe = next((r for r in records if r.get("type") == "probe"), None)
    launches = [r for r in records if r.get("type") == "launch"]
    end = next((r for r in records if r.get("type") == "end"), None)
    frame = requests_frame(records)
    levels = [(c, o) for o in run["output_tokens"] for c in run["concurrency"]]
    planned = dict(zip(levels, run["requests_per_level"], strict=False))
    warm = warm_points(frame, planned=planned, source=samples_source or "live")
    last_launch = launches[-1] if launches else {}
    max_conc = None
    if last_launch.get("max_concurrency") and last_launch.get("max_concurrency_tokens"):
        max_conc = MaxConcurrency(
            value=last_launch["max_concurrency"], tokens_per_request=last_launch["max_concurrency_tokens"]
        )
    settings: dict[str, str | int | float | bool | None] = {
        "endpoint": run["endpoint"],
        "base_url": run["base_url"],
        "input_tokens_target": run["input_tokens"],
        "launch": run.get("launch"),
        **run.get("settings", {}),
    }
    if probe is not None:
        settings["ignore_eos"] = probe["ignore_eos"]
    provenance = Provenance(
        sources=_sources(run, launches, samples_source),
        created=created,
        tool_version=run.get("tool_version"),
        notes=[*notes, *_run_notes(run, probe, end)],
    )
    return Profile(
        id=run["profile_id"],
        kind=run["kind"],
        model=run["model"],
        gpu=run.get("gpu"),
        gpu_count=run.get("gpu_count", 1),
        gpu_price_id=run.get("gpu_price_id"),
        serverless_price_id=run.get("serverless_price_id"),
        engine=Engine(
            name=run.get("engine") or (probe or {}).get("engine") or "unknown",
            version=(probe or {}).get("engine_version") or last_launch.get("engine_version"),
        ),
        settings=settings,
        cold_start=cold_start(launches),
        kv_cache_tokens=last_launch.get("kv_cache_tokens"),
        max_concurrency=max_conc,
        warm=warm,
        provenance=provenance,
    )


def _run_notes(run: Mapping[str, Any], probe: Mapping[str, Any] | None, end: Mapping[str, Any] | None) -> list[str]:
    """What the provenance says about the run: how it ended, and what the probe learned of the server."""
    notes = []
    if end is None:
        notes.append("partial: the run did not finish (killed); built from the samples written so far")
    elif end.get("interrupted"):
        notes.append("partial: the run was interrupted; built from the samples measured so far")
    if end is not None and end.get("error"):
        notes.append(f"the run ended with an error: {end['error']}")
    if probe is not None:
        notes.append(
            f"prompts: {probe['words']} words for {run['input_tokens']} target input tokens "
            + (
                f"(calibrated: {probe['intercept_tokens']:.1f} + {probe['tokens_per_word']:.3f}/word)"
                if probe["calibrated"]
                else "(uncalibrated: the server reported no prompt tokens)"
            )
        )
        if not probe["ignore_eos"]:
            notes.append("the server refused ignore_eos: outputs may end before max_tokens")
        if not probe["usage"]:
            notes.append("the server sent no usage: completion tokens are counted stream events")
    return notes


def _sources(
    run: Mapping[str, Any], launches: Sequence[Mapping[str, Any]], samples_source: str | None
) -> list[SourceRef]:
    """The endpoint measured, the samples file and the server logs of the launches."""
    started = run["started"]
    sources = [
        SourceRef(
            path=run["base_url"],
            kind="live",
            tool="breakeven profile measure",
            tool_version=run.get("tool_version"),
            date=started.isoformat() if hasattr(started, "isoformat") else str(started),
        )
    ]
    if samples_source:
        sources.append(SourceRef(path=samples_source, kind="live-samples", tool="breakeven profile measure"))
    sources += [SourceRef(path=str(r["log_path"]), kind="vllm-log") for r in launches if r.get("log_path")]
    return sources
