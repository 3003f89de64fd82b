"""Call hook implementations one plugin at a time, in TOML order, each failure kept apart.

pluggy stops a collecting call at the first implementation that raises, and a ``firstresult``
call the same way. Where one plugin's bug must not hide the others' answers (health must never
answer 500; admin status must still list the workers), and where the host nests one plugin's
wrapper at a time, implementations are called here directly. When ``DASHBOARD_TRACE_HOOKS`` is on
these calls are traced like pluggy's own.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dashboard.host import Host

hook_logger = logging.getLogger("dashboard.hooks")


@dataclass(frozen=True)
class Answer:
    """One plugin's answer to one hook: ``result`` or the ``error`` it raised."""

    plugin: str
    result: Any = None
    error: BaseException | None = None


def ask_each(host: Host, hook_name: str, /, **kwargs: Any) -> list[Answer]:
    """Call every implementation of ``hook_name`` separately, in TOML order."""
    return list(_answers(host, hook_name, kwargs))


def first_answer(host: Host, hook_name: str, /, **kwargs: Any) -> Any:
    """The first non-``None`` result in TOML order (a ``firstresult`` hook, minus exceptions)."""
    for answer in _answers(host, hook_name, kwargs):
        if answer.error is None and answer.result is not None:
            return answer.result
    return None


def call_plugin(host: Host, plugin_name: str, hook_name: str, /, **kwargs: Any) -> Any:
    """The result of one plugin's implementation of ``hook_name`` (``None`` if it has none).

    Exceptions propagate: the caller decides what a failure means.
    """
    for impl in getattr(host.hook, hook_name).get_hookimpls():
        if impl.plugin_name == plugin_name:
            return _call(host, impl, hook_name, kwargs)
    return None


def _answers(host: Host, hook_name: str, kwargs: dict[str, Any]) -> Iterator[Answer]:
    caller = getattr(host.hook, hook_name)
    order = {name: index for index, name in enumerate(host.plugin_names)}
    implementations = sorted(caller.get_hookimpls(),
                             key=lambda impl: order.get(impl.plugin_name, len(order)))
    for impl in implementations:
        try:
            result = _call(host, impl, hook_name, kwargs)
        except Exception as error:
            yield Answer(impl.plugin_name, error=error)
        else:
            yield Answer(impl.plugin_name, result=result)


def _call(host: Host, impl: Any, hook_name: str, kwargs: dict[str, Any]) -> Any:
    level = logging.INFO if host.tracing else logging.DEBUG
    hook_logger.log(level, "  %s [hook] plugin: %s", hook_name, impl.plugin_name)
    result = impl.function(*(kwargs[name] for name in impl.argnames))
    hook_logger.log(level, "  finish %s --> %s [hook]", hook_name, type(result).__name__)
    return result
