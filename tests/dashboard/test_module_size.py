"""No module of the host is over 300 lines: one idea per module, readable in one sitting.

A module that grows past the limit is split along a real seam (see how ``pipeline/``,
``hooks/specs*`` and ``plugins/recovery/store*`` were), never by raising the limit here.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE = REPO_ROOT / "dashboard"
LIMIT = 300


def oversized(root: Path, limit: int = LIMIT) -> list[str]:
    """``"path: lines"`` for every ``.py`` file under ``root`` longer than ``limit`` lines."""
    found = []
    for path in sorted(root.rglob("*.py")):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > limit:
            found.append(f"{path.relative_to(root.parent)}: {lines}")
    return found


def test_no_module_of_the_host_is_over_300_lines() -> None:
    assert oversized(PACKAGE) == []


def test_the_check_sees_a_long_module_in_a_nested_folder(tmp_path: Path) -> None:
    package = tmp_path / "pkg" / "sub"
    package.mkdir(parents=True)
    (package / "short.py").write_text("x = 1\n" * LIMIT)
    (package / "long.py").write_text("x = 1\n" * (LIMIT + 1))
    assert oversized(tmp_path / "pkg") == ["pkg/sub/long.py: 301"]
