"""The verdict block: plain sentences whose every number is read from results.json by JSON pointer.

:class:`Refs` looks values up in the JSON form of the results (RFC 6901 pointers such as
``/options/0/monthly_cost_usd``) and wraps each one in ``<data value=... data-pointer=...>``: the value
attribute carries the exact JSON number, the text carries it formatted by :func:`reports.fmt.fmt`. A
number that is not in results.json therefore cannot appear in the verdict, and a test re-reads each one.
Names from the results (option labels) are wrapped the same way (``<span data-pointer>``), escaped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

from costmodel.results import Option, Results
from reports.charts.common import METHOD_LABELS
from reports.fmt import Kind, fmt


def pointer(*parts: str | int) -> str:
    """An RFC 6901 JSON pointer from path parts (``~`` and ``/`` escaped)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def resolve(doc: Any, ptr: str) -> Any:
    """The value at JSON pointer ``ptr`` in ``doc`` (``KeyError`` / ``IndexError`` when absent)."""
    node = doc
    for raw in ptr.split("/")[1:]:
        key = raw.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


class Refs:
    """Formats values read from the results' JSON document, tagged with their pointer."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc

    def num(self, ptr: str, kind: Kind) -> Markup:
        """``<data>`` with the JSON value at ``ptr`` formatted as ``kind``."""
        value = resolve(self.doc, ptr)
        return Markup('<data class="num" value="{}" data-pointer="{}" data-kind="{}">{}</data>').format(
            json.dumps(value), ptr, kind, fmt(value, kind)
        )

    def text(self, ptr: str) -> Markup:
        """``<span>`` with the JSON string at ``ptr`` (escaped)."""
        return Markup('<span class="ref" data-pointer="{}">{}</span>').format(ptr, str(resolve(self.doc, ptr)))


@dataclass
class OptionLine:
    """One row of the verdict's cost table."""

    label: Markup
    kind: str
    monthly: Markup
    annual: Markup
    per_1k: Markup
    slo: Markup
    recommended: bool
    meets_slo: bool | None


@dataclass
class Verdict:
    """What the template shows first."""

    kind: str
    run: Markup
    headline: Markup
    facts: list[Markup] = field(default_factory=list)
    options: list[OptionLine] = field(default_factory=list)
    details: list[Markup] = field(default_factory=list)
    risks: list[tuple[str, str, Markup]] = field(default_factory=list)
    warnings: list[Markup] = field(default_factory=list)


def build_verdict(results: Results, doc: dict[str, Any]) -> Verdict:
    """The verdict sentences for ``results`` (``doc`` is its JSON form, for the pointers)."""
    refs = Refs(doc)
    rec = results.recommendation
    index = {o.id: i for i, o in enumerate(results.options)}
    best_i = index.get(rec.option_id) if rec.option_id else None

    if best_i is not None:
        verb = "" if results.options[best_i].pricing in ("committed", "owned") else "Run "  # label has its verb
        run = Markup("{}{}: {} a month.").format(
            verb,
            refs.text(pointer("options", best_i, "label")),
            refs.num(pointer("options", best_i, "monthly_cost_usd"), "usd"),
        )
    else:
        run = Markup("No option meets the latency SLO for this traffic.")
    verdict = Verdict(kind=rec.kind, run=run, headline=refs.text("/recommendation/headline"))

    verdict.facts += _saving(results, refs, index)
    verdict.facts += _slo(results, refs, best_i)
    verdict.facts += _breakeven(results, refs)
    verdict.facts += _finance(results, refs)
    verdict.options = [
        _option_line(o, i, refs, o.id == rec.option_id)
        for i, o in sorted(enumerate(results.options), key=lambda p: p[1].monthly_cost_usd)
    ]
    verdict.details = [refs.text(pointer("recommendation", "details", i)) for i in range(len(rec.details))]
    verdict.risks = [
        (r.severity, r.code, refs.text(pointer("recommendation", "risks", i, "message")))
        for i, r in enumerate(rec.risks)
    ]
    verdict.warnings = [refs.text(pointer("warnings", i)) for i in range(len(results.warnings))]
    return verdict


def _saving(results: Results, refs: Refs, index: dict[str, int]) -> list[Markup]:
    rec = results.recommendation
    if rec.option_id is None or rec.runner_up_option_id not in index:
        return []
    j = index[rec.runner_up_option_id]
    return [
        Markup("It saves {} a month over the next-best option, {}, which costs {} a month.").format(
            refs.num("/recommendation/monthly_saving_usd", "usd"),
            refs.text(pointer("options", j, "label")),
            refs.num(pointer("options", j, "monthly_cost_usd"), "usd"),
        )
    ]


def _slo_terms(refs: Refs) -> Markup:
    return Markup("time to first token ≤ {} ms and time per output token ≤ {} ms at {}").format(
        refs.num("/inputs/slo/ttft_ms", "ms"),
        refs.num("/inputs/slo/tpot_ms", "ms"),
        refs.text("/inputs/slo/percentile"),
    )


def _slo(results: Results, refs: Refs, best_i: int | None) -> list[Markup]:
    rec = results.recommendation
    target = refs.num("/inputs/slo/attainment_target", "pct")
    if best_i is None:
        return [
            Markup("The SLO asks for {} of requests within {}; no option reaches it.").format(target, _slo_terms(refs))
        ]
    best = results.options[best_i]
    if rec.slo_attainment is None or best.latency is None:
        return [
            Markup(
                "Its latency is unknown (no latency profile), so whether it meets the SLO ({}) is not measured."
            ).format(_slo_terms(refs))
        ]
    status = "meets" if best.meets_slo is not False else "misses"
    return [
        Markup("{} of its requests meet the SLO ({}); it {} the target of {}.").format(
            refs.num("/recommendation/slo_attainment", "pct"), _slo_terms(refs), status, target
        )
    ]


