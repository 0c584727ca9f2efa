"""``breakeven profile measure``: measure an OpenAI-compatible endpoint live (or rebuild from saved samples)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from breakeven.cli_support import OptionGroup, parse_number_list, stderr, stdout, with_option_groups
from breakeven.errors import InputError, MeasurementError
from breakeven.io import atomic_write_text, check_output_file
from costmodel.profiles.live.aggregate import build_profile
from costmodel.profiles.live.measure import MeasureConfig, run_measurement
from costmodel.profiles.live.samples import SampleLog, read_samples, scrub
from costmodel.profiles.options import EngineOption, GpuOption, GpuPriceOption, ProfileIdOption, ServerlessPriceOption
from costmodel.profiles.schema import Profile

#: Exit code of a run stopped by Ctrl-C / SIGTERM (a partial profile was still written).
EXIT_INTERRUPTED = 130


class _ProgressReporter:
    """Feeds the rich progress bar from the measurement's records."""

    def __init__(self, progress: Progress, total: int) -> None:
        self.progress = progress
        self.task = progress.add_task("starting", total=total)
        self.failed = 0

    def phase(self, text: str) -> None:
        self.progress.update(self.task, description=text)

    def level(self, concurrency: int, output_tokens: int, requests: int) -> None:
        self.progress.update(self.task, description=f"concurrency {concurrency}, max_tokens {output_tokens}")

    def record(self, record: dict[str, Any]) -> None:
        if record.get("type") == "request":
            self.failed += not record["ok"]
            self.progress.advance(self.task)


def _ints(text: str, option: str) -> tuple[int, ...]:
    values = parse_number_list(text, option=option, integer=True)
    if any(v < 1 for v in values):
        raise InputError(f"option {option}: expected whole numbers >= 1, found {text!r}")
    return tuple(int(v) for v in values)


def _api_key(var: str | None) -> str | None:
    if var is None:
        return None
    key = os.environ.get(var)
    if not key:
        raise InputError(f"option --api-key-env: environment variable {var!r} is not set or empty")
    return key


def _print_summary(profile: Profile, output: Path, samples: Path) -> None:
    table = Table(title=f"{profile.id} ({profile.kind}); latencies in ms", title_justify="left")
    for col in ("conc", "out", "ok", "fail", "TTFT p50", "TTFT p99", "TPOT p50", "ITL p99", "tok/s", "req/s"):
        table.add_column(col, justify="right", no_wrap=True)

    def ms(stat: Any, name: str) -> str:
        value = getattr(stat, name) if stat is not None else None
        return "—" if value is None else f"{value:,.1f}"

    for p in profile.warm:
        table.add_row(
            f"{p.concurrency:g}" if p.concurrency else "—",
            f"{p.output_tokens_mean:,.0f}" if p.output_tokens_mean is not None else "—",
            str(p.requests or 0),
            str(p.failed or 0) + ("" if p.valid else "!"),
            ms(p.ttft_ms, "p50"),
            ms(p.ttft_ms, "p99"),
            ms(p.tpot_ms, "p50"),
            ms(p.itl_ms, "p99"),
            f"{p.output_tok_s:,.1f}" if p.output_tok_s is not None else "—",
            f"{p.request_s:,.2f}" if p.request_s is not None else "—",
        )
    stdout.print(table)
    if not all(p.valid for p in profile.warm):
        stdout.print("! = not a valid capacity point (failures above 5 % or the level did not finish)")
    cold = profile.cold_start
    if cold is not None and cold.samples_s:
        samples_text = ", ".join(f"{s:.2f}" for s in cold.samples_s)
        ready = f"; /health 200 after {cold.ready_s:.2f} s" if cold.ready_s is not None else ""
        stdout.print(f"cold start (launch → first token): {cold.total_s:.2f} s median of [{samples_text}]{ready}")
        names = {
            "weights_load_s": "weights",
            "dynamo_s": "dynamo",
            "compile_s": "torch.compile",
            "cuda_graph_s": "CUDA graphs",
            "engine_init_s": "engine init",
        }
        logged = [
            f"{label} {getattr(cold.phases, key):.1f} s" for key, label in names.items() if getattr(cold.phases, key)
        ]
        if logged:
            stdout.print("phases from the server log: " + ", ".join(logged))
    if profile.kv_cache_tokens:
        stdout.print(f"KV cache: {profile.kv_cache_tokens:,} tokens")
    stdout.print(f"profile: {output}   samples: {samples}")


