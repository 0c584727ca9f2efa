"""The commitment chart: monthly cost against committed (or owned) replicas, and the duration curve that
says when one more committed replica pays off (its break-even utilization)."""

from __future__ import annotations

import numpy as np
from markupsafe import Markup

from costmodel.results import CommitmentPlanResult, MixPoint, Results
from reports.blocks import Chart, DataTable
from reports.fmt import fmt
from reports.plots import LegendItem, XYPlot
from reports.svg import compact_usd

MODE_LABELS = {
    "on_demand": "on demand above",
    "serverless": "serverless overflow above",
    "on_demand+serverless": "on demand + serverless above",
}
MODE_CLASS = {"on_demand": "s-mode-od", "serverless": "s-mode-sls", "on_demand+serverless": "s-mode-both"}


def shown_plan(results: Results) -> CommitmentPlanResult | None:
    """The plan behind the recommended option, else behind the committed option, else the first."""
    plans = results.commitment_plans
    if not plans:
        return None
    by_option = {p.option_id: p for p in plans if p.option_id}
    rec = results.recommendation.option_id
    if rec in by_option:
        return by_option[rec]
    return next((p for p in plans if p.option_id), plans[0])


def noun_of(plan: CommitmentPlanResult) -> str:
    """'owned' or 'committed'."""
    return "owned" if plan.base == "owned" else "committed"


def _base_words(plan: CommitmentPlanResult) -> str:
    if plan.base == "owned":
        return f"owned {plan.base_id} ({plan.replicas_per_unit} replicas a server)"
    return f"{plan.gpu_price_id} committed for {plan.term_months} months"


def commitment_chart(results: Results) -> Chart:
    """Two panels: the monthly cost of each mix against base replicas (estimate lines, replayed points, the
    choice), and the share of hours with at least k replicas running on demand against the break-even."""
    title = "Commitment: monthly cost against committed replicas"
    plan = shown_plan(results)
    if plan is None:
        why = (
            "none of the GPU prices compared has a committed price (add a [[gpu.commitments]] term, or --prices "
            "with your contract), and no owned server was priced."
        )
        return Chart("chart-commitment", title, "", missing=why)
    title = (
        "Owned servers: monthly cost against owned replicas"
        if plan.base == "owned"
        else "Commitment: monthly cost against committed replicas"
    )
    return Chart(
        "chart-commitment",
        title,
        _summary(plan),
        [_cost_panel(plan), _share_panel(plan)],
        _table(results.commitment_plans),
    )


def _cost_panel(plan: CommitmentPlanResult) -> Markup:
    ks = np.array(plan.replicas, dtype=np.float64)
    modes = [m for m in MODE_LABELS if m in plan.estimate_monthly_usd]
    values = [v for m in modes for v in plan.estimate_monthly_usd[m]] + [p.monthly_cost_usd for p in plan.evaluated]
    drawn = [m for m in modes if m != "on_demand+serverless"]  # its estimate is on demand's, by construction
    legend = [
        LegendItem(
            f"{MODE_LABELS[m]}{' (with or without serverless overflow)' if m == 'on_demand' else ''} (estimate)",
            MODE_CLASS[m],
        )
        for m in drawn
    ]
    legend += [
        LegendItem("replayed mix (hollow: misses the SLO)", "m-mix s-mode-od-fill", "dot"),
        LegendItem("cheapest meeting the SLO", "m-breakeven", "diamond"),
    ]
    if plan.best_replicas == 0 and plan.best_committed_replicas:
        legend.append(LegendItem(f"cheapest with a {noun_of(plan)} base", "m-committed", "triangle"))
    noun = "owned" if plan.base == "owned" else "committed"
    desc = (
        f"Monthly cost of {_base_words(plan)} for 0 to {int(ks.max()) if ks.size else 0} {noun} replicas, with "
        "on-demand replicas and/or serverless overflow above them: estimated lines and exactly replayed points."
    )
    plot = XYPlot(
        "chart-commitment-cost",
        title=f"Monthly cost against {noun} replicas",
        desc=desc,
        x_label=f"{noun.capitalize()} replicas (K)",
        y_label="Monthly cost [USD]",
    )
    plot.reserve_legend(legend)
    plot.scales(ks, np.array(values, dtype=np.float64), x_log=False, y_log=False, y_fmt=compact_usd)
    for mode in drawn:
        plot.line(ks, np.array(plan.estimate_monthly_usd[mode], dtype=np.float64), cls=MODE_CLASS[mode])
    for point in plan.evaluated:
        slo = "meets the SLO" if point.meets_slo else "misses the SLO"
        plot.marker(
            point.replicas,
            point.monthly_cost_usd,
            cls=f"m-mix {MODE_CLASS[point.mode]}-fill{'' if point.meets_slo else ' m-miss'}",
            tooltip=f"K = {point.replicas}, {MODE_LABELS[point.mode]}: {fmt(point.monthly_cost_usd, 'usd')} a month "
            f"(replayed), {fmt(point.slo_attainment, 'pct')} of requests {slo}",
            size=4.0,
        )
    committed = _replayed(plan, plan.best_committed_replicas, plan.best_committed_mode)
    if committed is not None and plan.best_replicas == 0:
        what = f"The cheapest mix with a {noun_of(plan)} base"
        _highlight(plot, committed, what, cls="m-committed", shape="triangle")
    best = _replayed(plan, plan.best_replicas, plan.best_mode)
    if best is not None:
        _highlight(plot, best, "The cheapest mix meeting the SLO", cls="m-breakeven", shape="diamond")
    return plot.render()


