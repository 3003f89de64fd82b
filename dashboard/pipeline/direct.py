"""The cheapest way to call the next layer: one calling convention every layer is handed.

A layer calls the next once per request, so the form that call takes is paid on every request;
it lives here, apart from any one layer, because the host (building the stack) and the embedded
server (loading the app) hand it on too.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any, TypeVar

#: Any layer-like callable: a WSGI app, or a meter called once per request.
C = TypeVar("C", bound=Callable[..., Any])


def direct_call(app: C) -> C:
    """``app.__call__`` when ``app`` is an instance of a class with a Python ``__call__``; else
    ``app`` itself.

    Each layer calls the next once per request. CPython calls an instance through its type's
    ``__call__`` slot, a C detour that costs about as much again as the layer's own pass-through
    code; its bound ``__call__`` is called like a plain Python function. So the host hands every
    layer (and the mapper the app) the next one in this form. It is the same callable: a layer
    sees no difference, and a plain function or bound method comes back as it is.
    """
    if type(type(app).__call__) is types.FunctionType:
        # mypy cannot read ``__call__`` of a callable type (it is the same signature as app's)
        return app.__call__  # type: ignore[operator, no-any-return]
    return app
