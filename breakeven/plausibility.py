"""Plausibility warnings and size limits: the checks at the edges that catch a wrong unit or a runaway job.

Two kinds of check live here, shared by every loader, spec parser and price model:

- **Warnings** (:func:`notice`): a number that is valid but almost surely in the wrong unit — a per-token
  price typed into a per-1M field, timestamps read in the wrong unit, a 9 ms trace extrapolated to a month.
  Each has a *code*; the message names the number and the likely fix and ends with the code, e.g.
  ``... [price-tiny]``. Accept a warning on purpose (silence it) with ``BREAKEVEN_ACCEPT=price-tiny`` (several:
  comma-separated; ``all`` for every one), or in Python with :func:`accepting`.
- **Size limits** (:func:`require_memory`): work whose estimated memory exceeds what this machine has free
  is refused *before* it starts, with the estimate, what is available, and how to go ahead anyway
  (``BREAKEVEN_MEMORY_BUDGET=64G`` or ``none``).

The catalogue of codes (:data:`WARNINGS`) is what ``docs/errors.md`` lists.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
from collections.abc import Iterator
from pathlib import Path

from breakeven.errors import InputError

ACCEPT_ENV = "BREAKEVEN_ACCEPT"
"""Environment variable: comma-separated warning codes to accept (not print), or ``all``."""

BUDGET_ENV = "BREAKEVEN_MEMORY_BUDGET"
"""Environment variable: the memory a job may plan to use (``16G``, ``512M``, bytes, or ``none``)."""

WARNINGS: dict[str, str] = {
    "price-tiny": "a per-token price far below any real one (a per-token price typed into a per-1M field?)",
    "price-huge": "a per-token price far above any real one (per 1k tokens, or cents, typed as per 1M?)",
    "gpu-price-tiny": "a GPU price per GPU-hour far below any real one (a per-second or per-minute price?)",
    "gpu-price-huge": "a GPU price per GPU-hour far above any real one (a monthly price, or cents?)",
    "trace-rate-high": "thousands of requests per second within milliseconds (arrival times in the wrong unit?)",
    "trace-rate-low": "a handful of requests spread over days (milliseconds read as seconds?)",
    "trace-short": "a trace of seconds or less, extrapolated to a month",
}
"""Every warning code, with what it means (the docs page lists these)."""

MAX_TOKENS_PER_REQUEST = 1_000_000_000
"""Largest token count one request may have (input or output). Larger ones are a wrong column (bytes, a
running total) and would overflow int64 sums over a long trace (a billion requests of a billion tokens
each still fit below 2**63)."""

_extra_accepted: set[str] = set()


def accepted(code: str) -> bool:
    """True when the user accepted warning ``code`` (``BREAKEVEN_ACCEPT`` or :func:`accepting`)."""
    raw = os.environ.get(ACCEPT_ENV, "")
    codes = {c.strip().lower() for c in raw.split(",") if c.strip()} | _extra_accepted
    return code in codes or "all" in codes


@contextlib.contextmanager
def accepting(*codes: str) -> Iterator[None]:
    """Accept (silence) these warning codes inside the ``with`` block (the Python form of ``BREAKEVEN_ACCEPT``)."""
    added = {c for c in codes if c not in _extra_accepted}
    _extra_accepted.update(added)
    try:
        yield
    finally:
        _extra_accepted.difference_update(added)


def notice(code: str, message: str) -> str | None:
    """The warning text ``message [code]``, or ``None`` when the user accepted ``code``."""
    if code not in WARNINGS:
        raise KeyError(f"unknown warning code {code!r}")
    if accepted(code):
        return None
    return f"{message} [{code}]"


_CODE_TAG = re.compile(r"\[([a-z-]+)\]$")


def is_notice(text: str) -> bool:
    """True when ``text`` is a plausibility warning made by :func:`notice` (it ends in a known code)."""
    match = _CODE_TAG.search(text)
    return match is not None and match.group(1) in WARNINGS


# --------------------------------------------------------------------------------------------- memory

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)i?b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}

#: What one request of a synthetic trace costs in memory while it is generated: the canonical columns
#: (~40 B) and the generator's temporaries.
BYTES_PER_REQUEST = 200

#: What one request costs in memory, end to end, while a trace is analysed in memory: the canonical columns,
#: the replays' per-request arrays and their temporaries. Measured (benchmarks/bench_analyze.py, 2026-12-05,
#: this project's 2-core machine): a 5 M-request analysis peaks at 898 MiB against 390 MiB for the bundled
#: 8,819-request one, ~110 B a request; 200 B leaves room for traces whose overloads keep more per request.
#: (Before c695945 a fluid stretch kept views of the rest of its chunk alive: the same analysis peaked at
#: 3.3 GB, which this guard did not foresee.)
ANALYSIS_BYTES_PER_REQUEST = 200


def parse_size(text: str, *, where: str) -> int | None:
    """``"16G"``, ``"512M"``, ``"1e9"`` or ``"none"`` → bytes (``None`` = no limit)."""
    if text.strip().lower() in ("none", "unlimited", "off"):
        return None
    match = _SIZE.match(text)
    if match:
        return int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    try:
        return int(float(text))
    except ValueError:
        raise InputError(f"{where}: expected a size like 16G, 512M or none, found {text!r}") from None


def available_memory() -> int | None:
    """Bytes of memory available to new work on this machine (Linux ``MemAvailable``), or None if unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (OSError, ValueError, AttributeError):
        return None


def memory_budget() -> int | None:
    """Bytes a job may plan to use: ``BREAKEVEN_MEMORY_BUDGET``, else 80 % of the available memory."""
    raw = os.environ.get(BUDGET_ENV)
    if raw is not None and raw.strip():
        return parse_size(raw, where=f"environment variable {BUDGET_ENV}")
    free = available_memory()
    return int(free * 0.8) if free is not None else None


def human_bytes(n: float) -> str:
    """``1.5e9`` → ``'1.4 GiB'``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:.3g} EiB"  # pragma: no cover - the loop returns at PiB


def require_memory(need_bytes: float, *, where: str, what: str) -> None:
    """Refuse work whose estimated memory ``need_bytes`` exceeds the budget (:func:`memory_budget`).

    The :class:`InputError` says what the work would need, what the machine has, and how to go ahead.
    """
    budget = memory_budget()
    if budget is None or need_bytes <= budget:
        return
    origin = f"set by {BUDGET_ENV}" if os.environ.get(BUDGET_ENV, "").strip() else "80% of what this machine has free"
    raise InputError(
        f"{where}: {what} would need about {human_bytes(need_bytes)} of memory; expected at most "
        f"{human_bytes(budget)} (the memory budget: {origin}); make it smaller, or set {BUDGET_ENV}=none "
        "(or a size like 64G) to go ahead"
    )


def require_requests(requests: float, *, where: str, what: str, bytes_each: int = BYTES_PER_REQUEST) -> None:
    """:func:`require_memory` for ``requests`` requests at ``bytes_each`` each."""
    if not math.isfinite(requests):  # NaN or inf: nothing sensible can be sized
        raise InputError(f"{where}: {what}: expected a finite number of requests, found {requests}")
    count = f"{requests:,.0f}" if requests < 1e12 else f"{requests:,.3g}"
    require_memory(requests * bytes_each, where=where, what=f"{what} ({count} requests at ~{bytes_each} B each)")
