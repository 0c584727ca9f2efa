"""Capacity of one replica: the latency fit on real sweeps, and its edge cases."""

from __future__ import annotations

import numpy as np
import pytest

from breakeven.errors import InputError
from costmodel.capacity import fit_replica_service
from costmodel.profiles.schema import Profile, Stat, WarmPoint
from costmodel.results import Slo
from tests.test_capacity_profiles import llama_8b, llama_70b, mi300x_seed

# ------------------------------------------------------------------------------ 8B-FP8 on 1×H100, 8 points


def test_8b_fit_reports_every_point_and_the_data_quirks() -> None:
    fit = fit_replica_service(llama_8b())
    assert len(fit.points) == 8
    assert fit.measured.points == 8 and fit.measured.skipped == 0
    text = " | ".join(fit.warnings)
    assert "burst" in text  # all N prompts at t = 0
    # the importer recomputes p90 TTFT from the per-request arrays of the two full files (N = 10, 20) only
    assert "p90 TTFT not measured at 6 point(s): used p99 instead (conservative)" in text
    assert "p90 TPOT not measured at 8 point(s): used p99 instead (conservative)" in text
    assert "KV-cache capacity unknown" in text
    # Every point is a burst: Little's law concurrency is far below N (N = 1280 → ~684 in flight).
    assert all(p.burst for p in fit.points)
    assert fit.points[-1].batch == pytest.approx(65.426 * 10.460, rel=0.01)
    # The fit is rough on a burst sweep but not wild: median relative error under 30 %.
    assert np.median([abs(p.ttft_rel_error) for p in fit.points]) < 0.3
    assert np.median([abs(p.tpot_rel_error) for p in fit.points]) < 0.3


def test_8b_mean_decode_time_matches_the_low_load_points() -> None:
    fit = fit_replica_service(llama_8b())
    # mean TPOT measured 6.02 ms (N = 10, ~2.7 in flight) and 5.96 ms (N = 20, ~6.7 in flight)
    # (one line over 2.7 … 684 in flight; within 20 % at the low end)
    assert float(fit.mean.tpot_ms(2.7)) == pytest.approx(6.02, rel=0.2)
    assert float(fit.mean.tpot_ms(6.7)) == pytest.approx(5.96, rel=0.2)


def test_8b_slots_lie_between_the_last_passing_and_first_failing_measurement() -> None:
    # At p90 (read as p99 here): N = 40 (~10 in flight) measured TTFT p99 269 ms, TPOT p99 32 ms: meets
    # 600 / 60 ms. N = 80 (~26 in flight) measured TTFT p99 720 ms, TPOT p99 129 ms: fails both.
    cap = fit_replica_service(llama_8b()).capacity(200, 110)
    assert 10 <= cap.slots <= 26
    assert cap.binding in {"ttft", "tpot"}
    assert cap.ttft_ms is not None and cap.ttft_ms <= 600
    assert cap.tpot_ms is not None and cap.tpot_ms <= 60
    assert not cap.extrapolated
    # Little's law: the replica holds `slots` requests, each for service_s.
    assert cap.service_s is not None
    assert cap.rps * cap.service_s == pytest.approx(cap.slots)
    # The burst at N = 40 completed 11.8 req/s at ~108 output tokens; the SLO capacity is the same order.
    assert 5 < cap.rps < 40


def test_capacity_falls_with_output_length() -> None:
    fit = fit_replica_service(llama_8b())
    rates = [fit.capacity(80, n).rps for n in (30, 220, 1200)]
    assert rates[0] > rates[1] > rates[2] > 0


def test_long_inputs_are_flagged_as_extrapolation() -> None:
    cap = fit_replica_service(llama_8b()).capacity(7000, 220)
    assert cap.extrapolated
    assert any("asked for 7,000 input tokens; measured inputs were 137–244 tokens" in w for w in cap.warnings)


