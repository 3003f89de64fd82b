"""Admin bodies through a real gunicorn, with the restart history on PostgreSQL.

Chunked bodies (``requests`` sends a generator body with ``Transfer-Encoding: chunked``) used to
be read as empty; a NUL in the reason used to be a 500 from PostgreSQL with no audit line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import requests

from tests.dashboard.plugins.recovery.support import AUTH, ENV, audit_records, recovery_toml
from tests.support.server import gunicorn_server

RESTART = "/admin/api/worker/restart"


def chunks(data: bytes, size: int = 7) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


def post(url: str, body: object) -> requests.Response:
    return requests.post(url + RESTART, data=body, timeout=20,
                         headers={**AUTH, "Content-Type": "application/json",
                                  "Connection": "close"})


def test_chunked_nul_deep_and_oversize_bodies_on_a_postgresql_store(tmp_path: Path,
                                                                     pg_url: str) -> None:
    toml = recovery_toml(tmp_path, store_url=pg_url)
    with gunicorn_server(tmp_path, toml, env=ENV, workers=1) as server:
        chunked = post(server.url, chunks(json.dumps({"reason": "sent in chunks"}).encode()))
        assert chunked.status_code == 202, chunked.text
        assert chunked.request.headers.get("Transfer-Encoding") == "chunked"

        refusals = {
            "NUL": b'{"reason": "nul \\u0000 byte"}',
            "surrogate": b'{"reason": "\\udfff"}',
            "deep": b"[" * 30_000 + b"]" * 30_000,
        }
        for name, body in refusals.items():
            response = post(server.url, body)
            assert response.status_code == 400, (name, response.text)
            assert response.json()["error"]["code"] == "VALIDATION_ERROR"
        oversize = post(server.url, chunks(b'{"reason": "' + b"x" * 40_000 + b'"}', 4096))
        assert oversize.status_code == 400, oversize.text

        wrong_method = requests.get(server.url + RESTART, headers=AUTH, timeout=20)
        assert wrong_method.status_code == 405 and wrong_method.headers["Allow"] == "POST"
        anonymous = requests.get(server.url + "/admin/api/worker/status", timeout=20)
        assert anonymous.status_code == 401
        assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
        log = server.log_text()

    records = audit_records(tmp_path)
    # The anonymous status read is one failed authentication, audited as such.
    assert [line["event"] for line in records if line["event"] == "auth_failed"] == [
        "auth_failed"]
    decisions = [(line["reason"], line["decision"]) for line in records
                 if line["event"] != "auth_failed"]
    assert decisions[0] == ("sent in chunks", "executed")
    assert [d for _, d in decisions[1:]] == ["refused"] * 4, decisions
    assert "Traceback" not in log and "INTERNAL_ERROR" not in log
