"""The maintenance switch: a file operators create and remove, read afresh on every request.

A file works across every worker of every host sharing the directory, needs no restart and no
admin API, and survives a reload. Reading it costs one ``stat`` per request while it is absent.
"""

from __future__ import annotations

from pathlib import Path

MAX_MESSAGE_CHARS = 500


class MaintenanceFlag:
    """Answers "is maintenance on?" and "what should clients be told?"."""

    def __init__(self, path: Path, default_message: str) -> None:
        self.path = path
        self.default_message = default_message

    def active(self) -> bool:
        return self.path.exists()

    def message(self) -> str:
        """The file's text when it has some (operators say why and until when), else the default.

        Unreadable or binary content falls back to the default: the answer must not fail.
        """
        try:
            text = self.path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return self.default_message
        return " ".join(text.split())[:MAX_MESSAGE_CHARS] or self.default_message
