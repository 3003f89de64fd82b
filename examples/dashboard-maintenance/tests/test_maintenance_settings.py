"""``[plugins.maintenance]`` is validated by the host with this plugin's model."""

from __future__ import annotations

import pytest

from dashboard.testing import config_problems

ENABLED = '[dashboard]\nplugins = ["maintenance"]\n'


@pytest.mark.parametrize(("table", "problem"), [
    ("retry_after_seconds = 0",
     "plugins.maintenance.retry_after_seconds: must be >= 1 (got 0, from toml)"),
    ('message = ""', "plugins.maintenance.message: must not be empty (got '', from toml)"),
    ('allow_paths = ["health"]',
     "plugins.maintenance.allow_paths: 'health' must start with '/' (got ['health'], from toml)"),
    ("flag = true", "plugins.maintenance.flag: unknown key (from toml)"),
])
def test_bad_values_are_rejected_with_the_key_named(table, problem):
    assert config_problems(f"{ENABLED}[plugins.maintenance]\n{table}\n") == [problem]


def test_environment_overrides_are_validated_and_named():
    name = "DASHBOARD__PLUGINS__MAINTENANCE__RETRY_AFTER_SECONDS"
    problems = config_problems(ENABLED, env={name: "soon"})
    assert problems == ["plugins.maintenance.retry_after_seconds: must be a whole number "
                        f"(got 'soon', from env {name})"]


def test_a_table_is_validated_even_while_the_plugin_is_disabled():
    problems = config_problems("[dashboard]\nplugins = []\n"
                               "[plugins.maintenance]\nretry_after_seconds = -5\n")
    assert [p.split(":")[0] for p in problems] == ["plugins.maintenance.retry_after_seconds"]


def test_defaults_need_no_table(dashboard_host):
    assert config_problems(ENABLED) == []
    settings = dashboard_host(ENABLED).plugin_settings("maintenance")
    assert settings.retry_after_seconds == 300
    assert str(settings.flag_file) == "var/maintenance.flag"
