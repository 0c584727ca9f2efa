"""The sensitivity step, on the primary pair against the cheapest serverless price: a tornado and a seeded
Monte Carlo (:func:`costmodel.sensitivity.sensitivity_analysis`) over the spreads this analysis knows —
conflicting catalog prices of the same GPU offering, ±10 % serverless prices, the replica capacity's
stated error, measured cold starts, and the serverless prompt cache."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from breakeven.errors import ModelError
from costmodel.engine.capacity import SimulatedCapacity
from costmodel.replay._arrays import request_arrays
from costmodel.replay.prompt_cache import CacheFigures, cache_figures
from costmodel.results import Option, Sensitivity
from costmodel.sensitivity import (
    SensitivityInputs,
    Spread,
    capacity_spread,
    cold_start_spread,
    price_spread,
    prompt_cache_spreads,
    relative_spread,
    sensitivity_analysis,
)
from costmodel.steps.case import Case, Matchup, Pair, Progress, Tier
from pricing import Catalog, GpuPrice, TokenPrice
from traces.dataset import TraceDataset


@dataclass(frozen=True)
class Uncertainty:
    """The sensitivity analysis (None when there is no dedicated option to vary) and why it is missing."""

    sensitivity: Sensitivity | None = None
    warnings: tuple[str, ...] = ()


def vary_inputs(
    case: Case,
    match: Matchup | None,
    serverless_options: Sequence[Option],
    catalog: Catalog,
    *,
    samples: int,
    seed: int,
    rng: np.random.Generator,
    say: Progress,
) -> Uncertainty:
    """The tornado and ``samples`` Monte Carlo draws from ``rng`` (``seed`` is recorded with them)."""
    if match is None:
        return Uncertainty()
    pair, token = match.pair, match.token
    say("sensitivity and Monte Carlo")
    capacity = pair.fit.capacity(case.mean_in, case.mean_out)
    if not capacity.reachable:
        return Uncertainty(
            warnings=(f"{pair.profile.id}: no batch size meets the SLO, so no sensitivity analysis was run",)
        )
    cache = _cache_figures(case, token, serverless_options)
    inputs = SensitivityInputs(
        gpu_hourly_usd=pair.gpu.hourly_for(case.tier),
        input_usd_per_mtok=token.input_usd_per_mtok,
        output_usd_per_mtok=token.output_usd_per_mtok,
        input_tokens=case.mean_in,
        output_tokens=case.mean_out,
        replica_capacity_rps=capacity.rps,
        cold_start_s=pair.cold_start_s,
        user_rps=case.user_rps,
        min_replicas=max(case.policy.min_replicas, 1),
        cached_input_share=cache.share if cache is not None else 0.0,
        cached_input_discount=(cache.discount or 0.0) if cache is not None else 0.0,
        cache_write_extra=cache.write_extra if cache is not None else 0.0,
    )
    spreads = _spreads(case, pair, token, catalog, cache)
    try:
        return Uncertainty(sensitivity_analysis(inputs, spreads=spreads, rng=rng, seed=seed, samples=samples))
    except ModelError as exc:
        return Uncertainty(warnings=(str(exc),))


def _spreads(case: Case, pair: Pair, token: TokenPrice, catalog: Catalog, cache: CacheFigures | None) -> list[Spread]:
    """What the Monte Carlo draws, and from what range."""
    hourly = pair.gpu.hourly_for(case.tier)
    same_gpu = [
        g.hourly_for(case.tier)
        for g in catalog.entries(kind="gpu")
        if isinstance(g, GpuPrice) and _same_offering(g, pair.gpu, case.tier)
    ]
    spreads: list[Spread] = [
        price_spread(
            "gpu_hourly_usd", same_gpu or [hourly], description=f"GPU price ({pair.gpu.gpu} ×{pair.gpu.gpu_count})"
        ),
        relative_spread("input_usd_per_mtok", token.input_usd_per_mtok, 0.1, "serverless input price"),
        relative_spread("output_usd_per_mtok", token.output_usd_per_mtok, 0.1, "serverless output price"),
        _capacity_spread(case, pair),
    ]
    cold = cold_start_spread(pair.profile)
    if cold is not None:
        spreads.append(cold)
    if cache is not None:
        spreads += prompt_cache_spreads(
            share=cache.share, upper_share=cache.upper_share, discount=cache.discount, price_id=token.id
        )
    return spreads


def _cache_figures(case: Case, token: TokenPrice, options: Sequence[Option]) -> CacheFigures | None:
    """The prompt cache of the cheapest serverless bill (not for a dataset: its prefix blocks are not held in
    memory)."""
    option = next((o for o in options if o.id == f"serverless:{token.id}"), None)
    if option is None or option.token_costs is None or isinstance(case.trace, TraceDataset):
        return None
    req = request_arrays(case.trace)
    return cache_figures(option.token_costs, token, req.prefix_blocks(), req.input_tokens)


def _same_offering(candidate: GpuPrice, gpu: GpuPrice, tier: Tier) -> bool:
    """Conflicting catalog entries for the same instance: same provider, GPU and count."""
    try:
        candidate.hourly_for(tier)
    except ValueError:
        return False
    return (candidate.provider, candidate.gpu.lower(), candidate.gpu_count) == (
        gpu.provider,
        gpu.gpu.lower(),
        gpu.gpu_count,
    )


def _capacity_spread(case: Case, pair: Pair) -> Spread:
    """The replica capacity's uncertainty: the simulator's stated error, or the linear fit's latency spread."""
    mean_in, mean_out = case.mean_in, case.mean_out
    if not isinstance(pair.fit, SimulatedCapacity):
        return capacity_spread(pair.profile, case.slo, mean_in, mean_out)
    low, mode, high = pair.fit.spread(mean_in, mean_out)
    error = pair.fit.expected_error.get("e2e_mean_s", 0.0)
    return Spread(
        "replica_capacity_rps",
        f"replica capacity: {low:.3g}–{high:.3g} req/s (simulated with steps ±{error:.0%}, the replica model's "
        f"typical end-to-end error; {mode:.3g} as calibrated)",
        "triangular",
        low=low,
        mode=mode,
        high=high,
    )
