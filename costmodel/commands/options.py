"""Options that ``breakeven analyze`` and ``breakeven table`` declare alike, defined once: the latency SLO,
the percentile it is planned at, the GPU price tier's choices and the break-even table's output lengths."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer


class PercentileChoice(StrEnum):
    """Latency statistic the SLO is planned at."""

    mean = "mean"
    p50 = "p50"
    p90 = "p90"
    p99 = "p99"


class TierChoice(StrEnum):
    """GPU price tier."""

    on_demand = "on_demand"
    reserved = "reserved"
    spot = "spot"


SloTtftOption = Annotated[
    float, typer.Option("--slo-ttft-ms", metavar="MS", min=0.001, help="Time-to-first-token target \\[ms].")
]
SloTpotOption = Annotated[
    float, typer.Option("--slo-tpot-ms", metavar="MS", min=0.001, help="Time-per-output-token target \\[ms].")
]
PercentileOption = Annotated[
    PercentileChoice, typer.Option("--percentile", help="Latency statistic the SLO targets apply to.")
]
OutputTokensOption = Annotated[
    str,
    typer.Option("--output-tokens", metavar="LIST", help="Output lengths of the break-even table, comma-separated."),
]
