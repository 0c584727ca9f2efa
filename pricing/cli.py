"""``breakeven prices ...``: list, show and import price catalogs.

Shared options for other commands (``analyze``, ``table``) are defined once here::

    from pricing.cli import PricesOption, catalog_from_options

    def analyze(prices: PricesOption = None) -> None:
        catalog = catalog_from_options(prices)
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from breakeven.cli_support import OptionGroup, new_app, print_json, stderr, stdout, with_option_groups
from breakeven.errors import InputError
from breakeven.io import atomic_write_text, check_output_file
from pricing.catalog import DEFAULT_MAX_AGE_DAYS, Catalog, load_catalog, today_utc
from pricing.fileformat import dump_catalog_json, dump_catalog_toml
from pricing.importers import ImportResult, read_litellm, read_skypilot
from pricing.models import GpuPrice, OwnedServer, Price, TokenPrice
from pricing.plausibility import catalog_warnings

app = new_app("Price catalog: per-token API prices and GPU instance prices, with dates and sources.")


# --------------------------------------------------------------------------------------------- shared options

PricesOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--prices",
        metavar="FILE",
        help="A price file laid over the bundled catalog (repeatable; later files override earlier ones by id). "
        "Our TOML/JSON catalog, a LiteLLM model_prices_and_context_window.json or a SkyPilot vms.csv.",
        show_default=False,
    ),
]
"""``--prices FILE`` (repeatable): reuse it in any command that needs prices, with :func:`catalog_from_options`."""

StaleAfterOption = Annotated[
    int,
    typer.Option("--stale-after", min=0, metavar="DAYS", help="Flag prices read more than DAYS days ago as stale."),
]
TodayOption = Annotated[
    str | None,
    typer.Option(
        "--today",
        metavar="YYYY-MM-DD",
        help="Measure price age from this date (default: today, UTC).",
        show_default=False,
    ),
]
NoBundledOption = Annotated[
    bool, typer.Option("--no-bundled", help="Leave out the bundled catalog; use only the --prices files.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def catalog_from_options(prices: list[Path] | None, *, no_bundled: bool = False, warn: bool = True) -> Catalog:
    """The catalog a command should use: bundled (unless ``no_bundled``) with the ``--prices`` files on top.

    Prints a one-line summary of what imported files skipped to stderr, and a warning for each price of
    the ``--prices`` files that looks like a wrong unit (:mod:`pricing.plausibility`) unless ``warn`` is
    False (``analyze`` reports them for the prices it compares).
    """
    catalog = load_catalog(prices or (), include_bundled=not no_bundled)
    for report in catalog.skip_reports:
        stderr.print(
            f"note: {report.file}: {len(report.skipped):,} entries not imported (see `breakeven prices import`)",
            markup=False,
            soft_wrap=True,
        )
    if warn:
        print_warnings(catalog_warnings([e for e in catalog if not catalog.origin(e.id).startswith("bundled")]))
    return catalog


def print_warnings(warnings: list[str], *, limit: int = 10) -> None:
    """Print plausibility warnings to stderr, one line each (at most ``limit``, then a count)."""
    for text in warnings[:limit]:
        stderr.print(f"warning: {text}", markup=False, soft_wrap=True)
    if len(warnings) > limit:
        stderr.print(f"warning: ... and {len(warnings) - limit:,} more like these", markup=False)


def parse_date(text: str | None, *, option: str) -> date | None:
    """Parse an ISO date option; a bad value raises :class:`InputError` naming the option."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise InputError(f"option {option}: expected a date YYYY-MM-DD, found {text!r}") from exc


@dataclass(frozen=True)
class CatalogView(OptionGroup):
    """The catalog ``prices list`` and ``prices show`` read, and the day prices' age is measured on."""

    prices: PricesOption = None
    no_bundled: NoBundledOption = False
    stale_after: StaleAfterOption = DEFAULT_MAX_AGE_DAYS
    today: TodayOption = None

    def open(self) -> tuple[Catalog, date]:
        """The catalog, and ``--today`` (else today, UTC)."""
        catalog = catalog_from_options(self.prices, no_bundled=self.no_bundled)
        return catalog, parse_date(self.today, option="--today") or today_utc()


