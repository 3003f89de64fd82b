"""The plugin in a real host pipeline: settings, checks.admission, order, throttle."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from werkzeug.test import Client

from dashboard.checks import CheckResult
from dashboard.plugins import admission
from dashboard.testing import assert_error_envelope, config_problems
from dashboard.types import Host
from tests.dashboard.plugins.admission import apps

APP = "tests.dashboard.plugins.admission.apps:create_app"


def toml(plugins: str, **admission_settings: Any) -> str:
    table = "\n".join(f"{key} = {str(value).lower() if isinstance(value, bool) else value!r}"
                      for key, value in admission_settings.items())
    return (f'[dashboard]\nplugins = [{plugins}]\napp_factory = "{APP}"\n'
            f"[plugins.admission]\n{table}\n")


@pytest.fixture
def held() -> Iterator[Callable[[Client, int], None]]:
    """``held(client, n)``: n ``/hold`` requests in flight until the test ends."""
    apps.RELEASE.clear()
    threads: list[threading.Thread] = []

    def hold(client: Client, count: int) -> None:
        for _ in range(count):
            thread = threading.Thread(target=client.get, args=("/hold",), daemon=True)
            thread.start()
            threads.append(thread)
            assert apps.ENTERED.acquire(timeout=10), "the held request never reached the app"

    yield hold
    apps.RELEASE.set()
    for thread in threads:
        thread.join(10)


def test_defaults_and_limit_from_threads(dashboard_host: Callable[..., Host]) -> None:
    host = dashboard_host('[dashboard]\nplugins = ["admission"]\n'
                          f'app_factory = "{APP}"\n[server]\nthreads = 6\n')
    settings = host.plugin_settings("admission")
    assert settings.model_dump() == {
        "max_concurrent": 0, "reserve": 1, "max_wait_ms": 50, "adaptive": True,
        "min_concurrent": 1,
        "exempt_paths": ["/livez", "/readyz", "/health", "/metrics", "/admin", "/static"]}
    state = admission.state_of(host)
    assert state is not None and state.limiter.limit == 5


@pytest.mark.parametrize(("table", "problem"), [
    ("min_concurrent = 4\nmax_concurrent = 2", "min_concurrent must be <= max_concurrent"),
    ("max_wait_ms = inf", "plugins.admission.max_wait_ms"),
    ("max_wait_ms = -1", "plugins.admission.max_wait_ms"),
    ("max_concurrent = -1", "plugins.admission.max_concurrent"),
    ("min_concurrent = 0", "plugins.admission.min_concurrent"),
    ('exempt_paths = ["health"]', "must start with '/'"),
    ("queue = 3", "plugins.admission.queue"),
])
def test_invalid_tables_are_config_problems(table: str, problem: str) -> None:
    lines = config_problems(f'[dashboard]\nplugins = ["admission"]\n[plugins.admission]\n{table}\n')
    assert any(problem in line for line in lines), lines


def test_no_reserve_with_several_threads_refuses_to_start(
        dashboard_host: Callable[..., Host]) -> None:
    from dashboard.config.sources import ConfigError

    with pytest.raises(ConfigError, match=r"plugins\.admission\.reserve: must be >= 1"):
        dashboard_host(toml('"admission"', reserve=0))


@pytest.mark.parametrize("plugins", ['"admission", "health"', '"health", "admission"'])
def test_control_endpoints_never_wait_whatever_the_order(
        dashboard_host: Callable[..., Host], held: Callable[[Client, int], None],
        plugins: str) -> None:
    host = dashboard_host(toml(plugins, max_concurrent=2, max_wait_ms=50))
    client = Client(host.build_app())
    held(client, 2)  # every slot taken
    for path in ("/livez", "/readyz", "/health"):
        assert client.get(path).status_code == 200, path
    assert_error_envelope(client.get("/api/reports/x"), "OVERLOADED", status=503)
    payload = client.get("/health").get_json()
    assert payload["checks"]["admission"] == {
        "status": "warn", "limit": 2, "in_flight": 2, "waiting": 0, "rejected_total": 1}
    assert payload["status"] == "degraded" and payload["degraded_reason"] == "overloaded"


def test_check_passes_when_nothing_is_rejected(dashboard_host: Callable[..., Host]) -> None:
    host = dashboard_host(toml('"admission", "health"', max_concurrent=3))
    client = Client(host.build_app())
    response = client.get("/api/reports/x")
    assert response.status_code == 200
    response.close()  # as a server does once the body is sent: the slot is given back
    payload = client.get("/health").get_json()
    assert payload["checks"]["admission"] == {
        "status": "pass", "limit": 3, "in_flight": 0, "waiting": 0, "rejected_total": 0}
    assert payload["degraded_reason"] is None


def breaker_check(state: str) -> dict[str, CheckResult]:
    status = {"CLOSED": "pass", "HALF_OPEN": "warn", "OPEN": "fail"}[state]
    return {"breaker": CheckResult("breaker", status, {"state": state})}  # type: ignore[arg-type]


def test_throttle_halves_the_adaptive_ceiling_and_observe_restores_it(
        dashboard_host: Callable[..., Host]) -> None:
    host = dashboard_host(toml('"admission"', max_concurrent=6, min_concurrent=2))
    state = admission.state_of(host)
    assert state is not None
    vote = host.hook.dashboard_recommendation(host=host, checks=breaker_check("OPEN"))
    assert vote == []  # admission abstains; it only listens
    assert state.limiter.limit == 3
    host.hook.dashboard_recommendation(
        host=host, checks={"pool": CheckResult("pool", "warn", {"saturation": 0.9})})
    assert state.limiter.limit == 3
    host.hook.dashboard_recommendation(host=host, checks=breaker_check("CLOSED"))
    assert state.limiter.limit == 6


def test_throttle_never_goes_below_min_and_leaves_a_fixed_limit_alone(
        dashboard_host: Callable[..., Host]) -> None:
    adaptive = dashboard_host(toml('"admission"', max_concurrent=2, min_concurrent=2))
    fixed = dashboard_host(toml('"admission"', max_concurrent=4, adaptive=False))
    for host, expected in ((adaptive, 2), (fixed, 4)):
        host.hook.dashboard_recommendation(
            host=host, checks={"database": CheckResult("database", "fail", {})})
        state = admission.state_of(host)
        assert state is not None and state.limiter.limit == expected


def test_health_itself_drives_the_throttle(dashboard_host: Callable[..., Host]) -> None:
    """The real health plugin computing a payload with the breaker OPEN lowers the ceiling."""
    from dashboard.plugins.breaker.runtime import BREAKER

    host = dashboard_host(toml('"admission", "breaker", "health"', max_concurrent=4))
    client = Client(host.build_app())
    assert client.get("/health").get_json()["checks"]["admission"]["limit"] == 4
    breaker = host.find_state(BREAKER)
    assert breaker is not None
    for _ in range(breaker.settings.minimum_calls):
        breaker.breaker.record_failure()
    payload = client.get("/health").get_json()
    assert payload["checks"]["breaker"]["state"] == "OPEN"
    assert payload["resilience"]["recommendation"]["action"] == "throttle"
    state = admission.state_of(host)
    assert state is not None and state.limiter.limit == 2
