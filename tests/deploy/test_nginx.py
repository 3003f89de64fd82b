"""deploy/nginx/dashboard.conf in front of a real gunicorn, run by Debian's real nginx.

The shipped file is included as it is, with only its listen port and upstream address changed, in
a minimal non-root nginx.conf (pid, logs and temp paths under the test's directory, a free port).
Through it: ordinary requests with X-Request-ID and X-Forwarded-* handled, the probes, the
contract's 503 with Retry-After, a too-large body refused, and slow clients held by nginx while
``/livez`` and ``/readyz`` answer within a second (docs/operating/reverse-proxy.md).
"""

from __future__ import annotations

import re
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from dashboard.reports.catalog import REPORTS
from tests.support.dribble import dribblers, timed_get
from tests.support.server import REPO_ROOT, free_port, gunicorn_server

NGINX = "/usr/sbin/nginx"
SHIPPED = REPO_ROOT / "deploy" / "nginx" / "dashboard.conf"
THREADS = 4
REPORT = next(iter(REPORTS))
MAIN_CONF = """\
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log info;
events {{ worker_connections 512; }}
http {{
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {tmp}/dashboard.conf;
}}
"""


def render(upstream_port: int, listen_port: int) -> str:
    """The shipped site file, pointed at the test's gunicorn and listening on a free port."""
    text = SHIPPED.read_text(encoding="utf-8")
    text, upstreams = re.subn(r"server 127\.0\.0\.1:8000;", f"server 127.0.0.1:{upstream_port};",
                              text)
    text, listens = re.subn(r"listen 80;", f"listen 127.0.0.1:{listen_port};", text)
    assert (upstreams, listens) == (1, 1), "the shipped file's upstream or listen line moved"
    return text


@contextmanager
def nginx_in_front(tmp_path: Path, upstream_port: int) -> Iterator[str]:
    tmp = tmp_path / "nginx"
    tmp.mkdir()
    port = free_port()
    (tmp / "dashboard.conf").write_text(render(upstream_port, port), encoding="utf-8")
    conf = tmp / "nginx.conf"
    conf.write_text(MAIN_CONF.format(tmp=tmp), encoding="utf-8")
    test = subprocess.run([NGINX, "-t", "-p", str(tmp), "-c", str(conf)], capture_output=True,
                          text=True, timeout=30)
    assert test.returncode == 0, test.stderr
    process = subprocess.Popen([NGINX, "-p", str(tmp), "-c", str(conf), "-g", "daemon off;"],
                               stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "nginx did not listen"
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(20)


def test_requests_probes_and_ids_go_through(tmp_path: Path) -> None:
    with (gunicorn_server(tmp_path, "", workers=1) as server,
          nginx_in_front(tmp_path, server.port) as url):
        listing = requests.get(url + "/api/reports", headers={"X-Request-ID": "via-nginx-1"},
                               timeout=10)
        generated = requests.get(url + "/api/reports", timeout=10)
        probes = {path: requests.get(url + path, timeout=10) for path in
                  ("/livez", "/readyz", "/health")}
        too_large = requests.post(url + "/api/reports", data=b"x" * (2 * 1024 * 1024),
                                  timeout=10)
        access = server.log_text()
    assert listing.status_code == 200 and listing.json()["success"] is True
    assert listing.headers["X-Request-ID"] == "via-nginx-1"
    assert listing.json()["meta"]["request_id"] == "via-nginx-1"
    # Without one, nginx's own id reaches the host, so both logs name the request alike.
    assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["X-Request-ID"])
    for path, response in probes.items():
        assert response.status_code == 200, (path, response.text)
    assert too_large.status_code == 413
    assert "via-nginx-1" in access


def test_the_contracts_503_and_retry_after_pass_through(tmp_path: Path) -> None:
    closed = free_port()  # nothing listens there: the database refuses every connection
    env = {"DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:{closed}/none"}
    with (gunicorn_server(tmp_path, "", workers=1, env=env, ready_path="/livez") as server,
          nginx_in_front(tmp_path, server.port) as url):
        direct = server.get("/api/reports/" + REPORT)
        proxied = requests.get(url + "/api/reports/" + REPORT, timeout=30)
    assert direct.status_code == 503, direct.text
    assert proxied.status_code == 503, proxied.text
    body = proxied.json()
    assert body["error"]["retryable"] is True
    assert proxied.headers["Retry-After"] == str(body["meta"]["retry_after_seconds"])
    assert body["error"]["code"] == direct.json()["error"]["code"]


def test_slow_clients_wait_on_nginx_not_on_the_workers(tmp_path: Path) -> None:
    workers = 2
    config = f"[server]\nthreads = {THREADS}\ngraceful_timeout = 5\n"
    with (gunicorn_server(tmp_path, config, workers=workers) as server,
          nginx_in_front(tmp_path, server.port) as url):
        port = int(url.rsplit(":", 1)[1])
        with dribblers(port, (THREADS + 2) * workers) as clients:
            found = [(path, *timed_get(url + path, timeout=5))
                     for path in ("/livez", "/readyz", "/api/reports") * 2]
            still_connected = sum(client.closed_after is None for client in clients)
    print("latency with dribblers through nginx:",
          [(path, round(seconds, 3)) for path, seconds, _ in found])
    assert still_connected == (THREADS + 2) * workers
    for path, seconds, status in found:
        assert status == 200, (path, status)
        assert seconds < 1.0, (path, seconds)