class KindChoice(StrEnum):
    """Which kind of price to list."""

    token = "token"  # noqa: S105 - a price kind, not a secret
    gpu = "gpu"
    owned = "owned"


class ImportFormat(StrEnum):
    """Formats ``breakeven prices import`` converts."""

    litellm = "litellm"
    skypilot = "skypilot"


# --------------------------------------------------------------------------------------------- commands


@app.command("list")
@with_option_groups
def list_prices(
    *,
    kind: Annotated[
        KindChoice | None, typer.Option("--kind", help="Only per-token, GPU instance or owned-server prices.")
    ] = None,
    provider: Annotated[
        str | None, typer.Option("--provider", metavar="P", help="Only this provider, e.g. digitalocean.")
    ] = None,
    match: Annotated[
        str | None, typer.Option("--match", metavar="TEXT", help="Only entries whose id, model or GPU contains TEXT.")
    ] = None,
    view: CatalogView,
    as_json: JsonOption = False,
) -> None:
    """List catalog prices with their dates, sources, origins and a STALE flag."""
    catalog, day = view.open()
    stale_after = view.stale_after
    entries = catalog.entries(kind=kind.value if kind else None, provider=provider, match=match)
    if as_json:
        print_json([catalog.annotated(e.id, day, stale_after) for e in entries])
        return
    for price_type, layout in _TABLES.items():
        of_kind = [e for e in entries if isinstance(e, price_type)]
        if of_kind:
            stdout.print(_price_table(catalog, layout, of_kind, day=day, stale_after=stale_after))
    if not entries:
        stderr.print("no prices match")
    stale = sum(catalog.is_stale(e.id, day, stale_after) for e in entries)
    stderr.print(
        f"{len(entries)} prices, {stale} stale (read more than {stale_after} days before {day.isoformat()})",
        soft_wrap=True,
    )


@app.command("show")
@with_option_groups
def show_price(
    *,
    entry_id: Annotated[str, typer.Argument(metavar="ID", help="The price id, e.g. digitalocean/gpu-mi300x-1x.")],
    view: CatalogView,
    as_json: JsonOption = False,
) -> None:
    """Show every field of one price, where it came from and whether it is stale."""
    catalog, day = view.open()
    stale_after = view.stale_after
    data = catalog.annotated(entry_id, day, stale_after)
    if as_json:
        print_json(data)
        return
    price = catalog.get(entry_id)
    table = Table(title=escape(entry_id), show_header=False, title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for key, value in data.items():
        if key == "replaced":
            continue
        shown = escape(catalog.origin(entry_id)) if key == "origin" else _show_value(key, value, stale_after)
        table.add_row(key, shown)
        if key == "hourly_usd" and isinstance(price, GpuPrice):
            table.add_row("(per GPU-hour)", f"{price.gpu_hourly_usd:.6g}")
    stdout.print(table)


@app.command("import")
def import_prices(
    *,
    fmt: Annotated[ImportFormat, typer.Argument(metavar="FORMAT", help="litellm or skypilot.")],
    file: Annotated[Path, typer.Argument(metavar="FILE", help="The LiteLLM JSON or SkyPilot vms.csv to convert.")],
    output: Annotated[
        Path, typer.Option("--output", "-o", metavar="OUT", help="Where to write our catalog (.toml or .json).")
    ],
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            metavar="YYYY-MM-DD",
            help="Date the prices were current (default: the documented date of a verified copy, else the "
            "file's modification date).",
            show_default=False,
        ),
    ] = None,
    provider: Annotated[
        str | None,
        typer.Option("--provider", metavar="P", help="SkyPilot only: the cloud (default: guessed from the path)."),
    ] = None,
    show_skipped: Annotated[
        bool, typer.Option("--show-skipped", help="List every skipped entry and its reason on stderr.")
    ] = False,
) -> None:
    """Convert a LiteLLM cost map or a SkyPilot vms.csv into our catalog format, reporting what was skipped."""
    suffix = output.suffix.lower()
    if suffix not in {".toml", ".json"}:
        raise InputError(f"option --output: expected a file ending in .toml or .json, found {os.fspath(output)!r}")
    check_output_file(output, option="--output", example="prices.toml")
    day = parse_date(as_of, option="--as-of")
    if fmt is ImportFormat.litellm:
        if provider is not None:
            raise InputError("option --provider: only applies to skypilot imports; LiteLLM entries name their provider")
        result = read_litellm(file, as_of=day)
    else:
        result = read_skypilot(file, provider=provider, as_of=day)
    if not result.entries:
        raise InputError(f"{file}: no prices could be imported; expected at least one priced entry; {result.summary()}")
    text = (
        dump_catalog_json(result.entries)
        if suffix == ".json"
        else dump_catalog_toml(result.entries, header=_header(result, fmt))
    )
    atomic_write_text(output, text)
    for line in result.report_lines():
        stderr.print(line, markup=False, soft_wrap=True)
    for note in result.notes:
        stderr.print(f"note: {note}", markup=False, soft_wrap=True)
    if show_skipped:
        for skipped in result.skipped:
            stderr.print(f"  skipped {skipped}", markup=False)
    print_warnings(catalog_warnings(result.entries))
    stderr.print(f"wrote {len(result.entries):,} prices to {output}", markup=False)


