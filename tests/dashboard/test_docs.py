"""The docs stay true: generated pages equal their generators, README is CI's front page.

The configuration reference and the hook reference are generated (gunicorn's pattern): a setting
or a hook changed in the code fails here until ``python -m dashboard.hooks.reference --write``
is run, so the docs cannot drift from what the code validates and calls.
"""

from __future__ import annotations

import re
from pathlib import Path

from dashboard.hooks.reference import configuration_page, hook_functions, hooks_page, pages

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
REGENERATE = "run: python -m dashboard.hooks.reference --write (from the repository root)"


def test_configuration_reference_is_generated_from_the_models() -> None:
    page = (DOCS / "reference/configuration.md").read_text(encoding="utf-8")
    assert page == configuration_page(), REGENERATE


def test_hook_reference_is_generated_from_the_specs() -> None:
    page = (DOCS / "reference/hooks.md").read_text(encoding="utf-8")
    assert page == hooks_page(), REGENERATE


def test_the_generated_pages_cover_every_hook_and_every_section() -> None:
    hooks = hooks_page()
    for name in hook_functions():
        assert f"## `{name}`" in hooks
    configuration = configuration_page()
    for section in ("dashboard", "server", "database", "logging", "plugins.redaction",
                    "plugins.admission", "plugins.breaker", "plugins.degradation",
                    "plugins.fallback", "plugins.health", "plugins.recovery"):
        assert f"## `[{section}]`" in configuration
    assert set(pages()) == {Path("docs/reference/configuration.md"),
                            Path("docs/reference/hooks.md")}


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci_lines = [line.strip() for line in (ROOT / ".ci/run").read_text().splitlines()
                if line.strip() and not line.strip().startswith("#")]
    assert ci_lines[-1] == "python3 -m pytest"
    assert f"`{ci_lines[-1]}`" in readme


def test_readme_first_screen_has_the_two_commands() -> None:
    first_screen = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()[:25]
    assert "pip install -e . && dashboard serve" in first_screen
    assert "bash .ci/run" in first_screen


def test_readme_is_a_front_page_whose_links_reach_the_docs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) < 150
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", readme)
    local = [target for target in targets if "://" not in target]
    assert any(target.startswith("docs/") for target in local)
    for target in local:
        assert (ROOT / target).exists(), f"README links to a missing file: {target}"


def test_the_architecture_tree_names_every_folder_and_every_plugin_has_a_page() -> None:
    """docs/architecture.md shows the tree one line per folder: a new folder must be placed."""
    tree = (DOCS / "architecture.md").read_text(encoding="utf-8")
    package = ROOT / "dashboard"
    for folder in package.iterdir():
        if (folder / "__init__.py").exists():
            assert f"\ndashboard/{folder.name}/ " in tree, f"dashboard/{folder.name}/ not in tree"
    plugins = [path.name for path in (package / "plugins").iterdir()
               if (path / "__init__.py").exists()]
    assert len(plugins) == 7
    for name in plugins:
        assert (DOCS / "plugins" / f"{name}.md").exists(), f"no page for the {name} plugin"


def test_shipped_config_holds_the_defaults(tmp_path: Path) -> None:
    import tomllib

    from dashboard.hooks.discovery import load_installed_settings as load_settings

    shipped = tomllib.loads((ROOT / "config/resilience.toml").read_text(encoding="utf-8"))
    from_file = load_settings(env={}, data=shipped)
    defaults = load_settings(env={}, data={})
    # Every default, except the database: unset by default (an app brings its own engines),
    # the shipped config names the demo's embedded SQLite.
    assert [row for row in from_file.effective() if row[0] != "database.url"] == [
        (path, value, "toml") for path, value, _ in defaults.effective()
        if path != "database.url"]
    assert ("database.url", "sqlite:///var/dashboard.db", "toml") in from_file.effective()
    assert ("database.url", None, "default") in defaults.effective()
