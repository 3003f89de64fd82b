"""A pytest plugin for plugin authors: hosts built from a TOML string, a test client, a clock.

Installed with the distribution (entry point ``pytest11``), so its fixtures are available in any
test suite once ``dashboard`` is installed::

    def test_my_plugin(dashboard_host, dashboard_client):
        host = dashboard_host('''
            [dashboard]
            plugins = ["myplugin"]
            [plugins.myplugin]
            flag = true
        ''')
        response = dashboard_client(host).get("/")
        assert response.status_code == 200

Hosts are isolated: each gets its own runtime directory, SQLite database and audit log under
``tmp_path`` unless the TOML names others, ``environment`` defaults to ``testing``, and the process
environment does not leak in (pass ``env=`` to test overrides).

Also here for plugin authors:

* ``plugins={"name": obj}`` registers a plugin object defined in the test itself (no install).
* Every hook implementation must match a hookspec: a misspelt ``dashboard_wrap_wsig`` fails the
  host build instead of silently never being called.
* ``app_factory = "dashboard.testing:echo_app"`` swaps the demo app for a database-free app that
  answers every request with a success envelope (``/raise`` raises), to test a wrapper alone.
* :func:`config_problems` gives the lines ``dashboard check`` would print for a TOML string.
* :func:`assert_error_envelope` and :func:`assert_success_envelope` check the contract's shape
  (docs/api/responses.md), including ``Retry-After`` matching ``meta.retry_after_seconds``.
"""

from __future__ import annotations

import textwrap
import tomllib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client, TestResponse

from dashboard import contract
from dashboard.clock import Clock, ManualClock
from dashboard.config.problems import ConfigError
from dashboard.config.sections import Settings
from dashboard.hooks.discovery import load_installed_settings
from dashboard.host import Host
from dashboard.types import StartResponse, WSGIEnviron


def build_host(toml_text: str = "", *, base_dir: Path, env: Mapping[str, str] | None = None,
               clock: Clock | None = None, plugins: Mapping[str, Any] | None = None) -> Host:
    """A configured host from ``toml_text`` (dedented), isolated under ``base_dir``.

    ``plugins`` maps plugin names to plugin objects not installed as distributions (a module or
    object defined in the test itself); listed names not given here come from entry points.
    """
    settings = build_settings(toml_text, base_dir=base_dir, env=env, plugins=plugins)
    host = Host(settings, clock=clock, plugins=dict(plugins or {}))
    host.pm.check_pending()  # a hookimpl without a matching hookspec is a typo: fail loudly
    return host.configure()


def build_settings(toml_text: str = "", *, base_dir: Path, env: Mapping[str, str] | None = None,
                   plugins: Mapping[str, Any] | None = None) -> Settings:
    """Validated settings from ``toml_text`` with the test defaults; raises ``ConfigError``."""
    data = tomllib.loads(textwrap.dedent(toml_text))
    section = data.setdefault("dashboard", {})
    section.setdefault("environment", "testing")
    section.setdefault("runtime_dir", str(base_dir / "run"))
    data.setdefault("database", {}).setdefault("url", f"sqlite:///{base_dir / 'dashboard.db'}")
    # The built-in recovery plugin's audit log defaults to a path relative to the current
    # directory (a test's own object registered as "recovery" has its own settings).
    plugin_tables = data.setdefault("plugins", {})
    if "recovery" not in (plugins or {}) and isinstance(plugin_tables, dict) and isinstance(
            plugin_tables.setdefault("recovery", {}), dict):
        plugin_tables["recovery"].setdefault("audit_log", str(base_dir / "audit.jsonl"))
    return load_installed_settings(env=dict(env or {}), data=data, extra_plugins=plugins)


def config_problems(toml_text: str, *, env: Mapping[str, str] | None = None,
                    plugins: Mapping[str, Any] | None = None) -> list[str]:
    """The lines ``dashboard check`` would print for ``toml_text`` (``[]`` when it is valid).

    For testing a settings model: ``assert config_problems(toml) == ["plugins.x.y: ..."]``.
    """
    try:
        build_settings(toml_text, base_dir=Path("var"), env=env, plugins=plugins)
    except ConfigError as error:
        return [str(problem) for problem in error.problems]
    return []


def echo_app(host: Host) -> Callable[[WSGIEnviron, StartResponse], Any]:
    """A database-free app factory for testing a wrapper alone (``dashboard.testing:echo_app``).

    Every request gets ``200`` with a success envelope whose ``data`` is ``{"method", "path"}``;
    ``/raise`` raises ``RuntimeError`` (to see ``dashboard_map_exception`` at work).
    """

    def app(environ: WSGIEnviron, start_response: StartResponse) -> Any:
        path = environ.get("PATH_INFO", "/")
        if path == "/raise":
            raise RuntimeError("echo_app was asked to raise")
        data = {"method": environ.get("REQUEST_METHOD"), "path": path}
        return contract.success_response(environ, data)(environ, start_response)

    return app


def assert_success_envelope(response: TestResponse, status: int = 200) -> Any:
    """Assert ``response`` is a contract success envelope with ``status``; return its ``data``."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    body = response.get_json()
    assert body["success"] is True, body
    _assert_meta(response, body)
    return body["data"]


def assert_error_envelope(response: TestResponse, code: str, status: int | None = None,
                          retry_after: int | None = None) -> dict[str, Any]:
    """Assert ``response`` is the contract's error envelope for ``code``; return the body.

    Checks the status (``status`` or the code's registered one), ``error.retryable`` against the
    presence of ``meta.retry_after_seconds`` and the ``Retry-After`` header (equal, whole
    seconds, >= 1), and ``retry_after`` when given.
    """
    body: dict[str, Any] | None = response.get_json()
    assert body is not None, response.get_data(as_text=True)
    expected_status = status if status is not None else contract.ERROR_CODES[code].status
    assert response.status_code == expected_status, (response.status_code, body)
    assert body["success"] is False, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body
    _assert_meta(response, body)
    if body["error"]["retryable"]:
        seconds = body["meta"]["retry_after_seconds"]
        assert isinstance(seconds, int) and seconds >= 1, body
        assert response.headers.get("Retry-After") == str(seconds), dict(response.headers)
        if retry_after is not None:
            assert seconds == retry_after, body
    else:
        assert "retry_after_seconds" not in body["meta"], body
        assert "Retry-After" not in response.headers, dict(response.headers)
        assert retry_after is None, "a non-retryable error carries no retry hint"
    return body


def _assert_meta(response: TestResponse, body: Mapping[str, Any]) -> None:
    meta = body["meta"]
    assert meta["timestamp"].endswith("Z"), meta
    assert meta["request_id"] == response.headers.get(contract.REQUEST_ID_HEADER), (
        meta, dict(response.headers))


@pytest.fixture
def dashboard_clock() -> ManualClock:
    """A clock that moves only with ``advance(seconds)``; pass it as ``clock=`` to a host."""
    return ManualClock()


@pytest.fixture
def dashboard_host(tmp_path: Path) -> Iterator[Callable[..., Host]]:
    """Factory: ``dashboard_host(toml_text, env=None, clock=None, plugins=None) -> Host``."""
    hosts: list[Host] = []

    def make(toml_text: str = "", **options: Any) -> Host:
        host = build_host(toml_text, base_dir=tmp_path / f"host{len(hosts)}", **options)
        hosts.append(host)
        return host

    yield make
    for host in hosts:
        host.close()


@pytest.fixture
def dashboard_client() -> Callable[[Host], Client]:
    """Factory: ``dashboard_client(host) -> werkzeug.test.Client`` over the host's full pipeline."""
    return lambda host: Client(host.build_app())
