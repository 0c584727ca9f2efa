"""The trace over time with the dedicated fleet overlaid: arrivals, replicas billed and ready, cold starts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from breakeven.errors import InputError
from costmodel.results import Results, Timeline
from reports.blocks import Chart, DataTable
from reports.charts.common import FloatArray, arr
from reports.downsample import TIMELINE_BUCKETS, minmax_points, summarize
from reports.fmt import fmt
from reports.plots import LegendItem, XYPlot
from reports.svg import compact

HOVER_STRIPS = 120
TABLE_ROWS = 48
COLD_START_TICKS = 300


@dataclass(frozen=True)
class _Clock:
    """The timeline as arrays (converted from the lists once) and its time axis: bin starts [s], where the
    last bin ends [s], and the display unit (min, h or d)."""

    t: FloatArray
    t_end: float
    unit_s: float
    unit: str
    arrivals: FloatArray
    running: FloatArray
    ready: FloatArray
    cold: FloatArray

    @classmethod
    def of(cls, tl: Timeline) -> _Clock:
        t = arr(tl.t_s)
        if not np.isfinite(t).all() or (np.diff(t) < 0).any():
            raise InputError("results: timeline.t_s: expected finite, increasing bin start times [s]")
        t_end = float(t[-1] + tl.bin_s)
        duration = t_end - float(t[0])
        unit_s, unit = (
            (60.0, "min") if duration <= 2 * 3600 else (3600.0, "h") if duration <= 72 * 3600 else (86400.0, "d")
        )
        series = (arr(tl.arrivals_rps), arr(tl.replicas_running), arr(tl.replicas_ready), arr(tl.cold_start_times_s))
        return cls(t, t_end, unit_s, unit, *series)

    def label(self, t_s: float) -> str:
        """A time as '6 h', '2.5 d'."""
        return f"{compact(t_s / self.unit_s)} {self.unit}"

    def span(self, t0: float, t1: float) -> str:
        """A period as '6 h–7 h'."""
        return f"{self.label(t0)}–{self.label(t1)}"


def timeline_chart(results: Results) -> Chart:
    """Arrivals per second (mean and min–max per drawn bucket), replicas billed/ready, cold-start ticks."""
    title = "Traffic and the dedicated fleet over time"
    tl = results.timeline
    if tl is None or not tl.t_s:
        why = "No timeline in these results (the analysis did not replay a dedicated fleet over the trace)."
        return Chart("chart-timeline", title, "", missing=why)
    clock = _Clock.of(tl)
    t, t_end, unit_s = clock.t, clock.t_end, clock.unit_s
    label = _option_label(results, tl)

    arrivals = summarize(t, clock.arrivals, t_end, TIMELINE_BUCKETS)
    run_t, run_y = minmax_points(t, clock.running, TIMELINE_BUCKETS)
    rdy_t, rdy_y = minmax_points(t, clock.ready, TIMELINE_BUCKETS)
    # Extend the replica steps to the end of the last bin.
    run_t, run_y = np.append(run_t, t_end), np.append(run_y, run_y[-1])
    rdy_t, rdy_y = np.append(rdy_t, t_end), np.append(rdy_y, rdy_y[-1])
    downsampled = len(arrivals) < t.size

    legend = [LegendItem("Arrivals [req/s], bucket mean", "s-arrivals")]
    if downsampled:
        legend.append(LegendItem("Arrivals, bucket min–max", "band-arrivals", "band"))
    legend += [LegendItem("Replicas billed", "s-replicas"), LegendItem("Replicas ready", "s-ready")]
    if tl.cold_start_times_s:
        legend.append(LegendItem("Cold start", "tick-cold", "line"))
    desc = (
        f"Requests per second over the trace ({t.size:,} bins of {fmt(tl.bin_s, 'num')} s"
        + (f", drawn as {len(arrivals):,} buckets" if downsampled else "")
        + f") with the replicas of {label} on the right axis and its cold starts as ticks."
    )
    plot = XYPlot(
        "chart-timeline",
        title=title,
        desc=desc,
        x_label=f"Time since trace start [{clock.unit}]",
        y_label="Arrivals [req/s]",
        y2_label="Replicas",
    )
    plot.reserve_legend(legend)
    ys = np.concatenate([arrivals.max, arrivals.mean])
    plot.scales(np.array([t[0], t_end]) / unit_s, ys, x_log=False, y_log=False, y2s=np.concatenate([run_y, rdy_y]))
    edges_u = np.append(arrivals.t_start, t_end) / unit_s
    if downsampled:
        lo, hi = np.append(arrivals.min, arrivals.min[-1]), np.append(arrivals.max, arrivals.max[-1])
        plot.band(edges_u, lo, hi, cls="band-arrivals", step=True)
    plot.line(edges_u, np.append(arrivals.mean, arrivals.mean[-1]), cls="s-arrivals", step=True)
    plot.line(run_t / unit_s, run_y, cls="s-replicas", step=True, axis="y2")
    plot.line(rdy_t / unit_s, rdy_y, cls="s-ready", step=True, axis="y2")
    _cold_ticks(plot, tl, clock)
    _hover(plot, tl, clock)
    return Chart("chart-timeline", title, _summary(tl, clock, label), [plot.render()], _table(tl, clock))


def _option_label(results: Results, tl: Timeline) -> str:
    if tl.option_id:
        for o in results.options:
            if o.id == tl.option_id:
                return o.label
        return tl.option_id
    return "the dedicated fleet"


def _cold_ticks(plot: XYPlot, tl: Timeline, clock: _Clock) -> None:
    cold = clock.cold
    if cold.size == 0:
        return
    if cold.size <= COLD_START_TICKS:
        tips = [f"Cold start at {clock.label(c)}" for c in cold.tolist()]
        plot.ticks_at((cold / clock.unit_s).tolist(), tips, cls="tick-cold", height=10)
        return
    # Too many to draw one by one: one tick per period that had any, with the count on hover.
    edges = np.linspace(float(clock.t[0]), clock.t_end, COLD_START_TICKS + 1)
    counts, _ = np.histogram(cold, bins=edges)
    hit = np.flatnonzero(counts)
    tips = [f"{counts[i]} cold starts in {clock.span(edges[i], edges[i + 1])}" for i in hit]
    plot.ticks_at((edges[hit] / clock.unit_s).tolist(), tips, cls="tick-cold", height=10)


def _hover(plot: XYPlot, tl: Timeline, clock: _Clock) -> None:
    a = summarize(clock.t, clock.arrivals, clock.t_end, HOVER_STRIPS)
    r = summarize(clock.t, clock.running, clock.t_end, HOVER_STRIPS)
    edges = np.append(a.t_start, clock.t_end)
    cold, _ = np.histogram(clock.cold, bins=edges)
    tips = [
        f"{clock.span(a.t_start[i], a.t_end[i])}: arrivals mean {fmt(a.mean[i], 'rps')} req/s "
        f"(peak {fmt(a.max[i], 'rps')}), replicas billed {fmt(r.min[i], 'num')}–{fmt(r.max[i], 'num')}, "
        f"{int(cold[i])} cold start(s)"
        for i in range(len(a))
    ]
    plot.hover_strips(edges / clock.unit_s, tips)


def _summary(tl: Timeline, clock: _Clock, label: str) -> str:
    arrivals, running = clock.arrivals, clock.running
    duration = clock.t_end - float(clock.t[0])
    mean_rate = float(np.nansum(arrivals) * tl.bin_s / duration) if duration > 0 else 0.0
    lo, hi = float(np.nanmin(running)), float(np.nanmax(running))
    mean = fmt(float(np.nanmean(running)), "num")
    fleet = (
        f"runs {fmt(lo, 'num')} replica(s) throughout"
        if lo == hi
        else f"runs {fmt(lo, 'num')} to {fmt(hi, 'num')} replicas (time-weighted mean {mean})"
    )
    return (
        f"Over {clock.label(duration)} the trace averages {fmt(mean_rate, 'rps')} req/s with a peak "
        f"{fmt(tl.bin_s, 'num')}-second bin of {fmt(float(np.nanmax(arrivals)), 'rps')} req/s. {label} {fleet} "
        f"and starts {len(tl.cold_start_times_s):,} replicas cold during the trace."
    )


def _table(tl: Timeline, clock: _Clock) -> DataTable:
    a = summarize(clock.t, clock.arrivals, clock.t_end, TABLE_ROWS)
    r = summarize(clock.t, clock.running, clock.t_end, TABLE_ROWS)
    q = summarize(clock.t, clock.ready, clock.t_end, TABLE_ROWS)
    cold, _ = np.histogram(clock.cold, bins=np.append(a.t_start, clock.t_end))
    rows = [
        [
            clock.span(a.t_start[i], a.t_end[i]),
            fmt(a.mean[i], "rps"),
            fmt(a.max[i], "rps"),
            fmt(r.mean[i], "num"),
            fmt(r.max[i], "num"),
            fmt(q.mean[i], "num"),
            fmt(int(cold[i]), "count"),
        ]
        for i in range(len(a))
    ]
    headers = [
        "Period",
        "Mean req/s",
        "Peak bin req/s",
        "Replicas billed (mean)",
        "Replicas billed (max)",
        "Replicas ready (mean)",
        "Cold starts",
    ]
    n = clock.t.size
    note = f"{len(a)} periods summarising {n:,} bins; every bin is in results.json (timeline)." if len(a) < n else ""
    return DataTable("Traffic and fleet by period", headers, rows, [False] + [True] * 6, note)
