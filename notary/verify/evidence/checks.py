"""The checks of a bundle's contract evidence: manifest, record, document, terms, signatures,
timestamps and the notary's certificate. The log's checks are in :mod:`notary.verify.evidence.log_checks`.

Each check takes parsed inputs and returns a :class:`Passed` (a reason for a person, details
for a machine, and the value later checks build on) or raises a
:class:`~notary.verify.errors.NotaryError` whose code names the cause.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from notary.verify.canonical import parse_canonical_json
from notary.verify.errors import InvalidSignature as InvalidSignatureError
from notary.verify.errors import MalformedInput
from notary.verify.evidence.bundle import (
    BUNDLE_FORMAT,
    BUNDLE_FORMATS,
    CHECKPOINT,
    INCLUSION,
    LOG_KEY,
    MANIFEST,
    NOTARY_CHAIN,
    PARTY_KEYS,
    README,
    RECORD,
    RECORD_TOKEN,
    RECORD_TSA_CHAIN,
    TERMS,
    EvidenceBundle,
    checkpoint_chain_name,
    checkpoint_token_name,
    is_member_name,
    load_chain,
)
from notary.verify.evidence.errors import (
    DigestMismatch,
    KeyMismatch,
    MalformedManifest,
    ManifestMismatch,
    MissingMember,
    TermsMismatch,
    TimestampChainMismatch,
    TimestampInFuture,
    UnexpectedMember,
    UntrustedNotaryChain,
)
from notary.verify.evidence.record import EvidenceRecord, RecordSignature, parse_record, parse_time
from notary.verify.identity import BadEnrolmentProof, IdentityOpening, OpeningMismatch
from notary.verify.keys import PublicKey
from notary.verify.payloads import RECORD_FORMAT, ROLES, format_time, sha256_hex
from notary.verify.report import CLAIMED, PROVEN, UNSALTED, IdentityFact
from notary.verify.timestamp.chain import CertificateNotValidAt, UntrustedChain, validate_path
from notary.verify.timestamp.verifier import TimestampInfo, verify_timestamp
from notary.verify.trust import TrustFile

#: id-kp-documentSigning (RFC 9336): what the notary's certificate is for.
DOCUMENT_SIGNING = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")
#: A token may be stamped this far after the verifier's clock (clocks drift) and still pass.
CLOCK_SKEW = dt.timedelta(minutes=5)

_MANIFEST_FIELDS = frozenset({"format", "contract_id", "created_at", "files"})
_REQUIRED = (
    TERMS,
    RECORD,
    *PARTY_KEYS.values(),
    NOTARY_CHAIN,
    RECORD_TOKEN,
    RECORD_TSA_CHAIN,
    INCLUSION,
    CHECKPOINT,
    LOG_KEY,
    README,
)

T = TypeVar("T")


@dataclass(frozen=True)
class Passed(Generic[T]):
    """A check that passed: why, in words and data, and what it established (``value``, which
    the checks that need this one receive; ``None`` for a check that establishes nothing)."""

    reason: str
    details: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    value: T = None  # type: ignore[assignment]  # only a Passed[None] leaves it out


@dataclass(frozen=True)
class Anchors:
    """The trust anchors of one verification: a trust file, or the bundle's own keys."""

    trust: TrustFile | None

    def tsa_roots(self, chain: Sequence[x509.Certificate]) -> tuple[x509.Certificate, ...]:
        """Roots for a token: the trust file's, or the self-signed certificates of its chain."""
        if self.trust is not None:
            return self.trust.tsa_roots
        return _self_signed(chain)

    def notary_roots(self, chain: Sequence[x509.Certificate]) -> tuple[x509.Certificate, ...]:
        """Roots for the notary's certificate, likewise."""
        if self.trust is not None:
            return self.trust.notary_roots
        return _self_signed(chain)


