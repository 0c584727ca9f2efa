"""Break-even between per-token serverless prices and hourly GPU prices.

The closed form is the seed article's formula::

    break-even requests/hour = GPU $/hour ÷ (input_tokens × p_in + output_tokens × p_out)

with ``p_in`` and ``p_out`` in $/token (the catalog stores $/1M tokens).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from breakeven.errors import InputError
from costmodel.capacity import ReplicaCapacity
from costmodel.results import HOURS_PER_MONTH, BreakevenRow, CostCurve

TOKENS_PER_M = 1_000_000.0


def cost_per_request_usd(
    input_tokens: float | npt.ArrayLike,
    output_tokens: float | npt.ArrayLike,
    input_usd_per_mtok: float,
    output_usd_per_mtok: float,
) -> npt.NDArray[np.float64]:
    """Serverless cost of one request [USD] (vectorised over token counts)."""
    tokens_in = np.asarray(input_tokens, dtype=np.float64)
    tokens_out = np.asarray(output_tokens, dtype=np.float64)
    return (tokens_in * input_usd_per_mtok + tokens_out * output_usd_per_mtok) / TOKENS_PER_M


def closed_form_breakeven_rps(
    gpu_hourly_usd: float,
    input_tokens: float | npt.ArrayLike,
    output_tokens: float | npt.ArrayLike,
    input_usd_per_mtok: float,
    output_usd_per_mtok: float,
) -> npt.NDArray[np.float64]:
    """Mean request rate [req/s] at which one always-on GPU instance costs the same as serverless.

    Returns ``inf`` where a request costs nothing on serverless (dedicated never wins).
    """
    per_request = cost_per_request_usd(input_tokens, output_tokens, input_usd_per_mtok, output_usd_per_mtok)
    with np.errstate(divide="ignore"):
        per_hour = np.where(per_request > 0, gpu_hourly_usd / np.where(per_request > 0, per_request, 1.0), np.inf)
    return per_hour / 3600.0


# ------------------------------------------------------------------------------------- capacity-aware


def serverless_hourly_usd(rps: float | npt.ArrayLike, cost_per_request: float) -> npt.NDArray[np.float64]:
    """Serverless bill per hour at a steady request rate [USD / hour]."""
    return np.asarray(rps, dtype=np.float64) * 3600.0 * cost_per_request


def replicas_needed(
    rps: float | npt.ArrayLike, replica_capacity_rps: float, *, min_replicas: int = 1
) -> npt.NDArray[np.float64]:
    """Replicas a steady rate needs when each sustains ``replica_capacity_rps``: ``max(min, ceil(rps / cap))``.

    ``inf`` where the rate is positive and the capacity is 0 (the SLO is unreachable).
    """
    r = np.asarray(rps, dtype=np.float64)
    if replica_capacity_rps <= 0:
        return np.where(r > 0, np.inf, float(min_replicas))
    return np.maximum(np.ceil(r / replica_capacity_rps - 1e-12), float(min_replicas))


def dedicated_hourly_usd(
    rps: float | npt.ArrayLike, gpu_hourly_usd: float, replica_capacity_rps: float, *, min_replicas: int = 1
) -> npt.NDArray[np.float64]:
    """Dedicated bill per hour of a fleet sized for a steady rate [USD / hour] (a step function of rate)."""
    return replicas_needed(rps, replica_capacity_rps, min_replicas=min_replicas) * gpu_hourly_usd


@dataclass(frozen=True)
class CapacityBreakeven:
    """Where a step-function dedicated cost crosses the serverless line.

    With ``r_c`` the closed-form rate (one always-on replica) and ``cap`` one replica's SLO capacity, the
    fleet of ``n`` replicas covers ``(cap·(n−1), cap·n]`` and is cheaper there exactly above ``n·r_c``. So
    dedicated wins above ``r_c``, loses again at ``cap`` when a second replica is needed (if ``cap < 2·r_c``),
    wins above ``2·r_c``, and so on, until ``n·r_c ≤ cap·(n−1)``: from ``m·r_c`` on, with
    ``m = ceil(cap / (cap − r_c)) − 1``, it stays cheaper. When ``cap ≤ r_c`` it never is.
    """

    closed_form_rps: float
    """One always-on replica's break-even rate [req/s] (``inf`` when requests cost nothing)."""
    replica_capacity_rps: float
    """One replica's SLO capacity [req/s]."""
    crossings_rps: tuple[float, ...]
    """Every rate where the two costs cross, increasing (the first ``max_crossings``)."""
    breakeven_rps: float | None
    """The rate above which dedicated stays cheaper; None when it never is."""
    replicas: int | None
    """Replicas running at that crossing."""
    omitted_crossings: int = 0
    """Crossings beyond ``max_crossings`` not listed."""


