"""The case export, formats ``notary-export/2`` (written) and ``notary-export/1`` (read): its
members, its signed manifest, and their bytes.

An export is a zip of ``keys/notary.pem`` (the notary's certificate chain), one
``bundles/<contract_id>.zip`` per contract whose evidence it holds, (export/2) one
``openings/<party_id>.json`` per party of the case's scope, then ``manifest.json``,
``manifest.sig`` and (export/2) ``timestamp/manifest.tsr`` with
``timestamp/manifest-chain.pem``. The manifest is canonical JSON (RFC 8785):

    {"bundles": {path: sha256}, "case": {"case_id", "case_number", "legal_basis", "scope"},
     "exported_at", "exported_by": {"id", "kind"}, "format": "notary-export/2",
     "investigator": {"agency", "investigator_id", "name"}, "not_included": {contract_id: status},
     "openings": {path: sha256}, "purpose": "notary.export.v1", "tool_version"}

(export/1 has no ``openings``) and ``manifest.sig`` is ``{"algorithm": "ecdsa-p256-sha256",
"key_fingerprint", "signature"}`` (canonical JSON): the notary key's ECDSA signature (DER,
base64) over the manifest's exact bytes. The export/2 token's imprint is SHA-256 of
``manifest.sig``'s bytes. ``docs/export.md`` and ``docs/formats.md`` section 6 fix every field.

:class:`ManifestWriter` makes the manifest's bytes from entries given in order without holding
them (an export of a million bundles has a manifest of about 100 MB); :func:`parse_manifest`
and :func:`parse_signature` read them back strictly.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from notary.verify.canonical import canonical_json, parse_canonical_json
from notary.verify.encoding import b64decode, b64encode
from notary.verify.errors import MalformedInput
from notary.verify.evidence.errors import MalformedManifest
from notary.verify.evidence.record import parse_time
from notary.verify.keys import ECDSA_P256
from notary.verify.vocabulary import ContractStatus

__all__ = [
    "BUNDLES_PREFIX",
    "EXPORT_FORMAT",
    "EXPORT_FORMATS",
    "EXPORT_FORMAT_V1",
    "EXPORT_PURPOSE",
    "MANIFEST",
    "NOTARY_CHAIN",
    "NOT_INCLUDED_STATUSES",
    "OPENINGS_PREFIX",
    "SIGNATURE",
    "TIMESTAMP",
    "TIMESTAMP_CHAIN",
    "ExportManifest",
    "MalformedExportManifest",
    "ManifestSignature",
    "ManifestWriter",
    "bundle_path",
    "contract_of",
    "opening_path",
    "parse_manifest",
    "parse_signature",
    "party_of",
    "signature_file",
]

EXPORT_FORMAT = "notary-export/2"
EXPORT_FORMAT_V1 = "notary-export/1"
EXPORT_FORMATS = (EXPORT_FORMAT_V1, EXPORT_FORMAT)
EXPORT_PURPOSE = "notary.export.v1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
NOTARY_CHAIN = "keys/notary.pem"
BUNDLES_PREFIX = "bundles/"
OPENINGS_PREFIX = "openings/"
#: export/2: an RFC 3161 token over SHA-256(manifest.sig's bytes), and its authority's chain.
TIMESTAMP = "timestamp/manifest.tsr"
TIMESTAMP_CHAIN = "timestamp/manifest-chain.pem"
#: Why a contract in scope is not in the export: its status, or ``evidence_pending`` for a
#: sealed contract whose timestamps or first checkpoint are not complete yet.
EVIDENCE_PENDING = "evidence_pending"
NOT_INCLUDED_STATUSES = (
    ContractStatus.AWAITING_SIGNATURES,
    ContractStatus.SIGNED,
    EVIDENCE_PENDING,
    ContractStatus.EXPIRED,
    ContractStatus.DECLINED,
)

_HEADER_FIELDS = frozenset(
    {"case", "exported_at", "exported_by", "format", "investigator", "purpose", "tool_version"}
)
_FIELDS = _HEADER_FIELDS | {"bundles", "not_included"}
_FIELDS_V2 = _FIELDS | {"openings"}
_CASE_FIELDS = frozenset({"case_id", "case_number", "legal_basis", "scope"})
_SCOPES = (frozenset({"platform_id"}), frozenset({"party_id"}), frozenset({"id_type", "id_number_masked"}))
_ACTOR_FIELDS = frozenset({"id", "kind"})
_ACTOR_KINDS = ("investigator", "operator")
_INVESTIGATOR_FIELDS = frozenset({"agency", "investigator_id", "name"})
_SIGNATURE_FIELDS = frozenset({"algorithm", "key_fingerprint", "signature"})
_CONTRACT_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")
_BUNDLE_PATH = re.compile(r"bundles/([A-Za-z0-9_-]{1,100})\.zip")
_OPENING_PATH = re.compile(r"openings/([A-Za-z0-9_-]{1,100})\.json")
_HEX64 = re.compile(r"[0-9a-f]{64}")


class MalformedExportManifest(MalformedManifest):
    """``manifest.json`` or ``manifest.sig`` of an export is not the canonical JSON the format
    defines (the same code as a bundle's malformed manifest)."""


def bundle_path(contract_id: str) -> str:
    """``bundles/<contract_id>.zip``; raises ``ValueError`` for an id that cannot be a member name."""
    if not _CONTRACT_ID.fullmatch(contract_id):
        raise ValueError(f"contract id {contract_id!r} cannot name a member")
    return f"{BUNDLES_PREFIX}{contract_id}.zip"


def contract_of(path: str) -> str | None:
    """The contract id of a bundle path, or None when ``path`` is not ``bundles/<id>.zip``."""
    match = _BUNDLE_PATH.fullmatch(path)
    return match.group(1) if match else None


def opening_path(party_id: str) -> str:
    """``openings/<party_id>.json``; raises ``ValueError`` for an id that cannot be a member name."""
    if not _CONTRACT_ID.fullmatch(party_id):
        raise ValueError(f"party id {party_id!r} cannot name a member")
    return f"{OPENINGS_PREFIX}{party_id}.json"


def party_of(path: str) -> str | None:
    """The party id of an opening path, or None when ``path`` is not ``openings/<id>.json``."""
    match = _OPENING_PATH.fullmatch(path)
    return match.group(1) if match else None


class _Section:
    """The members of one JSON object of the manifest, spooled as canonical ``"key":value`` text."""

    def __init__(self, spool_bytes: int) -> None:
        self.spool = tempfile.SpooledTemporaryFile(max_size=spool_bytes)  # noqa: SIM115 (ManifestWriter.close)
        self.last: str | None = None
        self.count = 0

    def add(self, key: str, value: str) -> None:
        # RFC 8785 orders keys by UTF-16 code units: for ASCII keys, Python's string order.
        if not key.isascii() or (self.last is not None and key <= self.last):
            raise ValueError(f"manifest keys must be ASCII and given in ascending order ({key!r})")
        self.spool.write((b"," if self.count else b"") + canonical_json(key) + b":" + canonical_json(value))
        self.last, self.count = key, self.count + 1

    def chunks(self) -> Iterator[bytes]:
        self.spool.seek(0)
        while chunk := self.spool.read(64 * 1024):
            yield chunk


class ManifestWriter:
    """The canonical bytes of ``manifest.json``, from entries given in ascending order.

    ``header`` holds the fields other than ``bundles``, ``not_included`` and (export/2)
    ``openings``; its ``format`` says which. Entries are
    spooled to temporary files (in memory while small), so memory does not grow with them;
    :meth:`chunks` may be read any number of times (to sign, then to send). Raises
    ``ValueError`` for a header without exactly its fields, and for entries out of order.
    """

    def __init__(self, header: Mapping[str, Any], *, spool_bytes: int = 256 * 1024) -> None:
        if set(header) != _HEADER_FIELDS or header["format"] not in EXPORT_FORMATS:
            raise ValueError(f"the manifest header needs exactly {sorted(_HEADER_FIELDS)}, of a known format")
        self._header = dict(header)
        self._fields = _FIELDS_V2 if header["format"] == EXPORT_FORMAT else _FIELDS
        self._sections = {name: _Section(spool_bytes) for name in self._fields - _HEADER_FIELDS}

    @property
    def bundle_count(self) -> int:
        return self._sections["bundles"].count

    @property
    def not_included_count(self) -> int:
        return self._sections["not_included"].count

    def add_bundle(self, contract_id: str, sha256: str) -> None:
        """List ``bundles/<contract_id>.zip`` with its SHA-256 (lowercase hex)."""
        if not _HEX64.fullmatch(sha256):
            raise ValueError("a bundle's SHA-256 is 64 lowercase hex digits")
        self._sections["bundles"].add(bundle_path(contract_id), sha256)

    def add_not_included(self, contract_id: str, status: str) -> None:
        """List a contract in scope whose evidence is not in the export, and why."""
        if status not in NOT_INCLUDED_STATUSES:
            raise ValueError(f"unknown status {status!r}")
        self._sections["not_included"].add(contract_id, status)

    @property
    def opening_count(self) -> int:
        return self._sections["openings"].count if "openings" in self._sections else 0

    def add_opening(self, party_id: str, sha256: str) -> None:
        """List ``openings/<party_id>.json`` with its SHA-256, the party's identity commitment
        (export/2 only)."""
        if "openings" not in self._sections:
            raise ValueError(f"{EXPORT_FORMAT_V1} has no openings")
        if not _HEX64.fullmatch(sha256):
            raise ValueError("an opening's SHA-256 is 64 lowercase hex digits")
        self._sections["openings"].add(opening_path(party_id), sha256)

    def chunks(self) -> Iterator[bytes]:
        """The manifest's bytes, in pieces."""
        first = True
        for key in sorted(self._fields):
            yield (b"{" if first else b",") + canonical_json(key) + b":"
            first = False
            if key in self._sections:
                yield b"{"
                yield from self._sections[key].chunks()
                yield b"}"
            else:
                yield canonical_json(self._header[key])
        yield b"}"

    def close(self) -> None:
        for section in self._sections.values():
            section.spool.close()


@dataclass(frozen=True)
class ExportManifest:
    """A parsed ``manifest.json``. Build it with :func:`parse_manifest`."""

    raw: bytes
    format: str
    case: Mapping[str, Any]
    exported_at: str
    exported_by: Mapping[str, str]
    investigator: Mapping[str, str]
    tool_version: str
    bundles: Mapping[str, str]
    not_included: Mapping[str, str]
    openings: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


def _object(value: object, fields: frozenset[str], what: str) -> dict[str, Any]:
    if not isinstance(value, dict) or value.keys() != fields:
        raise MalformedExportManifest(f"{what} must be an object of exactly {', '.join(sorted(fields))}")
    return value


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 1000 or not value.isprintable():
        raise MalformedExportManifest(f"{what} must be a non-empty printable string")
    return value


def _strings(value: dict[str, Any], what: str) -> Mapping[str, str]:
    return MappingProxyType({key: _text(item, f"{what}.{key}") for key, item in value.items()})


def parse_manifest(data: bytes) -> ExportManifest:
    """Parse ``manifest.json`` strictly: canonical JSON, exactly the fields of its format
    (export/2 or export/1) and purpose, a service time, bundle paths ``bundles/<id>.zip``
    and (export/2) opening paths ``openings/<id>.json`` with SHA-256 digests, and
    ``not_included`` statuses of the format, no contract in both. Raises
    :class:`MalformedExportManifest`."""
    try:
        value = parse_canonical_json(data, what=MANIFEST)
        kind = value.get("format") if isinstance(value, dict) else None
        value = _object(value, _FIELDS_V2 if kind == EXPORT_FORMAT else _FIELDS, MANIFEST)
        parse_time(value["exported_at"], what="exported_at")
    except MalformedExportManifest:
        raise
    except MalformedInput as exc:
        raise MalformedExportManifest(exc.message) from exc
    if value["format"] not in EXPORT_FORMATS or value["purpose"] != EXPORT_PURPOSE:
        raise MalformedExportManifest(
            f"{MANIFEST} must be format {' or '.join(EXPORT_FORMATS)}, purpose {EXPORT_PURPOSE}"
        )
    openings = value.get("openings", {})
    if not isinstance(openings, dict) or not all(
        party_of(path) is not None and isinstance(digest, str) and _HEX64.fullmatch(digest)
        for path, digest in openings.items()
    ):
        raise MalformedExportManifest("openings must map openings/<party_id>.json to a SHA-256")
    case = _object(value["case"], _CASE_FIELDS, "case")
    scope = case["scope"]
    if not isinstance(scope, dict) or frozenset(scope) not in _SCOPES:
        raise MalformedExportManifest(
            "case.scope must be {platform_id}, {party_id} or {id_type, id_number_masked}"
        )
    exported_by = _strings(_object(value["exported_by"], _ACTOR_FIELDS, "exported_by"), "exported_by")
    if exported_by["kind"] not in _ACTOR_KINDS:
        raise MalformedExportManifest("exported_by.kind must be investigator or operator")
    bundles, not_included = value["bundles"], value["not_included"]
    if not isinstance(bundles, dict) or not isinstance(not_included, dict):
        raise MalformedExportManifest("bundles and not_included must be objects")
    contracts = set()
    for path, digest in bundles.items():
        contract = contract_of(path)
        if contract is None or not isinstance(digest, str) or not _HEX64.fullmatch(digest):
            raise MalformedExportManifest(
                f"bundles: {path!r} must be bundles/<contract_id>.zip with a SHA-256"
            )
        contracts.add(contract)
    for contract, status in not_included.items():
        if (
            not _CONTRACT_ID.fullmatch(contract)
            or status not in NOT_INCLUDED_STATUSES
            or contract in contracts
        ):
            raise MalformedExportManifest(
                f"not_included: {contract!r} must be a contract id not exported, with a status"
            )
    return ExportManifest(
        raw=data,
        format=value["format"],
        case=MappingProxyType(
            {key: _text(case[key], f"case.{key}") for key in ("case_id", "case_number", "legal_basis")}
            | {"scope": _strings(scope, "case.scope")}
        ),
        exported_at=value["exported_at"],
        exported_by=exported_by,
        investigator=_strings(
            _object(value["investigator"], _INVESTIGATOR_FIELDS, "investigator"), "investigator"
        ),
        tool_version=_text(value["tool_version"], "tool_version"),
        bundles=MappingProxyType(bundles),
        not_included=MappingProxyType(not_included),
        openings=MappingProxyType(openings),
    )


@dataclass(frozen=True)
class ManifestSignature:
    """A parsed ``manifest.sig``."""

    algorithm: str
    key_fingerprint: str
    signature: bytes


def signature_file(*, key_fingerprint: str, signature: bytes) -> bytes:
    """The bytes of ``manifest.sig`` for an ECDSA P-256 signature (DER) by the key of that fingerprint."""
    return canonical_json(
        {"algorithm": ECDSA_P256, "key_fingerprint": key_fingerprint, "signature": b64encode(signature)}
    )


def parse_signature(data: bytes) -> ManifestSignature:
    """Parse ``manifest.sig``: canonical JSON of exactly its three fields, algorithm
    ``ecdsa-p256-sha256``, a 64-hex fingerprint, canonical base64. Raises
    :class:`MalformedExportManifest`."""
    try:
        value = parse_canonical_json(data, what=SIGNATURE)
    except MalformedInput as exc:
        raise MalformedExportManifest(exc.message) from exc
    value = _object(value, _SIGNATURE_FIELDS, SIGNATURE)
    if value["algorithm"] != ECDSA_P256:
        raise MalformedExportManifest(f"{SIGNATURE}: the algorithm must be {ECDSA_P256}")
    fingerprint = value["key_fingerprint"]
    if not isinstance(fingerprint, str) or not _HEX64.fullmatch(fingerprint):
        raise MalformedExportManifest(f"{SIGNATURE}: key_fingerprint must be 64 lowercase hex digits")
    try:
        signature = b64decode(value["signature"], what=f"{SIGNATURE} signature")
    except MalformedInput as exc:
        raise MalformedExportManifest(exc.message) from exc
    return ManifestSignature(ECDSA_P256, fingerprint, signature)
