"""mypy, configured in ``pyproject.toml``, is clean on the whole package and strict on the public
API (the facade and the modules it names): CI's test command runs it here."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.server import REPO_ROOT


@pytest.mark.timeout(600)
def test_mypy_passes_on_the_package() -> None:
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=540)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout
