"""Importers for the price tables the ecosystem already keeps.

- :mod:`pricing.importers.litellm`: LiteLLM's ``model_prices_and_context_window.json`` (per-token prices);
- :mod:`pricing.importers.skypilot`: SkyPilot catalog ``vms.csv`` files (GPU instance prices).

Each has a pure ``parse_*`` function (decoded data in, :class:`ImportResult` out) and a ``read_*`` function
that takes a path or a file-like object. Nothing is dropped silently: every entry that is not imported is in
:attr:`ImportResult.skipped` with its key (or line) and the reason.
"""

from pricing.importers.common import ImportResult, KnownFile, Skipped, known_file
from pricing.importers.litellm import parse_litellm, read_litellm
from pricing.importers.skypilot import parse_skypilot, read_skypilot

__all__ = [
    "ImportResult",
    "KnownFile",
    "Skipped",
    "known_file",
    "parse_litellm",
    "parse_skypilot",
    "read_litellm",
    "read_skypilot",
]
