"""sweep.html: which option wins where, over a sweep's table (``sweep.parquet``).

The page holds winner heatmaps over two chosen axes (one per combination of the other crossed axes, or one
that counts winners across them when there are many), the cost frontier of each option family along the
first axis, the cells where the answer flips between neighbouring values of an axis, and the cells that
failed or were skipped. Like the report it is one self-contained file: inline SVG, no script, nothing
fetched, and every value from the table escaped (names come from user files).
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup

from breakeven import __version__
from breakeven.errors import InputError
from breakeven.io import atomic_write_text
from reports.blocks import Cell, Chart, DataTable
from reports.fmt import usd
from reports.plots import LegendItem, XYPlot
from reports.render import _environment
from reports.svg import CHAR_PX, compact_usd, join, tag, text, titled

SWEEP_REPORT_NAME = "sweep.html"
AXES: tuple[str, ...] = ("gpu", "serverless", "profile", "policy", "growth", "tier", "slo_ttft_ms", "slo_tpot_ms")
AXIS_TITLES = {
    "gpu": "GPU price",
    "serverless": "serverless price",
    "profile": "profile",
    "policy": "fleet policy",
    "growth": "traffic growth ×",
    "tier": "GPU price tier",
    "slo_ttft_ms": "TTFT target [ms]",
    "slo_tpot_ms": "TPOT target [ms]",
}
KINDS: tuple[str, ...] = ("serverless", "dedicated", "hybrid", "none")
MAX_FACETS = 12
MAX_FLIPS = 300
MAX_CELL_ROWS = 500


@dataclass
class Heatmap:
    """One heatmap panel: its facet (values of the other axes) and the SVG."""

    title: str
    svg: Markup


@dataclass
class SweepPage:
    """Everything the template shows."""

    name: str
    generated: str
    version: str
    counts: dict[str, int]
    axes: DataTable
    x_axis: str
    y_axis: str
    heatmaps: list[Heatmap]
    heatmap_note: str
    frontier: Chart
    flips: DataTable
    flip_count: int
    failed: DataTable
    skipped: DataTable
    winners: DataTable
    kinds: dict[str, int] = field(default_factory=dict)


# ----------------------------------------------------------------------------------------------- data


def cell_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per cell: its inputs, status, error and winner (the option rows collapsed)."""
    keep = ["cell_id", *AXES, "status", "error", "winner_option_id", "winner_kind", "winner_monthly_cost_usd"]
    keep.append("verdict")
    missing = [c for c in keep if c not in frame.columns]
    if missing:
        raise InputError(
            f"sweep table: missing columns {missing}; expected a sweep.parquet written by `breakeven sweep`"
        )
    return frame[keep].drop_duplicates("cell_id").reset_index(drop=True)


def crossed_axes(cells: pd.DataFrame) -> list[str]:
    """The axes with more than one value in the table."""
    return [a for a in AXES if len(pd.unique(cells[a])) > 1]


def choose_axes(cells: pd.DataFrame, wanted: Sequence[str] | None) -> tuple[str, str]:
    """The heatmap's (x, y): ``wanted`` when given, else the two crossed axes with the most values (growth
    first on x when it is crossed)."""
    if wanted:
        return wanted[0], wanted[1]
    crossed = sorted(crossed_axes(cells), key=lambda a: (-cells[a].nunique(), AXES.index(a)))
    if "growth" in crossed:
        crossed.remove("growth")
        crossed.insert(0, "growth")
    spare = [a for a in AXES if a not in crossed]
    picked = (crossed + spare)[:2]
    return picked[0], picked[1]


def _values(cells: pd.DataFrame, axis: str, order: dict[str, list[str]] | None) -> list[Any]:
    present = list(pd.unique(cells[axis]))
    if order and axis in order:
        ranked = {str(v): i for i, v in enumerate(order[axis])}
        return sorted(present, key=lambda v: ranked.get(str(v), len(ranked)))
    if all(isinstance(v, int | float | np.number) for v in present):
        return sorted(present)
    return present


