"""Parties' keys and signatures: Ed25519 and ECDSA P-256 (DER or raw r‖s), and refusals."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from notary.verify.errors import InvalidSignature, MalformedInput, UnsupportedAlgorithm
from notary.verify.keys import ECDSA_P256, ED25519, PublicKey

MESSAGE = b"the exact bytes"


def public_of(private) -> PublicKey:
    return PublicKey.from_pem(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def test_ed25519():
    private = ed25519.Ed25519PrivateKey.generate()
    key = public_of(private)
    assert key.algorithm == ED25519
    signature = private.sign(MESSAGE)
    assert key.verify(signature, MESSAGE) == signature
    with pytest.raises(InvalidSignature):
        key.verify(signature, MESSAGE + b"!")
    flipped = bytes([signature[0] ^ 1]) + signature[1:]
    with pytest.raises(InvalidSignature):
        key.verify(flipped, MESSAGE)
    with pytest.raises(InvalidSignature, match="64 bytes"):
        key.verify(signature[:-1], MESSAGE)


def test_ecdsa_der_and_raw():
    private = ec.generate_private_key(ec.SECP256R1())
    key = public_of(private)
    assert key.algorithm == ECDSA_P256
    der = private.sign(MESSAGE, ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    assert key.verify(der, MESSAGE) == der
    assert key.verify(raw, MESSAGE) == encode_dss_signature(r, s)
    with pytest.raises(InvalidSignature):
        key.verify(raw, b"other")
    # BER with a padded length is another encoding of the same signature: refused.
    body = der[2:]
    ber = b"\x30\x81" + bytes([len(body)]) + body
    with pytest.raises(InvalidSignature, match="DER"):
        key.verify(ber, MESSAGE)
    with pytest.raises(InvalidSignature):
        key.verify(b"\x00" * 64, MESSAGE)


def test_refused_keys():
    with pytest.raises(MalformedInput):
        PublicKey.from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(UnsupportedAlgorithm):
        public_of(rsa_key)
    with pytest.raises(UnsupportedAlgorithm):
        public_of(ec.generate_private_key(ec.SECP384R1()))


def test_fingerprint_is_sha256_of_spki():
    import hashlib

    key = public_of(ed25519.Ed25519PrivateKey.generate())
    assert key.fingerprint == hashlib.sha256(key.spki_der).hexdigest()
    assert PublicKey.from_der(key.spki_der) == key
