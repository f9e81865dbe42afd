"""Genuine evidence bundles for tests, made from real parts: real party keys and signatures,
real records chained into a real Merkle log, real checkpoints signed by the log's note key,
and real RFC 3161 tokens from the embedded authority, all under a throwaway notary's keys.

Every time in them is on the suite's fixed timeline (``tests/support/clock.py``): the keys are
made at ``KEYS_MADE``, the contracts filed, signed and sealed on ``EPOCH``, the tokens stamped at
``STAMPED`` and the bundles ready at ``READY``; tests verify them at ``VERIFIED_AT``. None of it
reads the machine's clock, so a test on this evidence gives the same answer on any day."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from notary.signing.keystore import InstanceKeys, ensure_keys, load_keys
from notary.signing.note_signer import NoteSigner
from notary.signing.tsa import EmbeddedTSA
from notary.verify import payloads
from notary.verify.archive import read_archive, write_archive
from notary.verify.canonical import canonical_json
from notary.verify.encoding import b64encode
from notary.verify.evidence.bundle import (
    BundleParts,
    CheckpointToken,
    ConsistencyProof,
    InclusionProof,
    LaterEvent,
    LaterEvidence,
    LogKey,
    build_bundle,
)
from notary.verify.merkle import plan as merkle_plan
from notary.verify.merkle import proofs as merkle
from notary.verify.note import Checkpoint
from notary.verify.trust import TrustedLog, TrustFile
from tests.support.clock import EPOCH, KEYS_MADE, FixedClock
from tests.support.people import Person

ORIGIN = "notary.test/contracts/v1"
RECEIVED = EPOCH
SIGNED = EPOCH + dt.timedelta(seconds=1, milliseconds=250)
SEALED = EPOCH + dt.timedelta(seconds=5)
STAMPED = EPOCH + dt.timedelta(seconds=5, milliseconds=500)
READY = EPOCH + dt.timedelta(seconds=6, milliseconds=500)
VERIFIED_AT = EPOCH + dt.timedelta(days=3)


def pem_chain(chain: list[x509.Certificate]) -> bytes:
    return b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in chain)


@dataclass
class SampleNotary:
    """A notary's keys, its embedded timestamp authority and its log signer."""

    keys: InstanceKeys
    origin: str = ORIGIN
    tsa: EmbeddedTSA = field(init=False)
    signer: NoteSigner = field(init=False)

    def __post_init__(self) -> None:
        self.tsa = EmbeddedTSA.from_instance_keys(self.keys, clock=FixedClock(STAMPED))
        self.signer = NoteSigner(self.origin, self.keys.log_key)

    @classmethod
    def create(
        cls, key_dir: Path, *, origin: str = ORIGIN, organisation: str = "Test Notary"
    ) -> SampleNotary:
        ensure_keys(key_dir, organisation=organisation, now=KEYS_MADE)
        return cls(load_keys(key_dir), origin)

    def log_key(self) -> LogKey:
        public = self.keys.log_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return LogKey(self.origin, self.signer.verifier_key, public.decode("ascii"))

    def trust(self, **log: int) -> TrustFile:
        entry = TrustedLog(self.origin, self.signer.verifier, log.get("from_size", 0), log.get("until_size"))
        return TrustFile.of([entry], notary_roots=[self.keys.root_cert], tsa_roots=[self.keys.root_cert])

    def trust_json(self, **log: int) -> bytes:
        return canonical_json(self.trust(**log).to_dict())

    def stamp(self, message: bytes) -> CheckpointToken:
        token = self.tsa.stamp(hashlib.sha256(message).digest())
        return CheckpointToken(token, pem_chain(self.keys.tsa_chain))


@dataclass
class Filed:
    """One sealed contract of the test log."""

    contract_id: str
    document: bytes
    media_type: str
    terms: bytes
    record: bytes
    investor: Person
    borrower: Person


