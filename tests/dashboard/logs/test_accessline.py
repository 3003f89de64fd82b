"""The access line's atoms: the same text as gunicorn's own, for less work per line."""

from __future__ import annotations

from datetime import timedelta

from gunicorn.config import Config
from gunicorn.glogging import Logger, SafeAtoms

from dashboard.logs.accessline import AccessLine

ATOMS = {
    "h": "127.0.0.1", "l": "-", "u": "-", "t": "[02/Dec/2026:10:00:00 +0000]",
    "r": 'GET /reports/"quoted"?a=1 HTTP/1.1', "s": "200", "b": "37", "B": 37,
    "f": "-", "a": 'agent "with" quotes', "T": 0, "D": 312, "M": 0, "L": "0.000312",
    "p": "<4242>", "{user-agent}i": 'agent "with" quotes', "{content-type}o": "application/json",
    "{request_method}e": "GET",
}
FORMATS = [
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"',  # gunicorn's default
    '%(h)s "%(r)s" %(s)s %(B)s %(D)s %(L)s %(p)s',
    '%({User-Agent}i)s %({Content-Type}o)s %({REQUEST_METHOD}e)s %({X-Missing}i)s %(nope)s',
    '%(D)06d %(h)s %(h)s %({x-request-id}o)s',
]


class Response:
    status = "200 OK"
    headers = (("Content-Type", "application/json"), ("Content-Length", "37"),
               ("X-Request-ID", 'id-"1"'))
    sent = 37


class Request:
    headers = (("HOST", "127.0.0.1"), ("USER-AGENT", 'probe "x"'))


ENVIRON = {
    "REQUEST_METHOD": "GET", "RAW_URI": '/ping?a="1"', "PATH_INFO": "/ping", "QUERY_STRING": "a=1",
    "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "10.0.0.7", "HTTP_USER_AGENT": 'probe "x"',
    "HTTP_REFERER": "http://example/", "HTTP_AUTHORIZATION": "Basic dXNlcjpwdw==",
    "HTTP_HOST": "127.0.0.1", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000",
    "wsgi.url_scheme": "http", "dashboard.request_id": "abc-1",
}
TOOK = timedelta(seconds=1, microseconds=312)


def gunicorn_logger(line_format: str | None = None) -> Logger:
    config = Config()
    config.set("accesslog", "-")
    if line_format is not None:
        config.set("access_log_format", line_format)
    return Logger(config)


def test_each_format_renders_the_text_gunicorns_atoms_give() -> None:
    quoted = {**ATOMS, "missing-i": None}
    for line_format in [*FORMATS, Config().access_log_format]:
        line = AccessLine(line_format)
        assert line_format % line.values(quoted) == line_format % SafeAtoms(quoted)
        logger = gunicorn_logger(line_format)
        assert line.atoms is not None
        every = logger.atoms(Response(), Request(), ENVIRON, TOOK)
        given = logger.atoms(*line.inputs(Response(), Request(), ENVIRON), TOOK)
        given["t"] = every["t"]  # the time of each call
        assert line_format % line.values(given) == line_format % SafeAtoms(every), line_format


def test_atoms_are_made_only_for_the_headers_and_entries_the_format_prints() -> None:
    logger = gunicorn_logger()
    plain = AccessLine('%(h)s "%(r)s" %(s)s %(b)s')
    atoms = logger.atoms(*plain.inputs(Response(), Request(), ENVIRON), TOOK)
    assert not [key for key in atoms if key.startswith("{")]
    printing = AccessLine("%({user-agent}i)s %({content-type}o)s %({raw_uri}e)s")
    atoms = logger.atoms(*printing.inputs(Response(), Request(), ENVIRON), TOOK)
    assert {"{user-agent}i", "{content-type}o", "{wsgi.url_scheme}e"} <= set(atoms)


def test_a_format_it_cannot_read_ahead_is_rendered_through_the_wrapper() -> None:
    line = AccessLine("%(h)s %s")  # mixes a mapping and a positional: no mapping renders it
    assert line.atoms is None
    assert isinstance(line.values(dict(ATOMS)), SafeAtoms)
    resp, req, environ = line.inputs(Response(), Request(), ENVIRON)  # everything, as gunicorn's
    assert type(resp) is Response and type(req) is Request and environ is ENVIRON