def _replayed(plan: CommitmentPlanResult, replicas: int | None, mode: str | None) -> MixPoint | None:
    """The replayed mix of ``replicas`` base replicas in ``mode``, if the plan evaluated it."""
    return next((p for p in plan.evaluated if (p.replicas, p.mode) == (replicas, mode)), None)


def _highlight(plot: XYPlot, point: MixPoint, what: str, *, cls: str, shape: str) -> None:
    """A replayed mix drawn larger, its tooltip saying ``what`` it is."""
    cost = fmt(point.monthly_cost_usd, "usd")
    tooltip = f"{what}: K = {point.replicas}, {MODE_LABELS[point.mode]}, {cost} a month"
    plot.marker(point.replicas, point.monthly_cost_usd, cls=cls, shape=shape, tooltip=tooltip, size=6.0)


def _share_panel(plan: CommitmentPlanResult) -> Markup:
    shares = np.array(plan.hours_share, dtype=np.float64)
    ks = np.arange(1, shares.size + 1, dtype=np.float64)
    b = plan.breakeven_utilization
    legend = [
        LegendItem("share of hours with at least k replicas running (on demand, no commitment)", "bar-share", "band"),
        LegendItem("break-even utilization of one more committed replica", "ref-breakeven"),
    ]
    desc = (
        "For each k, the share of the trace's hours during which the on-demand fleet ran at least k replicas. "
        f"Committing the k-th replica pays off when its bar reaches the break-even line at {fmt(b, 'pct')}."
    )
    plot = XYPlot(
        "chart-commitment-share",
        title="When a committed replica pays off",
        desc=desc,
        x_label="k-th replica",
        y_label="Share of hours running",
    )
    plot.reserve_legend(legend)
    top = max(1.0, b * 1.1) if np.isfinite(b) else 1.0
    plot.scales(np.concatenate([ks - 0.5, ks + 0.5]) if ks.size else [0.5, 1.5], [0.0, top], x_log=False, y_log=False)
    for k, share in zip(ks.tolist(), shares.tolist(), strict=True):
        plot.band([k - 0.35, k + 0.35], [0.0, 0.0], [share, share], cls="bar-share")
        verdict = "pays off" if share >= b else "does not pay off"
        plot.marker(
            k,
            share,
            cls="m-share",
            tooltip=f"replica {int(k)}: running {fmt(share, 'pct')} of the hours on demand; committing it {verdict}",
            size=3.0,
        )
    if np.isfinite(b):
        plot.hline(
            b,
            cls="ref-breakeven",
            label=f"break-even {fmt(b, 'pct')} of the hours",
            tooltip=f"base {fmt(plan.base_hourly_usd, 'usd_price')}/h ÷ on demand "
            f"{fmt(plan.on_demand_hourly_usd, 'usd_price')}/h",
        )
    return plot.render()


def _summary(plan: CommitmentPlanResult) -> str:
    b = plan.breakeven_utilization
    paying = sum(1 for s in plan.hours_share if s >= b)
    noun = "owned" if plan.base == "owned" else "committed"
    parts = [
        (
            f"Each line is a way to serve the traffic above K {noun} replicas of {_base_words(plan)}: on demand, "
            "serverless overflow, or both; dots are mixes replayed exactly."
        ),
        (
            f"A base replica costs {fmt(plan.base_hourly_usd, 'usd_price')} an hour whether busy or idle, against "
            f"{fmt(plan.on_demand_hourly_usd, 'usd_price')} on demand, so it pays off when it would otherwise run "
            f"at least {fmt(b, 'pct')} of the hours (its break-even utilization)."
        ),
    ]
    if plan.hours_share:
        runs = ", ".join(f"replica {i + 1} {fmt(s, 'pct')}" for i, s in enumerate(plan.hours_share[:4]))
        parts.append(f"On demand, this trace ran {runs} of the hours: {paying} replica(s) clear the line.")
    best = next((p for p in plan.evaluated if p.replicas == plan.best_replicas and p.mode == plan.best_mode), None)
    if best is not None:
        parts.append(
            f"The cheapest mix meeting the SLO is K = {best.replicas} with {MODE_LABELS[best.mode]}, "
            f"{fmt(best.monthly_cost_usd, 'usd')} a month"
            + (" (no commitment pays off)." if best.replicas == 0 else ".")
        )
    if plan.growth != 1.0:
        parts.append(f"Planned for the trace's request rate × {fmt(plan.growth, 'num')}.")
    return " ".join(parts)


def _table(plans: list[CommitmentPlanResult]) -> DataTable:
    rows: list[list[str]] = []
    for plan in plans:
        evaluated = {(p.replicas, p.mode): p for p in plan.evaluated}
        for i, k in enumerate(plan.replicas):
            for mode, values in plan.estimate_monthly_usd.items():
                point = evaluated.get((k, mode))  # type: ignore[arg-type]
                rows.append(
                    [
                        _base_words(plan),
                        fmt(k, "count"),
                        MODE_LABELS.get(mode, mode),
                        fmt(values[i], "usd"),
                        fmt(point.monthly_cost_usd, "usd") if point else "not replayed",
                        fmt(point.slo_attainment, "pct") if point else "–",
                        ("yes" if point.meets_slo else "no") if point else "–",
                    ]
                )
    headers = ["Base", "K", "Above the base", "Estimate $/month", "Replayed $/month", "SLO attainment", "Meets SLO"]
    return DataTable(
        "Mixes of base replicas and what runs above them",
        headers,
        rows,
        [False, True, False, True, True, True, False],
        id="table-commitment",
    )
