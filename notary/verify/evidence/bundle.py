"""The evidence bundle, formats ``notary-evidence/1`` and ``/2``: its members, its builder and its model.

:func:`build_bundle` turns the stored evidence of one contract (:class:`BundleParts`) into
the zip a person downloads; it is pure and deterministic, so the service and the tests make
byte-identical bundles from the same parts. :meth:`EvidenceBundle.from_zip` opens a zip
safely (:mod:`notary.verify.archive`) and holds every member, checked or not: what the
members prove is for :func:`notary.verify.evidence.verifier.verify_bundle` to establish.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from notary.verify.archive import BUNDLE_LIMITS, ArchiveLimits, MalformedBundle, read_archive, write_archive
from notary.verify.canonical import canonical_json, parse_canonical_json
from notary.verify.encoding import hex_digest
from notary.verify.errors import MalformedInput
from notary.verify.evidence.readme import readme_text
from notary.verify.evidence.record import parse_time
from notary.verify.keys import PublicKey
from notary.verify.payloads import sha256_hex
from notary.verify.timestamp.pem import load_pem_certificates

__all__ = [
    "BUNDLE_FORMAT",
    "BUNDLE_FORMATS",
    "DOCUMENT_EXTENSIONS",
    "BundleParts",
    "CheckpointToken",
    "EvidenceBundle",
    "InclusionProof",
    "LaterEvent",
    "LaterEvidence",
    "MalformedBundle",
    "build_bundle",
    "document_extension",
]

#: What the builder writes; a verifier reads both (docs/formats.md section 5).
BUNDLE_FORMAT = "notary-evidence/2"
BUNDLE_FORMATS = ("notary-evidence/1", BUNDLE_FORMAT)

MANIFEST = "manifest.json"
TERMS = "terms.json"
RECORD = "record.json"
PARTY_KEYS = {"investor": "keys/investor.pem", "borrower": "keys/borrower.pem"}
NOTARY_CHAIN = "keys/notary.pem"
RECORD_TOKEN = "timestamp/record.tsr"  # noqa: S105 (a file name)
RECORD_TSA_CHAIN = "timestamp/tsa-chain.pem"
INCLUSION = "log/inclusion.json"
CHECKPOINT = "log/checkpoint.txt"
LOG_KEY = "log/key.json"
README = "README.txt"
#: ``later/`` (evidence/2, issue 25): a later checkpoint and the key events it includes.
LATER_CHECKPOINT = "later/checkpoint.txt"
LATER_CONSISTENCY = "later/consistency.json"

#: Media type → extension of ``document.<ext>``; any other type is ``bin``.
DOCUMENT_EXTENSIONS: Mapping[str, str] = {
    "application/pdf": "pdf",
    "application/ofd": "ofd",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/msword": "doc",
    "text/plain": "txt",
    "text/html": "html",
    "application/xml": "xml",
    "image/png": "png",
    "image/jpeg": "jpg",
}

_DOCUMENT = re.compile(r"document\.[a-z0-9]{1,10}")
_CHECKPOINT_TOKEN = re.compile(r"timestamp/checkpoint-([1-9][0-9]{0,2})\.tsr")
_CHECKPOINT_CHAIN = re.compile(r"timestamp/checkpoint-([1-9][0-9]{0,2})-chain\.pem")
_LATER_TOKEN = re.compile(r"later/checkpoint-([1-9][0-9]{0,2})\.tsr")
_LATER_CHAIN = re.compile(r"later/checkpoint-([1-9][0-9]{0,2})-chain\.pem")
_LATER_EVENT = re.compile(r"later/events/(0|[1-9][0-9]{0,19})\.json")
_LATER_EVENT_INCLUSION = re.compile(r"later/events/(0|[1-9][0-9]{0,19})-inclusion\.json")
_LATER_PATTERNS = (_LATER_TOKEN, _LATER_CHAIN, _LATER_EVENT, _LATER_EVENT_INCLUSION)
_FIXED_MEMBERS = frozenset(
    {MANIFEST, TERMS, RECORD, *PARTY_KEYS.values(), NOTARY_CHAIN, RECORD_TOKEN, RECORD_TSA_CHAIN}
    | {INCLUSION, CHECKPOINT, LOG_KEY, README, LATER_CHECKPOINT, LATER_CONSISTENCY}
)
_INCLUSION_FIELDS = frozenset({"leaf_index", "tree_size", "hashes"})
_MAX_PROOF_HASHES = 64
_MAX_INDEX = 2**64 - 1


def document_extension(media_type: str) -> str:
    """The extension of the document member for ``media_type`` (``bin`` when unknown)."""
    return DOCUMENT_EXTENSIONS.get(media_type.split(";", 1)[0].strip().lower(), "bin")


def checkpoint_token_name(k: int) -> str:
    """``timestamp/checkpoint-K.tsr``, K from 1."""
    return f"timestamp/checkpoint-{k}.tsr"


def checkpoint_chain_name(k: int) -> str:
    """``timestamp/checkpoint-K-chain.pem``, K from 1."""
    return f"timestamp/checkpoint-{k}-chain.pem"


def later_token_name(k: int) -> str:
    """``later/checkpoint-K.tsr``, K from 1: a token over the later checkpoint's body."""
    return f"later/checkpoint-{k}.tsr"


