"""Internal consistency of a results.json, checked before a report is rendered from it.

The schema (pydantic, ``extra="forbid"``) says each field has the right type; this says the fields agree
with each other, so that a report never states a verdict its own tables contradict: there is at least one
option, ids are unique, the recommendation names an existing option of the same kind, its costs are the
options' costs, and every price an option uses is listed. Each problem is an :class:`InputError` naming
the key, what was expected and what was found.
"""

from __future__ import annotations

import math

from breakeven.errors import InputError
from costmodel.results import Option, Results

_REL = 1e-6
_ABS = 0.01  # a cent: results written by analyze agree far closer; a hand edit does not


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=_REL, abs_tol=_ABS)


def _ids_text(options: list[Option]) -> str:
    ids = [repr(o.id) for o in options[:5]]
    return ", ".join(ids) + (f", ... ({len(options) - 5} more)" if len(options) > 5 else "")


def check_consistency(results: Results, *, where: str = "results") -> None:
    """Raise :class:`InputError` at the first way ``results`` contradicts itself (see the module docstring)."""
    options = results.options
    if not options:
        raise InputError(
            f"{where}: key 'options': expected at least one option (serverless, dedicated or hybrid), found none"
        )
    by_id: dict[str, Option] = {}
    for index, option in enumerate(options):
        if option.id in by_id:
            raise InputError(
                f"{where}: key 'options[{index}].id': expected unique option ids, found {option.id!r} twice"
            )
        by_id[option.id] = option
        for name in ("total_cost_usd", "monthly_cost_usd", "cost_per_request_usd"):
            value = getattr(option, name)
            if not math.isfinite(value):
                raise InputError(f"{where}: key 'options[{index}].{name}': expected a finite amount, found {value}")
    _check_recommendation(results, by_id, where)
    listed = {p.price.id for p in results.prices}
    if results.prices:
        for index, option in enumerate(options):
            for name in ("serverless_price_id", "gpu_price_id"):
                used = getattr(option, name)
                if used is not None and used not in listed:
                    raise InputError(
                        f"{where}: key 'options[{index}].{name}': expected a price listed under 'prices', "
                        f"found {used!r}"
                    )


def _check_recommendation(results: Results, by_id: dict[str, Option], where: str) -> None:
    rec = results.recommendation
    options = results.options
    best = None
    if rec.option_id is None:
        if rec.kind != "none":
            raise InputError(
                f"{where}: key 'recommendation.kind': expected 'none' when recommendation.option_id is null, "
                f"found {rec.kind!r}"
            )
    else:
        best = by_id.get(rec.option_id)
        if best is None:
            raise InputError(
                f"{where}: key 'recommendation.option_id': expected one of the options ({_ids_text(options)}), "
                f"found {rec.option_id!r}"
            )
        if rec.kind != best.kind:
            raise InputError(
                f"{where}: key 'recommendation.kind': expected {best.kind!r} (the kind of option {best.id!r}), "
                f"found {rec.kind!r}"
            )
        if (
            rec.slo_attainment is not None
            and best.slo_attainment is not None
            and not math.isclose(rec.slo_attainment, best.slo_attainment, abs_tol=1e-9)
        ):
            raise InputError(
                f"{where}: key 'recommendation.slo_attainment': expected {best.slo_attainment:g} (option "
                f"{best.id!r}), found {rec.slo_attainment:g}"
            )
    runner = None
    if rec.runner_up_option_id is not None:
        runner = by_id.get(rec.runner_up_option_id)
        if runner is None or rec.runner_up_option_id == rec.option_id:
            raise InputError(
                f"{where}: key 'recommendation.runner_up_option_id': expected another of the options "
                f"({_ids_text(options)}), found {rec.runner_up_option_id!r}"
            )
    for option_id, monthly in rec.monthly_cost_usd.items():
        option = by_id.get(option_id)
        if option is None:
            raise InputError(
                f"{where}: key 'recommendation.monthly_cost_usd': expected costs of the options "
                f"({_ids_text(options)}), found one for {option_id!r}"
            )
        if not _close(monthly, option.monthly_cost_usd):
            raise InputError(
                f"{where}: key 'recommendation.monthly_cost_usd.{option_id}': expected {option.monthly_cost_usd:,.2f} "
                f"(that option's monthly_cost_usd), found {monthly:,.2f}"
            )
    if best is not None and runner is not None:
        saving = max(runner.monthly_cost_usd - best.monthly_cost_usd, 0.0)
        if not _close(rec.monthly_saving_usd, saving):
            raise InputError(
                f"{where}: key 'recommendation.monthly_saving_usd': expected {saving:,.2f} (runner-up minus "
                f"recommended monthly cost), found {rec.monthly_saving_usd:,.2f}"
            )
