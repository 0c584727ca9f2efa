"""``breakeven simulate`` (one replica, one workload) and ``breakeven capacity`` (its SLO capacity).

Both read a profile with a replica model (``breakeven profile calibrate`` / ``estimate`` write one) and call
one library function each: :func:`costmodel.engine.simulate` and :func:`costmodel.engine.capacity.max_rps`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.table import Table
from rich.text import Text

from breakeven.cli_support import OptionGroup, print_json, stdout, with_option_groups
from breakeven.errors import InputError
from costmodel.commands.table import PercentileChoice
from costmodel.engine.capacity import max_rps
from costmodel.engine.fleet import FleetResult, Routing, simulate_fleet
from costmodel.engine.replica import cost_of, deployed_of, limits_of
from costmodel.engine.results import SimResult
from costmodel.engine.runs import MeasuredRun, is_inference_sim_replay, load_measured, predict
from costmodel.engine.simulator import simulate
from costmodel.engine.workload import Workload, from_trace, poisson
from costmodel.profiles import Profile, profile_from_path_or_name
from costmodel.profiles.importers.vllm_bench import is_vllm_bench_record
from costmodel.profiles.schema import ReplicaModel
from costmodel.results import Slo
from traces import load_trace

ProfileOpt = Annotated[
    str,
    typer.Option(
        "--profile",
        metavar="PROFILE",
        help="A profile JSON with a replica model, or a bundled profile's name.",
        show_default=False,
    ),
]


def _replica(profile: Profile) -> ReplicaModel:
    if profile.replica_model is None:
        raise InputError(
            f"profile {profile.id}: no replica model; expected a profile written by `breakeven profile calibrate` "
            "or `breakeven profile estimate`"
        )
    return profile.replica_model


def _is_measured_run(path: Path) -> bool:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    records = doc if isinstance(doc, list) else [doc]
    return is_inference_sim_replay(doc) or any(is_vllm_bench_record(r) for r in records)


def _stat_cells(stats: dict[str, Any], scale: str) -> list[str]:
    def fmt(v: float | None) -> str:
        return "—" if v is None else f"{v:,.3g}" if scale == "s" else f"{v:,.1f}"

    return [fmt(stats.get(k)) for k in ("mean", "p50", "p90", "p99")]


def _render(summary: dict[str, Any], result: SimResult) -> None:
    table = Table(title=f"One replica, {summary['requests']:,} requests", title_justify="left")
    for col in ("metric", "mean", "p50", "p90", "p99"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    table.add_row("TTFT [ms]", *_stat_cells(summary["ttft_ms"], "ms"))
    table.add_row("TPOT [ms]", *_stat_cells(summary["tpot_ms"], "ms"))
    table.add_row("ITL [ms]", *_stat_cells(summary["itl_ms"], "ms"))
    table.add_row("E2E [s]", *_stat_cells(summary["e2e_s"], "s"))
    stdout.print(table)
    load = "OVERLOADED (the queue keeps growing)" if summary["overloaded"] else "keeps up"
    stdout.print(
        Text(
            f"completed {summary['completed']:,}, unfinished {summary['unfinished']:,}; "
            f"{summary['throughput_rps']:.3g} req/s, {summary['output_tok_s']:,.0f} output tok/s; "
            f"mean batch {summary['mean_batch']:.1f}; KV peak {summary['kv_peak_share']:.0%}; "
            f"{summary['preemptions']:,} preemptions; {load}"
        )
    )


def _render_fleet(s: dict[str, Any]) -> None:
    table = Table(
        title=f"{s['replicas']} replicas, {s['routing']} routing, {s['requests']:,} requests", title_justify="left"
    )
    for col in ("metric", "mean", "p50", "p90", "p99"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    table.add_row("TTFT [ms]", *_stat_cells(s["ttft_ms"], "ms"))
    table.add_row("TPOT [ms]", *_stat_cells(s["tpot_ms"], "ms"))
    table.add_row("E2E [s]", *_stat_cells(s["e2e_s"], "s"))
    stdout.print(table)
    slo = s.get("slo_attainment")
    stdout.print(
        Text(
            f"prefix-cache hit rate {s['hit_rate_tokens']:.1%} of prompt tokens ({s['prefill_tokens_saved']:,} prefill "
            f"tokens saved); {s['output_tok_s']:,.0f} output tok/s; mean ITL {s['itl_ms']['mean'] or 0:,.1f} ms; "
            f"completed {s['completed']:,}; per replica {s['requests_per_replica']}"
            + ("" if slo is None else f"; SLO met by {slo:.1%}")
        )
    )


def _compare(runs: list[MeasuredRun], results: list[SimResult]) -> list[dict[str, Any]]:
    rows = []
    for run, result in zip(runs, results, strict=True):
        for window in run.windows:
            pred = predict(run, result, window)
            for metric, measured in window.measured.items():
                if measured is None:
                    continue
                predicted = pred.get(metric)
                error = None if predicted is None or not measured else (predicted - measured) / measured
                rows.append(
                    {
                        "run": run.id,
                        "window": window.name,
                        "metric": metric,
                        "measured": measured,
                        "predicted": predicted,
                        "error": error,
                    }
                )
    return rows


@dataclass(frozen=True)
class PoissonOptions(OptionGroup):
    """A Poisson stream of fixed lengths to simulate (``--rate`` and its sizes)."""

    rate: Annotated[float | None, typer.Option("--rate", help="Poisson arrivals at this rate \\[req/s].")] = None
    requests: Annotated[int, typer.Option("--requests", min=1, help="Requests of the Poisson stream.")] = 1000
    input_tokens: Annotated[int, typer.Option("--input-tokens", min=1, help="Prompt tokens per request.")] = 1000
    output_tokens: Annotated[int, typer.Option("--output-tokens", min=1, help="Output tokens per request.")] = 200

    def workload(self, seed: int) -> Workload:
        """The stream, drawn with ``seed``."""
        rate = self.rate
        if rate is None or not (math.isfinite(rate) and rate > 0):
            raise InputError(f"option --rate: expected a positive request rate [req/s], found {rate!r}")
        rng = np.random.default_rng(seed)
        return poisson(rate, self.requests, self.input_tokens, self.output_tokens, rng=rng)


@dataclass(frozen=True)
class RouterOptions(OptionGroup):
    """A fleet of replicas behind a router (``--replicas``, ``--routing``, ``--users``)."""

    replicas: Annotated[int, typer.Option("--replicas", min=1, help="Replicas behind the router.")] = 1
    routing: Annotated[
        Routing | None,
        typer.Option(
            "--routing",
            help="How a fleet of --replicas routes requests: round_robin, least_loaded, session (sticky) or "
            "kv_aware (Dynamo's overlap-against-load score) \\[default: round_robin].",
            show_default=False,
        ),
    ] = None
    users: Annotated[
        int | None,
        typer.Option(
            "--users",
            min=1,
            help="Closed loop: this many users each run one conversation of the trace at a time (needs "
            "session_id; turns wait think_time_s after the previous answer).",
            show_default=False,
        ),
    ] = None

    @property
    def wanted(self) -> bool:
        """Whether any fleet option was given (one replica with no routing or users is the single-replica run)."""
        return self.replicas > 1 or self.routing is not None or self.users is not None

    def replay(self, model: ReplicaModel, source: Path, *, prefix_caching: bool, seed: int) -> FleetResult:
        """The trace ``source`` replayed on the fleet (a closed loop with ``users``)."""
        return simulate_fleet(
            from_trace(load_trace(str(source))),
            cost_of(model),
            limits_of(model),
            replicas=self.replicas,
            routing=self.routing or "round_robin",
            users=self.users,
            prefix_caching=prefix_caching,
            seed=seed,
        )


@with_option_groups
def simulate_cmd(
    *,
    profile: ProfileOpt,
    replay: Annotated[
        Path | None,
        typer.Option(
            "--replay",
            metavar="FILE",
            help="Replay a measured run (inference-sim replay JSON; vllm bench result JSON — its lengths at its "
            "rate, all at once for 'inf') or any trace the trace loaders read; a measured run is compared with "
            "what was measured.",
            show_default=False,
        ),
    ] = None,
    trace: Annotated[
        Path | None,
        typer.Option("--trace", metavar="FILE", help="A request trace (any format `breakeven trace info` reads)."),
    ] = None,
    stream: PoissonOptions,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the Poisson stream.")] = 0,
    fleet: RouterOptions,
    prefix_caching: Annotated[
        bool,
        typer.Option("--prefix-caching/--no-prefix-caching", help="vLLM's prefix cache (on by default, as in vLLM)."),
    ] = True,
    slo_ttft_ms: Annotated[
        float, typer.Option("--slo-ttft-ms", min=0.001, help="TTFT target for SLO attainment.")
    ] = 600.0,
    slo_tpot_ms: Annotated[
        float, typer.Option("--slo-tpot-ms", min=0.001, help="TPOT target for SLO attainment.")
    ] = 60.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Simulate vLLM replicas step by step (continuous batching, chunked prefill, KV blocks, preemption, prefix
    cache) and print TTFT, TPOT, ITL and end-to-end percentiles, throughput and whether they kept up; with
    --replicas / --routing / --users, a routed fleet with its prefix-cache hit rate and SLO attainment."""
    model = _replica(profile_from_path_or_name(profile))
    chosen = [x for x in (replay, trace, stream.rate) if x is not None]
    if len(chosen) != 1:
        raise InputError("expected exactly one of --replay FILE, --trace FILE or --rate R (with --requests etc.)")
    if fleet.wanted:
        source = trace or replay
        if source is None or (trace is None and _is_measured_run(source)):
            raise InputError("a fleet (--replicas, --routing, --users) replays a trace: expected --trace FILE")
        replayed = fleet.replay(model, source, prefix_caching=prefix_caching, seed=seed)
        summary = replayed.summary(slo_ttft_ms=slo_ttft_ms, slo_tpot_ms=slo_tpot_ms)
        if as_json:
            print_json(summary)
        else:
            _render_fleet(summary)
        return
    runs, workloads = _workloads(model, replay, trace, stream, seed=seed)
    results = [
        simulate(
            w,
            cost_of(model),
            limits_of(model),
            horizon_s=None if stream.rate is None else float(w.arrival_s[-1]) + 3600.0,
            prefix_caching=prefix_caching,
        )
        for w in workloads
    ]
    _print_runs(results, _compare(runs, results) if runs else [], as_json=as_json)


