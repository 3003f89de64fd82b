"""``[plugins.breaker]`` validation: finite numbers within the documented bounds, keys named."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dashboard.cli import main
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


# -- scope and redis_url (docs/plugins/breaker.md) -------------------------------------------------

def test_the_scopes_are_valid_and_cluster_needs_a_redis_url() -> None:
    assert config_problems('[plugins.breaker]\nscope = "host"\n') == []
    assert config_problems('[plugins.breaker]\nscope = "cluster"\n'
                           'redis_url = "redis://127.0.0.1:6379/0"\n') == []
    problems = config_problems('[plugins.breaker]\nscope = "cluster"\n')
    assert problems == ['plugins.breaker.redis_url: required when scope = "cluster" '
                        "(got '', from default)"]
    problems = config_problems('[plugins.breaker]\nscope = "fleet"\n')
    assert len(problems) == 1 and problems[0].startswith("plugins.breaker.scope: ")


def test_a_shared_scope_holds_at_most_16_probes() -> None:
    problems = config_problems('[plugins.breaker]\nscope = "host"\nhalf_open_max_calls = 17\n')
    assert len(problems) == 1 and problems[0].startswith("plugins.breaker.scope: ")
    assert "half_open_max_calls must be <= 16" in problems[0]
    assert config_problems("[plugins.breaker]\nhalf_open_max_calls = 17\n") == []


def test_the_scope_can_come_from_the_environment() -> None:
    assert config_problems("", env={"DASHBOARD__PLUGINS__BREAKER__SCOPE": "host"}) == []


@pytest.mark.parametrize("url", ["redis://:Redis-Pw-1@127.0.0.1:6379/0",
                                 "redis://user:Redis-Pw-1@127.0.0.1:6379/0",
                                 "http://:Redis-Pw-1@127.0.0.1:6379/0"])
def test_check_masks_the_redis_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str], url: str) -> None:
    for name in list(os.environ):
        if name.startswith(("DASHBOARD", "DB_", "DATABASE_URL")):
            monkeypatch.delenv(name)
    config = tmp_path / "resilience.toml"
    config.write_text(f'[dashboard]\nruntime_dir = "{tmp_path / "run"}"\n'
                      f'[plugins.breaker]\nscope = "cluster"\nredis_url = "{url}"\n',
                      encoding="utf-8")
    code = main(["check", "--config", str(config)])
    printed = "".join(capsys.readouterr())
    assert code == (2 if url.startswith("http") else 0), printed
    assert "Redis-Pw-1" not in printed and "plugins.breaker.redis_url" in printed, printed
