"""The configuration reference, generated from the settings models (as gunicorn does).

``python -m dashboard.config.reference`` prints the Markdown that the README embeds between the
``<!-- reference:start -->`` and ``<!-- reference:end -->`` markers (``--write README.md``
refreshes it); a test keeps them equal, so the docs cannot drift from what the code validates.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from dashboard.config.sections import CORE_SECTIONS
from dashboard.config.sources import ENV_ALIASES

START_MARKER = "<!-- reference:start -->"
END_MARKER = "<!-- reference:end -->"


def _default(field: Any) -> str:
    value = field.default_factory() if field.default_factory is not None else field.default
    return f"`{json.dumps(value, default=str)}`"


def _env_names(section: str, key: str) -> str:
    dotted = (*tuple(section.split(".")), key)
    aliases = [name for name, keys in ENV_ALIASES.items() if keys == dotted]
    generic = "DASHBOARD__" + "__".join(part.upper() for part in dotted)
    return ", ".join(f"`{name}`" for name in [*aliases, generic])


def section_table(section: str, model: type[BaseModel]) -> str:
    summary = (model.__doc__ or "").strip().splitlines()[0]
    summary = summary.split(": ", 1)[1] if summary.startswith("``[") else summary
    lines = [f"### `[{section}]`", "", summary[:1].upper() + summary[1:], "",
             "| key | default | env | meaning |", "|---|---|---|---|"]
    for key, field in model.model_fields.items():
        description = (field.description or "").replace("|", "\\|")
        lines.append(f"| `{key}` | {_default(field)} | {_env_names(section, key)} | "
                     f"{description} |")
    return "\n".join(lines)


def render() -> str:
    """The whole reference: the host's sections, then each built-in plugin's, in pipeline order."""
    from dashboard.config.sections import BUILTIN_PLUGINS
    from dashboard.hooks.discovery import load_plugin, settings_model_of

    tables = [section_table(name, model) for name, model in CORE_SECTIONS.items()]
    for name in BUILTIN_PLUGINS:
        answer = settings_model_of(load_plugin(name))
        if answer is not None:
            tables.append(section_table(f"plugins.{answer[0]}", answer[1]))
    return "\n\n".join(tables)


def embed(readme_text: str) -> str:
    """``readme_text`` with the generated reference between the markers."""
    head, _, rest = readme_text.partition(START_MARKER)
    _, _, tail = rest.partition(END_MARKER)
    return f"{head}{START_MARKER}\n{render()}\n{END_MARKER}{tail}"


if __name__ == "__main__":
    import sys
    from pathlib import Path

    if sys.argv[1:2] == ["--write"]:
        target = Path(sys.argv[2] if len(sys.argv) > 2 else "README.md")
        target.write_text(embed(target.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        print(render())
