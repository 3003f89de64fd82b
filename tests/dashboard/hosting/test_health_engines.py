"""Health, system-status and the probes follow the databases the hosted app really uses
(docs/api/health.md, docs/api/admin.md, docs/host-your-own-app.md).

Real parts only: the apps are files in the server's working directory, served by a real
gunicorn through ``dashboard serve``; PostgreSQL sits behind the fault proxy. The runtime
directory is outside the working directory, so that walking the latter after serving shows any
database file the host made there.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy.engine import make_url

from tests.conftest import pg_url_for
from tests.dashboard.hosting.apps import FLASK_APP
from tests.support.faultproxy import FaultProxy, fault_proxy
from tests.support.server import Server, free_port, gunicorn_server, server_env

TOKEN = "tok-7c1e-health-engines"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
REFRESH, MEMO_TTL = 1, 1
HEALTH = f"""
[plugins.health]
refresh_seconds = {REFRESH}
memo_ttl_seconds = {MEMO_TTL}
deep_timeout_ms = 1500
"""
BOUNDS = """
[database]
url = ""
pool_size = 2
max_overflow = 0
pool_timeout = 1
call_timeout_ms = 1500
connect_timeout = 2
"""
NO_DATABASE_APP = '''
import json


def app(environ, start_response):
    body = json.dumps({"hello": "world"}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
'''


@pytest.fixture
def proxy() -> Iterator[FaultProxy]:
    with fault_proxy() as running:
        yield running


def app_url(pg_database: str, proxy: FaultProxy) -> str:
    """The app's database through the proxy, with a password (trust auth ignores it)."""
    url = make_url(proxy.url_for(pg_url_for(pg_database))).set(password="s3cr3t-pw")
    return url.render_as_string(hide_password=False)


def serve(tmp_path: Path, module: str, source: str, toml: str, **env: str) -> Any:
    """``dashboard serve`` in ``tmp_path/app`` (holding ``module``), runtime in ``tmp_path/run``."""
    cwd = tmp_path / "app"
    cwd.mkdir(exist_ok=True)
    (cwd / f"{module}.py").write_text(source, encoding="utf-8")
    head = f'[dashboard]\nruntime_dir = "{tmp_path / "run"}"\n'
    return gunicorn_server(cwd, head + toml, env={"DASHBOARD_ADMIN_TOKEN": TOKEN, **env},
                           workers=1, ready_path="/livez")


