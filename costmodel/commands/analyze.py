"""``breakeven analyze``: the main job — replay the traffic on every option, find the break-even lines, write
``results.json`` and ``report.html``, and print the verdict."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from breakeven.cli_support import OptionGroup, parse_number_list, print_json, stderr, stdout, with_option_groups
from breakeven.errors import InputError
from breakeven.parallel import connect
from breakeven.plausibility import MAX_TOKENS_PER_REQUEST, is_notice
from costmodel.analyze import analyze as run_analysis
from costmodel.checks import profile_problem
from costmodel.commands import options
from costmodel.commands.sweep import SchedulerOption, WorkersOption
from costmodel.engine.fleet import Routing
from costmodel.finance import FinanceRequest, parse_commitment
from costmodel.policy import parse_policy
from costmodel.profiles import Profile, profile_from_path_or_name
from costmodel.results import Results, Slo
from costmodel.sensitivity import check_samples
from pricing.cli import PricesOption, StaleAfterOption, TodayOption, catalog_from_options, parse_date
from pricing.currency import parse_exchange_rate
from reports import write_outputs
from reports.render import check_output_paths
from traces import Trace, parse_synthetic_spec
from traces.cli import TraceReading
from traces.dataset import TraceDataset, is_dataset, open_dataset


class LostRequests(StrEnum):
    """What happens to the requests in flight on a preempted spot replica."""

    retry = "retry"
    fail = "fail"


@dataclass(frozen=True)
class FinanceOptions(OptionGroup):
    """What to price beyond on-demand fleets and serverless: commitments, spot, owned servers, currencies."""

    commitment: Annotated[
        str,
        typer.Option(
            "--commitment",
            metavar="auto|none|K",
            help="Committed replicas, billed every hour of the term: 'auto' plans the cheapest K (with on demand "
            "and serverless overflow above) where a GPU price has a committed price; K commits exactly K.",
        ),
    ] = "auto"
    growth: Annotated[
        float,
        typer.Option("--growth", min=0.001, help="Plan the commitment for the trace's request rate × this factor."),
    ] = 1.0
    spot: Annotated[
        bool, typer.Option("--spot/--no-spot", help="Price the fleet on spot, preemptions included, where it can be.")
    ] = True
    spot_mtbp_hours: Annotated[
        float | None,
        typer.Option(
            "--spot-mtbp-hours",
            metavar="H",
            help="Mean running hours of a spot replica between preemptions (default: the catalog's, else a stated "
            "assumption of 300 h with the range 24–3,800 h shown).",
            show_default=False,
        ),
    ] = None
    lost_requests: Annotated[
        LostRequests,
        typer.Option("--lost-requests", help="What happens to the requests on a preempted replica."),
    ] = LostRequests.retry
    owned: Annotated[
        list[str] | None,
        typer.Option(
            "--owned",
            metavar="ID",
            help="Owned-server price id to price as a fleet you own (repeatable; e.g. example/dgx-h100-colo).",
            show_default=False,
        ),
    ] = None
    owned_servers: Annotated[
        int | None,
        typer.Option("--owned-servers", min=0, help="Owned servers (default: planned).", show_default=False),
    ] = None
    exchange_rate: Annotated[
        list[str] | None,
        typer.Option(
            "--exchange-rate",
            metavar="CODE=RATE",
            help="Compare prices in another currency: 1 CODE = RATE of the report currency (repeatable).",
            show_default=False,
        ),
    ] = None
    currency: Annotated[
        str | None,
        typer.Option(
            "--currency",
            metavar="CODE",
            help="Report currency when prices are in several (default USD; with one, that one).",
            show_default=False,
        ),
    ] = None

    def request(self) -> FinanceRequest:
        """The options as the analysis takes them."""
        return FinanceRequest(
            commitment=parse_commitment(self.commitment),
            growth=self.growth,
            spot=self.spot,
            spot_mtbp_hours=self.spot_mtbp_hours,
            lost_requests=self.lost_requests.value,
            owned=tuple(self.owned or ()),
            owned_servers=self.owned_servers,
            exchange_rates=dict(parse_exchange_rate(r) for r in self.exchange_rate or []),
            currency=self.currency,
        )


@with_option_groups
def analyze(  # long by its option declarations: typer reads every option from the signature
    *,
    trace_file: Annotated[
        Path | None,
        typer.Option(
            "--trace", "-t", metavar="FILE", help="Request trace to replay (format auto-detected).", show_default=False
        ),
    ] = None,
    reading: TraceReading,
    synthetic: Annotated[
        str | None,
        typer.Option(
            "--synthetic",
            metavar="SPEC",
            help="Generate the traffic instead, e.g. 'poisson:rate=2,duration=1h,input=fixed(800),output=fixed(220)' "
            "(see `breakeven trace generate --help`).",
            show_default=False,
        ),
    ] = None,
    profile_files: Annotated[
        list[Path] | None,
        typer.Option(
            "--profile",
            "-p",
            metavar="FILE|NAME",
            help="Measured dedicated profile (JSON from `breakeven profile import/measure`, or a bundled name); "
            "repeatable.",
            show_default=False,
        ),
    ] = None,
    serverless: Annotated[
        list[str] | None,
        typer.Option(
            "--serverless", "-s", metavar="ID", help="Per-token price id to compare (repeatable).", show_default=False
        ),
    ] = None,
    gpus: Annotated[
        list[str] | None,
        typer.Option(
            "--gpu", "-g", metavar="ID", help="GPU price id to run each profile on (repeatable).", show_default=False
        ),
    ] = None,
    prices: PricesOption = None,
    serverless_profile_file: Annotated[
        Path | None,
        typer.Option(
            "--serverless-profile",
            metavar="FILE|NAME",
            help="Latency profile of the serverless API (from `breakeven profile measure`), for its SLO attainment.",
            show_default=False,
        ),
    ] = None,
    slo_ttft_ms: options.SloTtftOption = 600.0,
    slo_tpot_ms: options.SloTpotOption = 60.0,
    percentile: options.PercentileOption = options.PercentileChoice.p90,
    slo_target: Annotated[
        float,
        typer.Option(
            "--slo-target",
            min=0.01,
            max=1.0,
            help="Share of requests that must meet both targets for an option to pass.",
        ),
    ] = 0.9,
    policy: Annotated[
        str,
        typer.Option(
            "--policy",
            metavar="SPEC",
            help="Dedicated fleet: 'fixed:N', 'utilization:min=1,max=8,target=0.7,idle=600' or 'queue:queue=8,...' "
            "(min=0 scales to zero).",
        ),
    ] = "utilization:min=1,max=8",
    price_tier: Annotated[
        options.TierChoice,
        typer.Option(
            "--price-tier",
            help="GPU price tier of the fleet (spot and committed prices are priced as their own options: "
            "see --spot and --commitment; 'reserved' is refused).",
        ),
    ] = options.TierChoice.on_demand,
    finance: FinanceOptions,
    cold_start_s: Annotated[
        float | None,
        typer.Option(
            "--cold-start-s",
            min=0,
            help="Replica cold start \\[s] (default: the profile's measured one, else 61 s from the seed article).",
            show_default=False,
        ),
    ] = None,
    output_tokens: options.OutputTokensOption = "30,220,1200",
    today: TodayOption = None,
    stale_after: StaleAfterOption = 180,
    seed: Annotated[int, typer.Option("--seed", help="Seed of every random draw (latency spread, Monte Carlo).")] = 0,
    samples: Annotated[int, typer.Option("--samples", min=0, help="Monte Carlo draws of the uncertainty band.")] = 2000,
    no_hybrid: Annotated[
        bool, typer.Option("--no-hybrid", help="Skip the hybrid (dedicated + overflow) search.")
    ] = False,
    routing: Annotated[
        Routing,
        typer.Option(
            "--routing",
            help="How requests are routed across dedicated replicas, for a trace with hash_ids and a profile with a "
            "replica model: the replicas' prefix caches are simulated and the options costed with the hit rate "
            "found; the report compares every policy.",
        ),
    ] = "round_robin",
    prefix_caching: Annotated[
        bool,
        typer.Option(
            "--prefix-caching/--no-prefix-caching", help="Simulate the replicas' prefix caches (vLLM's default)."
        ),
    ] = True,
    no_trace_breakeven: Annotated[
        bool, typer.Option("--no-trace-breakeven", help="Skip the trace-shaped break-even (the slowest step).")
    ] = False,
    scenario: Annotated[
        str | None,
        typer.Option("--scenario", metavar="NAME", help="A name for this analysis in the report.", show_default=False),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", metavar="DIR", help="Folder for report.html and results.json.")
    ] = Path("breakeven-report"),
    as_json: Annotated[bool, typer.Option("--json", help="Also print results.json to stdout.")] = False,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
) -> None:
    """Replay the traffic on serverless, dedicated and hybrid options; write report.html and results.json.

    --trace may name a partitioned Parquet dataset (a folder from `breakeven trace convert FILE -o DIR/`): it is
    streamed partition by partition, with --workers / --scheduler running its partitions and search candidates
    on a Dask cluster.

    With no options it runs the bundled scenario: the real Azure 2023 code trace, a Llama-3.1-8B-FP8 profile
    measured on 1×H100 (vLLM), two serverless 8B prices and two H100 prices from the bundled catalog.
    """
    if trace_file is not None and synthetic is not None:
        raise InputError("options --trace and --synthetic: expected one of them, found both")
    check_output_paths(out)
    grid = parse_number_list(output_tokens, option="--output-tokens", maximum=MAX_TOKENS_PER_REQUEST)
    check_samples(samples, where="option --samples")
    slo = Slo(ttft_ms=slo_ttft_ms, tpot_ms=slo_tpot_ms, percentile=percentile.value, attainment_target=slo_target)
    fleet = parse_policy(policy)
    as_of = parse_date(today, option="--today")
    catalog = catalog_from_options(prices, warn=False)  # the analysis warns about the prices it compares
    profiles = _profiles(profile_files)
    trace = _trace(trace_file, reading, synthetic=synthetic, seed=seed)
    serverless_profile = profile_from_path_or_name(serverless_profile_file) if serverless_profile_file else None

    with _running(workers=workers, scheduler=scheduler) as progress:
        results = run_analysis(
            trace,
            profiles=profiles,
            serverless=serverless or None,
            gpus=gpus or None,
            catalog=catalog,
            price_files=[str(p) for p in prices or []],
            slo=slo,
            policy=fleet,
            price_tier=price_tier.value,
            serverless_profile=serverless_profile,
            cold_start_s=cold_start_s,
            output_tokens=grid,
            today=as_of,
            stale_after_days=stale_after,
            seed=seed,
            scenario=scenario,
            hybrid=not no_hybrid,
            trace_shaped=not no_trace_breakeven,
            sensitivity_samples=samples,
            progress=progress,
            finance=finance.request(),
            routing=routing,
            prefix_caching=prefix_caching,
        )
    results_path, report_path = write_outputs(results, out)
    if as_json:
        print_json(results)
    _print_verdict(results, results_path, report_path, console=stderr if as_json else stdout)


def _profiles(files: list[Path] | None) -> list[Profile] | None:
    """The --profile files or names, each refused now if the analysis cannot use it (not after the trace has
    been read and replayed)."""
    profiles = [profile_from_path_or_name(p) for p in files] if files else None
    for profile in profiles or []:
        problem = profile_problem(profile)
        if problem is not None:
            raise InputError(f"option --profile: {problem}")
    return profiles


@contextlib.contextmanager
def _running(*, workers: int | None, scheduler: str | None) -> Iterator[Callable[[str], None]]:
    """The Dask cluster (with --workers or --scheduler) and a progress line on stderr naming each step."""
    cluster = connect(workers=workers, scheduler=scheduler) if workers or scheduler else contextlib.nullcontext()
    with (
        cluster,
        Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=stderr, transient=True
        ) as bar,
    ):
        task = bar.add_task("analyzing", total=None)
        yield lambda step: bar.update(task, description=step)


def _trace(
    trace_file: Path | None, reading: TraceReading, *, synthetic: str | None, seed: int
) -> Trace | TraceDataset | None:
    if synthetic is not None:
        return parse_synthetic_spec(synthetic, np.random.default_rng(seed))
    if trace_file is None:
        return None
    if is_dataset(trace_file):
        with stderr.status(f"Opening the dataset {trace_file} ..."):
            return open_dataset(trace_file)
    return reading.load(trace_file)


def _print_verdict(results: Results, results_path: Path, report_path: Path, *, console: Console) -> None:
    """The verdict in a few lines (to stderr when stdout carries --json)."""
    rec = results.recommendation
    out = console
    out.print(f"[bold]{escape(rec.headline)}[/]")
    for line in rec.details:
        out.print(f"  {escape(line)}")
    for risk in rec.risks:
        if risk.severity != "info":
            out.print(f"  [yellow]risk ({escape(risk.code)}):[/] {escape(risk.message)}")
    for warning in results.warnings:
        if is_notice(warning):  # the plausibility warnings (a wrong unit, a very short trace)
            stderr.print(f"[yellow]warning:[/] {escape(warning)}")
    out.print(f"report: {escape(str(report_path))}\nresults: {escape(str(results_path))}")
