"""``[plugins.breaker]`` validation: finite numbers within the documented bounds, keys named."""

from __future__ import annotations

import pytest

from dashboard.testing import config_problems


@pytest.mark.parametrize(("line", "key", "says"), [
    ("open_seconds = inf", "open_seconds", "finite"),  # was: open for ever, Retry-After 1
    ("open_seconds = nan", "open_seconds", "finite"),
    ("open_seconds = 86401", "open_seconds", "86400"),
    ("open_seconds_max = inf", "open_seconds_max", "finite"),
    ("open_seconds_max = 90000", "open_seconds_max", "86400"),
    ("failure_rate_threshold = nan", "failure_rate_threshold", "finite"),
    ("slow_call_rate_threshold = 0", "slow_call_rate_threshold", "> 0"),
    ("slow_call_rate_threshold = 1.5", "slow_call_rate_threshold", "<= 1"),
    ("slow_call_ms = -1", "slow_call_ms", ">= 0"),
    ("window_seconds = -1", "window_seconds", ">= 0"),
    ("window_seconds = 3601", "window_seconds", "3600"),
])
def test_out_of_bounds_values_are_config_errors_naming_the_key(line: str, key: str,
                                                               says: str) -> None:
    problems = config_problems(f"[plugins.breaker]\n{line}\n")
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"plugins.breaker.{key}: ") and says in problems[0], problems


def test_an_environment_override_is_checked_the_same_way() -> None:
    problems = config_problems("", env={"DASHBOARD__PLUGINS__BREAKER__OPEN_SECONDS": "inf"})
    assert len(problems) == 1 and problems[0].startswith("plugins.breaker.open_seconds: ")
    assert "DASHBOARD__PLUGINS__BREAKER__OPEN_SECONDS" in problems[0]


def test_open_seconds_max_below_open_seconds_is_an_error() -> None:
    problems = config_problems("[plugins.breaker]\nopen_seconds = 30\nopen_seconds_max = 10\n")
    assert len(problems) == 1 and "open_seconds_max" in problems[0], problems


def test_the_documented_values_are_valid() -> None:
    assert config_problems("""
        [plugins.breaker]
        slow_call_ms = 300
        slow_call_rate_threshold = 0.5
        window_seconds = 30
        minimum_calls = 20   # a time window is not capped by window_size
        open_seconds = 10
        open_seconds_max = 300
        """) == []
    assert config_problems("[plugins.breaker]\nslow_call_ms = 0\nopen_seconds_max = 0\n") == []
