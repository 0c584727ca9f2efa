"""The report's reference tables: cost breakdown, SLOs, inputs, price sources, profiles, trace summary."""

from __future__ import annotations

import re
from collections.abc import Callable

from markupsafe import Markup

from costmodel.profiles.schema import Profile
from costmodel.results import Option, PriceUsed, Results
from pricing.models import GpuPrice, OwnedServer, TokenPrice
from reports.blocks import Cell, DataTable
from reports.finance_tables import capacity_price_text, finance_rows
from reports.fmt import MISSING, Kind, fmt

_URL = re.compile(r"^https?://[^\s\"'<>]+$")


def badge(text: str, cls: str) -> Markup:
    """A small coloured label (stale, recommended, ...)."""
    return Markup('<span class="badge {}">{}</span>').format(cls, text)


def source_cell(source: str) -> Cell:
    """A source citation: a link when it is an http(s) URL (never another scheme), else text."""
    if _URL.match(source):
        return Markup('<a href="{}" rel="noreferrer noopener">{}</a>').format(source, source)
    return source


# ------------------------------------------------------------------------------------------- costs


def _row(label: str, options: list[Option], get: Callable[[Option], object], kind: Kind) -> list[Cell]:
    return [label, *(fmt(get(o), kind) for o in options)]


def _tok(attr: str) -> Callable[[Option], object]:
    return lambda o: getattr(o.token_costs, attr) if o.token_costs else None


def _reuse(tokens: float | None, blocks: float | None) -> str:
    if tokens is None and blocks is None:
        return MISSING
    return f"{fmt(tokens, 'pct')} / {fmt(blocks, 'pct')}"


def _cached_share(o: Option) -> float | None:
    t = o.token_costs
    if t is None or not t.input_tokens or t.cached_input_tokens is None:
        return None
    return t.cached_input_tokens / t.input_tokens


def _gpu_hours(attr: str) -> Callable[[Option], object]:
    return lambda o: getattr(o.gpu_costs.hours, attr) if o.gpu_costs else None


def _rep(attr: str) -> Callable[[Option], object]:
    return lambda o: getattr(o.replicas, attr) if o.replicas else None


def cost_breakdown(results: Results) -> DataTable:
    """Line items (rows) by option (columns): totals, the token bill by type, GPU-hours busy/idle/cold."""
    opts = results.options
    rec_id = results.recommendation.option_id
    headers = ["Line item", *(o.label + (" (recommended)" if o.id == rec_id else "") for o in opts)]
    rows: list[list[Cell]] = [
        ["Kind", *(o.kind for o in opts)],
        _row("Monthly cost (730 h)", opts, lambda o: o.monthly_cost_usd, "usd"),
        _row("Cost over the trace", opts, lambda o: o.total_cost_usd, "usd"),
        *finance_rows(opts),
        _row("Token bill: input", opts, _tok("input_usd"), "usd"),
        _row("Token bill: cached input", opts, _tok("cached_input_usd"), "usd"),
        _row("Token bill: prompt-cache writes", opts, _tok("cache_write_usd"), "usd"),
        _row("Input billed as cached", opts, _cached_share, "pct"),
        _row("Token bill: output", opts, _tok("output_usd"), "usd"),
        _row("… of which long-context surcharge", opts, _tok("long_context_extra_usd"), "usd"),
        _row("Batch-tier savings (subtracted)", opts, _tok("batch_savings_usd"), "usd"),
        _row("Token bill: total", opts, _tok("total_usd"), "usd"),
        _row("Requests billed by the token", opts, _tok("requests"), "count"),
        ["GPU price", *(_gpu_price(o) for o in opts)],
        _row("GPU-hours busy", opts, _gpu_hours("busy"), "hours"),
        _row("GPU-hours idle", opts, _gpu_hours("idle"), "hours"),
        _row("GPU-hours cold start", opts, _gpu_hours("cold_start"), "hours"),
        _row("GPU-hours billed, total", opts, _gpu_hours("total"), "hours"),
        _row("GPU bill", opts, lambda o: o.gpu_costs.total_usd if o.gpu_costs else None, "usd"),
        ["Fleet policy", *((o.replicas.policy if o.replicas else MISSING) for o in opts)],
        _row("Replicas, mean", opts, _rep("mean"), "num"),
        _row("Replicas, peak", opts, _rep("peak"), "count"),
        _row("Cold starts", opts, _rep("cold_starts"), "count"),
        _row("Capacity per replica [req/s]", opts, _rep("capacity_rps_per_replica"), "rps"),
        _row("Utilization (busy share)", opts, _rep("utilization"), "pct"),
        _row("Overflow to serverless", opts, lambda o: o.overflow_share, "pct"),
        _row("Minutes over rate limits", opts, lambda o: o.rate_limit_violations, "count"),
        ["Price ids", *(", ".join(i for i in (o.serverless_price_id, o.gpu_price_id) if i) or MISSING for o in opts)],
        ["Profile", *((o.profile_id or MISSING) for o in opts)],
        ["Notes", *((listing(o.notes, "note") if o.notes else MISSING) for o in opts)],
    ]
    numeric = [False] + [True] * len(opts)
    return DataTable("Cost breakdown by option", headers, rows, numeric, id="table-costs")


