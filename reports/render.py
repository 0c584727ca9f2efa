"""Render the results into one self-contained HTML file, and write it (and results.json) atomically.

The template and its stylesheet are package data read with :mod:`importlib.resources`; jinja2 autoescapes
everything, and the charts are inline SVG built with escaped text (:mod:`reports.svg`). The page loads
nothing: no script, font, image or stylesheet comes from the network.

Rendering depends only on the :class:`~costmodel.results.Results` object (the generation time printed is the
analysis time stored in it), so ``breakeven report results.json`` reproduces the same bytes.
"""

from __future__ import annotations

import functools
import math
import os
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup
from pydantic import ValidationError

from breakeven.errors import InputError
from breakeven.io import (
    PathOrBuffer,
    atomic_write_text,
    check_output_file,
    check_output_folder,
    read_text,
    source_name,
)
from costmodel.results import Results
from reports.charts import build_charts
from reports.consistency import check_consistency
from reports.tables import cost_breakdown, inputs_table, prices_table, profiles_table, slo_table, trace_table
from reports.verdict import build_verdict

REPORT_NAME = "report.html"
RESULTS_NAME = "results.json"


def _template_source(name: str) -> str:
    return resources.files("reports").joinpath("templates", name).read_text(encoding="utf-8")


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_template_source),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    # The stylesheet is our own package file, inlined as-is inside <style> (escaping would break '>' selectors).
    env.globals["stylesheet"] = Markup(_template_source("report.css"))  # noqa: S704 - our own file, no input
    return env


def check_results(results: Results, *, where: str = "results") -> None:
    """Raise :class:`InputError` when the chart series of ``results`` are inconsistent (lengths differ)."""
    curve = results.cost_curve
    if curve is not None:
        _check_series(where, "cost_curve", curve, "rps", _CURVE_SERIES)
        if any(not math.isfinite(r) or r < 0 for r in curve.rps):
            raise InputError(f"{where}: cost_curve.rps: expected finite non-negative rates")
    if results.timeline is not None:
        _check_series(where, "timeline", results.timeline, "t_s", _TIMELINE_SERIES)
    sens = results.sensitivity
    if sens is not None and sens.cost_band_rps:
        _check_series(where, "sensitivity", sens, "cost_band_rps", _BAND_SERIES)


_CURVE_SERIES = ("serverless_monthly_usd", "dedicated_monthly_usd", "hybrid_monthly_usd")
_TIMELINE_SERIES = ("arrivals_rps", "replicas_running", "replicas_ready")
_BAND_SERIES = ("dedicated_monthly_p10", "dedicated_monthly_p50", "dedicated_monthly_p90")


def _check_series(where: str, part: str, obj: object, index: str, names: tuple[str, ...]) -> None:
    """Each series ``names`` of ``obj`` (absent: None) has one value per value of its ``index`` series."""
    n = len(getattr(obj, index))
    for name in names:
        series = getattr(obj, name)
        if series is not None and len(series) != n:
            raise InputError(
                f"{where}: {part}.{name}: expected {n} values (one per {part}.{index}), found {len(series)}"
            )


def _context(results: Results) -> dict[str, Any]:
    # The JSON form the verdict's numbers are read from; the timeline (possibly millions of bins) is left out.
    doc = results.model_dump(mode="json", by_alias=True, exclude={"timeline"})
    charts = build_charts(results)
    return {
        "r": results,
        "verdict": build_verdict(results, doc),
        "charts": charts,
        "costs": cost_breakdown(results),
        "slo": slo_table(results),
        "inputs": inputs_table(results),
        "prices": prices_table(results),
        "profiles": profiles_table(results),
        "trace": trace_table(results),
        "stale_prices": [p for p in results.prices if p.stale],
    }


def render_report(results: Results) -> str:
    """The HTML report for ``results`` as one self-contained page."""
    check_results(results)
    return _environment().get_template("report.html.j2").render(**_context(results))


def _report_path(out: str | os.PathLike[str]) -> Path:
    path = Path(out)
    if path.suffix.lower() in {".html", ".htm"} or (path.exists() and not path.is_dir()):
        return path
    return path / REPORT_NAME


def check_report_path(out_dir_or_file: str | os.PathLike[str], *, option: str | None = "--out") -> Path:
    """Where :func:`write_report` will write, checked writable before any work (:class:`InputError` if not)."""
    return check_output_file(_report_path(out_dir_or_file), option=option, example=REPORT_NAME)


def check_output_paths(out_dir: str | os.PathLike[str], *, option: str | None = "--out") -> tuple[Path, Path]:
    """Check that :func:`write_outputs` can write into ``out_dir``, before any work; returns (json, html)."""
    folder = check_output_folder(out_dir, option=option)
    return (
        check_output_file(folder / RESULTS_NAME, option=option, example=RESULTS_NAME),
        check_output_file(folder / REPORT_NAME, option=option, example=REPORT_NAME),
    )


def write_report(results: Results, out_dir_or_file: str | os.PathLike[str]) -> Path:
    """Render and write the report; ``out_dir_or_file`` is a ``.html`` file or a folder (→ ``report.html``).

    The file is written all at once (temporary file + rename): an error leaves no half-written report.
    """
    html = render_report(results)
    return atomic_write_text(_report_path(out_dir_or_file), html)


def write_outputs(results: Results, out_dir: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write ``results.json`` and ``report.html`` into ``out_dir``; returns both paths (json, html).

    Both are rendered in memory first, so a rendering error writes neither; each file is written atomically.
    """
    folder = Path(out_dir)
    check_output_paths(folder, option=None)
    html = render_report(results)
    text = results.model_dump_json(by_alias=True, indent=2)
    json_path = atomic_write_text(folder / RESULTS_NAME, text + "\n")
    html_path = atomic_write_text(folder / REPORT_NAME, html)
    return json_path, html_path


def load_results(src: PathOrBuffer) -> Results:
    """Read a results.json (path or file object); a wrong schema, a malformed file or results that contradict
    themselves (:func:`reports.consistency.check_consistency`, :func:`check_results`) raise :class:`InputError`."""
    name = source_name(src)
    text = read_text(src)
    try:
        results = Results.model_validate_json(text)
    except ValidationError as exc:
        raise InputError(f"{name}: {_describe(exc)}") from exc
    check_consistency(results, where=name)  # a saved file may be hand-edited: its verdict must match its options
    check_results(results, where=name)
    return results


def _describe(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False)
    parts = []
    for err in errors[:3]:
        loc = ".".join(str(x) for x in err["loc"]) or "(document)"
        if err["type"] == "json_invalid":
            parts.append(f"not valid JSON ({err['msg']}); expected a results.json written by `breakeven analyze`")
            continue
        if err["type"] == "missing":
            parts.append(f"key '{loc}': field required but missing; expected it to be present")
            continue
        found = err.get("input")
        shown = repr(found) if not isinstance(found, dict | list) else type(found).__name__
        if len(shown) > 60:
            shown = shown[:57] + "..."
        if err["type"] == "extra_forbidden":
            parts.append(f"key '{loc}': unknown key; expected only the keys of {RESULTS_NAME} v1, found {shown}")
            continue
        expected = err["msg"].removeprefix("Input should be ").removeprefix("input should be ")
        parts.append(f"key '{loc}': expected {expected[:1].lower()}{expected[1:]}, found {shown}")
    more = f" (and {len(errors) - 3} more problems)" if len(errors) > 3 else ""
    return "; ".join(parts) + more
