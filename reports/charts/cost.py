"""The main chart (monthly cost against mean request rate) and the uncertainty band around it."""

from __future__ import annotations

import numpy as np

from costmodel.results import BreakevenLine, CostCurve, Results
from reports.blocks import Chart, DataTable
from reports.charts.common import arr, cheapest, cost_axis_is_log, edges_between, rate_axis_is_log, thin_indices
from reports.fmt import fmt
from reports.plots import LegendItem, XYPlot
from reports.svg import compact_usd

_KIND_CLASS = {"serverless": "s-serverless", "dedicated": "s-dedicated", "hybrid": "s-hybrid"}


def cost_chart(results: Results) -> Chart:
    """Monthly cost vs mean request rate: serverless line, dedicated steps, hybrid curve, break-even and
    user-traffic markers. Log axes when the rates (and costs) span two decades."""
    title = "Monthly cost against mean request rate"
    curve = results.cost_curve
    if curve is None or not curve.rps:
        return Chart("chart-cost", title, "", missing="The analysis did not compute a cost curve.")
    rps = arr(curve.rps)
    sls, ded = arr(curve.serverless_monthly_usd), arr(curve.dedicated_monthly_usd)
    hyb = arr(curve.hybrid_monthly_usd) if curve.hybrid_monthly_usd else None
    x_log = rate_axis_is_log(rps)
    all_costs = np.concatenate([sls, ded, hyb if hyb is not None else np.empty(0)])
    y_log = cost_axis_is_log(all_costs, x_log=x_log)
    headline = _headline(results)

    scale_note = "log–log axes" if y_log else ("log rate axis" if x_log else "linear axes")
    desc = (
        f"Monthly cost (730 hours) of each option family at mean request rates from {fmt(rps.min(), 'rps')} "
        f"to {fmt(rps.max(), 'rps')} req/s, {scale_note}."
    )
    plot = XYPlot(
        "chart-cost", title=title, desc=desc, x_label="Mean request rate [req/s]", y_label="Monthly cost [USD]"
    )
    plot.reserve_legend(_cost_legend(curve, hybrid=hyb is not None, headline=headline))
    extra = [headline.breakeven_rps] if headline is not None and headline.breakeven_rps is not None else []
    marks = [m for m in [*curve.breakeven_rps, curve.user_rps, *extra] if m > 0 or not x_log]
    plot.scales(np.concatenate([rps, marks]), all_costs, x_log=x_log, y_log=y_log, y_fmt=compact_usd)
    if hyb is not None:
        plot.line(rps, hyb, cls="s-hybrid")
    plot.line(rps, ded, cls="s-dedicated", step=True)
    plot.line(rps, sls, cls="s-serverless")
    tips = [_cost_tip(r, _cells(i, sls, ded, hyb)) for i, r in enumerate(rps.tolist())]
    plot.hover_strips(edges_between(rps, log=x_log), tips)
    _mark_crossings(plot, curve.breakeven_rps, rps, sls)
    _mark_user(plot, results, headline, rps, user=curve.user_rps, x_log=x_log, y_log=y_log)
    summary = _cost_summary(results, curve, rps, sls, ded)
    return Chart("chart-cost", title, summary, [plot.render()], _cost_table(rps, sls, ded, hyb, x_log=x_log))


def _cost_legend(curve: CostCurve, *, hybrid: bool, headline: BreakevenLine | None) -> list[LegendItem]:
    sls_label = f"Serverless ({curve.serverless_price_id})" if curve.serverless_price_id else "Serverless"
    ded_label = f"Dedicated ({curve.gpu_price_id})" if curve.gpu_price_id else "Dedicated"
    legend = [LegendItem(sls_label, "s-serverless"), LegendItem(ded_label, "s-dedicated")]
    if hybrid:
        legend.append(LegendItem("Hybrid (best split)", "s-hybrid"))
    if curve.breakeven_rps:
        legend.append(LegendItem("Lines cross (steady traffic)", "m-breakeven", "diamond"))
    if headline is not None:
        legend.append(LegendItem(f"Break-even to sign ({headline.name})", "ref-headline"))
    legend.append(LegendItem("Your traffic", "ref-user"))
    return legend