def later_chain_name(k: int) -> str:
    """``later/checkpoint-K-chain.pem``, K from 1."""
    return f"later/checkpoint-{k}-chain.pem"


def event_name(leaf_index: int) -> str:
    """``later/events/<leaf_index>.json``: a key event leaf, byte for byte."""
    return f"later/events/{leaf_index}.json"


def event_inclusion_name(leaf_index: int) -> str:
    """``later/events/<leaf_index>-inclusion.json``: its inclusion in the later checkpoint."""
    return f"later/events/{leaf_index}-inclusion.json"


def is_member_name(name: str) -> bool:
    """Whether ``name`` is a member ``notary-evidence/1`` defines (not whether it belongs in a given bundle)."""
    return (
        name in _FIXED_MEMBERS
        or bool(_DOCUMENT.fullmatch(name))
        or bool(_CHECKPOINT_TOKEN.fullmatch(name) or _CHECKPOINT_CHAIN.fullmatch(name))
        or any(pattern.fullmatch(name) for pattern in _LATER_PATTERNS)
    )


@dataclass(frozen=True)
class InclusionProof:
    """``log/inclusion.json``: the record's leaf index, the tree size and the proof hashes."""

    leaf_index: int
    tree_size: int
    hashes: tuple[bytes, ...]

    def to_dict(self) -> dict[str, Any]:
        """As ``GET /log/proof/inclusion`` answers it: hashes in lowercase hex."""
        return {
            "leaf_index": self.leaf_index,
            "tree_size": self.tree_size,
            "hashes": [value.hex() for value in self.hashes],
        }

    @classmethod
    def from_json(cls, data: bytes) -> InclusionProof:
        """Parse canonical JSON ``{leaf_index, tree_size, hashes}``; raises :class:`MalformedInput`.

        Sizes must be integers from 0 to 2**64-1 and hashes 64 lowercase hex digits; at most
        64 hashes (a tree of 2**64 leaves needs no more).
        """
        value = parse_canonical_json(data, what=INCLUSION)
        if not isinstance(value, dict) or value.keys() != _INCLUSION_FIELDS:
            raise MalformedInput(f"{INCLUSION} must hold exactly leaf_index, tree_size and hashes")
        for name in ("leaf_index", "tree_size"):
            number = value[name]
            if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number <= _MAX_INDEX:
                raise MalformedInput(f"{INCLUSION}: {name} must be an integer from 0 to 2**64-1")
        hashes = value["hashes"]
        if not isinstance(hashes, list) or len(hashes) > _MAX_PROOF_HASHES:
            raise MalformedInput(f"{INCLUSION}: hashes must be a list of at most {_MAX_PROOF_HASHES}")
        decoded = tuple(hex_digest(item, what=f"{INCLUSION} hash") for item in hashes)
        return cls(value["leaf_index"], value["tree_size"], decoded)


@dataclass(frozen=True)
class CheckpointToken:
    """An RFC 3161 token over the checkpoint body, and its authority's chain (leaf first, PEM)."""

    token: bytes
    chain_pem: bytes


