"""The checks of a bundle's log evidence: the log key, the signed checkpoint, the record's
inclusion, the checkpoint's timestamps and, given a newer checkpoint, consistency with it.

Checkpoint text is interpreted only after its signature verified (as in
:mod:`notary.verify.note`): with a trust file, by any trusted key, and only then is the key
held to the tree sizes it is trusted for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from notary.verify.canonical import parse_canonical_json
from notary.verify.encoding import hex_digest
from notary.verify.errors import MalformedInput, NotaryError
from notary.verify.evidence.bundle import (
    CHECKPOINT,
    INCLUSION,
    LOG_KEY,
    EvidenceBundle,
    InclusionProof,
    LogKey,
    checkpoint_chain_name,
    checkpoint_token_name,
)
from notary.verify.evidence.checks import Anchors, Passed, member, verify_token
from notary.verify.evidence.errors import (
    LogKeyMismatch,
    LogKeyNotTrustedForSize,
    LogRolledBack,
    MissingMember,
    PositionMismatch,
)
from notary.verify.evidence.record import EvidenceRecord
from notary.verify.merkle import proofs as merkle
from notary.verify.note import (
    Checkpoint,
    NoteVerifierKey,
    OriginMismatch,
    parse_checkpoint,
    parse_verifier_key,
    verify_checkpoint,
    verify_note,
)
from notary.verify.payloads import format_time
from notary.verify.timestamp.verifier import TimestampInfo

_CONSISTENCY_FIELDS = frozenset({"first", "second", "hashes"})


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint whose signature verified, the exact body that was signed, and by which key."""

    checkpoint: Checkpoint
    body: bytes
    signed_by: tuple[str, ...]


