"""The shipped alerts and Grafana panels against a real Prometheus and a real host.

Debian's Prometheus (own port, TSDB under tmp, scraping every second and evaluating every
second) runs ``deploy/prometheus/alerts.yml`` exactly as shipped (no scaling: its ``for:`` and
windows are short enough for CI) against ``dashboard serve`` (2 workers, the shipped plugins)
whose PostgreSQL is behind the fault proxy. Everything is asserted through Prometheus's HTTP API
(``/api/v1/alerts``, ``/api/v1/query``), in the order the scenarios run on the one host:

1. a fresh host: ``/metrics`` answers in under 50 ms, ``promtool check metrics`` accepts it,
   every §20 series is there from the first scrape, every Grafana panel returns data;
2. bounded load (4 clients): the app-latency panel's p95 is within 20% of the clients' own p95,
   and every panel returns data;
3. a 90 s refused-database outage under that load: ``DashboardCircuitBreakerOpen`` and
   ``DashboardDegradedAnswers`` fire within 2 minutes of its start (and before its end) and
   resolve within 2 minutes of its end; every panel returns data during it;
4. an idle outage (no requests at all, no blackbox exporter): ``DashboardDatabaseDown`` fires
   within 2 minutes; nothing about requests fires;
5. restart churn through the admin API: ``DashboardRestartChurn`` is quiet after two restarts
   and fires on the third.

The measured times are printed (``-s``) and written to ``figures.json`` in the test's tmp dir.
One run on the 2-core development machine (seconds after the outage's start, or end): breaker
and degraded alerts pending 2.1, firing 32.0, resolved 29.9 and 59.1 after the end; database
down (idle) pending 3.7, firing 33.7, resolved 4.3 after the end; churn firing 0.3 s after the
third restart was counted; ``/metrics`` median 15.5 ms (max 41.9); p95 clients 255 ms, panel
248 ms. The whole file takes about 4.5 minutes.
"""

from __future__ import annotations

import json
import math
import re
import statistics
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import PG_ADMIN_URL
from tests.deploy.prometheus import AlertWatch, Prometheus, prometheus_server
from tests.support.faultproxy import FaultProxy
from tests.support.server import Server, gunicorn_server

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboard.json"
TOKEN = "live-prometheus-test-token"
OUTAGE_SECONDS = 90
CLIENTS = 4
SECTION_20 = ("dashboard_database_up", "dashboard_health_status", "dashboard_db_pool_size",
              "dashboard_db_pool_checked_out", "dashboard_db_pool_overflow",
              "dashboard_db_pool_waiting", "dashboard_db_pool_timeouts_total",
              "dashboard_breaker_calls_total", "dashboard_build_info",
              "process_cpu_seconds_total", "process_resident_memory_bytes",
              "process_open_fds", "process_start_time_seconds")
FIGURES: dict[str, Any] = {}


def config(url: str) -> str:
    return f"""
[dashboard]
environment = "production"
plugins = ["redaction", "breaker", "health", "recovery", "fallback", "admission", "degradation"]
app_factory = "tests.deploy.liveapp:create_app"

[server]
threads = 8

[database]
url = "{url}"
connect_timeout = 2
call_timeout_ms = 5000

[plugins.breaker]
open_seconds = 10

[plugins.recovery]
cooldown_seconds = 0

[plugins.fallback]
paths = ["/api/work/*"]
max_age_seconds = 3600
"""


class Load:
    """``CLIENTS`` threads asking the app in turn, ~20 requests a second each at most; every
    answer is kept as (monotonic end, seconds, status, code)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.answers: list[tuple[float, float, int, str]] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(n,), daemon=True)
                         for n in range(CLIENTS)]
        for thread in self._threads:
            thread.start()

    def _run(self, number: int) -> None:
        session = requests.Session()
        count = 0
        while not self._stop.is_set():
            count += 1
            path = f"/api/{'work' if count % 2 else 'live'}/{number}-{count % 5}"
            started = time.monotonic()
            try:
                answer = session.get(self.base + path, timeout=30)
                body = answer.json()
                stale = (body.get("meta") or {}).get("stale")
                code = "STALE" if stale else (body.get("error") or {}).get("code", "")
                status = answer.status_code
            except (requests.RequestException, ValueError):
                status, code = 0, "client"
            ended = time.monotonic()
            self.answers.append((ended, ended - started, status, code))
            self._stop.wait(0.05)

    def p95_since(self, since: float) -> float:
        durations = sorted(d for end, d, status, _ in self.answers
                           if end >= since and status == 200)
        return durations[math.ceil(0.95 * len(durations)) - 1]

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(40)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp_path = tmp_path_factory.mktemp("live")
    with FaultProxy() as proxy, gunicorn_server(
            tmp_path / "host", config(proxy.url_for(PG_ADMIN_URL)), workers=2,
            ready_path="/livez", env={"DASHBOARD_ADMIN_TOKEN": TOKEN}) as server, \
            prometheus_server(tmp_path, f"127.0.0.1:{server.port}", [RULES]) as prometheus:
        watch = AlertWatch(prometheus)
        try:
            yield {"proxy": proxy, "server": server, "prometheus": prometheus, "watch": watch,
                   "tmp": tmp_path}
        finally:
            watch.close()
            (tmp_path / "figures.json").write_text(json.dumps(FIGURES, indent=2))
            print("\nfigures:", json.dumps(FIGURES, indent=2))


def wait_for(condition: Any, timeout: float, what: str, interval: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(interval)


# -- the Grafana panels --------------------------------------------------------------------------

def panel_queries() -> list[tuple[str, str]]:
    """(panel title, PromQL) of every panel target, with Grafana's variables filled in."""
    board = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    found = []
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"].replace("$instance", ".*")
            expr = expr.replace("$__rate_interval", "1m").replace("$__range", "5m")
            found.append((f"{panel['title']} [{target.get('refId')}]", expr))
    return found


