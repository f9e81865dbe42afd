"""The instance's live keys: created once by ``notary init``, loaded once by the app factory.

Files live in ``$NOTARY_INSTANCE_PATH/keys`` with mode 0600 and are never overwritten: a key
that exists is kept, whatever else is missing. See keys/README.md for the inventory.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from notary.errors import Unavailable
from notary.signing import pki

LOG_KEY = "log-ed25519.key"
ROOT_KEY, ROOT_CERT = "root-ca.key", "root-ca.pem"
TSA_KEY, TSA_CERT = "tsa.key", "tsa.pem"
NOTARY_KEY, NOTARY_CERT = "notary.key", "notary.pem"
REPORT_KEY, REPORT_CERT = "report.key", "report.pem"
PII_KEY = "pii.key"


class KeysUnusable(Unavailable):
    """A key file is missing, unreadable or damaged."""

    code = "unavailable"


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Write a file that must not exist yet (O_EXCL): keys are never overwritten."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _private_pem(key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def ensure_keys(key_dir: Path, *, organisation: str, now: dt.datetime | None = None) -> list[str]:
    """Create every missing key and certificate in ``key_dir``; returns the names created.

    Idempotent: an existing file is never replaced. A missing certificate is (re)issued for the
    key that exists, but a missing root key with certificates present is an error, not a
    silent new root.
    """
    now = now or dt.datetime.now(dt.UTC)
    key_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(key_dir, 0o700)
    created: list[str] = []

    def exists(name: str) -> bool:
        return (key_dir / name).exists()

    if not exists(LOG_KEY):
        _write_new(key_dir / LOG_KEY, _private_pem(ed25519.Ed25519PrivateKey.generate()), 0o600)
        created.append(LOG_KEY)
    if not exists(PII_KEY):
        _write_new(key_dir / PII_KEY, os.urandom(32).hex().encode() + b"\n", 0o600)
        created.append(PII_KEY)

    if not exists(ROOT_KEY):
        if exists(ROOT_CERT) or exists(TSA_CERT) or exists(NOTARY_CERT):
            raise KeysUnusable(f"{ROOT_KEY} is missing but certificates it issued exist; restore it")
        _write_new(key_dir / ROOT_KEY, _private_pem(pki.new_key()), 0o600)
        created.append(ROOT_KEY)
    root_key = _load_ec_key(key_dir / ROOT_KEY)
    if not exists(ROOT_CERT):
        _write_new(
            key_dir / ROOT_CERT, _cert_pem(pki.make_root(root_key, organisation=organisation, now=now)), 0o644
        )
        created.append(ROOT_CERT)
    root_cert = _load_cert(key_dir / ROOT_CERT)

    for key_name, cert_name, common_name, purpose in (
        (TSA_KEY, TSA_CERT, f"{organisation} Timestamp Authority", "timestamping"),
        (NOTARY_KEY, NOTARY_CERT, f"{organisation} Evidence Signer", "document_signing"),
        (REPORT_KEY, REPORT_CERT, f"{organisation} Verification Reports", "verification_report"),
    ):
        if not exists(key_name):
            _write_new(key_dir / key_name, _private_pem(pki.new_key()), 0o600)
            created.append(key_name)
        if not exists(cert_name):
            leaf_key = _load_ec_key(key_dir / key_name)
            cert = pki.issue(
                root_key=root_key,
                root_cert=root_cert,
                public_key=leaf_key.public_key(),
                common_name=common_name,
                organisation=organisation,
                purpose=purpose,
                now=now,
            )
            _write_new(key_dir / cert_name, _cert_pem(cert), 0o644)
            created.append(cert_name)
    return created


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise KeysUnusable(f"cannot read key file {path.name}: {exc.strerror}") from exc


def _load_ec_key(path: Path) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(_read(path), password=None)
    except (ValueError, TypeError) as exc:
        raise KeysUnusable(f"{path.name} is not a PEM private key") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise KeysUnusable(f"{path.name} is not an ECDSA key")
    return key


def _load_cert(path: Path) -> x509.Certificate:
    return read_certificate(path)


#: The instance's certificates, with the names operators know them by (``notary doctor``).
INSTANCE_CERTIFICATES = (
    ("notary signer", NOTARY_CERT),
    ("embedded TSA", TSA_CERT),
    ("report signer", REPORT_CERT),
    ("root", ROOT_CERT),
)


def read_certificate(path: Path) -> x509.Certificate:
    """One PEM certificate; raises :class:`KeysUnusable` when it is missing or not a certificate."""
    try:
        return x509.load_pem_x509_certificate(_read(path))
    except ValueError as exc:
        raise KeysUnusable(f"{path.name} is not a PEM certificate") from exc


@dataclass(frozen=True)
class InstanceKeys:
    """Every live key of an instance, loaded once."""

    log_key: ed25519.Ed25519PrivateKey
    root_cert: x509.Certificate
    tsa_key: ec.EllipticCurvePrivateKey
    tsa_cert: x509.Certificate
    notary_key: ec.EllipticCurvePrivateKey
    notary_cert: x509.Certificate
    pii_encryption_key: bytes
    pii_lookup_key: bytes

    @property
    def log_public_pem(self) -> str:
        """The log key's public half as PEM SubjectPublicKeyInfo."""
        return (
            self.log_key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode("ascii")
        )

    @property
    def tsa_chain(self) -> list[x509.Certificate]:
        """The TSA's certificate, then its issuers up to the root."""
        return [self.tsa_cert, self.root_cert]

    @property
    def notary_chain(self) -> list[x509.Certificate]:
        """The notary signer's certificate, then its issuers up to the root."""
        return [self.notary_cert, self.root_cert]


