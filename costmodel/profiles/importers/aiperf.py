"""NVIDIA AIPerf / genai-perf exports → one warm point.

JSON (``profile_export_aiperf.json``, genai-perf's ``profile_export_genai_perf.json``): one key per
metric, each ``{"unit", "avg", "p50", "p90", "p99", ...}``. Units are read from ``unit`` (``ms``, ``sec``,
``us``, ``ns``), never assumed. Mapping:

- ``time_to_first_token`` → ``ttft_ms``
- ``inter_token_latency`` → ``tpot_ms``: per request (latency − TTFT)/(tokens − 1), vLLM's TPOT
- ``inter_chunk_latency`` (AIPerf) → ``itl_ms``: every gap between streamed chunks, pooled
- ``request_latency`` → ``e2e_ms``
- ``output_token_throughput`` / ``request_throughput`` → ``output_tok_s`` / ``request_s``
- ``input_sequence_length`` / ``output_sequence_length`` → token means; ``request_count`` → ``requests``;
  ``benchmark_duration`` → ``duration_s``; ``error_summary`` counts → ``failed``

Load level: AIPerf ``input_config.phases[]`` (the measured phase: ``type`` ``concurrency`` or
``request_rate``); genai-perf ``input_config.concurrency`` / ``request_rate`` (argparse layout) or
``input_config.perf_analyzer.stimulus`` (config layout). No real genai-perf file was available: its layout
is supported as documented (``/work/shared/notes/profile-formats.md`` §3) and tested through AIPerf's.

CSV (``profile_export_aiperf.csv`` / ``profile_export_genai_perf.csv``): the per-metric table (``Metric,avg,
min,max,...,p50,...,p99``) and the ``Metric,Value`` table, rows matched by their display names
(``Time to First Token (ms)``). The CSV records neither the model nor the load level.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from breakeven.errors import InputError
from costmodel.profiles.importers.base import ImportedPart, text
from costmodel.profiles.importers.stats import first_number, stat_from_values
from costmodel.profiles.schema import SourceRef, Stat, WarmPoint

#: Seconds-per-unit → milliseconds factor for the time units the tools write.
_MS_PER_UNIT = {"ms": 1.0, "msec": 1.0, "s": 1000.0, "sec": 1000.0, "seconds": 1000.0, "us": 1e-3, "ns": 1e-6}


def is_aiperf(obj: Any) -> bool:
    """True for a decoded AIPerf / genai-perf JSON export (a ``time_to_first_token`` metric with a unit)."""
    if not isinstance(obj, dict):
        return False
    ttft = obj.get("time_to_first_token")
    return isinstance(ttft, dict) and "unit" in ttft and ("avg" in ttft or "p50" in ttft)


def is_aiperf_csv(data: str) -> bool:
    """True for an AIPerf / genai-perf CSV export (first row ``Metric,avg,...``)."""
    head = data.lstrip("\ufeff").split("\n", 1)[0].strip().lower()
    return head.startswith("metric,avg,") and "p99" in head


def _scale(block: dict[str, Any], *, where: str, name: str) -> float:
    unit = str(block.get("unit", "ms")).strip().lower()
    if unit not in _MS_PER_UNIT:
        raise InputError(f"{where}: {name}.unit: expected a time unit (ms, sec, us, ns), found {unit!r}")
    return _MS_PER_UNIT[unit]


def _latency(obj: dict[str, Any], name: str, *, where: str) -> Stat | None:
    block = obj.get(name)
    if not isinstance(block, dict):
        return None
    return stat_from_values(
        mean=first_number(block, "avg", "mean"),
        p50=first_number(block, "p50", "median"),
        p90=first_number(block, "p90"),
        p99=first_number(block, "p99"),
        scale=_scale(block, where=where, name=name),
        where=f"{where}: {name}",
    )


def _avg(obj: dict[str, Any], name: str) -> float | None:
    block = obj.get(name)
    value = first_number(block, "avg", "mean") if isinstance(block, dict) else None
    return value if value is not None and value >= 0 else None


def _load_level(config: dict[str, Any]) -> tuple[float | None, float | None]:
    """(concurrency, request_rate) from AIPerf phases or genai-perf's input_config."""
    phases = config.get("phases")
    if isinstance(phases, list):
        measured = [
            p for p in phases if isinstance(p, dict) and not p.get("exclude_from_results") and p.get("type") != "warmup"
        ]
        for phase in measured:
            conc = first_number(phase, "concurrency")
            rate = first_number(phase, "request_rate", "rate")
            if conc or rate:
                return conc, rate
    stimulus = (
        config.get("perf_analyzer", {}).get("stimulus") if isinstance(config.get("perf_analyzer"), dict) else None
    )
    for holder in (stimulus, config.get("loadgen"), config):
        if isinstance(holder, dict):
            conc = first_number(holder, "concurrency")
            rate = first_number(holder, "request_rate")
            if conc or rate:
                return conc, rate
    return None, None


def _model(config: dict[str, Any]) -> str | None:
    models = config.get("models")
    if isinstance(models, dict) and isinstance(models.get("items"), list) and models["items"]:
        first = models["items"][0]
        if isinstance(first, dict) and text(first, "name"):
            return text(first, "name")
    for key in ("model", "model_names"):
        value = config.get(key)
        if isinstance(value, list) and value and isinstance(value[0], str):
            return value[0]
        if isinstance(value, str) and value:
            return value
    return None


def _errors(obj: dict[str, Any]) -> int:
    summary = obj.get("error_summary")
    if not isinstance(summary, list):
        return 0
    total = 0
    for entry in summary:
        if isinstance(entry, dict):
            value = first_number(entry, "count")
            total += int(value) if value else 0
    return total