def test_service_for_agrees_with_capacity() -> None:
    fit = fit_replica_service(llama_8b())
    cap = fit.capacity(80, 220)
    service = fit.service_for(80, 220)
    assert service.slots == cap.slots
    assert service.capacity_rps(80, 220) == pytest.approx(cap.rps)
    # The percentile factors reproduce the planning TPOT / TTFT at the operating batch.
    assert float(service.tpot_ms(cap.slots)) * service.tpot_p_factor == pytest.approx(cap.tpot_ms)
    assert float(service.ttft_ms(80, cap.slots)) * service.ttft_p_factor == pytest.approx(cap.ttft_ms)
    assert fit.service.slots >= 1


def test_percentile_choice_moves_capacity_the_right_way() -> None:
    profile = llama_8b()
    rates = [fit_replica_service(profile, Slo(percentile=p)).capacity(80, 220).rps for p in ("p50", "p90", "p99")]
    assert rates[0] >= rates[1] >= rates[2] > 0


# ------------------------------------------------------------------------------ 70B-FP8 on 1×H100


def test_70b_skips_failed_runs() -> None:
    fit = fit_replica_service(llama_70b())
    assert fit.measured.points == 2 and fit.measured.skipped == 2
    assert any("skipped 2 invalid point(s)" in w and "concurrency 40" in w for w in fit.warnings)
    # TPOT ~36 ms, flat between ~3 and ~6 requests in flight
    assert float(fit.mean.tpot_ms(4)) == pytest.approx(35.7, rel=0.05)


def test_70b_at_median_latency_is_ttft_bound_near_the_measured_n20() -> None:
    # Median TTFT 280 ms at ~2.8 in flight and 596 ms at ~5.9: the 600 ms target is met up to ~6.
    cap = fit_replica_service(llama_70b(), Slo(percentile="p50")).capacity(160, 200)
    assert cap.binding == "ttft"
    assert 5 <= cap.slots <= 6


def test_70b_at_p90_is_bound_by_tpot_measured_at_the_target() -> None:
    # p90 falls back to p99, where TPOT measured 60.4 and 61.5 ms: right at the 60 ms target.
    cap = fit_replica_service(llama_70b()).capacity(160, 200)
    assert cap.binding == "tpot"
    assert cap.slots <= 1


# ------------------------------------------------------------------------------ the seed's MI300X point


def test_single_point_fits_what_it_can_and_warns_about_the_rest() -> None:
    fit = fit_replica_service(mi300x_seed())
    assert float(fit.mean.tpot_ms(1)) == pytest.approx(1000 / 154, rel=1e-3)
    assert float(fit.mean.ttft_ms(0, 1)) == pytest.approx(322, rel=1e-6)  # median stands in for the mean
    assert float(fit.planning.ttft_ms(0, 1)) == pytest.approx(324, rel=1e-6)  # p99 bound for p90
    text = " | ".join(fit.warnings)
    assert "only one load level measured" in text
    assert "mean TTFT not measured at 1 point(s): used p50 instead" in text
    assert "p90 TTFT not measured at 1 point(s): used p99 instead (conservative)" in text
    assert "p90 TPOT not measured at 1 point(s): used mean instead (optimistic)" in text
    assert "input tokens of the measured points are unknown" in text
    cap = fit.capacity(80, 220)
    assert cap.extrapolated and cap.binding == "none" and cap.slots == 256  # vLLM's default max_num_seqs


def test_kv_cache_caps_the_batch() -> None:
    profile = mi300x_seed().model_copy(update={"kv_cache_tokens": 50_000})
    cap = fit_replica_service(profile).capacity(80, 220)
    assert cap.binding == "kv"
    assert cap.slots == 50_000 // 300


def test_unreachable_slo_gives_zero_capacity_not_an_error() -> None:
    cap = fit_replica_service(mi300x_seed(), Slo(ttft_ms=200)).capacity(80, 220)
    assert cap.rps == 0 and cap.slots == 0 and not cap.reachable
    assert cap.binding == "ttft"
    assert "SLO unreachable" in cap.warnings[0] and "327 ms > 200 ms" in cap.warnings[0]  # 324 + 80 × prefill
    tiny_kv = mi300x_seed().model_copy(update={"kv_cache_tokens": 100})
    assert fit_replica_service(tiny_kv).capacity(80, 220).binding == "kv"


