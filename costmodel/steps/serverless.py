"""The serverless step: every per-token price replays the whole trace — the exact bill, and the latency when a
serverless profile stands for that price."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from costmodel.profiles import Profile
from costmodel.replay.serverless import replay_serverless
from costmodel.results import Option
from costmodel.steps.case import Case, Progress, latency_profile
from pricing import TokenPrice


@dataclass(frozen=True)
class Bills:
    """One option per serverless price, and the price that is cheapest on this trace."""

    options: tuple[Option, ...]
    cheapest: TokenPrice | None
    """The serverless price the dedicated options are set against (None when no price is compared)."""
    warnings: tuple[str, ...]


def bill_serverless(
    case: Case,
    prices: Sequence[TokenPrice],
    serverless_profile: Profile | None,
    *,
    rng: np.random.Generator,
    say: Progress,
) -> Bills:
    """Replay the trace on every serverless price (in order: each draws its latencies from ``rng``)."""
    options: list[Option] = []
    cost: dict[str, float] = {}
    for price in prices:
        say(f"billing serverless {price.id}")
        profile = latency_profile(serverless_profile, price)
        sls = replay_serverless(case.trace, price, profile=profile, slo=case.slo, rng=rng)
        cost[price.id] = sls.total_cost_usd
        label = f"Serverless {price.model} ({price.provider})"
        options.append(sls.option(id=f"serverless:{price.id}", label=label, serverless_price_id=price.id, slo=case.slo))
    warnings: list[str] = []
    if serverless_profile is not None and not any(latency_profile(serverless_profile, p) for p in prices):
        warnings.append(
            f"serverless profile {serverless_profile.id} names price {serverless_profile.serverless_price_id}, "
            "which is not among the serverless prices compared; its latency was not used"
        )
    cheapest = min(prices, key=lambda p: cost[p.id]) if prices else None
    return Bills(tuple(options), cheapest, tuple(warnings))
