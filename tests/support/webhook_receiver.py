"""A platform's webhook receiver: a real HTTP server on loopback that checks every delivery's
signature with the verification snippet of ``docs/webhooks.md``, taken from the page as
written (not the notary's own code).

Each request is answered by the next scripted behaviour (a status code, or ``HANG`` to accept
and say nothing until released), then 200s.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"
HANG = "hang"


def doc_snippet(language: str) -> str:
    """The code block of ``language`` under "Verifying in ..." in docs/webhooks.md."""
    text = DOC.read_text(encoding="utf-8")
    name = {"python": "verify_notary_signature", "java": "verifyNotarySignature"}[language]
    blocks = [block for block in re.findall(rf"```{language}\n(.*?)```", text, flags=re.S) if name in block]
    assert len(blocks) == 1, f"one {language} block defining {name} in {DOC}"
    return blocks[0]


def python_verifier() -> Callable[..., None]:
    """``verify_notary_signature(secret, header, body, now=None)`` exactly as documented."""
    namespace: dict[str, Any] = {}
    exec(compile(doc_snippet("python"), str(DOC), "exec"), namespace)  # the doc's own code
    verifier: Callable[..., None] = namespace["verify_notary_signature"]
    return verifier


@dataclass
class Delivery:
    """One request as received, and what the documented check made of it."""

    path: str
    headers: dict[str, str]
    body: bytes
    verified_with: str | None
    refusal: str | None
    received_at: float

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


class Receiver:
    """Listens on 127.0.0.1 (a free port) until :meth:`stop`."""

    def __init__(self, secrets: list[str], *, now: Callable[[], float] | None = None) -> None:
        self.secrets = list(secrets)
        self.now = now
        self.script: list[int | str] = []
        self.deliveries: list[Delivery] = []
        self.release = threading.Event()
        self._arrived = threading.Condition()
        self._verify = python_verifier()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                receiver._record(self.path, dict(self.headers.items()), body)
                behaviour = receiver._next()
                if behaviour == HANG:
                    receiver.release.wait(30)
                    return
                self.send_response(int(behaviour))
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/notary"

    def _next(self) -> int | str:
        with self._arrived:
            return self.script.pop(0) if self.script else 200

    def _record(self, path: str, headers: dict[str, str], body: bytes) -> None:
        header = headers.get("Notary-Signature", "")
        now = self.now() if self.now else None
        verified_with, refusal = None, "no secret verified"
        for secret in self.secrets:
            try:
                self._verify(secret, header, body, now=now)
            except ValueError as exc:
                refusal = str(exc)
                continue
            verified_with, refusal = secret, None
            break
        with self._arrived:
            self.deliveries.append(Delivery(path, headers, body, verified_with, refusal, time.monotonic()))
            self._arrived.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Delivery]:
        """The first ``count`` deliveries, once they have arrived (AssertionError otherwise)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.deliveries) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"{len(self.deliveries)} of {count} deliveries arrived"
                self._arrived.wait(left)
            return list(self.deliveries[:count])

    def events(self) -> list[dict[str, Any]]:
        return [delivery.event for delivery in self.deliveries]

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
