"""``breakeven trace ...``: summarize, generate and convert request traces."""

from __future__ import annotations

from breakeven.cli_support import new_app

app = new_app("Request traces: load real public traces, generate synthetic ones, convert and summarize.")
