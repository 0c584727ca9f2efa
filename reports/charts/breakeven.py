"""Break-even request rate against output length, one line per method (and price pair)."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from costmodel.results import BreakevenRow, Recommendation, Results
from reports.blocks import Chart, DataTable
from reports.charts.common import METHOD_LABELS, thin_indices
from reports.fmt import fmt
from reports.plots import LegendItem, XYPlot

_METHOD_ORDER = ("closed_form", "capacity", "trace")


def _groups(rows: list[BreakevenRow]) -> dict[tuple[str, str | None, str | None], list[BreakevenRow]]:
    groups: dict[tuple[str, str | None, str | None], list[BreakevenRow]] = defaultdict(list)
    for row in rows:
        groups[(row.method, row.serverless_price_id, row.gpu_price_id)].append(row)
    ordered = sorted(groups, key=lambda k: (_METHOD_ORDER.index(k[0]), k[1] or "", k[2] or ""))
    return {k: sorted(groups[k], key=lambda r: r.output_tokens) for k in ordered}


def breakeven_chart(results: Results) -> Chart:
    """Where dedicated becomes cheaper, by output tokens per request: above a line dedicated wins."""
    title = "Break-even request rate by output length"
    rows = results.breakeven
    if not rows:
        return Chart("chart-breakeven", title, "", missing="The analysis computed no break-even rows.")
    groups = _groups(rows)
    pairs = sorted({(k[1], k[2]) for k in groups}, key=lambda p: (p[0] or "", p[1] or ""))
    multi = len(pairs) > 1
    rec = results.recommendation

    outs = np.array([r.output_tokens for r in rows], dtype=np.float64)
    rates = np.array([r.breakeven_rps if r.breakeven_rps is not None else np.nan for r in rows], dtype=np.float64)
    y_vals = np.concatenate([rates, [rec.user_rps] if rec.user_rps > 0 else []])
    never = [r for r in rows if r.breakeven_rps is None]
    x_log = bool(outs[outs > 0].size >= 2 and outs[outs > 0].max() / outs[outs > 0].min() >= 30)
    fin = y_vals[np.isfinite(y_vals) & (y_vals > 0)]
    y_log = bool(fin.size >= 2 and fin.max() / fin.min() >= 10)

    legend = []
    for method, sp, gp in groups:
        pair = f" — {sp} vs {gp}" if multi else ""
        legend.append(LegendItem(f"{METHOD_LABELS[method]}{pair}", _cls(method, pairs.index((sp, gp)))))
    if never:
        legend.append(LegendItem("dedicated never cheaper", "m-never", "triangle"))
    desc = (
        "Mean request rate above which dedicated GPUs cost less than serverless, against output tokens per "
        "request. Above a line dedicated is cheaper; below it serverless is."
    )
    plot = XYPlot(
        "chart-breakeven",
        title=title,
        desc=desc,
        x_label="Output tokens per request",
        y_label="Break-even rate [req/s]",
    )
    plot.reserve_legend(legend)
    x_marks = [rec.output_tokens_mean] if rec.output_tokens_mean > 0 or not x_log else []
    plot.scales(np.concatenate([outs, x_marks]), y_vals, x_log=x_log, y_log=y_log, x_zero=not x_log)
    for (method, sp, gp), group in groups.items():
        _draw_group(plot, group, method, _cls(method, pairs.index((sp, gp))))
    _mark_user(plot, rec, x_marks=bool(x_marks), y_log=y_log)
    summary = _summary(results, groups)
    table = _table(rows)
    return Chart("chart-breakeven", title, summary, [plot.render()], table)


def _draw_group(plot: XYPlot, group: list[BreakevenRow], method: str, cls: str) -> None:
    """One method's (and price pair's) line, a dot per row, and a triangle at the top where dedicated is
    never cheaper."""
    top = plot.y_top()
    xs = np.array([r.output_tokens for r in group], dtype=np.float64)
    ys = np.array([r.breakeven_rps if r.breakeven_rps is not None else np.nan for r in group], dtype=np.float64)
    plot.line(xs, ys, cls=cls)
    for r in group:
        if r.breakeven_rps is None:
            plot.marker(
                r.output_tokens,
                top,
                cls="m-never",
                shape="triangle",
                tooltip=f"{METHOD_LABELS[method]}: dedicated never cheaper at "
                f"{fmt(r.output_tokens, 'tokens')} output tokens",
            )
        else:
            plot.marker(r.output_tokens, r.breakeven_rps, cls=f"{cls} dot", size=3.5, tooltip=_tip(r))


def _mark_user(plot: XYPlot, rec: Recommendation, *, x_marks: bool, y_log: bool) -> None:
    """The user's rate (a horizontal line), mean output length (a vertical one) and break-even there."""
    if rec.user_rps > 0 or not y_log:
        plot.hline(
            rec.user_rps,
            cls="ref-user",
            label=f"your traffic {fmt(rec.user_rps, 'rps')} req/s",
            tooltip="Your trace's mean rate: points of a line above this favour serverless",
        )
    if x_marks:
        plot.vline(
            rec.output_tokens_mean,
            cls="ref-mix",
            label=f"your mean output ~{fmt(rec.output_tokens_mean, 'tokens')} tokens",
            tooltip="The trace's mean output tokens per request",
            level=0,
        )
    if rec.breakeven_rps is not None and rec.output_tokens_mean > 0:
        plot.marker(
            rec.output_tokens_mean,
            rec.breakeven_rps,
            cls="m-breakeven",
            shape="diamond",
            tooltip=f"At your mix ({METHOD_LABELS.get(rec.breakeven_method or '', '')}): "
            f"{fmt(rec.breakeven_rps, 'rps')} req/s",
        )


