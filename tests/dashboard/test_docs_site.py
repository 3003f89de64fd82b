"""The docs site builds clean, and nothing cites a document outside the repository.

``mkdocs build --strict`` fails on any warning: a broken link or anchor, a page missing from the
nav, a nav entry with no page (``mkdocs.yml`` turns each of those checks into a warning). The
project's own docs are the reference for its contract: code, tests and docs cite ``docs/`` pages,
never a file that ships elsewhere.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Citations of documents outside the repository (spelled in pieces so this file does not match).
OUTSIDE = re.compile("CONTRACT" + r"\.md|" + "CONTRACT" + r" ?§|" + "DESIGN" + r"\.md|"
                     + "DESIGN" + r"-\d")
CHECKED_SUFFIXES = {".py", ".md", ".yml", ".yaml", ".toml", ".js", ".html", ".cfg", ".txt"}


def test_the_docs_build_with_mkdocs_strict(tmp_path: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
         str(ROOT / "mkdocs.yml"), "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    output = build.stdout + build.stderr
    assert build.returncode == 0, output[-4000:]
    assert "WARNING" not in output, output[-4000:]
    assert (tmp_path / "site" / "api" / "responses" / "index.html").exists()
    assert (tmp_path / "site" / "reference" / "configuration" / "index.html").exists()


def test_every_docs_page_is_in_the_nav() -> None:
    """Belt and braces for ``validation.nav.omitted_files``: a page must be reachable."""
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    pages = sorted(str(path.relative_to(ROOT / "docs")) for path in (ROOT / "docs").rglob("*.md"))
    assert pages
    missing = [page for page in pages if f" {page}\n" not in nav and f"- {page}\n" not in nav]
    assert missing == []


def repository_files() -> list[Path]:
    """Tracked and new (not ignored) files: what a commit would hold (no venv, no node_modules)."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                            cwd=ROOT, capture_output=True, text=True, check=True, timeout=60)
    return [ROOT / name for name in listed.stdout.split("\0")
            if name and Path(name).suffix in CHECKED_SUFFIXES and (ROOT / name).is_file()]


def test_nothing_cites_a_document_outside_the_repository() -> None:
    files = repository_files()
    assert any(path.name == "README.md" for path in files)
    citing = []
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace")
                                      .splitlines(), 1):
            if OUTSIDE.search(line):
                citing.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    assert citing == [], "cite the docs/ page instead:\n" + "\n".join(citing)


def test_the_citation_pattern_catches_what_it_must() -> None:
    for text in ("see " + "CONTRACT" + ".md §3", "(" + "CONTRACT" + " §11)",
                 "DESIGN" + "-16", "DESIGN" + ".md"):
        assert OUTSIDE.search(text), text
    for text in ("CONTRACT_FAMILIES", "docs/api/responses.md", "the contract's envelope"):
        assert not OUTSIDE.search(text), text
