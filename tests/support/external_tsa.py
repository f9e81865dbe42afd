"""A second, independent timestamp authority in another process: ``openssl ts -reply`` behind a
small HTTP server, with its own throwaway RSA root and TSA certificate."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from tests.e2e.openssl_tsa_server import write_config
from tests.timestamp_pki import TsaPki, issue, make_root, pem, rsa_key

SERVER = Path(__file__).resolve().parents[1] / "e2e" / "openssl_tsa_server.py"
EXTERNAL_POLICY = "1.3.6.1.4.1.99999.3161.1"


@dataclass
class ExternalTsa:
    """The openssl authority's process, folder and root; ``start``/``stop`` keep its port."""

    config: Path
    root_pem: Path
    pki: TsaPki
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/tsa"

    def start(self) -> None:
        assert self.process is None
        self.process = subprocess.Popen(
            [sys.executable, str(SERVER), str(self.config), str(self.port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode()
        assert line.startswith("listening on "), line
        self.port = int(line.split()[-1])

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            if self.process.stdout is not None:
                self.process.stdout.close()
            self.process = None


@pytest.fixture
def external(  # the conftest makes it a fixture everywhere
    tmp_path: Path,
) -> Iterator[ExternalTsa]:
    root_key, root = make_root("External Root", key=rsa_key())
    tsa_key, tsa_cert = issue(root_key, root, common_name="External TSA", key=rsa_key())
    (tmp_path / "tsa.key").write_bytes(
        tsa_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    (tmp_path / "tsa.pem").write_bytes(pem(tsa_cert))
    (tmp_path / "root.pem").write_bytes(pem(root))
    config = write_config(
        tmp_path, signer_cert=tmp_path / "tsa.pem", signer_key=tmp_path / "tsa.key", policy=EXTERNAL_POLICY
    )
    server = ExternalTsa(config, tmp_path / "root.pem", TsaPki(root_key, root, tsa_key, tsa_cert))
    server.start()
    try:
        yield server
    finally:
        server.stop()
