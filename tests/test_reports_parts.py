"""The report's parts: the number formatter, SVG escaping and scales, downsampling, chart contents."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reports.charts import build_charts
from reports.downsample import minmax_points, summarize
from reports.fmt import fmt
from reports.render import render_report
from reports.svg import Scale, linear_scale, log_scale, tag, text
from reports.verdict import pointer, resolve
from tests.support.reports_factory import make_results
from tests.support.reports_html import check_number

# --------------------------------------------------------------------------------------------- fmt


@pytest.mark.parametrize(
    ("value", "kind", "shown"),
    [
        (1372.4, "usd", "$1,372.40"),  # the seed case: $1.88/h x 730 h; money is always shown in cents
        (468.3078, "usd", "$468.31"),
        (15.4, "usd", "$15.40"),
        (0.125, "usd", "$0.13"),  # half away from zero, as on an invoice
        (0.000162, "usd", "<$0.01"),  # not zero, below half a cent: never a string of zeros
        (1.1102230246251565e-16, "usd", "<$0.01"),  # the float residue the report used to print in full
        (0, "usd", "$0.00"),
        (-904.09, "usd", "−$904.09"),
        (-0.001, "usd", ">−$0.01"),
        (-904.09, "usd_abs", "$904.09"),
        (0.000162, "usd_unit", "$0.000162"),  # a unit cost keeps three significant figures
        (0.0628296, "usd_unit", "$0.0628"),
        (12.3456, "usd_unit", "$12.35"),
        (0.2, "usd_price", "$0.20"),  # a catalog price is shown as written, never rounded
        (0.025, "usd_price", "$0.025"),
        (23.92, "usd_price", "$23.92"),
        (0.1199, "usd_price", "$0.1199"),
        (3.2222, "rps", "3.22"),
        (18.04, "rps", "18.0"),
        (0.6199, "rps", "0.620"),
        (0.0123456, "rps", "0.0123"),
        (1500.2, "rps", "1,500"),
        (0.985, "pct", "98.5%"),
        (1.0, "pct", "100.0%"),
        (0.99996, "pct", ">99.9%"),
        (0.0004, "pct", "<0.1%"),
        (0.0, "pct", "0.0%"),
        (219.6, "tokens", "220"),
        (1200, "tokens", "1,200"),
        (600, "ms", "600"),
        (60.0, "ms", "60"),
        (11.105, "ms", "11.1"),
        (1.0, "num", "1"),
        (1.8, "num", "1.8"),
        (None, "usd", "–"),
        (math.nan, "rps", "–"),
        (math.inf, "usd", "–"),
    ],
)
def test_fmt(value, kind, shown):
    assert fmt(value, kind) == shown


@given(
    value=st.floats(min_value=0, max_value=1e8, allow_nan=False) | st.floats(min_value=-1e6, max_value=0),
    kind=st.sampled_from(["usd", "usd_abs", "usd_unit", "rps", "tokens", "ms", "hours"]),
)
def test_fmt_displays_the_value_within_its_rounding(value, kind):
    check_number(fmt(value, kind), value, kind)


@given(st.floats(min_value=0, max_value=1, allow_nan=False))
def test_fmt_pct_within_rounding_and_never_a_false_100(share):
    shown = fmt(share, "pct")
    check_number(shown, share, "pct")
    if share < 1:
        assert shown != "100.0%"


# --------------------------------------------------------------------------------------------- svg


def test_svg_text_and_attributes_are_escaped():
    el = text(1, 2, "<script>alert(1)</script>", class_='a" onload="x')
    assert str(el) == (
        '<text x="1.0" y="2.0" class="a&#34; onload=&#34;x">&lt;script&gt;alert(1)&lt;/script&gt;</text>'
    )
    assert str(tag("title", "a & b")) == "<title>a &amp; b</title>"


def test_log_scale_ticks_decades_and_maps_monotonically():
    s = log_scale(0.013, 87.0, 0, 600)
    assert (s.lo, s.hi) == (0.01, 100.0)
    assert s.ticks() == [0.01, 0.1, 1.0, 10.0, 100.0]
    px = s([0.01, 1.0, 100.0])
    assert px.tolist() == [0.0, 300.0, 600.0]
    assert math.isnan(float(s(0.0)))  # zero has no place on a log axis


def test_linear_scale_is_nice_and_includes_zero():
    s = linear_scale(3.0, 97.0, 300, 0)
    assert s.lo == 0.0 and s.hi == 100.0
    assert s.ticks() == [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
    assert Scale(0, 1, 0, 10)(0.5) == 5.0


# -------------------------------------------------------------------------------------- downsample


def test_summarize_matches_a_brute_force_bucketing():
    rng = np.random.default_rng(3)
    y = rng.poisson(2.0, 10_007).astype(float)
    y[123] = np.nan
    t = np.arange(y.size, dtype=float)
    b = summarize(t, y, float(y.size), 100)
    assert len(b) == 100
    starts = [*b.t_start.astype(int).tolist(), y.size]
    for i in range(100):
        chunk = y[starts[i] : starts[i + 1]]
        assert b.max[i] == np.nanmax(chunk) and b.min[i] == np.nanmin(chunk)
        assert b.mean[i] == pytest.approx(np.nanmean(chunk))
    assert b.t_end[-1] == y.size


def test_minmax_points_keep_every_peak_and_time_order():
    n = 2_592_000  # one bin per second over 30 days
    t = np.arange(n, dtype=float)
    y = np.ones(n)
    y[1_234_567] = 250.0  # a one-second spike
    y[2_000_000] = 0.0
    xs, ys = minmax_points(t, y, 1000)
    assert xs.size <= 2000
    assert 250.0 in ys and 0.0 in ys
    assert np.all(np.diff(xs) > 0)


def test_short_series_are_not_resampled():
    t = np.arange(10.0)
    xs, ys = minmax_points(t, t**2, 1000)
    assert xs.tolist() == t.tolist() and ys.tolist() == (t**2).tolist()


def test_long_timeline_is_drawn_with_at_most_about_two_thousand_points():
    results = make_results(hours=24 * 7, bin_s=10.0)  # 60,480 bins
    assert results.timeline is not None
    peak = max(results.timeline.arrivals_rps)
    svg = str(build_charts(results)["timeline"].svgs[0])
    for d in re.findall(r' d="([^"]+)"', svg):
        assert d.count("H") + d.count("L") <= 4100  # step lines: an H and a V per point
    # The peak bin still reaches the drawing: its value appears in a hover tooltip.
    assert f"peak {fmt(peak, 'rps')}" in svg


# ---------------------------------------------------------------------------------------- charts


def test_every_chart_has_a_text_equivalent_and_data_table():
    charts = build_charts(make_results())
    for role, chart in charts.items():
        assert chart.drawn, role
        assert chart.summary.strip(), role
        assert chart.table is not None and chart.table.rows, role
        for svg in chart.svgs:
            assert 'role="img"' in svg and "aria-labelledby" in svg and "<desc" in svg


def test_cost_chart_marks_break_even_and_the_users_traffic():
    results = make_results()
    svg = str(build_charts(results)["cost"].svgs[0])
    assert "your traffic 1.10 req/s" in svg
    assert "Lines cross: 3.22 req/s" in svg  # $1.88/h / $0.000162 per request / 3600 = 3.22 req/s
    # Hover strips: one per sampled rate, each with the three costs.
    assert svg.count("req/s: serverless $") == len(results.cost_curve.rps)


def test_json_pointer_escapes_slashes_in_ids():
    doc = {"monthly_cost_usd": {"serverless:digitalocean/gpt-oss-120b": 468.3}}
    p = pointer("monthly_cost_usd", "serverless:digitalocean/gpt-oss-120b")
    assert p == "/monthly_cost_usd/serverless:digitalocean~1gpt-oss-120b"
    assert resolve(doc, p) == 468.3


def test_report_size_is_small():
    html = render_report(make_results())
    assert len(html.encode()) < 400_000


def test_routing_summary_says_when_the_cache_changes_nothing_and_when_dedicated_never_wins():
    results = make_results()
    pc = results.prefix_caching
    assert pc is not None
    summary = build_charts(results)["routing"].summary
    assert "2 replicas:" in summary and "instead of $" in summary  # the factory's costs differ by policy
    same = [r.model_copy(update={"monthly_cost_usd": pc.rows[0].monthly_cost_usd}) for r in pc.rows]
    flat = pc.model_copy(update={"rows": same, "probe_replicas": 1, "breakeven_without_cache_rps": None})
    summary = build_charts(results.model_copy(update={"prefix_caching": flat}))["routing"].summary
    assert "1 replica:" in summary and "same cache" in summary
    assert "costs the same" in summary and "instead of $" not in summary
    assert "without prefix caching dedicated is never cheaper; with it it is 2.31 req/s" in summary