def parse_aiperf(obj: Any, *, source: str = "<aiperf>", sha256: str | None = None) -> ImportedPart:
    """Decoded AIPerf / genai-perf JSON export → an :class:`ImportedPart` with one warm point."""
    if not is_aiperf(obj):
        raise InputError(f"{source}: not an AIPerf/genai-perf export; expected a 'time_to_first_token' metric")
    config = obj.get("input_config") if isinstance(obj.get("input_config"), dict) else {}
    concurrency, rate = _load_level(config)
    failed = _errors(obj)
    requests = _avg(obj, "request_count")
    notes = []
    if obj.get("was_cancelled"):
        notes.append("the run was cancelled before its end")
    valid = not failed and not obj.get("was_cancelled") and bool(requests or requests is None)
    if failed:
        notes.append(f"{failed} failed requests: a failed run, not a capacity point")
    per_user = _avg(obj, "output_token_throughput_per_user")
    if per_user is not None:
        notes.append(f"output token throughput per user {per_user:.3f} tok/s")
    duration = _avg(obj, "benchmark_duration")
    if duration is not None and isinstance(obj.get("benchmark_duration"), dict):
        duration *= _scale(obj["benchmark_duration"], where=source, name="benchmark_duration") / 1000.0
    point = WarmPoint(
        concurrency=concurrency,
        request_rate=rate,
        ttft_ms=_latency(obj, "time_to_first_token", where=source),
        tpot_ms=_latency(obj, "inter_token_latency", where=source),
        itl_ms=_latency(obj, "inter_chunk_latency", where=source),
        e2e_ms=_latency(obj, "request_latency", where=source),
        output_tok_s=_avg(obj, "output_token_throughput"),
        request_s=_avg(obj, "request_throughput"),
        input_tokens_mean=_avg(obj, "input_sequence_length"),
        output_tokens_mean=_avg(obj, "output_sequence_length"),
        requests=int(requests) if requests is not None else None,
        failed=failed,
        duration_s=duration,
        valid=valid,
        source=source,
        notes="; ".join(notes),
    )
    is_aiperf_file = "aiperf_version" in obj or "schema_version" in obj
    return ImportedPart(
        format="aiperf",
        source=SourceRef(
            path=source,
            kind="aiperf",
            tool="aiperf" if is_aiperf_file else "genai-perf",
            tool_version=text(obj, "aiperf_version"),
            date=text(obj, "start_time"),
            sha256=sha256,
        ),
        model=_model(config),
        warm=[point],
    )


# --- CSV --------------------------------------------------------------------------------------------------

_CSV_NAMES = {
    "time to first token": "ttft",
    "inter token latency": "tpot",
    "inter chunk latency": "itl",
    "request latency": "e2e",
    "output sequence length": "output_tokens",
    "input sequence length": "input_tokens",
    "output token throughput": "output_tok_s",
    "request throughput": "request_s",
    "request count": "requests",
    "benchmark duration": "duration",
}
_UNIT = re.compile(r"^(?P<name>.*?)\s*(?:\((?P<unit>[^)]*)\))?\s*$")


def parse_aiperf_csv(data: str, *, source: str = "<aiperf.csv>", sha256: str | None = None) -> ImportedPart:
    """AIPerf / genai-perf CSV export → an :class:`ImportedPart` with one warm point (no load level)."""
    rows = list(csv.reader(io.StringIO(data.lstrip("\ufeff"))))
    header: list[str] | None = None
    stats: dict[str, dict[str, float | str]] = {}
    for line_no, row in enumerate(rows, start=1):
        if not row or not any(cell.strip() for cell in row):
            header = None
            continue
        if row[0].strip().lower() == "metric":
            header = [c.strip().lower() for c in row]
            continue
        if header is None:
            continue
        m = _UNIT.match(row[0].strip())
        key = _CSV_NAMES.get((m.group("name") if m else row[0]).strip().lower())
        if key is None:
            continue
        values: dict[str, float | str] = {"unit": (m.group("unit") if m and m.group("unit") else "ms")}
        for column, cell in zip(header[1:], row[1:], strict=False):
            try:
                values[column] = float(cell)
            except ValueError as exc:
                raise InputError(f"{source}:{line_no}: column {column!r}: expected a number, found {cell!r}") from exc
        stats[key] = values
    if "ttft" not in stats:
        raise InputError(f"{source}: no 'Time to First Token' row; expected an AIPerf/genai-perf CSV export")

    def latency(key: str) -> Stat | None:
        block = stats.get(key)
        if block is None:
            return None
        unit = str(block["unit"]).strip().lower()
        return stat_from_values(
            mean=first_number(block, "avg"),
            p50=first_number(block, "p50"),
            p90=first_number(block, "p90"),
            p99=first_number(block, "p99"),
            scale=_MS_PER_UNIT.get(unit, 1.0),
            where=f"{source}: {key}",
        )

    def scalar(key: str) -> float | None:
        block = stats.get(key)
        value = first_number(block, "avg", "value") if block else None
        return value if value is not None and value >= 0 else None

    requests = scalar("requests")
    point = WarmPoint(
        ttft_ms=latency("ttft"),
        tpot_ms=latency("tpot"),
        itl_ms=latency("itl"),
        e2e_ms=latency("e2e"),
        output_tok_s=scalar("output_tok_s"),
        request_s=scalar("request_s"),
        input_tokens_mean=scalar("input_tokens"),
        output_tokens_mean=scalar("output_tokens"),
        requests=int(requests) if requests is not None else None,
        duration_s=scalar("duration"),
        source=source,
        notes="the CSV export records no load level (concurrency or rate); import the JSON export for it",
    )
    return ImportedPart(
        format="aiperf-csv",
        source=SourceRef(path=source, kind="aiperf-csv", tool="aiperf / genai-perf", sha256=sha256),
        warm=[point],
    )
