"""What the fallback keeps, for whom, under which key, and how privately (in process).

Plain JSON answers stand in as they were, marked ``X-Dashboard-Stale``; kept answers belong to the
app (its ``app_factory`` and its code) and never cross users: ``Vary`` on a header other than the
three ``Accept*`` ones, ``REMOTE_USER`` and ``Set-Cookie`` keep nothing; query strings are keyed
in a normal form and bounded per path, so a flood of made-up ones cannot push real answers out;
the store's files are private whatever the umask. Each test here fails on the fallback of
edition 2.
"""

from __future__ import annotations

import os
import stat
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.plugins.fallback.test_middleware import TOML, Stack


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    made = Stack(tmp_path, TOML.replace('max_age_seconds = 60', 'max_age_seconds = 60\n'
                                        'paths = ["/api/reports/*", "/api/plain/*"]'))
    yield made
    made.host.close()


def test_plain_json_stands_in_unchanged_with_the_stale_header(stack: Stack) -> None:
    good = stack.get("/api/plain/wip?area=etch")
    assert good.status_code == 200 and good.get_json()["version"] == 1
    stack.down("DB_QUERY_TIMEOUT")
    stack.clock.advance(5)
    stale = stack.get("/api/plain/wip?area=etch", headers={"X-Request-ID": "p-1"})
    assert stale.status_code == 200
    assert stale.data == good.data  # the kept body, byte for byte
    assert stale.headers["Content-Type"] == "application/json"
    assert stale.headers["X-Dashboard-Stale"] == "DB_QUERY_TIMEOUT"
    assert stale.headers["Age"] == "5"
    assert stale.headers["Cache-Control"] == "no-store"
    assert stale.headers["X-Request-ID"] == "p-1"


def test_an_enveloped_stand_in_carries_the_stale_header_too(stack: Stack) -> None:
    stack.get("/api/reports/wip")
    stack.down("DB_CONFLICT")
    stale = stack.get("/api/reports/wip")
    assert stale.status_code == 200
    assert stale.get_json()["meta"]["stale"] is True
    assert stale.get_json()["meta"]["degraded_code"] == "DB_CONFLICT"
    assert stale.headers["X-Dashboard-Stale"] == "DB_CONFLICT"


def test_vary_on_a_user_header_is_never_kept_so_bob_never_gets_alices_answer(
        stack: Stack) -> None:
    alice = stack.get("/api/plain/mine?vary=X-Forwarded-User",
                      headers={"X-Forwarded-User": "alice"})
    assert alice.get_json()["user"] == "alice"
    stack.get("/api/reports/mine?vary=Accept-Encoding,%20X-Forwarded-User",
              headers={"X-Forwarded-User": "alice"})
    stack.get("/api/reports/star?vary=*", headers={"X-Forwarded-User": "alice"})
    stack.down()
    for path in ("/api/plain/mine?vary=X-Forwarded-User",
                 "/api/reports/mine?vary=Accept-Encoding,%20X-Forwarded-User",
                 "/api/reports/star?vary=*"):
        for headers in ({"X-Forwarded-User": "bob"}, {}, {"X-Forwarded-User": "alice"}):
            response = stack.get(path, headers=headers)
            assert response.status_code == 503, (path, headers, response.data)
            assert "alice" not in response.get_data(as_text=True)


def test_an_answer_varying_on_accept_language_stands_in_for_its_own_variant_only(
        stack: Stack) -> None:
    path = "/api/plain/labels?vary=Accept-Language"
    german = stack.get(path, headers={"Accept-Language": "de"})
    french = stack.get(path, headers={"Accept-Language": "fr"})
    stack.down()
    assert stack.get(path, headers={"Accept-Language": "de"}).data == german.data
    assert stack.get(path, headers={"Accept-Language": "fr"}).data == french.data
    assert stack.get(path, headers={"Accept-Language": "it"}).status_code == 503
    assert stack.get(path).status_code == 503


def test_an_authenticated_remote_user_is_neither_kept_nor_stood_in_for(stack: Stack) -> None:
    stack.get("/api/reports/mine", environ_overrides={"REMOTE_USER": "alice"})
    stack.get("/api/reports/shared")
    stack.down()
    assert stack.get("/api/reports/mine").status_code == 503  # alice's answer was not kept
    assert stack.get("/api/reports/shared",
                     environ_overrides={"REMOTE_USER": "bob"}).status_code == 503
    assert stack.get("/api/reports/shared").status_code == 200


