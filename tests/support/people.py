"""Test people: valid ID numbers and key holders who enrol and sign like real clients."""

from __future__ import annotations

import base64
import itertools
import os
import random

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from notary.verify import payloads
from notary.verify.keys import PublicKey

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_serial = itertools.count(1)


def resident_id(rng: random.Random | None = None) -> str:
    """A GB 11643 resident ID number with a correct check digit (Beijing Xicheng, 1950-1999)."""
    rng = rng or random.Random(next(_serial))
    body = "110102" + f"{rng.randint(1950, 1999):04d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    body += f"{rng.randint(0, 999):03d}"
    total = sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True))
    return body + "10X98765432"[total % 11]


class Person:
    """A key holder: makes its enrolment body and signs payloads (Ed25519 or ECDSA P-256)."""

    def __init__(self, name: str = "张三", *, alg: str = "ed25519", id_number: str | None = None) -> None:
        self.name = name
        self.alg = alg
        self.id_number = id_number or resident_id()
        self.private = (
            ed25519.Ed25519PrivateKey.generate()
            if alg == "ed25519"
            else ec.generate_private_key(ec.SECP256R1())
        )
        der = self.private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.public = PublicKey.from_der(der)
        self.party_id: str | None = None
        self.salts: dict[str, bytes] = {}

    @property
    def identity_sha256(self) -> str:
        """Round 1's unsalted identity hash (records sealed before round 2 carry it)."""
        return payloads.identity_sha256("cn_resident", self.id_number)

    def opening(self, platform_id: str) -> bytes:
        """The identity opening of this person's enrolment on ``platform_id`` (one salt each)."""
        salt = self.salts.setdefault(platform_id, os.urandom(payloads.SALT_BYTES))
        return payloads.identity_opening(id_type="cn_resident", id_number=self.id_number, salt=salt)

    def identity_commitment(self, platform_id: str) -> str:
        return payloads.identity_commitment(self.opening(platform_id))

    def sign(self, message: bytes) -> bytes:
        if isinstance(self.private, ed25519.Ed25519PrivateKey):
            return self.private.sign(message)
        return self.private.sign(message, ec.ECDSA(hashes.SHA256()))

    def sign_b64(self, message: bytes) -> str:
        return base64.b64encode(self.sign(message)).decode()

    def enrolment(self, platform_id: str, **extra: object) -> dict[str, object]:
        payload = payloads.enrol_payload_v2(
            platform_id=platform_id,
            key_fingerprint=self.public.fingerprint,
            identity_commitment=self.identity_commitment(platform_id),
        )
        body: dict[str, object] = {
            "name": self.name,
            "id_type": "cn_resident",
            "id_number": self.id_number,
            "public_key": self.public.pem,
            "identity_salt": base64.b64encode(self.salts[platform_id]).decode(),
            "proof": self.sign_b64(payload),
        }
        body.update(extra)
        return body
