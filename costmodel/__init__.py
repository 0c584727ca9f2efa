"""The cost model: capacity from profiles, break-even by output length, fleet replay, hybrid, sensitivity."""

from costmodel.breakeven import closed_form_breakeven_rps, cost_per_request_usd

__all__ = ["closed_form_breakeven_rps", "cost_per_request_usd"]
