"""Break-even: the seed article's closed form, the capacity-aware step function, and the cost curve."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from breakeven.errors import InputError
from costmodel.breakeven import (
    breakeven_table,
    capacity_breakeven,
    closed_form_breakeven_rps,
    cost_curve,
    dedicated_hourly_usd,
    replicas_needed,
    serverless_hourly_usd,
)
from costmodel.capacity import fit_replica_service
from costmodel.results import BreakevenRow, CostCurve
from tests.test_capacity_profiles import llama_8b, mi300x_seed

SEED = {"gpu_hourly_usd": 1.88, "input_usd_per_mtok": 0.10, "output_usd_per_mtok": 0.70, "input_tokens": 80}


def test_seed_article_table() -> None:
    # $1.88/h ÷ (80 × $0.10/1M + out × $0.70/1M) ÷ 3600:
    #   30 out:   80·0.1 + 30·0.7   =  29 µ$  → 1.88 / 29e-6 / 3600   = 18.0 req/s  (article: ~18)
    #   220 out:  80·0.1 + 220·0.7  = 162 µ$  → 1.88 / 162e-6 / 3600  = 3.22 req/s  (article: ~3)
    #   1200 out: 80·0.1 + 1200·0.7 = 848 µ$  → 1.88 / 848e-6 / 3600  = 0.616 req/s (article: <1)
    rows = breakeven_table(**SEED, output_tokens=[30, 220, 1200])
    assert [r.method for r in rows] == ["closed_form"] * 3
    assert [r.breakeven_rps for r in rows] == pytest.approx([18.0077, 3.2236, 0.6158], abs=5e-4)
    assert [r.serverless_cost_per_request_usd for r in rows] == pytest.approx([29e-6, 162e-6, 848e-6])
    assert rows[0].breakeven_rph == pytest.approx(18.0077 * 3600, rel=1e-4)
    assert all(r.gpu_hourly_usd == 1.88 for r in rows)


def test_capacity_breakeven_hand_example() -> None:
    # r_c = 1.88 / (3600 × 162e-6) = 3.2236 req/s; one replica carries 5 req/s.
    # 1 replica on (0, 5]: dedicated cheaper above 3.2236. 2 replicas on (5, 10]: cheaper above 6.447.
    # m = ceil(5 / (5 − 3.2236)) − 1 = ceil(2.81) − 1 = 2 → stays cheaper from 2 × 3.2236 = 6.447 on.
    found = capacity_breakeven(1.88, 162e-6, 5.0)
    assert found.crossings_rps == pytest.approx((3.2236, 5.0, 6.4472), abs=1e-4)
    assert found.breakeven_rps == pytest.approx(6.4472, abs=1e-4)
    assert found.replicas == 2
    # A replica worth several closed-form rates: the closed form holds with one replica.
    big = capacity_breakeven(1.88, 162e-6, 50.0)
    assert big.crossings_rps == pytest.approx((3.2236,), abs=1e-4) and big.replicas == 1


def test_capacity_at_or_below_closed_form_means_serverless_always_wins() -> None:
    found = capacity_breakeven(1.88, 162e-6, 3.0)
    assert found.breakeven_rps is None and found.crossings_rps == () and found.replicas is None
    assert capacity_breakeven(1.88, 162e-6, 0.0).breakeven_rps is None
    assert capacity_breakeven(1.88, 0.0, 10.0).breakeven_rps is None  # free requests


def test_crossings_are_truncated_but_counted() -> None:
    found = capacity_breakeven(1.0, 1e-4, 2.7778, max_crossings=10)  # r_c = 2.77778: m ~ 40,000
    assert len(found.crossings_rps) == 10
    assert found.omitted_crossings == 2 * found.replicas - 1 - 10  # type: ignore[operator]


def _brute_force(hourly: float, per_request: float, cap: float, top: float) -> list[float]:
    """Sign changes of serverless − dedicated on a fine grid (independent of the closed-form algebra)."""
    grid = np.linspace(top / 200_000, top, 200_000)
    diff = serverless_hourly_usd(grid, per_request) - dedicated_hourly_usd(grid, hourly, cap)
    cheaper = diff > 0
    return [float(grid[i + 1]) for i in np.flatnonzero(cheaper[1:] != cheaper[:-1])]


@settings(max_examples=40, deadline=None)
@given(
    hourly=st.floats(0.5, 20),
    per_request=st.floats(1e-5, 1e-2),
    ratio=st.floats(1.05, 6),
)
def test_crossings_match_a_brute_force_scan(hourly: float, per_request: float, ratio: float) -> None:
    r_c = hourly / 3600 / per_request
    cap = ratio * r_c
    found = capacity_breakeven(hourly, per_request, cap)
    assert found.breakeven_rps is not None
    top = found.breakeven_rps * 1.5 + cap
    scanned = _brute_force(hourly, per_request, cap, top)
    step = top / 200_000
    assert len(scanned) == len(found.crossings_rps)
    assert np.allclose(scanned, found.crossings_rps, atol=2 * step)


@given(
    hourly=st.floats(0.01, 100),
    bump=st.floats(0, 10),
    n_in=st.floats(0, 10_000),
    n_out=st.floats(1, 10_000),
    p_in=st.floats(0, 20),
    p_out=st.floats(0.01, 50),
    cap=st.floats(0.01, 500),
)
def test_higher_gpu_price_never_lowers_the_breakeven(
    hourly: float, bump: float, n_in: float, n_out: float, p_in: float, p_out: float, cap: float
) -> None:
    per_request = (n_in * p_in + n_out * p_out) / 1e6
    low = float(closed_form_breakeven_rps(hourly, n_in, n_out, p_in, p_out))
    high = float(closed_form_breakeven_rps(hourly + bump, n_in, n_out, p_in, p_out))
    assert high >= low
    a = capacity_breakeven(hourly, per_request, cap).breakeven_rps
    b = capacity_breakeven(hourly + bump, per_request, cap).breakeven_rps
    inf = math.inf
    assert (inf if b is None else b) >= (inf if a is None else a) * (1 - 1e-12)
    # and the step function never breaks even below the closed form
    assert (inf if a is None else a) >= low * (1 - 1e-12)


@given(
    rates=st.lists(st.floats(0, 1e4), min_size=2, max_size=20),
    per_request=st.floats(0, 1),
    hourly=st.floats(0, 100),
    cap=st.floats(1e-3, 1e3),
)
def test_costs_never_negative_and_serverless_grows_with_traffic(
    rates: list[float], per_request: float, hourly: float, cap: float
) -> None:
    r = np.sort(np.asarray(rates))
    serverless = serverless_hourly_usd(r, per_request)
    dedicated = dedicated_hourly_usd(r, hourly, cap)
    assert (serverless >= 0).all() and (dedicated >= 0).all()
    assert (np.diff(serverless) >= 0).all()
    assert (np.diff(dedicated) >= 0).all()


def test_replicas_needed_is_a_right_closed_step() -> None:
    assert replicas_needed([0, 0.1, 5.0, 5.0001, 10.0], 5.0).tolist() == [1, 1, 1, 2, 2]
    assert replicas_needed([0, 1], 0.0).tolist() == [1, math.inf]


# ------------------------------------------------------------------------------------ table with a fit


def test_table_with_capacity_rows_from_the_8b_sweep() -> None:
    fit = fit_replica_service(llama_8b())
    rows = breakeven_table(
        gpu_hourly_usd=2.99,
        input_usd_per_mtok=0.10,
        output_usd_per_mtok=0.70,
        input_tokens=80,
        output_tokens=[30, 220, 1200],
        fit=fit,
        serverless_price_id="x/serverless",
        gpu_price_id="x/h100",
    )
    assert [(r.output_tokens, r.method) for r in rows] == [
        (30, "closed_form"), (30, "capacity"), (220, "closed_form"),
        (220, "capacity"), (1200, "closed_form"), (1200, "capacity"),
    ]  # fmt: skip
    for closed, capacity in zip(rows[::2], rows[1::2], strict=True):
        assert capacity.replica_capacity_rps == pytest.approx(fit.capacity(80, capacity.output_tokens).rps)
        if capacity.breakeven_rps is None:
            assert capacity.replica_capacity_rps <= closed.breakeven_rps  # type: ignore[operator]
            assert any("serverless is always cheaper" in n for n in capacity.notes)
        else:
            assert capacity.breakeven_rps >= closed.breakeven_rps  # type: ignore[operator]
            assert capacity.replicas is not None and capacity.replicas >= 1
            assert capacity.crossings_rps[-1] == pytest.approx(capacity.breakeven_rps)
    # 1,200 output tokens is outside the sweep's 44–137: the row says so.
    assert any("extrapolating" in n for n in rows[-1].notes)
    BreakevenRow.model_validate_json(rows[1].model_dump_json())  # round-trips


def test_table_rejects_bad_numbers() -> None:
    with pytest.raises(InputError, match="gpu_hourly_usd"):
        breakeven_table(**{**SEED, "gpu_hourly_usd": -1}, output_tokens=[30])
    with pytest.raises(InputError, match="output_tokens"):
        breakeven_table(**SEED, output_tokens=[float("nan")])
    with pytest.raises(InputError, match="at least one"):
        breakeven_table(**SEED, output_tokens=[])


# ------------------------------------------------------------------------------------------ cost curve


def test_cost_curve_draws_steps_and_marks_crossings() -> None:
    curve = cost_curve(
        gpu_hourly_usd=1.88,
        input_usd_per_mtok=0.1,
        output_usd_per_mtok=0.7,
        input_tokens=80,
        output_tokens=220,
        replica_capacity_rps=5.0,
        user_rps=4.0,
        points=50,
    )
    r = np.asarray(curve.rps)
    assert (np.diff(r) > 0).all() and r[0] == 0
    assert 4.0 in curve.rps and 5.0 in curve.rps
    i = curve.rps.index(5.0)
    assert curve.dedicated_monthly_usd[i] == pytest.approx(1.88 * 730)  # right-closed: 1 replica at 5 req/s
    assert curve.dedicated_monthly_usd[i + 1] == pytest.approx(2 * 1.88 * 730)  # just past it: 2
    assert curve.breakeven_rps == pytest.approx([3.2236, 5.0, 6.4472], abs=1e-4)
    # serverless at 4 req/s: 4 × 3600 × 730 × 162e-6 = $1,702.94 a month
    assert curve.serverless_monthly_usd[curve.rps.index(4.0)] == pytest.approx(1702.944)
    CostCurve.model_validate_json(curve.model_dump_json())


def test_cost_curve_unreachable_slo_and_unknown_capacity() -> None:
    args = {**SEED, "output_tokens": 220.0, "points": 10}
    none = cost_curve(**args, replica_capacity_rps=0.0)
    assert none.dedicated_monthly_usd[0] == pytest.approx(1.88 * 730)
    assert all(v is None for v in none.dedicated_monthly_usd[1:])
    assert none.breakeven_rps == []
    flat = cost_curve(**args)
    assert flat.dedicated_monthly_usd == pytest.approx([1.88 * 730] * len(flat.rps))
    assert flat.breakeven_rps == pytest.approx([3.2236], abs=1e-4)


def test_seed_profile_capacity_row_matches_closed_form_when_one_replica_is_plenty() -> None:
    fit = fit_replica_service(mi300x_seed())
    rows = breakeven_table(**SEED, output_tokens=[220], fit=fit)
    closed, capacity = rows
    assert capacity.replicas == 1
    assert capacity.breakeven_rps == pytest.approx(closed.breakeven_rps)
    assert any("extrapolating" in n for n in capacity.notes)
