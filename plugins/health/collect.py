"""Ask every enabled plugin, one at a time, so one plugin's exception cannot hide the others.

pluggy stops a collecting call at the first implementation that raises. Health must never answer
500 and must still report every other plugin's checks, so it calls each implementation itself, in
TOML order (the order ``[dashboard].plugins`` lists them), and hands back either the result or the
exception for each.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dashboard.host import Host


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


def _answers(host: Host, hook_name: str, kwargs: dict[str, Any]) -> Iterator[Answer]:
    caller = getattr(host.hook, hook_name)
    order = {name: index for index, name in enumerate(host.plugin_names)}
    implementations = sorted(caller.get_hookimpls(),
                             key=lambda impl: order.get(impl.plugin_name, len(order)))
    for impl in implementations:
        try:
            result = impl.function(*[kwargs[name] for name in impl.argnames])
        except Exception as error:
            yield Answer(impl.plugin_name, error=error)
        else:
            yield Answer(impl.plugin_name, result=result)
