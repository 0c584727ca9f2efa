"""Inline-SVG primitives: escaped markup, scales with nice ticks, and path strings.

Everything that lands in the SVG goes through :func:`tag` / :func:`text`, which escape attribute values and
text with :mod:`markupsafe`, so names from inputs cannot break out of the markup. Colours and line styles are
CSS classes defined in ``templates/report.css`` (one place for the palette and the print overrides).
The plot builders that use these live in :mod:`reports.plots`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from markupsafe import Markup, escape

FONT_PX: Final = 13.0
CHAR_PX: Final = 0.6 * FONT_PX  # average glyph width of the sans-serif stack, for layout estimates

FloatArray = npt.NDArray[np.float64]
TickFormat = Callable[[float], str]


# ---------------------------------------------------------------------------------------------- markup


def _attrs(attrs: dict[str, object]) -> str:
    parts = []
    for key, value in attrs.items():
        if value is None or value is False:
            continue
        name = key.rstrip("_").replace("_", "-")
        parts.append(f' {name}="{escape(value)}"')
    return "".join(parts)


def tag(name: str, content: str | Markup = "", /, **attrs: object) -> Markup:
    """``<name attrs>content</name>`` with escaped attributes; ``content`` is escaped unless it is Markup."""
    body = content if isinstance(content, Markup) else escape(content)
    # Safe: ``name`` is a literal of this package, attributes are escaped by _attrs, ``body`` is escaped Markup.
    if not body:
        return Markup(f"<{name}{_attrs(attrs)}/>")  # noqa: S704
    return Markup(f"<{name}{_attrs(attrs)}>{body}</{name}>")  # noqa: S704


def text(x: float, y: float, content: str, /, **attrs: object) -> Markup:
    """An SVG ``<text>`` element (content escaped)."""
    return tag("text", content, x=f"{x:.1f}", y=f"{y:.1f}", **attrs)


def titled(element: Markup, tooltip: str) -> Markup:
    """Wrap ``element`` in a group whose ``<title>`` is the hover text."""
    return Markup("<g>") + tag("title", tooltip) + element + Markup("</g>")


def join(items: Iterable[Markup]) -> Markup:
    """Concatenate markup fragments."""
    return Markup("").join(items)


# ---------------------------------------------------------------------------------------------- scales


def compact(value: float) -> str:
    """Short tick label: ``0.05``, ``1``, ``250``, ``1.5k``, ``2M``."""
    a = abs(value)
    if a >= 1e6:
        return f"{value / 1e6:.4g}M"
    if a >= 1e3:
        return f"{value / 1e3:.4g}k"
    if a == 0:
        return "0"
    if a < 1e-3:
        return f"{value:.1e}"
    return f"{value:.4g}"


def compact_usd(value: float) -> str:
    """Short dollar tick label: ``$0``, ``$500``, ``$1.5k``."""
    sign = "\u2212" if value < 0 else ""
    return f"{sign}${compact(abs(value))}"


def nice_step(span: float, target: int) -> float:
    raw = span / max(target, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    for mult in (1.0, 2.0, 2.5, 5.0, 10.0):
        if raw <= mult * magnitude:
            return mult * magnitude
    return 10 * magnitude


@dataclass(frozen=True)
class Scale:
    """Maps ``domain`` (data units) to ``pixels``; ``log`` uses log10 (domain must be positive)."""

    lo: float
    hi: float
    px_lo: float
    px_hi: float
    log: bool = False
    step: float = 0.0  # linear tick step chosen when the domain was made nice

    def __call__(self, values: float | npt.ArrayLike) -> FloatArray:
        v = np.asarray(values, dtype=np.float64)
        if self.log:
            with np.errstate(divide="ignore", invalid="ignore"):
                a, b, v = math.log10(self.lo), math.log10(self.hi), np.log10(np.where(v > 0, v, np.nan))
        else:
            a, b = self.lo, self.hi
        frac = (v - a) / (b - a) if b != a else np.zeros_like(v)
        return np.asarray(self.px_lo + frac * (self.px_hi - self.px_lo), dtype=np.float64)

    def px(self, value: float) -> float:
        """One value in pixels."""
        return float(self(value))

    def ticks(self) -> list[float]:
        """Tick values inside the domain."""
        if self.log:
            return _log_ticks(self.lo, self.hi)
        step = self.step or nice_step(self.hi - self.lo, 5)
        first = math.ceil(self.lo / step - 1e-9) * step
        count = math.floor((self.hi - first) / step + 1e-9) + 1
        return [round(first + i * step, 12) for i in range(max(count, 0))]


def _log_ticks(lo: float, hi: float) -> list[float]:
    decades = range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
    mults = (1.0,) if math.log10(hi / lo) > 3.5 else (1.0, 2.0, 5.0)
    ticks = [m * 10.0**d for d in decades for m in mults]
    return [t for t in ticks if lo * (1 - 1e-9) <= t <= hi * (1 + 1e-9)]


def wants_log(values: npt.ArrayLike, decades: float = 2.0) -> bool:
    """True when the positive values span at least ``decades`` powers of ten (a log axis reads better)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v) & (v > 0)]
    return bool(v.size >= 2 and math.log10(v.max() / v.min()) >= decades)


