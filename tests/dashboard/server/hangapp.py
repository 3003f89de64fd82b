"""An app factory whose loading never ends while the file named by $HANG_FLAG exists: a new
worker generation that never becomes ready (tests of dashboard.server.handover)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any


def create_app() -> Any:
    flag = os.environ.get("HANG_FLAG", "")
    while flag and Path(flag).exists():
        time.sleep(0.2)

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    return app
