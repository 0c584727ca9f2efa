"""The report's charts, each an inline SVG built from the results with a text equivalent.

Why inline SVG written by the renderer (and not Vega-Lite or plotly inlined): a report of six charts is
~100-300 kB instead of 0.5-4 MB of library script, opens with JavaScript off, prints sharp at any size, and
every mark can carry an accessible ``<title>`` that doubles as the hover-to-read tooltip.
"""

from __future__ import annotations

from costmodel.results import Results
from reports.blocks import Chart
from reports.charts.breakeven import breakeven_chart
from reports.charts.commitment import commitment_chart
from reports.charts.cost import band_chart, cost_chart
from reports.charts.latency import latency_chart
from reports.charts.routing import routing_chart
from reports.charts.timeline import timeline_chart
from reports.charts.tornado import tornado_chart

__all__ = ["build_charts"]


def build_charts(results: Results) -> dict[str, Chart]:
    """Every chart of the report, by role: cost, breakeven, commitment, timeline, latency, tornado, routing, band."""
    return {
        "cost": cost_chart(results),
        "breakeven": breakeven_chart(results),
        "commitment": commitment_chart(results),
        "timeline": timeline_chart(results),
        "latency": latency_chart(results),
        "tornado": tornado_chart(results),
        "routing": routing_chart(results),
        "band": band_chart(results),
    }
