"""A JSON schema pinning every field of docs/api/health.md, checked against the built-in plugins."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jsonschema
import pytest

from dashboard.host import Host

TIMESTAMP = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$"
STATUS = {"enum": ["pass", "warn", "fail"]}
NUMBER = {"type": "number"}
COUNT = {"type": "integer", "minimum": 0}


def exactly(properties: dict[str, Any], extra: bool = False) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties),
            "additionalProperties": extra}


#: One engine of ``checks.database.engines``; ``error`` only when its probe failed.
ENGINE = {"type": "object", "additionalProperties": False,
          "required": ["name", "url", "status", "latency_ms"],
          "properties": {"name": {"type": "string", "minLength": 1},
                         "url": {"type": "string", "pattern": "^[a-z0-9+]+://"},
                         "status": STATUS, "latency_ms": {**NUMBER, "minimum": 0},
                         "error": {"type": "string"}}}

HEALTH_SCHEMA = exactly({
    "status": {"enum": ["healthy", "degraded", "unhealthy"]},
    "degraded_reason": {"type": ["string", "null"]},
    "timestamp": {"type": "string", "pattern": TIMESTAMP},
    "worker_pid": {"type": "integer", "minimum": 1},
    "cache": exactly({"hit": {"type": "boolean"}, "age_seconds": {**NUMBER, "minimum": 0},
                      "ttl_seconds": {**NUMBER, "minimum": 0}}),
    "checks": {
        "type": "object",
        "properties": {
            "breaker": exactly({
                "status": STATUS, "state": {"enum": ["CLOSED", "OPEN", "HALF_OPEN"]},
                "failure_rate": {**NUMBER, "minimum": 0, "maximum": 1},
                "slow_call_rate": {**NUMBER, "minimum": 0, "maximum": 1},
                "retry_after_seconds": {"type": ["integer", "null"], "minimum": 1},
                "scope": {"type": "string", "minLength": 1},
                "forced": {"enum": [None, "open", "disabled"]},
                "forced_seconds_left": {"type": ["integer", "null"], "minimum": 1},
                "forced_reason": {"type": ["string", "null"], "maxLength": 500}}),
            "pool": exactly({
                "status": STATUS, "size": COUNT, "checked_out": COUNT, "overflow": COUNT,
                "max_capacity": COUNT, "saturation": {**NUMBER, "minimum": 0}}),
            "database": {"type": "object", "additionalProperties": False,
                         "required": ["status", "latency_ms", "engines"],
                         "properties": {"status": STATUS, "latency_ms": {**NUMBER, "minimum": 0},
                                        "age_seconds": {**NUMBER, "minimum": 0},
                                        "error": {"type": "string"},
                                        "engines": {"type": "array", "items": ENGINE}}},
        },
        "required": ["breaker", "pool"],
        "additionalProperties": {"type": "object", "properties": {"status": STATUS},
                                 "required": ["status"]},
    },
    "resilience": exactly({
        "thresholds": exactly({
            "pool_saturation_warning": NUMBER, "pool_saturation_critical": NUMBER,
            "breaker_failure_rate": NUMBER, "restart_churn_window_seconds": NUMBER,
            "restart_churn_threshold": COUNT, "restart_cooldown_seconds": NUMBER,
            "auto_recover_after_seconds": NUMBER}),
        "recommendation": exactly({"action": {"enum": ["observe", "throttle", "recover"]},
                                   "reason": {"type": "string", "minLength": 1}}),
        "policy": exactly({"state": {"enum": ["allowed", "cooling_down", "blocked", "unknown"]},
                           "cooldown_remaining_seconds": COUNT,
                           "next_action": {"type": "string"},
                           "age_seconds": {"type": ["number", "null"], "minimum": 0}}),
        "restart_churn": exactly({"window_seconds": NUMBER, "threshold": COUNT,
                                  "count": COUNT, "exceeded": {"type": "boolean"}}),
    }),
})

ALL_PLUGINS = '["redaction", "breaker", "degradation", "health", "recovery"]'


@pytest.fixture
def full_host(dashboard_host: Callable[..., Host]) -> Any:
    host = dashboard_host(f'[dashboard]\nplugins = {ALL_PLUGINS}\n'
                          'app_factory = "dashboard.testing:echo_app"\n')
    yield host
    host.close()


@pytest.mark.parametrize("path", ["/health", "/health/deep"])
def test_payload_matches_the_contract_schema(full_host: Host, dashboard_client: Any,
                                             path: str) -> None:
    response = dashboard_client(full_host).get(path)
    body = response.get_json()
    jsonschema.validate(body, HEALTH_SCHEMA)
    assert response.status_code == 200
    assert ("database" in body["checks"]) == (path == "/health/deep")
    if path == "/health/deep":  # the host's own engine, listed by its masked URL
        assert [engine["name"] for engine in body["checks"]["database"]["engines"]] == ["default"]
    assert list(body)[:5] == ["status", "degraded_reason", "timestamp", "worker_pid", "cache"]


def test_schema_rejects_a_payload_missing_a_field(full_host: Host, dashboard_client: Any
                                                  ) -> None:
    body = dashboard_client(full_host).get("/health/deep").get_json()
    del body["resilience"]["thresholds"]["auto_recover_after_seconds"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(body, HEALTH_SCHEMA)


def test_without_recovery_policy_and_churn_are_null(dashboard_host: Callable[..., Host],
                                                    dashboard_client: Any) -> None:
    host = dashboard_host('[dashboard]\nplugins = ["breaker", "health"]\n'
                          'app_factory = "dashboard.testing:echo_app"\n')
    resilience = dashboard_client(host).get("/health").get_json()["resilience"]
    assert resilience["policy"] is None and resilience["restart_churn"] is None
    assert set(resilience["thresholds"]) == {"pool_saturation_warning",
                                             "pool_saturation_critical", "breaker_failure_rate"}
