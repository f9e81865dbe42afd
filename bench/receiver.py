"""A platform's webhook receiver for the benchmark: its own process on loopback, so its CPU is
neither the service's nor the clients'. It checks every signature (HMAC-SHA256 over
``t.body``, as docs/webhooks.md says) and counts distinct events; ``GET /stats`` tells.

    python -m bench.receiver PORT SECRET_FILE
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.events: set[str] = set()
        self.requests = 0
        self.bad = 0
        self.first = self.last = 0.0

    def view(self) -> dict[str, Any]:
        return {
            "events": len(self.events),
            "requests": self.requests,
            "bad_signatures": self.bad,
            "first": self.first,
            "last": self.last,
        }


def serve(port: int, secret_file: Path) -> None:
    stats = Stats()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            header = self.headers.get("Notary-Signature", "")
            items = [item.split("=", 1) for item in header.split(",") if "=" in item]
            t = next((value for key, value in items if key == "t"), "0")
            secret = secret_file.read_text().strip().encode()
            expected = hmac.new(secret, t.encode() + b"." + body, hashlib.sha256).hexdigest()
            good = any(key == "v1" and hmac.compare_digest(value, expected) for key, value in items)
            now = time.time()
            with stats.lock:
                stats.requests += 1
                if good:
                    stats.events.add(self.headers.get("Notary-Event-Id", ""))
                    stats.first = stats.first or now
                    stats.last = now
                else:
                    stats.bad += 1
            self.send_response(200 if good else 400)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            with stats.lock:
                if self.path == "/reset":
                    stats.reset()
                answer = json.dumps(stats.view()).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    serve(int(sys.argv[1]), Path(sys.argv[2]))
