"""The example distribution, really pip-installed for the tests of this folder.

``pip install --target`` builds the distribution from a copy of its source (so the work tree gets
no ``build/`` or ``*.egg-info``) into a directory of this test session, and the subprocesses
(``dashboard plugins``, ``dashboard check``, ``dashboard serve``, the example's own pytest) get it
on ``PYTHONPATH``: they discover the plugin through its ``dashboard.plugins`` entry point exactly
as from site-packages. The running interpreter's environment is left untouched, so tests of other
folders running at the same time never see a half-installed plugin and never list
``maintenance`` among the installed plugins.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_DIR = REPO_ROOT / "examples" / "dashboard-maintenance"


@dataclass(frozen=True)
class InstalledExample:
    """Where the example's source copy and its installation are, and an env that sees them."""

    source: Path
    site: Path
    env: dict[str, str]

    def dashboard(self, *args: str, env: dict[str, str] | None = None,
                  cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """Run the ``dashboard`` command line with the example installed."""
        return subprocess.run([sys.executable, "-m", "dashboard", *args], env=env or self.env,
                              cwd=cwd, capture_output=True, text=True, timeout=120)


def clean_env(*python_path: Path) -> dict[str, str]:
    """The process environment without dashboard overrides, with ``python_path`` first."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DASHBOARD", "DB_", "DATABASE_URL", "PYTEST_",
                                  "PROMETHEUS_MULTIPROC_DIR"))}
    env["PYTHONPATH"] = os.pathsep.join(str(path) for path in python_path)
    return env


@pytest.fixture(scope="session")
def installed_example(tmp_path_factory: pytest.TempPathFactory) -> InstalledExample:
    root = tmp_path_factory.mktemp("dashboard-maintenance")
    source, site = root / "source", root / "site"
    shutil.copytree(EXAMPLE_DIR, source, ignore=shutil.ignore_patterns(
        "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache"))
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet",
         "--disable-pip-version-check", "--target", str(site), str(source)],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return InstalledExample(source, site, clean_env(site, REPO_ROOT))
