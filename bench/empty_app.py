"""The bare endpoint: a WSGI app that answers ``{}``, served by gunicorn as the service is.

Its rate under the benchmark's load generator (``empty_endpoint_per_s``) is the ceiling of
the HTTP stack alone on this machine: gunicorn's sync workers, the loopback network and the
clients, with no Flask, no database and no work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

_BODY = b"{}"
_HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(_BODY)))]


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", _HEADERS)
    return [_BODY]
