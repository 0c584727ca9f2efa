"""GuideLLM ``benchmarks.json`` → one warm point per benchmark (load level).

Layouts: v0.2–v0.3 ``{"benchmarks": [...]}`` with ``args``/``worker``/``request_totals`` per benchmark;
v0.4+ ``{"args" | "metadata" | "config": ..., "benchmarks": [...]}`` with ``config`` (strategy) and
``request_totals`` inside ``metrics``. Each metric is ``{"successful": {mean, median, percentiles: {p90,
p99, [p50]}}, ...}``; only the ``successful`` summaries are used.

Mapping (GuideLLM name → profile field):

- ``time_to_first_token_ms`` → ``ttft_ms``
- ``inter_token_latency_ms`` → ``tpot_ms``: GuideLLM's per-request (last − first token)/(tokens − 1), the
  same definition as vLLM's TPOT. GuideLLM's ``time_per_output_token_ms`` *includes* the first token
  (v0.2+) and is kept in the notes only. GuideLLM stores no pooled gap distribution, so ``itl_ms`` is empty.
- ``request_latency`` (**seconds**) → ``e2e_ms``
- ``output_tokens_per_second`` / ``requests_per_second`` (successful mean) → ``output_tok_s`` / ``request_s``
- ``prompt_token_count`` / ``output_token_count`` (mean) → ``input_tokens_mean`` / ``output_tokens_mean``

Load level from the strategy: ``synchronous`` → concurrency 1; ``concurrent`` → ``streams``;
``throughput`` → ``max_concurrency``, or the measured peak concurrency when unset (GuideLLM then offers
every request at once up to its worker limit); ``constant``/``poisson`` → ``request_rate`` = ``rate``. A
benchmark with errored requests is marked ``valid=False`` (same rule as for vLLM results).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from breakeven.errors import InputError
from costmodel.profiles.importers.base import ImportedPart, number, text
from costmodel.profiles.importers.stats import first_number, stat_from_values
from costmodel.profiles.schema import SourceRef, Stat, WarmPoint


def is_guidellm(obj: Any) -> bool:
    """True for a decoded GuideLLM report: a ``benchmarks`` list whose entries carry TTFT metrics."""
    if not isinstance(obj, dict) or not isinstance(obj.get("benchmarks"), list) or not obj["benchmarks"]:
        return False
    first = obj["benchmarks"][0]
    return (
        isinstance(first, dict)
        and isinstance(first.get("metrics"), dict)
        and ("time_to_first_token_ms" in first["metrics"])
    )


def _successful(metrics: dict[str, Any], name: str) -> dict[str, Any] | None:
    block = metrics.get(name)
    if isinstance(block, dict) and isinstance(block.get("successful"), dict):
        return block["successful"]
    return None


def _stat(metrics: dict[str, Any], name: str, *, where: str, scale: float = 1.0) -> Stat | None:
    dist = _successful(metrics, name)
    if dist is None or not dist.get("count", 1):
        return None
    raw = dist.get("percentiles")
    percentiles: dict[str, Any] = raw if isinstance(raw, dict) else {}
    return stat_from_values(
        mean=first_number(dist, "mean"),
        p50=first_number(percentiles, "p50") if "p50" in percentiles else first_number(dist, "median"),
        p90=first_number(percentiles, "p90"),
        p99=first_number(percentiles, "p99"),
        scale=scale,
        where=f"{where}: metrics.{name}",
    )


def _mean(metrics: dict[str, Any], name: str) -> float | None:
    dist = _successful(metrics, name)
    value = first_number(dist, "mean") if dist else None
    return value if value is not None and value >= 0 else None


def _strategy(bench: dict[str, Any]) -> dict[str, Any]:
    for holder in (bench.get("args"), bench.get("config")):
        if isinstance(holder, dict) and isinstance(holder.get("strategy"), dict):
            return holder["strategy"]
    return {}


def _model(doc: dict[str, Any], bench: dict[str, Any]) -> str | None:
    worker = bench.get("worker")
    if isinstance(worker, dict) and text(worker, "backend_model"):
        return text(worker, "backend_model")
    config = bench.get("config")
    if isinstance(config, dict):
        backend = config.get("backend")
        if isinstance(backend, dict):
            for key in ("model", "backend_model"):
                if text(backend, key):
                    return text(backend, key)
    for holder in (doc.get("args"), doc.get("config")):
        if isinstance(holder, dict) and text(holder, "model"):
            return text(holder, "model")
    return None


def point_from_benchmark(bench: dict[str, Any], *, where: str, source: str) -> WarmPoint:
    """One GuideLLM benchmark (one load level) → a :class:`WarmPoint`."""
    metrics = bench.get("metrics")
    if not isinstance(metrics, dict):
        raise InputError(f"{where}: missing key 'metrics'; expected GuideLLM metric summaries")
    totals = bench.get("request_totals") or metrics.get("request_totals") or {}
    if not isinstance(totals, dict):
        raise InputError(f"{where}: key 'request_totals': expected an object")
    successful = number(totals, "successful", where=f"{where}: request_totals")
    errored = number(totals, "errored", where=f"{where}: request_totals") or 0.0
    incomplete = number(totals, "incomplete", where=f"{where}: request_totals") or 0.0
    strategy = _strategy(bench)
    kind = strategy.get("type_") or strategy.get("type")
    notes: list[str] = [f"GuideLLM strategy {kind!r}"] if kind else []
    concurrency: float | None = None
    request_rate: float | None = None
    conc = _successful(metrics, "request_concurrency") or {}
    measured_mean, measured_peak = first_number(conc, "mean"), first_number(conc, "max")
    if kind == "synchronous":
        concurrency = 1.0
    elif kind == "concurrent":
        concurrency = number(strategy, "streams", where=f"{where}: strategy")
    elif kind == "throughput":
        concurrency = number(strategy, "max_concurrency", where=f"{where}: strategy")
        if concurrency is None and measured_peak:
            concurrency = measured_peak
            notes.append(
                f"throughput strategy without max_concurrency: concurrency is the measured peak "
                f"{measured_peak:g} (mean {measured_mean or 0:.1f})"
            )
    elif kind in {"constant", "poisson"}:
        request_rate = number(strategy, "rate", where=f"{where}: strategy")
    if measured_mean is not None and kind not in {"throughput"}:
        notes.append(f"measured mean concurrency {measured_mean:.2f}")
    valid = True
    if not successful:
        valid = False
        notes.append("no successful request: a failed run, not a capacity point")
    elif errored:
        valid = False
        notes.append(f"{errored:g} errored requests: a failed run, not a capacity point")
    if incomplete:
        notes.append(f"{incomplete:g} requests incomplete at the end of the run (not counted)")
    tpot_incl_first = _mean(metrics, "time_per_output_token_ms")
    if tpot_incl_first is not None:
        notes.append(f"GuideLLM time_per_output_token_ms (includes the first token) mean {tpot_incl_first:.3f}")
    duration = number(bench, "duration", where=where)
    if duration is None:
        raw_sched = bench.get("scheduler_metrics")
        sched: dict[str, Any] = raw_sched if isinstance(raw_sched, dict) else {}
        start = first_number(sched, "measure_start_time", "start_time")
        end = first_number(sched, "measure_end_time", "end_time")
        duration = end - start if start is not None and end is not None and end >= start else None
    return WarmPoint(
        concurrency=concurrency,
        request_rate=request_rate,
        ttft_ms=_stat(metrics, "time_to_first_token_ms", where=where),
        tpot_ms=_stat(metrics, "inter_token_latency_ms", where=where),
        itl_ms=None,
        e2e_ms=_stat(metrics, "request_latency", where=where, scale=1000.0),
        output_tok_s=_mean(metrics, "output_tokens_per_second"),
        request_s=_mean(metrics, "requests_per_second"),
        input_tokens_mean=_mean(metrics, "prompt_token_count"),
        output_tokens_mean=_mean(metrics, "output_token_count"),
        requests=int(successful) if successful is not None else None,
        failed=int(errored),
        duration_s=duration,
        valid=valid,
        source=source,
        notes="; ".join(notes),
    )


def parse_guidellm(obj: Any, *, source: str = "<guidellm>", sha256: str | None = None) -> ImportedPart:
    """Decoded GuideLLM report → an :class:`ImportedPart` with one warm point per benchmark."""
    if not is_guidellm(obj):
        raise InputError(f"{source}: not a GuideLLM report; expected a 'benchmarks' list with 'metrics'")
    benchmarks = obj["benchmarks"]
    points = []
    for i, bench in enumerate(benchmarks):
        if not isinstance(bench, dict):
            raise InputError(f"{source}: benchmarks[{i}]: expected an object")
        label = f"{source}#{i}" if len(benchmarks) > 1 else source
        points.append(point_from_benchmark(bench, where=f"{source}: benchmarks[{i}]", source=label))
    first = benchmarks[0]
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    start = first_number(first, "start_time")
    if start is None and isinstance(first.get("run_stats"), dict):
        start = first_number(first["run_stats"], "start_time")
    date = datetime.fromtimestamp(start, tz=UTC).isoformat() if start else None
    return ImportedPart(
        format="guidellm",
        source=SourceRef(
            path=source,
            kind="guidellm",
            tool="guidellm",
            tool_version=text(metadata, "guidellm_version"),
            date=date,
            sha256=sha256,
        ),
        model=_model(obj, first),
        warm=points,
    )
