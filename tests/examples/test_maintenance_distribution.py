"""A third party's plugin, from its own distribution to a real server (docs/plugin-guide.md).

The example ``examples/dashboard-maintenance`` is pip-installed (see ``conftest.py``), enabled by
adding ``maintenance`` to ``[dashboard].plugins``, listed by ``dashboard plugins``, validated by
``dashboard check``, and seen working through ``dashboard serve`` (gunicorn, two workers).
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

from tests.examples.conftest import EXAMPLE_DIR, REPO_ROOT, InstalledExample, clean_env
from tests.support.server import gunicorn_server

PLUGINS = '["redaction", "maintenance", "breaker", "degradation", "health", "recovery"]'
EXPECTED_HOOKS = {"dashboard_settings_model", "dashboard_configure", "dashboard_wrap_wsgi",
                  "dashboard_health_checks"}


def write_config(directory: Path, maintenance_table: str = "") -> Path:
    path = directory / "resilience.toml"
    path.write_text(f'[dashboard]\nplugins = {PLUGINS}\nruntime_dir = "{directory / "run"}"\n'
                    f'[database]\nurl = "sqlite:///{directory / "dashboard.db"}"\n'
                    f"[plugins.maintenance]\n{maintenance_table}\n", encoding="utf-8")
    return path


def test_pip_install_ships_the_entry_point(installed_example: InstalledExample):
    [dist_info] = installed_example.site.glob("dashboard_maintenance-0.1.0.dist-info")
    entry_points = (dist_info / "entry_points.txt").read_text(encoding="utf-8")
    assert re.search(r"\[dashboard\.plugins\]\s+maintenance = dashboard_maintenance\b",
                     entry_points), entry_points
    assert (installed_example.site / "dashboard_maintenance" / "middleware.py").is_file()


def test_dashboard_plugins_lists_it_in_pipeline_order_with_version_and_hooks(
        installed_example: InstalledExample, tmp_path: Path):
    result = installed_example.dashboard("plugins", "--config", str(write_config(tmp_path)))
    assert result.returncode == 0, result.stderr
    names = re.findall(r"^\s*\d+\.\s+(\S+)", result.stdout, flags=re.MULTILINE)
    assert names == ["redaction", "maintenance", "breaker", "degradation", "health", "recovery"]
    block = result.stdout.split("maintenance", 1)[1].split("breaker", 1)[0]
    assert block.split()[0] == "0.1.0", result.stdout
    assert set(re.findall(r"dashboard_\w+", block)) == EXPECTED_HOOKS, result.stdout


def test_dashboard_check_rejects_a_bad_value_naming_the_key(installed_example: InstalledExample,
                                                            tmp_path: Path):
    config = str(write_config(tmp_path, "retry_after_seconds = 0"))
    result = installed_example.dashboard("check", "--config", config)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "plugins.maintenance.retry_after_seconds: must be >= 1 (got 0, from toml)"]
    name = "DASHBOARD__PLUGINS__MAINTENANCE__ALLOW_PATHS"
    result = installed_example.dashboard("check", "--config", str(write_config(tmp_path)),
                                         env={**installed_example.env, name: "health"})
    assert result.returncode == 2
    assert "plugins.maintenance.allow_paths" in result.stderr and f"env {name}" in result.stderr
    assert "Traceback" not in result.stderr


def test_dashboard_check_shows_its_settings_with_their_sources(
        installed_example: InstalledExample, tmp_path: Path):
    result = installed_example.dashboard(
        "check", "--config", str(write_config(tmp_path, "retry_after_seconds = 42")))
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
    assert "42" in lines["plugins.maintenance.retry_after_seconds"]
    assert "toml" in lines["plugins.maintenance.retry_after_seconds"]
    assert "default" in lines["plugins.maintenance.flag_file"]


def test_without_the_install_the_plugin_is_unknown(tmp_path: Path):
    """The control for the tests above: it is the installation that makes ``maintenance`` exist."""
    result = subprocess.run([sys.executable, "-m", "dashboard", "check", "--config",
                             str(write_config(tmp_path))], env=clean_env(REPO_ROOT),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "no installed plugin named 'maintenance'" in result.stderr
    assert "dashboard.plugins: unknown plugin 'maintenance'" in result.stderr


def test_maintenance_mode_through_a_real_gunicorn_server(installed_example: InstalledExample,
                                                         tmp_path: Path):
    flag = tmp_path / "maintenance.flag"
    toml = f"""
        [dashboard]
        plugins = {PLUGINS}
        [plugins.maintenance]
        flag_file = "{flag}"
        retry_after_seconds = 42
        [plugins.health]
        memo_ttl_seconds = 0   # every /health computes afresh, so it follows the flag at once
    """
    env = {"PYTHONPATH": installed_example.env["PYTHONPATH"]}
    with gunicorn_server(tmp_path, toml, env=env, workers=2) as server:
        assert server.get("/api/reports").json()["success"] is True

        flag.write_text("Database upgrade until 03:00 UTC\n", encoding="utf-8")
        for attempt in range(6):  # several requests: both workers must see the flag
            response = server.get("/api/reports", headers={"X-Request-ID": f"maint-{attempt}"})
            assert response.status_code == 503
            body = response.json()
            assert body["success"] is False
            assert body["error"] == {"code": "MAINTENANCE", "retryable": True,
                                     "message": "Database upgrade until 03:00 UTC"}
            assert body["meta"]["retry_after_seconds"] == 42
            assert response.headers["Retry-After"] == "42"
            assert response.headers["X-Request-ID"] == f"maint-{attempt}"
            assert body["meta"]["request_id"] == f"maint-{attempt}"
        assert server.get("/").status_code == 503

        health = server.get("/health")
        assert health.status_code == 200
        assert health.json()["status"] == "degraded"
        assert health.json()["degraded_reason"] == "maintenance"
        assert health.json()["checks"]["maintenance"] == {"status": "warn", "active": True}
        assert server.get("/health/deep").status_code == 200
        assert server.get("/livez").status_code == 200
        assert server.get("/readyz").status_code == 200
        metrics = server.get("/metrics")
        assert metrics.status_code == 200
        assert metrics.headers["Content-Type"].startswith("text/plain"), metrics.headers

        flag.unlink()
        assert server.get("/api/reports").json()["success"] is True
        assert server.get("/health").json()["checks"]["maintenance"]["status"] == "pass"


def test_the_examples_own_tests_pass_against_the_installed_distribution(
        installed_example: InstalledExample):
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=installed_example.source, env=clean_env(installed_example.site),
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert re.search(r"\b\d+ passed\b", result.stdout), result.stdout[-2000:]
    assert "failed" not in result.stdout.splitlines()[-1]


def test_the_examples_tests_use_only_dashboard_testing():
    """A plugin author's tests need nothing of the host but its pytest plugin."""
    imported: set[str] = set()
    for path in (EXAMPLE_DIR / "tests").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
    from_host = {name for name in imported if name.split(".")[0] in ("dashboard", "plugins")}
    assert from_host == {"dashboard.testing"}
    assert not any(name.startswith("dashboard_maintenance") for name in imported)