def _contract(
    index: int,
    previous: str,
    investor: Person,
    borrower: Person,
    times: Mapping[str, str] | None = None,
    record_format: str = payloads.RECORD_FORMAT_V2,
) -> Filed:
    """``times`` may change ``received_at``, ``sealed_at``, ``sign_by`` and each role's
    ``<role>_signed_at`` from the defaults below."""
    times = {
        "received_at": payloads.format_time(RECEIVED),
        "sealed_at": payloads.format_time(SEALED),
        "sign_by": "2026-12-08T00:00:00Z",
        "investor_signed_at": payloads.format_time(SIGNED),
        "borrower_signed_at": payloads.format_time(SIGNED),
        **(times or {}),
    }
    contract_id = f"ct_{index:04d}TEST"
    platform_id = "pl_0001"
    investor.party_id, borrower.party_id = f"pa_{index:04d}I", f"pa_{index:04d}B"
    document = b"%PDF-1.4\n% loan contract " + str(index).encode() + b"\n"
    terms = canonical_json(
        {
            "investor": investor.party_id,
            "borrower": borrower.party_id,
            "amount": "10000.00",
            "currency": "CNY",
            "annual_rate": "0.0800",
            "term_months": 12,
            "start_date": "2026-12-01",
            "sign_by": times["sign_by"],
            "title": "个人借款合同",
        }
    )
    document_sha256, terms_sha256 = payloads.sha256_hex(document), payloads.sha256_hex(terms)
    signatures = {}
    for role, person in (("investor", investor), ("borrower", borrower)):
        assert person.party_id is not None
        payload = payloads.contract_payload(
            purpose=payloads.PURPOSE_SIGN,
            contract_id=contract_id,
            platform_id=platform_id,
            role=role,
            party_id=person.party_id,
            document_sha256=document_sha256,
            terms_sha256=terms_sha256,
        )
        if record_format == payloads.RECORD_FORMAT:
            signatures[role] = payloads.record_signature(
                party_id=person.party_id,
                key_fingerprint=person.public.fingerprint,
                identity_sha256=person.identity_sha256,
                identity_assurance="platform",
                algorithm=person.public.algorithm,
                signature_base64=b64encode(person.sign(payload)),
                signed_at="2026-12-01T08:00:01.250Z",
            )
            continue
        commitment = person.identity_commitment(platform_id)
        proof = person.sign(
            payloads.enrol_payload_v2(
                platform_id=platform_id,
                key_fingerprint=person.public.fingerprint,
                identity_commitment=commitment,
            )
        )
        signatures[role] = payloads.record_signature_v2(
            party_id=person.party_id,
            key_fingerprint=person.public.fingerprint,
            identity_commitment=commitment,
            identity_assurance="platform",
            algorithm=person.public.algorithm,
            signature_base64=b64encode(person.sign(payload)),
            signed_at=times[f"{role}_signed_at"],
            enrolment_proof_base64=b64encode(proof),
        )
    record = payloads.evidence_record(
        record_format=record_format,
        sequence=index,
        previous_record_sha256=previous,
        contract_id=contract_id,
        platform_id=platform_id,
        document_sha256=document_sha256,
        document_size=len(document),
        media_type="application/pdf",
        terms_sha256=terms_sha256,
        signatures=signatures,
        received_at=times["received_at"],
        sealed_at=times["sealed_at"],
    )
    return Filed(contract_id, document, "application/pdf", terms, record, investor, borrower)


