"""``breakeven analyze``: the main job. (Placeholder until the cost model lands: prints the closed-form
break-even table of the seed article's case.)"""

from __future__ import annotations

from rich.table import Table

from breakeven.cli_support import stdout
from costmodel.breakeven import closed_form_breakeven_rps, cost_per_request_usd


def analyze() -> None:
    """Run the analysis on the bundled default scenario and print the break-even table."""
    gpu_hourly, p_in, p_out, tokens_in = 1.88, 0.10, 0.70, 80
    outputs = [30, 220, 1200]
    rps = closed_form_breakeven_rps(gpu_hourly, tokens_in, outputs, p_in, p_out)
    per_req = cost_per_request_usd(tokens_in, outputs, p_in, p_out)
    table = Table(title=f"Break-even: ${gpu_hourly}/h GPU vs ${p_in}/${p_out} per 1M tokens, {tokens_in} input tokens")
    for col in ("output tokens", "serverless $/request", "break-even req/s", "req/hour"):
        table.add_column(col, justify="right")
    for out, r, c in zip(outputs, rps, per_req, strict=True):
        table.add_row(f"{out:,}", f"{c:.6f}", f"{r:.2f}", f"{r * 3600:,.0f}")
    stdout.print(table)