def _cells(i: int, sls: np.ndarray, ded: np.ndarray, hyb: np.ndarray | None) -> list[float]:
    """The costs at rate ``i``: serverless, dedicated (NaN/inf: SLO unreachable), hybrid when drawn."""
    return [float(sls[i]), float(ded[i]), *([float(hyb[i])] if hyb is not None else [])]


def _cost_tip(rate: float, costs: list[float]) -> str:
    parts = [
        f"serverless {fmt(costs[0], 'usd')}",
        f"dedicated {fmt(costs[1], 'usd')}" if np.isfinite(costs[1]) else "dedicated: SLO unreachable",
    ]
    if len(costs) > 2:
        parts.append(f"hybrid {fmt(costs[2], 'usd')}")
    return f"{fmt(rate, 'rps')} req/s: " + ", ".join(parts) + " a month"


def _mark_crossings(plot: XYPlot, crossings: list[float], rps: np.ndarray, sls: np.ndarray) -> None:
    """A diamond where the serverless and dedicated lines cross, and a reference line at the first one."""
    for j, be in enumerate(crossings):
        cost_at = float(np.interp(be, rps, sls))
        plot.marker(
            be,
            cost_at,
            cls="m-breakeven",
            shape="diamond",
            tooltip=f"Lines cross: {fmt(be, 'rps')} req/s, {fmt(cost_at, 'usd')} a month either way (steady traffic)",
        )
        if j == 0:
            plot.vline(
                be,
                cls="ref-breakeven",
                label=f"lines cross at {fmt(be, 'rps')} req/s (steady traffic)",
                tooltip=f"Serverless and dedicated cost the same at {fmt(be, 'rps')} req/s if traffic were perfectly "
                "steady (capacity-aware break-even: no bursts, autoscaling or cold starts)",
                level=1,
            )


def _mark_user(
    plot: XYPlot,
    results: Results,
    headline: BreakevenLine | None,
    rps: np.ndarray,
    *,
    user: float,
    x_log: bool,
    y_log: bool,
) -> None:
    """The break-even to sign (when not the lines' crossing), the user's traffic, and each option's replayed
    cost at it."""
    if headline is not None and headline.breakeven_rps is not None and headline.method != "capacity":
        plot.vline(
            headline.breakeven_rps,
            cls="ref-headline",
            label=f"break-even to sign {fmt(headline.breakeven_rps, 'rps')} req/s ({headline.name})",
            tooltip=f"The {headline.name} break-even: {headline.meaning}",
            anchor="end",
            level=2,
        )
    user_x = user if (user > 0 or not x_log) else float(rps[rps > 0].min()) if rps[rps > 0].size else user
    at_edge = " (zero traffic: drawn at the left edge)" if user_x != user else ""
    plot.vline(
        user_x,
        cls="ref-user",
        label=f"your traffic {fmt(user, 'rps')} req/s" + (" (axis edge)" if at_edge else ""),
        tooltip=f"Your trace's mean rate: {fmt(user, 'rps')} req/s{at_edge}",
    )
    for opt in results.options:
        plot.marker(
            user_x,
            opt.monthly_cost_usd if not (y_log and opt.monthly_cost_usd <= 0) else np.nan,
            cls=f"m-user {_KIND_CLASS[opt.kind]}-fill",
            tooltip=f"{opt.label} at your traffic: {fmt(opt.monthly_cost_usd, 'usd')} a month (replay)",
        )