def _cls(method: str, pair_index: int) -> str:
    return f"s-{method.replace('_', '-')} pair-{pair_index % 4}"


def _tip(r: BreakevenRow) -> str:
    tip = (
        f"{METHOD_LABELS[r.method]}: {fmt(r.breakeven_rps, 'rps')} req/s ({fmt(r.breakeven_rph, 'count')} req/h) "
        f"at {fmt(r.input_tokens, 'tokens')} in / {fmt(r.output_tokens, 'tokens')} out tokens; "
        f"serverless {fmt(r.serverless_cost_per_request_usd, 'usd')} per request"
    )
    if r.replicas is not None:
        tip += f"; {r.replicas} replica(s) at the crossing"
    return tip


def _summary(results: Results, groups: dict[tuple[str, str | None, str | None], list[BreakevenRow]]) -> str:
    rec = results.recommendation
    parts = []
    for (method, sp, gp), group in groups.items():
        known = [r for r in group if r.breakeven_rps is not None]
        pair = f" ({sp} vs {gp})" if sp or gp else ""
        if known:
            lo, hi = known[0], known[-1]
            parts.append(
                f"{METHOD_LABELS[method].capitalize()}{pair}: {fmt(lo.breakeven_rps, 'rps')} req/s at "
                f"{fmt(lo.output_tokens, 'tokens')} output tokens to {fmt(hi.breakeven_rps, 'rps')} req/s at "
                f"{fmt(hi.output_tokens, 'tokens')}."
            )
        never = len(group) - len(known)
        if never:
            parts.append(
                f"{METHOD_LABELS[method].capitalize()}: dedicated never cheaper at {never} of {len(group)} lengths."
            )
    if rec.breakeven_rps is not None:
        parts.append(
            f"At your mean of ~{fmt(rec.output_tokens_mean, 'tokens')} output tokens the line is at "
            f"{fmt(rec.breakeven_rps, 'rps')} req/s; your traffic averages {fmt(rec.user_rps, 'rps')} req/s."
        )
    lines = rec.breakeven_lines
    if lines and lines[0].role == "headline":
        others = "; ".join(f"{line.name}: {line.meaning}" for line in lines[1:])
        parts.append(
            f"The one to sign is the {lines[0].name} line (the diamond)"
            + (f"; the others answer other questions ({others})." if others else ".")
        )
    return " ".join(parts)


def _table(rows: list[BreakevenRow]) -> DataTable:
    ordered = sorted(
        rows,
        key=lambda r: (
            _METHOD_ORDER.index(r.method),
            r.serverless_price_id or "",
            r.gpu_price_id or "",
            r.output_tokens,
        ),
    )
    keep = thin_indices(len(ordered), 60)
    body = []
    for i in keep:
        r = ordered[i]
        body.append(
            [
                METHOD_LABELS[r.method],
                fmt(r.input_tokens, "tokens"),
                fmt(r.output_tokens, "tokens"),
                fmt(r.breakeven_rps, "rps") if r.breakeven_rps is not None else "never",
                fmt(r.breakeven_rph, "count") if r.breakeven_rph is not None else "never",
                fmt(r.serverless_cost_per_request_usd, "usd"),
                fmt(r.replicas, "count") if r.replicas is not None else "–",
                f"{r.serverless_price_id or '–'} vs {r.gpu_price_id or '–'}",
                "; ".join(r.notes),
            ]
        )
    headers = [
        "Method",
        "Input tokens",
        "Output tokens",
        "Break-even req/s",
        "req/hour",
        "Serverless $/request",
        "Replicas",
        "Prices",
        "Notes",
    ]
    note = f"{len(keep)} of {len(rows)} rows; all are in results.json (breakeven)." if len(keep) < len(rows) else ""
    return DataTable(
        "Break-even rows",
        headers,
        body,
        [False, True, True, True, True, True, True, False, False],
        note,
        id="table-breakeven",
    )
