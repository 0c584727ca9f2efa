"""Results as pandas DataFrames, for capacity-planning scripts and notebooks.

Each function takes a :class:`~costmodel.results.Results` (from :func:`costmodel.analyze` or
``reports.load_results("results.json")``) and returns a tidy frame: one row per option, per break-even row, or
per timeline bin.
"""

from __future__ import annotations

import pandas as pd

from costmodel.results import Results


def options_frame(results: Results) -> pd.DataFrame:
    """One row per option: id, kind, label, total and monthly cost, SLO attainment, GPU-hours, replicas."""
    rows = [
        {
            "id": o.id,
            "kind": o.kind,
            "label": o.label,
            "recommended": o.id == results.recommendation.option_id,
            "monthly_cost_usd": o.monthly_cost_usd,
            "total_cost_usd": o.total_cost_usd,
            "cost_per_request_usd": o.cost_per_request_usd,
            "slo_attainment": o.slo_attainment,
            "meets_slo": o.meets_slo,
            "serverless_price_id": o.serverless_price_id,
            "gpu_price_id": o.gpu_price_id,
            "profile_id": o.profile_id,
            "gpu_hours_billed": o.gpu_hours_billed,
            "gpu_hours_busy": o.gpu_costs.hours.busy if o.gpu_costs else None,
            "gpu_hours_idle": o.gpu_costs.hours.idle if o.gpu_costs else None,
            "gpu_hours_cold_start": o.gpu_costs.hours.cold_start if o.gpu_costs else None,
            "token_cost_usd": o.token_costs.total_usd if o.token_costs else None,
            "replicas_mean": o.replicas.mean if o.replicas else None,
            "replicas_peak": o.replicas.peak if o.replicas else None,
            "cold_starts": o.replicas.cold_starts if o.replicas else None,
            "overflow_share": o.overflow_share,
        }
        for o in results.options
    ]
    return pd.DataFrame(rows).sort_values("monthly_cost_usd", kind="stable").reset_index(drop=True)


def breakeven_frame(results: Results) -> pd.DataFrame:
    """One row per break-even row: method, input/output tokens, break-even rate (NaN = never)."""
    frame = pd.DataFrame([row.model_dump() for row in results.breakeven])
    if frame.empty:
        return frame
    return frame.astype({"breakeven_rps": "float64", "breakeven_rph": "float64"})


def timeline_frame(results: Results) -> pd.DataFrame:
    """One row per timeline bin: start time, arrivals per second, replicas billed and ready."""
    t = results.timeline
    if t is None:
        return pd.DataFrame(columns=["t_s", "arrivals_rps", "replicas_running", "replicas_ready"])
    return pd.DataFrame(
        {
            "t_s": t.t_s,
            "arrivals_rps": t.arrivals_rps,
            "replicas_running": t.replicas_running,
            "replicas_ready": t.replicas_ready,
        }
    )
