"""End to end: hostile headers cannot slow the server down through its access log.

gunicorn's access log prints the Referer and the User-Agent of every request, and the redaction
filter masks that line inside the worker, holding the GIL. Before issue 13, a Referer of ``@``
then ``x://`` 2,040 times (the most one header may carry: gunicorn refuses fields over 8 KiB)
cost about a second of CPU per line, so a handful of such requests in parallel made every other
request of the worker wait: ``/livez`` took seconds. Here eight clients send a 16 KiB access line
each (an 8 KiB Referer and an 8 KiB User-Agent, both hostile) as fast as they are answered, while
``/livez`` is probed; its p99 stays under half a second, and a real password sent in a Referer is
still masked in the access log.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import requests

from tests.support.server import gunicorn_server

FIELD_LIMIT = 8190  # gunicorn's default limit_request_field_size: "Name: value\r\n"


def _largest(name: str, text: str) -> str:
    return text[:FIELD_LIMIT - len(name) - len(": \r\n")]


HOSTILE_HEADERS = {
    "Referer": _largest("Referer", "@" + "x://" * 2048),  # URL userinfo from every scheme
    "User-Agent": _largest("User-Agent", ":a/" * 2730),   # Oracle user/ from every user
}
SECRET = "Hunter2-in-a-Referer"
CLIENTS = 8
PROBES = 100
P99_BOUND = 0.5  # seconds; a /livez answers in a few milliseconds

CONFIG = """
[dashboard]
plugins = ["redaction", "health"]
"""


def _hammer(url: str, stop: threading.Event, answered: list[int]) -> None:
    with requests.Session() as session:
        while not stop.is_set():
            try:
                answer = session.get(url, headers=HOSTILE_HEADERS, timeout=60)
                answered.append(answer.status_code)
            except requests.RequestException:
                answered.append(0)


def test_hostile_referers_do_not_slow_livez_and_secrets_stay_masked(tmp_path: Path) -> None:
    with gunicorn_server(tmp_path, CONFIG, workers=2, ready_path="/livez") as server:
        secret_referer = {"Referer": f"postgresql://mes:{SECRET}@db.example:5432/mes"}
        assert server.get("/livez", headers=secret_referer).status_code == 200
        stop = threading.Event()
        answered: list[int] = []
        clients = [threading.Thread(target=_hammer, args=(f"{server.url}/api/reports", stop,
                                                          answered), daemon=True)
                   for _ in range(CLIENTS)]
        for client in clients:
            client.start()
        latencies = []
        try:
            deadline = time.monotonic() + 30
            while len(answered) < CLIENTS and time.monotonic() < deadline:
                time.sleep(0.05)  # every client has been answered once: the load is on
            with requests.Session() as probe:
                for _ in range(PROBES):
                    start = time.perf_counter()
                    assert probe.get(f"{server.url}/livez", timeout=60).status_code == 200
                    latencies.append(time.perf_counter() - start)
                    time.sleep(0.02)
        finally:
            stop.set()
            for client in clients:
                client.join(90)
        time.sleep(0.5)  # let the workers flush their last access lines
    log = server.log_text()

    assert len(answered) >= CLIENTS and set(answered) == {200}, sorted(set(answered))
    assert log.count('"@x://x://x://') >= CLIENTS, "the hostile lines reached the access log"
    assert "postgresql://mes:***@db.example:5432/mes" in log
    assert SECRET not in log
    p99 = sorted(latencies)[int(len(latencies) * 0.99) - 1]
    assert p99 < P99_BOUND, f"/livez p99 {p99 * 1000:.0f} ms under hostile Referers"