@functools.lru_cache(maxsize=64)
def _signs_itself(cert: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _self_signed(chain: Sequence[x509.Certificate]) -> tuple[x509.Certificate, ...]:
    """The roots a chain file states: self-issued and self-signed. The self-signature proves
    nothing about trust; checking it makes every byte of the bundle's root matter. (The same
    few roots come in every bundle, hence the cache, keyed by the certificate's bytes.)"""
    return tuple(cert for cert in chain if cert.subject == cert.issuer and _signs_itself(cert))


def member(bundle: EvidenceBundle, name: str) -> bytes:
    """Member ``name``; raises :class:`MissingMember` when the bundle lacks it."""
    data = bundle.get(name)
    if data is None:
        raise MissingMember(f"{name} is missing from the bundle", details={"member": name})
    return data


def chain_of(bundle: EvidenceBundle, name: str) -> tuple[x509.Certificate, ...]:
    """The certificates of PEM member ``name``; raises :class:`MissingMember` or :class:`MalformedInput`."""
    member(bundle, name)
    return load_chain(bundle, name)


def _required_members(bundle: EvidenceBundle) -> None:
    for name in bundle.names:
        if name != MANIFEST and not is_member_name(name):
            raise UnexpectedMember(f"{name} is not a member of {BUNDLE_FORMAT}", details={"member": name})
    for name in _REQUIRED:
        member(bundle, name)
    documents = bundle.document_names
    if len(documents) != 1:
        raise (MissingMember if not documents else UnexpectedMember)(
            f"a bundle holds exactly one document.<ext>, this one {len(documents)}",
            details={"members": list(documents)},
        )
    indices = bundle.checkpoint_token_indices or (1,)
    for k in range(1, max(indices) + 1):
        member(bundle, checkpoint_token_name(k))
        member(bundle, checkpoint_chain_name(k))


def check_manifest(bundle: EvidenceBundle, record: EvidenceRecord | None) -> Passed[dict[str, Any]]:
    """``manifest.json`` lists exactly the other members, each with its SHA-256, and names
    the record's contract. Also checks that every member the format requires is present
    and none it does not define is. Raises :class:`MissingMember`, :class:`UnexpectedMember`,
    :class:`MalformedManifest`, :class:`ManifestMismatch`."""
    try:
        manifest = parse_canonical_json(member(bundle, MANIFEST), what=MANIFEST)
    except MalformedInput as exc:
        raise MalformedManifest(exc.message) from exc
    if not isinstance(manifest, dict) or manifest.keys() != _MANIFEST_FIELDS:
        raise MalformedManifest(f"{MANIFEST} must hold exactly format, contract_id, created_at and files")
    if not isinstance(manifest["contract_id"], str) or not manifest["contract_id"]:
        raise MalformedManifest("manifest contract_id must be a non-empty string")
    if manifest["format"] not in BUNDLE_FORMATS:
        raise MalformedManifest(
            f"bundle format {manifest['format']!r} is not one of {', '.join(BUNDLE_FORMATS)}; "
            "this verifier refuses formats it does not know"
        )
    if manifest["format"] == BUNDLE_FORMATS[0] and record is not None and record.format != RECORD_FORMAT:
        raise ManifestMismatch(
            f"a {BUNDLE_FORMATS[0]} bundle holds a {RECORD_FORMAT} record, not {record.format}",
            details={"format": manifest["format"], "record_format": record.format},
        )
    try:
        parse_time(manifest["created_at"], what="manifest created_at")
    except MalformedInput as exc:
        raise MalformedManifest(exc.message) from exc
    files = manifest["files"]
    if not isinstance(files, dict) or not all(isinstance(value, str) for value in files.values()):
        raise MalformedManifest("manifest files must map each path to its SHA-256 in hex")
    _required_members(bundle)
    present = set(bundle.names) - {MANIFEST}
    if absent := sorted(set(files) - present):
        raise ManifestMismatch(
            f"the manifest lists {absent[0]}, which the bundle lacks", details={"member": absent[0]}
        )
    if unlisted := sorted(present - set(files)):
        raise ManifestMismatch(
            f"{unlisted[0]} is in the bundle but not in the manifest", details={"member": unlisted[0]}
        )
    for name, content in bundle.members:
        if name != MANIFEST and files[name] != sha256_hex(content):
            raise ManifestMismatch(
                f"{name} does not have the SHA-256 the manifest lists",
                details={"member": name, "listed": files[name], "actual": sha256_hex(content)},
            )
    if record is not None and manifest["contract_id"] != record.contract_id:
        raise ManifestMismatch(
            f"the manifest is for contract {manifest['contract_id']!r}, the record for {record.contract_id!r}",
            details={"manifest": manifest["contract_id"], "record": record.contract_id},
        )
    return Passed(
        f"all {len(files)} members match their SHA-256 in the manifest",
        {"members": len(files), "created_at": manifest["created_at"]},
        manifest,
    )


def check_record(bundle: EvidenceBundle) -> Passed[EvidenceRecord]:
    """``record.json`` is a well-formed ``notary-record/1`` or ``/2`` record; raises what
    :func:`~notary.verify.evidence.record.parse_record` raises, or :class:`MissingMember`."""
    record = parse_record(member(bundle, RECORD))
    return Passed(
        f"record {record.sha256[:16]}… of contract {record.contract_id}, sequence {record.sequence}",
        {"record_sha256": record.sha256, "sequence": record.sequence, "contract_id": record.contract_id},
        record,
    )


def _digest(content: bytes, record: EvidenceRecord, what: str) -> None:
    actual = sha256_hex(content)
    if actual != record.document_sha256 or len(content) != record.document_size:
        raise DigestMismatch(
            f"{what} is not the document the parties signed",
            details={
                "document": what,
                "expected_sha256": record.document_sha256,
                "actual_sha256": actual,
                "expected_size": record.document_size,
                "actual_size": len(content),
            },
        )


def check_document(bundle: EvidenceBundle, record: EvidenceRecord, given: bytes | None) -> Passed[str]:
    """The bundle's document (and the document given, if any) has the record's SHA-256 and
    size. Raises :class:`DigestMismatch`, :class:`MissingMember`, :class:`UnexpectedMember`."""
    names = bundle.document_names
    if len(names) != 1:
        raise (MissingMember if not names else UnexpectedMember)(
            f"a bundle holds exactly one document.<ext>, this one {len(names)}",
            details={"members": list(names)},
        )
    _digest(member(bundle, names[0]), record, names[0])
    if given is not None:
        _digest(given, record, "the document given")
    source = "the bundle's and the one given" if given is not None else "the bundle's"
    return Passed(
        f"{source} document has SHA-256 {record.document_sha256[:16]}… and {record.document_size} bytes",
        {"document_sha256": record.document_sha256, "member": names[0], "document_given": given is not None},
        record.document_sha256,
    )


def check_terms(bundle: EvidenceBundle, record: EvidenceRecord) -> Passed[dict[str, Any]]:
    """``terms.json`` is canonical, has the record's ``terms_sha256`` and names the record's
    parties. Raises :class:`DigestMismatch`, :class:`TermsMismatch`, :class:`MalformedInput`."""
    content = member(bundle, TERMS)
    actual = sha256_hex(content)
    if actual != record.terms_sha256:
        raise DigestMismatch(
            "terms.json is not the terms the parties signed",
            details={"expected_sha256": record.terms_sha256, "actual_sha256": actual},
        )
    terms = parse_canonical_json(content, what=TERMS)
    if not isinstance(terms, dict):
        raise TermsMismatch("terms.json is not a JSON object")
    for role in ROLES:
        if terms.get(role) != record.signatures[role].party_id:
            raise TermsMismatch(
                f"the terms name {terms.get(role)!r} as {role}, the record {record.signatures[role].party_id!r}",
                details={"role": role},
            )
    return Passed(f"terms.json has SHA-256 {actual[:16]}…", {"terms_sha256": actual}, terms)


def check_signature(bundle: EvidenceBundle, record: EvidenceRecord, role: str) -> Passed[RecordSignature]:
    """``role``'s key file is the key the record names, and its signature in the record
    verifies over the signing payload rebuilt from the record. Raises :class:`KeyMismatch`,
    :class:`~notary.verify.errors.InvalidSignature`, :class:`MalformedInput`."""
    name = PARTY_KEYS[role]
    pem = member(bundle, name)
    key = PublicKey.from_pem(pem)
    if key.pem.encode("ascii") != pem:
        raise MalformedInput(f"{name} is not exactly one public key in canonical PEM")
    signature = record.signatures[role]
    if key.fingerprint != signature.key_fingerprint or key.algorithm != signature.algorithm:
        raise KeyMismatch(
            f"{name} is not the key the record names for the {role}",
            details={
                "expected_fingerprint": signature.key_fingerprint,
                "actual_fingerprint": key.fingerprint,
                "expected_algorithm": signature.algorithm,
                "actual_algorithm": key.algorithm,
            },
        )
    key.verify(signature.signature, record.signing_payload(role))
    return Passed(
        f"the {role} {signature.party_id} signed the contract ({signature.algorithm}, key {key.fingerprint[:16]}…)",
        {"party_id": signature.party_id, "key_fingerprint": key.fingerprint, "algorithm": key.algorithm},
        signature,
    )


def check_identity(
    bundle: EvidenceBundle, record: EvidenceRecord, role: str, openings: Sequence[IdentityOpening]
) -> Passed[IdentityFact]:
    """What the record says of ``role``'s identity, and how far it is proven.

    A record/2's ``enrolment_proof``, when present, must verify with the role's key over the
    ``notary.enrol.v2`` payload rebuilt from the record (the key holder bound its key to that
    commitment); an opening among ``openings`` that hashes to the commitment (or, for a
    record/1, to its unsalted hash) makes the identity *proven*. Raises
    :class:`BadEnrolmentProof`; the value is an :class:`IdentityFact`.
    """
    entry = record.signatures[role]
    commitment_by = None
    if entry.salted:
        commitment_by = "notary"
        payload = record.enrolment_payload(role)
        if entry.enrolment_proof is not None and payload is not None:
            key = PublicKey.from_pem(member(bundle, PARTY_KEYS[role]))
            try:
                key.verify(entry.enrolment_proof, payload)
            except InvalidSignatureError as exc:
                raise BadEnrolmentProof(
                    f"the {role}'s enrolment proof does not verify with its key over its identity commitment",
                    details={"role": role},
                ) from exc
            commitment_by = "party"
    opened = next((o for o in openings if o.opens(entry.identity_digest, salted=entry.salted)), None)
    if opened is not None:
        fact = IdentityFact(PROVEN, commitment_by, opened.id_type, opened.id_number_masked)
        reason = f"the {role}'s identity is proven by the opening given: {opened.id_type} {opened.id_number_masked}"
    elif entry.salted:
        fact = IdentityFact(CLAIMED, commitment_by)
        reason = (
            f"the {role}'s identity is a salted commitment "
            + ("its key signed" if commitment_by == "party" else "the notary made (enrolled before record/2)")
            + "; claimed, not proven (no opening given)"
        )
    else:
        fact = IdentityFact(UNSALTED)
        reason = f"the {role}'s identity is round 1's unsalted hash; claimed, not proven (no opening given)"
    return Passed(reason, fact.to_dict(), fact)


def check_openings(record: EvidenceRecord, openings: Sequence[IdentityOpening]) -> Passed[list[str]]:
    """Every opening given matches the identity of a party in the record; raises
    :class:`OpeningMismatch` naming the first that matches none (a wrong file given)."""
    matched: list[str] = []
    for index, opening in enumerate(openings):
        roles = [
            role
            for role, entry in record.signatures.items()
            if opening.opens(entry.identity_digest, salted=entry.salted)
        ]
        if not roles:
            raise OpeningMismatch(
                f"opening {index + 1} ({opening.id_type} {opening.id_number_masked}) matches no party of this record",
                details={"opening": index + 1, "sha256": opening.commitment},
            )
        matched += roles
    return Passed(f"every opening given matches a party: {', '.join(matched)}", {"roles": matched}, matched)


def verify_token(
    bundle: EvidenceBundle,
    token_name: str,
    chain_name: str,
    message: bytes,
    anchors: Anchors,
    now: dt.datetime,
) -> TimestampInfo:
    """Verify token member ``token_name`` over ``message``, its signer's chain from
    ``chain_name`` ending in a trusted root (see :class:`Anchors`). Raises what
    :func:`~notary.verify.timestamp.verifier.verify_timestamp` raises, :class:`MissingMember`,
    :class:`MalformedInput` (chain file), :class:`TimestampChainMismatch`,
    :class:`TimestampInFuture`."""
    token = member(bundle, token_name)
    chain = chain_of(bundle, chain_name)
    info = verify_timestamp(token, message=message, trust_roots=anchors.tsa_roots(chain), intermediates=chain)
    if info.chain[0] != chain[0]:
        raise TimestampChainMismatch(
            f"{chain_name} does not start with the certificate that signed {token_name}",
            details={"signer": info.signer_subject},
        )
    if info.gen_time > now + CLOCK_SKEW:
        raise TimestampInFuture(
            f"{token_name} claims a time after the verifier's clock",
            details={"gen_time": format_time(info.gen_time), "now": now.isoformat()},
        )
    return info


def check_record_timestamp(
    bundle: EvidenceBundle, anchors: Anchors, now: dt.datetime
) -> Passed[TimestampInfo]:
    """``timestamp/record.tsr`` is a valid RFC 3161 token over the exact bytes of
    ``record.json``; raises as :func:`verify_token` does."""
    info = verify_token(bundle, RECORD_TOKEN, RECORD_TSA_CHAIN, member(bundle, RECORD), anchors, now)
    return Passed(
        f"record.json was stamped at {format_time(info.gen_time)} by {info.signer_subject}",
        {
            "gen_time": format_time(info.gen_time),
            "authority": info.signer_subject,
            "serial_number": str(info.serial_number),
        },
        info,
    )


def check_notary_certificate(
    bundle: EvidenceBundle, anchors: Anchors
) -> Passed[tuple[x509.Certificate, ...]]:
    """``keys/notary.pem`` is the notary's document-signing certificate and its issuers, up to
    a trusted root. The chain is checked as of the leaf's issue: the documents it signs
    (certificates, export manifests) carry their own signing times. Raises
    :class:`UntrustedNotaryChain`, :class:`MissingMember`, :class:`MalformedInput`."""
    chain = chain_of(bundle, NOTARY_CHAIN)
    leaf = chain[0]
    try:
        usages = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except (x509.ExtensionNotFound, ValueError) as exc:
        raise UntrustedNotaryChain("the notary certificate names no extended key usage") from exc
    if DOCUMENT_SIGNING not in list(usages):
        raise UntrustedNotaryChain("the notary certificate is not for document signing")
    try:
        path = validate_path(
            leaf,
            trust_roots=anchors.notary_roots(chain),
            intermediates=chain[1:],
            at=leaf.not_valid_before_utc,
        )
    except (UntrustedChain, CertificateNotValidAt) as exc:
        raise UntrustedNotaryChain(exc.message, details=exc.details) from exc
    return Passed(
        f"the notary certificate {leaf.subject.rfc4514_string()} chains to {path[-1].subject.rfc4514_string()}",
        {"subject": leaf.subject.rfc4514_string(), "root": path[-1].subject.rfc4514_string()},
        path,
    )
