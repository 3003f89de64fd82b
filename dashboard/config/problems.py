"""Configuration problems: one line each, naming the key path and where the value came from::

    database.pool_size: must be >= 1 (got 0, from env DB_POOL_SIZE)

A value is shown only where it helps and cannot leak: never for an unknown key (it is often a
password under a misspelt name), never for a whole table, and URLs and secret-named keys masked.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from dashboard.config.secrets import mask_secret_value


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with the configuration, rendered as a single line for the operator."""

    path: str
    message: str
    source: str | None = None
    value: Any = None
    has_value: bool = False

    def __str__(self) -> str:
        detail = []
        if self.has_value and _showable(self.value):
            detail.append(f"got {mask_secret_value(self.path, self.value)!r}")
        if self.source:
            detail.append(f"from {self.source}")
        return f"{self.path}: {self.message}" + (f" ({', '.join(detail)})" if detail else "")


def _showable(value: Any) -> bool:
    """Scalars and lists of scalars: a table may hold anything, and its key path says enough."""
    if isinstance(value, list | tuple):
        return all(_showable(item) and not isinstance(item, list | tuple) for item in value)
    return isinstance(value, str | int | float | bool) or value is None


class ConfigError(Exception):
    """The configuration is invalid; ``problems`` has one entry per problem."""

    def __init__(self, problems: list[ConfigProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def print_problems(error: ConfigError) -> None:
    """One line per problem on stderr, naming the key path and the value's source."""
    for problem in error.problems:
        print(problem, file=sys.stderr)


def validation_problems(error: ValidationError, prefix: str,
                        sources: Mapping[str, str]) -> list[ConfigProblem]:
    """pydantic's errors for the table at ``prefix`` as problem lines."""
    problems = []
    for item in error.errors():
        location = [str(part) for part in item["loc"]]
        path = ".".join([prefix, *location])
        leaf = ".".join([prefix, *location[:1]])
        shows_value = item["type"] not in _VALUE_HIDDEN and bool(location)
        problems.append(ConfigProblem(
            path, humane(item), sources.get(path) or sources.get(leaf) or "default",
            item.get("input"), has_value=shows_value))
    return problems


#: Errors whose input is never echoed: a missing value has none; an unknown key's value may be a
#: secret typed under a wrong name.
_VALUE_HIDDEN = frozenset({"missing", "extra_forbidden"})

_MESSAGES = {
    "greater_than_equal": "must be >= {ge}",
    "greater_than": "must be > {gt}",
    "less_than_equal": "must be <= {le}",
    "less_than": "must be < {lt}",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "finite_number": "must be a finite number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "extra_forbidden": "unknown key",
    "missing": "is required",
    "literal_error": "must be one of {expected}",
    "string_too_short": "must not be empty",
    "string_too_long": "must be at most {max_length} characters",
}


def humane(item: Mapping[str, Any]) -> str:
    """One pydantic error as a short phrase an operator understands."""
    template = _MESSAGES.get(item["type"])
    if template is None:
        return str(item["msg"]).removeprefix("Value error, ")
    return template.format(**(item.get("ctx") or {}))