def capacity_breakeven(
    gpu_hourly_usd: float, cost_per_request: float, replica_capacity_rps: float, *, max_crossings: int = 200
) -> CapacityBreakeven:
    """Capacity-aware break-even (see :class:`CapacityBreakeven`); ``cost_per_request`` in USD."""
    r_c = float(closed_form_breakeven_rps(gpu_hourly_usd, 1.0, 0.0, cost_per_request * TOKENS_PER_M, 0.0))
    cap = float(replica_capacity_rps)
    if not math.isfinite(r_c) or cap <= r_c or cap <= 0:
        return CapacityBreakeven(r_c, cap, (), None, None)
    if r_c <= 0:  # a free GPU: dedicated is cheaper at any positive rate
        return CapacityBreakeven(r_c, cap, (0.0,), 0.0, 1)
    m = max(math.ceil(cap / (cap - r_c) - 1e-9) - 1, 1)
    wins = np.arange(1, min(m, max_crossings) + 1, dtype=np.float64) * r_c
    losses = np.arange(1, min(m - 1, max_crossings) + 1, dtype=np.float64) * cap
    crossings = np.sort(np.concatenate([wins, losses]))[:max_crossings]
    omitted = (2 * m - 1) - len(crossings)
    return CapacityBreakeven(r_c, cap, tuple(float(x) for x in crossings), m * r_c, m, omitted)


# ------------------------------------------------------------------------------------------- the table


def _check(name: str, value: float) -> float:
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise InputError(f"{name}: expected a non-negative finite number, found {value!r}")
    return number


def breakeven_table(
    *,
    gpu_hourly_usd: float,
    input_usd_per_mtok: float,
    output_usd_per_mtok: float,
    input_tokens: float,
    output_tokens: Sequence[float],
    fit: ReplicaCapacity | None = None,
    serverless_price_id: str | None = None,
    gpu_price_id: str | None = None,
) -> list[BreakevenRow]:
    """Break-even rates by output length: a ``closed_form`` row per length and, given a capacity ``fit``,
    a ``capacity`` row (step-function dedicated cost; :func:`capacity_breakeven`).

    Prices in USD per hour and per 1M tokens. Bad numbers raise :class:`InputError`.
    """
    hourly = _check("gpu_hourly_usd", gpu_hourly_usd)
    p_in = _check("input_usd_per_mtok", input_usd_per_mtok)
    p_out = _check("output_usd_per_mtok", output_usd_per_mtok)
    n_in = _check("input_tokens", input_tokens)
    outputs = [_check("output_tokens", x) for x in output_tokens]
    if not outputs:
        raise InputError("output_tokens: expected at least one output length, found none")
    ids = {"serverless_price_id": serverless_price_id, "gpu_price_id": gpu_price_id, "gpu_hourly_usd": hourly}
    rows: list[BreakevenRow] = []
    for n_out in outputs:
        per_request = float(cost_per_request_usd(n_in, n_out, p_in, p_out))
        closed = float(closed_form_breakeven_rps(hourly, n_in, n_out, p_in, p_out))
        finite = math.isfinite(closed)
        rows.append(
            BreakevenRow(
                input_tokens=n_in,
                output_tokens=n_out,
                method="closed_form",
                breakeven_rps=closed if finite else None,
                breakeven_rph=closed * 3600.0 if finite else None,
                serverless_cost_per_request_usd=per_request,
                notes=[] if finite else ["a request costs nothing on serverless: dedicated never wins"],
                **ids,
            )
        )
        if fit is not None:
            rows.append(_capacity_row(fit, hourly, n_in, n_out, per_request=per_request, ids=ids))
    return rows


