"""The verdict: which option to run, what each costs a month, the saving, and the risks.

Pure functions over :mod:`costmodel.results` objects. The rule, in plain words:

1. An option is *eligible* when it meets the SLO attainment target, or when its latency is unknown
   (a serverless API without a latency profile — that becomes a risk, not a disqualification).
2. Among eligible options the cheapest monthly cost wins; a tie within 1 % goes to the simpler option
   (serverless, then dedicated, then hybrid) because it carries less operational risk.
3. If nothing is eligible, the recommendation is ``none`` and the headline says which SLO is out of reach.
"""

from __future__ import annotations

from collections.abc import Sequence

from costmodel.headline import breakeven_lines
from costmodel.results import BreakevenLine, BreakevenRow, Option, PriceUsed, Recommendation, Risk
from pricing.money import format_usd
from traces.summary_model import TraceSummary

_SIMPLICITY = {"serverless": 0, "dedicated": 1, "hybrid": 2}
TIE_TOLERANCE = 0.01


def money(value: float) -> str:
    """Money in sentences, by the one display rule (:func:`pricing.money.format_usd`): ``$1,234.56``."""
    return format_usd(value, minus="-")


def rate(value: float) -> str:
    """Format a request rate for sentences: 3 significant figures, at least two decimals below 1."""
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _rate_or_never(rps: float | None) -> str:
    return " (dedicated never cheaper)" if rps is None else f", {rate(rps)} req/s,"


def run_words(option: Option) -> str:
    """``'Run <label>'``; committed and owned labels already start with their verb (Commit, Own)."""
    return option.label if option.pricing in ("committed", "owned") else f"Run {option.label}"


def eligible(option: Option) -> bool:
    """True when the option meets the SLO target or its latency is unknown."""
    return option.meets_slo is not False


def choose(options: Sequence[Option]) -> tuple[Option | None, Option | None]:
    """The recommended option and the runner-up (both None when no option is eligible)."""
    ranked = sorted((o for o in options if eligible(o)), key=lambda o: (o.monthly_cost_usd, _SIMPLICITY[o.kind], o.id))
    if not ranked:
        return None, None
    best = ranked[0]
    # Prefer a simpler option that costs within the tie tolerance of the cheapest.
    for candidate in ranked[1:]:
        within = candidate.monthly_cost_usd <= best.monthly_cost_usd * (1 + TIE_TOLERANCE)
        if within and _SIMPLICITY[candidate.kind] < _SIMPLICITY[best.kind]:
            best = candidate
    runner_up = next((o for o in ranked if o.id != best.id), None)
    return best, runner_up


def breakeven_at_mix(rows: Sequence[BreakevenRow], output_tokens_mean: float) -> BreakevenRow | None:
    """The break-even row that best describes the user's mix: trace-shaped if present, else capacity,
    else closed form; among rows of that method, the one nearest the mean output length."""
    for method in ("trace", "capacity", "closed_form"):
        candidates = [r for r in rows if r.method == method]
        if candidates:
            return min(candidates, key=lambda r: abs(r.output_tokens - output_tokens_mean))
    return None


def _risks(
    best: Option | None,
    options: Sequence[Option],
    prices: Sequence[PriceUsed],
    warnings: Sequence[str],
    monthly_from_hours: float,
) -> list[Risk]:
    used_ids = {i for o in options for i in (o.serverless_price_id, o.gpu_price_id) if i}
    risks = [
        Risk(
            code="stale-price",
            severity="warning",
            message=f"Price {p.price.id} is {p.age_days} days old (as of {p.price.as_of}); "
            "check the provider's current price before committing.",
        )
        for p in prices
        if p.stale and p.price.id in used_ids
    ]
    if best is not None and best.kind == "serverless" and best.latency is None:
        risks.append(
            Risk(
                code="serverless-latency-unknown",
                severity="warning",
                message="No latency profile of this serverless API was used, so its SLO attainment is unknown; "
                "measure it with `breakeven profile measure` against the provider's endpoint and pass it with "
                "--serverless-profile.",
            )
        )
    if best is not None and best.replicas is not None and best.replicas.cold_starts > 0 and best.latency:
        misses = 1 - best.latency.ttft_attainment
        if misses > 0:
            risks.append(
                Risk(
                    code="cold-start-slo",
                    severity="warning" if misses > 0.01 else "info",
                    message=f"{best.replicas.cold_starts} replica cold starts during the trace; "
                    f"{misses:.1%} of requests miss the TTFT target (queueing while capacity boots).",
                )
            )
    if monthly_from_hours < 24:
        risks.append(
            Risk(
                code="short-trace",
                severity="info",
                message=f"Monthly costs extrapolate {monthly_from_hours:.1f} h of traffic to a 730-hour month; "
                "a longer trace captures daily and weekly cycles.",
            )
        )
    risks.extend(Risk(code="model-warning", severity="info", message=w) for w in warnings)
    return risks