def _write_profile(profile: Profile, output: Path, secrets: tuple[str, ...], as_json: bool) -> None:
    text = scrub(profile.dump_json(), secrets) + "\n"
    atomic_write_text(output, text)
    if as_json:
        sys.stdout.write(text)
        sys.stdout.flush()


class EndpointName(StrEnum):
    """Which OpenAI API to stream."""

    chat = "chat"
    completions = "completions"


class KindChoice(StrEnum):
    """Deployment kind of the profile."""

    auto = "auto"
    dedicated = "dedicated"
    serverless = "serverless"


@dataclass(frozen=True)
class LiveOptions(OptionGroup):
    """What a live measurement sends, to which endpoint, and what the profile records of the deployment; each
    field named as a field of :class:`MeasureConfig` is that field."""

    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            metavar="URL",
            help="OpenAI base URL, e.g. http://127.0.0.1:8000/v1 (/v1 is added when the path is empty).",
        ),
    ] = None
    model: Annotated[
        str | None, typer.Option("--model", help="Model name to send (as the server lists it in /v1/models).")
    ] = None
    api_key_env: Annotated[
        str | None,
        typer.Option(
            "--api-key-env",
            metavar="VAR",
            help="Environment variable holding the API key; the key is sent as a Bearer token and never saved.",
        ),
    ] = None
    concurrency: Annotated[
        str, typer.Option("--concurrency", metavar="LIST", help="Concurrency levels (requests kept in flight).")
    ] = "1,4,16,64"
    input_tokens: Annotated[
        int, typer.Option("--input-tokens", min=1, help="Prompt length \\[tokens], calibrated on the server's count.")
    ] = 80
    output_tokens: Annotated[
        str, typer.Option("--output-tokens", metavar="LIST", help="Output lengths (max_tokens) to measure.")
    ] = "30,220,1200"
    requests_per_level: Annotated[
        int, typer.Option("--requests-per-level", min=0, help="Requests per level; 0 = max(20, 4 x concurrency).")
    ] = 0
    endpoint: Annotated[
        EndpointName, typer.Option("--endpoint", help="/v1/chat/completions (chat) or /v1/completions.")
    ] = EndpointName.chat
    launch: Annotated[
        str | None,
        typer.Option(
            "--launch",
            metavar="COMMAND",
            help='Start this server first and time its cold start, e.g. "vllm serve MODEL --port 8000". '
            "Run without a shell; always stopped at the end.",
        ),
    ] = None
    restarts: Annotated[
        int, typer.Option("--restarts", min=1, help="With --launch: launches to time (the last one is measured warm).")
    ] = 1
    timeout_s: Annotated[
        float,
        typer.Option("--timeout", min=0.001, help="Longest silence allowed on a request \\[s] (connect or read)."),
    ] = 60.0
    retries: Annotated[
        int, typer.Option("--retries", min=0, help="Retries of a request that fails before its first token.")
    ] = 2
    kind: Annotated[
        KindChoice, typer.Option("--kind", help="Profile kind; auto guesses from the URL (see docs/profiler.md).")
    ] = KindChoice.auto
    profile_id: ProfileIdOption = None
    gpu: GpuOption = None
    gpu_count: Annotated[int, typer.Option("--gpu-count", min=1, help="GPUs per replica (recorded).")] = 1
    gpu_price_id: GpuPriceOption = None
    serverless_price_id: ServerlessPriceOption = None
    engine: EngineOption = None
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random prompt words.")] = 0
    launch_timeout_s: Annotated[
        float, typer.Option("--launch-timeout", min=1.0, help="With --launch: seconds to wait for the first token.")
    ] = 1800.0

    def config(self, log_dir: Path) -> MeasureConfig:
        """The measurement these options ask for: each option named as a field of :class:`MeasureConfig` is
        passed as given, the others parsed (``--base-url`` and ``--model`` are required here)."""
        if self.base_url is None or self.model is None:
            raise InputError("options --base-url and --model are required (or give --from-samples FILE)")
        as_given = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _PARSED}
        return MeasureConfig(
            **as_given,
            endpoint="chat" if self.endpoint is EndpointName.chat else "completions",
            concurrency=_ints(self.concurrency, "--concurrency"),
            output_tokens=_ints(self.output_tokens, "--output-tokens"),
            requests_per_level=self.requests_per_level or None,
            kind=_KINDS[self.kind],
            log_dir=log_dir,
        )