@dataclass(frozen=True)
class LogKey:
    """The log key a bundle names (``log/key.json``): the object ``GET /log/key`` answers."""

    origin: str
    verifier_key: str
    public_key_pem: str
    algorithm: str = "ed25519"

    FIELDS: ClassVar[frozenset[str]] = frozenset({"origin", "verifier_key", "public_key_pem", "algorithm"})

    @classmethod
    def from_dict(cls, value: object) -> LogKey:
        """The key from its JSON object: exactly its four fields, strings, algorithm ``ed25519``.
        Raises :class:`MalformedInput` (whether the fields name one key is checked by
        :func:`~notary.verify.evidence.log_checks.check_log_key`)."""
        if not isinstance(value, dict) or value.keys() != cls.FIELDS:
            raise MalformedInput(
                f"{LOG_KEY} must hold exactly origin, verifier_key, public_key_pem and algorithm"
            )
        key = cls(value["origin"], value["verifier_key"], value["public_key_pem"], value["algorithm"])
        if key.algorithm != "ed25519" or not all(
            isinstance(item, str) for item in (key.origin, key.verifier_key, key.public_key_pem)
        ):
            raise MalformedInput(f"{LOG_KEY}: algorithm must be ed25519 and every field a string")
        return key

    def to_dict(self) -> dict[str, str]:
        return {
            "origin": self.origin,
            "verifier_key": self.verifier_key,
            "public_key_pem": self.public_key_pem,
            "algorithm": self.algorithm,
        }


@dataclass(frozen=True)
class ConsistencyProof:
    """``later/consistency.json``: from the bundle's checkpoint (``first``) to the later one."""

    first: int
    second: int
    hashes: tuple[bytes, ...]

    def to_dict(self) -> dict[str, Any]:
        """As ``GET /log/proof/consistency`` answers it: hashes in lowercase hex."""
        return {"first": self.first, "second": self.second, "hashes": [value.hex() for value in self.hashes]}

    @classmethod
    def from_json(cls, data: bytes) -> ConsistencyProof:
        """Parse canonical JSON ``{first, second, hashes}``; raises :class:`MalformedInput`
        (sizes not integers from 0 to 2**64-1, more than 128 hashes, a hash not 64 hex digits)."""
        value = parse_canonical_json(data, what=LATER_CONSISTENCY)
        if not isinstance(value, dict) or value.keys() != {"first", "second", "hashes"}:
            raise MalformedInput(f"{LATER_CONSISTENCY} must hold exactly first, second and hashes")
        for name in ("first", "second"):
            number = value[name]
            if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number <= _MAX_INDEX:
                raise MalformedInput(f"{LATER_CONSISTENCY}: {name} must be an integer from 0 to 2**64-1")
        hashes = value["hashes"]
        if not isinstance(hashes, list) or len(hashes) > 2 * _MAX_PROOF_HASHES:
            raise MalformedInput(f"{LATER_CONSISTENCY}: hashes must be a list of at most 128")
        decoded = tuple(hex_digest(item, what=f"{LATER_CONSISTENCY} hash") for item in hashes)
        return cls(value["first"], value["second"], decoded)


@dataclass(frozen=True)
class LaterEvent:
    """A key event leaf (revocation, rotation, unbinding) and its inclusion in the later checkpoint."""

    leaf: bytes
    inclusion: InclusionProof


@dataclass(frozen=True)
class LaterEvidence:
    """``later/``: a later signed checkpoint with its tokens, its consistency with the
    bundle's checkpoint, and the key events about this record's keys that it includes."""

    checkpoint: str
    checkpoint_tokens: tuple[CheckpointToken, ...]
    consistency: ConsistencyProof
    events: tuple[LaterEvent, ...]


@dataclass(frozen=True)
class BundleParts:
    """Everything a bundle holds, as the service stores it.

    ``terms`` and ``record`` are the exact stored bytes (canonical JSON); ``created_at`` is the
    ready time (RFC 3339 with milliseconds), written into the manifest and as every member's
    time. ``checkpoint_tokens`` are in the order of the configured authorities (K = 1, 2, ...);
    ``log_key`` is the object ``GET /log/key`` answers. ``later`` is present only when a key
    event about this record's keys has been logged (and its checkpoint stamped) since.
    """

    contract_id: str
    created_at: str
    document: bytes
    media_type: str
    terms: bytes
    record: bytes
    investor_key_pem: bytes
    borrower_key_pem: bytes
    notary_chain_pem: bytes
    record_token: bytes
    record_tsa_chain_pem: bytes
    checkpoint_tokens: tuple[CheckpointToken, ...]
    inclusion_proof: InclusionProof
    checkpoint: str
    log_key: LogKey
    later: LaterEvidence | None = None


