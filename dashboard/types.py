"""Names shared by the host and plugins: WSGI aliases, typed state keys and the ``Host`` protocol.

A leaf: it imports nothing of ours at run time, so hookspecs, plugins and the host itself can all
name the host's shape without importing :mod:`dashboard.host` (which would pull in everything).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, overload

if TYPE_CHECKING:
    from pydantic import BaseModel
    from sqlalchemy.engine import Engine

    from dashboard.clock import Clock
    from dashboard.config.sections import Settings

StartResponse = Callable[..., Any]
WSGIEnviron = dict[str, Any]
WSGIApp = Callable[[WSGIEnviron, StartResponse], Iterable[bytes]]

T = TypeVar("T")
M = TypeVar("M", bound="BaseModel")


class StateKey(Generic[T]):
    """Names one piece of per-host state and the type stored under it (pytest ``StashKey`` style).

    Plugins are modules shared by every host of a process (tests build many), so what belongs to
    one host is kept on the host under a key the plugin owns::

        BREAKER = StateKey[BreakerState]("breaker")
        state = host.state(BREAKER, lambda: BreakerState(...))   # -> BreakerState

    Keys compare by identity: two plugins choosing the same ``name`` still get separate slots.
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"StateKey({self.name!r})"


class Host(Protocol):
    """What plugins and app factories may use of the running host (:class:`dashboard.host.Host`)."""

    settings: Settings
    clock: Clock
    plugin_names: list[str]
    runtime_dir: Path

    @property
    def engine(self) -> Engine: ...

    @property
    def hook(self) -> Any: ...

    @property
    def pm(self) -> Any: ...

    @property
    def testing(self) -> bool: ...

    @property
    def tracing(self) -> bool: ...

    def state(self, key: StateKey[T], create: Callable[[], T]) -> T: ...

    def find_state(self, key: StateKey[T]) -> T | None: ...

    @overload
    def plugin_settings(self, section: str) -> BaseModel: ...

    @overload
    def plugin_settings(self, section: str, model: type[M]) -> M: ...

    def plugin_settings(self, section: str, model: type[Any] | None = None) -> Any: ...


class Fault(enum.Enum):
    """What went wrong, as a client or a circuit breaker needs to know it."""

    POOL_EXHAUSTED = "pool_exhausted"
    QUERY_TIMEOUT = "query_timeout"
    CONNECTION_FAILED = "connection_failed"
    AUTH_FAILED = "auth_failed"
    #: Deadlock, serialization failure or lock wait timeout: the database is up, a retry passes.
    CONFLICT = "conflict"
    QUERY_ERROR = "query_error"

    @property
    def is_availability_failure(self) -> bool:
        """Does this fault say the database is unavailable (what a circuit breaker counts)?

        A rejected password, a conflict between transactions or an app's bad SQL says nothing
        about availability.
        """
        return self in (Fault.POOL_EXHAUSTED, Fault.QUERY_TIMEOUT, Fault.CONNECTION_FAILED)


@dataclass(frozen=True)
class DbOutcome:
    """The outcome of one database call: ``fault`` is ``None`` when it succeeded."""

    fault: Fault | None
    exc: BaseException | None = None