def _gpu_price(o: Option) -> str:
    if o.gpu_costs is None:
        return MISSING
    return f"{fmt(o.gpu_costs.hourly_usd, 'usd')}/h ({o.gpu_costs.tier.replace('_', '-')})"


# ------------------------------------------------------------------------------------------ inputs


def slo_table(results: Results) -> DataTable:
    """The latency targets."""
    slo = results.inputs.slo
    rows: list[list[Cell]] = [
        ["Time to first token", f"≤ {fmt(slo.ttft_ms, 'ms')} ms"],
        ["Time per output token", f"≤ {fmt(slo.tpot_ms, 'ms')} ms"],
        ["Percentile checked in capacity planning", slo.percentile],
        ["Requests that must meet both", f"≥ {fmt(slo.attainment_target, 'pct')}"],
    ]
    return DataTable("Service-level objectives", ["Target", "Value"], rows, id="table-slo")


def inputs_table(results: Results) -> DataTable:
    """What the analysis was asked (to reproduce it)."""
    i = results.inputs
    p = i.policy
    policy = (
        f"{p.kind}; replicas {p.min_replicas}–{p.max_replicas}; target utilization {fmt(p.target_utilization, 'pct')}; "
        f"queue threshold {fmt(p.queue_threshold, 'num')}/replica; "
        f"scale-up cooldown {fmt(p.scale_up_cooldown_s, 'num')} s; "
        f"idle timeout {fmt(p.idle_timeout_s, 'num')} s; decisions every {fmt(p.decision_interval_s, 'num')} s"
    )
    rows: list[list[Cell]] = [
        ["Scenario", i.scenario],
        ["Trace", i.trace_source or MISSING],
        ["Profiles", ", ".join(i.profile_sources) or MISSING],
        ["Serverless prices compared", ", ".join(i.serverless_price_ids) or MISSING],
        ["GPU prices compared", ", ".join(i.gpu_price_ids) or MISSING],
        ["Extra price files", ", ".join(i.price_files) or "bundled catalog only"],
        ["GPU price tier", i.price_tier.replace("_", "-")],
        ["Autoscaling policy", policy],
        ["Analysis date (as of)", i.as_of],
        ["Prices flagged stale after", f"{i.stale_after_days} days"],
        ["Currency", _currency(results)],
        *_finance_inputs(results),
        ["Random seed", str(i.seed)],
        ["Generated", results.generated_at.isoformat(timespec="seconds")],
        ["Tool version", f"llm-breakeven {results.tool_version}"],
    ]
    return DataTable("Inputs", ["Input", "Value"], rows, id="table-inputs")


