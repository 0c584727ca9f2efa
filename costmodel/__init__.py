"""The cost model: capacity from profiles, break-even by output length, fleet replay, hybrid, sensitivity.

The public API mirrors the CLI::

    import costmodel
    results = costmodel.analyze()                      # `breakeven analyze` on the bundled scenario
    rows = costmodel.breakeven_table(gpu_hourly_usd=1.88, input_usd_per_mtok=0.10, output_usd_per_mtok=0.70,
                                     input_tokens=80, output_tokens=[30, 220, 1200])   # `breakeven table`
    costmodel.options_frame(results)                   # results as pandas DataFrames
"""

from costmodel.analyze import analyze, bundled_trace_path, default_inputs
from costmodel.breakeven import (
    breakeven_table,
    capacity_breakeven,
    closed_form_breakeven_rps,
    cost_curve,
    cost_per_request_usd,
)
from costmodel.capacity import CapacityFit, fit_replica_service
from costmodel.commitment import Base, brute_force, plan_commitment
from costmodel.finance import FinanceRequest
from costmodel.frames import breakeven_frame, options_frame, timeline_frame
from costmodel.policy import parse_policy
from costmodel.replay.dedicated import replay_dedicated
from costmodel.replay.hybrid import best_hybrid, replay_hybrid
from costmodel.replay.serverless import replay_serverless, serverless_bill
from costmodel.replay.trace_breakeven import trace_breakeven
from costmodel.results import AutoscalePolicy, Results, Slo
from costmodel.sensitivity import sensitivity_analysis

__all__ = [
    "AutoscalePolicy",
    "Base",
    "CapacityFit",
    "FinanceRequest",
    "Results",
    "Slo",
    "analyze",
    "best_hybrid",
    "breakeven_frame",
    "breakeven_table",
    "brute_force",
    "bundled_trace_path",
    "capacity_breakeven",
    "closed_form_breakeven_rps",
    "cost_curve",
    "cost_per_request_usd",
    "default_inputs",
    "fit_replica_service",
    "options_frame",
    "parse_policy",
    "plan_commitment",
    "replay_dedicated",
    "replay_hybrid",
    "replay_serverless",
    "sensitivity_analysis",
    "serverless_bill",
    "timeline_frame",
    "trace_breakeven",
]
