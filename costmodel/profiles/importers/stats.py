"""Latency summaries [ms] from per-request samples or from a tool's stored statistics.

Percentiles use numpy's default linear interpolation, which is what ``vllm bench serve`` /
``benchmark_serving.py`` (``np.percentile``, ``np.median``) and llmperf (pandas ``quantile``) use, so
recomputing from a file's arrays reproduces the statistics the tool stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from breakeven.errors import InputError
from costmodel.profiles.schema import Stat

#: The statistics a :class:`Stat` holds and the percentile each stands for.
_PERCENTILES = {"p50": 50.0, "p90": 90.0, "p99": 99.0}


def stat_from_samples(values_ms: npt.ArrayLike) -> Stat | None:
    """Mean, p50, p90 and p99 of ``values_ms`` [ms]; None when there are no samples."""
    values = np.asarray(values_ms, dtype=float)
    if values.size == 0:
        return None
    quantiles = np.percentile(values, list(_PERCENTILES.values()))
    p50, p90, p99 = (float(q) for q in quantiles)
    return Stat(mean=float(values.mean()), p50=p50, p90=p90, p99=p99)


def stat_from_values(
    *,
    mean: float | None = None,
    p50: float | None = None,
    p90: float | None = None,
    p99: float | None = None,
    scale: float = 1.0,
    where: str = "<input>",
) -> Stat | None:
    """A :class:`Stat` from stored statistics, each multiplied by ``scale`` (1000 for seconds → ms).

    Returns None when every statistic is unknown; a negative or non-finite one raises
    :class:`InputError` naming ``where``.
    """
    values = {"mean": mean, "p50": p50, "p90": p90, "p99": p99}
    if all(v is None for v in values.values()):
        return None
    for name, value in values.items():
        if value is not None and (not np.isfinite(value) or value < 0):
            raise InputError(f"{where}: {name}: expected a non-negative finite latency, found {value!r}")
    return Stat(**{k: (None if v is None else float(v) * scale) for k, v in values.items()})


def first_number(mapping: Mapping[str, Any], *keys: str) -> float | None:
    """The first of ``keys`` present in ``mapping`` with a finite numeric value (bools excluded)."""
    for key in keys:
        value = mapping.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and np.isfinite(value):
            return float(value)
    return None
