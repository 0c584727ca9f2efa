"""The report in a real headless browser (Debian's chromium driven by Playwright; skipped without it).

Checks: no console errors, no network request of any kind, every chart drawn with visible marks, a
screenshot that is not blank, no horizontal overflow on a phone, nothing clipped when printed to A4 or
Letter, and hostile names rendered as text with no dialog ever firing.
"""

from __future__ import annotations

import base64
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from reports import write_report
from tests.support.reports_factory import H100, costmodel_results, make_results
from tests.test_reports_render import HOSTILE, hostile_results

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CHART_IDS = [
    "chart-cost",
    "chart-breakeven",
    "chart-commitment-cost",
    "chart-commitment-share",
    "chart-timeline",
    "chart-latency-ttft",
    "chart-latency-tpot",
    "chart-latency-slo",
    "chart-tornado-gap",
    "chart-tornado-breakeven",
    "chart-band",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")
    if not executable:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(executable), args=ARGS)
        yield b
        b.close()


class Visit:
    """A page with every request except the report file itself failed and recorded."""

    def __init__(self, browser: Any, path: Path, **context: Any) -> None:
        self.context = browser.new_context(**context)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        url = path.resolve().as_uri()

        def route(r: Any) -> None:
            if r.request.url == url:
                r.continue_()
            else:
                self.requests.append(r.request.url)
                r.abort()

        self.page.route("**/*", route)
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("requestfailed", lambda r: self.requests.append(r.url) if r.url != url else None)
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.goto(url, wait_until="load")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visit(browser, tmp_path) -> Iterator[Any]:
    opened: list[Visit] = []

    def open_(results: Any, **context: Any) -> Visit:
        path = write_report(results, tmp_path / f"report-{len(opened)}.html")
        v = Visit(browser, path, **context)
        opened.append(v)
        return v

    yield open_
    for v in opened:
        v.close()


def _drawn_marks(page: Any, chart_id: str) -> int:
    """Marks (paths, rects, circles) in the chart's plot layer with a non-empty box."""
    return page.evaluate(
        """id => {
            const svg = document.getElementById(id);
            if (!svg) return -1;
            const box = svg.getBoundingClientRect();
            if (box.width < 100 || box.height < 80) return -2;
            let n = 0;
            for (const el of svg.querySelectorAll('.layers path, .layers rect, .layers circle')) {
                if (el.closest('.hover')) continue;
                const b = el.getBBox();
                if ((b.width > 0 || b.height > 0) && getComputedStyle(el).display !== 'none') n++;
            }
            return n;
        }""",
        chart_id,
    )


def _not_blank(browser: Any, png: bytes) -> tuple[int, float]:
    """(distinct colours, non-white share) of a PNG, decoded by the browser's own canvas."""
    page = browser.new_page()
    try:
        page.set_content("<canvas id=c></canvas>")
        return tuple(
            page.evaluate(
                """async src => {
                    const img = new Image();
                    img.src = src;
                    await img.decode();
                    const c = document.getElementById('c');
                    c.width = img.width; c.height = img.height;
                    const ctx = c.getContext('2d');
                    ctx.drawImage(img, 0, 0);
                    const d = ctx.getImageData(0, 0, c.width, c.height).data;
                    const colours = new Set();
                    let ink = 0, total = 0;
                    for (let i = 0; i < d.length; i += 4 * 7) {
                        colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
                        if (d[i] < 235 || d[i + 1] < 235 || d[i + 2] < 235) ink++;
                        total++;
                    }
                    return [colours.size, ink / total];
                }""",
                "data:image/png;base64," + base64.b64encode(png).decode(),
            )
        )
    finally:
        page.close()


def test_report_opens_offline_without_errors_and_draws_every_chart(browser, visit):
    v = visit(make_results())
    assert v.errors == []
    assert v.requests == []
    for chart_id in CHART_IDS:
        assert _drawn_marks(v.page, chart_id) > 0, chart_id
    # Hover-to-read: the cost chart's strips carry the values as SVG titles.
    tips = v.page.eval_on_selector_all("#chart-cost .hover title", "els => els.map(e => e.textContent)")
    assert len(tips) == 121 and all("req/s: serverless $" in t for t in tips)
    colours, ink = _not_blank(browser, v.page.screenshot())  # the first screen: header and verdict
    assert colours > 20 and ink > 0.03
    for chart_id in ("chart-cost", "chart-timeline", "chart-tornado-gap"):
        colours, ink = _not_blank(browser, v.page.locator(f"#{chart_id}").screenshot())
        assert colours > 8 and ink > 0.02, chart_id