def linear_scale(lo: float, hi: float, px_lo: float, px_hi: float, *, zero: bool = True, target: int = 5) -> Scale:
    """A linear scale over ``[lo, hi]`` widened to nice tick bounds (and to zero when ``zero``)."""
    if zero:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        lo, hi = (lo - 1.0, lo + 1.0) if math.isfinite(lo) and lo != 0 else (0.0, 1.0)
    step = nice_step(hi - lo, target)
    return Scale(math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step, px_lo, px_hi, False, step)


def log_scale(lo: float, hi: float, px_lo: float, px_hi: float) -> Scale:
    """A log10 scale over ``[lo, hi]`` (positive) widened to 1-2-5 bounds."""
    lo = max(lo, 1e-12)
    hi = max(hi, lo * 10)
    return Scale(_nice_125(lo, down=True), _nice_125(hi, down=False), px_lo, px_hi, True)


def _nice_125(value: float, *, down: bool) -> float:
    decade = 10.0 ** math.floor(math.log10(value))
    steps = (1.0, 2.0, 5.0, 10.0)
    if down:
        return max(m * decade for m in steps if m * decade <= value * (1 + 1e-9))
    return min(m * decade for m in steps if m * decade >= value * (1 - 1e-9))


def auto_scale(
    values: npt.ArrayLike, px_lo: float, px_hi: float, *, log: bool | None = None, zero: bool = True
) -> Scale:
    """Linear or log scale covering the finite ``values`` (log when they span two decades, unless told)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    use_log = wants_log(v) if log is None else log
    if use_log:
        pos = v[v > 0]
        if pos.size:
            return log_scale(float(pos.min()), float(pos.max()), px_lo, px_hi)
    if v.size == 0:
        return linear_scale(0.0, 1.0, px_lo, px_hi)
    return linear_scale(float(v.min()), float(v.max()), px_lo, px_hi, zero=zero)


# ---------------------------------------------------------------------------------------------- paths


def path_d(xs: FloatArray, ys: FloatArray, *, step: bool = False) -> str:
    """An SVG path ``d`` through the points; NaN breaks the line into segments. ``step``: step-after."""
    ok = np.isfinite(xs) & np.isfinite(ys)
    parts: list[str] = []
    pen_down = False
    prev_y = 0.0
    for x, y, good in zip(xs.tolist(), ys.tolist(), ok.tolist(), strict=True):
        if not good:
            pen_down = False
            continue
        if not pen_down:
            parts.append(f"M{x:.1f},{y:.1f}")
            pen_down = True
        elif step:
            parts.append(f"H{x:.1f}V{y:.1f}" if y != prev_y else f"H{x:.1f}")
        else:
            parts.append(f"L{x:.1f},{y:.1f}")
        prev_y = y
    return "".join(parts)


def area_d(xs: FloatArray, lo: FloatArray, hi: FloatArray, *, step: bool = False) -> str:
    """A closed band between ``lo`` and ``hi`` (pixels); NaN splits it into separate bands."""
    ok = np.isfinite(xs) & np.isfinite(lo) & np.isfinite(hi)
    parts = []
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return ""
    breaks = np.flatnonzero(np.diff(idx) > 1) + 1
    for run in np.split(idx, breaks):
        x, a, b = xs[run], lo[run], hi[run]
        if step and run.size > 1:
            x = np.repeat(x, 2)[1:]
            a = np.repeat(a, 2)[:-1]
            b = np.repeat(b, 2)[:-1]
        top = " ".join(f"{px:.1f},{py:.1f}" for px, py in zip(x.tolist(), b.tolist(), strict=True))
        bottom = " ".join(f"{px:.1f},{py:.1f}" for px, py in zip(x[::-1].tolist(), a[::-1].tolist(), strict=True))
        parts.append(f"M{top} L{bottom}Z")
    return " ".join(parts)
