"""One HTTP POST to an address that was checked, within a deadline, following no redirect.

The connection goes to the given IP address while the request (``Host``, TLS server name and
certificate check) names the URL's host: the address policy checked that address, and nothing
resolves the name again. The deadline covers everything (connecting, TLS, sending, the
answer's status line and headers): a receiver that accepts and then says nothing, or drips a
byte at a time, is cut off when it passes.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
from dataclasses import dataclass

from notary.services.webhooks.addresses import IPAddress, Target

EXCERPT_BYTES = 200


@dataclass(frozen=True)
class Answer:
    """What the receiver said: its status code and the start of its body (for the log)."""

    status: int
    excerpt: str
    latency_ms: int


class DeliveryFailed(Exception):
    """No answer: ``kind`` is ``timeout``, ``connection_error`` or ``tls_error``."""

    def __init__(self, kind: str, message: str, latency_ms: int) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.latency_ms = latency_ms


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, target: Target, address: IPAddress, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((str(self.address), self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    def __init__(self, target: Target, address: IPAddress, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(target, address, timeout)
        self.context = context

    def connect(self) -> None:
        super().connect()
        # The certificate must name the URL's host, whatever address was dialled.
        self.sock = self.context.wrap_socket(self.sock, server_hostname=self.host)


class Transport:
    """POSTs bodies to checked addresses. ``tls`` defaults to the system's trust store."""

    def __init__(self, *, timeout: float, tls: ssl.SSLContext | None = None) -> None:
        self.timeout = timeout
        self.tls = tls or ssl.create_default_context()

    def post(self, target: Target, address: IPAddress, body: bytes, headers: dict[str, str]) -> Answer:
        """Send ``body``; returns the answer whatever its status (3xx included: never followed).

        Raises :class:`DeliveryFailed` when there is no complete answer within the timeout.
        """
        started = time.monotonic()
        if target.scheme == "https":
            conn: _PinnedHTTPConnection = _PinnedHTTPSConnection(target, address, self.timeout, self.tls)
        else:
            conn = _PinnedHTTPConnection(target, address, self.timeout)
        expired = threading.Event()

        def cut_off() -> None:
            expired.set()
            sock = conn.sock
            if sock is not None:
                with contextlib.suppress(OSError):  # already closed: nothing to cut
                    sock.shutdown(socket.SHUT_RDWR)

        watchdog = threading.Timer(self.timeout, cut_off)
        watchdog.daemon = True
        watchdog.start()
        try:
            conn.request("POST", target.path, body=body, headers=headers)
            response = conn.getresponse()
            excerpt = response.read(EXCERPT_BYTES)
            status = response.status
            if expired.is_set():
                # Cut off mid-answer: what was read may parse, but it came too late.
                raise TimeoutError
        except ssl.SSLError as exc:
            kind = "timeout" if expired.is_set() else "tls_error"
            raise DeliveryFailed(kind, _describe(exc), _ms(started)) from exc
        except (OSError, http.client.HTTPException) as exc:
            if expired.is_set() or isinstance(exc, TimeoutError):
                raise DeliveryFailed("timeout", f"no answer within {self.timeout:g} s", _ms(started)) from exc
            raise DeliveryFailed("connection_error", _describe(exc), _ms(started)) from exc
        finally:
            watchdog.cancel()
            conn.close()
        return Answer(status, excerpt.decode("utf-8", "replace"), _ms(started))


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text[:180]
