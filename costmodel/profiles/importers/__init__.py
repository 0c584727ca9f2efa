"""Importers: vLLM logs and benchmark results of several tools → measured profiles.

Three tiers (STYLE.md habit 2): ``read_part(path_or_file)`` opens and detects the format by content;
pure ``parse_*`` functions turn text or decoded JSON into an :class:`ImportedPart`; :func:`build_profile`
merges parts into a :class:`~costmodel.profiles.schema.Profile`. :func:`import_profile` does all three.
"""

from costmodel.profiles.importers.aiperf import parse_aiperf, parse_aiperf_csv
from costmodel.profiles.importers.base import FormatName, ImportedPart, LogRun
from costmodel.profiles.importers.detect import FORMATS, detect_format, parse_part, read_part
from costmodel.profiles.importers.guidellm import parse_guidellm
from costmodel.profiles.importers.llmperf import parse_llmperf_responses, parse_llmperf_summary
from costmodel.profiles.importers.merge import build_profile, default_profile_id, import_profile
from costmodel.profiles.importers.prometheus import parse_vllm_metrics
from costmodel.profiles.importers.vllm_bench import parse_vllm_bench
from costmodel.profiles.importers.vllm_log import VllmLog, combine_runs, parse_vllm_log, part_from_log

__all__ = [
    "FORMATS",
    "FormatName",
    "ImportedPart",
    "LogRun",
    "VllmLog",
    "build_profile",
    "combine_runs",
    "default_profile_id",
    "detect_format",
    "import_profile",
    "parse_aiperf",
    "parse_aiperf_csv",
    "parse_guidellm",
    "parse_llmperf_responses",
    "parse_llmperf_summary",
    "parse_part",
    "parse_vllm_bench",
    "parse_vllm_log",
    "parse_vllm_metrics",
    "part_from_log",
    "read_part",
]
