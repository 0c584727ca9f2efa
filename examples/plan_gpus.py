"""Capacity planning: which option is cheapest for three GPU offers and two traffic growth factors?

Run it with ``.venv/bin/python examples/plan_gpus.py``. It uses the bundled Azure code trace and the bundled
Llama-3.1-8B-FP8 (1×H100) profile; swap in ``load_trace("your-trace.csv")`` and ``load_profile("p.json")``.
"""

from __future__ import annotations

from datetime import date

import costmodel
from costmodel.profiles import bundled_profile
from traces import load_trace, scale_rate

trace = load_trace(costmodel.bundled_trace_path())
profile = bundled_profile("llama-3.1-8b-fp8_1xH100")
gpus = ["digitalocean/gpu-h100-1x", "nebius/gpu-h100-1x", "lambda/gpu-h100-sxm-1x"]

print(f"{'GPU offer':26} {'traffic':>8}  {'cheapest option':82} {'$/month':>9}")
for gpu in gpus:
    for growth in (1, 10):
        results = costmodel.analyze(
            scale_rate(trace, growth),
            profiles=[profile],
            gpus=[gpu],
            serverless=["digitalocean/llama3-8b-instruct"],
            trace_shaped=False,  # the slowest step; the table only needs the replayed costs
            sensitivity_samples=0,
            today=date(2026, 11, 22),
        )
        best = results.option(results.recommendation.option_id) if results.recommendation.option_id else None
        label = best.label if best else "nothing meets the SLO"
        cost = f"{best.monthly_cost_usd:9,.0f}" if best else "        —"
        print(f"{gpu:26} {results.trace.mean_rps:6.1f}/s  {label:82} {cost}")
