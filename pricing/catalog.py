"""The price catalog: the bundled, dated price tables with the user's files layered on top.

>>> from datetime import date
>>> catalog = load_catalog()                     # bundled only
>>> catalog.token("digitalocean/gpt-oss-120b").output_usd_per_mtok
0.7
>>> catalog.is_stale("digitalocean/gpt-oss-120b", today=date(2026, 7, 1))
False

``load_catalog(["team.toml", "litellm.json"])`` reads each file (our TOML/JSON, a LiteLLM cost map or a
SkyPilot ``vms.csv``) and lays it over the bundled catalog: an entry with the same id replaces the earlier
one, and :meth:`Catalog.origin` says which file each entry came from and what it replaced.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from importlib import resources
from typing import Any, Final, Literal, TypeVar

from breakeven.errors import InputError, UnknownNameError
from pricing.fileformat import parse_catalog_toml
from pricing.importers.common import Skipped
from pricing.loading import read_price_file
from pricing.models import GpuPrice, OwnedServer, Price, TokenPrice

#: Prices read longer ago than this are flagged as stale [days].
DEFAULT_MAX_AGE_DAYS: Final = 180

#: Prefix of the origin of entries from the bundled catalog (``bundled:digitalocean.toml``).
BUNDLED_PREFIX: Final = "bundled:"

Kind = Literal["token", "gpu", "owned"]
_P = TypeVar("_P", TokenPrice, GpuPrice, OwnedServer)


@dataclass(frozen=True)
class Origin:
    """Where a catalog entry came from: the file, and the files of the entries it replaced (oldest first)."""

    file: str
    replaced: tuple[str, ...] = ()

    def __str__(self) -> str:
        if not self.replaced:
            return self.file
        return f"{self.file} (overrides {', '.join(self.replaced)})"


@dataclass(frozen=True)
class Record:
    """One entry of the catalog with its origin."""

    price: Price
    origin: Origin


@dataclass(frozen=True)
class SkipReport:
    """What one imported file (LiteLLM, SkyPilot) did not contribute, and why."""

    file: str
    skipped: tuple[Skipped, ...]


def today_utc() -> date:
    """Today's date in UTC (the default ``today`` for staleness)."""
    return datetime.now(tz=UTC).date()