def _cost_table(rps: np.ndarray, sls: np.ndarray, ded: np.ndarray, hyb: np.ndarray | None, *, x_log: bool) -> DataTable:
    idx = thin_indices(rps.size, log_x=rps if x_log else None)
    headers = ["Rate [req/s]", "Serverless $/month", "Dedicated $/month"] + (
        ["Hybrid $/month"] if hyb is not None else []
    )
    rows: list[list[str]] = []
    for i in idx:
        row = [fmt(rps[i], "rps"), fmt(sls[i], "usd"), fmt(ded[i], "usd") if np.isfinite(ded[i]) else "SLO unreachable"]
        if hyb is not None:
            row.append(fmt(hyb[i], "usd"))
        rows.append(row)
    note = (
        f"{len(idx)} of {rps.size} points; the full curve is in results.json (cost_curve)."
        if len(idx) < rps.size
        else ""
    )
    return DataTable("Monthly cost by mean request rate", headers, rows, [True] * len(headers), note)


def _cost_summary(results: Results, curve: CostCurve, rps: np.ndarray, sls: np.ndarray, ded: np.ndarray) -> str:
    parts = [
        (
            f"Serverless costs {fmt(sls[0], 'usd')} a month at {fmt(rps[0], 'rps')} req/s and "
            f"{fmt(sls[-1], 'usd')} at {fmt(rps[-1], 'rps')} req/s (it grows in proportion to traffic)."
        )
    ]
    fin = np.isfinite(ded)
    if fin.any() and ded[fin].min() == ded[fin].max():
        parts.append(f"Dedicated stays at {fmt(ded[fin].min(), 'usd')} a month across the rates shown.")
    elif fin.any():
        parts.append(
            f"Dedicated steps from {fmt(ded[fin].min(), 'usd')} to {fmt(ded[fin].max(), 'usd')} a month "
            "as replicas are added."
        )
    if not fin.all():
        parts.append(f"Dedicated cannot meet the SLO at {int((~fin).sum())} of the {rps.size} rates shown.")
    if curve.breakeven_rps:
        parts.append(
            "The lines cross at "
            + ", ".join(f"{fmt(b, 'rps')}" for b in curve.breakeven_rps)
            + " req/s: where the costs meet if traffic were perfectly steady (the capacity-aware break-even)."
        )
    else:
        parts.append("They do not cross in the range shown.")
    headline = _headline(results)
    if headline is not None and headline.method != "capacity":
        where = f"{fmt(headline.breakeven_rps, 'rps')} req/s" if headline.breakeven_rps is not None else "never"
        parts.append(f"The break-even to sign is the {headline.name} one, {where}: {headline.why or headline.meaning}.")
    parts.append(f"Your traffic averages {fmt(curve.user_rps, 'rps')} req/s.")
    best_s, best_d = cheapest(results, "serverless"), cheapest(results, "dedicated")
    if best_s and best_d:
        parts.append(
            f"At your traffic the replay bills {fmt(best_s.monthly_cost_usd, 'usd')} a month serverless and "
            f"{fmt(best_d.monthly_cost_usd, 'usd')} dedicated."
        )
    return " ".join(parts)


def _headline(results: Results) -> BreakevenLine | None:
    lines = results.recommendation.breakeven_lines
    return lines[0] if lines and lines[0].role == "headline" else None


