"""The first steps of an analysis: open the trace (:func:`open_case`), put the compared prices in one currency
(:func:`price_scenario`), and pair every profile with every GPU price (:func:`pair_deployments`)."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from breakeven.errors import InputError
from costmodel.checks import check_prices, check_trace
from costmodel.engine.capacity import replica_capacity
from costmodel.finance import FinanceRequest, priced_catalog
from costmodel.matching import mismatches
from costmodel.profiles import Profile
from costmodel.replay._arrays import MATERIALIZE_ROWS
from costmodel.scenario import Scenario
from costmodel.steps.case import Case, Pair, Progress, Rules, last_arrival
from pricing import Catalog, TokenPrice
from traces import Trace, summarize
from traces.dataset import TraceDataset

#: Cold start assumed when a profile has none measured: the seed article's vLLM restart with weights on
#: local disk (gpt-oss-120b on MI300X, 60.8–61.4 s over 3 restarts) — conservative for smaller models.
ASSUMED_COLD_START_S = 61.0

#: Requests of the trace whose lengths stand for its mix in the replica simulator's capacity search.
LENGTH_SAMPLE: Final = 20_000


@dataclass(frozen=True)
class Opened:
    """The trace read into a :class:`Case`, and what looks wrong with it."""

    case: Case
    warnings: tuple[str, ...]


def open_case(trace: Trace | TraceDataset, rules: Rules, say: Progress) -> Opened:
    """Check and summarise the trace (refusing one with no duration) and refuse the reserved tier."""
    warnings = check_trace(trace)  # refuses a trace with no duration; warns on a very short one
    if isinstance(trace, Trace) and "think_time_s" in trace.df.columns:
        warnings.append(
            f"{trace.meta.source}: a closed-loop pool of conversations (think_time_s): analyze replays it at its "
            "nominal arrivals, which assume instantaneous answers and so overstate the request rate; run it "
            "through a simulator at a chosen concurrency, or generate open-loop conversations (rate=, duration=)"
        )
    say("summarizing the trace")
    summary = summarize(trace)
    if rules.tier == "reserved":
        raise InputError(
            "option --price-tier reserved: a reserved price is a commitment, paid every hour of its term, not "
            "only the hours an autoscaled fleet runs; expected --commitment auto (or a replica count) instead"
        )
    case = Case(
        rules.slo, rules.policy, rules.tier, rules.search_requests, trace, summary, horizon_s=last_arrival(trace)
    )
    return Opened(case, tuple(warnings))


@dataclass(frozen=True)
class Prices:
    """The compared prices in one currency, and what is priced beyond on-demand fleets and serverless."""

    catalog: Catalog
    """The catalog with the compared entries converted to ``currency``."""
    currency: str
    tokens: tuple[TokenPrice, ...]
    """The serverless prices compared, in the scenario's order."""
    finance: FinanceRequest
    """As asked, less committed and spot options on a dataset too large to hold in memory."""
    warnings: tuple[str, ...]


def price_scenario(scenario: Scenario, case: Case, catalog: Catalog, finance: FinanceRequest) -> Prices:
    """The scenario's prices from ``catalog`` in one currency (:func:`costmodel.finance.priced_catalog`)."""
    warnings: list[str] = []
    trace = case.trace
    if (
        isinstance(trace, TraceDataset)
        and len(trace) > MATERIALIZE_ROWS
        and (finance.commitment != "none" or finance.spot)
    ):
        # the commitment planner and the spot replay hold the whole trace in memory
        warnings.append(
            f"committed and spot options were not priced: they replay the trace in memory, and this dataset has "
            f"{len(trace):,} requests (more than {MATERIALIZE_ROWS:,})"
        )
        finance = dataclasses.replace(finance, commitment="none", spot=False)
    gpu_ids = list(scenario.gpu_ids) or [p.gpu_price_id for p in scenario.profiles if p.gpu_price_id]
    ids = [*scenario.serverless_ids, *gpu_ids, *finance.owned]
    catalog, currency = priced_catalog(catalog, ids, finance)
    tokens = tuple(catalog.token(i) for i in scenario.serverless_ids)
    for profile in scenario.profiles:
        for price in tokens:
            warnings.extend(mismatches(profile, price, None))
    return Prices(catalog, currency, tokens, finance, tuple(warnings))


