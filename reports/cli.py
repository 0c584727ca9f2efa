"""``breakeven report``: re-render the HTML report from a saved results.json."""

from __future__ import annotations


def report() -> None:
    """Render report.html from a saved results.json alone."""
    raise NotImplementedError
