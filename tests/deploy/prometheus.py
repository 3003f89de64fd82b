"""A real Prometheus (Debian's ``/usr/bin/prometheus``) for tests, and a watch on its alerts.

:func:`prometheus_server` starts one on a free port with its TSDB under the test's tmp dir,
scraping one target every :data:`SCRAPE_SECONDS` and evaluating the given rule files every
:data:`EVALUATION_SECONDS`. :class:`AlertWatch` polls ``/api/v1/alerts`` on a thread and keeps,
per alert name, when it was first seen pending, first firing, and when it was gone again.
"""

from __future__ import annotations

import contextlib
import math
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import yaml  # type: ignore[import-untyped]

from tests.support.server import free_port

PROMETHEUS = "/usr/bin/prometheus"
SCRAPE_SECONDS = 1
EVALUATION_SECONDS = 1


@dataclass
class Prometheus:
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def query(self, expr: str) -> list[dict[str, Any]]:
        answer = requests.get(self.url + "/api/v1/query", params={"query": expr}, timeout=10)
        assert answer.status_code == 200, (expr, answer.text)
        body = answer.json()
        assert body["status"] == "success", (expr, body)
        return list(body["data"]["result"])

    def values(self, expr: str) -> list[float]:
        """The numbers an instant query returns now (NaN included: a panel would show a gap)."""
        return [float(item["value"][1]) for item in self.query(expr)]

    def has_data(self, expr: str) -> bool:
        return any(not math.isnan(value) for value in self.values(expr))

    def alerts(self) -> list[dict[str, Any]]:
        answer = requests.get(self.url + "/api/v1/alerts", timeout=10)
        answer.raise_for_status()
        return list(answer.json()["data"]["alerts"])

    def targets_up(self) -> bool:
        answer = requests.get(self.url + "/api/v1/targets", timeout=10).json()
        active = answer["data"]["activeTargets"]
        return bool(active) and all(target["health"] == "up" for target in active)


@contextlib.contextmanager
def prometheus_server(tmp_path: Path, target: str, rule_files: list[Path]) -> Iterator[Prometheus]:
    """Start Prometheus scraping ``target`` (``host:port``); wait until it answers."""
    port = free_port()
    config = {
        "global": {"scrape_interval": f"{SCRAPE_SECONDS}s",
                   "scrape_timeout": f"{SCRAPE_SECONDS}s",
                   "evaluation_interval": f"{EVALUATION_SECONDS}s"},
        "rule_files": [str(path) for path in rule_files],
        "scrape_configs": [{"job_name": "dashboard", "metrics_path": "/metrics",
                            "static_configs": [{"targets": [target]}]}],
    }
    config_path = tmp_path / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
    log_path = tmp_path / "prometheus.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [PROMETHEUS, f"--config.file={config_path}",
             f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{port}", "--web.enable-lifecycle"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = Prometheus(process, f"http://127.0.0.1:{port}", log_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log_path.read_text()[-3000:]
            with contextlib.suppress(requests.RequestException):
                if requests.get(server.url + "/-/ready", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, "Prometheus not ready in 60 s"
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@dataclass
class AlertTimes:
    pending: float | None = None
    firing: float | None = None
    resolved: float | None = None  # gone again after it was seen


@dataclass
class AlertWatch:
    """Polls the alerts every 0.25 s; :meth:`reset` starts a new scenario's record."""

    prometheus: Prometheus
    times: dict[str, AlertTimes] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            with contextlib.suppress(requests.RequestException):
                self.observe(self.prometheus.alerts(), time.monotonic())

    def observe(self, alerts: list[dict[str, Any]], now: float) -> None:
        states: dict[str, str] = {}
        for alert in alerts:
            name = alert["labels"]["alertname"]
            if states.get(name) != "firing":
                states[name] = alert["state"]
        with self._lock:
            for name, state in states.items():
                record = self.times.setdefault(name, AlertTimes())
                if record.pending is None:
                    record.pending = now
                if state == "firing" and record.firing is None:
                    record.firing = now
                record.resolved = None
            for name, record in self.times.items():
                if name not in states and record.pending is not None and record.resolved is None:
                    record.resolved = now

    def get(self, name: str) -> AlertTimes:
        with self._lock:
            record = self.times.get(name, AlertTimes())
            return AlertTimes(record.pending, record.firing, record.resolved)

    def active(self) -> set[str]:
        with self._lock:
            return {name for name, record in self.times.items()
                    if record.pending is not None and record.resolved is None}

    def reset(self) -> None:
        with self._lock:
            self.times = {}

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
