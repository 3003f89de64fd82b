"""``dashboard_restart_policy`` is firstresult: the first plugin in TOML order that answers wins.

Two tiny in-test plugins answer different policies; the TOML order, not registration, decides
which one the host and ``/health`` report. A plugin returning ``None`` abstains.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from dashboard import hookimpl


def policy_plugin(state: str | None) -> SimpleNamespace:
    @hookimpl
    def dashboard_restart_policy(host: Any) -> dict[str, Any] | None:
        if state is None:
            return None
        return {"policy": {"state": state, "cooldown_remaining_seconds": 0, "next_action": "x"},
                "restart_churn": {"window_seconds": 600, "threshold": 3, "count": 0,
                                  "exceeded": False}}

    return SimpleNamespace(dashboard_restart_policy=dashboard_restart_policy)


PLUGINS = {"allows": policy_plugin("allowed"), "blocks": policy_plugin("blocked"),
           "abstains": policy_plugin(None)}


def host_with(dashboard_host, order: list[str]):
    names = ", ".join(f'"{name}"' for name in order)
    return dashboard_host(f"[dashboard]\nplugins = [{names}]\n"
                          'app_factory = "dashboard.testing:echo_app"\n', plugins=PLUGINS)


def state_of(host) -> str:
    return host.hook.dashboard_restart_policy(host=host)["policy"]["state"]


def test_the_first_plugin_in_toml_order_wins(dashboard_host):
    assert state_of(host_with(dashboard_host, ["allows", "blocks"])) == "allowed"
    assert state_of(host_with(dashboard_host, ["blocks", "allows"])) == "blocked"


def test_a_plugin_returning_none_abstains(dashboard_host):
    assert state_of(host_with(dashboard_host, ["abstains", "blocks"])) == "blocked"
    host = host_with(dashboard_host, ["abstains"])
    assert host.hook.dashboard_restart_policy(host=host) is None


def test_health_reports_the_winning_policy(dashboard_host, dashboard_client):
    host = host_with(dashboard_host, ["health", "abstains", "blocks", "allows"])
    resilience = dashboard_client(host).get("/health").get_json()["resilience"]
    assert resilience["policy"]["state"] == "blocked"
    assert resilience["restart_churn"]["threshold"] == 3


def test_health_reports_null_when_nobody_answers(dashboard_host, dashboard_client):
    host = host_with(dashboard_host, ["health", "abstains"])
    resilience = dashboard_client(host).get("/health").get_json()["resilience"]
    assert resilience["policy"] is None and resilience["restart_churn"] is None
