"""``breakeven profile ...``: import, show and measure deployment profiles."""

from __future__ import annotations

from breakeven.cli_support import new_app

app = new_app("Measured deployment profiles: import vLLM logs and benchmark results, or measure an endpoint live.")
