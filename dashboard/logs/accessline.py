"""gunicorn's access line: the same text, for the atoms its format prints only.

An access line is written for every request, and under gunicorn it is the largest cost of a
request after gunicorn's own. gunicorn's ``Logger.access`` makes an atom of every request
header (``{name}i``), response header (``{name}o``) and environ entry (``{name}e``) whatever the
format prints, wraps them in ``SafeAtoms`` (which escapes each in a Python loop), and the
message is then rendered through that wrapper, a Python ``__getitem__`` per atom read, after
``logging`` has looked up its caller's frame. gunicorn's default format prints nine atoms.

:class:`AccessLine` is made once from ``access_log_format``: it asks the format itself which
atoms it reads (``%`` over a recording mapping). Per line it hands gunicorn's own ``atoms()``
(still the one definition of every atom) only the headers and environ entries those atoms need,
escapes just those atoms as ``SafeAtoms`` would, and renders the message from a plain ``dict``.
A format that cannot be read so (one that mixes a mapping and positional conversions, say) is
rendered the old way, through gunicorn's ``SafeAtoms`` over every atom.
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import SafeAtoms


def atom_key(name: str) -> str:
    """The key an atom read as ``name`` is kept under (header and environ atoms: lower case)."""
    return name.lower() if name.startswith("{") else name


class _EnvironByName(dict[str, Any]):
    """The environ entries ``atoms()`` reads by name, and none for its ``{NAME}e`` loop."""

    def items(self) -> Any:
        return ()


class _Answered:
    """A response as ``atoms()`` reads it, without the headers its ``{NAME}o`` loop would turn
    into atoms."""

    __slots__ = ("sent", "status")
    headers = ()
    status: Any
    sent: Any


class _Recording(dict[str, Any]):
    def __getitem__(self, key: str) -> Any:
        self[key] = None  # dict's own store, in the order the format reads them
        return 0


class AccessLine:
    """What one ``access_log_format`` reads, worked out once (see the module docstring)."""

    def __init__(self, line_format: str) -> None:
        self.format = line_format
        recording = _Recording()
        try:
            line_format % recording  # rendered for the keys it reads
        except Exception:
            self.atoms: tuple[tuple[str, str], ...] | None = None
            kinds = {"}e", "}i", "}o"}  # not known: atoms() gets everything, as gunicorn's
        else:
            self.atoms = tuple((name, atom_key(name)) for name in dict.keys(recording))
            kinds = {key[-2:] for _, key in self.atoms if key.startswith("{")}
        self.prints_environ = "}e" in kinds
        self.prints_request_headers = "}i" in kinds
        self.prints_response_headers = "}o" in kinds

    def inputs(self, resp: Any, req: Any, environ: dict[str, Any]) -> tuple[Any, Any, Any]:
        """``(resp, req, environ)`` as ``atoms()`` should be given them for this format."""
        if not self.prints_environ:
            environ = _EnvironByName(environ)  # a C-level copy: cheaper than picking entries
        if not self.prints_request_headers:
            req = ()
        if not self.prints_response_headers:
            answered = _Answered()
            answered.status = resp.status
            answered.sent = getattr(resp, "sent", None)
            resp = answered
        return resp, req, environ

    def values(self, atoms: dict[str, Any]) -> dict[str, Any]:
        """The mapping the format is rendered with: the atoms it reads as ``SafeAtoms`` gives
        them (missing: ``-``; a string's double quotes escaped), or, when :attr:`atoms` is not
        known, ``SafeAtoms`` itself."""
        if self.atoms is None:
            return SafeAtoms(atoms)  # type: ignore[no-any-return]  # gunicorn is untyped
        values = {}
        for name, key in self.atoms:
            value = atoms.get(key, "-")
            values[name] = value.replace('"', '\\"') if isinstance(value, str) else value
        return values
