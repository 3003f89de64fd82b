"""docs/api/metrics.md metrics through a real ``dashboard serve``: the series, their movement under
load, ``promtool check metrics``, and a bounded multiprocess directory across 50 reloads."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.support.server import Server, gunicorn_server

CONFIG = """
    [dashboard]
    environment = "testing"
    plugins = ["redaction", "breaker", "degradation", "health"]
    app_factory = "tests.dashboard.ops_apps:create_app"
    [database]
    call_timeout_ms = 200
"""
SECTION_14 = [
    "dashboard_http_request_duration_seconds", "dashboard_db_statement_duration_seconds",
    "dashboard_db_pool_wait_seconds", "dashboard_breaker_transitions_total",
    "dashboard_breaker_rejections_total", "dashboard_breaker_failure_rate",
    "dashboard_admission_limit", "dashboard_admission_in_flight",
    "dashboard_admission_rejected_total", "dashboard_stale_responses_total",
]
SECTION_7 = ["dashboard_breaker_state", "dashboard_degraded_responses_total",
             "dashboard_db_pool_checked_out", "dashboard_health_cache_hits_total",
             "dashboard_worker_restarts_total"]


def scrape(server: Server) -> dict[str, float]:
    """Every sample of ``/metrics`` as ``'name{k="v",...}' -> value`` (labels sorted)."""
    response = requests.get(server.url + "/metrics", timeout=30,
                            headers={"Connection": "close"})
    assert response.status_code == 200
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}"] = sample.value
    return samples


def scrape_until(server: Server, done: Callable[[dict[str, float]], bool],
                 timeout: float = 5) -> dict[str, float]:
    """Scrape until ``done`` holds for the samples (at most ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        samples = scrape(server)
        if done(samples) or time.monotonic() > deadline:
            return samples
        time.sleep(0.05)


def total(samples: dict[str, float], name: str, **labels: str) -> float:
    wanted = [f'{k}="{v}"' for k, v in labels.items()]
    return sum(value for key, value in samples.items()
               if key.split("{")[0] == name and all(w in key for w in wanted))


def test_series_exist_and_histograms_move_with_load(tmp_path: Path) -> None:
    with gunicorn_server(tmp_path, CONFIG, workers=2, ready_path="/livez") as server:
        before = scrape(server)
        names = {key.split("{")[0] for key in before}
        for family in SECTION_14 + SECTION_7:
            assert any(name == family or name.startswith(family + "_") for name in names), family
        for _ in range(20):
            assert requests.get(server.url + "/ops/db", timeout=30,
                                headers={"Connection": "close"}).status_code == 200
        timed_out = requests.get(server.url + "/ops/slow-statement", timeout=30)
        assert timed_out.json()["error"]["code"] == "DB_QUERY_TIMEOUT"
        # The other worker writes its buffered observations on its 100 ms beat (a scrape does
        # not wait for it): scrape until they are in, within a bound far above that beat.
        http = "dashboard_http_request_duration_seconds_count"
        after = scrape_until(server, lambda samples: total(
            samples, http, status="5xx", code="DB_QUERY_TIMEOUT") == 1 and total(
            samples, http, method="GET", status="2xx", code="") - total(
            before, http, method="GET", status="2xx", code="") >= 20)

    statements = "dashboard_db_statement_duration_seconds"
    assert (total(after, http, method="GET", status="2xx", code="")
            - total(before, http, method="GET", status="2xx", code="")) >= 20
    assert total(after, http, status="5xx", code="DB_QUERY_TIMEOUT") == 1
    assert total(after, statements + "_count") - total(before, statements + "_count") >= 21
    # The timed-out statement ran for about call_timeout_ms (200 ms): not in the 0.1 s bucket.
    slow = (total(after, statements + "_count") - total(after, statements + "_bucket", le="0.1"))
    assert slow >= 1
    waits = "dashboard_db_pool_wait_seconds_count"
    assert total(after, waits) - total(before, waits) >= 21
    for key in after:  # bounded labels: no path ever becomes a label value
        assert "/ops" not in key


def test_promtool_check_metrics_accepts_a_real_scrape(tmp_path: Path) -> None:
    with gunicorn_server(tmp_path, CONFIG, workers=2, ready_path="/livez") as server:
        requests.get(server.url + "/ops/db", timeout=30)
        requests.get(server.url + "/ops/boom", timeout=30)
        body = requests.get(server.url + "/metrics", timeout=30).text
    result = subprocess.run(["promtool", "check", "metrics"], input=body, text=True,
                            capture_output=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def _db_files(server_tmp: Path) -> list[str]:
    return sorted(p.name for p in (server_tmp / "run" / "metrics").glob("*.db"))


def _worker_pid(server: Server) -> int:
    return int(requests.get(server.url + "/livez", timeout=30,
                            headers={"Connection": "close"}).json()["worker_pid"])


def _wait_for_new_worker(server: Server, old_pid: int, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            pid = _worker_pid(server)
            if pid != old_pid:
                return pid
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise AssertionError(f"no new worker after SIGHUP:\n{server.log_text()[-3000:]}")


def _wait_until_retired(tmp_path: Path, pid: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(name.endswith(f"_{pid}.db") for name in _db_files(tmp_path)):
            return
        time.sleep(0.05)
    raise AssertionError(f"files of dead worker {pid} still there: {_db_files(tmp_path)}")


@pytest.mark.timeout(900)
def test_fifty_reloads_keep_the_directory_bounded_and_counters_monotonic(tmp_path: Path) -> None:
    config = CONFIG + "\n[server]\ngraceful_timeout = 5\n"
    counters = ("dashboard_http_request_duration_seconds_count",
                "dashboard_db_statement_duration_seconds_count",
                "dashboard_db_pool_wait_seconds_count")
    with gunicorn_server(tmp_path, config, workers=1, ready_path="/livez") as server:
        pid = _worker_pid(server)
        previous = {name: 0.0 for name in counters}
        most_files = 0
        for reload in range(50):
            requests.get(server.url + "/ops/db", timeout=30, headers={"Connection": "close"})
            samples = scrape(server)
            for name in counters:
                value = total(samples, name)
                assert value >= previous[name], (reload, name, value, previous[name])
                previous[name] = value
            os.kill(server.master_pid, signal.SIGHUP)
            new_pid = _wait_for_new_worker(server, pid)
            _wait_until_retired(tmp_path, pid)
            pid = new_pid
            most_files = max(most_files, len(_db_files(tmp_path)))
        final = scrape(server)
    # Master + one live worker (counter, histogram, and the livesum, livemax and liveall gauge
    # files each) + two archives: the same however many reloads happened.
    assert most_files <= 12, _db_files(tmp_path)
    assert "counter_archive.db" in _db_files(tmp_path)
    # 50 requests to /ops/db, all counted although every worker that served them is gone.
    assert total(final, "dashboard_http_request_duration_seconds_count", status="2xx") >= 50
    for name in counters:
        assert total(final, name) >= previous[name]
