"""``breakeven profile ...``: import, show and measure deployment profiles.

Each command parses options, calls one library function (:func:`~costmodel.profiles.importers.import_profile`,
:func:`~costmodel.profiles.io.load_profile`) and renders the result with :func:`render_profile`.
"""

from __future__ import annotations

from enum import Enum, StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from breakeven.cli_support import new_app, print_json, stderr, stdout
from breakeven.errors import InputError
from breakeven.io import check_output_file
from costmodel.checks import profile_problem
from costmodel.profiles import measure_cli
from costmodel.profiles.importers import FORMATS, import_profile
from costmodel.profiles.io import profile_from_path_or_name, save_profile
from costmodel.profiles.options import EngineOption, GpuOption, GpuPriceOption, ProfileIdOption, ServerlessPriceOption
from costmodel.profiles.schema import Profile, Stat, WarmPoint

app = new_app("Measured deployment profiles: import vLLM logs and benchmark results, or measure an endpoint live.")

InputFormat = Enum("InputFormat", {name.replace("-", "_"): name for name in FORMATS}, type=str)  # type: ignore[misc]


class Kind(StrEnum):
    """Profile kinds."""

    dedicated = "dedicated"
    serverless = "serverless"


def _num(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _stat(stat: Stat | None, which: str = "p50") -> str:
    if stat is None:
        return "—"
    value = getattr(stat, which)
    return "—" if value is None else f"{value:,.1f}"


def _level(point: WarmPoint) -> str:
    parts = []
    if point.concurrency is not None:
        parts.append(f"concurrency {point.concurrency:g}")
    if point.request_rate is not None:
        parts.append(f"{point.request_rate:g} req/s")
    return f" ({', '.join(parts)})" if parts else ""


def _kv_table(title: str, rows: list[tuple[str, str]]) -> Table:
    table = Table(title=title, show_header=False, title_justify="left", box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for key, value in rows:
        table.add_row(Text(key), Text(value))
    return table


def _warm_table(profile: Profile) -> Table:
    any_rate = any(p.request_rate is not None for p in profile.warm)
    table = Table(title="Warm table (latencies in ms)", title_justify="left")
    columns = ["#", "conc", *(["rate/s"] if any_rate else []), "TTFT p50", "TTFT p99", "TPOT p50", "ITL mean",
               "E2E p50", "out tok/s", "req/s", "in/out tok", "requests", "valid"]  # fmt: skip
    for name in columns:
        table.add_column(name, justify="left" if name == "valid" else "right", no_wrap=True)
    for i, p in enumerate(profile.warm, start=1):
        tokens = f"{_num(p.input_tokens_mean, 0)}/{_num(p.output_tokens_mean, 0)}"
        requests = "—" if p.requests is None else f"{p.requests}" + (f" ({p.failed} failed)" if p.failed else "")
        tpot = _stat(p.tpot_ms) if p.tpot_ms and p.tpot_ms.p50 is not None else _stat(p.tpot_ms, "mean")
        cells = [str(i), _num(p.concurrency, 0), *([_num(p.request_rate, 2)] if any_rate else []),
                 _stat(p.ttft_ms), _stat(p.ttft_ms, "p99"), tpot, _stat(p.itl_ms, "mean"), _stat(p.e2e_ms),
                 _num(p.output_tok_s), _num(p.request_s, 2), tokens, requests, "yes" if p.valid else "NO"]  # fmt: skip
        table.add_row(*(Text(c) for c in cells), style=None if p.valid else "dim")
    return table


def render_profile(profile: Profile, console: Console) -> None:
    """Print ``profile`` as readable tables: identity, cold start, KV cache, warm points, provenance."""
    engine = profile.engine.name + (f" {profile.engine.version}" if profile.engine.version else "")
    gpu = f"{profile.gpu_count} x {profile.gpu}" if profile.gpu else "—"
    settings = ", ".join(f"{k}={v}" for k, v in profile.settings.items()) or "—"
    conc = profile.max_concurrency
    console.print(
        _kv_table(
            f"Profile {profile.id}",
            [
                ("kind", profile.kind),
                ("model", profile.model),
                ("GPU", gpu),
                ("engine", engine),
                ("settings", settings),
                ("GPU price id", profile.gpu_price_id or "—"),
                ("serverless price id", profile.serverless_price_id or "—"),
                ("KV cache", "—" if profile.kv_cache_tokens is None else f"{profile.kv_cache_tokens:,} tokens"),
                (
                    "max concurrency",
                    "—" if conc is None else f"{conc.value:g}x at {conc.tokens_per_request:,} tokens per request",
                ),
            ],
        )
    )
    cold = profile.cold_start
    if cold is None:
        console.print(Text("\nCold start: not measured", style="bold"))
    else:
        measured = cold.total_s is not None or bool(cold.samples_s)
        rows = [
            ("launch → first token", f"{_num(cold.total_s)} s"),
            ("launch → ready", f"{_num(cold.ready_s)} s"),
            ("samples", ", ".join(f"{s:g}" for s in cold.samples_s) + " s" if cold.samples_s else "—"),
            ("best estimate" if measured else "sum of logged phases", f"{_num(cold.best_total_s())} s"),
        ]
        if cold.failed:
            rows.append(("FAILED", cold.failure or "engine failed to start"))
        phases = cold.phases.model_dump()
        rows += [(f"  {k}", _num(v, 2)) for k, v in phases.items() if v is not None]
        console.print()
        console.print(_kv_table("Cold start", rows))
    console.print()
    if not profile.warm:
        console.print(Text("Warm table: no measured points", style="bold"))
    else:
        # Piped output (files, CI logs) gets a wide table instead of rich's 80-column default.
        wide = console if console.is_terminal else Console(file=console.file, width=max(console.width, 150))
        wide.print(_warm_table(profile))
    prov = profile.provenance
    console.print()
    console.print(Text("Sources", style="bold"))
    for src in prov.sources:
        detail = ", ".join(x for x in (src.kind, src.tool, src.tool_version, src.date) if x)
        console.print(Text(f"  {src.path} ({detail})"))
    points = [f"#{i}{_level(p)}: {p.notes}" for i, p in enumerate(profile.warm, start=1) if p.notes]
    notes = [*prov.notes, *points]
    if notes:
        console.print(Text("Notes", style="bold"))
        for note in notes:
            console.print(Text(f"  - {note}"))


def _setting_value(raw: str) -> str | int | float | bool:
    lowered = raw.strip().lower()
    if lowered in {"true", "false"}:
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            continue
    return raw


def _parse_settings(items: list[str]) -> dict[str, str | int | float | bool | None]:
    settings: dict[str, str | int | float | bool | None] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"option --setting: expected KEY=VALUE, found {item!r}")
        settings[key.strip()] = _setting_value(value.strip())
    return settings


def _summary_line(profile: Profile, output: Path) -> str:
    valid = sum(p.valid for p in profile.warm)
    cold = "cold start from logs" if profile.cold_start else "no cold start"
    return f"wrote {output}: {len(profile.warm)} warm points ({valid} valid), {cold}"


def import_cmd(  # typer passes every option by keyword; its length is its option declarations
    files: Annotated[
        list[Path],
        typer.Argument(
            help="vLLM server logs, vllm bench / GuideLLM / AIPerf / genai-perf / llmperf results, AIPerf CSV or a "
            "vLLM /metrics scrape. Formats are detected by content; several files merge into one profile.",
            show_default=False,
        ),
    ],
    *,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", metavar="FILE", help="Write the profile JSON here (atomically).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the profile JSON to stdout.")] = False,
    gpu: GpuOption = None,
    gpu_count: Annotated[
        int | None,
        typer.Option(
            "--gpu-count",
            min=1,
            help="GPUs per replica \\[default: tensor x pipeline parallel from the log, else 1].",
            show_default=False,
        ),
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="Model name, overriding what the files say.")] = None,
    gpu_price: GpuPriceOption = None,
    serverless_price: ServerlessPriceOption = None,
    profile_id: ProfileIdOption = None,
    kind: Annotated[Kind, typer.Option("--kind", help="A self-hosted deployment or a serverless endpoint.")] = (
        Kind.dedicated
    ),
    engine: EngineOption = None,
    engine_version: Annotated[str | None, typer.Option("--engine-version", help="Engine version, e.g. 0.5.4.")] = None,
    setting: Annotated[
        list[str] | None,
        typer.Option("--setting", metavar="KEY=VALUE", help="Server setting, e.g. max_model_len=2048 (repeatable)."),
    ] = None,
    note: Annotated[list[str] | None, typer.Option("--note", help="A provenance note (repeatable).")] = None,
    input_format: Annotated[
        InputFormat | None,
        typer.Option("--format", help="Force the input format instead of detecting it.", show_default=False),
    ] = None,
) -> None:
    """Import logs and benchmark results into one profile: a readable summary, or JSON with -o / --json."""
    if output is not None:
        check_output_file(output, option="--output", example="profile.json")
    profile = import_profile(
        files,
        format=input_format.value if input_format is not None else None,
        profile_id=profile_id,
        model=model,
        kind=kind.value,
        gpu=gpu,
        gpu_count=gpu_count,
        engine=engine,
        engine_version=engine_version,
        gpu_price_id=gpu_price,
        serverless_price_id=serverless_price,
        settings=_parse_settings(setting or []),
        notes=note or [],
    )
    if output is not None:
        save_profile(profile, output)
        stderr.print(_summary_line(profile, output), markup=False, soft_wrap=True)
    if as_json:
        print_json(profile.model_dump(mode="json", by_alias=True))
    elif output is None:
        render_profile(profile, stdout)


def show_cmd(
    file: Annotated[
        str,
        typer.Argument(
            help="A profile JSON file, or the name of a bundled profile (e.g. llama-3.1-8b-fp8_1xH100).",
            show_default=False,
        ),
    ],
    *,
    as_json: Annotated[bool, typer.Option("--json", help="Print the profile JSON instead of tables.")] = False,
) -> None:
    """Show a profile readably: identity, cold start and phases, KV cache, warm table by concurrency."""
    profile = profile_from_path_or_name(file)
    if as_json:
        print_json(profile.model_dump(mode="json", by_alias=True))
    else:
        render_profile(profile, stdout)
    problem = profile_problem(profile)
    if problem is not None:
        stderr.print(f"warning: `breakeven analyze` cannot use this profile: {problem}", markup=False, soft_wrap=True)


app.command("import")(import_cmd)
app.command("show")(show_cmd)
app.command("measure")(measure_cli.measure)
