"""--policy specs parse into AutoscalePolicy and round-trip; bad specs name the option and the problem."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from breakeven.errors import InputError
from costmodel.policy import describe_policy, parse_policy
from costmodel.results import AutoscalePolicy


def test_fixed_short_form() -> None:
    policy = parse_policy("fixed:3")
    assert policy.kind == "fixed" and policy.min_replicas == 3 and policy.max_replicas == 3


def test_utilization_with_scale_to_zero() -> None:
    policy = parse_policy("autoscale:min=0,max=4,idle=300,target=0.6")
    assert (policy.kind, policy.min_replicas, policy.max_replicas) == ("utilization", 0, 4)
    assert policy.idle_timeout_s == 300 and policy.target_utilization == 0.6


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("elastic:min=1", "unknown policy kind"),
        ("utilization:min", "bad item"),
        ("utilization:speed=3", "bad item"),
        ("utilization:max=many", "must be a number"),
        ("utilization:min=5,max=2", "above max"),
        ("utilization:target=1.5", "target_utilization"),
        ("utilization:min=1.5", "whole number"),
    ],
)
def test_bad_specs(spec: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        parse_policy(spec)
    assert "--policy" in str(info.value)


@given(
    kind=st.sampled_from(["utilization", "queue"]),
    low=st.integers(0, 4),
    extra=st.integers(0, 8),
    idle=st.floats(0, 7200, allow_nan=False).map(lambda x: round(x, 1)),
)
def test_describe_round_trips(kind: str, low: int, extra: int, idle: float) -> None:
    policy = AutoscalePolicy(kind=kind, min_replicas=low, max_replicas=max(low + extra, 1), idle_timeout_s=idle)  # type: ignore[arg-type]
    assert parse_policy(describe_policy(policy)) == policy
