"""``breakeven table``: break-even request rates by output length."""

from __future__ import annotations


def table() -> None:
    """Print break-even request rates by output length (closed form, capacity-aware, trace-shaped)."""
    raise NotImplementedError
