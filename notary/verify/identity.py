"""Identity openings: what turns a record's salted commitment into a proven identity.

A record/2 names each party's identity by ``identity_commitment``, the SHA-256 of an opening
(``docs/formats.md`` section 1), which only the party and an approved case's export hold:

    {"id_number", "id_type", "purpose": "notary.identity.v1", "salt": <base64 of 32 bytes>}

Given an opening whose hash is the commitment, a verifier shows the identity as *proven*;
without one, the identity is only *claimed*. A record/1 names the unsalted
``SHA-256("<id_type>:<id_number>")`` instead, which the same opening also proves. Reports
show the masked number, never the full one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from notary.verify.canonical import parse_canonical_json
from notary.verify.encoding import b64decode
from notary.verify.errors import MalformedInput, VerificationError
from notary.verify.payloads import PURPOSE_IDENTITY, SALT_BYTES, identity_sha256, sha256_hex

__all__ = [
    "ID_TYPES",
    "BadEnrolmentProof",
    "IdentityOpening",
    "MalformedOpening",
    "OpeningMismatch",
    "mask",
    "mask_id_number",
    "parse_opening",
]

ID_TYPES = ("cn_resident", "cn_uscc", "passport", "hk_macau_taiwan_permit")
MAX_OPENING_BYTES = 1024
_FIELDS = frozenset({"id_number", "id_type", "purpose", "salt"})
_ID_NUMBER = re.compile(r"[0-9A-Z]{1,40}", re.ASCII)


class MalformedOpening(MalformedInput):
    """An identity opening that is not exactly the canonical JSON of ``notary.identity.v1``."""

    code = "malformed_opening"


class OpeningMismatch(VerificationError):
    """An opening given for verification matches no party's commitment in the record."""

    code = "opening_mismatch"


class BadEnrolmentProof(VerificationError):
    """A record/2's enrolment proof does not verify with the party's key over its commitment."""

    code = "bad_enrolment_proof"


def mask(value: str, *, keep_start: int = 3, keep_end: int = 4) -> str:
    """``110105********002X``-style masking; short values keep less so most stays hidden."""
    if len(value) <= keep_start + keep_end:
        keep_start, keep_end = min(1, len(value)), min(1, max(len(value) - 1, 0))
    hidden = len(value) - keep_start - keep_end
    return value[:keep_start] + "*" * hidden + (value[-keep_end:] if keep_end else "")


def mask_id_number(id_type: str, number: str) -> str:
    """The form every answer, certificate, report and log line shows."""
    if id_type == "cn_resident":
        return mask(number, keep_start=6, keep_end=4)
    return mask(number)


@dataclass(frozen=True)
class IdentityOpening:
    """A parsed opening. Build it with :func:`parse_opening`."""

    raw: bytes
    id_type: str
    id_number: str
    salt: bytes

    @property
    def commitment(self) -> str:
        """The commitment it opens (record/2): SHA-256 of its bytes."""
        return sha256_hex(self.raw)

    @property
    def unsalted_sha256(self) -> str:
        """The round-1 identity hash of the same identity (record/1)."""
        return identity_sha256(self.id_type, self.id_number)

    @property
    def id_number_masked(self) -> str:
        return mask_id_number(self.id_type, self.id_number)

    def opens(self, digest: str, *, salted: bool) -> bool:
        """Whether this opening proves a record's identity digest of that kind."""
        return digest == (self.commitment if salted else self.unsalted_sha256)


def parse_opening(data: bytes) -> IdentityOpening:
    """Parse an opening file's bytes; raises :class:`MalformedOpening` unless they are exactly
    the canonical JSON of ``notary.identity.v1`` with a known ID type, an ID number of ASCII
    upper-case letters and digits, and a canonical base64 salt of 32 bytes."""
    if len(data) > MAX_OPENING_BYTES:
        raise MalformedOpening(f"an identity opening is at most {MAX_OPENING_BYTES} bytes")
    try:
        value = parse_canonical_json(data, what="the identity opening")
    except MalformedInput as exc:
        raise MalformedOpening(exc.message) from exc
    if not isinstance(value, dict) or value.keys() != _FIELDS:
        raise MalformedOpening("an identity opening holds exactly id_number, id_type, purpose and salt")
    if value["purpose"] != PURPOSE_IDENTITY:
        raise MalformedOpening(f"an identity opening's purpose is {PURPOSE_IDENTITY}")
    if value["id_type"] not in ID_TYPES:
        raise MalformedOpening(f"id_type must be one of {', '.join(ID_TYPES)}")
    number = value["id_number"]
    if not isinstance(number, str) or not _ID_NUMBER.fullmatch(number):
        raise MalformedOpening("id_number must be 1 to 40 ASCII digits and upper-case letters")
    try:
        salt = b64decode(value["salt"] if isinstance(value["salt"], str) else b"\x00", what="salt")
    except MalformedInput as exc:
        raise MalformedOpening(exc.message) from exc
    if len(salt) != SALT_BYTES:
        raise MalformedOpening(f"the salt is {SALT_BYTES} bytes")
    return IdentityOpening(bytes(data), value["id_type"], number, salt)