def _workloads(
    model: ReplicaModel, replay: Path | None, trace: Path | None, stream: PoissonOptions, *, seed: int
) -> tuple[list[MeasuredRun], list[Workload]]:
    """What ``simulate`` replays: a measured run's workloads (with the run, to compare), a trace, or a Poisson
    stream of fixed lengths."""
    if replay is not None and _is_measured_run(replay):
        deployed = deployed_of(model.arch, model.gpu, model.engine, tp=model.tp, weight_dtype=model.weight_dtype)
        runs = load_measured([replay], deployed, model.engine.kv_cache_tokens)
        return runs, [r.workload for r in runs]
    path = replay if replay is not None else trace
    if path is not None:
        return [], [from_trace(load_trace(str(path)))]
    return [], [stream.workload(seed)]


def _print_runs(results: list[SimResult], comparison: list[dict[str, Any]], *, as_json: bool) -> None:
    """Each simulated run's figures, then the measured-against-predicted table when a measured run was replayed."""
    summaries = [r.summary() for r in results]
    if as_json:
        out: dict[str, Any] = dict(summaries[0]) if len(summaries) == 1 else {"runs": summaries}
        if comparison:
            out["measured_vs_predicted"] = comparison
        print_json(out)
        return
    for summary, result in zip(summaries, results, strict=True):
        _render(summary, result)
    if comparison:
        table = Table(title="Predicted against measured", title_justify="left")
        for col in ("run", "window", "metric", "measured", "predicted", "error"):
            table.add_column(col, justify="left" if col in ("run", "window", "metric") else "right")
        for row in comparison:
            pred = "—" if row["predicted"] is None else f"{row['predicted']:,.4g}"
            err = "—" if row["error"] is None else f"{row['error']:+.1%}"
            table.add_row(row["run"], row["window"], row["metric"], f"{row['measured']:,.4g}", pred, err)
        stdout.print(table)


