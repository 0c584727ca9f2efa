"""Traffic traces: load real public traces, generate synthetic ones, transform and summarize them."""

from traces.model import CANONICAL_COLUMNS, REQUIRED_COLUMNS, SkippedRows, Trace, TraceMeta
from traces.summary_model import TraceSummary

__all__ = ["CANONICAL_COLUMNS", "REQUIRED_COLUMNS", "SkippedRows", "Trace", "TraceMeta", "TraceSummary"]
