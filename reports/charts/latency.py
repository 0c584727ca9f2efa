"""Latency percentiles and SLO attainment by option (three small panels against the SLO targets)."""

from __future__ import annotations

import numpy as np
from markupsafe import Markup

from costmodel.results import Distribution, Option, Results
from reports.blocks import Chart, DataTable
from reports.charts.common import arr
from reports.fmt import fmt
from reports.plots import LegendItem, RowPlot
from reports.svg import compact

_STATS = (("p50", "dot", "m-p50"), ("p90", "diamond", "m-p90"), ("p99", "triangle", "m-p99"))


def latency_chart(results: Results) -> Chart:
    """TTFT and TPOT percentiles per option with the SLO target, and the share of requests meeting both."""
    title = "Latency and SLO attainment by option"
    slo = results.inputs.slo
    options = results.options
    if not options:
        return Chart("chart-latency", title, "", missing="No options in these results.")
    known = [o for o in options if o.latency is not None]
    table = _table(results)
    if not known:
        return Chart(
            "chart-latency",
            title,
            "",
            table=table,
            missing="No option has latency data (no serverless latency profile and no fleet replay).",
        )
    ttft = _panel(options, "ttft", slo.ttft_ms)
    tpot = _panel(options, "tpot", slo.tpot_ms)
    att = _attainment(options, slo.attainment_target)
    parts = []
    for o in options:
        if o.latency is None:
            parts.append(f"{o.label}: latency unknown.")
        else:
            verdict = "meets" if o.meets_slo else ("misses" if o.meets_slo is False else "—")
            parts.append(
                f"{o.label}: {fmt(o.latency.slo_attainment, 'pct')} of requests within both targets "
                f"({verdict} the target)."
            )
    summary = (
        f"SLO: TTFT ≤ {fmt(slo.ttft_ms, 'ms')} ms and TPOT ≤ {fmt(slo.tpot_ms, 'ms')} ms for at least "
        f"{fmt(slo.attainment_target, 'pct')} of requests. " + " ".join(parts)
    )
    return Chart("chart-latency", title, summary, [ttft, tpot, att], table)


def _dist(o: Option, which: str) -> Distribution | None:
    if o.latency is None:
        return None
    return o.latency.ttft_ms if which == "ttft" else o.latency.tpot_ms


_PANELS = {"ttft": "Time to first token", "tpot": "Time per output token"}


def _panel(options: list[Option], which: str, target: float) -> Markup:
    name = _PANELS[which]
    x_label, chart_id = f"{name} [ms]", f"chart-latency-{which}"
    desc = f"{name} by option: p50, p90 and p99, against the {fmt(target, 'ms')} ms target."
    labels = [o.label for o in options]
    values = arr([v for o in options if (d := _dist(o, which)) for v in (d.mean, d.p50, d.p90, d.p99)] + [target])
    pos = values[np.isfinite(values) & (values > 0)]
    log = bool(pos.size >= 2 and pos.max() / pos.min() >= 30)
    plot = RowPlot(chart_id, title=x_label, desc=desc, labels=labels, x_label=x_label + (" (log scale)" if log else ""))
    plot.reserve_legend(
        [
            LegendItem("p50", "m-p50", "dot"),
            LegendItem("p90", "m-p90", "diamond"),
            LegendItem("p99", "m-p99", "triangle"),
            LegendItem(f"SLO target {fmt(target, 'ms')} ms", "ref-slo"),
        ]
    )
    plot.scale(values, log=log, fmt=compact)
    for i, o in enumerate(options):
        d = _dist(o, which)
        if d is None:
            plot.note(i, plot_left_value(values, log), "unknown")
            continue
        pts = arr([d.p50, d.p90, d.p99])
        fin = pts[np.isfinite(pts)]
        if fin.size >= 2:
            plot.segment(i, float(fin.min()), float(fin.max()), cls="range")
        for name, shape, cls in _STATS:
            v = getattr(d, name)
            if v is not None:
                plot.dot(i, v, cls=cls, shape=shape, tooltip=f"{o.label}: {which.upper()} {name} {fmt(v, 'ms')} ms")
        if d.p50 is None and d.p90 is None and d.p99 is None and d.mean is not None:
            plot.dot(i, d.mean, cls="m-p50", tooltip=f"{o.label}: {which.upper()} mean {fmt(d.mean, 'ms')} ms")
    plot.vline(target, cls="ref-slo", tooltip=f"SLO target {fmt(target, 'ms')} ms")
    return plot.render()


def plot_left_value(values: np.ndarray, log: bool) -> float:
    """A value at the left of the axis, to park a note there."""
    fin = values[np.isfinite(values) & ((values > 0) if log else True)]
    return float(fin.min()) if fin.size else 0.0


def _attainment(options: list[Option], target: float) -> Markup:
    labels = [o.label for o in options]
    plot = RowPlot(
        "chart-latency-slo",
        title="SLO attainment",
        desc="Share of requests meeting both the TTFT and TPOT targets, by option.",
        labels=labels,
        x_label="Requests meeting both targets [%]",
    )
    plot.reserve_legend(
        [
            LegendItem("Meets the target", "bar-ok", "bar"),
            LegendItem("Misses the target", "bar-miss", "bar"),
            LegendItem(f"Attainment target {fmt(target, 'pct')}", "ref-slo"),
        ]
    )
    plot.scale([0.0, 100.0], log=False, fmt=lambda v: f"{v:g}%")
    for i, o in enumerate(options):
        if o.latency is None:
            plot.note(i, 0.0, "unknown (no latency profile)")
            continue
        share = o.latency.slo_attainment
        cls = "bar-ok" if share >= target else "bar-miss"
        tip = (
            f"{o.label}: {fmt(share, 'pct')} meet both targets (TTFT {fmt(o.latency.ttft_attainment, 'pct')}, "
            f"TPOT {fmt(o.latency.tpot_attainment, 'pct')})"
        )
        plot.bar(i, 0.0, share * 100.0, cls=cls, tooltip=tip)
    plot.vline(target * 100.0, cls="ref-slo", tooltip=f"Attainment target {fmt(target, 'pct')}")
    return plot.render()


def _table(results: Results) -> DataTable:
    rows = []
    for o in results.options:
        lat = o.latency
        if lat is None:
            rows.append([o.label, *(["–"] * 9), "unknown"])
            continue
        q = lat.queue_ms
        rows.append(
            [
                o.label,
                fmt(lat.ttft_ms.p50, "ms"),
                fmt(lat.ttft_ms.p90, "ms"),
                fmt(lat.ttft_ms.p99, "ms"),
                fmt(lat.tpot_ms.p50, "ms"),
                fmt(lat.tpot_ms.p90, "ms"),
                fmt(lat.tpot_ms.p99, "ms"),
                fmt(q.p90 if q else None, "ms"),
                fmt(lat.slo_attainment, "pct"),
                "yes" if o.meets_slo else ("no" if o.meets_slo is False else "–"),
                lat.source,
            ]
        )
    headers = [
        "Option",
        "TTFT p50 ms",
        "TTFT p90 ms",
        "TTFT p99 ms",
        "TPOT p50 ms",
        "TPOT p90 ms",
        "TPOT p99 ms",
        "Queue p90 ms",
        "SLO attainment",
        "Meets SLO",
        "Latency source",
    ]
    return DataTable("Latency by option", headers, rows, [False] + [True] * 8 + [False, False], id="table-latency")