#: The options of :class:`LiveOptions` that :meth:`~LiveOptions.config` does not pass as given: parsed ones,
#: and --api-key-env (the key is read from it at the last moment and never stored).
_PARSED = frozenset({"api_key_env", "endpoint", "concurrency", "output_tokens", "requests_per_level", "kind"})


@with_option_groups
def measure(
    *,
    output: Annotated[Path, typer.Option("--output", "-o", metavar="FILE", help="Profile JSON to write (atomically).")],
    live: LiveOptions,
    samples: Annotated[
        Path | None,
        typer.Option(
            "--samples",
            metavar="FILE",
            help="Raw per-request JSONL, written as it goes \\[default: beside -o, NAME.samples.jsonl].",
        ),
    ] = None,
    from_samples: Annotated[
        Path | None,
        typer.Option(
            "--from-samples", metavar="FILE", help="Rebuild the profile from a saved samples JSONL; sends no request."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Also print the profile JSON to stdout.")] = False,
) -> None:
    """Measure an OpenAI-compatible endpoint live (TTFT, ITL, throughput by concurrency; cold start with --launch)."""
    check_output_file(output, option="--output", example="profile.json")
    if from_samples is not None:
        records, notes = read_samples(from_samples)
        profile = build_profile(records, samples_source=str(from_samples), notes=notes, created=datetime.now(UTC))
        _write_profile(profile, output, (), as_json)
        if not as_json:
            _print_summary(profile, output, from_samples)
        return
    samples_path = samples or output.with_name(output.stem + ".samples.jsonl")
    config = live.config(samples_path.parent / (samples_path.stem + ".logs"))
    check_output_file(samples_path, option="--samples", example="profile.samples.jsonl")
    _measure_live(config, output, samples_path, _api_key(live.api_key_env), as_json=as_json)


def _measure_live(config: MeasureConfig, output: Path, samples_path: Path, key: str | None, *, as_json: bool) -> None:
    """Run the measurement and write what it got: a partial profile when it was interrupted or stopped by an
    error after some requests finished, none when no request did."""
    secrets = (key,) if key else ()
    records, interrupted, error = _run_with_progress(config, samples_path, key, secrets)
    has_requests = any(r.get("type") == "request" for r in records)
    if not has_requests and interrupted and not error:
        stderr.print(f"interrupted before any request finished: no profile written (samples: {samples_path})")
        raise typer.Exit(EXIT_INTERRUPTED)
    if not has_requests:
        raise MeasurementError(f"{error or 'no request finished'} (no profile written; samples: {samples_path})")
    profile = build_profile(records, samples_source=str(samples_path), created=datetime.now(UTC))
    _write_profile(profile, output, secrets, as_json)
    if not as_json:
        _print_summary(profile, output, samples_path)
    if error:
        raise MeasurementError(f"{error} (a partial profile was written to {output})")
    if interrupted:
        stderr.print(f"interrupted: a partial profile was written to {output}")
        raise typer.Exit(EXIT_INTERRUPTED)


_KINDS: dict[KindChoice, Literal["auto", "dedicated", "serverless"]] = {
    KindChoice.auto: "auto",
    KindChoice.dedicated: "dedicated",
    KindChoice.serverless: "serverless",
}


def _run_with_progress(
    config: MeasureConfig, samples_path: Path, key: str | None, secrets: tuple[str, ...]
) -> tuple[list[dict[str, Any]], bool, str | None]:
    """Run the measurement with a progress bar on stderr, logging every record to ``samples_path`` as it
    comes; returns the records, whether it was interrupted, and the error that stopped it (if any)."""
    total = sum(n for _, _, n in config.levels())
    with (
        SampleLog(samples_path, secrets=secrets) as log,
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=stderr,
            refresh_per_second=4,
        ) as progress,
    ):
        reporter = _ProgressReporter(progress, total)

        def emit(record: dict[str, Any]) -> None:
            log.write(record)
            reporter.record(record)

        interrupted, error = run_measurement(config, emit, api_key=key, reporter=reporter)
        return log.records, interrupted, error