def check_log_key(bundle: EvidenceBundle) -> Passed[NoteVerifierKey]:
    """``log/key.json`` is ``{origin, verifier_key, public_key_pem, algorithm}`` (as ``GET
    /log/key``) in canonical JSON, its verifier key named by the origin and holding the same
    Ed25519 key as its PEM. Raises :class:`LogKeyMismatch`, :class:`MalformedInput`."""
    named = LogKey.from_dict(parse_canonical_json(member(bundle, LOG_KEY), what=LOG_KEY))
    origin, text, pem = named.origin, named.verifier_key, named.public_key_pem
    key = parse_verifier_key(text)
    try:
        public = serialization.load_pem_public_key(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise MalformedInput(f"{LOG_KEY}: public_key_pem is not a PEM public key") from exc
    if not isinstance(public, ed25519.Ed25519PublicKey):
        raise LogKeyMismatch(f"{LOG_KEY}: public_key_pem is not an Ed25519 key")
    canonical = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if canonical != pem.encode("ascii"):
        raise MalformedInput(f"{LOG_KEY}: public_key_pem is not exactly one key in canonical PEM")
    if key.name != origin or public.public_bytes_raw() != key.public_key:
        raise LogKeyMismatch(
            f"{LOG_KEY}: origin, verifier key and PEM key do not name one key",
            details={"origin": origin, "verifier_key": text},
        )
    return Passed(f"the bundle's log key is {text}", {"origin": origin, "verifier_key": text}, key)


def trusted_checkpoint(text: bytes, anchors: Anchors, bundle_key: NoteVerifierKey | None) -> SignedCheckpoint:
    """Verify checkpoint ``text`` with the trust file's log keys, or else the bundle's key."""
    if anchors.trust is None:
        assert bundle_key is not None
        verified = verify_checkpoint(text, [bundle_key], origin=bundle_key.name)
        return SignedCheckpoint(verified.checkpoint, verified.note.body, (bundle_key.text,))
    logs = anchors.trust.logs
    note = verify_note(text, [log.key for log in logs])
    checkpoint = parse_checkpoint(note.text)
    signers = {(signature.name, signature.key_hash) for signature in note.verified}
    fitting = [
        log for log in logs if (log.key.name, log.key.key_hash) in signers and log.origin == checkpoint.origin
    ]
    if not fitting:
        raise OriginMismatch(
            f"the checkpoint is from {checkpoint.origin!r}; no key that signed it is trusted for that log",
            details={"origin": checkpoint.origin},
        )
    covering = [log for log in fitting if log.covers(checkpoint.size)]
    if not covering:
        raise LogKeyNotTrustedForSize(
            f"the log key that signed the checkpoint is not trusted for a tree of size {checkpoint.size}",
            details={"tree_size": checkpoint.size, "keys": [log.to_dict() for log in fitting]},
        )
    return SignedCheckpoint(checkpoint, note.body, tuple(dict.fromkeys(log.key.text for log in covering)))


def check_checkpoint_signature(
    bundle: EvidenceBundle, anchors: Anchors, bundle_key: NoteVerifierKey | None
) -> Passed[SignedCheckpoint]:
    """``log/checkpoint.txt`` is a checkpoint signed by a trusted log key (the trust file's,
    valid for its tree size; without a trust file, the bundle's). Raises what
    :func:`~notary.verify.note.verify_note` and :func:`~notary.verify.note.parse_checkpoint`
    raise, :class:`~notary.verify.note.OriginMismatch`, :class:`LogKeyNotTrustedForSize`."""
    signed = trusted_checkpoint(member(bundle, CHECKPOINT), anchors, bundle_key)
    checkpoint = signed.checkpoint
    return Passed(
        f"checkpoint of {checkpoint.origin} at size {checkpoint.size} signed by {', '.join(signed.signed_by)}",
        {"origin": checkpoint.origin, "tree_size": checkpoint.size, "root_hash": checkpoint.root_hash.hex()},
        signed,
    )


def check_inclusion(
    bundle: EvidenceBundle, record: EvidenceRecord, signed: SignedCheckpoint
) -> Passed[InclusionProof]:
    """``log/inclusion.json`` proves ``record.json`` is leaf ``sequence`` of the checkpoint's
    tree. Raises :class:`PositionMismatch`, :class:`MalformedInput`, and the
    :mod:`~notary.verify.merkle.proofs` errors (wrong proof size, root mismatch...)."""
    proof = InclusionProof.from_json(member(bundle, INCLUSION))
    checkpoint = signed.checkpoint
    if proof.leaf_index != record.sequence:
        raise PositionMismatch(
            f"the proof is for leaf {proof.leaf_index}, the record is leaf {record.sequence}",
            details={"leaf_index": proof.leaf_index, "sequence": record.sequence},
        )
    if proof.tree_size != checkpoint.size:
        raise PositionMismatch(
            f"the proof is for a tree of size {proof.tree_size}, the checkpoint of size {checkpoint.size}",
            details={"proof_tree_size": proof.tree_size, "checkpoint_size": checkpoint.size},
        )
    merkle.verify_inclusion(
        leaf_hash=record.leaf_hash,
        leaf_index=proof.leaf_index,
        tree_size=proof.tree_size,
        proof=proof.hashes,
        root=checkpoint.root_hash,
    )
    return Passed(
        f"record.json is leaf {proof.leaf_index} of the tree of size {proof.tree_size}",
        {"leaf_index": proof.leaf_index, "tree_size": proof.tree_size},
        proof,
    )


def check_checkpoint_timestamps(
    bundle: EvidenceBundle, signed: SignedCheckpoint, anchors: Anchors, now: dt.datetime
) -> Passed[tuple[TimestampInfo, ...]]:
    """Every ``timestamp/checkpoint-K.tsr`` (K = 1, 2, ..., at least one) is a valid token
    over the checkpoint's body, with its chain in ``checkpoint-K-chain.pem``. Raises
    :class:`MissingMember` and what :func:`~notary.verify.evidence.checks.verify_token`
    raises, its message naming the token."""
    indices = bundle.checkpoint_token_indices
    if not indices:
        raise MissingMember(f"{checkpoint_token_name(1)} is missing from the bundle")
    stamps: list[TimestampInfo] = []
    for k in range(1, max(indices) + 1):
        token_name = checkpoint_token_name(k)
        try:
            stamps.append(
                verify_token(bundle, token_name, checkpoint_chain_name(k), signed.body, anchors, now)
            )
        except NotaryError as exc:
            # Same class and code; the message says which of the tokens failed.
            raise type(exc)(
                f"{token_name}: {exc.message}", details={**(exc.details or {}), "member": token_name}
            ) from exc
    first = min(stamp.gen_time for stamp in stamps)
    return Passed(
        f"{len(stamps)} timestamp(s) on the checkpoint, the first at {format_time(first)}",
        {"tokens": [{"gen_time": format_time(s.gen_time), "authority": s.signer_subject} for s in stamps]},
        tuple(stamps),
    )


def _consistency_hashes(proof: Mapping[str, Any], first: int, second: int) -> list[bytes]:
    if not isinstance(proof, Mapping) or set(proof) != _CONSISTENCY_FIELDS:
        raise MalformedInput("a consistency proof is {first, second, hashes}")
    if proof["first"] != first or proof["second"] != second:
        raise PositionMismatch(
            f"the proof is from size {proof['first']} to {proof['second']}, not from {first} to {second}",
            details={"first": proof["first"], "second": proof["second"]},
        )
    hashes = proof["hashes"]
    if not isinstance(hashes, list) or len(hashes) > 128:
        raise MalformedInput("consistency proof hashes must be a list of hex hashes")
    return [hex_digest(item, what="consistency proof hash") for item in hashes]


def check_consistency(
    signed: SignedCheckpoint,
    newer_text: str | bytes,
    proof: Mapping[str, Any],
    anchors: Anchors,
    bundle_key: NoteVerifierKey | None,
) -> Passed[Checkpoint]:
    """The newer checkpoint is signed like the bundle's, is of the same log, and the proof
    shows its tree extends the bundle's. Raises the note, Merkle and position errors."""
    data = newer_text.encode("utf-8") if isinstance(newer_text, str) else newer_text
    newer = trusted_checkpoint(data, anchors, bundle_key).checkpoint
    old = signed.checkpoint
    if newer.origin != old.origin:
        raise OriginMismatch(
            f"the newer checkpoint is of {newer.origin!r}, the bundle's of {old.origin!r}",
            details={"origin": newer.origin, "expected": old.origin},
        )
    if newer.size < old.size:
        raise LogRolledBack(
            f"the newer checkpoint is of size {newer.size}, smaller than the bundle's {old.size}: "
            "the log was rolled back after this bundle was issued",
            details={"tree_size": newer.size, "bundle_tree_size": old.size},
        )
    hashes = _consistency_hashes(proof, old.size, newer.size)
    merkle.verify_consistency(
        size1=old.size, size2=newer.size, proof=hashes, root1=old.root_hash, root2=newer.root_hash
    )
    return Passed(
        f"the tree of size {newer.size} extends the bundle's tree of size {old.size}",
        {"tree_size": newer.size, "root_hash": newer.root_hash.hex()},
        newer,
    )
