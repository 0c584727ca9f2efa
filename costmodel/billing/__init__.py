"""How each kind of capacity is billed, exactly (:mod:`pricing.money`): pure functions a finance reviewer
can check by hand (``tests/test_billing.py`` does, to the cent).

- :mod:`.committed`: K instances for a term, paid every hour of it; on demand above K; the obligation and
  the break-even utilization of a commitment.
- :mod:`.spot`: a spot fleet with preemptions (each stops its instance, a replacement launched at the
  notice pays a cold start).
- :mod:`.owned`: servers you own (depreciation, power × PUE × $/kWh, hosting, other fixed costs).
- :mod:`.volume`: per-token volume tiers (incremental or all-units) and committed-spend discounts.

Per-token batch pricing and long-context tiers are in :mod:`costmodel.replay.serverless`; on-demand
leases in :mod:`costmodel.replay.billing`. The analysis that puts these options side by side is
:mod:`costmodel.finance`; docs/billing.md explains each model with its sources.
"""

from costmodel.billing.committed import (
    CommitmentBill,
    breakeven_utilization,
    commitment_bill,
    effective_hourly,
    obligation,
    uncovered,
)
from costmodel.billing.owned import OwnedBill, owned_bill, replicas_per_server
from costmodel.billing.spot import Preemption, apply_preemptions, capacity_gap_s, expected_preemptions
from costmodel.billing.volume import Usage, VolumeBill, volume_bill, volume_factor

__all__ = [
    "CommitmentBill",
    "OwnedBill",
    "Preemption",
    "Usage",
    "VolumeBill",
    "apply_preemptions",
    "breakeven_utilization",
    "capacity_gap_s",
    "commitment_bill",
    "effective_hourly",
    "expected_preemptions",
    "obligation",
    "owned_bill",
    "replicas_per_server",
    "uncovered",
    "volume_bill",
    "volume_factor",
]