def _label(axis: str, value: Any) -> str:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return f"{int(value)}"
    if isinstance(value, float | np.floating):
        return f"{float(value):g}"
    return str(value).replace("_", "-") if axis == "tier" else str(value)


def _short(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: max(limit - 1, 1)] + "…"


def _facet_title(axes: Sequence[str], values: Sequence[Any]) -> str:
    return " · ".join(f"{AXIS_TITLES[a]} {_label(a, v)}" for a, v in zip(axes, values, strict=True)) or "all cells"


# -------------------------------------------------------------------------------------------- heatmap


def _winner_text(group: pd.DataFrame) -> tuple[str, str, str]:
    """(css class, short text, tooltip lines) for the cells at one heatmap square."""
    ok = group[group["status"] == "ok"]
    if ok.empty:
        status = str(group["status"].iloc[0])
        label = {"error": "failed", "skipped": "not run"}.get(status, status)
        return f"hm-{status}", label, str(group["error"].iloc[0] or "")
    counts = ok["winner_kind"].value_counts()
    kind = str(counts.index[0])
    if len(ok) == 1:
        cost = ok["winner_monthly_cost_usd"].iloc[0]
        short = f"{kind} {_dollars(float(cost))}" if pd.notna(cost) else kind
        return f"hm-{kind}", short, str(ok["verdict"].iloc[0])
    shares = ", ".join(f"{k} {int(n)}/{len(ok)}" for k, n in counts.items())
    return f"hm-{kind}", f"{kind} {int(counts.iloc[0])}/{len(ok)}", f"winners across the other axes: {shares}"


def _dollars(value: float) -> str:
    """Whole dollars for a heatmap square (cents where the amount is under $100)."""
    return f"${value:,.0f}" if abs(value) >= 100 else usd(value)


def heatmap_svg(
    cells: pd.DataFrame, *, x_axis: str, y_axis: str, xs: list[Any], ys: list[Any], chart_id: str
) -> Markup:
    """A grid of squares coloured by the winning option family, x values across and y values down."""
    y_labels = [_label(y_axis, v) for v in ys]
    left = min(max(len(s) for s in y_labels) * CHAR_PX + 16, 260)
    col_w = max(88.0, min(150.0, (980 - left) / max(len(xs), 1)))
    row_h = 34.0
    top = 44.0
    width = left + col_w * len(xs) + 8
    height = top + row_h * len(ys) + 8
    out: list[Markup] = [
        text(left + col_w * len(xs) / 2, 14, AXIS_TITLES[x_axis], class_="axis-title", text_anchor="middle")
    ]
    for i, x in enumerate(xs):
        label = _short(_label(x_axis, x), int(col_w / CHAR_PX) - 1)
        cx = left + col_w * (i + 0.5)
        out.append(titled(text(cx, top - 10, label, class_="tick", text_anchor="middle"), _label(x_axis, x)))
    for j, y in enumerate(ys):
        cy = top + row_h * (j + 0.5)
        label = _short(y_labels[j], int((left - 12) / CHAR_PX))
        out.append(titled(text(left - 8, cy + 4, label, class_="tick", text_anchor="end"), y_labels[j]))
        for i, x in enumerate(xs):
            group = cells[(cells[x_axis] == x) & (cells[y_axis] == y)]
            if group.empty:
                continue
            cls, short, tip = _winner_text(group)
            x0, y0 = left + col_w * i, top + row_h * j
            rect = tag(
                "rect",
                x=f"{x0 + 1:.1f}",
                y=f"{y0 + 1:.1f}",
                width=f"{col_w - 2:.1f}",
                height=f"{row_h - 2:.1f}",
                class_=f"hm {cls}",
            )
            label_el = text(
                x0 + col_w / 2,
                y0 + row_h / 2 + 4,
                _short(short, int((col_w - 6) / CHAR_PX)),
                class_="hm-label",
                text_anchor="middle",
            )
            heading = f"{AXIS_TITLES[x_axis]} {_label(x_axis, x)}, {AXIS_TITLES[y_axis]} {y_labels[j]}"
            out.append(titled(rect + label_el, f"{heading}: {tip}"))
    desc = f"Winning option family by {AXIS_TITLES[x_axis]} (across) and {AXIS_TITLES[y_axis]} (down)."
    return tag(
        "svg",
        tag("title", f"Winner by {AXIS_TITLES[x_axis]} and {AXIS_TITLES[y_axis]}") + tag("desc", desc) + join(out),
        viewBox=f"0 0 {width:.0f} {height:.0f}",
        role="img",
        class_="chart heatmap",
        id=chart_id,
        preserveAspectRatio="xMinYMin meet",
    )


