"""The trust file: the keys a verifier chooses to trust, as the notary publishes them (``GET /trust``).

``notary-trust/2`` (docs/formats.md section 7) adds ``format``, the log's current ``origin``
(an identity kept across rotations: older origins stay in ``logs`` with their sizes) and
``witness_policies``; a round-1 file without ``format`` is still read.

Keys found inside a bundle show that nothing in it changed since it was made, not who made
it; only keys obtained some other way (the notary's published trust file, kept by the
investor or the court) establish origin. The file lists keys with the tree sizes they sign,
so a rotated log key keeps verifying the checkpoints it signed:

    {"logs": [{"origin", "verifier_key", "from_size", "until_size"?}],
     "notary_roots_pem": ["-----BEGIN CERTIFICATE-----..."], "tsa_roots_pem": [...]}

A log key is trusted for checkpoints of size ``from_size`` to ``until_size`` inclusive
(no upper bound when ``until_size`` is absent). Unknown fields are refused rather than
ignored: a field this verifier does not understand might restrict trust.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from notary.verify.canonical import parse_json
from notary.verify.errors import MalformedInput
from notary.verify.note import NoteVerifierKey, parse_verifier_key
from notary.verify.report import CALLER_SUPPLIED, INTEGRITY_ONLY_BASIS, TRUST_FILE
from notary.verify.timestamp.pem import load_pem_certificates
from notary.verify.witness_policy import MalformedWitnessPolicy, WitnessPolicy, parse_witness_policies

__all__ = [
    "INTEGRITY_ONLY",
    "TRUST_FORMAT",
    "CallerSupplied",
    "IntegrityOnly",
    "MalformedTrustFile",
    "TrustChoice",
    "TrustFile",
    "TrustedLog",
    "anchoring_file",
    "trust_basis",
]

TRUST_FORMAT = "notary-trust/2"
_FIELDS = frozenset({"logs", "notary_roots_pem", "tsa_roots_pem"})
_FIELDS_V2 = _FIELDS | {"format", "origin", "witness_policies"}
_LOG_FIELDS = frozenset({"origin", "verifier_key", "from_size", "until_size"})
_MAX_SIZE = 2**64 - 1
_PEM_BEGIN = "-----BEGIN CERTIFICATE-----"


class MalformedTrustFile(MalformedInput):
    """The trust file is not the JSON of ``GET /trust``."""

    code = "malformed_trust_file"


def _size(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_SIZE:
        raise MalformedTrustFile(f"{what} must be a tree size (an integer from 0 to 2**64-1)")
    return value


@dataclass(frozen=True)
class TrustedLog:
    """A log key and the checkpoint sizes it is trusted to sign."""

    origin: str
    key: NoteVerifierKey
    from_size: int
    until_size: int | None = None

    def covers(self, tree_size: int) -> bool:
        """Whether this key is trusted for a checkpoint of ``tree_size``."""
        return self.from_size <= tree_size and (self.until_size is None or tree_size <= self.until_size)

    def to_dict(self) -> dict[str, Any]:
        """As in the trust file."""
        entry: dict[str, Any] = {
            "origin": self.origin,
            "verifier_key": self.key.text,
            "from_size": self.from_size,
        }
        if self.until_size is not None:
            entry["until_size"] = self.until_size
        return entry


def _roots(value: object, what: str) -> tuple[x509.Certificate, ...]:
    if not isinstance(value, list) or not value:
        raise MalformedTrustFile(f"{what} must be a non-empty list of PEM certificates")
    roots: list[x509.Certificate] = []
    for index, pem in enumerate(value):
        if not isinstance(pem, str) or not pem.startswith(_PEM_BEGIN):
            raise MalformedTrustFile(f"{what}[{index}] must be one PEM certificate")
        try:
            certificates = load_pem_certificates(
                pem.encode("ascii"), what=f"{what}[{index}]", canonical=False
            )
        except UnicodeEncodeError as exc:
            raise MalformedTrustFile(f"{what}[{index}] is not a PEM certificate") from exc
        except MalformedInput as exc:
            raise MalformedTrustFile(exc.message) from exc
        if len(certificates) != 1:
            raise MalformedTrustFile(f"{what}[{index}] must hold exactly one certificate")
        roots.append(certificates[0])
    return tuple(roots)


def _log(value: object, index: int) -> TrustedLog:
    what = f"logs[{index}]"
    if not isinstance(value, dict):
        raise MalformedTrustFile(f"{what} must be an object")
    unknown = sorted(value.keys() - _LOG_FIELDS)
    missing = sorted((_LOG_FIELDS - {"until_size"}) - value.keys())
    if unknown or missing:
        raise MalformedTrustFile(
            f"{what} must hold origin, verifier_key, from_size and optionally until_size",
            details={"unknown": unknown, "missing": missing},
        )
    origin, text = value["origin"], value["verifier_key"]
    if not isinstance(origin, str) or not isinstance(text, str):
        raise MalformedTrustFile(f"{what}: origin and verifier_key must be strings")
    try:
        key = parse_verifier_key(text)
    except MalformedInput as exc:
        raise MalformedTrustFile(f"{what}.verifier_key: {exc.message}") from exc
    if key.name != origin:
        # A log signs its checkpoints under its origin (payloads.md).
        raise MalformedTrustFile(f"{what}: the verifier key is named {key.name!r}, not the origin {origin!r}")
    from_size = _size(value["from_size"], f"{what}.from_size")
    until_size = None
    if "until_size" in value:
        until_size = _size(value["until_size"], f"{what}.until_size")
        if until_size < from_size:
            raise MalformedTrustFile(f"{what}: until_size is below from_size")
    return TrustedLog(origin, key, from_size, until_size)


@dataclass(frozen=True)
class TrustFile:
    """Trusted log keys, notary roots and timestamp authority roots, and (``notary-trust/2``)
    the log's current origin and its witness policies. Build with :meth:`from_json`."""

    logs: tuple[TrustedLog, ...]
    notary_roots: tuple[x509.Certificate, ...]
    tsa_roots: tuple[x509.Certificate, ...]
    current_origin: str | None = None
    witness_policies: tuple[WitnessPolicy, ...] = ()

    @classmethod
    def from_json(cls, data: bytes | str) -> TrustFile:
        """Parse the JSON of ``GET /trust``: ``notary-trust/2``, or a round-1 file (no
        ``format``); raises :class:`MalformedTrustFile`.

        Every list but ``witness_policies`` must be non-empty, every verifier key an Ed25519
        note key named by its origin, every root one PEM certificate; a v2 file's ``origin``
        must be one of its logs without ``until_size``. Unknown fields are refused.
        """
        try:
            value = parse_json(data, what="trust file")
        except MalformedInput as exc:
            raise MalformedTrustFile(exc.message) from exc
        if not isinstance(value, dict):
            raise MalformedTrustFile("the trust file must be a JSON object")
        version_two = "format" in value
        if version_two and value["format"] != TRUST_FORMAT:
            raise MalformedTrustFile(f"trust file format {value['format']!r} is not {TRUST_FORMAT!r}")
        fields = _FIELDS_V2 if version_two else _FIELDS
        unknown, missing = sorted(value.keys() - fields), sorted(fields - value.keys())
        if unknown or missing:
            raise MalformedTrustFile(
                "the trust file must hold exactly " + ", ".join(sorted(fields)),
                details={"unknown": unknown, "missing": missing},
            )
        logs_value = value["logs"]
        if not isinstance(logs_value, list) or not logs_value:
            raise MalformedTrustFile("logs must be a non-empty list")
        logs = tuple(_log(entry, index) for index, entry in enumerate(logs_value))
        origin = None
        if version_two:
            origin = value["origin"]
            if not any(log.origin == origin and log.until_size is None for log in logs):
                raise MalformedTrustFile("origin must be one of the logs, without until_size")
        return cls(
            logs=logs,
            notary_roots=_roots(value["notary_roots_pem"], "notary_roots_pem"),
            tsa_roots=_roots(value["tsa_roots_pem"], "tsa_roots_pem"),
            current_origin=origin,
            witness_policies=_witness_policies(value["witness_policies"]) if version_two else (),
        )

    @classmethod
    def of(
        cls,
        logs: Sequence[TrustedLog],
        *,
        notary_roots: Sequence[x509.Certificate],
        tsa_roots: Sequence[x509.Certificate],
        origin: str | None = None,
        witness_policies: Sequence[WitnessPolicy] = (),
    ) -> TrustFile:
        """A trust file from loaded values (what the service publishes, what tests trust)."""
        return cls(tuple(logs), tuple(notary_roots), tuple(tsa_roots), origin, tuple(witness_policies))

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``GET /trust`` (``notary-trust/2``)."""
        return {
            "format": TRUST_FORMAT,
            "origin": self.origin,
            "logs": [log.to_dict() for log in self.logs],
            "notary_roots_pem": [_pem(cert) for cert in self.notary_roots],
            "tsa_roots_pem": [_pem(cert) for cert in self.tsa_roots],
            "witness_policies": [policy.to_dict() for policy in self.witness_policies],
        }

    @property
    def origin(self) -> str:
        """The log's current origin: the file's own (v2), else that of its open-ended log entry."""
        if self.current_origin is not None:
            return self.current_origin
        open_ended = [log.origin for log in self.logs if log.until_size is None]
        return (open_ended or [self.logs[-1].origin])[-1]

    def log_keys_for(self, origin: str) -> tuple[TrustedLog, ...]:
        """The entries of the log ``origin`` (any size)."""
        return tuple(log for log in self.logs if log.origin == origin)


def _witness_policies(value: object) -> tuple[WitnessPolicy, ...]:
    """The policies (issue 21's parser: cosigner keys are type 0x04, never note keys); one error
    code for the whole file."""
    try:
        return parse_witness_policies(value)
    except MalformedWitnessPolicy as exc:
        raise MalformedTrustFile(exc.message, details=exc.details) from exc


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


class IntegrityOnly:
    """The explicit choice to verify with the input's own keys (``--integrity-only``).

    That proves nothing in the input changed since it was made, not who made it: anyone can
    make a bundle consistent with keys of their own. It is a named choice, never a default
    (as sigstore's ``UnsafeNoOp``), and its success is reported ``valid_integrity_only``.
    """

    def __repr__(self) -> str:
        return "INTEGRITY_ONLY"


#: The one :class:`IntegrityOnly` value.
INTEGRITY_ONLY = IntegrityOnly()


@dataclass(frozen=True)
class CallerSupplied:
    """A trust file someone else brought (``POST /verify``'s ``trust`` part): checked against,
    but a notary's endpoint never vouches for it, so the origin is not established."""

    trust: TrustFile


#: What a verification is anchored in; the caller must choose one.
TrustChoice = TrustFile | IntegrityOnly | CallerSupplied


def trust_basis(choice: TrustChoice) -> str:
    """The report's ``trust_basis`` for a choice; raises ``TypeError`` for anything else
    (``None`` included: there is no default)."""
    if isinstance(choice, TrustFile):
        return TRUST_FILE
    if isinstance(choice, CallerSupplied):
        return CALLER_SUPPLIED
    if isinstance(choice, IntegrityOnly):
        return INTEGRITY_ONLY_BASIS
    raise TypeError("choose the trust: a TrustFile, CallerSupplied(trust_file) or INTEGRITY_ONLY")


def anchoring_file(choice: TrustChoice) -> TrustFile | None:
    """The trust file whose keys anchor the checks, or None to use the input's own keys."""
    trust_basis(choice)
    if isinstance(choice, CallerSupplied):
        return choice.trust
    return choice if isinstance(choice, TrustFile) else None