def _currency(results: Results) -> str:
    i = results.inputs
    if not i.exchange_rates:
        return f"{i.currency} (the prices' own; nothing converted)"
    rates = ", ".join(f"1 {code} = {rate:g} {i.currency}" for code, rate in sorted(i.exchange_rates.items()))
    return f"{i.currency}; converted at the rates given: {rates}"


def _finance_inputs(results: Results) -> list[list[Cell]]:
    f = results.inputs.finance
    if f is None:
        return []
    spot = "priced where a spot price exists" if f.spot else "not priced (--no-spot)"
    if f.spot and f.spot_mtbp_hours is not None:
        spot += f", {fmt(f.spot_mtbp_hours, 'num')} h between preemptions (given)"
    rows: list[list[Cell]] = [
        ["Commitment", f"{f.commitment}; planned for the trace's rate × {fmt(f.growth, 'num')}"],
        ["Spot", f"{spot}; requests on a preempted replica: {f.lost_requests}"],
    ]
    if f.owned:
        servers = "planned" if f.owned_servers is None else f"{f.owned_servers} server(s)"
        rows.append(["Owned servers", f"{', '.join(f.owned)} ({servers})"])
    return rows


def prices_table(results: Results) -> DataTable:
    """Every catalog entry used, with its date, age and source; stale ones flagged."""
    rows = [_price_row(p) for p in results.prices]
    headers = ["Price id", "Price", "As of", "Age", "Status", "Source", "Catalog file", "Notes"]
    return DataTable(
        "Price sources", headers, rows, [False, False, False, True, False, False, False, False], id="table-prices"
    )


def _price_row(p: PriceUsed) -> list[Cell]:
    price = p.price
    status = badge("stale", "stale") if p.stale else badge("current", "ok")
    return [
        price.id,
        _price_text(price),
        price.as_of.isoformat(),
        f"{p.age_days} days",
        status,
        source_cell(price.source),
        p.origin,
        price.notes or MISSING,
    ]


def _price_text(price: TokenPrice | GpuPrice | OwnedServer) -> str:
    cur = "" if price.currency == "USD" else f" {price.currency}"
    if isinstance(price, OwnedServer):
        return capacity_price_text(price)
    if isinstance(price, TokenPrice):
        text = (
            f"{fmt(price.input_usd_per_mtok, 'usd_price')} input / {fmt(price.output_usd_per_mtok, 'usd_price')} "
            f"output per 1M tokens{cur}"
        )
        if price.cached_input_usd_per_mtok is not None:
            text += f"; cached input {fmt(price.cached_input_usd_per_mtok, 'usd_price')}"
        if price.batch_discount:
            text += f"; batch {fmt(price.batch_discount, 'pct')} off"
        return text
    text = f"{fmt(price.hourly_usd, 'usd_price')}/h{cur} for {price.gpu_count}× {price.gpu} ({price.offering})"
    if price.reserved_hourly_usd is not None:
        text += f"; reserved {fmt(price.reserved_hourly_usd, 'usd_price')}/h"
    if price.spot_hourly_usd is not None:
        text += f"; spot {fmt(price.spot_hourly_usd, 'usd_price')}/h"
    extra = capacity_price_text(price)
    text += f"; billed per {price.billing_increment_s} s, minimum {price.minimum_billed_s} s"
    return f"{text}; {extra}" if extra else text


def profiles_table(results: Results) -> DataTable:
    """Where each measured profile's numbers came from."""
    rows = [_profile_row(p) for p in results.profiles]
    headers = ["Profile", "Model", "Hardware", "Engine", "Cold start", "Warm points", "Sources", "Notes"]
    return DataTable("Profile provenance", headers, rows, id="table-profiles")


