"""What an evidence certificate shows: one frozen value, checked when it is built.

The caller assembles :class:`CertificateFacts` from stored evidence; rendering reads nothing
else, so the same facts always give the same PDF. Personal data arrives already masked
(:func:`mask_id_number`): the certificate never sees a full ID number.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from notary.services.evidence.pdf.archival import Attachment
from notary.verify.canonical import canonical_json, parse_json
from notary.verify.encoding import b64decode, b64encode
from notary.verify.errors import MalformedInput
from notary.verify.vocabulary import Role

ROLES = tuple(Role)
IDENTITY_ASSURANCES = ("platform", "verified")

_HEX64 = re.compile(r"[0-9a-f]{64}")
_KEY_HASH = re.compile(r"[0-9a-f]{8}")


class InvalidCertificateFacts(MalformedInput):
    """A fact given to the certificate is malformed (a bad digest, an unknown role, ...)."""

    code = "invalid_certificate_facts"


def mask_id_number(id_number: str) -> str:
    """Mask an ID number for display: the first 3 and last 4 characters stay, the rest become ``*``.

    ``"11010519491231002X"`` gives ``"110***********002X"``. Spaces are dropped and letters upper-
    cased first (as the identity hash normalises them). Short numbers (passports, permits) keep
    fewer characters, so at least half of any number is always hidden. Raises
    :class:`InvalidCertificateFacts` for an empty number.
    """
    normalised = "".join(id_number.split()).upper()
    if not normalised:
        raise InvalidCertificateFacts("cannot mask an empty ID number")
    size = len(normalised)
    head = min(3, size // 4)
    tail = min(4, size // 4)
    return normalised[:head] + "*" * (size - head - tail) + normalised[size - tail :]


def verification_url(public_url: str, record_sha256: str) -> str:
    """The public lookup of a record: ``NOTARY_PUBLIC_URL`` + ``/api/v1/r/<record_sha256>``."""
    return f"{public_url.rstrip('/')}/api/v1/r/{record_sha256}"


def _hex64(value: str, what: str) -> None:
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise InvalidCertificateFacts(f"{what} must be 64 lowercase hex digits")


def _text(value: str, what: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidCertificateFacts(f"{what} must be a non-empty string")


def _count(value: int, what: str, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidCertificateFacts(f"{what} must be an integer >= {minimum}")


@dataclass(frozen=True)
class PartyFacts:
    """A party as the certificate names it; ``masked_id_number`` comes from :func:`mask_id_number`."""

    party_id: str
    name: str
    masked_id_number: str

    def __post_init__(self) -> None:
        _text(self.party_id, "party_id")
        _text(self.name, "party name")
        _text(self.masked_id_number, "masked_id_number")
        if "*" not in self.masked_id_number:
            raise InvalidCertificateFacts("masked_id_number is not masked")


@dataclass(frozen=True)
class SignatureFacts:
    """One party's signature over its signing payload, as sealed in the record."""

    role: str
    algorithm: str
    key_fingerprint: str
    signed_at: str
    identity_assurance: str

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise InvalidCertificateFacts(f"unknown signature role: {self.role!r}")
        if self.identity_assurance not in IDENTITY_ASSURANCES:
            raise InvalidCertificateFacts(f"unknown identity_assurance: {self.identity_assurance!r}")
        _text(self.algorithm, "signature algorithm")
        _hex64(self.key_fingerprint, "key_fingerprint")
        _text(self.signed_at, "signed_at")


@dataclass(frozen=True)
class TimestampFacts:
    """The record's RFC 3161 token: who stamped it, when, and the token's serial number."""

    authority: str
    gen_time: str
    serial_number: int

    def __post_init__(self) -> None:
        _text(self.authority, "timestamp authority")
        _text(self.gen_time, "timestamp gen_time")
        _count(self.serial_number, "timestamp serial_number", minimum=0)

    @property
    def serial_hex(self) -> str:
        """The serial as ``openssl ts -reply -text`` prints it (``0x`` and upper-case hex)."""
        return f"0x{self.serial_number:X}"


