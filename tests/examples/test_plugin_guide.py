"""The plugin guide (``docs/plugin-guide.md``) works as written, from an empty folder on.

The files the guide shows (each code block after a ``<!-- file: PATH -->`` marker) are written
to an empty folder, pip-installed, and then the guide's claims are checked: its tests pass with
only ``dashboard.testing``, ``dashboard plugins`` lists the plugin with its hooks, and a request
through the enabled plugin carries the header.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.examples.conftest import REPO_ROOT, clean_env

GUIDE = REPO_ROOT / "docs" / "plugin-guide.md"
FILE_BLOCK = re.compile(r"<!-- file: (?P<path>\S+) -->\n```\w*\n(?P<body>.*?)\n```", re.DOTALL)


def guide_files() -> dict[str, str]:
    return {match["path"]: match["body"] + "\n"
            for match in FILE_BLOCK.finditer(GUIDE.read_text(encoding="utf-8"))}


def test_the_guide_shows_a_whole_distribution():
    assert set(guide_files()) == {"pyproject.toml", "src/dashboard_powered_by/__init__.py",
                                  "tests/test_powered_by.py"}


def test_the_guides_plugin_installs_passes_its_tests_and_is_listed(tmp_path: Path):
    project, site = tmp_path / "dashboard-powered-by", tmp_path / "site"
    for relative, text in guide_files().items():
        (project / relative).parent.mkdir(parents=True, exist_ok=True)
        (project / relative).write_text(text, encoding="utf-8")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet",
         "--disable-pip-version-check", "--target", str(site), str(project)],
        capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stdout + install.stderr
    env = clean_env(site)

    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            "tests"], cwd=project, env=env, capture_output=True, text=True,
                           timeout=300)
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
    assert re.search(r"\b2 passed\b", tests.stdout), tests.stdout[-2000:]

    config = tmp_path / "resilience.toml"
    config.write_text(f'[dashboard]\nplugins = ["redaction", "powered_by", "health"]\n'
                      f'runtime_dir = "{tmp_path / "run"}"\n'
                      f'[database]\nurl = "sqlite:///{tmp_path / "d.db"}"\n'
                      '[plugins.powered_by]\nvalue = "acme"\n', encoding="utf-8")
    listed = subprocess.run([sys.executable, "-m", "dashboard", "plugins", "--config",
                             str(config)], env=env, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    block = listed.stdout.split("powered_by", 1)[1].split("health", 1)[0]
    assert block.split()[0] == "0.1.0", listed.stdout
    assert set(re.findall(r"dashboard_\w+", block)) == {"dashboard_settings_model",
                                                        "dashboard_wrap_wsgi"}


def test_the_guides_hook_table_lists_exactly_the_hookspecs():
    """Section 3's table names every hook once, marking exactly the firstresult ones."""
    from tests.dashboard.hooks.test_specs import HOOKS, is_firstresult

    text = GUIDE.read_text(encoding="utf-8")
    table = text[text.index("## 3. The hooks you can implement"):text.index("## 4.")]
    named: list[str] = []
    for row in re.findall(r"^\| `dashboard_.*$", table, re.M):
        hooks = re.findall(r"`(dashboard_\w+)\(", row.split("|")[1])
        named += hooks
        for name in hooks:
            assert ("firstresult" in row) == is_firstresult(HOOKS[name]), row
    assert sorted(named) == sorted(HOOKS)