def load_keys(key_dir: Path) -> InstanceKeys:
    """Load the instance's keys; raises :class:`KeysUnusable` when one is missing or damaged."""
    try:
        log_key = serialization.load_pem_private_key(_read(key_dir / LOG_KEY), password=None)
    except (ValueError, TypeError) as exc:
        raise KeysUnusable(f"{LOG_KEY} is not a PEM private key") from exc
    if not isinstance(log_key, ed25519.Ed25519PrivateKey):
        raise KeysUnusable(f"{LOG_KEY} is not an Ed25519 key")
    try:
        pii_secret = bytes.fromhex(_read(key_dir / PII_KEY).decode("ascii").strip())
    except (UnicodeDecodeError, ValueError) as exc:
        raise KeysUnusable(f"{PII_KEY} is not hex") from exc
    if len(pii_secret) != 32:
        raise KeysUnusable(f"{PII_KEY} must hold 32 bytes")
    return InstanceKeys(
        log_key=log_key,
        root_cert=_load_cert(key_dir / ROOT_CERT),
        tsa_key=_load_ec_key(key_dir / TSA_KEY),
        tsa_cert=_load_cert(key_dir / TSA_CERT),
        notary_key=_load_ec_key(key_dir / NOTARY_KEY),
        notary_cert=_load_cert(key_dir / NOTARY_CERT),
        pii_encryption_key=_derive(pii_secret, b"notary pii encryption v1"),
        pii_lookup_key=_derive(pii_secret, b"notary pii lookup v1"),
    )


@dataclass(frozen=True)
class ReportSigningKey:
    """The key that signs the verify page's PDF reports, with its chain to the notary root."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    chain: list[x509.Certificate]


def load_report_key(key_dir: Path) -> ReportSigningKey:
    """The verification-report key. Loaded apart from :func:`load_keys`: an instance made before
    it existed still serves everything else, and ``notary init`` adds it. Raises
    :class:`KeysUnusable` when it is missing or damaged."""
    return ReportSigningKey(
        key=_load_ec_key(key_dir / REPORT_KEY),
        cert=_load_cert(key_dir / REPORT_CERT),
        chain=[_load_cert(key_dir / REPORT_CERT), _load_cert(key_dir / ROOT_CERT)],
    )


def _derive(secret: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)
