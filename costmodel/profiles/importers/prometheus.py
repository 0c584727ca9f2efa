"""A vLLM ``GET /metrics`` scrape (Prometheus text format) → KV-cache capacity and mean latencies.

- ``vllm:cache_config_info`` labels: ``kv_cache_size_tokens`` (2026 builds), else ``num_gpu_blocks`` x
  ``block_size`` → ``kv_cache_tokens``; ``kv_cache_max_concurrency`` → ``max_concurrency`` (its request
  length derived as tokens / concurrency, which is how vLLM computes it); ``gpu_memory_utilization``, ``block_size`` and
  ``enable_prefix_caching`` → settings.
- Histograms ``_sum``/``_count`` give **means** since the server started: TTFT
  (``vllm:time_to_first_token_seconds``), ITL (``vllm:inter_token_latency_seconds``, or the older
  ``vllm:time_per_output_token_seconds``), per-request TPOT (``vllm:request_time_per_output_token_seconds``)
  and E2E (``vllm:e2e_request_latency_seconds``), all seconds → ms.

The means cover whatever traffic the server saw since it started, at no controlled load level, so they
form one warm point marked ``valid=False`` (kept for reference, never a capacity point).
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

from breakeven.errors import InputError
from costmodel.profiles.importers.base import ImportedPart
from costmodel.profiles.schema import MaxConcurrency, SourceRef, Stat, WarmPoint

_SAMPLE = re.compile(r"^(?P<name>[A-Za-z_:][\w:]*)(?:\{(?P<labels>.*)\})?\s+(?P<value>\S+)(?:\s+\d+)?\s*$")
_LABEL = re.compile(r'(?P<k>[A-Za-z_]\w*)="(?P<v>(?:[^"\\]|\\.)*)"')
_HISTOGRAMS = {
    "ttft_ms": ("vllm:time_to_first_token_seconds",),
    "itl_ms": ("vllm:inter_token_latency_seconds", "vllm:time_per_output_token_seconds"),
    "tpot_ms": ("vllm:request_time_per_output_token_seconds",),
    "e2e_ms": ("vllm:e2e_request_latency_seconds",),
}


def is_vllm_metrics(data: str) -> bool:
    """True for Prometheus text that holds vLLM metrics."""
    return "\nvllm:" in data or data.startswith("vllm:") or "# TYPE vllm:" in data


def _samples(data: str, source: str) -> list[tuple[str, dict[str, str], float]]:
    out: list[tuple[str, dict[str, str], float]] = []
    for line_no, line in enumerate(data.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        m = _SAMPLE.match(stripped)
        if m is None:
            raise InputError(f"{source}:{line_no}: not a Prometheus sample line; found {stripped[:80]!r}")
        try:
            value = float(m.group("value"))
        except ValueError as exc:
            raise InputError(f"{source}:{line_no}: expected a number, found {m.group('value')!r}") from exc
        labels = {lm.group("k"): lm.group("v") for lm in _LABEL.finditer(m.group("labels") or "")}
        out.append((m.group("name"), labels, value))
    return out


def _int_label(labels: dict[str, str], key: str) -> int | None:
    raw = labels.get(key)
    try:
        value = int(float(raw)) if raw is not None and raw not in {"None", ""} else None
    except ValueError:
        return None
    return value if value is not None and value > 0 else None


def parse_vllm_metrics(data: str, *, source: str = "<metrics>", sha256: str | None = None) -> ImportedPart:
    """Prometheus text from a vLLM server → an :class:`ImportedPart` (KV tokens, settings, mean latencies)."""
    samples = _samples(data, source)
    totals: dict[str, float] = {}
    model: str | None = None
    info: dict[str, str] = {}
    for name, labels, value in samples:
        if name.startswith("vllm:"):
            totals[name] = totals.get(name, 0.0) + value
            model = model or labels.get("model_name")
        if name == "vllm:cache_config_info":
            info = labels
    if not totals:
        raise InputError(f"{source}: no vllm:* metrics; expected a vLLM /metrics scrape")
    notes: list[str] = []
    kv_tokens = _int_label(info, "kv_cache_size_tokens")
    blocks, block_size = _int_label(info, "num_gpu_blocks"), _int_label(info, "block_size")
    if kv_tokens is None and blocks is not None:
        kv_tokens = blocks * (block_size or 16)
        notes.append(f"kv_cache_tokens = {blocks} GPU blocks x block size {block_size or 16}")
    max_conc = None
    try:
        conc_value = float(info.get("kv_cache_max_concurrency", ""))
    except ValueError:
        conc_value = 0.0
    if kv_tokens and conc_value > 0:
        per_request = round(kv_tokens / conc_value)
        max_conc = MaxConcurrency(value=conc_value, tokens_per_request=per_request)
        notes.append(
            "max_concurrency tokens per request derived as kv_cache_size_tokens / kv_cache_max_concurrency "
            f"= {per_request}"
        )
    settings: dict[str, str | int | float | bool | None] = {}
    with contextlib.suppress(ValueError, KeyError):
        settings["gpu_memory_utilization"] = float(info["gpu_memory_utilization"])
    if block_size is not None:
        settings["block_size"] = block_size
    if info.get("enable_prefix_caching") in {"True", "False"}:
        settings["enable_prefix_caching"] = info["enable_prefix_caching"] == "True"
    means: dict[str, Any] = {}
    for field, names in _HISTOGRAMS.items():
        for name in names:
            count, total = totals.get(f"{name}_count"), totals.get(f"{name}_sum")
            if count and total is not None and total >= 0:
                means[field] = Stat(mean=total / count * 1000.0)
                break
    requests = totals.get("vllm:e2e_request_latency_seconds_count")
    point = None
    if means:
        point = WarmPoint(
            **means,
            requests=int(requests) if requests is not None else None,
            valid=False,
            source=source,
            notes="means of vLLM's histograms since server start; no controlled load level: not a capacity point",
        )
    return ImportedPart(
        format="vllm-metrics",
        source=SourceRef(path=source, kind="vllm-metrics", tool="vllm /metrics", sha256=sha256),
        model=model,
        engine_name="vllm",
        settings=settings,
        kv_cache_tokens=kv_tokens,
        max_concurrency=max_conc,
        warm=[point] if point is not None else [],
        notes=notes,
    )