def heatmaps(
    cells: pd.DataFrame, x_axis: str, y_axis: str, order: dict[str, list[str]] | None
) -> tuple[list[Heatmap], str]:
    """One panel per combination of the other crossed axes (up to :data:`MAX_FACETS`), else one panel that
    counts the winners across them."""
    xs, ys = _values(cells, x_axis, order), _values(cells, y_axis, order)
    others = [a for a in crossed_axes(cells) if a not in (x_axis, y_axis)]
    combos = list(itertools.product(*(_values(cells, a, order) for a in others)))
    if not others or len(combos) > MAX_FACETS:
        note = (
            f"Each square counts the winners over the {len(combos)} combinations of {', '.join(others)}."
            if others
            else ""
        )
        return [
            Heatmap("all cells", heatmap_svg(cells, x_axis=x_axis, y_axis=y_axis, xs=xs, ys=ys, chart_id="heatmap-0"))
        ], note
    panels = []
    for k, combo in enumerate(combos):
        mask = np.ones(len(cells), dtype=bool)
        for axis, value in zip(others, combo, strict=True):
            mask &= (cells[axis] == value).to_numpy()
        sub = cells[mask]
        if sub.empty:
            continue
        panels.append(
            Heatmap(
                _facet_title(others, combo),
                heatmap_svg(sub, x_axis=x_axis, y_axis=y_axis, xs=xs, ys=ys, chart_id=f"heatmap-{k}"),
            )
        )
    return panels, ""


# ------------------------------------------------------------------------------------------- frontier


def frontier(frame: pd.DataFrame, x_axis: str, order: dict[str, list[str]] | None) -> Chart:
    """The cheapest monthly cost of each option family (among options that meet the SLO, or whose
    attainment is unknown) at each value of ``x_axis``, over every other axis."""
    ok = frame[(frame["status"] == "ok") & (frame["meets_slo"].fillna(True))]  # unknown SLO (serverless) counts
    title = f"Cost frontier by {AXIS_TITLES[x_axis]}"
    if ok.empty:
        return Chart("frontier", title, "", missing="no cell finished with an option that meets the SLO")
    xs = _values(ok, x_axis, order)
    best = ok.groupby([x_axis, "option_kind"], sort=False)["monthly_cost_usd"].min()
    kinds = [k for k in KINDS if k in set(ok["option_kind"])]
    rows: list[list[Cell]] = []
    series: dict[str, list[float]] = {k: [] for k in kinds}
    for x in xs:
        row: list[Cell] = [_label(x_axis, x)]
        for k in kinds:
            value = best.get((x, k))
            series[k].append(float(value) if value is not None else math.nan)
            row.append(usd(float(value)) if value is not None else "–")
        rows.append(row)
    table = DataTable(
        caption=f"Cheapest monthly cost by option family and {AXIS_TITLES[x_axis]}",
        headers=[AXIS_TITLES[x_axis], *kinds],
        rows=rows,
        numeric=[False, *([True] * len(kinds))],
    )
    numeric = all(isinstance(x, int | float | np.number) for x in xs)
    summary = (
        "Each line is the lowest monthly cost that option family reaches at that value, over every other axis "
        "(options that miss the SLO left out)."
    )
    if not numeric or len(xs) < 2:
        return Chart("frontier", title, summary, table=table, missing="the axis is not numeric: see the table")
    plot = XYPlot(
        "frontier-chart",
        title=title,
        desc=summary,
        x_label=AXIS_TITLES[x_axis],
        y_label="monthly cost [USD]",
        height=340,
    )
    plot.reserve_legend([LegendItem(k, f"s-{k}") for k in kinds if k != "none"])
    values = np.array([v for k in kinds for v in series[k]], dtype=np.float64)
    plot.scales(np.array(xs, dtype=np.float64), values, x_zero=False, y_fmt=compact_usd)
    for k in kinds:
        plot.line(np.array(xs, dtype=np.float64), np.array(series[k]), cls=f"s-{k}")
        for x, y in zip(xs, series[k], strict=True):
            if math.isfinite(y):
                plot.marker(float(x), y, cls=f"dot s-{k}", tooltip=f"{k} at {_label(x_axis, x)}: {usd(y)}/month")
    return Chart("frontier", title, summary, svgs=[plot.render()], table=table)


