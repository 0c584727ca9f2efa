"""Two chart builders over :mod:`reports.svg`: :class:`XYPlot` and :class:`RowPlot`.

- :class:`XYPlot` draws lines, step lines, bands, markers, reference lines and hover strips on two axes.
- :class:`RowPlot` draws labelled rows (dot plots, bars, tornado bars) against one value axis.

Both return ``Markup`` for the template. Hover-to-read values use SVG ``<title>`` children: the browser
shows them as tooltips, screen readers read them, and no script is needed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt
from markupsafe import Markup

from reports.svg import (
    CHAR_PX,
    FONT_PX,
    Scale,
    TickFormat,
    area_d,
    auto_scale,
    compact,
    join,
    nice_step,
    path_d,
    tag,
    text,
    titled,
)


@dataclass
class LegendItem:
    """One legend entry: a swatch of ``cls`` style (line, band or marker) and its label."""

    label: str
    cls: str
    shape: str = "line"  # line | band | dot | diamond | bar


@dataclass
class _Canvas:
    width: float
    height: float
    title: str
    desc: str
    chart_id: str
    layers: list[Markup] = field(default_factory=list)
    legend: list[LegendItem] = field(default_factory=list)

    def legend_rows(self, x0: float, y0: float, max_width: float) -> tuple[Markup, float]:
        """Lay the legend out left to right, wrapping; returns the markup and its height."""
        out: list[Markup] = []
        x, y = x0, y0
        for item in self.legend:
            w = 26 + len(item.label) * CHAR_PX + 18
            if x + w > x0 + max_width and x > x0:
                x, y = x0, y + 18
            out.append(_swatch(item, x, y))
            out.append(text(x + 24, y + 4, item.label, class_="legend-label"))
            x += w
        height = (y - y0 + 18) if self.legend else 0.0
        return join(out), height

    def wrap(self, body: Markup) -> Markup:
        """The ``<svg>`` element with its accessible name and description."""
        tid, did = f"{self.chart_id}-title", f"{self.chart_id}-desc"
        head = tag("title", self.title, id=tid) + tag("desc", self.desc, id=did)
        return tag(
            "svg",
            head + body,
            xmlns="http://www.w3.org/2000/svg",
            viewBox=f"0 0 {self.width:.0f} {self.height:.0f}",
            role="img",
            aria_labelledby=tid,
            aria_describedby=did,
            class_="chart",
            id=self.chart_id,
            preserveAspectRatio="xMidYMid meet",
            font_size=f"{FONT_PX:.0f}",
        )


def _swatch(item: LegendItem, x: float, y: float) -> Markup:
    if item.shape == "band":
        return tag("rect", x=f"{x:.1f}", y=f"{y - 5:.1f}", width="18", height="10", class_=item.cls)
    if item.shape == "dot":
        return tag("circle", cx=f"{x + 9:.1f}", cy=f"{y:.1f}", r="4.5", class_=item.cls)
    if item.shape in ("diamond", "triangle"):
        return tag(
            "path", d=_diamond(x + 9, y, 6) if item.shape == "diamond" else _triangle(x + 9, y, 6), class_=item.cls
        )
    if item.shape == "bar":
        return tag("rect", x=f"{x:.1f}", y=f"{y - 5:.1f}", width="18", height="10", class_=item.cls)
    return tag("path", d=f"M{x:.1f},{y:.1f}H{x + 18:.1f}", class_=item.cls)


def _diamond(cx: float, cy: float, r: float) -> str:
    return f"M{cx:.1f},{cy - r:.1f}L{cx + r:.1f},{cy:.1f}L{cx:.1f},{cy + r:.1f}L{cx - r:.1f},{cy:.1f}Z"


def _triangle(cx: float, cy: float, r: float) -> str:
    return f"M{cx:.1f},{cy - r:.1f}L{cx + r:.1f},{cy + r * 0.8:.1f}L{cx - r:.1f},{cy + r * 0.8:.1f}Z"


MARKERS: Final[dict[str, Callable[[float, float, float], str]]] = {"diamond": _diamond, "triangle": _triangle}


class XYPlot:
    """A two-axis chart. Build with :meth:`scales`, add layers, then :meth:`render`.

    Layout (viewBox units): legend on top, y tick labels on the left, an optional second y axis on the
    right (replicas on the timeline), x tick labels and the axis title below.
    """

    def __init__(
        self,
        chart_id: str,
        *,
        title: str,
        desc: str,
        x_label: str,
        y_label: str,
        y2_label: str | None = None,
        width: float = 720,
        height: float = 360,
    ) -> None:
        self.canvas = _Canvas(width, height, title, desc, chart_id)
        self.x_label, self.y_label, self.y2_label = x_label, y_label, y2_label
        self.left, self.right = 72.0, (64.0 if y2_label else 20.0)
        self.top, self.bottom = 12.0, height - 52.0
        self.x: Scale | None = None
        self.y: Scale | None = None
        self.y2: Scale | None = None
        self.x_fmt: TickFormat = compact
        self.y_fmt: TickFormat = compact
        self.y2_fmt: TickFormat = compact

    # -- layout -------------------------------------------------------------------------------------
    def reserve_legend(self, items: Sequence[LegendItem]) -> None:
        """Declare the legend first: its height pushes the plot area down."""
        self.canvas.legend = list(items)
        _, h = self.canvas.legend_rows(self.left, 0, self.canvas.width - self.left - self.right)
        self.top = 14.0 + h

    def scales(
        self,
        xs: npt.ArrayLike,
        ys: npt.ArrayLike,
        *,
        x_log: bool | None = None,
        y_log: bool | None = None,
        y2s: npt.ArrayLike | None = None,
        x_zero: bool = True,
        x_fmt: TickFormat = compact,
        y_fmt: TickFormat = compact,
        y2_fmt: TickFormat = compact,
    ) -> None:
        """Fit the scales to the data (log where values span two decades unless told)."""
        self.x = auto_scale(xs, self.left, self.canvas.width - self.right, log=x_log, zero=x_zero)
        self.y = auto_scale(ys, self.bottom, self.top, log=y_log)
        if y2s is not None:
            self.y2 = auto_scale(y2s, self.bottom, self.top, log=False)
            self.y2 = _integer_ticks(self.y2)
        self.x_fmt, self.y_fmt, self.y2_fmt = x_fmt, y_fmt, y2_fmt

    def _xy(self, axis: str = "y") -> tuple[Scale, Scale]:
        y = self.y2 if axis == "y2" else self.y
        if self.x is None or y is None:
            raise RuntimeError("call scales() before adding layers")
        return self.x, y

    def y_top(self) -> float:
        """The largest value the y axis shows (to park 'off the chart' markers)."""
        return self._xy()[1].hi

    # -- layers -------------------------------------------------------------------------------------
    def line(self, xs: npt.ArrayLike, ys: npt.ArrayLike, *, cls: str, step: bool = False, axis: str = "y") -> None:
        """A polyline (or step-after line) through the points; None/NaN leave gaps."""
        sx, sy = self._xy(axis)
        d = path_d(sx(xs), sy(ys), step=step)
        if d:
            self.canvas.layers.append(tag("path", d=d, class_=cls))

    def band(self, xs: npt.ArrayLike, lo: npt.ArrayLike, hi: npt.ArrayLike, *, cls: str, step: bool = False) -> None:
        """A filled band between two series."""
        sx, sy = self._xy()
        d = area_d(sx(xs), sy(lo), sy(hi), step=step)
        if d:
            self.canvas.layers.append(tag("path", d=d, class_=cls))

    def marker(self, x: float, y: float, *, cls: str, tooltip: str, shape: str = "dot", size: float = 5.0) -> None:
        """One marker with a hover tooltip (skipped when outside a log axis)."""
        sx, sy = self._xy()
        px, py = sx.px(x), sy.px(y)
        if not (math.isfinite(px) and math.isfinite(py)):
            return
        if shape == "dot":
            el = tag("circle", cx=f"{px:.1f}", cy=f"{py:.1f}", r=f"{size:.1f}", class_=cls)
        else:
            el = tag("path", d=MARKERS[shape](px, py, size + 1), class_=cls)
        self.canvas.layers.append(titled(el, tooltip))

    def vline(self, x: float, *, cls: str, label: str, tooltip: str, anchor: str = "start", level: int = 0) -> None:
        """A vertical reference line across the plot with a short label near the top (``level`` lines down)."""
        sx, _ = self._xy()
        px = sx.px(x)
        if not math.isfinite(px):
            return
        px = min(max(px, self.left), self.canvas.width - self.right)
        line = tag("path", d=f"M{px:.1f},{self.top:.1f}V{self.bottom:.1f}", class_=cls)
        dx = 4 if anchor == "start" else -4
        label_el = text(px + dx, self.top + 13 + 15 * level, label, class_="ref-label", text_anchor=anchor)
        self.canvas.layers.append(titled(line + label_el, tooltip))

    def hline(self, y: float, *, cls: str, label: str, tooltip: str, axis: str = "y") -> None:
        """A horizontal reference line with a label at the right end."""
        _, sy = self._xy(axis)
        py = sy.px(y)
        if not math.isfinite(py):
            return
        x1 = self.canvas.width - self.right
        line = tag("path", d=f"M{self.left:.1f},{py:.1f}H{x1:.1f}", class_=cls)
        label_el = text(x1 - 4, py - 4, label, class_="ref-label", text_anchor="end")
        self.canvas.layers.append(titled(line + label_el, tooltip))

    def ticks_at(self, xs: Sequence[float], tooltips: Sequence[str], *, cls: str, height: float = 8.0) -> None:
        """Short upward ticks on the x axis (cold starts), each with a tooltip."""
        sx, _ = self._xy()
        out = []
        for x, tip in zip(xs, tooltips, strict=True):
            px = sx.px(x)
            if math.isfinite(px):
                el = tag("path", d=f"M{px:.1f},{self.bottom:.1f}v{-height:.1f}", class_=cls)
                out.append(titled(el, tip))
        if out:
            self.canvas.layers.append(Markup('<g class="ticks-layer">') + join(out) + Markup("</g>"))

    def hover_strips(self, edges: npt.ArrayLike, tooltips: Sequence[str]) -> None:
        """Invisible full-height strips between consecutive x ``edges``; hovering one shows its values."""
        sx, _ = self._xy()
        px = np.clip(sx(edges), self.left, self.canvas.width - self.right)
        out = []
        h = self.bottom - self.top
        for i, tip in enumerate(tooltips):
            x0, x1 = float(px[i]), float(px[i + 1])
            if not (math.isfinite(x0) and math.isfinite(x1)) or x1 <= x0:
                continue
            rect = tag("rect", x=f"{x0:.1f}", y=f"{self.top:.1f}", width=f"{x1 - x0:.2f}", height=f"{h:.1f}")
            out.append(titled(rect, tip))
        if out:
            self.canvas.layers.append(Markup('<g class="hover">') + join(out) + Markup("</g>"))

    # -- output -------------------------------------------------------------------------------------
    def _axes(self) -> Markup:
        sx, sy = self._xy()
        w, x0, x1 = self.canvas.width, self.left, self.canvas.width - self.right
        out: list[Markup] = []
        for t in sy.ticks():
            py = sy.px(t)
            out.append(tag("path", d=f"M{x0:.1f},{py:.1f}H{x1:.1f}", class_="grid"))
            out.append(text(x0 - 6, py + 4, self.y_fmt(t), class_="tick", text_anchor="end"))
        out += _x_ticks(sx, self.x_fmt, top=self.top, bottom=self.bottom)
        out.append(
            tag(
                "path",
                d=f"M{x0:.1f},{self.bottom:.1f}H{x1:.1f}M{x0:.1f},{self.top:.1f}V{self.bottom:.1f}",
                class_="axis",
            )
        )
        out.append(
            text(
                fit_centre((x0 + x1) / 2, self.x_label, w),
                self.canvas.height - 10,
                self.x_label,
                class_="axis-title",
                text_anchor="middle",
            )
        )
        cy = (self.top + self.bottom) / 2
        out.append(
            text(16, cy, self.y_label, class_="axis-title", text_anchor="middle", transform=f"rotate(-90 16 {cy:.1f})")
        )
        if self.y2 is not None and self.y2_label:
            for t in self.y2.ticks():
                py = self.y2.px(t)
                out.append(text(x1 + 6, py + 4, self.y2_fmt(t), class_="tick tick-y2", text_anchor="start"))
            out.append(tag("path", d=f"M{x1:.1f},{self.top:.1f}V{self.bottom:.1f}", class_="axis"))
            rx = w - 14
            out.append(
                text(
                    rx,
                    cy,
                    self.y2_label,
                    class_="axis-title",
                    text_anchor="middle",
                    transform=f"rotate(90 {rx} {cy:.1f})",
                )
            )
        return join(out)

    def render(self) -> Markup:
        """The finished ``<svg>``."""
        legend, _ = self.canvas.legend_rows(self.left, 10, self.canvas.width - self.left - self.right)
        clip_id = f"{self.canvas.chart_id}-clip"
        x1 = self.canvas.width - self.right
        clip = tag(
            "clipPath",
            tag(
                "rect",
                x=f"{self.left - 6:.1f}",
                y=f"{self.top - 6:.1f}",
                width=f"{x1 - self.left + 12:.1f}",
                height=f"{self.bottom - self.top + 12:.1f}",
            ),
            id=clip_id,
        )
        layers = tag("g", join(self.canvas.layers), clip_path=f"url(#{clip_id})", class_="layers")
        return self.canvas.wrap(tag("defs", clip) + self._axes() + layers + legend)


def _integer_ticks(scale: Scale) -> Scale:
    """A replica axis: whole-number ticks from zero."""
    top = float(max(math.ceil(scale.hi) + 1, 2))  # headroom: a flat line at the peak must not sit on the frame
    step = max(1.0, float(math.ceil(nice_step(top, 4))))
    top = math.ceil(top / step) * step
    return Scale(0.0, top, scale.px_lo, scale.px_hi, False, step)


class RowPlot:
    """Labelled rows against one horizontal value axis (dot plots, bars, tornado bars)."""

    ROW_H: Final = 26.0

    def __init__(
        self,
        chart_id: str,
        *,
        title: str,
        desc: str,
        labels: Sequence[str],
        x_label: str,
        width: float = 720,
    ) -> None:
        self.labels = [_ellipsis(label, 38) for label in labels]
        self.full_labels = list(labels)
        label_w = min(max((len(s) for s in self.labels), default=4) * CHAR_PX + 16, width * 0.42)
        self.left, self.right = label_w, 24.0
        self.top = 12.0
        self.x_label = x_label
        self.width = width
        self.canvas = _Canvas(width, 0.0, title, desc, chart_id)
        self.x: Scale | None = None
        self.x_fmt: TickFormat = compact

    def reserve_legend(self, items: Sequence[LegendItem]) -> None:
        """Declare the legend first (it sits above the rows)."""
        self.canvas.legend = list(items)
        _, h = self.canvas.legend_rows(self.left, 0, self.width - self.left - self.right)
        self.top = 14.0 + h

    @property
    def bottom(self) -> float:
        """Bottom of the row area."""
        return self.top + self.ROW_H * max(len(self.labels), 1)

    def scale(
        self, values: npt.ArrayLike, *, log: bool | None = None, fmt: TickFormat = compact, zero: bool = True
    ) -> None:
        """Fit the value axis."""
        self.x = auto_scale(values, self.left, self.width - self.right, log=log, zero=zero)
        self.x_fmt = fmt

    def row_y(self, i: int) -> float:
        """Centre of row ``i``."""
        return self.top + self.ROW_H * (i + 0.5)

    def _sx(self) -> Scale:
        if self.x is None:
            raise RuntimeError("call scale() before adding layers")
        return self.x

    def bar(self, i: int, x0: float, x1: float, *, cls: str, tooltip: str, thickness: float = 14.0) -> None:
        """A horizontal bar in row ``i`` from ``x0`` to ``x1``."""
        sx = self._sx()
        a, b = sorted((sx.px(x0), sx.px(x1)))
        if not (math.isfinite(a) and math.isfinite(b)):
            return
        y = self.row_y(i) - thickness / 2
        rect = tag(
            "rect", x=f"{a:.1f}", y=f"{y:.1f}", width=f"{max(b - a, 1.5):.1f}", height=f"{thickness:.1f}", class_=cls
        )
        self.canvas.layers.append(titled(rect, tooltip))

    def segment(self, i: int, x0: float, x1: float, *, cls: str) -> None:
        """A thin line in row ``i`` (a percentile range)."""
        sx = self._sx()
        a, b = sx.px(x0), sx.px(x1)
        if math.isfinite(a) and math.isfinite(b):
            y = self.row_y(i)
            self.canvas.layers.append(tag("path", d=f"M{a:.1f},{y:.1f}H{b:.1f}", class_=cls))

    def dot(self, i: int, x: float, *, cls: str, tooltip: str, shape: str = "dot") -> None:
        """A marker in row ``i``."""
        px, py = self._sx().px(x), self.row_y(i)
        if not math.isfinite(px):
            return
        el = (
            tag("circle", cx=f"{px:.1f}", cy=f"{py:.1f}", r="5", class_=cls)
            if shape == "dot"
            else tag("path", d=MARKERS[shape](px, py, 6), class_=cls)
        )
        self.canvas.layers.append(titled(el, tooltip))

    def note(self, i: int, x: float, content: str) -> None:
        """A short text in row ``i`` starting at value ``x`` (e.g. 'never')."""
        px = self._sx().px(x)
        if math.isfinite(px):
            self.canvas.layers.append(text(px + 4, self.row_y(i) + 4, content, class_="row-note"))

    def vline(self, x: float, *, cls: str, tooltip: str) -> None:
        """A vertical reference line across all rows (name it, with its value, in the legend)."""
        px = self._sx().px(x)
        if not math.isfinite(px):
            return
        line = tag("path", d=f"M{px:.1f},{self.top - 4:.1f}V{self.bottom:.1f}", class_=cls)
        self.canvas.layers.append(titled(line, tooltip))

    def render(self) -> Markup:
        """The finished ``<svg>``."""
        sx = self._sx()
        self.canvas.height = self.bottom + 48
        out: list[Markup] = []
        for i, (label, full) in enumerate(zip(self.labels, self.full_labels, strict=True)):
            y = self.row_y(i)
            if i % 2 == 0:
                out.append(
                    tag(
                        "rect",
                        x="0",
                        y=f"{y - self.ROW_H / 2:.1f}",
                        width=f"{self.width:.0f}",
                        height=f"{self.ROW_H:.1f}",
                        class_="row-band",
                    )
                )
            lbl = text(self.left - 8, y + 4, label, class_="row-label", text_anchor="end")
            out.append(titled(lbl, full) if label != full else lbl)
        out += _x_ticks(sx, self.x_fmt, top=self.top, bottom=self.bottom)
        out.append(tag("path", d=f"M{self.left:.1f},{self.bottom:.1f}H{self.width - self.right:.1f}", class_="axis"))
        out.append(
            text(
                fit_centre((self.left + self.width - self.right) / 2, self.x_label, self.width),
                self.bottom + 38,
                self.x_label,
                class_="axis-title",
                text_anchor="middle",
            )
        )
        legend, _ = self.canvas.legend_rows(self.left, 10, self.width - self.left - self.right)
        return self.canvas.wrap(join(out) + tag("g", join(self.canvas.layers), class_="layers") + legend)


def _x_ticks(sx: Scale, x_fmt: TickFormat, *, top: float, bottom: float) -> list[Markup]:
    """A grid line per tick of ``sx`` and its label below the plot, dropping labels that would overlap their
    neighbour."""
    out: list[Markup] = []
    last_right = -1e9
    for t in sx.ticks():
        px = sx.px(t)
        label = x_fmt(t)
        half = len(label) * CHAR_PX / 2
        out.append(tag("path", d=f"M{px:.1f},{top:.1f}V{bottom:.1f}", class_="grid"))
        if px - half > last_right + 4:
            out.append(text(px, bottom + 16, label, class_="tick", text_anchor="middle"))
            last_right = px + half
    return out


def fit_centre(centre: float, label: str, width: float) -> float:
    """The x of a centred axis title moved inwards so that the whole title stays inside the chart."""
    half = len(label) * CHAR_PX * 1.1 / 2  # titles are bold: a little wider than the estimate
    return min(max(centre, half + 4), width - half - 4)


def _ellipsis(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"