# ------------------------------------------------------------------------------ exact recovery


def _synthetic(points: list[tuple[float, float, float]]) -> Profile:
    """Points generated from known lines: TPOT = 5 + 0.2 b, TTFT = 30 + 0.05 n_in + 2 b; measured at a
    request rate (Little's law: rate = b / e2e)."""
    warm = []
    for b, n_in, n_out in points:
        tpot = 5 + 0.2 * b
        ttft = 30 + 0.05 * n_in + 2 * b
        e2e = ttft + (n_out - 1) * tpot
        rate = b / (e2e / 1000)
        warm.append(
            WarmPoint(
                request_rate=rate,
                request_s=rate,
                ttft_ms=Stat(mean=ttft, p90=1.5 * ttft),
                tpot_ms=Stat(mean=tpot, p90=1.2 * tpot),
                e2e_ms=Stat(mean=e2e),
                input_tokens_mean=n_in,
                output_tokens_mean=n_out,
            )
        )
    return Profile(id="synthetic", model="m", warm=warm)


def test_fit_recovers_known_lines_from_request_rate_points() -> None:
    fit = fit_replica_service(_synthetic([(2, 100, 50), (8, 400, 200), (32, 1600, 100), (64, 800, 300)]))
    m = fit.mean
    assert (m.tpot_base_ms, m.tpot_per_seq_ms) == pytest.approx((5, 0.2), rel=1e-6)
    assert (m.ttft_base_ms, m.prefill_ms_per_token, m.ttft_per_seq_ms) == pytest.approx((30, 0.05, 2), rel=1e-6)
    p = fit.planning
    assert (p.tpot_base_ms, p.tpot_per_seq_ms) == pytest.approx((6, 0.24), rel=1e-6)
    assert p.prefill_ms_per_token == pytest.approx(0.075, rel=1e-6)
    assert max(abs(pt.ttft_rel_error) for pt in fit.points) < 1e-6
    assert not any("burst" in w for w in fit.warnings)
    # p90 TPOT = 1.2 × (5 + 0.2 b) ≤ 60 → b ≤ 225; TTFT p90 = 1.5 × (30 + 0.05·100 + 2 b) ≤ 600 → b ≤ 182.5
    cap = fit.capacity(100, 100)
    assert (cap.slots, cap.binding) == (182, "ttft")


def test_throughput_stands_in_for_missing_tpot() -> None:
    point = WarmPoint(concurrency=1, ttft_ms=Stat(p50=322.0), output_tok_s=154.0)
    fit = fit_replica_service(Profile(id="x", model="m", warm=[point]))
    assert fit.points[0].tpot_source == "throughput"
    assert float(fit.mean.tpot_ms(1)) == pytest.approx(1000 / 154)
    assert any("derived from output throughput" in w for w in fit.warnings)


def test_itl_stands_in_for_missing_tpot_with_a_warning() -> None:
    point = WarmPoint(concurrency=4, ttft_ms=Stat(mean=100), itl_ms=Stat(mean=20), input_tokens_mean=100)
    fit = fit_replica_service(Profile(id="x", model="m", warm=[point]))
    assert fit.points[0].tpot_source == "itl"
    assert any("inter-token latency" in w for w in fit.warnings)


def test_bad_profiles_raise_input_errors() -> None:
    with pytest.raises(InputError, match="serverless"):
        fit_replica_service(Profile(id="api", model="m", kind="serverless", warm=llama_8b().warm))
    with pytest.raises(InputError, match="no usable warm point"):
        fit_replica_service(Profile(id="empty", model="m"))
    failed = llama_70b().model_copy(update={"warm": [p for p in llama_70b().warm if not p.valid]})
    with pytest.raises(InputError, match="2 invalid"):
        fit_replica_service(failed)
    with pytest.raises(InputError, match="input_tokens"):
        fit_replica_service(llama_8b()).capacity(-1, 10)
