"""One break-even to sign: which of the three break-even numbers leads, and what each of them means.

The analysis computes the rate at which serverless and dedicated cost the same three ways, and they answer
different questions — so they differ, often by a factor:

- **closed form** — the seed article's formula, GPU $/h ÷ the serverless cost of one request: a GPU busy
  every hour, no capacity limit, no traffic shape;
- **capacity-aware** — whole replicas, each holding what it can within the SLO, under perfectly steady
  traffic (where the cost chart's lines cross);
- **trace-shaped** — the user's own trace scaled up or down and replayed on the autoscaled fleet, cold
  starts billed: bursts and quiet hours included.

The headline is the most complete one computed (trace-shaped, else capacity-aware, else closed form) at
the trace's mean output length; the verdict, the charts' captions and results.json
(``recommendation.breakeven_lines``) all name it and describe the others as what they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Literal

from costmodel.results import BreakevenLine, BreakevenRow
from traces.summary_model import TraceSummary

Method = Literal["closed_form", "capacity", "trace"]

#: Preference for the headline: the most complete model of the user's traffic first.
ORDER: Final[tuple[Method, ...]] = ("trace", "capacity", "closed_form")

NAMES: Final[dict[Method, str]] = {"closed_form": "closed form", "capacity": "capacity-aware", "trace": "trace-shaped"}

MEANINGS: Final[dict[Method, str]] = {
    "closed_form": (
        "the seed article's formula, GPU price per hour ÷ the serverless cost of one request: it assumes the "
        "GPU is busy every hour and never runs out of capacity, and ignores how the traffic arrives"
    ),
    "capacity": (
        "whole replicas, each holding what it can within the latency SLO, under perfectly steady traffic (where "
        "the cost chart's lines cross): it counts capacity but ignores bursts, quiet hours, autoscaling and "
        "cold starts"
    ),
    "trace": (
        "your own trace, scaled up or down, replayed on the autoscaled fleet with its cold starts billed: the "
        "mean rate at which the two monthly bills meet with your traffic's shape"
    ),
}


def _why(method: Method, trace: TraceSummary | None, computed: set[Method]) -> str:
    if method == "trace":
        shape = ""
        if trace is not None and trace.mean_rps > 0:
            shape = (
                f" (here a mean of {trace.mean_rps:.2f} req/s with minutes at {trace.peak_rps_60s:.1f} req/s and "
                f"an inter-arrival variability of {trace.interarrival_cv:.2f}, where 1 is Poisson)"
                if trace.interarrival_cv is not None
                else f" (here a mean of {trace.mean_rps:.2f} req/s with minutes at {trace.peak_rps_60s:.1f} req/s)"
            )
        return (
            "it is the only one of the three that includes how your traffic actually arrives" + shape + ", and "
            "what autoscaling and billed cold starts cost on it: it is the rate at which your own bills would meet"
        )
    missing = [NAMES[m] for m in ORDER if m not in computed and ORDER.index(m) < ORDER.index(method)]
    if method == "capacity":
        return (
            "it counts whole replicas under the SLO; the "
            + " and ".join(missing or ["trace-shaped"])
            + " line was not computed for this analysis (run without --no-trace-breakeven to get it)"
        )
    return "no capacity model or traffic shape was available, so only the formula could be computed"


def breakeven_lines(
    rows: Sequence[BreakevenRow], output_tokens_mean: float, trace: TraceSummary | None = None
) -> list[BreakevenLine]:
    """Each method's break-even at the mix (the row nearest the mean output length), headline first."""
    at_mix: dict[Method, BreakevenRow] = {}
    for method in ORDER:
        candidates = [r for r in rows if r.method == method]
        if candidates:
            at_mix[method] = min(candidates, key=lambda r: abs(r.output_tokens - output_tokens_mean))
    if not at_mix:
        return []
    headline = next(m for m in ORDER if m in at_mix)
    computed = set(at_mix)
    lines = [
        BreakevenLine(
            method=method,
            role="headline" if method == headline else "context",
            name=NAMES[method],
            breakeven_rps=row.breakeven_rps,
            output_tokens=row.output_tokens,
            meaning=MEANINGS[method],
            why=_why(method, trace, computed) if method == headline else "",
        )
        for method, row in at_mix.items()
    ]
    return sorted(lines, key=lambda line: (line.role != "headline", ORDER.index(line.method)))
