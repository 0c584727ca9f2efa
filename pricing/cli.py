"""``breakeven prices ...``: list, show and import price catalogs."""

from __future__ import annotations

from breakeven.cli_support import new_app

app = new_app("Price catalog: per-token API prices and GPU instance prices, with dates and sources.")
