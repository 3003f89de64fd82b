"""The WSGI pipeline: the two host-owned layers around the plugins' wrappers.

``request -> LastResortCatcher -> [plugin wrappers, TOML order] -> ExceptionMapper -> app``

* :class:`~dashboard.pipeline.mapper.ExceptionMapper` (innermost) turns whatever the app raises
  into a contract response by asking ``dashboard_map_exception``, so plugin wrappers see HTTP
  responses, not exceptions.
* :class:`~dashboard.pipeline.catcher.LastResortCatcher` (outermost) makes sure nothing escapes
  as a bare 500 page, stamps ``X-Request-ID`` on every response (through the request's
  :class:`~dashboard.pipeline.exchange.Exchange`), marks the request (its host, for the
  database calls made while it runs, its id, for log lines; :mod:`dashboard.context`), runs
  what plugins asked to run at its end, and passes by the top run of wrappers that act on other
  paths only (:mod:`dashboard.pipeline.pathscope`).

Both stream: bodies are never buffered, ``close()`` is passed through (also when a server closes
a body it never iterated), and an exception raised while a body streams is answered as long as
nothing has been sent yet (after that the server aborts the connection, which is the only honest
thing left to do). They sit on every request, so they are written for cost: each layer is handed
the next one in its cheapest callable form (:mod:`dashboard.pipeline.direct`), and past the
first byte nothing of ours runs per chunk (see each layer's module).
"""
