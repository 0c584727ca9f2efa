"""``breakeven table``: break-even request rates by output length (closed form, and capacity-aware with a
measured profile). The command resolves prices (catalog ids or explicit numbers), fits the profile, calls
:func:`costmodel.breakeven.breakeven_table` and renders its rows."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Final

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from breakeven.cli_support import OptionGroup, parse_number_list, print_json, stderr, stdout, with_option_groups
from breakeven.errors import InputError
from breakeven.plausibility import MAX_TOKENS_PER_REQUEST
from costmodel.breakeven import breakeven_table
from costmodel.capacity import ReplicaCapacity
from costmodel.commands.options import (
    OutputTokensOption,
    PercentileChoice,
    PercentileOption,
    SloTpotOption,
    SloTtftOption,
    TierChoice,
)
from costmodel.engine.capacity import replica_capacity
from costmodel.matching import mismatches
from costmodel.profiles import Profile, profile_from_path_or_name
from costmodel.results import BreakevenRow, Slo
from pricing.catalog import Catalog
from pricing.cli import PricesOption, catalog_from_options
from pricing.models import MAX_PRICE
from pricing.plausibility import gpu_price_warning, price_warnings, token_price_warning

#: The seed article's comparison: gpt-oss-120b on DigitalOcean Serverless Inference vs a 1×MI300X droplet.
DEFAULT_SERVERLESS_ID: Final = "digitalocean/gpt-oss-120b"
DEFAULT_GPU_ID: Final = "digitalocean/gpu-mi300x-1x-article"


@dataclass(frozen=True)
class ResolvedPrices:
    """The three prices a table needs, where they came from, and caveats (stale entries, mismatches)."""

    gpu_hourly_usd: float
    input_usd_per_mtok: float
    output_usd_per_mtok: float
    serverless_price_id: str | None = None
    gpu_price_id: str | None = None
    tier: str = "on_demand"
    warnings: list[str] = field(default_factory=list)


def _non_negative(value: float | None, option: str) -> float | None:
    if value is not None and (not math.isfinite(value) or value < 0):
        raise InputError(f"option {option}: expected a non-negative number, found {value!r}")
    if value is not None and value > MAX_PRICE:
        raise InputError(f"option {option}: expected a price of at most {MAX_PRICE:g}, found {value:g}")
    return value


@dataclass(frozen=True)
class PriceOptions(OptionGroup):
    """The prices a table compares: catalog ids (``--serverless``, ``--gpu``) or explicit numbers
    (``--gpu-hourly``, ``--input-price``, ``--output-price``), resolved by :func:`resolve_prices`."""

    serverless: Annotated[
        str | None,
        typer.Option(
            "--serverless",
            metavar="ID",
            help=f"Per-token price id from the catalog \\[default: {DEFAULT_SERVERLESS_ID}].",
        ),
    ] = None
    gpu: Annotated[
        str | None,
        typer.Option(
            "--gpu",
            metavar="ID",
            help=f"GPU price id from the catalog \\[default: the profile's, else {DEFAULT_GPU_ID}].",
        ),
    ] = None
    gpu_hourly: Annotated[
        float | None, typer.Option("--gpu-hourly", metavar="USD", help="Explicit instance price [USD / hour].")
    ] = None
    input_price: Annotated[
        float | None,
        typer.Option("--input-price", metavar="USD_PER_M", help="Explicit serverless input price [USD / 1M tokens]."),
    ] = None
    output_price: Annotated[
        float | None,
        typer.Option("--output-price", metavar="USD_PER_M", help="Explicit serverless output price [USD / 1M tokens]."),
    ] = None

    @property
    def explicit(self) -> bool:
        """Whether any price is given as a number."""
        return any(v is not None for v in (self.gpu_hourly, self.input_price, self.output_price))


def resolve_prices(
    chosen: PriceOptions, *, load: Catalog | None, tier: TierChoice | None, profile: Profile | None = None
) -> ResolvedPrices:
    """Prices from explicit numbers (all three of ``--gpu-hourly``, ``--input-price``, ``--output-price``) or
    from catalog ids (each missing id defaults to the seed case; the GPU id to the profile's when it names
    one). Mixing the two ways raises :class:`InputError`. Warns when a catalog price is stale or does not
    match the profile's model or GPU."""
    serverless, gpu = chosen.serverless, chosen.gpu
    gpu_hourly, input_price, output_price = chosen.gpu_hourly, chosen.input_price, chosen.output_price
    explicit = {"--gpu-hourly": gpu_hourly, "--input-price": input_price, "--output-price": output_price}
    given = [name for name, value in explicit.items() if value is not None]
    if given:
        ids = [name for name, value in (("--serverless", serverless), ("--gpu", gpu)) if value is not None]
        if ids:
            raise InputError(
                f"options {', '.join(ids)} and {', '.join(given)}: expected catalog ids or explicit prices, not both"
            )
        missing = [name for name in explicit if name not in given]
        if missing:
            raise InputError(
                f"option {', '.join(missing)}: expected all of --gpu-hourly, --input-price and --output-price "
                f"with explicit prices, found only {', '.join(given)}"
            )
        if tier is not None:
            raise InputError("option --price-tier: applies to a catalog GPU price (--gpu ID), not to --gpu-hourly")
        resolved = ResolvedPrices(
            gpu_hourly_usd=float(_non_negative(gpu_hourly, "--gpu-hourly") or 0.0),
            input_usd_per_mtok=float(_non_negative(input_price, "--input-price") or 0.0),
            output_usd_per_mtok=float(_non_negative(output_price, "--output-price") or 0.0),
        )
        found = [
            gpu_price_warning(resolved.gpu_hourly_usd, field="option --gpu-hourly"),
            token_price_warning(resolved.input_usd_per_mtok, field="option --input-price"),
            token_price_warning(resolved.output_usd_per_mtok, field="option --output-price"),
        ]
        resolved.warnings.extend(w for w in found if w)
        return resolved
    if load is None:
        raise InputError("prices: expected a catalog to look ids up in")
    token = load.token(serverless or DEFAULT_SERVERLESS_ID)
    gpu_price = load.gpu(gpu or (profile.gpu_price_id if profile is not None else None) or DEFAULT_GPU_ID)
    chosen_tier = (tier or TierChoice.on_demand).value
    try:
        hourly = gpu_price.hourly_for(chosen_tier)  # type: ignore[arg-type]
    except ValueError as exc:
        raise InputError(f"option --price-tier: {exc}; use on_demand or a GPU price that has one") from exc
    warnings = [
        f"price {entry_id} is {load.age_days(entry_id)} days old (stale): check it"
        for entry_id in (token.id, gpu_price.id)
        if load.is_stale(entry_id)
    ]
    warnings += price_warnings(token) + price_warnings(gpu_price)
    if profile is not None:
        warnings += mismatches(profile, token, gpu_price)
    if token.currency != gpu_price.currency:
        raise InputError(
            f"prices {token.id} ({token.currency}) and {gpu_price.id} ({gpu_price.currency}): expected one currency"
        )
    return ResolvedPrices(
        gpu_hourly_usd=hourly,
        input_usd_per_mtok=token.input_usd_per_mtok,
        output_usd_per_mtok=token.output_usd_per_mtok,
        serverless_price_id=token.id,
        gpu_price_id=gpu_price.id,
        tier=chosen_tier,
        warnings=warnings,
    )


