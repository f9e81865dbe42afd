"""Parties' public keys: loading, fingerprints and signature checks (Ed25519, ECDSA P-256)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from notary.verify.errors import InvalidSignature, MalformedInput, UnsupportedAlgorithm

__all__ = [
    "ALGORITHMS",
    "ECDSA_P256",
    "ED25519",
    "NonCanonicalSignature",
    "PublicKey",
    "WeakKey",
    "check_ed25519_point",
    "check_ed25519_signature",
    "key_fingerprint",
]

ED25519 = "ed25519"
ECDSA_P256 = "ecdsa-p256-sha256"
ALGORITHMS = (ED25519, ECDSA_P256)

_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

_ED25519_P = 2**255 - 19
_ED25519_L = 2**252 + 27742317777372353535851937790883648493
_Y_MASK = (1 << 255) - 1
#: The y coordinates of the eight points of order dividing 8 (0 and p − 1 hold two points
#: each, told apart by the sign bit; 1 and p − 1 have x = 0, so their sign bit must be clear).
#: A point whose y is one of these is small-order whatever its sign bit (libsodium's list).
_SMALL_ORDER_Y = frozenset(
    {
        0,
        1,
        _ED25519_P - 1,
        int.from_bytes(
            bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"), "little"
        ),
        int.from_bytes(
            bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"), "little"
        ),
    }
)


class WeakKey(MalformedInput):
    """An Ed25519 point encoding that is not canonical, or a point of small order."""

    code = "weak_key"


class NonCanonicalSignature(InvalidSignature):
    """An Ed25519 signature with S ≥ L or an R that is not canonical or has small order."""

    code = "non_canonical_signature"


def check_ed25519_point(encoding: bytes, *, what: str = "Ed25519 public key") -> None:
    """Refuse a 32-byte point encoding with y ≥ p (a second encoding of a point) or of small order.

    Raises :class:`WeakKey`. Whether the encoding is on the curve at all is left to the
    signature check, which fails for such a key.
    """
    if len(encoding) != 32:
        raise WeakKey(f"{what} is not 32 bytes")
    y = int.from_bytes(encoding, "little") & _Y_MASK
    if y >= _ED25519_P:
        raise WeakKey(f"{what} is not canonically encoded (y is not below p)")
    if y in _SMALL_ORDER_Y:
        raise WeakKey(f"{what} is a point of small order")


def check_ed25519_signature(signature: bytes) -> None:
    """Refuse a 64-byte Ed25519 signature whose S is not below L or whose R is weak.

    Raises :class:`NonCanonicalSignature`.
    """
    if int.from_bytes(signature[32:], "little") >= _ED25519_L:
        raise NonCanonicalSignature("Ed25519 signature is not canonical (S is not below the group order)")
    try:
        check_ed25519_point(signature[:32], what="the signature's R")
    except WeakKey as exc:
        raise NonCanonicalSignature(f"Ed25519 signature is not canonical: {exc.message}") from exc


def key_fingerprint(spki_der: bytes) -> str:
    """Lowercase hex SHA-256 of a public key's DER SubjectPublicKeyInfo."""
    return hashlib.sha256(spki_der).hexdigest()


@dataclass(frozen=True)
class PublicKey:
    """A party's public key, as enrolled. Build it with :meth:`from_pem` or :meth:`from_der`."""

    algorithm: str
    spki_der: bytes
    fingerprint: str
    _key: ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey = field(repr=False, compare=False)

    @classmethod
    def from_pem(cls, pem: str | bytes) -> PublicKey:
        """Load a PEM SubjectPublicKeyInfo; raises :class:`MalformedInput` or :class:`UnsupportedAlgorithm`."""
        data = pem.encode("ascii", "replace") if isinstance(pem, str) else pem
        try:
            key = serialization.load_pem_public_key(data)
        except (ValueError, TypeError) as exc:
            raise MalformedInput("public key is not a PEM SubjectPublicKeyInfo") from exc
        except Exception as exc:  # cryptography raises UnsupportedAlgorithm for unknown key types
            raise UnsupportedAlgorithm("public key type is not supported") from exc
        return cls._from_key(key)

    @classmethod
    def from_der(cls, der: bytes) -> PublicKey:
        """Load a DER SubjectPublicKeyInfo; raises like :meth:`from_pem`."""
        try:
            key = serialization.load_der_public_key(der)
        except (ValueError, TypeError) as exc:
            raise MalformedInput("public key is not a DER SubjectPublicKeyInfo") from exc
        except Exception as exc:
            raise UnsupportedAlgorithm("public key type is not supported") from exc
        return cls._from_key(key)

    @classmethod
    def _from_key(cls, key: object) -> PublicKey:
        """Raises :class:`UnsupportedAlgorithm` for other key types and :class:`WeakKey` for a
        small-order or non-canonical Ed25519 key."""
        if isinstance(key, ed25519.Ed25519PublicKey):
            algorithm = ED25519
            check_ed25519_point(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
        elif isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
            algorithm = ECDSA_P256
        else:
            raise UnsupportedAlgorithm("only Ed25519 and ECDSA P-256 keys are accepted")
        spki = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return cls(algorithm, spki, key_fingerprint(spki), key)

    @property
    def pem(self) -> str:
        """The key as PEM SubjectPublicKeyInfo text."""
        return self._key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")

    def normalise_signature(self, signature: bytes) -> bytes:
        """The signature in the form it is stored and logged: raw 64 bytes (Ed25519) or DER (ECDSA).

        ECDSA arrives as DER or as raw r‖s (64 bytes, what WebCrypto makes). Raises
        :class:`InvalidSignature` when the bytes cannot be a signature of this key type.
        """
        if self.algorithm == ED25519:
            if len(signature) != 64:
                raise InvalidSignature("an Ed25519 signature is 64 bytes")
            check_ed25519_signature(signature)
            return signature
        if len(signature) == 64:
            r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        else:
            try:
                r, s = decode_dss_signature(signature)
            except ValueError as exc:
                raise InvalidSignature("ECDSA signature is neither DER nor raw r||s") from exc
        if not (0 < r < _P256_ORDER and 0 < s < _P256_ORDER):
            raise InvalidSignature("ECDSA signature values out of range")
        der = encode_dss_signature(r, s)
        if len(signature) != 64 and der != signature:
            # Non-minimal DER (BER) would give one signature several encodings.
            raise InvalidSignature("ECDSA signature is not in DER form")
        return der

    def verify(self, signature: bytes, message: bytes) -> bytes:
        """Check ``signature`` over ``message``; raises :class:`InvalidSignature` if it does not verify.

        Returns the signature in its stored form (see :meth:`normalise_signature`).
        """
        normalised = self.normalise_signature(signature)
        try:
            if isinstance(self._key, ed25519.Ed25519PublicKey):
                self._key.verify(normalised, message)
            else:
                try:
                    self._key.verify(normalised, message, ec.ECDSA(hashes.SHA256()))
                except _CryptoInvalidSignature:
                    if len(signature) != 64 or signature[0] != 0x30:
                        raise
                    # A 64-byte DER signature (r and s both short) reads as raw r||s first.
                    self._key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
                    normalised = signature
        except (_CryptoInvalidSignature, ValueError) as exc:
            raise InvalidSignature("signature does not verify with this key") from exc
        return normalised
