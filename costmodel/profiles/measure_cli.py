"""``breakeven profile measure``: measure an OpenAI-compatible endpoint live."""

from __future__ import annotations
