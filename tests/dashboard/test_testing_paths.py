"""Hosts built by ``dashboard.testing`` keep every file under the test's own directory.

Before, the audit log of every such host was ``./var/audit.jsonl`` in whatever directory pytest
ran from: tests shared it, and a plugin author's checkout filled up with it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dashboard.testing import build_host

TOKEN = "t" * 32


def _files_under(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())


def test_a_testing_host_writes_nothing_outside_its_base_dir(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("DASHBOARD_ADMIN_TOKEN", TOKEN)
    base = tmp_path / "host"
    host = build_host("", base_dir=base)  # the shipped plugin set, demo app, recovery included
    try:
        from werkzeug.test import Client

        client = Client(host.build_app())
        assert client.get("/api/reports").status_code == 200  # seeds the demo database
        refused = client.post("/admin/api/worker/restart", data="not json",
                              headers={"Authorization": f"Bearer {TOKEN}",
                                       "Content-Type": "application/json"})
        assert refused.status_code == 400
    finally:
        host.close()
    assert _files_under(cwd) == []
    written = _files_under(base)
    assert "audit.jsonl" in written and any(name.endswith(".db") for name in written), written
    audit = [json.loads(line) for line in (base / "audit.jsonl").read_text().splitlines()]
    assert audit[-1]["decision"] == "refused"
