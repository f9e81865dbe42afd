"""The notary's small PKI: a root CA and the certificates it issues (timestamp authority, notary signer).

All keys are ECDSA P-256: OpenSSL, NSS (pdfsig), pyHanko and browsers all read it, and it signs
fast. The root's key lives in the instance for a single-machine set-up; production moves it
offline (see keys/README.md).
"""

from __future__ import annotations

import datetime as dt
import secrets

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT_VALIDITY = dt.timedelta(days=365 * 25)
LEAF_VALIDITY = dt.timedelta(days=365 * 12)


def new_key() -> ec.EllipticCurvePrivateKey:
    """A fresh P-256 private key."""
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str, organisation: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _serial() -> int:
    # 127 bits: positive, unpredictable, within RFC 5280's 20 octets.
    return secrets.randbits(127) | 1


def make_root(key: ec.EllipticCurvePrivateKey, *, organisation: str, now: dt.datetime) -> x509.Certificate:
    """A self-signed root CA certificate for ``key``."""
    name = _name(f"{organisation} Root CA", organisation)
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(_serial())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + ROOT_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )


def issue(
    *,
    root_key: ec.EllipticCurvePrivateKey,
    root_cert: x509.Certificate,
    public_key: ec.EllipticCurvePublicKey,
    common_name: str,
    organisation: str,
    purpose: str,
    now: dt.datetime,
) -> x509.Certificate:
    """Issue an end-entity certificate under the root.

    ``purpose`` is ``"timestamping"`` (a critical timeStamping EKU, as RFC 3161 section 2.3
    requires and OpenSSL checks), ``"document_signing"`` (PDF certificates, export manifests)
    or ``"verification_report"`` (the signed reports of the verify page: its own key, and no
    documentSigning EKU, so it can never pass for the notary's evidence signer).
    """
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, organisation))
        .issuer_name(root_cert.subject)
        .public_key(public_key)
        .serial_number(_serial())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(min(now + LEAF_VALIDITY, root_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_cert.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
    )
    if purpose == "timestamping":
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
        )
    elif purpose == "document_signing":
        # id-kp-documentSigning (RFC 9336), not critical so readers that do not know it still accept.
        # emailProtection too: NSS (pdfsig, Thunderbird) checks a PDF signer as an S/MIME signer,
        # and refuses a certificate whose EKU lists neither emailProtection nor anyExtendedKeyUsage.
        builder = builder.add_extension(
            x509.ExtendedKeyUsage(
                [x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36"), ExtendedKeyUsageOID.EMAIL_PROTECTION]
            ),
            critical=False,
        )
    elif purpose == "verification_report":
        # emailProtection only: what NSS needs to accept a PDF signer, and nothing the
        # verifier's notary_certificate check would take for the evidence signer.
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        )
    else:
        raise ValueError(f"unknown certificate purpose: {purpose}")
    return builder.sign(root_key, hashes.SHA256())
