"""``dashboard check | head -1``: a reader that leaves early ends the command quietly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _clean_env() -> dict[str, str]:
    """The environment without the settings earlier in-process ``main([...])`` calls left."""
    return {name: value for name, value in os.environ.items()
            if not name.startswith(("DASHBOARD", "DB_", "DATABASE_URL"))}


def test_a_closed_pipe_is_no_traceback(tmp_path: Path) -> None:
    # `true` exits before the interpreter has started: every write meets a closed pipe.
    result = subprocess.run(f"{sys.executable} -m dashboard check | true; "
                            "echo ${PIPESTATUS[0]}", shell=True, executable="/bin/bash",
                            capture_output=True, text=True, timeout=120, cwd=tmp_path,
                            env=_clean_env())
    assert result.stderr == ""
    assert result.stdout.strip() == "141"  # 128 + SIGPIPE, as a shell reports such a writer


def test_head_reads_the_first_line(tmp_path: Path) -> None:
    result = subprocess.run(f"{sys.executable} -m dashboard check | head -1", shell=True,
                            executable="/bin/bash", capture_output=True, text=True,
                            timeout=120, cwd=tmp_path, env=_clean_env())
    assert result.stderr == "" and result.stdout.startswith("config:")
