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

Hosts are isolated: each gets its own runtime directory and SQLite database under ``tmp_path``
unless the TOML names others, ``environment`` defaults to ``testing``, and the process
environment does not leak in (pass ``env=`` to test overrides).
"""

from __future__ import annotations

import textwrap
import tomllib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

from dashboard.clock import Clock, ManualClock
from dashboard.config import load_settings
from dashboard.host import Host


def build_host(toml_text: str = "", *, base_dir: Path, env: Mapping[str, str] | None = None,
               clock: Clock | None = None, plugins: Mapping[str, Any] | None = None) -> Host:
    """A configured host from ``toml_text`` (dedented), isolated under ``base_dir``.

    ``plugins`` maps plugin names to plugin objects not installed as distributions (a module or
    object defined in the test itself); listed names not given here come from entry points.
    """
    data = tomllib.loads(textwrap.dedent(toml_text))
    section = data.setdefault("dashboard", {})
    section.setdefault("environment", "testing")
    section.setdefault("runtime_dir", str(base_dir / "run"))
    data.setdefault("database", {}).setdefault("url", f"sqlite:///{base_dir / 'dashboard.db'}")
    plugin_models = None
    if plugins:
        from dashboard.registry import installed_settings_models, settings_model_of

        plugin_models, _problems = installed_settings_models()
        for name, plugin in plugins.items():
            answer = settings_model_of(plugin)
            if answer is not None:
                plugin_models[name] = answer[1]
    settings = load_settings(env=dict(env or {}), data=data, plugin_models=plugin_models)
    return Host(settings, clock=clock, plugins=dict(plugins or {})).configure()


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
