"""Rendering, writing and re-rendering the report; escaping of hostile inputs; edge cases; offline-ness."""

from __future__ import annotations

import io
import json
import re

import pytest
from typer.testing import CliRunner

from breakeven.errors import InputError
from costmodel.cli import app
from costmodel.results import Results
from reports import load_results, render_report, write_outputs, write_report
from tests.support.reports_factory import H100, make_results

runner = CliRunner()


# ------------------------------------------------------------------------------------- round trip


def test_results_json_alone_rerenders_the_same_report(tmp_path):
    results = make_results()
    json_path, html_path = write_outputs(results, tmp_path / "out")
    assert json_path.name == "results.json" and html_path.name == "report.html"
    again = load_results(json_path)
    assert render_report(again) == html_path.read_text()


def test_cli_report_rerenders_from_results_json(tmp_path):
    json_path, html_path = write_outputs(make_results(H100), tmp_path)
    out = tmp_path / "copy" / "again.html"
    result = runner.invoke(app, ["report", str(json_path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert str(out) in result.output
    assert out.read_text() == html_path.read_text()


def test_cli_report_defaults_to_report_html_beside_results(tmp_path):
    json_path, html_path = write_outputs(make_results(), tmp_path)
    html_path.unlink()
    result = runner.invoke(app, ["report", str(json_path)])
    assert result.exit_code == 0, result.output
    assert html_path.exists()


def test_write_report_to_a_folder_or_a_file(tmp_path):
    results = make_results()
    assert write_report(results, tmp_path / "dir") == tmp_path / "dir" / "report.html"
    assert write_report(results, tmp_path / "named.html") == tmp_path / "named.html"
    assert (tmp_path / "named.html").read_text().startswith("<!DOCTYPE html>")


def test_load_results_from_a_file_object():
    text = make_results().model_dump_json(by_alias=True)
    assert isinstance(load_results(io.BytesIO(text.encode())), Results)


# ---------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "not valid JSON"),
        ('{"schema": "llm-breakeven/results/v0"}', "key 'schema'"),
        ("[]", "results.json"),
    ],
)
def test_bad_results_json_is_a_clear_input_error(tmp_path, content, expected):
    path = tmp_path / "results.json"
    path.write_text(content)
    with pytest.raises(InputError, match=re.escape(expected)) as info:
        load_results(path)
    assert str(path) in str(info.value)


def test_missing_key_names_the_key(tmp_path):
    doc = json.loads(make_results().model_dump_json(by_alias=True))
    del doc["recommendation"]["headline"]
    path = tmp_path / "results.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=r"key 'recommendation\.headline': field required but missing"):
        load_results(path)


def test_cli_bad_input_exits_non_zero_with_one_line_and_writes_nothing(tmp_path):
    path = tmp_path / "results.json"
    path.write_text("{}")
    out = tmp_path / "report.html"
    result = runner.invoke(app, ["report", str(path), "-o", str(out)])
    assert result.exit_code == 2
    assert "error:" in result.output and str(path) in result.output
    assert not out.exists()
    missing = runner.invoke(app, ["report", str(tmp_path / "nope.json")])
    assert missing.exit_code == 2 and "file not found" in missing.output


def test_inconsistent_series_fail_before_anything_is_written(tmp_path):
    results = make_results()
    assert results.cost_curve is not None
    results.cost_curve.dedicated_monthly_usd.pop()
    with pytest.raises(InputError, match=r"cost_curve\.dedicated_monthly_usd: expected 121 values"):
        write_outputs(results, tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_timeline_out_of_order_is_an_input_error():
    results = make_results()
    assert results.timeline is not None
    results.timeline.t_s[5], results.timeline.t_s[6] = results.timeline.t_s[6], results.timeline.t_s[5]
    with pytest.raises(InputError, match=r"timeline\.t_s: expected finite, increasing"):
        render_report(results)


# -------------------------------------------------------------------------------------- escaping

HOSTILE = {
    "label": "<script>alert(1)</script>",
    "scenario": "<img src=x onerror=alert(2)>",
    "trace": "trace \"quoted\" 'single' <b>bold</b>.csv",
    "provider": "<script>alert(3)</script>",
    "source": "javascript:alert(4)",
    "notes": "</td></tr></table><script>alert(5)</script>",
    "model": "<svg onload=alert(6)>",
    "bar": 'GPU $/h"><script>alert(7)</script>',
    "headline": "Run <script>alert(8)</script> & save",
}


def hostile_results() -> Results:
    """The seed case with HTML and script in every free-text field a user or a catalog controls."""
    doc = json.loads(make_results().model_dump_json(by_alias=True))
    doc["options"][0]["label"] = HOSTILE["label"]
    doc["options"][1]["notes"] = [HOSTILE["notes"]]
    doc["inputs"]["scenario"] = HOSTILE["scenario"]
    doc["inputs"]["trace_source"] = HOSTILE["trace"]
    doc["inputs"]["assumptions"].append("<style>body{display:none}</style>")
    doc["trace"]["source"] = HOSTILE["trace"]
    doc["trace"]["models"] = {HOSTILE["model"]: 3}
    doc["prices"][0]["price"]["provider"] = HOSTILE["provider"]
    doc["prices"][0]["price"]["source"] = HOSTILE["source"]
    doc["prices"][0]["price"]["notes"] = HOSTILE["notes"]
    doc["prices"][1]["origin"] = HOSTILE["trace"]
    doc["profiles"][0]["model"] = HOSTILE["model"]
    doc["profiles"][0]["provenance"]["notes"] = [HOSTILE["notes"]]
    doc["sensitivity"]["tornado"][0]["label"] = HOSTILE["bar"]
    doc["timeline"]["option_id"] = HOSTILE["label"]
    doc["breakeven"][0]["notes"] = [HOSTILE["notes"]]
    doc["recommendation"]["headline"] = HOSTILE["headline"]
    doc["recommendation"]["risks"].append({"code": "<x>", "severity": "info", "message": HOSTILE["label"]})
    doc["warnings"] = [HOSTILE["scenario"]]
    return Results.model_validate(doc)


def test_hostile_inputs_are_escaped_everywhere():
    html = render_report(hostile_results())
    # The page has no script element at all, so none of these can have become one.
    assert "<script" not in html.lower()
    for bad in ("<img", "<svg onload", "<style>body", "<b>bold", "</table><script"):
        assert bad not in html
    assert not re.search(r"<[a-zA-Z][^>]*\son[a-z]+=", html), "an element carries an event-handler attribute"
    assert 'href="javascript:' not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "trace &#34;quoted&#34; &#39;single&#39; &lt;b&gt;bold&lt;/b&gt;.csv" in html
    # Escaped in SVG text and in SVG attributes too (the tornado label sits in <text> and <title>).
    assert "GPU $/h&#34;&gt;&lt;script&gt;alert(7)&lt;/script&gt;" in html
    # The javascript: source is shown as text, not as a link.
    assert "javascript:alert(4)" in html


def test_page_loads_nothing_from_anywhere():
    html = render_report(make_results())
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert not re.search(r"<(script|link|img|iframe|object|embed)\b", html, re.I)
    assert not re.search(r"\bsrc=", html)
    assert "@import" not in html and "@font-face" not in html
    assert re.findall(r"url\((?!#)", html) == []  # only url(#clip-id) references
    # External URLs appear only as citation links (price sources), never as resources.
    for m in re.finditer(r"https?://", html):
        before = html[max(0, m.start() - 7) : m.start()]
        if html.startswith("http://www.w3.org/2000/svg", m.start()):
            continue  # the SVG namespace name, not a resource
        assert before.endswith('href="') or html[m.start() - 1] == ">", html[m.start() - 40 : m.end() + 20]


# ------------------------------------------------------------------------------------- edge cases


def test_zero_traffic_renders_with_the_marker_at_the_edge():
    results = make_results(requests=0)
    html = render_report(results)
    assert results.recommendation.user_rps == 0
    assert "zero traffic: drawn at the left edge" in html
    assert "Cost by traffic" in html and 'id="chart-cost"' in html


def test_one_request_renders_a_one_bin_timeline():
    html = render_report(make_results(requests=1))
    assert 'id="chart-timeline"' in html
    assert "1 bins of 60 s" in html


def test_serverless_always_cheaper_has_no_crossing():
    results = make_results(gpu_hourly_usd=98.32)
    html = render_report(results)
    assert results.cost_curve is not None and results.cost_curve.breakeven_rps == []
    assert "They do not cross in the range shown." in html
    assert results.recommendation.kind == "serverless"


def test_dedicated_always_cheaper():
    results = make_results(input_usd_per_mtok=15.0, output_usd_per_mtok=60.0)
    html = render_report(results)
    assert results.recommendation.kind == "dedicated"
    assert 'class="verdict verdict-dedicated"' in html


def test_slo_unreachable_on_the_gpu():
    html = render_report(make_results(dedicated_slo_ok=False))
    assert "SLO unreachable" in html  # the cost-curve table
    assert "dedicated never cheaper" in html  # capacity-aware rows: no replica meets the SLO
    assert "no replica meets the SLO" in html
    assert '<span class="badge miss">no</span>' in html


def test_missing_optional_parts_are_named_not_drawn():
    html = render_report(make_results(serverless_latency=False, sensitivity=False, timeline=False, cost_curve=False))
    assert "Not drawn: The analysis did not compute a cost curve." in html
    assert "Not drawn: No timeline in these results" in html
    assert html.count("Not drawn: No sensitivity analysis in these results.") == 2
    assert "unknown (no latency profile)" in html
    for chart in ("chart-cost", "chart-timeline", "chart-tornado-gap", "chart-band"):
        assert f'id="{chart}"' not in html
    assert 'id="chart-breakeven"' in html and 'id="chart-latency-slo"' in html


def test_no_options_and_no_rows_still_render():
    doc = json.loads(make_results(sensitivity=False, timeline=False, cost_curve=False).model_dump_json(by_alias=True))
    doc["options"], doc["breakeven"], doc["profiles"], doc["prices"] = [], [], [], []
    doc["recommendation"].update(
        option_id=None,
        kind="none",
        runner_up_option_id=None,
        breakeven_rps=None,
        breakeven_method=None,
        monthly_cost_usd={},
        slo_attainment=None,
    )
    html = render_report(Results.model_validate(doc))
    assert "No option meets the latency SLO" in html
    assert "No measured profiles recorded." in html and "No price entries recorded." in html


# -------------------------------------------------------------------------------------- tables


def test_tables_use_real_header_cells():
    html = render_report(make_results())
    assert html.count('<th scope="col"') > 40
    assert html.count('<th scope="row">') > 60
    for table_id in ("table-costs", "table-slo", "table-inputs", "table-prices", "table-profiles", "table-trace"):
        assert f'id="{table_id}"' in html


def test_cost_breakdown_shows_gpu_hours_split_and_token_types():
    results = make_results()
    html = render_report(results)
    for row in ("GPU-hours busy", "GPU-hours idle", "GPU-hours cold start", "Token bill: input", "Token bill: output"):
        assert f'<th scope="row">{row}</th>' in html
    assert "$1,372" in html and "$468" in html


def test_stale_prices_are_flagged_with_their_date():
    html = render_report(make_results(stale_price=True))
    assert '<span class="badge stale">stale</span> 1 of 2 prices are older than 180 days' in html
    assert "2026-06-23" in html
    assert 'class="badge stale"' not in render_report(make_results(H100))
