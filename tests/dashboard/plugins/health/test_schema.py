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
                # No reason text: /health is public (the admin API's system-status has it).
                "forced_seconds_left": {"type": ["integer", "null"], "minimum": 1}}),
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


def test_an_override_in_force_shows_its_action_and_time_left_but_never_its_reason(
        full_host: Host, dashboard_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The operator's free text may name hosts or incidents: public /health says only that an
    override is in force, its action and its time left; the authenticated system-status adds
    the reason (docs/api/health.md, docs/api/admin.md)."""
    token = "schema-admin-token-0123"
    monkeypatch.setenv("DASHBOARD_ADMIN_TOKEN", token)
    client = dashboard_client(full_host)
    auth = {"Authorization": f"Bearer {token}"}
    secret = "INC-1234 primary db failover to 10.1.2.3"
    answer = client.post("/admin/api/breaker", headers=auth, json={
        "action": "force_open", "reason": secret, "duration_seconds": 300, "acknowledge": True})
    assert answer.status_code == 200, answer.get_json()
    for path in ("/health", "/health/deep"):
        response = client.get(path)
        body = response.get_json()
        jsonschema.validate(body, HEALTH_SCHEMA)  # exactly the public fields
        assert (body["checks"]["breaker"]["forced"],
                body["checks"]["breaker"]["forced_seconds_left"]) == ("open", 300)
        assert "INC-1234" not in response.get_data(as_text=True)
        assert "10.1.2.3" not in response.get_data(as_text=True)
    system = client.get("/admin/api/system-status", headers=auth).get_json()["data"]
    assert system["breaker"]["forced"] == "open"
    assert system["breaker"]["forced_reason"] == secret
    assert client.get("/admin/api/system-status").status_code == 401
