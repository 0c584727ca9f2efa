"""The prefix-caching chart: the primary dedicated option's monthly cost by routing policy, with the
prefix-cache hit rate each policy reached in the simulated fleet (traces with ``hash_ids``)."""

from __future__ import annotations

from markupsafe import Markup

from costmodel.results import PrefixCaching, Results, RoutingRow
from reports.blocks import Chart, DataTable
from reports.fmt import fmt
from reports.plots import LegendItem, RowPlot
from reports.svg import compact_usd

LABELS = {
    "none": "prefix caching off",
    "round_robin": "round robin",
    "least_loaded": "least loaded",
    "session": "session-sticky",
    "kv_aware": "KV-aware (Dynamo)",
}


def routing_chart(results: Results) -> Chart:
    """Monthly cost by routing policy (bars), the chosen policy marked; its data as a table."""
    title = "Prefix caching: monthly cost by routing policy"
    pc = results.prefix_caching
    if pc is None:
        why = (
            "the trace carries no prompt prefixes (hash_ids), or the dedicated profile has no replica model to "
            "simulate its prefix cache with."
        )
        return Chart("chart-routing", title, "", missing=why)
    return Chart("chart-routing", title, _summary(pc), [_panel(pc)], _table(pc), notes=list(pc.notes))


def _summary(pc: PrefixCaching) -> str:
    rows: dict[str, RoutingRow] = {r.routing: r for r in pc.rows}
    off, chosen = rows.get("none"), rows.get(pc.routing)
    fleet = f"{pc.probe_replicas} replica{'' if pc.probe_replicas == 1 else 's'}"
    parts = [
        (
            f"Simulated on {pc.probe_requests:,} requests through {fleet}: an infinite cache of prompts would hit "
            f"{pc.infinite_cache_share:.0%} of prompt tokens."
            + (
                " With one replica every routing policy sends every request to the same cache."
                if pc.probe_replicas == 1
                else ""
            )
        )
    ]
    if off is not None and chosen is not None:
        name = LABELS.get(pc.routing, pc.routing)
        hit = f"With {name} routing the replicas' caches hit {chosen.hit_rate_tokens:.0%}"
        if chosen.hit_rate_tokens > pc.infinite_cache_share:
            hit += " (more than the prompts alone: vLLM also caches the answers a conversation's next turn repeats)"
        capacity = (
            f"one replica serves {fmt(chosen.replica_capacity_rps, 'rps')} req/s instead of "
            f"{fmt(off.replica_capacity_rps, 'rps')}"
        )
        if round(chosen.monthly_cost_usd, 2) == round(off.monthly_cost_usd, 2):
            cost = (
                f"yet the fleet costs the same {fmt(chosen.monthly_cost_usd, 'usd')} a month: at this traffic its "
                "size is not set by one replica's capacity"
            )
        else:
            cost = (
                f"and the fleet costs {fmt(chosen.monthly_cost_usd, 'usd')} a month instead of "
                f"{fmt(off.monthly_cost_usd, 'usd')}"
            )
        parts.append(f"{hit}, {capacity}, {cost}.")
    without, with_ = pc.breakeven_without_cache_rps, pc.breakeven_with_cache_rps
    if without is not None or with_ is not None:

        def said(rps: float | None) -> str:
            return "dedicated is never cheaper" if rps is None else f"it is {fmt(rps, 'rps')} req/s"

        parts.append(
            f"The capacity-aware break-even at the mean mix: without prefix caching {said(without)}; "
            f"with it {said(with_)}."
        )
    return " ".join(parts)


def _panel(pc: PrefixCaching) -> Markup:
    labels = [LABELS.get(r.routing, r.routing) + (" (chosen)" if r.routing == pc.routing else "") for r in pc.rows]
    plot = RowPlot(
        "chart-routing-cost",
        title="Monthly cost of the dedicated fleet",
        desc="For prefix caching off and each routing policy: the dedicated fleet's monthly cost.",
        labels=labels,
        x_label="Monthly cost [USD]",
    )
    plot.reserve_legend([LegendItem("monthly cost", "t-high", "bar"), LegendItem("the policy costed", "t-low", "bar")])
    plot.scale([0.0, *(r.monthly_cost_usd for r in pc.rows)], log=False, fmt=compact_usd)
    for i, r in enumerate(pc.rows):
        plot.bar(
            i,
            0.0,
            r.monthly_cost_usd,
            cls="t-low" if r.routing == pc.routing else "t-high",
            tooltip=f"{LABELS.get(r.routing, r.routing)}: hit rate {r.hit_rate_tokens:.0%}, "
            f"{fmt(r.monthly_cost_usd, 'usd')} a month",
        )
    return plot.render()


def _table(pc: PrefixCaching) -> DataTable:
    rows = [
        [
            LABELS.get(r.routing, r.routing),
            f"{r.hit_rate_tokens:.1%}",
            fmt(r.replica_capacity_rps, "rps"),
            fmt(r.monthly_cost_usd, "usd"),
            f"{r.gpu_hours:,.1f}",
            "—" if r.slo_attainment is None else f"{r.slo_attainment:.1%}",
            "—" if r.probe_ttft_p90_ms is None else f"{r.probe_ttft_p90_ms:,.0f}",
            "—" if r.probe_output_tok_s is None else f"{r.probe_output_tok_s:,.0f}",
        ]
        for r in pc.rows
    ]
    return DataTable(
        caption="Prefix caching and routing",
        headers=[
            "routing",
            "hit rate (prompt tokens)",
            "replica capacity [req/s]",
            "monthly cost",
            "GPU-hours",
            "SLO met",
            "probe p90 TTFT [ms]",
            "probe output tok/s",
        ],
        rows=rows,
        numeric=[False, True, True, True, True, True, True, True],
        id="table-routing",
    )