class SampleLog:
    """``size`` sealed contracts, chained and in a Merkle tree; investors sign with Ed25519,
    borrowers with ECDSA P-256."""

    def __init__(
        self,
        notary: SampleNotary,
        size: int,
        times: Mapping[int, Mapping[str, str]] | None = None,
        *,
        record_format: str = payloads.RECORD_FORMAT_V2,
    ) -> None:
        """``times``: for some contracts (by index), times other than the defaults (see _contract)."""
        self.notary = notary
        self.filed: list[Filed] = []
        previous = payloads.GENESIS_SHA256
        for index in range(size):
            filed = _contract(
                index,
                previous,
                Person("投资人"),
                Person("借款人", alg="ecdsa-p256-sha256"),
                (times or {}).get(index),
                record_format,
            )
            self.filed.append(filed)
            previous = payloads.sha256_hex(filed.record)
        leaves = [merkle.leaf_hash(filed.record) for filed in self.filed]
        self.nodes = dict(merkle_plan.append_leaves(0, {}, leaves).nodes)
        self.size = size
        self.last_sha256 = previous
        self.leaves: dict[int, bytes] = {}

    def append(self, build: Callable[[int, str], bytes]) -> int:
        """Append a leaf of another kind (a key event), built from its sequence and the previous
        leaf's SHA-256; returns its index."""
        index = self.size
        leaf = build(index, self.last_sha256)
        self.nodes.update(merkle_plan.append_leaves(index, self.nodes, [merkle.leaf_hash(leaf)]).nodes)
        self.leaves[index] = leaf
        self.size, self.last_sha256 = index + 1, payloads.sha256_hex(leaf)
        return index

    def later(
        self, first: int, second: int, events: Sequence[int], *, stamped: dt.datetime, tokens: int = 1
    ) -> LaterEvidence:
        """``later/`` for a bundle whose checkpoint has size ``first``: the checkpoint of size
        ``second``, stamped at ``stamped``, and the leaves ``events`` (appended with :meth:`append`)."""
        body = Checkpoint(self.notary.origin, second, self.root(second)).body
        authority = EmbeddedTSA.from_instance_keys(self.notary.keys, clock=FixedClock(stamped))
        token = CheckpointToken(
            authority.stamp(hashlib.sha256(body).digest()), pem_chain(self.notary.keys.tsa_chain)
        )
        consistency = self.consistency(first, second)
        return LaterEvidence(
            checkpoint=self.checkpoint(second),
            checkpoint_tokens=(token,) * tokens,
            consistency=ConsistencyProof(
                first, second, tuple(bytes.fromhex(value) for value in consistency["hashes"])
            ),
            events=tuple(LaterEvent(self.leaves[index], self.inclusion(index, second)) for index in events),
        )

    def root(self, size: int) -> bytes:
        return merkle_plan.root_plan(size).assemble(self.nodes)

    def checkpoint(self, size: int) -> str:
        return self.notary.signer.sign_checkpoint(Checkpoint(self.notary.origin, size, self.root(size)))

    def inclusion(self, index: int, size: int) -> InclusionProof:
        hashes = merkle_plan.inclusion_proof_plan(index, size).assemble(self.nodes)
        return InclusionProof(index, size, tuple(hashes))

    def consistency(self, first: int, second: int) -> dict[str, object]:
        hashes = merkle_plan.consistency_proof_plan(first, second).assemble(self.nodes)
        return {"first": first, "second": second, "hashes": [value.hex() for value in hashes]}

    def parts(self, index: int, size: int, *, checkpoint_tokens: int = 1) -> BundleParts:
        filed = self.filed[index]
        checkpoint = self.checkpoint(size)
        body = Checkpoint(self.notary.origin, size, self.root(size)).body
        record_token = self.notary.stamp(filed.record)
        keys = self.notary.keys
        return BundleParts(
            contract_id=filed.contract_id,
            created_at=payloads.format_time(READY),
            document=filed.document,
            media_type=filed.media_type,
            terms=filed.terms,
            record=filed.record,
            investor_key_pem=filed.investor.public.pem.encode(),
            borrower_key_pem=filed.borrower.public.pem.encode(),
            notary_chain_pem=pem_chain(keys.notary_chain),
            record_token=record_token.token,
            record_tsa_chain_pem=record_token.chain_pem,
            checkpoint_tokens=tuple(self.notary.stamp(body) for _ in range(checkpoint_tokens)),
            inclusion_proof=self.inclusion(index, size),
            checkpoint=checkpoint,
            log_key=self.notary.log_key(),
        )

    def bundle(self, index: int, size: int, **options: int) -> bytes:
        return build_bundle(self.parts(index, size, **options))


def members(bundle: bytes) -> dict[str, bytes]:
    return read_archive(bundle)


def rezip(entries: dict[str, bytes], *, fix_manifest: bool = False) -> bytes:
    """A zip of ``entries`` in their order; with ``fix_manifest``, the manifest is rewritten to
    list them truthfully (an attacker can always do that: the manifest is not signed)."""
    if fix_manifest:
        import json

        manifest = json.loads(entries["manifest.json"])
        manifest["files"] = {
            name: payloads.sha256_hex(content) for name, content in entries.items() if name != "manifest.json"
        }
        entries = {
            "manifest.json": canonical_json(manifest),
            **{k: v for k, v in entries.items() if k != "manifest.json"},
        }
    return write_archive(list(entries.items()), modified=READY)


def deflated(entries: dict[str, bytes]) -> bytes:
    """The same members deflated by Python's zipfile, as another tool might repack them."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


__all__ = [
    "READY",
    "VERIFIED_AT",
    "Filed",
    "SampleLog",
    "SampleNotary",
    "deflated",
    "members",
    "pem_chain",
    "replace",
    "rezip",
]
