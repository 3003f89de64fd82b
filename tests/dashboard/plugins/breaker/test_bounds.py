"""Shared state is bounded: adopted trips and overrides are cut to this host's own limits."""

from __future__ import annotations

import logging

import pytest

from dashboard.plugins.breaker.bounds import OVERRIDE_MAX_SECONDS, bounded_override, bounded_trip

TEN_YEARS = 315_360_000.0


def test_a_ten_year_trip_is_cut_to_the_longest_open_period(caplog: pytest.LogCaptureFixture
                                                            ) -> None:
    with caplog.at_level(logging.WARNING, "dashboard.breaker"):
        assert bounded_trip(TEN_YEARS, 120.0, "the cluster") == 120.0
    assert len(caplog.records) == 1 and "cut to 120 s" in caplog.text


def test_an_override_is_cut_to_a_day() -> None:
    assert bounded_override(TEN_YEARS, "the host block") == OVERRIDE_MAX_SECONDS == 86_400


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "soon", None])
def test_a_malformed_time_is_ignored_with_one_warning(value: object,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "dashboard.breaker"):
        assert bounded_trip(value, 30.0, "the cluster") is None  # type: ignore[arg-type]
    assert [r.levelname for r in caplog.records] == ["WARNING"]


def test_values_within_bounds_pass_untouched(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "dashboard.breaker"):
        assert bounded_trip(29.5, 30.0, "the cluster") == 29.5
        assert bounded_override(3600, "the cluster") == 3600
    assert caplog.records == []