@pytest.mark.parametrize(
    "kwargs",
    [
        {"requests": 0},
        {"requests": 1},
        {"gpu_hourly_usd": 98.32},
        {"input_usd_per_mtok": 15.0, "output_usd_per_mtok": 60.0},
        {"dedicated_slo_ok": False},
        {"serverless_latency": False, "sensitivity": False, "timeline": False, "cost_curve": False},
    ],
    ids=["zero-traffic", "one-request", "serverless-cheaper", "dedicated-cheaper", "slo-unreachable", "bare"],
)
def test_edge_cases_open_cleanly(visit, kwargs):
    v = visit(make_results(**kwargs))
    _check_clean(v)


@pytest.mark.parametrize("name", ["seed", "h100"])
def test_costmodel_outputs_open_cleanly(visit, name):
    v = visit(costmodel_results(name))
    _check_clean(v)
    assert v.page.locator("#chart-tornado-breakeven").count() == 1


def _check_clean(v: Visit) -> None:
    assert v.errors == [] and v.requests == []
    drawn = [c for c in CHART_IDS if v.page.locator(f"#{c}").count()]
    assert "chart-breakeven" in drawn and "chart-latency-slo" in drawn
    for chart_id in drawn:
        assert _drawn_marks(v.page, chart_id) > 0, chart_id


def test_hostile_names_show_as_text_and_never_execute(visit):
    v = visit(hostile_results())
    assert v.dialogs == []
    assert v.errors == [] and v.requests == []
    body = v.page.inner_text("body")
    assert HOSTILE["label"] in body
    assert HOSTILE["trace"] in body
    assert v.page.title().startswith(HOSTILE["scenario"])
    assert v.page.locator("script, img, style:not(head style)").count() == 0
    protocols = v.page.eval_on_selector_all("a[href]:not([href^='#'])", "as => as.map(a => a.protocol)")
    assert all(p in ("https:", "http:") for p in protocols)  # the javascript: "source" did not become a link


def test_phone_width_has_no_page_level_horizontal_scroll(visit):
    v = visit(make_results(H100), viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
    overflow = v.page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1
    size = v.page.evaluate("parseFloat(getComputedStyle(document.querySelector('#chart-cost .tick')).fontSize)")
    width = v.page.evaluate("document.getElementById('chart-cost').getBoundingClientRect().width")
    assert size * width / 720 >= 9.5  # tick labels stay at least ~10 CSS px on a phone (the chart scrolls)


@pytest.mark.parametrize(("paper", "width_px"), [("A4", 703), ("Letter", 726)])
def test_prints_to_paper_without_clipping(visit, paper, width_px):
    # Content width of the page at 12 mm side margins: A4 186 mm, Letter 8.5 in - 24 mm (96 px per inch).
    v = visit(make_results(), viewport={"width": width_px, "height": 1000})
    v.page.emulate_media(media="print")
    overflow = v.page.evaluate(
        """() => {
            const w = document.documentElement.clientWidth;
            const out = [];
            for (const el of document.querySelectorAll('svg.chart, table, figure')) {
                const r = el.getBoundingClientRect();
                if (r.right > w + 1 || r.left < -1) out.push((el.id || el.tagName) + ':' + Math.round(r.right));
            }
            return out;
        }"""
    )
    assert overflow == []
    pdf = v.page.pdf(format=paper, margin={"top": "14mm", "bottom": "14mm", "left": "12mm", "right": "12mm"})
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") >= 4


def test_bundled_analysis_shows_the_committed_and_spot_options_and_the_commitment_chart(browser, visit):
    # The README's main job, as analyze runs it on the bundled scenario (fewer Monte Carlo draws): the
    # comparison holds a committed mix (DigitalOcean's committed H100 price) and a spot fleet (Nebius' spot
    # price), and the commitment chart draws the planner's search in a real browser.
    import costmodel  # noqa: PLC0415 - the browser tests build their results on the fly

    results = costmodel.analyze(sensitivity_samples=50, today=date(2026, 11, 22))
    kinds = {o.pricing for o in results.options}
    assert {"committed", "spot", "per_token", "on_demand"} <= kinds
    v = visit(results)
    assert v.errors == [] and v.requests == []
    for chart_id in ("chart-commitment-cost", "chart-commitment-share"):
        assert _drawn_marks(v.page, chart_id) > 0, chart_id
    colours, ink = _not_blank(browser, v.page.locator("#chart-commitment-figure").screenshot())
    assert colours > 8 and ink > 0.02
    table = v.page.inner_text("#verdict table.options")
    committed = next(o for o in results.options if o.pricing == "committed")
    assert committed.label in table and "H100 (digitalocean) for 12 months" in committed.label
    assert "on spot" in table
    # The break-even bars and the break-even utilization line are hoverable: each bar says whether it pays.
    tips = v.page.eval_on_selector_all("#chart-commitment-share .layers title", "els => els.map(e => e.textContent)")
    assert any("committing it pays off" in t for t in tips)
    assert any("break-even" in t or "÷" in t for t in tips)
    facts = v.page.inner_text("#verdict ul.facts")
    assert "With a commitment:" in facts and "On spot:" in facts and "the one to sign" in facts