def panels_without_data(prometheus: Prometheus) -> list[str]:
    return [title for title, expr in panel_queries() if not prometheus.has_data(expr)]


# -- the scenarios, in order ---------------------------------------------------------------------

def test_a_fresh_host_scrapes_fast_and_every_series_and_panel_is_there(
        stack: dict[str, Any]) -> None:
    server: Server = stack["server"]
    prometheus: Prometheus = stack["prometheus"]
    first = requests.get(server.url + "/metrics", timeout=10).text
    for name in SECTION_20:
        assert re.search(rf"^{name}(\{{|\s)", first, re.MULTILINE), f"{name} not in first scrape"
    assert re.search(r'^dashboard_database_up\{engine="default",pid="\d+"\} 1\.0$', first,
                     re.MULTILINE)
    check = subprocess.run(["promtool", "check", "metrics"], input=first, text=True,
                           capture_output=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    timings = []
    for _ in range(30):
        started = time.perf_counter()
        assert requests.get(server.url + "/metrics", timeout=10).status_code == 200
        timings.append(time.perf_counter() - started)
        time.sleep(0.05)
    FIGURES["metrics_ms"] = {"median": round(statistics.median(timings) * 1000, 1),
                             "max": round(max(timings) * 1000, 1)}
    assert statistics.median(timings) < 0.05, FIGURES["metrics_ms"]
    pids = {int(item["metric"]["pid"]) for item in
            wait_for(lambda: prometheus.query("process_start_time_seconds"), 30, "scraped")}
    assert server.master_pid in pids and len(pids) == 3, pids  # the master and 2 workers
    wait_for(lambda: not panels_without_data(prometheus), 30,
             f"panels on a fresh host: {panels_without_data(prometheus)}")


def test_under_load_the_app_latency_panel_matches_the_clients(stack: dict[str, Any]) -> None:
    prometheus: Prometheus = stack["prometheus"]
    load = Load(stack["server"].url)
    stack["load"] = load
    started = time.monotonic()
    time.sleep(35)
    window_end = time.monotonic()
    client_p95 = load.p95_since(window_end - 30)
    panel = next(expr for title, expr in panel_queries() if title.startswith("App request "
                                                                             "latency [B]"))
    panel_p95 = prometheus.values(panel.replace("[1m]", "[30s]"))[0]
    FIGURES["p95_under_load_ms"] = {"clients": round(client_p95 * 1000, 1),
                                    "panel": round(panel_p95 * 1000, 1),
                                    "requests": len(load.answers),
                                    "seconds": round(window_end - started, 1)}
    assert abs(panel_p95 - client_p95) <= 0.2 * client_p95, FIGURES["p95_under_load_ms"]
    assert not panels_without_data(prometheus), panels_without_data(prometheus)
    assert not stack["watch"].active(), stack["watch"].times


def test_a_refused_database_under_load_fires_breaker_and_degraded_alerts_in_time(
        stack: dict[str, Any]) -> None:
    prometheus: Prometheus = stack["prometheus"]
    watch: AlertWatch = stack["watch"]
    load: Load = stack["load"]
    watch.reset()
    start = time.monotonic()
    stack["proxy"].refuse()
    try:
        time.sleep(OUTAGE_SECONDS / 2)
        outage_panels = panels_without_data(prometheus)
        stale_rate = prometheus.values('sum(rate(dashboard_http_request_duration_seconds_count'
                                       '{handler="app",code="STALE",status="2xx"}[30s]))')
        time.sleep(start + OUTAGE_SECONDS - time.monotonic())
    finally:
        stack["proxy"].pass_through()
    end = time.monotonic()
    names = ("DashboardCircuitBreakerOpen", "DashboardDegradedAnswers")
    wait_for(lambda: all(watch.get(name).resolved for name in names), 150,
             f"resolution of {names}: {watch.times}")
    load.stop()
    received = {code for ended, _, _, code in load.answers if start < ended < end}
    FIGURES["outage_under_load_s"] = {
        name: {"pending": _since(watch.get(name).pending, start),
               "firing": _since(watch.get(name).firing, start),
               "resolved_after_end": _since(watch.get(name).resolved, end)}
        for name in (*names, "DashboardDatabaseDown")}
    FIGURES["outage_codes_received"] = sorted(received)
    assert outage_panels == [], outage_panels
    assert stale_rate and stale_rate[0] > 0, "stand-ins are counted as STALE"
    assert "STALE" in received and received & {"CIRCUIT_BREAKER_OPEN", "DB_CONNECTION_FAILED"}
    for name in names:
        times = watch.get(name)
        assert times.firing is not None, (name, watch.times)
        assert times.firing - start <= 120 and times.firing < end, FIGURES
        assert times.resolved is not None and times.resolved - end <= 120, FIGURES


def test_an_idle_outage_fires_database_down_from_the_hosts_own_metrics(
        stack: dict[str, Any]) -> None:
    prometheus: Prometheus = stack["prometheus"]
    watch: AlertWatch = stack["watch"]
    wait_for(lambda: not watch.active(), 150, f"quiet before the idle outage: {watch.times}")
    watch.reset()
    log_before = stack["server"].log_text()
    start = time.monotonic()
    stack["proxy"].refuse()
    try:
        wait_for(lambda: watch.get("DashboardDatabaseDown").firing, 120, "database down fires")
        idle_panels = panels_without_data(prometheus)
        health = prometheus.values("max(dashboard_health_status)")
    finally:
        stack["proxy"].pass_through()
    end = time.monotonic()
    wait_for(lambda: watch.get("DashboardDatabaseDown").resolved, 60, "database down resolves")
    times = watch.get("DashboardDatabaseDown")
    FIGURES["idle_outage_s"] = {"pending": _since(times.pending, start),
                                "firing": _since(times.firing, start),
                                "resolved_after_end": _since(times.resolved, end)}
    assert times.firing is not None and times.firing - start <= 120
    assert health == [2.0]
    assert idle_panels == [], idle_panels
    assert set(watch.times) == {"DashboardDatabaseDown"}, watch.times
    log = stack["server"].log_text()[len(log_before):]
    assert log.count("background database probe failing") == 2, "one WARNING per worker"
    wait_for(lambda: stack["server"].log_text()[len(log_before):].count(
        "background database probe passes again") == 2, 30, "one INFO per worker")


def test_restart_churn_fires_on_the_third_restart(stack: dict[str, Any]) -> None:
    server: Server = stack["server"]
    watch: AlertWatch = stack["watch"]
    prometheus: Prometheus = stack["prometheus"]
    wait_for(lambda: not watch.active(), 60, "quiet before churn")
    # Prometheus has the counter at 0 before the first restart (as it has on any host that
    # was scraped once before it churned): increase() then counts every restart.
    wait_for(lambda: prometheus.values("sum(dashboard_worker_restarts_total)") == [0.0], 30,
             "the restart counter at 0")
    watch.reset()
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    seen = []
    for number in (1, 2, 3):
        workers = _worker_pids(server, bearer)
        answer = requests.post(server.url + "/admin/api/worker/restart", headers=bearer,
                               json={"reason": f"churn test {number}"}, timeout=30)
        assert answer.status_code == 202, answer.text
        asked = time.monotonic()
        wait_for(lambda old=workers: len(pids := _worker_pids(server, bearer)) == 2 and
                 pids.isdisjoint(old), 60, "new workers")
        wait_for(lambda count=float(number): prometheus.values(
            "sum(dashboard_worker_restarts_total)") == [count], 30, "counted")
        if number < 3:
            time.sleep(3)  # a few evaluations with the count in: still quiet
            assert "DashboardRestartChurn" not in watch.times, (number, watch.times)
        else:
            wait_for(lambda: watch.get("DashboardRestartChurn").firing, 30, "churn fires")
        seen.append(round(time.monotonic() - asked, 1))
    FIGURES["churn_s"] = {"restart_to_counted": seen,
                          "firing_after_third": _since(watch.get("DashboardRestartChurn").firing,
                                                       asked)}


def _worker_pids(server: Server, _headers: dict[str, str]) -> set[int]:
    """The live workers, as ``/metrics`` lists their processes (the master left out)."""
    try:
        text = requests.get(server.url + "/metrics", timeout=10).text
    except requests.RequestException:
        return set()
    pids = {int(pid) for pid in re.findall(r'^process_start_time_seconds\{pid="(\d+)"\}', text,
                                           re.MULTILINE)}
    return pids - {server.master_pid}


def _since(moment: float | None, origin: float) -> float | None:
    return None if moment is None else round(moment - origin, 1)
