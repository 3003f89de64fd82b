"""Call hook implementations one plugin at a time, in TOML order, each failure kept apart.

pluggy stops a collecting call at the first implementation that raises, and a ``firstresult``
call the same way. Where one plugin's bug must not hide the others' answers (health must never
answer 500; admin status must still list the workers; a gunicorn server hook must never raise
into the arbiter; a database event must never raise into the driver), the host calls each
plugin's implementation separately, through a pluggy caller holding that plugin alone, so calls
still pass pluggy's hook-call monitoring (``DASHBOARD_TRACE_HOOKS``) exactly once.

* :func:`ask_each` gathers every plugin's answer or error; :func:`first_answer` is a
  ``firstresult`` call that skips a plugin that raised;
* :func:`notify_each` is for observers: a failure is logged with the plugin's name;
* :func:`gate` is for hooks whose purpose is to refuse (``dashboard_db_checkout``): the first
  plugin that raises stops the call, as the caller wants;
* :func:`call_plugin` calls one named plugin and lets its exception through.
"""

from __future__ import annotations

import logging
import operator
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dashboard.types import Host

hook_logger = logging.getLogger("dashboard.hooks")

#: ``(plugin name, caller holding that plugin alone)`` per hook, in TOML order. A caller takes
#: the hook's keyword arguments as the one dict the fan-out built (not re-packed per plugin).
PluginCallers = list[tuple[str, Callable[[dict[str, Any]], Any]]]


@dataclass(frozen=True)
class PluginAnswer:
    """One plugin's answer to one hook: ``result`` or the ``error`` it raised."""

    plugin: str
    result: Any = None
    error: BaseException | None = None


def ask_each(host: Host, hook_name: str, /, **kwargs: Any) -> list[PluginAnswer]:
    """Call every implementation of ``hook_name`` separately, in TOML order."""
    answers = []
    for plugin, caller in callers_of(host, hook_name):
        try:
            answers.append(PluginAnswer(plugin, result=caller(kwargs)))
        except Exception as error:
            answers.append(PluginAnswer(plugin, error=error))
    return answers


def first_answer(host: Host, hook_name: str, /, **kwargs: Any) -> Any:
    """The first non-``None`` result in TOML order (a ``firstresult`` hook, minus exceptions).

    A plugin that raises is logged and skipped: the next plugin may still answer.
    """
    for plugin, caller in callers_of(host, hook_name):
        try:
            result = caller(kwargs)
        except Exception:
            hook_logger.exception("plugin %r failed in %s", plugin, hook_name)
            continue
        if result is not None:
            return result
    return None


def notify_each(host: Host, hook_name: str, /, **kwargs: Any) -> None:
    """Tell every plugin; a failure is logged with the plugin's name, never raised."""
    for plugin, caller in callers_of(host, hook_name):
        try:
            caller(kwargs)
        except Exception:
            hook_logger.exception("plugin %r failed in %s", plugin, hook_name)


def gate(host: Host, hook_name: str, /, **kwargs: Any) -> None:
    """Ask every plugin in TOML order; the first that raises refuses, and its exception travels."""
    for _plugin, caller in callers_of(host, hook_name):
        caller(kwargs)


def call_plugin(host: Host, plugin_name: str, hook_name: str, /, **kwargs: Any) -> Any:
    """The result of one plugin's implementation of ``hook_name`` (``None`` if it has none).

    Exceptions propagate: the caller decides what a failure means.
    """
    for plugin, caller in callers_of(host, hook_name):
        if plugin == plugin_name:
            return caller(kwargs)
    return None


_CALLERS_ATTRIBUTE = "_dashboard_callers"
_callers_lock = threading.Lock()


def callers_of(host: Host, hook_name: str) -> PluginCallers:
    """One caller per plugin implementing ``hook_name``, in TOML order (cached on the host's
    plugin manager, which it lives and dies with: the plugin set is frozen once the host is
    built, and a request's refusal reads the cache with one attribute lookup)."""
    pm = host.pm
    by_hook = getattr(pm, _CALLERS_ATTRIBUTE, None)
    if by_hook is not None:
        found = by_hook.get(hook_name)
        if found is not None:
            return found  # type: ignore[no-any-return]
    with _callers_lock:
        by_hook = pm.__dict__.setdefault(_CALLERS_ATTRIBUTE, {})
        if hook_name not in by_hook:
            by_hook[hook_name] = _build_callers(host, hook_name)
        return by_hook[hook_name]  # type: ignore[no-any-return]


def _build_callers(host: Host, hook_name: str) -> PluginCallers:
    pm = host.pm
    hook = getattr(pm.hook, hook_name)
    firstresult = bool(hook.spec is not None and hook.spec.opts.get("firstresult"))
    by_plugin = {impl.plugin_name: impl for impl in hook.get_hookimpls()}
    callers: PluginCallers = []
    for name in host.plugin_names:
        impl = by_plugin.get(name)
        if impl is None:
            continue
        wraps = getattr(impl, "hookwrapper", False) or getattr(impl, "wrapper", False)
        make = _traced_caller if host.tracing or wraps else _direct_caller
        callers.append((name, make(pm, hook_name, impl, firstresult)))
    return callers


def _direct_caller(pm: Any, hook_name: str, impl: Any, firstresult: bool) -> Callable[..., Any]:
    """Call one implementation as pluggy would (only the arguments it names), without pluggy's
    per-call machinery: these calls sit on every request and every statement."""
    function = impl.function
    names = tuple(impl.argnames)
    if len(names) == 1:
        (name,) = names

        def call_one(kwargs: dict[str, Any]) -> Any:
            return function(kwargs[name])

        return call_one
    pick = operator.itemgetter(*names) if names else (lambda kwargs: ())

    def call(kwargs: dict[str, Any]) -> Any:
        return function(*pick(kwargs))

    return call


def _traced_caller(pm: Any, hook_name: str, impl: Any, firstresult: bool) -> Callable[..., Any]:
    """Call one implementation through the plugin manager's hook executor, so tracing
    (``add_hookcall_monitoring``, what ``DASHBOARD_TRACE_HOOKS`` turns on) sees it once.

    ``pm._hookexec`` is the one entry every pluggy hook call goes through and the one that
    monitoring wraps; ``subset_hook_caller`` would do the same but needs hashable plugin
    objects, which plugins defined as namespaces are not.
    """
    methods = [impl]

    def call(kwargs: dict[str, Any]) -> Any:
        result = pm._hookexec(hook_name, methods, kwargs, firstresult)
        if firstresult:
            return result
        return result[0] if result else None

    return call
