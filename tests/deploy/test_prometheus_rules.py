"""deploy/prometheus: ``promtool`` accepts the alert rules and their unit tests pass; every
series an alert reads is one the host exports itself (no blackbox exporter needed), and every
alert has a runbook section in docs/operating/alerts.md."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from tests.deploy.promql import metric_names
from tests.deploy.series import CONTRACT_FAMILIES, contract_family

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
WANTED = {"DashboardCircuitBreakerOpen", "DashboardDegradedAnswers", "DashboardDatabaseDown",
          "DashboardAdmissionShedding", "DashboardRestartChurn", "DashboardPoolSaturated"}
RUNBOOK = RULES.parents[1] / "docs" / "operating" / "alerts.md"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["promtool", *args], cwd=RULES, capture_output=True, text=True,
                          timeout=120)


def test_promtool_checks_the_rules() -> None:
    result = promtool("check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_pass() -> None:
    result = promtool("test", "rules", "alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_there_and_reads_only_known_series() -> None:
    groups = yaml.safe_load((RULES / "alerts.yml").read_text(encoding="utf-8"))["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    assert {rule["alert"] for rule in rules} == WANTED
    tested = yaml.safe_load((RULES / "alerts_test.yml").read_text(encoding="utf-8"))
    alerted = {case["alertname"] for test in tested["tests"]
               for case in test["alert_rule_test"] if case["exp_alerts"]}
    assert alerted == WANTED, "every alert has a test in which it fires"
    for rule in rules:
        for name in metric_names(rule["expr"]):
            assert contract_family(name), (rule["alert"], name)
    assert CONTRACT_FAMILIES


def test_every_alert_has_a_runbook_section() -> None:
    text = RUNBOOK.read_text(encoding="utf-8")
    for alert in WANTED:
        assert f"## {alert}" in text, alert