# Cached: a case export builds thousands of bundles from the same few chains and keys.
@functools.lru_cache(maxsize=1024)
def _key_pem(pem: bytes, what: str) -> bytes:
    try:
        return PublicKey.from_pem(pem).pem.encode("ascii")
    except MalformedInput as exc:
        raise MalformedInput(f"{what}: {exc.message}") from exc


@functools.lru_cache(maxsize=256)
def _chain_pem(pem: bytes, what: str) -> bytes:
    certificates = load_pem_certificates(pem, what=what, canonical=False)
    return b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in certificates)


def bundle_members(parts: BundleParts) -> list[tuple[str, bytes]]:
    """The members of the bundle of ``parts``, in their fixed order, manifest first.

    PEM members are written in canonical PEM (what the verifier requires). Raises
    :class:`MalformedInput` when a part cannot be what it claims to be: a time not in the
    service's form, a key or certificate that does not parse, no checkpoint token.
    """
    parse_time(parts.created_at, what="created_at")
    if not parts.checkpoint_tokens:
        raise MalformedInput("a bundle is ready only once its checkpoint has a timestamp")
    document_name = f"document.{document_extension(parts.media_type)}"
    members: list[tuple[str, bytes]] = [
        (document_name, parts.document),
        (TERMS, parts.terms),
        (RECORD, parts.record),
        (PARTY_KEYS["investor"], _key_pem(parts.investor_key_pem, "investor key")),
        (PARTY_KEYS["borrower"], _key_pem(parts.borrower_key_pem, "borrower key")),
        (NOTARY_CHAIN, _chain_pem(parts.notary_chain_pem, "notary chain")),
        (RECORD_TOKEN, parts.record_token),
        (RECORD_TSA_CHAIN, _chain_pem(parts.record_tsa_chain_pem, "record TSA chain")),
    ]
    for k, token in enumerate(parts.checkpoint_tokens, start=1):
        members.append((checkpoint_token_name(k), token.token))
        members.append((checkpoint_chain_name(k), _chain_pem(token.chain_pem, f"checkpoint TSA chain {k}")))
    members += [
        (INCLUSION, canonical_json(parts.inclusion_proof.to_dict())),
        (CHECKPOINT, parts.checkpoint.encode("utf-8")),
        (LOG_KEY, canonical_json(parts.log_key.to_dict())),
        *_later_members(parts.later),
        (README, readme_text(document_name, len(parts.checkpoint_tokens)).encode("utf-8")),
    ]
    manifest = {
        "format": BUNDLE_FORMAT,
        "contract_id": parts.contract_id,
        "created_at": parts.created_at,
        "files": {name: sha256_hex(content) for name, content in members},
    }
    return [(MANIFEST, canonical_json(manifest)), *members]


def _later_members(later: LaterEvidence | None) -> list[tuple[str, bytes]]:
    if later is None:
        return []
    if not later.checkpoint_tokens or not later.events:
        raise MalformedInput("later/ needs a stamped checkpoint and at least one event")
    members = [(LATER_CHECKPOINT, later.checkpoint.encode("utf-8"))]
    for k, token in enumerate(later.checkpoint_tokens, start=1):
        members.append((later_token_name(k), token.token))
        members.append((later_chain_name(k), _chain_pem(token.chain_pem, f"later checkpoint TSA chain {k}")))
    members.append((LATER_CONSISTENCY, canonical_json(later.consistency.to_dict())))
    for event in sorted(later.events, key=lambda item: item.inclusion.leaf_index):
        index = event.inclusion.leaf_index
        members.append((event_name(index), event.leaf))
        members.append((event_inclusion_name(index), canonical_json(event.inclusion.to_dict())))
    return members