def _capacity_row(
    fit: ReplicaCapacity, hourly: float, n_in: float, n_out: float, *, per_request: float, ids: dict[str, Any]
) -> BreakevenRow:
    cap = fit.capacity(n_in, n_out)
    found = capacity_breakeven(hourly, per_request, cap.rps)
    notes = list(cap.warnings)
    if cap.reachable and found.breakeven_rps is None and math.isfinite(found.closed_form_rps):
        notes.append(
            f"one replica's SLO capacity ({cap.rps:.3g} req/s, {cap.slots} at once, bound by {cap.binding}) is at "
            f"or below the closed-form break-even ({found.closed_form_rps:.3g} req/s): serverless is always cheaper"
        )
    if found.omitted_crossings:
        notes.append(f"{found.omitted_crossings} further crossings not listed")
    be = found.breakeven_rps
    return BreakevenRow(
        input_tokens=n_in,
        output_tokens=n_out,
        method="capacity",
        breakeven_rps=be,
        breakeven_rph=be * 3600.0 if be is not None else None,
        serverless_cost_per_request_usd=per_request,
        replicas=found.replicas,
        crossings_rps=list(found.crossings_rps),
        replica_capacity_rps=cap.rps,
        notes=notes,
        **ids,
    )


# ------------------------------------------------------------------------------------------ cost curve


def cost_curve(
    *,
    gpu_hourly_usd: float,
    input_usd_per_mtok: float,
    output_usd_per_mtok: float,
    input_tokens: float,
    output_tokens: float,
    replica_capacity_rps: float | None = None,
    user_rps: float = 0.0,
    max_rps: float | None = None,
    points: int = 200,
    min_replicas: int = 1,
    serverless_price_id: str | None = None,
    gpu_price_id: str | None = None,
) -> CostCurve:
    """Monthly (730 h) cost of serverless and of a dedicated fleet against a steady request rate.

    The dedicated line is the fleet sized by :func:`replicas_needed` (a step function; the grid includes
    each step's edge and a point just past it so that charts draw vertical steps), or one always-on
    instance when ``replica_capacity_rps`` is None (the closed form's assumption). Capacity 0 (SLO
    unreachable) gives ``None`` at every positive rate. ``breakeven_rps`` lists every crossing.
    The rate axis runs to ``max_rps`` (default: twice the user's rate or the last crossing, whichever is
    larger, and at least twice the closed-form rate).
    """
    hourly = _check("gpu_hourly_usd", gpu_hourly_usd)
    per_request = float(
        cost_per_request_usd(
            _check("input_tokens", input_tokens),
            _check("output_tokens", output_tokens),
            _check("input_usd_per_mtok", input_usd_per_mtok),
            _check("output_usd_per_mtok", output_usd_per_mtok),
        )
    )
    user = _check("user_rps", user_rps)
    r_c = float(closed_form_breakeven_rps(hourly, 1.0, 0.0, per_request * TOKENS_PER_M, 0.0))
    if replica_capacity_rps is None:
        crossings: tuple[float, ...] = (r_c,) if math.isfinite(r_c) else ()
    else:
        capacity = _check("replica_capacity_rps", replica_capacity_rps)
        crossings = capacity_breakeven(hourly, per_request, capacity).crossings_rps
    if max_rps is None:
        candidates = [2.0 * user, 1.5 * crossings[-1] if crossings else 0.0, 2.0 * r_c if math.isfinite(r_c) else 0.0]
        max_rps = max(*candidates, 1.0)
    top = _check("max_rps", max_rps)
    grid = np.linspace(0.0, top, max(points, 2))
    if replica_capacity_rps:
        edges = np.arange(1, math.floor(top / replica_capacity_rps) + 1) * replica_capacity_rps
        if 0 < len(edges) <= points:
            grid = np.concatenate([grid, edges, edges * (1 + 1e-9)])
    grid = np.unique(np.concatenate([grid, np.asarray(crossings), [user]]))
    serverless = serverless_hourly_usd(grid, per_request) * HOURS_PER_MONTH
    if replica_capacity_rps is None:
        dedicated = np.full_like(grid, hourly * HOURS_PER_MONTH)
    else:
        dedicated = dedicated_hourly_usd(grid, hourly, replica_capacity_rps, min_replicas=min_replicas)
        dedicated = dedicated * HOURS_PER_MONTH
    return CostCurve(
        rps=[float(x) for x in grid],
        serverless_monthly_usd=[float(x) for x in serverless],
        dedicated_monthly_usd=[float(x) if math.isfinite(x) else None for x in dedicated],
        serverless_price_id=serverless_price_id,
        gpu_price_id=gpu_price_id,
        user_rps=user,
        breakeven_rps=list(crossings),
    )
