"""What-ifs on a dedicated fleet: a cold start recomposed from its phases (e.g. weights read from shared
storage at a different bandwidth), and the same fleet billed at on-demand, reserved and spot prices.

Cold start from phases::

    cold_start_s = non-weight phases + weights_gib × 2³⁰ bytes ÷ (storage MB/s × 10⁶ bytes)

where the non-weight part is the measured total minus the measured weight loading (download + load) when
both are known, else the sum of the other phases (engine init, which includes torch.compile and CUDA graph
capture, and the API server start). The seed article's NFS figures: 420 MB/s untuned, 880 MB/s tuned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from breakeven.errors import InputError
from costmodel.profiles.schema import ColdStart
from costmodel.replay._arrays import TraceLike
from costmodel.replay.billing import Tier, gpu_costs
from costmodel.replay.dedicated import replay_dedicated
from costmodel.replay.summary import DedicatedReplay
from costmodel.results import AutoscalePolicy, GpuCosts, Slo
from costmodel.service import ReplicaService
from pricing.models import GpuPrice

BYTES_PER_GIB = float(1 << 30)
BYTES_PER_MB = 1e6
NFS_DEFAULT_MB_S = 420.0
"""Weights read from DigitalOcean Managed NFS with default mount/network settings (seed article)."""
NFS_TUNED_MB_S = 880.0
"""Same share after MTU 9000, 16 MB TCP buffers and nconnect=8 (seed article)."""


def weights_load_s(weights_gib: float, storage_mb_s: float) -> float:
    """Seconds to read ``weights_gib`` GiB at ``storage_mb_s`` MB/s (MB = 10⁶ bytes)."""
    if not (weights_gib >= 0 and storage_mb_s > 0):
        raise InputError(
            "weights load: expected weights ≥ 0 GiB and bandwidth > 0 MB/s, "
            f"found {weights_gib} GiB, {storage_mb_s} MB/s"
        )
    return weights_gib * BYTES_PER_GIB / (storage_mb_s * BYTES_PER_MB)


def non_weight_s(cold: ColdStart) -> float:
    """The part of a cold start that is not moving weights [s] (see the module docstring)."""
    p = cold.phases
    weights = (p.weights_download_s or 0.0) + (p.weights_load_s or 0.0)
    total = cold.best_total_s()
    if total is not None and (p.weights_load_s is not None or p.weights_download_s is not None):
        return max(total - weights, 0.0)
    parts = [p.engine_init_s, p.api_server_s]
    if p.engine_init_s is None:
        parts += [p.compile_s, p.cuda_graph_s]
    known = [x for x in parts if x is not None]
    if not known:
        raise InputError(
            "cold start: expected the total or the non-weight phases (engine init, API server), found neither"
        )
    return float(sum(known))


def cold_start_from_phases(cold: ColdStart, *, storage_mb_s: float, weights_gib: float | None = None) -> float:
    """The cold start [s] if the weights were read at ``storage_mb_s`` (size: ``weights_gib`` or the
    profile's ``phases.weights_gib``)."""
    size = weights_gib if weights_gib is not None else cold.phases.weights_gib
    if size is None:
        raise InputError(
            "cold start: the weights' size is unknown; pass weights_gib (e.g. 140 for a 70B model in bf16)"
        )
    return non_weight_s(cold) + weights_load_s(size, storage_mb_s)


@dataclass(frozen=True)
class StorageCase:
    """One storage bandwidth and the fleet replayed with the cold start it gives."""

    storage_mb_s: float
    cold_start_s: float
    replay: DedicatedReplay


def storage_whatif(
    trace: TraceLike,
    service: ReplicaService,
    gpu_price: GpuPrice,
    cold: ColdStart,
    *,
    bandwidths_mb_s: Sequence[float] = (NFS_DEFAULT_MB_S, NFS_TUNED_MB_S),
    weights_gib: float | None = None,
    policy: AutoscalePolicy | None = None,
    slo: Slo | None = None,
    tier: Tier = "on_demand",
    rng_seed: int | None = None,
) -> list[StorageCase]:
    """Replay the fleet once per storage bandwidth (same trace, policy and SLO; only the cold start moves)."""
    cases = []
    for mb_s in bandwidths_mb_s:
        cold_s = cold_start_from_phases(cold, storage_mb_s=mb_s, weights_gib=weights_gib)
        rng = np.random.default_rng(rng_seed) if rng_seed is not None else None
        replay = replay_dedicated(
            trace, service, gpu_price, policy=policy, slo=slo, cold_start_s=cold_s, tier=tier, rng=rng
        )
        cases.append(StorageCase(float(mb_s), cold_s, replay))
    return cases


def price_tiers(replay: DedicatedReplay, gpu_price: GpuPrice) -> dict[Tier, GpuCosts]:
    """The same fleet billed at every tier the price offers (on demand always; reserved, spot if listed).
    The fleet is not re-simulated: only the hourly rate changes. (A spot fleet's preemptions are not
    modelled.)"""
    busy_s = replay.costs.hours.busy * 3600.0
    tiers: list[Tier] = ["on_demand"]
    if gpu_price.reserved_hourly_usd is not None:
        tiers.append("reserved")
    if gpu_price.spot_hourly_usd is not None:
        tiers.append("spot")
    return {t: gpu_costs(replay.lease, gpu_price, busy_s=busy_s, tier=t) for t in tiers}