def _cheapest_index(results: Results, kind: str) -> int | None:
    family = [(o.monthly_cost_usd, i) for i, o in enumerate(results.options) if o.kind == kind]
    return min(family)[1] if family else None


def _breakeven(results: Results, refs: Refs) -> list[Markup]:
    rec = results.recommendation
    facts: list[Markup] = []
    method = escape(METHOD_LABELS.get(rec.breakeven_method or "", ""))
    tokens = refs.num("/recommendation/output_tokens_mean", "tokens")
    user = refs.num("/recommendation/user_rps", "rps")
    lines = rec.breakeven_lines
    why = (
        Markup(", the one to sign: {}").format(refs.text("/recommendation/breakeven_lines/0/why"))
        if lines and lines[0].role == "headline" and lines[0].why
        else Markup("")
    )
    if rec.breakeven_method is not None and rec.breakeven_rps is not None:
        side = "below" if rec.user_rps < rec.breakeven_rps else "above"
        facts.append(
            Markup(
                "Serverless is cheaper below {} req/s at ~{} output tokens ({} break-even{}); "
                "your traffic, {} req/s on average, is {} that line."
            ).format(refs.num("/recommendation/breakeven_rps", "rps"), tokens, method, why, user, side)
        )
    elif rec.breakeven_method is not None:
        facts.append(
            Markup(
                "Dedicated is never cheaper than serverless at ~{} output tokens ({} break-even{}); "
                "your traffic averages {} req/s."
            ).format(tokens, method, why, user)
        )
    others = [
        Markup("the {} break-even, {} ({})").format(
            refs.text(pointer("recommendation", "breakeven_lines", i, "name")),
            refs.num(pointer("recommendation", "breakeven_lines", i, "breakeven_rps"), "rps") + Markup(" req/s")
            if line.breakeven_rps is not None
            else Markup("dedicated never cheaper"),
            refs.text(pointer("recommendation", "breakeven_lines", i, "meaning")),
        )
        for i, line in enumerate(lines)
        if line.role == "context"
    ]
    if others:
        facts.append(
            Markup("The report's other break-even numbers answer other questions: {}.").format(
                Markup("; ").join(others)
            )
        )
    s_i, d_i = _cheapest_index(results, "serverless"), _cheapest_index(results, "dedicated")
    if s_i is not None and d_i is not None:
        facts.append(
            Markup("At your {} req/s, {} costs {} a month and {} costs {}.").format(
                user,
                refs.text(pointer("options", s_i, "label")),
                refs.num(pointer("options", s_i, "monthly_cost_usd"), "usd"),
                refs.text(pointer("options", d_i, "label")),
                refs.num(pointer("options", d_i, "monthly_cost_usd"), "usd"),
            )
        )
    return facts


def _finance(results: Results, refs: Refs) -> list[Markup]:
    """What a commitment and spot would change, when the comparison has them."""
    facts: list[Markup] = []
    for i, o in enumerate(results.options):
        if o.commitment is not None and o.commitment.base == "committed":
            facts.append(
                Markup(
                    "With a commitment: {} costs {} a month, busy or idle, and obliges {} over its {} months; "
                    "a committed replica pays off when it would otherwise run {} of the hours."
                ).format(
                    refs.text(pointer("options", i, "label")),
                    refs.num(pointer("options", i, "monthly_cost_usd"), "usd"),
                    refs.num(pointer("options", i, "commitment", "obligation_usd"), "usd"),
                    refs.num(pointer("options", i, "commitment", "term_months"), "count"),
                    refs.num(pointer("options", i, "commitment", "breakeven_utilization"), "pct"),
                )
            )
        if o.spot is not None:
            facts.append(
                Markup(
                    "On spot: {} costs {} a month with {} preemptions expected ({} h between them, {}); {} of its "
                    "requests meet the SLO, {} if it were never preempted."
                ).format(
                    refs.text(pointer("options", i, "label")),
                    refs.num(pointer("options", i, "monthly_cost_usd"), "usd"),
                    refs.num(pointer("options", i, "spot", "expected_preemptions_per_month"), "num"),
                    refs.num(pointer("options", i, "spot", "mean_hours_between_preemptions"), "num"),
                    refs.text(pointer("options", i, "spot", "rate_source")),
                    refs.num(pointer("options", i, "slo_attainment"), "pct"),
                    refs.num(pointer("options", i, "spot", "slo_attainment_without_preemptions"), "pct"),
                )
            )
    return facts


MISS = Markup("–")


def _option_line(o: Option, i: int, refs: Refs, recommended: bool) -> OptionLine:
    if o.slo_attainment is not None:
        slo = refs.num(pointer("options", i, "slo_attainment"), "pct")
    else:
        slo = Markup("unknown")
    return OptionLine(
        label=refs.text(pointer("options", i, "label")),
        kind=o.kind,
        monthly=refs.num(pointer("options", i, "monthly_cost_usd"), "usd"),
        annual=refs.num(pointer("options", i, "annual_cost_usd"), "usd") if o.annual_cost_usd is not None else MISS,
        per_1k=(
            refs.num(pointer("options", i, "unit_costs", "usd_per_1k_requests"), "usd_unit")
            if o.unit_costs is not None
            else MISS
        ),
        slo=slo,
        recommended=recommended,
        meets_slo=o.meets_slo,
    )
