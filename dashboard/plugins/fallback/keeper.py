"""Where a passed answer is kept and where a degraded request finds it: the store's keys.

:meth:`Keeper.keep` runs in the writer thread (whether the answer may be kept, then its key and
its file); :meth:`Keeper.lookup` in a request thread whose answer is already degraded. Both build
their keys from the app's identity and the request (see :mod:`~dashboard.plugins.fallback.keys`),
so an answer of another app, or of this app's code before it changed, is never found.
"""

from __future__ import annotations

from collections.abc import Sequence

from dashboard.plugins.fallback.entries import KeptAnswer
from dashboard.plugins.fallback.keeping import decide
from dashboard.plugins.fallback.keys import RequestKey, base_key, variant_key
from dashboard.plugins.fallback.store import AnswerStore


class Keeper:
    """The store of one host, keyed for the app with this ``identity``."""

    def __init__(self, store: AnswerStore, identity: str) -> None:
        self.store = store
        self.identity = identity

    def keep(self, request: RequestKey, stored_at: float, headers: list[tuple[str, str]],
             chunks: Sequence[bytes]) -> bool:
        """Keep a passed ``200`` if it may be kept; ``False`` when it is not."""
        body = b"".join(chunks)
        how = decide(headers, body)
        if how is None:
            return False
        key = base_key(self.identity, request)
        if how.vary:
            pointer = self.store.get(key)
            if pointer is None or pointer.vary != how.vary:
                self.store.put(KeptAnswer(key, stored_at, b"", vary=how.vary))
            key = variant_key(key, how.vary, request)
        return self.store.put(KeptAnswer(key, stored_at, body, how.enveloped, how.headers))

    def lookup(self, request: RequestKey) -> KeptAnswer | None:
        """The answer kept for this request (for its variant, if the answer varies)."""
        key = base_key(self.identity, request)
        kept = self.store.get(key)
        if kept is not None and kept.vary is not None:
            kept = self.store.get(variant_key(key, kept.vary, request))
            if kept is not None and kept.vary is not None:
                return None
        return kept

    def key_of(self, path: str, query: str = "") -> str:
        """The store key of a plain ``GET path?query`` (tests and tools)."""
        return base_key(self.identity, (path, query, None, None, None))
