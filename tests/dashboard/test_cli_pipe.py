"""``dashboard check | head -1``: a reader that leaves early ends the command quietly."""

from __future__ import annotations

import subprocess
import sys


def test_a_closed_pipe_is_no_traceback() -> None:
    # `true` exits before the interpreter has started: every write meets a closed pipe.
    result = subprocess.run(f"{sys.executable} -m dashboard check | true; "
                            "echo ${PIPESTATUS[0]}", shell=True, executable="/bin/bash",
                            capture_output=True, text=True, timeout=120, cwd="/tmp")
    assert result.stderr == ""
    assert result.stdout.strip() == "141"  # 128 + SIGPIPE, as a shell reports such a writer


def test_head_reads_the_first_line() -> None:
    result = subprocess.run(f"{sys.executable} -m dashboard check | head -1", shell=True,
                            executable="/bin/bash", capture_output=True, text=True,
                            timeout=120, cwd="/tmp")
    assert result.stderr == "" and result.stdout.startswith("config:")