def build_bundle(parts: BundleParts) -> bytes:
    """The bundle zip of ``parts``: same parts, same bytes.

    Members in the order of ``api.md`` (manifest first, README last), stored, each dated
    ``created_at``. Raises :class:`MalformedInput` as :func:`bundle_members` does.
    """
    return write_archive(bundle_members(parts), modified=parse_time(parts.created_at, what="created_at"))


@dataclass(frozen=True)
class EvidenceBundle:
    """Every member of a bundle, in archive order, not yet verified. Build with :meth:`from_zip`."""

    members: tuple[tuple[str, bytes], ...]

    @classmethod
    def from_zip(cls, data: bytes, *, limits: ArchiveLimits = BUNDLE_LIMITS) -> EvidenceBundle:
        """Open a bundle; raises :class:`MalformedBundle` for an unsafe or damaged zip (see
        :func:`~notary.verify.archive.read_archive`) and for a zip that is no evidence bundle at
        all (neither ``manifest.json`` nor ``record.json`` in it). Missing or unexpected members
        are left for verification to report."""
        members = read_archive(data, limits=limits)
        if MANIFEST not in members and RECORD not in members:
            raise MalformedBundle(
                "the zip holds neither manifest.json nor record.json: not an evidence bundle"
            )
        return cls(tuple(members.items()))

    @classmethod
    def of(cls, members: Sequence[tuple[str, bytes]]) -> EvidenceBundle:
        """A bundle from members already in memory (for callers that assembled them)."""
        return cls(tuple(members))

    @property
    def format(self) -> str:
        """The format its manifest names when that is one this verifier knows, else the
        current one (the ``manifest`` check reports a manifest that cannot be read)."""
        try:
            value = json.loads(self.get(MANIFEST) or b"null")
        except ValueError:
            return BUNDLE_FORMAT
        named = value.get("format") if isinstance(value, dict) else None
        return named if named in BUNDLE_FORMATS else BUNDLE_FORMAT

    @property
    def names(self) -> tuple[str, ...]:
        """Member names in archive order."""
        return tuple(name for name, _ in self.members)

    def get(self, name: str) -> bytes | None:
        """The bytes of member ``name``, or None when the bundle lacks it."""
        for member, content in self.members:
            if member == name:
                return content
        return None

    @property
    def document_names(self) -> tuple[str, ...]:
        """Every ``document.<ext>`` member (a bundle has exactly one)."""
        return tuple(name for name in self.names if _DOCUMENT.fullmatch(name))

    @property
    def later_token_indices(self) -> tuple[int, ...]:
        """The K of every ``later/checkpoint-K`` token or chain present, ascending."""
        return _indices(self.names, _LATER_TOKEN, _LATER_CHAIN)

    @property
    def later_event_indices(self) -> tuple[int, ...]:
        """The leaf index of every ``later/events/`` leaf or inclusion proof present, ascending."""
        return _indices(self.names, _LATER_EVENT, _LATER_EVENT_INCLUSION)

    @property
    def has_later(self) -> bool:
        """Whether any ``later/`` member is present."""
        return any(name.startswith("later/") for name in self.names)

    @property
    def checkpoint_token_indices(self) -> tuple[int, ...]:
        """The K of every ``timestamp/checkpoint-K`` token or chain present, ascending."""
        found = set()
        for name in self.names:
            match = _CHECKPOINT_TOKEN.fullmatch(name) or _CHECKPOINT_CHAIN.fullmatch(name)
            if match:
                found.add(int(match.group(1)))
        return tuple(sorted(found))


def _indices(names: Sequence[str], *patterns: re.Pattern[str]) -> tuple[int, ...]:
    found = set()
    for name in names:
        for pattern in patterns:
            if match := pattern.fullmatch(name):
                found.add(int(match.group(1)))
    return tuple(sorted(found))


def load_chain(bundle: EvidenceBundle, name: str) -> tuple[x509.Certificate, ...]:
    """The certificates of PEM member ``name``; raises :class:`MalformedInput` when it is
    missing or not exactly canonical PEM certificates."""
    data = bundle.get(name)
    if data is None:
        raise MalformedInput(f"{name} is missing")
    return load_pem_certificates(data, what=name)