@dataclass(frozen=True)
class Deployments:
    """Every profile paired with every GPU price, and the assumptions and caveats that came with them."""

    pairs: tuple[Pair, ...]
    assumptions: tuple[str, ...]
    warnings: tuple[str, ...]

    def capacity_notes(self, case: Case) -> list[str]:
        """Each pair's caveats on its capacity at the trace's mix (extrapolation, an unreachable SLO)."""
        return [
            f"{p.profile.id}: {w}" for p in self.pairs for w in p.fit.capacity(case.mean_in, case.mean_out).warnings
        ]


def pair_deployments(
    scenario: Scenario, case: Case, prices: Prices, *, cold_start_s: float | None, seed: int
) -> Deployments:
    """Every profile paired with every GPU price (the scenario's, else the profile's own), each with its replica
    model (simulated when it has one, fed the trace's length mix) and cold start (``cold_start_s`` when
    given, else measured, else :data:`ASSUMED_COLD_START_S`)."""
    lengths = _length_sample(case.trace, seed)
    pairs: list[Pair] = []
    assumptions: list[str] = []
    warnings: list[str] = []
    for profile in scenario.profiles:
        if profile.kind != "dedicated":
            raise InputError(
                f"profile {profile.id}: kind is {profile.kind!r}; expected a dedicated deployment "
                "(pass serverless profiles with --serverless-profile)"
            )
        ids = list(scenario.gpu_ids) or ([profile.gpu_price_id] if profile.gpu_price_id else [])
        if not ids:
            raise InputError(
                f"profile {profile.id}: no GPU price to run it on; expected --gpu ID or a gpu_price_id in the profile"
            )
        fit = replica_capacity(profile, case.slo, input_sample=lengths[0], output_sample=lengths[1])
        if profile.replica_model is None:
            warnings.append(
                f"{profile.id}: no replica model; capacity comes from the linear fit of its measured points "
                "(run breakeven profile calibrate to simulate it)"
            )
        cold, source = _cold_start(profile, cold_start_s)
        if source == "assumed":
            assumptions.append(
                f"{profile.id}: no cold start was measured; assumed {cold:g} s, the seed article's vLLM restart "
                "with weights on local disk (gpt-oss-120b on 1× MI300X, 60.8–61.4 s over 3 restarts)."
            )
        elif source == "given":
            assumptions.append(f"{profile.id}: cold start set to {cold:g} s (given).")
        for gpu_id in ids:
            gpu = prices.catalog.gpu(gpu_id)
            warnings.extend(mismatches(profile, None, gpu))
            pairs.append(Pair(profile=profile, gpu=gpu, fit=fit, cold_start_s=cold, cold_start_source=source))
    warnings += check_prices(list(prices.tokens), [p.gpu for p in pairs])  # prices in a wrong unit
    return Deployments(tuple(pairs), tuple(assumptions), tuple(warnings))


def _cold_start(profile: Profile, given: float | None) -> tuple[float, str]:
    if given is not None:
        if not math.isfinite(given) or given < 0:
            raise InputError(f"option --cold-start-s: expected non-negative seconds, found {given}")
        return float(given), "given"
    measured = profile.cold_start.best_total_s() if profile.cold_start else None
    if measured is not None:
        return float(measured), "measured"
    return ASSUMED_COLD_START_S, "assumed"


def _length_sample(trace: Trace | TraceDataset, seed: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(input, output) token counts of up to :data:`LENGTH_SAMPLE` requests of the trace (its mix), drawn
    from the whole trace — the same rows, in the same order, whether it is in memory or a dataset."""
    n = len(trace)
    if not n:
        return None, None
    rng = np.random.default_rng(seed)
    if n <= _PERMUTE_UP_TO:
        pick = rng.permutation(n)[:LENGTH_SAMPLE]
    else:  # no permutation of every row of a huge trace (800 MB at 100 M requests)
        pick = rng.choice(n, size=LENGTH_SAMPLE, replace=False)
    columns = ["input_tokens", "output_tokens"]
    rows = trace.df[columns].iloc[pick] if isinstance(trace, Trace) else trace.take(pick, columns)
    return rows["input_tokens"].to_numpy(dtype=np.float64), rows["output_tokens"].to_numpy(dtype=np.float64)


_PERMUTE_UP_TO: Final = 8_000_000
"""Traces up to this many requests are sampled by a permutation of their rows (as v0.1 did); longer ones by
numpy's sampling without replacement."""
