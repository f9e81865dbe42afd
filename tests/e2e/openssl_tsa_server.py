"""A second, independent timestamp authority for end-to-end tests: ``openssl ts -reply`` behind
the standard library's HTTP server.

Run as ``python tests/e2e/openssl_tsa_server.py CONFIG PORT``; ``CONFIG`` is an OpenSSL
configuration with a ``[tsa]`` section (see :func:`write_config`). It prints ``listening on
PORT`` once it accepts connections (``PORT`` 0 picks a free one) and answers every POST with
what ``openssl ts -reply -queryfile`` makes of the body.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

MAX_QUERY = 64 * 1024


def write_config(folder: Path, *, signer_cert: Path, signer_key: Path, policy: str) -> Path:
    """An OpenSSL config for ``ts -reply`` signing with ``signer_key``; returns its path."""
    (folder / "serial").write_text("01\n")
    config = folder / "tsa.cnf"
    config.write_text(
        "\n".join(
            [
                "[ tsa ]",
                "default_tsa = tsa_config",
                "[ tsa_config ]",
                f"serial = {folder / 'serial'}",
                "crypto_device = builtin",
                f"signer_cert = {signer_cert}",
                f"certs = {signer_cert}",
                f"signer_key = {signer_key}",
                "signer_digest = sha256",
                f"default_policy = {policy}",
                "digests = sha256, sha384, sha512",
                "accuracy = secs:1",
                "clock_precision_digits = 3",
                "ordering = no",
                "tsa_name = yes",
                "ess_cert_id_chain = no",
                "ess_cert_id_alg = sha256",
                "",
            ]
        )
    )
    return config


class _Handler(BaseHTTPRequestHandler):
    config: Path

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        if not 0 < length <= MAX_QUERY:
            self.send_error(413 if length else 400)
            return
        query = self.rfile.read(length)
        with tempfile.TemporaryDirectory() as scratch:
            query_file = Path(scratch) / "query.tsq"
            reply_file = Path(scratch) / "reply.tsr"
            query_file.write_bytes(query)
            result = subprocess.run(
                ["openssl", "ts", "-reply", "-config", str(self.config), "-queryfile", str(query_file),
                 "-out", str(reply_file)],
                capture_output=True,
                check=False,
                timeout=30,
            )  # fmt: skip
            if result.returncode != 0 or not reply_file.exists():
                self.send_error(500, result.stderr.decode(errors="replace")[:200])
                return
            reply = reply_file.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: object) -> None:
        return


def main() -> None:
    config, port = Path(sys.argv[1]), int(sys.argv[2])
    _Handler.config = config
    server = HTTPServer(("127.0.0.1", port), _Handler)
    print(f"listening on {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
