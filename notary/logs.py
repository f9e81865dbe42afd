"""How every process of the notary writes its log: one JSON object per line on standard error
(python-json-logger under the standard :mod:`logging` module), or readable text with
``--dev`` (``NOTARY_LOG_FORMAT=text``).

Each line has ``time`` (UTC, ISO 8601), ``level``, ``logger`` and ``event``; lines written while
a request is answered also carry its ``request_id``, and the line that closes a request its
route template, method, status, latency and the platform, party or investigator id of its
caller when it authenticated (a key holder by its key fingerprint). What a request carried (names, ID numbers, documents, tokens,
signatures) is never logged: only ids the service made and fixed words.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from pythonjsonlogger.json import JsonFormatter

JSON, TEXT = "json", "text"

#: Fields a line may carry beyond the standard ones, in the order the text format shows them.
CONTEXT_FIELDS = (
    "request_id",
    "method",
    "route",
    "status",
    "latency_ms",
    "platform_id",
    "key_fingerprint",
    "investigator_id",
)

_request_id: Callable[[], str | None] = lambda: None  # noqa: E731 -- replaced by the web app


def read_request_id_with(reader: Callable[[], str | None]) -> None:
    """How to find the current request's id (the web app's, from its request context)."""
    global _request_id  # noqa: PLW0603 -- one reader per process, set once by the app factory
    _request_id = reader


class RequestContext(logging.Filter):
    """Gives every line written while a request is answered that request's id."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            request_id = _request_id()
            if request_id is not None:
                record.request_id = request_id
        return True


class ReadableFormatter(logging.Formatter):
    """``--dev``: the time, level, logger and event, then the context fields as ``key=value``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = " ".join(
            f"{name}={getattr(record, name)}"
            for name in CONTEXT_FIELDS
            if getattr(record, name, None) is not None
        )
        return f"{line} [{context}]" if context else line


class LineFormatter(JsonFormatter):
    """python-json-logger's formatter, with the time first and written with ``Z``."""

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        moment = log_data.pop("time", None)
        text = moment.isoformat() if hasattr(moment, "isoformat") else str(moment)
        return {"time": text.replace("+00:00", "Z"), **log_data}


def json_formatter() -> logging.Formatter:
    """One JSON object per line: ``time``, ``level``, ``logger``, ``event`` and any context."""
    return LineFormatter(
        ["levelname", "name", "message"],
        rename_fields={"levelname": "level", "name": "logger", "message": "event"},
        timestamp="time",
        json_ensure_ascii=False,
    )


_HANDLER_NAME = "notary"


class StandardError(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a line is written, not when configured (a
    command run inside another program, a test's captured stream, may swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(log_format: str = JSON, level: str = "INFO", stream: Any = None) -> logging.Handler:
    """Send the root logger's lines to standard error in ``log_format`` (``json`` or ``text``).

    Idempotent: a process configured twice (the app factory after a command) keeps one
    handler. Raises ``ValueError`` for another format or an unknown level."""
    if log_format not in (JSON, TEXT):
        raise ValueError(f"log format: json or text, not {log_format!r}")
    root = logging.getLogger()
    for previous in list(root.handlers):
        if previous.get_name() == _HANDLER_NAME:
            root.removeHandler(previous)
    handler = logging.StreamHandler(stream) if stream is not None else StandardError()
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(json_formatter() if log_format == JSON else ReadableFormatter())
    handler.addFilter(RequestContext())
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Alembic narrates at INFO each time it is asked anything (the checkup asks on every
    # /healthz); its warnings still come through.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return handler