def _profile_row(p: Profile) -> list[Cell]:
    hw = f"{p.gpu_count}× {p.gpu}" if p.gpu else "serverless API"
    engine = p.engine.name + (f" {p.engine.version}" if p.engine.version else "")
    cold = MISSING
    if p.cold_start is not None:
        cs = p.cold_start
        best = cs.best_total_s()
        cold = f"{fmt(best, 'num')} s" if best is not None else "unknown"
        if cs.samples_s:
            cold += f" ({len(cs.samples_s)} samples, {fmt(min(cs.samples_s), 'num')}–{fmt(max(cs.samples_s), 'num')} s)"
        if cs.failed:
            cold += "; failed to start"
    valid = [w for w in p.warm if w.valid]
    conc = [w.concurrency for w in valid if w.concurrency is not None]
    warm = f"{len(valid)} valid of {len(p.warm)}"
    if conc:
        warm += f"; concurrency {fmt(min(conc), 'num')}–{fmt(max(conc), 'num')}"
    sources = [
        " ".join(
            x
            for x in (
                s.path,
                f"[{s.kind}]",
                s.tool,
                s.tool_version,
                s.date,
                f"sha256 {s.sha256[:12]}" if s.sha256 else None,
            )
            if x
        )
        for s in p.provenance.sources
    ]
    return [
        p.id,
        p.model,
        hw,
        engine,
        cold,
        warm,
        listing(sources, "source") if sources else MISSING,
        listing(p.provenance.notes, "note") if p.provenance.notes else MISSING,
    ]


#: Lists longer than this collapse into a <details> element that shows their count.
LIST_OPEN_ITEMS = 3


def listing(items: list[str], noun: str) -> Markup:
    """Items as a readable list (escaped); more than :data:`LIST_OPEN_ITEMS` collapse into a detail that
    says how many there are (``<details><summary>8 sources</summary>...``)."""
    body = Markup('<ul class="cell-list">{}</ul>').format(
        Markup("").join(Markup("<li>{}</li>").format(item) for item in items)
    )
    if len(items) <= LIST_OPEN_ITEMS:
        return body
    return Markup('<details class="cell-details"><summary>{} {}s</summary>{}</details>').format(len(items), noun, body)


def trace_table(results: Results) -> DataTable:
    """The trace summary."""
    t = results.trace
    rows: list[list[Cell]] = [
        ["Source", t.source or MISSING],
        ["Format", t.format],
        ["Start time", t.start_time or MISSING],
        ["Requests", fmt(t.requests, "count")],
        ["Duration", f"{fmt(t.duration_s / 3600, 'hours')} h ({fmt(t.duration_s, 'count')} s)"],
        ["Mean rate", f"{fmt(t.mean_rps, 'rps')} req/s"],
        ["Peak rate, 1 s window", f"{fmt(t.peak_rps_1s, 'rps')} req/s"],
        ["Peak rate, 60 s window", f"{fmt(t.peak_rps_60s, 'rps')} req/s"],
        ["Inter-arrival CV (1 = Poisson)", fmt(t.interarrival_cv, "num")],
        [
            "Input tokens mean / p50 / p90 / p99",
            " / ".join(
                fmt(v, "tokens")
                for v in (t.input_tokens_mean, t.input_tokens_p50, t.input_tokens_p90, t.input_tokens_p99)
            ),
        ],
        [
            "Output tokens mean / p50 / p90 / p99",
            " / ".join(
                fmt(v, "tokens")
                for v in (t.output_tokens_mean, t.output_tokens_p50, t.output_tokens_p90, t.output_tokens_p99)
            ),
        ],
        ["Input tokens, total", fmt(t.input_tokens_total, "count")],
        ["Output tokens, total", fmt(t.output_tokens_total, "count")],
        ["Cached input tokens, total", fmt(t.cached_tokens_total, "count")],
        [
            "Prefix reuse, infinite cache (tokens / blocks)",
            _reuse(t.prefix_reuse_token_share, t.prefix_reuse_block_share),
        ],
        ["Failed requests", fmt(t.failed_requests, "count")],
        ["Rows skipped while loading", fmt(t.skipped_rows, "count")],
    ]
    if t.models:
        rows.append(["Requests by model", ", ".join(f"{m}: {fmt(n, 'count')}" for m, n in sorted(t.models.items()))])
    if t.warnings:
        rows.append(["Loader warnings", "; ".join(t.warnings)])
    return DataTable("Trace summary", ["Statistic", "Value"], rows, id="table-trace")