def recommend(
    options: Sequence[Option],
    breakeven_rows: Sequence[BreakevenRow],
    *,
    prices: Sequence[PriceUsed],
    user_rps: float,
    output_tokens_mean: float,
    trace_hours: float,
    warnings: Sequence[str] = (),
    trace: TraceSummary | None = None,
) -> Recommendation:
    """Build the structured verdict (see the module docstring for the rule). ``trace`` words why the
    headline break-even fits this traffic (:mod:`costmodel.headline`)."""
    best, runner_up = choose(options)
    line = breakeven_at_mix(breakeven_rows, output_tokens_mean)
    lines = breakeven_lines(breakeven_rows, output_tokens_mean, trace)
    details = [
        *_breakeven_details(line, lines, user_rps=user_rps, output_tokens_mean=output_tokens_mean),
        *_option_details(options),
    ]
    saving = (runner_up.monthly_cost_usd - best.monthly_cost_usd) if best and runner_up else 0.0
    return Recommendation(
        option_id=best.id if best else None,
        kind=best.kind if best else "none",
        headline=_headline(best, runner_up, saving) if best else _no_option_headline(options),
        details=details,
        monthly_cost_usd={o.id: o.monthly_cost_usd for o in options},
        monthly_saving_usd=max(saving, 0.0),
        runner_up_option_id=runner_up.id if runner_up else None,
        slo_attainment=best.slo_attainment if best else None,
        user_rps=user_rps,
        output_tokens_mean=output_tokens_mean,
        breakeven_rps=line.breakeven_rps if line else None,
        breakeven_method=line.method if line else None,
        risks=_risks(best, options, prices, warnings, trace_hours),
        breakeven_lines=lines,
    )


def _breakeven_details(
    line: BreakevenRow | None, lines: Sequence[BreakevenLine], *, user_rps: float, output_tokens_mean: float
) -> list[str]:
    """The break-even to sign at the user's mix and rate, then what the other two answer."""
    if line is None:
        return []
    name = lines[0].name if lines else line.method.replace("_", " ")
    if line.breakeven_rps is None:
        first = (
            f"Dedicated never gets cheaper than serverless at ~{output_tokens_mean:,.0f} output tokens "
            f"({name} break-even, the one to sign)."
        )
    else:
        side = "cheaper" if user_rps < line.breakeven_rps else "more expensive"
        first = (
            f"Serverless is cheaper below {rate(line.breakeven_rps)} req/s at ~{output_tokens_mean:,.0f} output "
            f"tokens ({name} break-even, the one to sign); at your {rate(user_rps)} req/s it is {side}."
        )
    return [
        first,
        *(
            f"The {other.name} break-even{_rate_or_never(other.breakeven_rps)} answers another question: "
            f"{other.meaning}."
            for other in lines[1:]
        ),
    ]


def _option_details(options: Sequence[Option]) -> list[str]:
    """Every option's monthly cost (and SLO attainment), cheapest first."""
    details = []
    for o in sorted(options, key=lambda o: o.monthly_cost_usd):
        slo = f", {o.slo_attainment:.1%} of requests meet the SLO" if o.slo_attainment is not None else ""
        details.append(f"{o.label}: {money(o.monthly_cost_usd)} a month{slo}.")
    return details


def _headline(best: Option, runner_up: Option | None, saving: float) -> str:
    """What to run and what it saves against the runner-up (a tie within 1 % goes to the simpler option)."""
    headline = f"{run_words(best)}: {money(best.monthly_cost_usd)} a month"
    if runner_up is not None and saving <= best.monthly_cost_usd * TIE_TOLERANCE:
        headline += (
            f", about the same as {runner_up.label} ({money(runner_up.monthly_cost_usd)}); "
            "the simpler option is preferred"
        )
    elif runner_up is not None:
        headline += f", {money(saving)} a month less than {runner_up.label} ({money(runner_up.monthly_cost_usd)})"
    return headline + "."


def _no_option_headline(options: Sequence[Option]) -> str:
    """No option meets the SLO: say so, with each option's attainment."""
    reachable = ", ".join(f"{o.label} {o.slo_attainment:.0%}" for o in options if o.slo_attainment is not None)
    return "No option meets the latency SLO for this traffic" + (
        f" (SLO attainment: {reachable})." if reachable else "."
    )