# --------------------------------------------------------------------------------------------- rendering


def _header(result: ImportResult, fmt: ImportFormat) -> str:
    lines = [
        f"Imported by `breakeven prices import {fmt.value}` from {result.source}.",
        *result.notes,
        "Units: *_usd_per_mtok = currency per 1M tokens; hourly_usd = currency per instance-hour.",
        *result.report_lines(),
    ]
    return "\n".join(lines)


def _money(value: float | None, currency: str = "USD", digits: int = 4) -> str:
    if value is None:
        return "—"
    text = f"{value:.{digits}g}"
    return text if currency == "USD" else f"{text} {currency}"


def _new_table(title: str, columns: list[tuple[str, str]]) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 0, 0, 1))
    for name, justify in columns:
        first = name.startswith("id")
        table.add_column(
            name,
            justify=justify,  # type: ignore[arg-type]
            no_wrap=not (first or name == "GPUs"),
            overflow="fold",
            max_width=10 if name == "GPUs" else None,
        )
    return table


def _id_cell(catalog: Catalog, price: Price) -> str:
    """The id, and below it (dim) the short source and the origin file."""
    source = escape(short_source(price.source))
    return f"[bold]{escape(price.id)}[/]\n[dim]{source} · {escape(_short_origin(catalog, price.id))}[/]"


def _date_cell(catalog: Catalog, price: Price, day: date, stale_after: int) -> str:
    stale = catalog.is_stale(price.id, day, stale_after)
    return price.as_of.isoformat() + ("\n[bold red]STALE[/]" if stale else "")


@dataclass(frozen=True)
class _Layout:
    """How ``prices list`` tables one kind of price: a title, the columns between the id and the date
    (name, justify), and the cells of an entry in those columns."""

    title: str
    columns: list[tuple[str, str]]
    cells: Callable[[Any], list[str]]


def _price_table(catalog: Catalog, layout: _Layout, entries: Sequence[Price], *, day: date, stale_after: int) -> Table:
    """A table of prices of one kind: the id cell, the layout's own columns, then the date cell."""
    table = _new_table(layout.title, [("id · source · origin", "left"), *layout.columns, ("as_of", "left")])
    for price in entries:
        table.add_row(_id_cell(catalog, price), *layout.cells(price), _date_cell(catalog, price, day, stale_after))
    return table


