"""The README stays true: its reference is the generated one, its test command is CI's."""

from __future__ import annotations

from pathlib import Path

from dashboard.config.reference import embed

ROOT = Path(__file__).resolve().parents[2]


def test_readme_configuration_reference_is_generated_from_the_models() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert embed(readme) == readme, "run: python -m dashboard.config.reference --write README.md"


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


def test_shipped_config_holds_the_defaults(tmp_path: Path) -> None:
    import tomllib

    from dashboard.hooks.discovery import load_installed_settings as load_settings

    shipped = tomllib.loads((ROOT / "config/resilience.toml").read_text(encoding="utf-8"))
    from_file = load_settings(env={}, data=shipped)
    defaults = load_settings(env={}, data={})
    assert from_file.effective() == [
        (path, value, "toml") for path, value, _ in defaults.effective()]
