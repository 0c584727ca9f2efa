"""The sensitivity tornado: how the monthly cost gap and the break-even rate move when one input moves."""

from __future__ import annotations

import numpy as np
from markupsafe import Markup

from costmodel.results import Results, Sensitivity
from reports.blocks import Chart, DataTable
from reports.charts.common import arr
from reports.fmt import fmt
from reports.plots import LegendItem, RowPlot
from reports.svg import compact, compact_usd


def tornado_chart(results: Results) -> Chart:
    """Bars from the base answer to the answer with each input at −delta and +delta, widest first."""
    title = "Sensitivity: what moves the answer"
    sens = results.sensitivity
    if sens is None or not sens.tornado:
        why = (
            "No sensitivity analysis in these results."
            if sens is None
            else "The sensitivity analysis varied no inputs."
        )
        return Chart("chart-tornado", title, "", missing=why)
    pct = f"{sens.delta * 100:g}%"
    panels = [_gap_panel(sens, pct)]
    base_rps = sens.base_breakeven_rps
    if base_rps is not None and any(
        b.breakeven_rps_low is not None or b.breakeven_rps_high is not None for b in sens.tornado
    ):
        panels.append(_breakeven_panel(sens, base_rps, pct))
    widest = sens.tornado[0]
    flips = [
        b.label
        for b in sens.tornado
        if _flips(sens.base_monthly_gap_usd, b.monthly_gap_usd_low, b.monthly_gap_usd_high)
    ]
    summary = (
        f"Each input is moved by ±{pct} with the others at their base values. At the base inputs serverless costs "
        f"{fmt(sens.base_monthly_gap_usd, 'usd_abs')} a month "
        f"{'more' if sens.base_monthly_gap_usd > 0 else 'less'} than dedicated. "
        f"The widest bar is {widest.label}: the gap ranges from {fmt(widest.monthly_gap_usd_low, 'usd')} to "
        f"{fmt(widest.monthly_gap_usd_high, 'usd')}. "
        + (
            f"Moving {', '.join(flips)} by ±{pct} flips which option is cheaper."
            if flips
            else f"No single ±{pct} change flips which option is cheaper."
        )
    )
    return Chart("chart-tornado", title, summary, panels, _table(sens))


def _flips(base: float, low: float, high: float) -> bool:
    return bool(np.sign(low) != np.sign(base) or np.sign(high) != np.sign(base))


def _legend(pct: str, base: str) -> list[LegendItem]:
    return [
        LegendItem(f"input −{pct}", "t-low", "bar"),
        LegendItem(f"input +{pct}", "t-high", "bar"),
        LegendItem(f"base {base}", "ref-base"),
    ]


def _gap_panel(sens: Sensitivity, pct: str) -> Markup:
    bars = sens.tornado
    values = arr(
        [sens.base_monthly_gap_usd, 0.0] + [v for b in bars for v in (b.monthly_gap_usd_low, b.monthly_gap_usd_high)]
    )
    plot = RowPlot(
        "chart-tornado-gap",
        title="Monthly cost gap, serverless minus dedicated",
        desc=f"For each input moved by ±{pct}: serverless minus dedicated monthly cost; "
        "above zero dedicated is cheaper.",
        labels=[b.label for b in bars],
        x_label="Serverless − dedicated [USD / month] (> 0: dedicated cheaper)",
    )
    plot.reserve_legend(
        [*_legend(pct, fmt(sens.base_monthly_gap_usd, "usd")), LegendItem("costs equal ($0)", "ref-zero")]
    )
    plot.scale(values, log=False, fmt=compact_usd)
    base = sens.base_monthly_gap_usd
    for i, b in enumerate(bars):
        plot.bar(
            i,
            base,
            b.monthly_gap_usd_low,
            cls="t-low",
            tooltip=f"{b.label} at {fmt(b.low_value, 'num')} (−{pct}): gap {fmt(b.monthly_gap_usd_low, 'usd')} a month",
        )
        plot.bar(
            i,
            base,
            b.monthly_gap_usd_high,
            cls="t-high",
            tooltip=f"{b.label} at {fmt(b.high_value, 'num')} (+{pct}): "
            f"gap {fmt(b.monthly_gap_usd_high, 'usd')} a month",
        )
    plot.vline(0.0, cls="ref-zero", tooltip="Costs equal: left of this line serverless is cheaper")
    plot.vline(base, cls="ref-base", tooltip=f"Base gap {fmt(base, 'usd')} a month")
    return plot.render()


def _breakeven_panel(sens: Sensitivity, base: float, pct: str) -> Markup:
    bars = sens.tornado
    values = arr([base] + [v for b in bars for v in (b.breakeven_rps_low, b.breakeven_rps_high)])
    fin = values[np.isfinite(values) & (values > 0)]
    log = bool(fin.size >= 2 and fin.max() / fin.min() >= 30)
    plot = RowPlot(
        "chart-tornado-breakeven",
        title="Break-even rate",
        desc=f"For each input moved by ±{pct}: the break-even mean request rate.",
        labels=[b.label for b in bars],
        x_label="Break-even rate [req/s]" + (" (log scale)" if log else ""),
    )
    plot.reserve_legend(_legend(pct, f"{fmt(base, 'rps')} req/s"))
    plot.scale(values, log=log, fmt=compact, zero=not log)
    for i, b in enumerate(bars):
        for value, at, sign, cls in (
            (b.breakeven_rps_low, b.low_value, "−", "t-low"),
            (b.breakeven_rps_high, b.high_value, "+", "t-high"),
        ):
            if value is None:
                plot.note(i, base, f"{sign}{pct}: never")
                continue
            plot.bar(
                i,
                base,
                value,
                cls=cls,
                tooltip=f"{b.label} at {fmt(at, 'num')} ({sign}{pct}): break-even {fmt(value, 'rps')} req/s",
            )
    plot.vline(base, cls="ref-base", tooltip=f"Base break-even {fmt(base, 'rps')} req/s")
    return plot.render()


def _table(sens: Sensitivity) -> DataTable:
    rows = [
        [
            b.label,
            fmt(b.base_value, "num"),
            fmt(b.low_value, "num"),
            fmt(b.high_value, "num"),
            fmt(b.monthly_gap_usd_low, "usd"),
            fmt(b.monthly_gap_usd_high, "usd"),
            fmt(b.breakeven_rps_low, "rps") if b.breakeven_rps_low is not None else "never",
            fmt(b.breakeven_rps_high, "rps") if b.breakeven_rps_high is not None else "never",
        ]
        for b in sens.tornado
    ]
    headers = [
        "Input",
        "Base value",
        "Low value",
        "High value",
        "Gap at low",
        "Gap at high",
        "Break-even at low",
        "Break-even at high",
    ]
    return DataTable("Sensitivity by input", headers, rows, [False] + [True] * 7, id="table-tornado")
