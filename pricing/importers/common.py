"""What both importers share: the result type, the skip report, and the registry of known upstream files.

``as_of`` of imported entries: an explicit date wins; otherwise a file this project knows by its SHA-256
(the copies in ``../shared/data/prices``, listed in :data:`KNOWN_FILES`) gets its documented date and
upstream commit; otherwise the file's modification date (when you downloaded it) is used. A stream with
no explicit date and no known checksum is an error.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Final

from breakeven.errors import InputError
from breakeven.io import PathOrBuffer, source_name
from pricing.models import Price


@dataclass(frozen=True)
class Skipped:
    """One upstream entry (or CSV line) that was not imported, and why."""

    key: str
    """The LiteLLM key, or ``line N: instance`` for a CSV row."""
    reason: str
    """A short category (counted in summaries), e.g. ``no token price``."""
    detail: str = ""
    """Specifics for this entry, e.g. the offending value."""

    def __str__(self) -> str:
        return f"{self.key}: {self.reason}" + (f" ({self.detail})" if self.detail else "")


@dataclass(frozen=True)
class ImportResult:
    """The entries an importer produced plus everything it skipped."""

    entries: tuple[Price, ...]
    skipped: tuple[Skipped, ...]
    source: str
    """The name of the file read (used as each entry's ``source`` prefix)."""
    as_of: date
    """The ``as_of`` given to every entry."""
    notes: tuple[str, ...] = field(default=())
    """File-level remarks (e.g. how ``as_of`` was chosen)."""

    def skipped_by_reason(self) -> dict[str, int]:
        """Skipped count per reason, most frequent first."""
        return dict(Counter(s.reason for s in self.skipped).most_common())

    def summary(self) -> str:
        """One line: how many entries were imported and how many skipped."""
        kinds = Counter(e.kind for e in self.entries)
        made = ", ".join(f"{n:,} {'token' if k == 'token' else 'GPU'} prices" for k, n in sorted(kinds.items()))
        return (
            f"{self.source}: imported {made or 'no prices'} (as_of {self.as_of.isoformat()}), "
            f"skipped {len(self.skipped):,}"
        )

    def report_lines(self) -> list[str]:
        """The summary line, then one line per skip reason with its count (most frequent first)."""
        lines = [self.summary() + (":" if self.skipped else "")]
        lines.extend(f"  {n:>6,}  {reason}" for reason, n in self.skipped_by_reason().items())
        return lines


@dataclass(frozen=True)
class KnownFile:
    """A price file this project has verified: its upstream origin and the date its prices were current."""

    as_of: date
    upstream: str
    note: str = ""


def _skypilot_copy(file_at_commit: str, *, date_hint: str = "", caveat: str = "") -> KnownFile:
    """A copy of a SkyPilot catalog file (``catalogs/...@commit``): the catalog carries no date, so ``as_of``
    is the day the copy was read, 2026-11-22."""
    return KnownFile(
        as_of=date(2026, 11, 22),
        upstream=f"skypilot-org/skypilot-catalog:catalogs/{file_at_commit}",
        note=f"catalog date unknown{date_hint}; as_of is the date the copy was read{caveat}",
    )


#: Files known by SHA-256 (see ../shared/data/prices/SOURCES.md for how each was obtained and checked).
KNOWN_FILES: Final[dict[str, KnownFile]] = {
    "542c6925b573208b39ae47cde948be07a87960b955d1e82d792ef0c3c65186e4": KnownFile(
        as_of=date(2025, 11, 4),
        upstream="BerriAI/litellm:model_prices_and_context_window.json@19a1f629eb6fafde70968ef4815463eb08143aac",
        note="current on litellm main around 2025-11-04, the mirror's commit time",
    ),
    "87dc85c8cb03072f26eb691694da5eff5c15399646ad797f2a59cafe0c59cc7b": _skypilot_copy(
        "v6/do/vms.csv@a66ac219187867b41de75bde7aef5c5006e0b1ef",
        caveat="; these DO GPU prices are older list prices: DO docs showed H100 at $3.39/h from 2025-04-22",
    ),
    "c522dacd344b962b66d9c17594f011c477bf6b3143b31e2705c77c740dd5e5cd": _skypilot_copy(
        "v6/do/vms.csv@1fbe7331dd1f13d70ac4f249bb7ee7a659fc6b6a"
    ),
    "eb3007fb983a2fcb7ea17f2cab3c4c40eb0b10813cb851d7e1bc1ec0dc608564": _skypilot_copy(
        "v8/nebius/vms.csv@0082b0435f3912ae4c566856b272455cc78f4f61"
    ),
    "31dd5237f4f8241699b5e2ba1c22e7d120b387c220662b9ae56bf15f6c69f57d": _skypilot_copy(
        "v6/azure/vms.csv@098741e70562f65d7af1cceb81e33b284f742604 (GPU tail subset)",
        date_hint=" (the H100 v5 rows suggest 2024)",
    ),
}


def known_file(data: bytes) -> KnownFile | None:
    """The registry record for these exact bytes, if this project has verified them."""
    return KNOWN_FILES.get(hashlib.sha256(data).hexdigest())


def resolve_as_of(src: PathOrBuffer, data: bytes, as_of: date | None) -> tuple[date, str, KnownFile | None]:
    """Pick the ``as_of`` for an imported file; returns ``(date, how it was chosen, known-file record)``."""
    known = known_file(data)
    if as_of is not None:
        return as_of, "as_of given explicitly", known
    if known is not None:
        return known.as_of, f"as_of {known.as_of.isoformat()} from the verified upstream copy ({known.note})", known
    if isinstance(src, str | os.PathLike):
        modified = datetime.fromtimestamp(Path(src).stat().st_mtime, tz=UTC).date()
        return modified, f"as_of {modified.isoformat()} is the file's modification date (no --as-of given)", None
    raise InputError(
        f"{source_name(src)}: cannot tell when these prices were read; expected an explicit as_of date "
        "(--as-of YYYY-MM-DD), found a stream with no date"
    )


def source_text(src_name: str, kind: str, known: KnownFile | None) -> str:
    """The ``source`` prefix for imported entries: file name, format and upstream commit when known."""
    name = Path(src_name).name if src_name not in {"<stream>", "<input>"} else src_name
    upstream = f", upstream {known.upstream}" if known is not None else ""
    return f"{kind} file {name}{upstream}"


def scale_to_per_mtok(usd_per_unit: float, factor: int = 1_000_000) -> float:
    """Convert a per-token price to per-1M tokens exactly in decimal (1e-07 → 0.1, not 0.09999999999999999)."""
    return float(Decimal(repr(float(usd_per_unit))) * factor)