def _fmt_rate(value: float | None) -> str:
    """``1,234`` at or above 100, ``18.0`` at or above 10, ``3.22`` at or above 1, else three significant
    figures (``0.616``); ``never`` for None."""
    if value is None:
        return "never"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def _fmt_usd(value: float) -> str:
    return f"${value:,.2f}" if value >= 0.01 or value == 0 else f"${value:.3g}"


def _render(
    rows: list[BreakevenRow], prices: ResolvedPrices, input_tokens: float, fit: ReplicaCapacity | None
) -> Table:
    gpu = prices.gpu_price_id or "explicit"
    serverless = prices.serverless_price_id or "explicit"
    title = (
        f"Break-even: {_fmt_usd(prices.gpu_hourly_usd)}/h GPU ({escape(gpu)}, {prices.tier}) vs "
        f"{_fmt_usd(prices.input_usd_per_mtok)} / {_fmt_usd(prices.output_usd_per_mtok)} per 1M in / out tokens "
        f"({escape(serverless)}), {input_tokens:,.0f} input tokens"
    )
    if fit is not None:
        slo = fit.slo
        title += (
            f"; capacity from {escape(fit.profile_id)} at {slo.percentile} TTFT ≤ {slo.ttft_ms:,.0f} ms, "
            f"TPOT ≤ {slo.tpot_ms:,.0f} ms"
        )
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    columns = ["output\ntokens", "$ per 1k\nrequests", "closed\nreq/s", "closed\nreq/h"]
    if fit is not None:
        columns += ["replica\nreq/s", "capacity\nreq/s", "replicas", "cross-\nings"]
    for name in columns:
        table.add_column(name, justify="right", no_wrap=True)
    by_length: dict[float, dict[str, BreakevenRow]] = {}
    for row in rows:
        by_length.setdefault(row.output_tokens, {})[row.method] = row
    for n_out, methods in by_length.items():
        closed = methods["closed_form"]
        cells = [
            f"{n_out:,.0f}",
            f"{closed.serverless_cost_per_request_usd * 1000:.3g}",
            _fmt_rate(closed.breakeven_rps),
            "never" if closed.breakeven_rph is None else f"{closed.breakeven_rph:,.0f}",
        ]
        capacity = methods.get("capacity")
        if capacity is not None:
            per_replica = capacity.replica_capacity_rps or 0.0
            cells += [
                "0 (SLO)" if per_replica <= 0 else _fmt_rate(per_replica),
                _fmt_rate(capacity.breakeven_rps),
                "" if capacity.replicas is None else str(capacity.replicas),
                str(len(capacity.crossings_rps)),
            ]
        table.add_row(*cells)
    return table


