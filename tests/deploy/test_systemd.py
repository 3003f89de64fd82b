"""deploy/systemd/dashboard.service: a notify service with a watchdog, a graceful reload, a stop
timeout above graceful_timeout, and hardening; ``systemd-analyze verify`` accepts it."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "systemd" / "dashboard.service"
HARDENING = ("NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices",
             "ProtectKernelTunables", "ProtectKernelModules", "ProtectControlGroups",
             "RestrictNamespaces", "RestrictSUIDSGID", "RestrictAddressFamilies",
             "SystemCallFilter", "CapabilityBoundingSet", "LockPersonality")


def service() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(UNIT, encoding="utf-8")
    return parser["Service"]


def test_notify_watchdog_reload_and_stop() -> None:
    unit = service()
    assert unit["Type"] == "notify"
    assert unit["NotifyAccess"] == "main"
    assert int(unit["WatchdogSec"]) >= 10
    assert unit["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert " serve" in unit["ExecStart"]
    graceful = tomllib.loads((ROOT / "config" / "resilience.toml").read_text())["server"][
        "graceful_timeout"]
    assert int(unit["TimeoutStopSec"]) > graceful
    for key in HARDENING:
        assert key in unit, key


def test_systemd_analyze_verifies_the_unit(tmp_path: Path) -> None:
    text = UNIT.read_text(encoding="utf-8").replace("/opt/dashboard/venv/bin/dashboard",
                                                    shutil.which("true") or "/bin/true")
    copy = tmp_path / "dashboard.service"
    copy.write_text(text, encoding="utf-8")
    result = subprocess.run(["systemd-analyze", "verify", str(copy)], capture_output=True,
                            text=True, timeout=60)
    output = [line for line in (result.stdout + result.stderr).splitlines()
              if "dashboard.service" in line]
    assert result.returncode == 0 and not output, result.stdout + result.stderr
