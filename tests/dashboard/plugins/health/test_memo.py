"""The memo: reuse within the TTL, honest hit/age, single flight, off when the TTL is zero."""

from __future__ import annotations

import threading
import time

import pytest

from dashboard.clock import ManualClock
from dashboard.plugins.health.memo import SingleFlightMemo


class Counter:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> int:
        self.calls += 1
        return self.calls


def test_reuses_within_ttl_and_reports_age(dashboard_clock: ManualClock) -> None:
    memo: SingleFlightMemo[int] = SingleFlightMemo(dashboard_clock, ttl_seconds=5)
    compute = Counter()
    first = memo.get("deep", compute)
    dashboard_clock.advance(3.5)
    second = memo.get("deep", compute)
    assert (first.value, first.hit, first.age_seconds) == (1, False, 0.0)
    assert (second.value, second.hit) == (1, True)
    assert second.age_seconds == pytest.approx(3.5)
    assert compute.calls == 1


def test_recomputes_once_expired(dashboard_clock: ManualClock) -> None:
    memo: SingleFlightMemo[int] = SingleFlightMemo(dashboard_clock, ttl_seconds=5)
    compute = Counter()
    memo.get("deep", compute)
    dashboard_clock.advance(5.0)
    again = memo.get("deep", compute)
    assert (again.value, again.hit, again.age_seconds) == (2, False, 0.0)


def test_keys_are_separate(dashboard_clock: ManualClock) -> None:
    memo: SingleFlightMemo[str] = SingleFlightMemo(dashboard_clock, ttl_seconds=5)
    assert memo.get("deep", lambda: "deep").value == "deep"
    assert memo.get("shallow", lambda: "shallow").value == "shallow"
    assert memo.get("deep", lambda: "other").value == "deep"


def test_zero_ttl_computes_every_time(dashboard_clock: ManualClock) -> None:
    memo: SingleFlightMemo[int] = SingleFlightMemo(dashboard_clock, ttl_seconds=0)
    compute = Counter()
    answers = [memo.get("deep", compute) for _ in range(3)]
    assert [a.value for a in answers] == [1, 2, 3]
    assert not any(a.hit for a in answers)


def test_concurrent_callers_share_one_computation(dashboard_clock: ManualClock) -> None:
    memo: SingleFlightMemo[int] = SingleFlightMemo(dashboard_clock, ttl_seconds=5)
    release = threading.Event()
    started = threading.Event()
    calls = []

    def slow() -> int:
        calls.append(1)
        started.set()
        assert release.wait(10)
        return 42

    results: list = []
    leader = threading.Thread(target=lambda: results.append(memo.get("deep", slow)))
    leader.start()
    assert started.wait(10)
    followers = [threading.Thread(target=lambda: results.append(memo.get("deep", slow)))
                 for _ in range(20)]
    for thread in followers:
        thread.start()
    time.sleep(0.05)  # let the followers reach the wait; correctness does not depend on it
    dashboard_clock.advance(0.25)
    release.set()
    for thread in [leader, *followers]:
        thread.join(10)
    assert len(calls) == 1
    assert [r.value for r in results] == [42] * 21
    assert sorted(r.hit for r in results) == [False] + [True] * 20


def test_error_reaches_waiters_and_is_not_stored(dashboard_clock: ManualClock) -> None:
    memo: SingleFlightMemo[int] = SingleFlightMemo(dashboard_clock, ttl_seconds=5)
    release = threading.Event()
    started = threading.Event()

    def failing() -> int:
        started.set()
        release.wait(10)
        raise RuntimeError("boom")

    errors: list[BaseException] = []

    def call() -> None:
        try:
            memo.get("deep", failing)
        except RuntimeError as error:
            errors.append(error)

    leader = threading.Thread(target=call)
    leader.start()
    assert started.wait(10)
    follower = threading.Thread(target=call)
    follower.start()
    time.sleep(0.05)
    release.set()
    leader.join(10)
    follower.join(10)
    assert len(errors) == 2
    assert memo.get("deep", lambda: 7).value == 7