class Catalog:
    """An immutable, id-keyed set of prices with their origins. Build with :func:`load_catalog`."""

    def __init__(self, records: Iterable[Record] = (), skip_reports: Iterable[SkipReport] = ()) -> None:
        self._records: dict[str, Record] = {}
        for record in records:
            self._records[record.price.id] = record
        self.skip_reports: tuple[SkipReport, ...] = tuple(skip_reports)
        """Per imported file, the entries it skipped (empty for our own catalog files)."""

    # -- building

    def layered(self, entries: Iterable[Price], origin: str, *, skipped: Sequence[Skipped] = ()) -> Catalog:
        """A new catalog with ``entries`` (from file ``origin``) laid over this one; same ids are replaced."""
        records = dict(self._records)
        for price in entries:
            previous = records.get(price.id)
            replaced = () if previous is None else (*previous.origin.replaced, previous.origin.file)
            records[price.id] = Record(price, Origin(origin, replaced))
        reports = self.skip_reports + ((SkipReport(origin, tuple(skipped)),) if skipped else ())
        return Catalog(records.values(), reports)

    # -- lookup

    def get(self, entry_id: str) -> Price:
        """The entry with this id; :class:`UnknownNameError` (listing the ids) if there is none."""
        record = self._records.get(entry_id)
        if record is None:
            raise UnknownNameError("price id", entry_id, self._records)
        return record.price

    def token(self, entry_id: str) -> TokenPrice:
        """The per-token price with this id; unknown id or a GPU id raises :class:`UnknownNameError`."""
        return self._of_kind(entry_id, TokenPrice, "per-token price id")

    def gpu(self, entry_id: str) -> GpuPrice:
        """The GPU instance price with this id; unknown id or a token id raises :class:`UnknownNameError`."""
        return self._of_kind(entry_id, GpuPrice, "GPU price id")

    def owned(self, entry_id: str) -> OwnedServer:
        """The owned server with this id; unknown id or another kind raises :class:`UnknownNameError`."""
        return self._of_kind(entry_id, OwnedServer, "owned server id")

    def _of_kind(self, entry_id: str, cls: type[_P], what: str) -> _P:
        record = self._records.get(entry_id)
        if record is None or not isinstance(record.price, cls):
            kind = cls.model_fields["kind"].default
            raise UnknownNameError(what, entry_id, self.ids(kind), context=self._kind_hint(entry_id))
        return record.price

    def _kind_hint(self, entry_id: str) -> str | None:
        record = self._records.get(entry_id)
        return None if record is None else f"{entry_id!r} is a {record.price.kind} price"

    def record(self, entry_id: str) -> Record:
        """The entry and its origin."""
        self.get(entry_id)
        return self._records[entry_id]

    def origin(self, entry_id: str) -> str:
        """Where the entry came from, e.g. ``bundled:digitalocean.toml`` or
        ``team.toml (overrides bundled:digitalocean.toml)``."""
        return str(self.record(entry_id).origin)

    def ids(self, kind: Kind | None = None) -> list[str]:
        """All ids (of one kind), sorted."""
        return sorted(i for i, r in self._records.items() if kind is None or r.price.kind == kind)

    def providers(self, kind: Kind | None = None) -> list[str]:
        """All provider names (of one kind), sorted."""
        return sorted({r.price.provider for r in self._records.values() if kind is None or r.price.kind == kind})

    def entries(self, kind: Kind | None = None, provider: str | None = None, match: str | None = None) -> list[Price]:
        """Entries sorted by kind (token first) and id, optionally filtered.

        ``provider`` is compared case-insensitively (an unknown provider raises :class:`UnknownNameError`
        listing the known ones); ``match`` is a case-insensitive substring of the id, model / offering or GPU.
        """
        if kind is not None and kind not in ("token", "gpu", "owned"):
            raise UnknownNameError("price kind", str(kind), ["token", "gpu", "owned"])
        if provider is not None and provider.lower() not in {p.lower() for p in self.providers()}:
            raise UnknownNameError("provider", provider, self.providers())
        needle = match.lower() if match else None
        selected = [
            r.price
            for r in self._records.values()
            if (kind is None or r.price.kind == kind)
            and (provider is None or r.price.provider.lower() == provider.lower())
            and (needle is None or needle in _search_text(r.price))
        ]
        order = {"token": 0, "gpu": 1, "owned": 2}
        return sorted(selected, key=lambda p: (order[p.kind], p.id))

    # -- staleness

    def age_days(self, entry_id: str, today: date | None = None) -> int:
        """Days between the entry's ``as_of`` and ``today`` (default: today in UTC)."""
        return ((today or today_utc()) - self.get(entry_id).as_of).days

    def is_stale(self, entry_id: str, today: date | None = None, max_age_days: int = DEFAULT_MAX_AGE_DAYS) -> bool:
        """True when the price was read more than ``max_age_days`` before ``today``."""
        return self.age_days(entry_id, today) > max_age_days

    def annotated(
        self, entry_id: str, today: date | None = None, max_age_days: int = DEFAULT_MAX_AGE_DAYS
    ) -> dict[str, Any]:
        """The entry as a JSON-ready dict with every field, plus ``origin``, ``replaced``, ``age_days`` and
        ``stale`` (what ``breakeven prices list --json`` prints; it loads back as a catalog file)."""
        record = self.record(entry_id)
        age = self.age_days(entry_id, today)
        return record.price.model_dump(mode="json") | {
            "origin": record.origin.file,
            "replaced": list(record.origin.replaced),
            "age_days": age,
            "stale": age > max_age_days,
        }

    # -- container protocol

    def __iter__(self) -> Iterator[Price]:
        return iter(self.entries())

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self._records

    def __repr__(self) -> str:
        kinds = [r.price.kind for r in self._records.values()]
        return f"Catalog({kinds.count('token')} token prices, {kinds.count('gpu')} GPU prices)"


def _search_text(price: Price) -> str:
    name = price.model if isinstance(price, TokenPrice) else f"{price.offering} {price.gpu}"
    return f"{price.id} {name}".lower()


# --------------------------------------------------------------------------------------------- loading


@cache
def _bundled_files() -> tuple[tuple[str, tuple[Price, ...]], ...]:
    folder = resources.files("pricing") / "data"
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".toml")), key=lambda f: f.name)
    return tuple(
        (
            BUNDLED_PREFIX + f.name,
            tuple(parse_catalog_toml(f.read_text(encoding="utf-8"), source=BUNDLED_PREFIX + f.name)),
        )
        for f in files
    )


def bundled_catalog() -> Catalog:
    """The catalog shipped in ``pricing/data/*.toml``; an id defined in two bundled files is an error."""
    catalog = Catalog()
    for name, entries in _bundled_files():
        for price in entries:
            if price.id in catalog:
                raise InputError(
                    f"{name}: entry {price.id!r}, field 'id': already defined in {catalog.origin(price.id)}; "
                    "expected each bundled id once"
                )
        catalog = catalog.layered(entries, name)
    return catalog


def load_catalog(
    paths: Sequence[str | os.PathLike[str]] = (), *, include_bundled: bool = True, as_of: date | None = None
) -> Catalog:
    """The bundled catalog with each file of ``paths`` laid over it in order (later files win).

    Each file may be our TOML / JSON catalog, a LiteLLM cost map or a SkyPilot ``vms.csv`` (detected).
    ``as_of`` dates entries of imported formats (default: see :mod:`pricing.importers.common`).
    """
    catalog = bundled_catalog() if include_bundled else Catalog()
    for path in paths:
        loaded = read_price_file(path, as_of=as_of)
        catalog = catalog.layered(loaded.entries, os.fspath(path), skipped=loaded.skipped)
    return catalog