def _token_cells(e: TokenPrice) -> list[str]:
    return [
        _money(e.input_usd_per_mtok, e.currency),
        _money(e.output_usd_per_mtok, e.currency),
        _money(e.cached_input_usd_per_mtok, e.currency),
        "—" if e.batch_discount is None else f"-{e.batch_discount:.0%}",
    ]


def _gpu_cells(e: GpuPrice) -> list[str]:
    return [
        escape(f"{e.gpu_count}x {e.gpu}"),
        _money(e.hourly_usd, e.currency, 6),
        _money(e.gpu_hourly_usd, e.currency),
        _money(e.spot_hourly_usd, e.currency),
        _billing(e),
    ]


def _owned_cells(e: OwnedServer) -> list[str]:
    return [
        escape(f"{e.gpu_count}x {e.gpu}"),
        _money(e.purchase_usd, e.currency, 7),
        f"{e.depreciation_years:g}",
        _money(e.fixed_usd_per_month, e.currency, 6),
        f"{e.power_w / 1000:g} x {e.pue:g}",
        _money(e.electricity_usd_per_kwh, e.currency),
    ]


#: The table of each kind of price, in the order ``prices list`` prints them.
_TABLES: dict[type, _Layout] = {
    TokenPrice: _Layout(
        "Per-token prices (USD per 1M tokens unless marked)",
        [("in", "right"), ("out", "right"), ("cached", "right"), ("batch", "right")],
        _token_cells,
    ),
    GpuPrice: _Layout(
        "GPU instance prices (USD per hour unless marked)",
        [("GPUs", "left"), ("/h", "right"), ("/GPU-h", "right"), ("spot/h", "right"), ("bill", "left")],
        _gpu_cells,
    ),
    OwnedServer: _Layout(
        "Owned servers (USD unless marked; fixed = depreciation + hosting + other, per month)",
        [
            ("GPUs", "left"),
            ("purchase", "right"),
            ("years", "right"),
            ("fixed/mo", "right"),
            ("kW x PUE", "right"),
            ("/kWh", "right"),
        ],
        _owned_cells,
    ),
}


def _billing(price: GpuPrice) -> str:
    """``1s/5m``: billed per second, at least 5 minutes per start."""
    step = _duration(price.billing_increment_s)
    return f"{step}/{_duration(price.minimum_billed_s)}" if price.minimum_billed_s else step


def _duration(seconds: int) -> str:
    if seconds and seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds and seconds % 60 == 0:
        return f"{seconds // 60}m"
    return f"{seconds}s"


def short_source(source: str, width: int = 28) -> str:
    """A short label for a source: a URL's host, a GitHub ``owner/repo[:path]``'s repo, or the leading
    words of a citation (up to the first file name or reference)."""
    words = source.split()
    if not words:
        return source
    first = words[0].rstrip(",;")
    if "://" in first:
        return first.split("://", 1)[1].split("/", 1)[0]
    if re.match(r"^[\w.-]+/[\w.-]+", first):
        return first.split(":", 1)[0].split("/")[1].split("@")[0]
    label = " ".join(itertools.takewhile(lambda w: not any(c in w for c in "./:@"), words)).rstrip(",;") or first
    return label if len(label) <= width else label[: width - 1] + "…"


def _short_origin(catalog: Catalog, entry_id: str) -> str:
    origin = catalog.record(entry_id).origin
    name = origin.file.removesuffix(".toml") if origin.file.startswith("bundled:") else Path(origin.file).name
    return f"{name} (overrides {len(origin.replaced)})" if origin.replaced else name


def _show_value(key: str, value: object, stale_after: int) -> str:
    if key == "stale":
        return f"[bold red]yes[/] (older than {stale_after} days)" if value else "no"
    if value is None or value in ((), []):
        return "—"
    return escape(str(value))