@with_option_groups
def table(  # typer passes every option by keyword
    *,
    chosen: PriceOptions,
    input_tokens: Annotated[
        float, typer.Option("--input-tokens", metavar="N", help="Input tokens per request.")
    ] = 80.0,
    output_tokens: OutputTokensOption = "30,220,1200",
    profile: Annotated[
        Path | None,
        typer.Option(
            "--profile",
            metavar="FILE",
            help="Measured profile (JSON, or the name of a bundled one): adds capacity-aware rows.",
            show_default=False,
        ),
    ] = None,
    prices: PricesOption = None,
    slo_ttft_ms: SloTtftOption = 600.0,
    slo_tpot_ms: SloTpotOption = 60.0,
    percentile: PercentileOption = PercentileChoice.p90,
    price_tier: Annotated[
        TierChoice | None,
        typer.Option(
            "--price-tier", help="GPU price tier of a catalog GPU \\[default: on_demand].", show_default=False
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help='Print {"rows": [...]} as JSON instead of a table.')] = False,
) -> None:
    """Print break-even request rates by output length: closed form, and capacity-aware with --profile."""
    outputs = parse_number_list(output_tokens, option="--output-tokens", maximum=MAX_TOKENS_PER_REQUEST)
    _check_numbers(input_tokens, slo_ttft_ms=slo_ttft_ms, slo_tpot_ms=slo_tpot_ms)
    if chosen.explicit and prices:
        raise InputError("option --prices: only used to look up catalog ids; explicit prices were given")
    loaded = profile_from_path_or_name(profile) if profile is not None else None
    catalog = None if chosen.explicit else catalog_from_options(prices, warn=False)
    resolved = resolve_prices(chosen, load=catalog, tier=price_tier, profile=loaded)
    fit: ReplicaCapacity | None = None
    warnings = list(resolved.warnings)
    if loaded is not None:
        fit = replica_capacity(loaded, Slo(ttft_ms=slo_ttft_ms, tpot_ms=slo_tpot_ms, percentile=percentile.value))
        warnings += [f"{loaded.id}: {w}" for w in fit.warnings]
    rows = breakeven_table(
        gpu_hourly_usd=resolved.gpu_hourly_usd,
        input_usd_per_mtok=resolved.input_usd_per_mtok,
        output_usd_per_mtok=resolved.output_usd_per_mtok,
        input_tokens=input_tokens,
        output_tokens=outputs,
        fit=fit,
        serverless_price_id=resolved.serverless_price_id,
        gpu_price_id=resolved.gpu_price_id,
    )
    if as_json:
        print_json({"rows": rows})
    else:
        stdout.print(_render(rows, resolved, input_tokens, fit))
        warnings += _row_notes(rows, told=set(fit.warnings) if fit is not None else set())
    for warning in warnings:
        stderr.print(f"warning: {warning}", markup=False)


def _row_notes(rows: list[BreakevenRow], *, told: set[str]) -> list[str]:
    """Each distinct note of the rows once, led by the rows it is about (``30 / 220 out, capacity``): a
    capacity row carries the replica model's notes, which are the same for every row, and a note the profile's
    fit already gave (``told``) is not repeated."""
    about: dict[str, dict[str, list[str]]] = {}
    for row in rows:
        for note in row.notes:
            if note not in told:
                about.setdefault(note, {}).setdefault(row.method.replace("_", " "), []).append(
                    f"{row.output_tokens:,.0f}"
                )
    return [
        "; ".join(f"{' / '.join(lengths)} out, {method}" for method, lengths in methods.items()) + f": {note}"
        for note, methods in about.items()
    ]


def _check_numbers(input_tokens: float, *, slo_ttft_ms: float, slo_tpot_ms: float) -> None:
    """Refuse a token count or SLO target typer's ranges let through (NaN, infinity, beyond the plausible)."""
    if not math.isfinite(input_tokens) or input_tokens < 0 or input_tokens > MAX_TOKENS_PER_REQUEST:
        raise InputError(
            f"option --input-tokens: expected a non-negative number up to {MAX_TOKENS_PER_REQUEST:,}, "
            f"found {input_tokens!r}"
        )
    for option, value in (("--slo-ttft-ms", slo_ttft_ms), ("--slo-tpot-ms", slo_tpot_ms)):
        if not math.isfinite(value) or value <= 0:
            raise InputError(f"option {option}: expected a positive number of milliseconds, found {value!r}")
