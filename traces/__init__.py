"""Traffic traces: load real public traces, generate synthetic ones, transform and summarize them.

Public API (see docs/traces.md)::

    load_trace(src, *, format=None, columns=None, time_unit=None, skip_bad_rows=False, model=None) -> Trace
    write_trace(trace, path) -> Path
    summarize(trace) -> TraceSummary
    binned_arrivals(trace, bin_s) -> (bin_start_s, counts);  peak_rate_rps(arrival_s, window_s) -> float
    poisson / bursty / on_off / diurnal(rate_rps, duration_s, lengths, rng, ...) -> Trace
    parse_synthetic_spec(spec, rng) -> Trace;  parse_spec(spec) -> SyntheticSpec
    scale_rate, window, filter_model, drop_failed, override_output, subsample, concat, merge
"""

from traces.formats import FORMAT_NAMES, TIME_UNITS, parse_columns_option
from traces.generators import bursty, diurnal, on_off, poisson
from traces.lengths import Fixed, Lengths, LogNormal, Resampled, ResampledPairs
from traces.loaders import load_trace
from traces.model import CANONICAL_COLUMNS, REQUIRED_COLUMNS, SkippedRows, Trace, TraceMeta
from traces.spec import SyntheticSpec, parse_length_spec, parse_spec, parse_synthetic_spec
from traces.summary import binned_arrivals, binned_sum, interarrival_cv, peak_rate_rps, summarize
from traces.summary_model import TraceSummary
from traces.transforms import concat, drop_failed, filter_model, merge, override_output, scale_rate, subsample, window
from traces.writer import write_trace

__all__ = [
    "CANONICAL_COLUMNS",
    "FORMAT_NAMES",
    "REQUIRED_COLUMNS",
    "TIME_UNITS",
    "Fixed",
    "Lengths",
    "LogNormal",
    "Resampled",
    "ResampledPairs",
    "SkippedRows",
    "SyntheticSpec",
    "Trace",
    "TraceMeta",
    "TraceSummary",
    "binned_arrivals",
    "binned_sum",
    "bursty",
    "concat",
    "diurnal",
    "drop_failed",
    "filter_model",
    "interarrival_cv",
    "load_trace",
    "merge",
    "on_off",
    "override_output",
    "parse_columns_option",
    "parse_length_spec",
    "parse_spec",
    "parse_synthetic_spec",
    "peak_rate_rps",
    "poisson",
    "scale_rate",
    "subsample",
    "summarize",
    "window",
    "write_trace",
]