def band_chart(results: Results) -> Chart:
    """The Monte Carlo band (p10–p90) of the dedicated monthly cost against rate, with the serverless line."""
    title = "Uncertainty: dedicated monthly cost, p10–p90"
    sens = results.sensitivity
    if sens is None or not sens.cost_band_rps:
        why = "No sensitivity analysis in these results." if sens is None else "The analysis drew no cost band."
        return Chart("chart-band", title, "", missing=why, table=_band_stats_table(results))
    rps = arr(sens.cost_band_rps)
    p10, p50, p90 = arr(sens.dedicated_monthly_p10), arr(sens.dedicated_monthly_p50), arr(sens.dedicated_monthly_p90)
    x_log = rate_axis_is_log(rps)
    curve = results.cost_curve
    sls = None
    if curve is not None and curve.rps:
        sls = np.interp(rps, arr(curve.rps), arr(curve.serverless_monthly_usd), left=np.nan, right=np.nan)
    costs = np.concatenate([p10, p90, sls if sls is not None else np.empty(0)])
    y_log = cost_axis_is_log(costs, x_log=x_log)
    legend = [LegendItem("Dedicated p10–p90", "band-dedicated", "band"), LegendItem("Dedicated median", "s-dedicated")]
    if sls is not None:
        legend.append(LegendItem("Serverless", "s-serverless"))
    legend.append(LegendItem("Your traffic", "ref-user"))
    varied = "; ".join(sens.varied) if sens.varied else "the measured spreads"
    desc = f"{sens.samples} Monte Carlo draws (seed {sens.seed}) over {varied}."
    plot = XYPlot(
        "chart-band", title=title, desc=desc, x_label="Mean request rate [req/s]", y_label="Monthly cost [USD]"
    )
    plot.reserve_legend(legend)
    plot.scales(rps, costs, x_log=x_log, y_log=y_log, y_fmt=compact_usd)
    plot.band(rps, p10, p90, cls="band-dedicated", step=True)
    plot.line(rps, p50, cls="s-dedicated", step=True)
    if sls is not None:
        plot.line(rps, sls, cls="s-serverless")
    tips = [
        f"{fmt(r, 'rps')} req/s: dedicated p10 {fmt(p10[i], 'usd')}, median {fmt(p50[i], 'usd')}, "
        f"p90 {fmt(p90[i], 'usd')}"
        + (f"; serverless {fmt(sls[i], 'usd')}" if sls is not None and np.isfinite(sls[i]) else "")
        for i, r in enumerate(rps.tolist())
    ]
    plot.hover_strips(edges_between(rps, log=x_log), tips)
    user = results.recommendation.user_rps
    if user > 0 or not x_log:
        plot.vline(
            user, cls="ref-user", label=f"your traffic {fmt(user, 'rps')} req/s", tooltip="Your trace's mean rate"
        )
    summary = (
        f"The shaded band holds 80% of {sens.samples} Monte Carlo draws of the dedicated monthly cost "
        f"(seed {sens.seed}; varied: {varied})."
    )
    if sens.breakeven_rps and sens.breakeven_rps.p50 is not None:
        b = sens.breakeven_rps
        summary += (
            f" Break-even rate: median {fmt(b.p50, 'rps')} req/s, p10–p90 {fmt(b.p10, 'rps')}–{fmt(b.p90, 'rps')}."
        )
    if sens.monthly_saving_usd and sens.monthly_saving_usd.p50 is not None:
        s = sens.monthly_saving_usd
        summary += f" Monthly saving: median {fmt(s.p50, 'usd')}, p10–p90 {fmt(s.p10, 'usd')}–{fmt(s.p90, 'usd')}."
    idx = thin_indices(rps.size, log_x=rps if x_log else None)
    rows = [
        [fmt(rps[i], "rps"), fmt(p10[i], "usd"), fmt(p50[i], "usd"), fmt(p90[i], "usd")]
        + ([fmt(sls[i], "usd")] if sls is not None else [])
        for i in idx
    ]
    headers = ["Rate [req/s]", "Dedicated p10", "Dedicated median", "Dedicated p90"] + (
        ["Serverless"] if sls is not None else []
    )
    table = DataTable("Dedicated monthly cost band by rate", headers, rows, [True] * len(headers))
    return Chart("chart-band", title, summary, [plot.render()], table, notes=[])


def _band_stats_table(results: Results) -> DataTable | None:
    sens = results.sensitivity
    if sens is None or (sens.breakeven_rps is None and sens.monthly_saving_usd is None):
        return None
    rows: list[list[str]] = []
    if sens.breakeven_rps:
        b = sens.breakeven_rps
        rows.append(["Break-even rate [req/s]", fmt(b.p10, "rps"), fmt(b.p50, "rps"), fmt(b.p90, "rps")])
    if sens.monthly_saving_usd:
        s = sens.monthly_saving_usd
        rows.append(["Monthly saving [USD]", fmt(s.p10, "usd"), fmt(s.p50, "usd"), fmt(s.p90, "usd")])
    return DataTable("Monte Carlo percentiles", ["Quantity", "p10", "p50", "p90"], rows, [False, True, True, True])