@contextlib.contextmanager
def serve_as_written(cwd: Path, toml: str | None, ready_path: str) -> Iterator[Server]:
    """``dashboard serve`` in ``cwd`` with ``toml`` written as it is (no database URL added,
    unlike :func:`tests.support.server.gunicorn_server`), or with no config file at all."""
    port = free_port()
    argv = [sys.executable, "-m", "dashboard", "serve", "--bind", f"127.0.0.1:{port}",
            "--workers", "1"]
    config_path = cwd / "resilience.toml"
    if toml is not None:
        config_path.write_text(toml, encoding="utf-8")
        argv += ["--config", str(config_path)]
    log_path = cwd.parent / f"{cwd.name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(argv, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                   env=server_env(), start_new_session=True)
    server = Server(process, port, config_path, log_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, server.log_text()[-3000:]
            try:
                requests.get(server.url + ready_path, timeout=10)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, server.log_text()[-3000:]
                time.sleep(0.2)
        yield server
    finally:
        server.stop()


def sqlite_files(cwd: Path) -> list[Path]:
    """Every SQLite database file under ``cwd``, found by its header, whatever its name."""
    found = []
    for path in cwd.rglob("*"):
        if path.is_file():
            with path.open("rb") as file:
                if file.read(16) == b"SQLite format 3\x00":
                    found.append(path)
    return found


def sample(server: Server, metric: str, engine: str) -> float | None:
    """``metric``'s value for ``engine`` on ``/metrics`` (this one worker's), ``None`` if absent."""
    pattern = re.compile(rf'^{metric}\{{[^}}]*engine="{re.escape(engine)}"[^}}]*\}} (\S+)$', re.M)
    found = pattern.search(server.get("/metrics").text)
    return float(found.group(1)) if found else None


def wait_for(server: Server, path: str, status: int, within: float) -> float:
    """Poll ``path`` until it answers ``status``; the seconds it took (fails past ``within``)."""
    started = time.monotonic()
    while True:
        answer = server.get(path, timeout=10)
        took = time.monotonic() - started
        if answer.status_code == status:
            return took
        assert took < within, f"{path} still {answer.status_code} after {took:.1f}s: {answer.text}"
        time.sleep(0.1)


def test_health_and_system_status_follow_the_flask_apps_engines(
        tmp_path: Path, pg_database: str, proxy: FaultProxy) -> None:
    toml = ('app_factory = "shop:create_app"\n'
            'plugins = ["breaker", "degradation", "health", "recovery"]\n' + HEALTH + BOUNDS)
    with serve(tmp_path, "shop", FLASK_APP, toml, APP_DB_URL=app_url(pg_database, proxy)
               ) as server:
        assert server.get("/items").json() == {"items": 1}
        names = [f"postgresql:{pg_database}", f"postgresql:{pg_database}#2"]  # the bind
        masked = f"postgresql+psycopg://postgres:***@{proxy.address}/{pg_database}"

        deep = server.get("/health/deep")
        database = deep.json()["checks"]["database"]
        assert deep.status_code == 200 and database["status"] == "pass", deep.text
        for name in names:  # the per-engine pool gauges go by the same names
            assert sample(server, "dashboard_db_pool_size", name) == 2.0
        assert sorted((e["name"], e["url"], e["status"]) for e in database["engines"]) == [
            (name, masked, "pass") for name in names]
        assert "s3cr3t" not in deep.text

        status = server.get("/admin/api/system-status", headers=AUTH)
        assert status.status_code == 200, status.text
        figures = status.json()["data"]["database"]
        assert sorted(e["name"] for e in figures["engines"]) == names
        for engine in figures["engines"]:  # the TOML's bounds, read from the live engines
            assert {key: engine[key] for key in (
                "dialect", "pool_class", "pool_size", "max_overflow", "pool_timeout",
                "connect_timeout", "call_timeout_ms")} == {
                "dialect": "postgresql", "pool_class": "BoundedPool", "pool_size": 2,
                "max_overflow": 0, "pool_timeout": 1.0, "connect_timeout": 2,
                "call_timeout_ms": 1500}
        # No host engine: the top-level fields are the first adopted engine's.
        assert (figures["dialect"], figures["pool_size"]) == ("postgresql", 2)
        assert "s3cr3t" not in status.text and "postgresql+psycopg://" not in status.text

        # With no traffic at all, /health turns unhealthy from the background probe alone.
        assert server.get("/health").json()["status"] == "healthy"
        proxy.refuse()
        took = wait_for(server, "/health", 503, within=REFRESH + MEMO_TTL + 2)
        shallow = server.get("/health").json()
        assert shallow["degraded_reason"] == "database_unreachable"
        assert {e["name"]: e["status"] for e in shallow["checks"]["database"]["engines"]} == {
            name: "fail" for name in names}, took
        assert [sample(server, "dashboard_database_up", name) for name in names] == [0.0, 0.0]

        started = time.monotonic()
        deep = requests.get(server.url + "/health/deep", timeout=30)
        assert time.monotonic() - started < 1.5 + MEMO_TTL + 1
        assert deep.status_code == 503
        assert deep.json()["degraded_reason"] == "database_unreachable"
        assert deep.json()["checks"]["database"]["error"] == "connection_failed"

        proxy.pass_through()
        wait_for(server, "/health", 200, within=REFRESH + MEMO_TTL + 5)
        time.sleep(0.3)
        log = server.log_text()
        assert f"background database probe failing (engine={names[0]}" in log
        assert f"background database probe passes again (engine={names[0]})" in log
        assert "Traceback" not in log, log[-3000:]
    assert sqlite_files(tmp_path / "app") == []


@pytest.mark.parametrize("opt_out", ["toml", "env"])
def test_adopt_false_leaves_the_apps_engine_alone_and_bounds_the_hosts(
        tmp_path: Path, pg_database: str, pg_url: str, opt_out: str) -> None:
    toml = ('app_factory = "shop:create_app"\nplugins = ["health", "recovery"]\n' + HEALTH
            + BOUNDS.replace('url = ""', f'url = "{pg_url}"'))
    env = {"APP_DB_URL": pg_url_for(pg_database)}
    if opt_out == "toml":
        toml += "adopt = false\n"
    else:
        env["DASHBOARD__DATABASE__ADOPT"] = "false"
    with serve(tmp_path, "shop", FLASK_APP, toml, **env) as server:
        # From inside the app: Flask-SQLAlchemy's (SQLAlchemy's) defaults, untouched.
        assert server.get("/engine").json() == {
            "pool_size": 5, "pool_timeout": 30.0, "statement_timeout": "0",
            "connect_timeout": None, "binds": 2}
        figures = server.get("/admin/api/system-status", headers=AUTH).json()["data"][
            "database"]
        assert [engine["name"] for engine in figures["engines"]] == ["default"]
        assert (figures["pool_size"], figures["max_overflow"], figures["pool_timeout"],
                figures["call_timeout_ms"]) == (2, 0, 1, 1500)
        deep = server.get("/health/deep").json()["checks"]["database"]
        assert [engine["name"] for engine in deep["engines"]] == ["default"]
        assert "adopted the app's engine" not in server.log_text()


def test_no_url_and_an_app_without_database_is_healthy_quietly_and_leaves_no_file(
        tmp_path: Path) -> None:
    cwd = tmp_path / "app"
    cwd.mkdir()
    (cwd / "hello.py").write_text(NO_DATABASE_APP, encoding="utf-8")
    toml = (f'[dashboard]\nruntime_dir = "{tmp_path / "run"}"\napp_factory = "hello:app"\n'
            'plugins = ["breaker", "degradation", "health"]\n' + HEALTH)  # no [database]
    with serve_as_written(cwd, toml, "/livez") as server:
        assert server.get("/").json() == {"hello": "world"}
        time.sleep(REFRESH * 3)  # a few background probes
        for path in ("/health", "/health/deep"):
            answer = server.get(path)
            body = answer.json()
            assert answer.status_code == 200 and body["status"] == "healthy", answer.text
            assert body["checks"]["database"]["engines"] == []
        assert server.get("/metrics").status_code == 200
        log = server.log_text()
        assert "probe" not in log.lower() and "Traceback" not in log, log[-3000:]
        assert "NoHostDatabase" not in log and "ERROR" not in log, log[-3000:]
    assert sqlite_files(cwd) == []
    assert not (cwd / "var").exists()


def test_serve_with_no_config_file_runs_the_demo_on_its_embedded_sqlite(tmp_path: Path) -> None:
    with serve_as_written(tmp_path, None, "/api/reports") as server:
        answer = server.get("/api/reports")
        assert answer.status_code == 200, answer.text
        assert answer.json()["success"] is True
        deep = server.get("/health/deep").json()["checks"]["database"]
        assert [(e["name"], e["url"]) for e in deep["engines"]] == [
            ("default", "sqlite:///var/dashboard.db")]
    assert not (tmp_path / "resilience.toml").exists()
    assert tmp_path / "var" / "dashboard.db" in sqlite_files(tmp_path)  # the demo's database
