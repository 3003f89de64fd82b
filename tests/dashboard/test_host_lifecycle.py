"""The host's lifecycle hooks, typed state and settings, and the one way hooks are called."""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import Field
from sqlalchemy import text

from dashboard import StateKey, hookimpl
from dashboard.config.sections import SectionModel
from dashboard.hooks.calls import ask_each, notify_each
from dashboard.host import Host

ECHO = 'app_factory = "dashboard.testing:echo_app"'


class Seen:
    """Records lifecycle calls as ``(plugin, hook)`` pairs, with the engine's state then."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.pool_connections_at_creation: list[int] = []

    def plugin(self, name: str, *, fail_closing: bool = False) -> SimpleNamespace:
        @hookimpl
        def dashboard_engine_created(host, engine):
            self.calls.append((name, "engine_created"))
            self.pool_connections_at_creation.append(engine.pool.checkedin())
            assert engine is not None and "engine" not in host.__dict__  # before it is cached

        @hookimpl
        def dashboard_host_closing(host):
            self.calls.append((name, "host_closing"))
            if fail_closing:
                raise RuntimeError(f"{name} cannot close")

        return SimpleNamespace(dashboard_engine_created=dashboard_engine_created,
                               dashboard_host_closing=dashboard_host_closing)


def test_engine_created_once_in_toml_order_before_any_connection(dashboard_host) -> None:
    seen = Seen()
    host = dashboard_host(f'[dashboard]\nplugins = ["b", "a"]\n{ECHO}\n',
                          plugins={"a": seen.plugin("a"), "b": seen.plugin("b")})
    assert seen.calls == []  # configuring a host does not build its engine
    with host.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    host.engine  # noqa: B018  # cached: not announced again
    assert seen.calls == [("b", "engine_created"), ("a", "engine_created")]
    assert seen.pool_connections_at_creation == [0, 0]


def test_close_tells_every_plugin_even_when_one_fails_and_only_once(
        dashboard_host, caplog) -> None:
    seen = Seen()
    host = dashboard_host(f'[dashboard]\nplugins = ["b", "a"]\n{ECHO}\n',
                          plugins={"a": seen.plugin("a"), "b": seen.plugin("b", fail_closing=True)})
    with caplog.at_level(logging.ERROR, logger="dashboard.hooks"):
        host.close()
        host.close()
    assert seen.calls == [("b", "host_closing"), ("a", "host_closing")]
    failures = [r.getMessage() for r in caplog.records if r.name == "dashboard.hooks"]
    assert failures == ["plugin 'b' failed in dashboard_host_closing"]


class CounterSettings(SectionModel):
    start: int = Field(3, ge=0)


class Counter:
    def __init__(self, start: int) -> None:
        self.value = start


COUNTER = StateKey[Counter]("counter")


def counter_plugin() -> SimpleNamespace:
    @hookimpl
    def dashboard_settings_model():
        return "counter", CounterSettings

    @hookimpl
    def dashboard_configure(host):
        settings = host.plugin_settings("counter", CounterSettings)
        host.state(COUNTER, lambda: Counter(settings.start))

    return SimpleNamespace(dashboard_settings_model=dashboard_settings_model,
                           dashboard_configure=dashboard_configure)


def test_typed_state_is_per_host_and_made_once(dashboard_host) -> None:
    toml = f'[dashboard]\nplugins = ["counter"]\n{ECHO}\n[plugins.counter]\nstart = 7\n'
    first = dashboard_host(toml, plugins={"counter": counter_plugin()})
    second = dashboard_host(toml, plugins={"counter": counter_plugin()})
    counter = first.find_state(COUNTER)
    assert isinstance(counter, Counter) and counter.value == 7
    assert first.state(COUNTER, lambda: Counter(0)) is counter  # made once
    assert second.find_state(COUNTER) is not counter
    assert first.find_state(StateKey[Counter]("counter")) is None  # keys are identities


def test_plugin_settings_are_typed_and_a_wrong_model_is_a_clear_type_error(
        dashboard_host) -> None:
    host = dashboard_host(f'[dashboard]\nplugins = ["counter", "breaker"]\n{ECHO}\n',
                          plugins={"counter": counter_plugin()})
    assert host.plugin_settings("counter", CounterSettings).start == 3
    assert isinstance(host.plugin_settings("counter"), CounterSettings)  # the untyped form
    with pytest.raises(TypeError, match=r"\[plugins.breaker\] holds BreakerSettings, not "
                                        r"CounterSettings"):
        host.plugin_settings("breaker", CounterSettings)


def answering(name: str, answer: Callable[[], Any]) -> SimpleNamespace:
    @hookimpl
    def dashboard_resilience_thresholds(host):
        return answer()

    return SimpleNamespace(dashboard_resilience_thresholds=dashboard_resilience_thresholds)


def test_ask_each_keeps_each_plugins_answer_or_error_in_toml_order(dashboard_host) -> None:
    def boom() -> Any:
        raise ValueError("no")

    host: Host = dashboard_host(
        f'[dashboard]\nplugins = ["z", "y", "x"]\n{ECHO}\n',
        plugins={"x": answering("x", lambda: {"x": 1}), "y": answering("y", boom),
                 "z": answering("z", lambda: None)})
    answers = ask_each(host, "dashboard_resilience_thresholds", host=host)
    assert [(a.plugin, a.result, type(a.error).__name__) for a in answers] == [
        ("z", None, "NoneType"), ("y", None, "ValueError"), ("x", {"x": 1}, "NoneType")]


def test_notify_each_logs_a_failure_with_the_plugins_name(dashboard_host, caplog) -> None:
    def boom() -> Any:
        raise ValueError("no")

    host = dashboard_host(f'[dashboard]\nplugins = ["y", "x"]\n{ECHO}\n',
                          plugins={"x": answering("x", lambda: {}), "y": answering("y", boom)})
    with caplog.at_level(logging.ERROR, logger="dashboard.hooks"):
        notify_each(host, "dashboard_resilience_thresholds", host=host)
    assert [r.getMessage() for r in caplog.records if r.name == "dashboard.hooks"] == [
        "plugin 'y' failed in dashboard_resilience_thresholds"]
