"""The limiter on a manual clock: permits, rejections, release once, the wait, Retry-After."""

from __future__ import annotations

import threading
import time

import pytest

from dashboard.clock import ManualClock
from dashboard.plugins.admission.limiter import REJECTING_SECONDS, Limiter
from dashboard.plugins.admission.limits import FixedLimit, GradientLimit


def wait_until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.005)


def test_admits_up_to_the_limit_then_rejects_and_says_so_for_a_while() -> None:
    clock = ManualClock()
    limiter = Limiter(FixedLimit(2), clock)
    first, second = limiter.try_acquire(0), limiter.try_acquire(0)
    assert first is not None and second is not None
    assert limiter.try_acquire(0) is None
    snapshot = limiter.snapshot()
    assert (snapshot.limit, snapshot.in_flight, snapshot.rejected_total) == (2, 2, 1)
    assert snapshot.rejecting
    clock.advance(REJECTING_SECONDS + 0.1)
    assert not limiter.snapshot().rejecting
    assert limiter.release(first, 0.01) is True
    assert limiter.try_acquire(0) is not None


def test_release_twice_frees_one_slot_only() -> None:
    limiter = Limiter(FixedLimit(2), ManualClock())
    permit = limiter.try_acquire(0)
    other = limiter.try_acquire(0)
    assert permit is not None and other is not None
    assert limiter.release(permit) is True
    assert limiter.release(permit) is False
    assert limiter.snapshot().in_flight == 1
    assert limiter.try_acquire(0) is not None
    assert limiter.try_acquire(0) is None  # the double release did not make room for a third


def test_latency_is_the_permits_age_on_the_injected_clock() -> None:
    clock = ManualClock()
    policy = GradientLimit(1, 4)
    limiter = Limiter(policy, clock)
    for _ in range(20):
        permit = limiter.try_acquire(0)
        assert permit is not None
        clock.advance(0.050)
        limiter.release(permit)
    assert policy.baseline == pytest.approx(0.050)
    assert limiter.limit == 4


def test_adaptive_limit_follows_latency_through_the_limiter() -> None:
    """A busy worker: each round fills every slot, time passes, all finish."""
    clock = ManualClock()
    limits_seen: list[int] = []
    limiter = Limiter(GradientLimit(1, 4), clock, on_limit=limits_seen.append)
    latency = 0.010
    for round_ in range(80):
        if 10 <= round_ < 40:
            latency *= 1.25
        elif round_ == 40:
            latency = 0.010
        permits = [limiter.try_acquire(0) for _ in range(limiter.limit)]
        assert all(permits) and limiter.try_acquire(0) is None
        clock.advance(latency)
        for permit in permits:
            limiter.release(permit)  # type: ignore[arg-type]
    assert limits_seen[0] == 4 and 1 in limits_seen and limits_seen[-1] == 4
    assert all(1 <= limit <= 4 for limit in limits_seen)


def test_a_waiter_gets_the_slot_a_release_frees() -> None:
    limiter = Limiter(FixedLimit(1), ManualClock())
    held = limiter.try_acquire(0)
    assert held is not None
    got: list[object] = []
    waiter = threading.Thread(target=lambda: got.append(limiter.try_acquire(30)))
    waiter.start()
    wait_until(lambda: limiter.snapshot().waiting == 1)
    limiter.release(held)
    waiter.join(10)
    assert got and got[0] is not None
    assert limiter.snapshot().waiting == 0 and limiter.rejected_total == 0


def test_no_wait_when_every_slot_is_held_by_a_stuck_request() -> None:
    clock = ManualClock()
    limiter = Limiter(FixedLimit(1), clock)
    for _ in range(10):
        limiter.release(limiter.try_acquire(0), 0.010)  # type: ignore[arg-type]
    assert limiter.try_acquire(0) is not None
    clock.advance(30.0)  # 3000x the typical latency: stuck, expected to need ~30 s more
    started = time.monotonic()
    assert limiter.try_acquire(10) is None
    assert time.monotonic() - started < 5  # refused at once, not after the 10 s
    assert limiter.rejected_total == 1


def test_a_wait_ends_after_its_timeout() -> None:
    limiter = Limiter(FixedLimit(1), ManualClock())
    assert limiter.try_acquire(0) is not None
    started = time.monotonic()
    assert limiter.try_acquire(0.05) is None
    assert time.monotonic() - started >= 0.05
    assert limiter.rejected_total == 1 and limiter.snapshot().waiting == 0


def test_raising_the_ceiling_wakes_waiters() -> None:
    policy = GradientLimit(1, 2)
    limiter = Limiter(policy, ManualClock())
    limiter.set_ceiling(1)
    assert limiter.try_acquire(0) is not None
    got: list[object] = []
    waiter = threading.Thread(target=lambda: got.append(limiter.try_acquire(30)))
    waiter.start()
    wait_until(lambda: limiter.snapshot().waiting == 1)
    limiter.set_ceiling(2)
    waiter.join(10)
    assert got and got[0] is not None


def test_retry_after_from_typical_latency_and_the_requests_in_flight() -> None:
    clock = ManualClock()
    limiter = Limiter(FixedLimit(2), clock)
    for _ in range(30):  # typical latency 4 s
        permit = limiter.try_acquire(0)
        assert permit is not None
        limiter.release(permit, 4.0)
    older = limiter.try_acquire(0)
    clock.advance(1.0)
    younger = limiter.try_acquire(0)
    assert older is not None and younger is not None
    # older: 1 s in, 3 s left; younger: just started, 4 s left: the soonest is 3 s.
    assert limiter.retry_after() == pytest.approx(3.0)
    clock.advance(9.0)  # both late (10 s and 9 s): a stuck request lasts about as long again
    assert limiter.retry_after() == pytest.approx(9.0)


def test_a_few_stuck_requests_do_not_make_later_estimates_huge() -> None:
    clock = ManualClock()
    limiter = Limiter(FixedLimit(1), clock)
    for latency in [0.02] * 10 + [15.0] * 3 + [0.02] * 5:  # three stuck behind a lock, then fast
        limiter.release(limiter.try_acquire(0), latency)  # type: ignore[arg-type]
    assert limiter.try_acquire(0) is not None
    assert limiter.retry_after() == pytest.approx(0.02)


def test_retry_after_never_past_the_statement_timeout() -> None:
    clock = ManualClock()
    limiter = Limiter(FixedLimit(1), clock, max_latency=20.0)
    assert limiter.try_acquire(0) is not None
    clock.advance(15.0)
    assert limiter.retry_after() == pytest.approx(5.0)
    clock.advance(10.0)
    assert limiter.retry_after() == 0.0