# ---------------------------------------------------------------------------------------------- flips


def flips(cells: pd.DataFrame, order: dict[str, list[str]] | None) -> list[dict[str, Any]]:
    """Pairs of cells that differ in one axis only, at neighbouring values, whose winning family differs."""
    ok = cells[cells["status"] == "ok"]
    found: list[dict[str, Any]] = []
    for axis in crossed_axes(cells):
        values = _values(cells, axis, order)
        rank = {str(v): i for i, v in enumerate(values)}
        others = [a for a in AXES if a != axis]
        for _, group in ok.groupby([ok[a].astype(str) for a in others], sort=False):
            ordered = group.assign(_rank=group[axis].astype(str).map(rank)).sort_values("_rank")
            recs = ordered.to_dict("records")
            for a, b in itertools.pairwise(recs):
                if b["_rank"] - a["_rank"] == 1 and a["winner_kind"] != b["winner_kind"]:
                    found.append({"axis": axis, "before": a, "after": b, "others": {o: a[o] for o in others}})
    return found


def flips_table(found: list[dict[str, Any]], cells: pd.DataFrame) -> DataTable:
    """The flips as a table (at most :data:`MAX_FLIPS` rows)."""
    crossed = crossed_axes(cells)
    rows: list[list[Cell]] = []
    for f in found[:MAX_FLIPS]:
        axis, a, b = f["axis"], f["before"], f["after"]
        where = ", ".join(f"{o} {_label(o, f['others'][o])}" for o in crossed if o != axis) or "–"
        rows.append(
            [
                f"{AXIS_TITLES[axis]}: {_label(axis, a[axis])} → {_label(axis, b[axis])}",
                where,
                f"{a['winner_kind']} → {b['winner_kind']}",
                _cost(a) + " → " + _cost(b),
            ]
        )
    note = f"{len(found) - MAX_FLIPS:,} more in sweep.parquet." if len(found) > MAX_FLIPS else ""
    return DataTable(
        caption="Where the answer flips between neighbouring values of one axis",
        headers=["Change", "With", "Winner", "Winner's monthly cost"],
        rows=rows,
        numeric=[False, False, False, True],
        note=note,
        id="table-flips",
    )


def _cost(rec: Mapping[Any, Any]) -> str:
    value = rec.get("winner_monthly_cost_usd")
    return usd(float(value)) if value is not None and pd.notna(value) else "–"


# --------------------------------------------------------------------------------------------- tables


def _inputs(rec: Mapping[Any, Any], crossed: Sequence[str]) -> str:
    return ", ".join(f"{a} {_label(a, rec[a])}" for a in (crossed or AXES))


def status_table(cells: pd.DataFrame, status: str, caption: str) -> DataTable:
    """The failed (or skipped) cells with their inputs and the error (or reason)."""
    crossed = crossed_axes(cells)
    sel = cells[cells["status"] == status].to_dict("records")
    rows: list[list[Cell]] = [[str(r["cell_id"]), _inputs(r, crossed), str(r["error"] or "")] for r in sel]
    return DataTable(
        caption=caption,
        headers=["Cell", "Inputs", "Error" if status == "error" else "Reason"],
        rows=rows[:MAX_CELL_ROWS],
        note=f"{len(rows) - MAX_CELL_ROWS:,} more in sweep.parquet." if len(rows) > MAX_CELL_ROWS else "",
        id=f"table-{status}",
    )


