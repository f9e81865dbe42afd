"""One delivery's HTTP: TLS to the checked address under the URL's name, no redirect followed,
and a deadline a silent or dripping receiver cannot stretch."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from notary.services.webhooks.addresses import Target
from notary.services.webhooks.transport import DeliveryFailed, Transport

LOOPBACK = ipaddress.ip_address("127.0.0.1")
_FROM = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_UNTIL = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)


def _certificate(tmp_path):
    """A CA and a server certificate for ``localhost``. OpenSSL judges them by the machine's
    clock, so they are valid from 2000 to 9999: the same on any day, shifted or not."""
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test Receiver CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(_FROM)
        .not_valid_after(_UNTIL)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(_FROM)
        .not_valid_after(_UNTIL)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "server.pem", tmp_path / "server.key"
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return ca.public_bytes(serialization.Encoding.PEM).decode(), cert_file, key_file


class _Server:
    def __init__(self, handler, tls=None):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.port = self.server.server_address[1]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _handler(behaviour):
    class Handler(BaseHTTPRequestHandler):
        seen: ClassVar[list[str]] = []

        def do_POST(self):
            Handler.seen.append(self.path)
            self.rfile.read(int(self.headers["Content-Length"]))
            behaviour(self)

        def do_GET(self):
            Handler.seen.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_):
            pass

    return Handler


def _ok(handler):
    body = b"received " + handler.headers["Host"].encode() + b" " + b"x" * 500
    handler.send_response(204 if handler.path == "/empty" else 200)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def test_tls_goes_to_the_checked_address_and_checks_the_urls_name(tmp_path):
    ca_pem, cert_file, key_file = _certificate(tmp_path)
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert_file, key_file)
    server = _Server(_handler(_ok), tls=server_tls)
    try:
        client_tls = ssl.create_default_context(cadata=ca_pem)
        transport = Transport(timeout=2, tls=client_tls)
        target = Target(f"https://localhost:{server.port}/hook", "https", "localhost", server.port, "/hook")
        answer = transport.post(target, LOOPBACK, b"{}", {"Content-Type": "application/json"})
        assert answer.status == 200
        assert answer.excerpt.startswith(f"received localhost:{server.port} ")
        assert len(answer.excerpt) == 200  # only the start of the answer is read
        # The same address under a name the certificate does not carry: refused.
        other = Target(
            f"https://hooks.other.test:{server.port}/", "https", "hooks.other.test", server.port, "/"
        )
        with pytest.raises(DeliveryFailed) as refused:
            transport.post(other, LOOPBACK, b"{}", {})
        assert refused.value.kind == "tls_error"
        # A receiver whose certificate no trusted authority issued: refused.
        with pytest.raises(DeliveryFailed) as untrusted:
            Transport(timeout=2).post(target, LOOPBACK, b"{}", {})
        assert untrusted.value.kind == "tls_error"
    finally:
        server.close()


def test_redirects_are_answers_not_followed():
    def redirect(handler):
        handler.send_response(307)
        handler.send_header("Location", "/elsewhere")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    handler = _handler(redirect)
    server = _Server(handler)
    try:
        target = Target(f"http://127.0.0.1:{server.port}/hook", "http", "127.0.0.1", server.port, "/hook")
        assert Transport(timeout=2).post(target, LOOPBACK, b"{}", {}).status == 307
        time.sleep(0.1)
        assert handler.seen == ["/hook"]
    finally:
        server.close()


@pytest.mark.parametrize("kind", ["silent", "dripping"])
def test_the_deadline_covers_a_silent_or_dripping_receiver(kind):
    release = threading.Event()

    def slow(handler):
        if kind == "silent":
            release.wait(10)
            return
        handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
        for _ in range(40):  # a header byte every 0.1 s: each read is quick, the whole is not
            if release.wait(0.1):
                return
            handler.wfile.write(b"X")
            handler.wfile.flush()

    server = _Server(_handler(slow))
    try:
        target = Target(f"http://127.0.0.1:{server.port}/", "http", "127.0.0.1", server.port, "/")
        started = time.monotonic()
        with pytest.raises(DeliveryFailed) as failed:
            Transport(timeout=0.8).post(target, LOOPBACK, b"{}", {})
        assert failed.value.kind == "timeout"
        assert 0.7 <= time.monotonic() - started < 2.0
    finally:
        release.set()
        server.close()


def test_nobody_listening_is_a_connection_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    target = Target(f"http://127.0.0.1:{port}/", "http", "127.0.0.1", port, "/")
    with pytest.raises(DeliveryFailed) as failed:
        Transport(timeout=2).post(target, LOOPBACK, b"{}", {})
    assert failed.value.kind == "connection_error"