def test_an_answer_setting_a_cookie_is_not_kept(stack: Stack) -> None:
    assert "session=abc" in stack.get("/api/plain/c?cookie=1").headers["Set-Cookie"]
    stack.down()
    assert stack.get("/api/plain/c?cookie=1").status_code == 503


def test_the_query_is_keyed_in_a_normal_form(stack: Stack) -> None:
    kept = stack.get("/api/reports/wip?b=2&a=1&a=0")
    stack.down()
    same = stack.get("/api/reports/wip?a=1&a=0&b=%32")
    assert same.status_code == 200
    assert same.get_json()["data"] == kept.get_json()["data"]
    assert stack.get("/api/reports/wip?a=0&a=1&b=2").status_code == 503  # another order of a


def test_a_flood_of_made_up_query_strings_leaves_the_real_answers_standing_in(
        stack: Stack) -> None:
    real = ["/api/reports/wip?area=etch", "/api/reports/wip?area=litho",
            "/api/reports/yield", "/api/plain/wip?area=etch"]
    for path in real:
        stack.get(path)
    for n in range(2000):
        stack.client.get(f"/api/reports/wip?utm={uuid.uuid4().hex}&n={n}")
        if n % 25 == 24:  # every made-up answer reaches the store (none dropped by the hand-off)
            stack.state.writer.flush()
        if n % 400 == 0:
            stack.get(real[n // 400 % len(real)])  # the real ones keep being asked too
    stack.state.writer.flush()
    stack.down()
    for path in real:
        assert stack.get(path).status_code == 200, path
    entries = len(list(stack.state.store.directory.glob("*.answer")))
    assert entries <= stack.state.settings.max_entries_per_path + len(real)


def test_answers_kept_for_another_app_factory_are_never_served(tmp_path: Path) -> None:
    first = Stack(tmp_path)
    first.get("/api/reports/wip")
    first.host.close()
    other = TOML.replace("apps:create_app", "other_apps:create_app")
    second = Stack(tmp_path, other)  # same runtime_dir, same paths, another app
    try:
        assert (Path(tmp_path) / "run" / "fallback").exists()
        second.down()
        assert second.get("/api/reports/wip").status_code == 503
    finally:
        second.host.close()


def test_answers_kept_before_the_apps_code_changed_are_never_served(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"hosted_{uuid.uuid4().hex[:8]}"
    package = tmp_path / "src" / name
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    source = textwrap.dedent("""
        from tests.dashboard.plugins.fallback.apps import create_app as _made

        def create_app(host):
            return _made(host)
        """)
    (package / "web.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    toml = TOML.replace("tests.dashboard.plugins.fallback.apps:create_app",
                        f"{name}.web:create_app")

    def outage_answer() -> int:
        stack = Stack(tmp_path, toml)
        try:
            stack.down()
            return int(stack.get("/api/reports/wip").status_code)
        finally:
            stack.host.close()

    stack = Stack(tmp_path, toml)
    stack.get("/api/reports/wip")
    stack.host.close()
    assert outage_answer() == 200  # the same code: a new worker finds it
    (package / "web.py").write_text(source + "\n# a fix\n")
    for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        monkeypatch.delitem(sys.modules, module)
    assert outage_answer() == 503


def test_everything_the_fallback_writes_is_private_whatever_the_umask(stack: Stack) -> None:
    previous = os.umask(0o022)
    try:
        stack.get("/api/reports/wip")
        stack.get("/api/plain/labels?vary=Accept-Language", headers={"Accept-Language": "de"})
        stack.down()
        assert stack.get("/api/reports/wip").status_code == 200  # touches the marker
    finally:
        os.umask(previous)
    directory = stack.state.store.directory
    modes: dict[str, Any] = {str(path.relative_to(directory)): stat.S_IMODE(path.stat().st_mode)
                             for path in directory.rglob("*")}
    assert len(modes) >= 4  # two answers, a pointer and the marker
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert {mode for mode in modes.values()} == {0o600}, modes
