"""Config for a real gunicorn server running the degradation test app against PostgreSQL."""

from __future__ import annotations

from typing import Any

import requests

APP_FACTORY = "tests.dashboard.plugins.degradation.apps:create_app"


def _table(name: str, values: dict[str, Any]) -> str:
    lines = [f"[{name}]"]
    for key, value in values.items():
        if isinstance(value, bool):
            rendered = "true" if value else "false"
        elif isinstance(value, str):
            rendered = f'"{value}"'
        else:
            rendered = repr(value)
        lines.append(f"{key} = {rendered}")
    return "\n".join(lines)


def server_toml(url: str, *, plugins: tuple[str, ...] = ("breaker", "degradation"),
                database: dict[str, Any] | None = None, breaker: dict[str, Any] | None = None,
                degradation: dict[str, Any] | None = None, threads: int = 8) -> str:
    """TOML for one worker with ``threads`` threads serving the test app from ``url``."""
    db = {"url": url, "pool_size": 5, "max_overflow": 0, "pool_timeout": 5,
          "connect_timeout": 2, "call_timeout_ms": 5000, "pool_pre_ping": True,
          **(database or {})}
    plugin_list = ", ".join(f'"{name}"' for name in plugins)
    parts = [f'[dashboard]\nenvironment = "testing"\nplugins = [{plugin_list}]\n'
             f'app_factory = "{APP_FACTORY}"',
             _table("server", {"threads": threads, "timeout": 60}),
             _table("database", db)]
    if breaker:
        parts.append(_table("plugins.breaker", breaker))
    if degradation:
        parts.append(_table("plugins.degradation", degradation))
    return "\n\n".join(parts) + "\n"


def breaker_state(base_url: str) -> dict[str, Any]:
    """The worker's breaker check (state, failure_rate, retry_after_seconds)."""
    return requests.get(base_url + "/breaker", timeout=10).json()["data"]


def error_code(response: requests.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("error", {}).get("code") if not body.get("success") else None