@dataclass(frozen=True)
class CertificateFacts:
    """Everything an evidence certificate shows, and nothing it does not.

    Digests are lowercase hex; times are the RFC 3339 strings stored with the evidence, shown as
    they are; ``amount`` and ``annual_rate`` are the decimal strings the parties signed;
    ``title`` and ``external_ref`` the terms' own (``None`` when the platform sent none).
    ``checkpoint_verifier_key`` is the C2SP verifier key text ``name+keyhash+base64``.
    ``platform_defunct_at`` is set when the platform had been marked defunct at issue time.
    ``attachments`` are the bundle members carried inside the PDF (PDF/A-3 associated files).
    Raises :class:`InvalidCertificateFacts` when a fact is malformed.
    """

    certificate_number: str
    issued_at: str
    contract_id: str
    platform_id: str
    platform_name: str
    investor: PartyFacts
    borrower: PartyFacts
    amount: str
    currency: str
    annual_rate: str
    term_months: int
    start_date: str
    sign_by: str
    filed_at: str
    sealed_at: str
    document_sha256: str
    document_size: int
    media_type: str
    terms_sha256: str
    record_sha256: str
    signatures: tuple[SignatureFacts, ...]
    timestamp: TimestampFacts
    leaf_index: int
    tree_size: int
    root_hash: str
    checkpoint_origin: str
    checkpoint_verifier_key: str
    public_url: str
    notary_version: str
    title: str | None = None
    external_ref: str | None = None
    platform_defunct_at: str | None = None
    attachments: tuple[Attachment, ...] = ()

    def __post_init__(self) -> None:
        for name in (
            "certificate_number",
            "issued_at",
            "contract_id",
            "platform_id",
            "platform_name",
            "amount",
            "currency",
            "start_date",
            "sign_by",
            "filed_at",
            "sealed_at",
            "media_type",
            "checkpoint_origin",
            "public_url",
            "notary_version",
        ):
            _text(getattr(self, name), name)
        for name in ("title", "external_ref", "platform_defunct_at"):
            if getattr(self, name) is not None:
                _text(getattr(self, name), name)
        names = [attachment.name for attachment in self.attachments]
        if len(set(names)) != len(names):
            raise InvalidCertificateFacts("attachment names must be distinct")
        for name in ("document_sha256", "terms_sha256", "record_sha256", "root_hash"):
            _hex64(getattr(self, name), name)
        _count(self.term_months, "term_months", minimum=1)
        _count(self.document_size, "document_size", minimum=0)
        _count(self.leaf_index, "leaf_index", minimum=0)
        _count(self.tree_size, "tree_size", minimum=1)
        if self.leaf_index >= self.tree_size:
            raise InvalidCertificateFacts("leaf_index must be below tree_size")
        try:
            rate = Decimal(self.annual_rate)
            Decimal(self.amount)
        except InvalidOperation as exc:
            raise InvalidCertificateFacts("amount and annual_rate must be decimal strings") from exc
        if not rate.is_finite() or not Decimal(0) <= rate < Decimal(1):
            raise InvalidCertificateFacts("annual_rate must be a fraction in [0, 1)")
        roles = tuple(signature.role for signature in self.signatures)
        if sorted(roles) != sorted(ROLES):
            raise InvalidCertificateFacts("there must be exactly one signature per role")
        self._split_verifier_key()

    def _split_verifier_key(self) -> tuple[str, str]:
        parts = self.checkpoint_verifier_key.split("+", 2)  # base64 may hold "+" too
        if len(parts) != 3 or not parts[0] or not _KEY_HASH.fullmatch(parts[1]) or not parts[2]:
            raise InvalidCertificateFacts("checkpoint_verifier_key must be name+keyhash+base64")
        return parts[0], parts[1]

    @property
    def checkpoint_key_name(self) -> str:
        """The signer's key name in the checkpoint's signature lines."""
        return self._split_verifier_key()[0]

    @property
    def checkpoint_key_hash(self) -> str:
        """The 8 hex digits that pick the checkpoint key's signature line."""
        return self._split_verifier_key()[1]

    @property
    def root_hash_base64(self) -> str:
        """The root as the checkpoint's third line writes it."""
        return b64encode(bytes.fromhex(self.root_hash))

    @property
    def verification_url(self) -> str:
        """Where the QR code points: the public lookup of this record."""
        return verification_url(self.public_url, self.record_sha256)

    def signature(self, role: str) -> SignatureFacts:
        """The signature of ``role``; raises :class:`InvalidCertificateFacts` for an unknown role."""
        for signature in self.signatures:
            if signature.role == role:
                return signature
        raise InvalidCertificateFacts(f"no signature for role {role!r}")


def facts_to_json(facts: CertificateFacts) -> bytes:
    """Canonical JSON of the facts (stored with the certificate).

    The token's serial (up to 160 bits) is written in hex: JSON numbers stop at 2**53;
    attachments' bytes in base64. Absent optional facts are left out, never ``null``.
    """
    value = dataclasses.asdict(facts)
    value["timestamp"]["serial_number"] = format(facts.timestamp.serial_number, "x")
    value["attachments"] = [
        {**dataclasses.asdict(attachment), "data": b64encode(attachment.data)}
        for attachment in facts.attachments
    ]
    return canonical_json({key: item for key, item in value.items() if item is not None and item != []})


def facts_from_json(data: bytes) -> CertificateFacts:
    """The facts stored with a certificate (also those stored before title, reference and attachments)."""
    raw: dict[str, Any] = parse_json(data, what="certificate facts")
    raw["attachments"] = tuple(
        Attachment(**{**entry, "data": b64decode(entry["data"])}) for entry in raw.get("attachments", [])
    )
    raw["investor"] = PartyFacts(**raw["investor"])
    raw["borrower"] = PartyFacts(**raw["borrower"])
    raw["signatures"] = tuple(SignatureFacts(**entry) for entry in raw["signatures"])
    raw["timestamp"]["serial_number"] = int(raw["timestamp"]["serial_number"], 16)
    raw["timestamp"] = TimestampFacts(**raw["timestamp"])
    return CertificateFacts(**raw)


CERTIFICATE_MEMBER = "certificate.json"


def certificate_json(facts: CertificateFacts) -> bytes:
    """What the certificate prints, as data: its facts without the files it carries.

    Carried inside the PDF as ``certificate.json`` so a verifier reads which record the
    certificate names and can compare the printed values with the signed ones.
    """
    return facts_to_json(dataclasses.replace(facts, attachments=()))