def capacity_cmd(
    *,
    profile: ProfileOpt,
    input_tokens: Annotated[float, typer.Option("--input-tokens", min=1, help="Prompt tokens per request.")],
    output_tokens: Annotated[float, typer.Option("--output-tokens", min=1, help="Output tokens per request.")],
    slo_ttft_ms: Annotated[float, typer.Option("--slo-ttft-ms", min=0.001, help="TTFT target \\[ms].")] = 600.0,
    slo_tpot_ms: Annotated[float, typer.Option("--slo-tpot-ms", min=0.001, help="TPOT target \\[ms].")] = 60.0,
    percentile: Annotated[
        PercentileChoice, typer.Option("--percentile", help="Statistic the targets apply to.")
    ] = PercentileChoice.p90,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the simulated Poisson stream.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
) -> None:
    """The largest steady Poisson rate one replica sustains with the SLO percentile met, found by simulation."""
    loaded = profile_from_path_or_name(profile)
    model = _replica(loaded)
    slo = Slo(ttft_ms=slo_ttft_ms, tpot_ms=slo_tpot_ms, percentile=percentile.value)
    found = max_rps(cost_of(model), limits_of(model), slo, input_tokens, output_tokens, seed=seed)
    at = found.at_capacity
    answer: dict[str, Any] = {
        "profile": loaded.id,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "slo": slo.model_dump(),
        "max_rps": found.rps,
        "binding": found.binding,
        "in_server_at_capacity": None if at is None else at.in_system,
        f"ttft_{slo.percentile}_ms": None if at is None else at.ttft_ms,
        f"tpot_{slo.percentile}_ms": None if at is None else at.tpot_ms,
        "e2e_mean_s": None if at is None else at.e2e_mean_s,
        "expected_error": model.expected_error,
        "estimated": model.estimated,
        "trials": [
            {"rate_rps": t.rate_rps, "ok": t.ok, "binding": t.binding, "ttft_ms": t.ttft_ms, "tpot_ms": t.tpot_ms}
            for t in found.trials
        ],
    }
    if as_json:
        print_json(answer)
        return
    if not found.reachable:
        what = f"{input_tokens:,.0f} in / {output_tokens:,.0f} out"
        stdout.print(Text(f"SLO unreachable for {what}: {found.binding} fails even at a trickle"))
        return
    assert at is not None  # reachable
    errs = ", ".join(f"{k}: ±{v:.0%}" for k, v in model.expected_error.items()) or "not stated"
    stdout.print(
        Text(
            f"max_rps {found.rps:.3g} req/s for {input_tokens:,.0f} in / {output_tokens:,.0f} out tokens "
            f"(next limit: {found.binding}); at that rate {at.in_system:.1f} requests in the server, "
            f"{slo.percentile} TTFT {at.ttft_ms:,.0f} ms, {slo.percentile} TPOT {at.tpot_ms:,.1f} ms, mean E2E "
            f"{at.e2e_mean_s:,.3g} s. Replica model {'estimated' if model.estimated else 'calibrated'}; typical "
            f"error {errs}."
        )
    )