def winners_table(cells: pd.DataFrame) -> DataTable:
    """Every finished cell's winner (first :data:`MAX_CELL_ROWS`)."""
    crossed = crossed_axes(cells)
    ok = cells[cells["status"] == "ok"].to_dict("records")
    rows: list[list[Cell]] = [
        [_inputs(r, crossed), str(r["winner_kind"]), _cost(r), str(r["verdict"] or "")] for r in ok[:MAX_CELL_ROWS]
    ]
    return DataTable(
        caption="Winner of every cell",
        headers=["Cell inputs", "Winner", "Monthly cost", "Verdict"],
        rows=rows,
        numeric=[False, False, True, False],
        note=f"{len(ok) - MAX_CELL_ROWS:,} more in sweep.parquet." if len(ok) > MAX_CELL_ROWS else "",
        id="table-winners",
    )


def axes_table(cells: pd.DataFrame, order: dict[str, list[str]] | None) -> DataTable:
    """Each axis and its values (crossed ones first)."""
    rows: list[list[Cell]] = []
    crossed = crossed_axes(cells)
    for axis in [*crossed, *(a for a in AXES if a not in crossed)]:
        values = _values(cells, axis, order)
        rows.append([AXIS_TITLES[axis], ", ".join(_label(axis, v) for v in values), str(len(values))])
    return DataTable(caption="Axes", headers=["Axis", "Values", "Count"], rows=rows, numeric=[False, False, True])


# ---------------------------------------------------------------------------------------------- page


def build_page(
    frame: pd.DataFrame, *, meta: dict[str, Any] | None = None, axes: Sequence[str] | None = None
) -> SweepPage:
    """Everything sweep.html shows, from the table (and the axis order stored with it)."""
    meta = meta or {}
    cells = cell_frame(frame)
    order = meta.get("axes")
    wanted = axes or meta.get("report_axes")
    for axis in wanted or []:
        if axis not in AXES:
            raise InputError(f"heatmap axes: unknown axis {axis!r}; expected two of {', '.join(AXES)}")
    x_axis, y_axis = choose_axes(cells, wanted)
    panels, note = heatmaps(cells, x_axis, y_axis, order) if not cells.empty else ([], "")
    found = flips(cells, order)
    counts = {s: int((cells["status"] == s).sum()) for s in ("ok", "error", "skipped")}
    kinds = cells[cells["status"] == "ok"]["winner_kind"].value_counts()
    return SweepPage(
        name=str(meta.get("name") or (frame["sweep"].iloc[0] if len(frame) else "sweep")),
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        version=__version__,
        counts=counts,
        axes=axes_table(cells, order),
        x_axis=AXIS_TITLES[x_axis],
        y_axis=AXIS_TITLES[y_axis],
        heatmaps=panels,
        heatmap_note=note,
        frontier=frontier(frame, x_axis, order),
        flips=flips_table(found, cells),
        flip_count=len(found),
        failed=status_table(cells, "error", "Cells that failed (inputs and error); they are run again on resume"),
        skipped=status_table(cells, "skipped", "Cells not run"),
        winners=winners_table(cells),
        kinds={str(k): int(v) for k, v in kinds.items()},
    )


def render_sweep(frame: pd.DataFrame, *, meta: dict[str, Any] | None = None, axes: Sequence[str] | None = None) -> str:
    """sweep.html for a sweep table, as one self-contained page."""
    page = build_page(frame, meta=meta, axes=axes)
    css = resources.files("reports").joinpath("templates", "sweep.css").read_text(encoding="utf-8")
    # Our own package file, inlined as-is inside <style> (escaping would break selectors).
    return _environment().get_template("sweep.html.j2").render(p=page, sweep_stylesheet=Markup(css))  # noqa: S704


def write_sweep_report(
    frame: pd.DataFrame,
    out_dir: str | os.PathLike[str],
    *,
    meta: dict[str, Any] | None = None,
    axes: Sequence[str] | None = None,
) -> Path:
    """Render and write ``out_dir/sweep.html`` atomically; returns its path."""
    return atomic_write_text(Path(out_dir) / SWEEP_REPORT_NAME, render_sweep(frame, meta=meta, axes=axes))
