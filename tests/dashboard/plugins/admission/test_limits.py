"""The limit rules on plain numbers: steady, rising and recovering latency, and the bounds."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboard.plugins.admission.limits import FixedLimit, GradientLimit


def feed(policy: GradientLimit, latencies: list[float], in_flight: int = 8) -> list[int]:
    seen = []
    for latency in latencies:
        policy.update(latency, in_flight)
        seen.append(policy.limit)
    return seen


def test_steady_latency_keeps_the_limit_at_max() -> None:
    policy = GradientLimit(1, 8)
    assert feed(policy, [0.020] * 500) == [8] * 500


def test_noisy_but_steady_latency_stays_near_max() -> None:
    policy = GradientLimit(1, 8)
    limits = feed(policy, [0.010, 0.014, 0.012, 0.009] * 100)
    assert min(limits) >= 7 and limits[-1] == 8


def test_rising_latency_shrinks_to_min_then_recovers() -> None:
    policy = GradientLimit(1, 8)
    feed(policy, [0.010] * 50)
    rising = [0.010 * 1.15 ** step for step in range(1, 60)]  # 10 ms to ~38 s, steadily worse
    limits = feed(policy, rising)
    assert limits == sorted(limits, reverse=True)  # never grows while latency keeps rising
    assert limits[-1] == 1
    recovered = feed(policy, [0.010] * 60)
    assert recovered[-1] == 8
    assert recovered == sorted(recovered)  # grows back monotonically once latency settles


def test_an_app_limited_worker_keeps_its_limit_whatever_the_latency() -> None:
    policy = GradientLimit(1, 8)
    feed(policy, [0.010] * 20)
    assert feed(policy, [0.010 * 1.3 ** step for step in range(30)], in_flight=3)[-1] == 8
    assert policy.baseline > 0.010  # but the baseline learnt from it


def test_one_slow_request_does_not_take_a_slot_away() -> None:
    policy = GradientLimit(1, 3)
    feed(policy, [0.010] * 20, in_flight=3)
    assert feed(policy, [0.100], in_flight=3) == [3]


def test_a_new_steady_level_is_accepted_after_the_baseline_catches_up() -> None:
    policy = GradientLimit(2, 6)
    feed(policy, [0.010] * 50)
    limits = feed(policy, [0.100] * 400)  # a 10x step: shrinks first, then a new normal
    assert min(limits) < 6
    assert limits[-1] == 6


def test_ceiling_caps_and_restores() -> None:
    policy = GradientLimit(1, 8)
    policy.set_ceiling(4)
    assert policy.limit == 4
    assert feed(policy, [0.010] * 50)[-1] == 4
    policy.set_ceiling(0)  # never below min
    assert policy.limit == 1
    policy.set_ceiling(100)  # never above max; the rule kept learning underneath
    assert policy.limit == 8


def test_fixed_limit_ignores_latency_and_ceiling() -> None:
    policy = FixedLimit(3)
    policy.update(100.0, 3)
    policy.set_ceiling(1)
    assert policy.limit == 3


@pytest.mark.parametrize(("low", "high"), [(0, 3), (4, 3)])
def test_bounds_are_checked(low: int, high: int) -> None:
    with pytest.raises(ValueError, match="min_limit"):
        GradientLimit(low, high)


@given(low=st.integers(1, 5), extra=st.integers(0, 10),
       latencies=st.lists(st.floats(min_value=0, max_value=1e4)
                          | st.sampled_from([float("nan"), float("inf"), -1.0]), max_size=200),
       ceilings=st.lists(st.integers(-5, 30), max_size=5))
def test_never_outside_min_and_max(low: int, extra: int, latencies: list[float],
                                   ceilings: list[int]) -> None:
    policy = GradientLimit(low, low + extra)
    for index, latency in enumerate(latencies):
        if ceilings and index % 40 == 0:
            policy.set_ceiling(ceilings[index // 40 % len(ceilings)])
        policy.update(latency, low + extra)
        assert low <= policy.limit <= low + extra
        assert policy.limit <= policy.ceiling
