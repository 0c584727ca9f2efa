"""The live profiler: measure any OpenAI-compatible endpoint over streaming HTTP (``breakeven profile measure``).

Layers, bottom up: :mod:`.sse` (stream events → token times), :mod:`.client` (one timed request over an
``httpx.AsyncClient``), :mod:`.prompts` (calibrated prompt lengths), :mod:`.runner` (probe and concurrency
levels), :mod:`.launcher` (start/stop ``vllm serve``), :mod:`.measure` (the whole run),
:mod:`.samples` (the raw JSONL) and :mod:`.aggregate` (samples → :class:`~costmodel.profiles.schema.Profile`,
pure). See docs/profiler.md.
"""

from costmodel.profiles.live.aggregate import build_profile, requests_frame, stat_ms, warm_point, warm_points
from costmodel.profiles.live.client import Endpoint, normalize_base_url, stream_once, stream_with_retries
from costmodel.profiles.live.launcher import LaunchedServer
from costmodel.profiles.live.measure import MeasureConfig, guess_kind, measure_async, run_measurement
from costmodel.profiles.live.samples import SAMPLES_SCHEMA, SampleLog, read_samples

__all__ = [
    "SAMPLES_SCHEMA",
    "Endpoint",
    "LaunchedServer",
    "MeasureConfig",
    "SampleLog",
    "build_profile",
    "guess_kind",
    "measure_async",
    "normalize_base_url",
    "read_samples",
    "requests_frame",
    "run_measurement",
    "stat_ms",
    "stream_once",
    "stream_with_retries",
    "warm_point",
    "warm_points",
]
