"""The HTML recommendation report: jinja2 templates and the renderer over costmodel results.

Public API::

    render_report(results) -> str                     # the page, one self-contained HTML string
    write_report(results, out_dir_or_file) -> Path    # writes report.html atomically
    write_outputs(results, out_dir) -> (json, html)   # results.json + report.html, both atomically
    load_results(path_or_file) -> Results             # read a saved results.json (InputError if malformed)
"""

from __future__ import annotations

from reports.render import load_results, render_report, write_outputs, write_report

__all__ = ["load_results", "render_report", "write_outputs", "write_report"]
