"""Verify an evidence bundle offline: every check, by name, into one frozen report.

Checks run in a fixed order; a check whose inputs come from a check that did not pass is
reported as not run, so the report is complete and still invalid. Nothing here touches the
network or the clock except through ``now``; trust comes only from the ``trust`` argument,
which the caller must choose: a trust file, ``CallerSupplied(trust_file)``, or the named
``INTEGRITY_ONLY_BASIS`` (the bundle's own keys; the report says so).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from notary.verify.errors import NotaryError
from notary.verify.evidence.bundle import EvidenceBundle
from notary.verify.evidence.checks import (
    Anchors,
    Passed,
    check_document,
    check_identity,
    check_manifest,
    check_notary_certificate,
    check_openings,
    check_record,
    check_record_timestamp,
    check_signature,
    check_terms,
)
from notary.verify.evidence.errors import CheckNotApplicable
from notary.verify.evidence.later_checks import check_key_events
from notary.verify.evidence.log_checks import (
    check_checkpoint_signature,
    check_checkpoint_timestamps,
    check_consistency,
    check_inclusion,
    check_log_key,
)
from notary.verify.evidence.record import EvidenceRecord, RecordSignature
from notary.verify.evidence.time_checks import check_signing_times
from notary.verify.evidence.witness_checks import check_witness_cosignatures
from notary.verify.identity import IdentityOpening
from notary.verify.payloads import ROLES, format_time
from notary.verify.report import (
    CHECK_NAMES,
    FAILED,
    INTEGRITY_ONLY_BASIS,
    NOT_RUN,
    PASSED,
    Check,
    IdentityFact,
    LogPosition,
    PartySummary,
    SigningTime,
    TreeHead,
    VerificationReport,
    WitnessFacts,
)
from notary.verify.trust import TrustChoice, TrustFile, anchoring_file, trust_basis
from notary.verify.witness_policy import NOT_CHECKED, NOT_REQUIRED, witness_requirement

__all__ = ["verify_bundle", "verify_evidence"]

T = TypeVar("T")


class _Checks:
    """Runs checks in order and keeps what each established."""

    def __init__(self) -> None:
        self.results: dict[str, Check] = {}
        self.values: dict[str, Any] = {}

    def run(self, name: str, check: Callable[[], Passed[T]], *, needs: tuple[str, ...] = ()) -> T | None:
        if name not in CHECK_NAMES:  # the report keeps only those: an unlisted check would vanish
            raise ValueError(f"{name!r} is not in CHECK_NAMES")
        blocked = [need for need in needs if need not in self.values]
        if blocked:
            self.results[name] = Check(
                name, NOT_RUN, f"not run: needs {', '.join(blocked)}, which did not pass", {"needs": blocked}
            )
            return None
        try:
            outcome = check()
        except CheckNotApplicable as exc:
            self.results[name] = Check(name, NOT_RUN, exc.message, exc.details, required=False)
            return None
        except NotaryError as exc:
            self.results[name] = Check(name, FAILED, exc.message, exc.details or {}, exc.code)
            return None
        except Exception as exc:  # a verifier fails closed on anything it did not foresee
            self.results[name] = Check(
                name, FAILED, f"the check could not complete: {type(exc).__name__}", {}, "check_error"
            )
            return None
        self.results[name] = Check(name, PASSED, outcome.reason, outcome.details)
        self.values[name] = outcome.value
        return outcome.value

    def report_checks(self) -> tuple[Check, ...]:
        return tuple(self.results[name] for name in CHECK_NAMES if name in self.results)


def _needed(value: T | None) -> T:
    """The value of a check this one ``needs``: it runs only once that check passed, so the
    value is there (a ``None`` here is a bug in the order of checks, and fails the check)."""
    if value is None:
        raise AssertionError("a needed check did not establish its value")
    return value


def _signature_check(
    bundle: EvidenceBundle, record: EvidenceRecord | None, role: str
) -> Passed[RecordSignature]:
    return check_signature(bundle, _needed(record), role)


def _identity_check(
    bundle: EvidenceBundle, record: EvidenceRecord | None, role: str, openings: Sequence[IdentityOpening]
) -> Passed[IdentityFact]:
    return check_identity(bundle, _needed(record), role, openings)


def verify_bundle(
    data: bytes,
    *,
    trust: TrustChoice,
    document: bytes | None = None,
    openings: Sequence[IdentityOpening] = (),
    newer_checkpoint: str | bytes | None = None,
    consistency_proof: Mapping[str, Any] | None = None,
    now: dt.datetime | None = None,
    require_witnesses: int | str | None = None,
) -> VerificationReport:
    """Verify the bundle zip ``data`` and return the report (valid or not).

    ``trust`` anchors the log key and the timestamp and notary roots: a :class:`TrustFile`
    (origin established when valid), ``CallerSupplied(trust_file)`` (checked against, origin
    not established) or ``INTEGRITY_ONLY_BASIS`` (the bundle's own keys: integrity, not origin).
    ``document`` is checked against the record too (the file a person holds). ``openings``
    (identity openings, ``docs/formats.md``) prove the parties' identities; each must match
    one. ``newer_checkpoint`` (signed note text) and
    ``consistency_proof`` (``{first, second, hashes}`` as ``/log/proof/consistency``
    answers) add the ``consistency`` check; give both or neither. ``now`` (default: the
    clock) dates the report and bounds timestamps' genTime. ``require_witnesses`` (K of
    ``--require-witnesses K``: an int, or its decimal digits as typed) demands at least K
    witness cosignatures on the checkpoint: it raises the trust file's k for this
    verification, never lowers it.

    Raises :class:`~notary.verify.archive.MalformedBundle` when ``data`` is not a zip that
    may be opened (see :func:`~notary.verify.archive.read_archive`) or is no bundle at all,
    what :func:`~notary.verify.witness_policy.witness_requirement` raises for a
    ``require_witnesses`` that is not a positive integer or more than the trust file's
    policies list, and ``TypeError`` when only one of ``newer_checkpoint`` and
    ``consistency_proof`` is given or ``trust`` is not one of the three choices.
    Everything wrong inside a well-formed zip is a failed check, not an exception.
    """
    trust_basis(trust)  # refuses a missing choice before anything is opened: there is no default
    _required_witnesses(trust, require_witnesses)  # and a K that cannot be counted
    return verify_evidence(
        EvidenceBundle.from_zip(data),
        document=document,
        trust=trust,
        openings=openings,
        newer_checkpoint=newer_checkpoint,
        consistency_proof=consistency_proof,
        now=now,
        require_witnesses=require_witnesses,
    )


def _required_witnesses(trust: TrustChoice, require: object) -> int | None:
    """``require_witnesses`` checked against the chosen trust's policies (None: not given)."""
    if require is None:
        return None
    trust_file = anchoring_file(trust)
    return witness_requirement(require, trust_file.witness_policies if trust_file is not None else ())


def verify_evidence(
    bundle: EvidenceBundle,
    *,
    trust: TrustChoice,
    document: bytes | None = None,
    openings: Sequence[IdentityOpening] = (),
    newer_checkpoint: str | bytes | None = None,
    consistency_proof: Mapping[str, Any] | None = None,
    now: dt.datetime | None = None,
    require_witnesses: int | str | None = None,
) -> VerificationReport:
    """:func:`verify_bundle` for a bundle already opened (a case export opens many)."""
    if (newer_checkpoint is None) != (consistency_proof is None):
        raise TypeError("give both newer_checkpoint and consistency_proof, or neither")
    basis = trust_basis(trust)
    require = _required_witnesses(trust, require_witnesses)
    trust_file = anchoring_file(trust)
    moment = now or dt.datetime.now(dt.UTC)
    anchors = Anchors(trust_file)
    checks = _Checks()
    checks.run("trust", lambda: _describe_trust(trust_file, basis))

    record = checks.run("record_fields", lambda: check_record(bundle))
    checks.run("manifest", lambda: check_manifest(bundle, record))
    checks.run(
        "document_digest", lambda: check_document(bundle, _needed(record), document), needs=("record_fields",)
    )
    checks.run("terms_digest", lambda: check_terms(bundle, _needed(record)), needs=("record_fields",))
    for role in ROLES:
        checks.run(
            f"signature_{role}",
            functools.partial(_signature_check, bundle, record, role),
            needs=("record_fields",),
        )
    checks.run(
        "signing_times",
        lambda: check_signing_times(_needed(record), checks.values["terms_digest"]),
        needs=("record_fields", "terms_digest"),
    )
    identities = {
        role: checks.run(
            f"identity_{role}",
            functools.partial(_identity_check, bundle, record, role, openings),
            needs=(f"signature_{role}",),
        )
        for role in ROLES
    }
    if openings:
        checks.run("openings", lambda: check_openings(_needed(record), openings), needs=("record_fields",))
    stamp = checks.run("record_timestamp", lambda: check_record_timestamp(bundle, anchors, moment))
    bundle_key = checks.run("log_key", lambda: check_log_key(bundle))
    signed = checks.run(
        "checkpoint_signature",
        lambda: check_checkpoint_signature(bundle, anchors, bundle_key),
        needs=() if trust_file is not None else ("log_key",),
    )
    proof = checks.run(
        "inclusion_proof",
        lambda: check_inclusion(bundle, _needed(record), _needed(signed)),
        needs=("record_fields", "checkpoint_signature"),
    )
    checks.run(
        "checkpoint_timestamp",
        lambda: check_checkpoint_timestamps(bundle, _needed(signed), anchors, moment),
        needs=("checkpoint_signature",),
    )
    newer = None
    if newer_checkpoint is not None and consistency_proof is not None:
        text, given_proof = newer_checkpoint, consistency_proof
        newer = checks.run(
            "consistency",
            lambda: check_consistency(_needed(signed), text, given_proof, anchors, bundle_key),
            needs=("checkpoint_signature",),
        )
    if trust_file is not None and trust_file.witness_policies:
        policies = trust_file.witness_policies
        # A newer checkpoint shown consistent with the bundle's may carry the cosignatures it lacks.
        consistent = (
            (newer_checkpoint, newer.size) if newer is not None and newer_checkpoint is not None else None
        )
        checks.run(
            "witness_cosignatures",
            lambda: check_witness_cosignatures(
                bundle,
                _needed(signed).checkpoint.size,
                policies,
                require=require,
                newer=consistent,
            ),
            needs=("checkpoint_signature",),
        )
    events = checks.run(
        "key_events",
        lambda: check_key_events(bundle, _needed(record), _needed(signed), anchors, bundle_key, moment),
        needs=("record_fields", "checkpoint_signature"),
    )
    checks.run("notary_certificate", lambda: check_notary_certificate(bundle, anchors))

    report_checks = checks.report_checks()
    parties = tuple(
        PartySummary(
            role=role,
            party_id=value.party_id,
            key_fingerprint=value.key_fingerprint,
            algorithm=value.algorithm,
            identity_assurance=value.identity_assurance,
            signed_at=value.signed_at,
            identity=identities.get(role),
            key_events=(events or {}).get(role, ()),
        )
        for role in ROLES
        if (value := checks.values.get(f"signature_{role}")) is not None
    )
    manifest = checks.values.get("manifest")
    return VerificationReport(
        checks=report_checks,
        trust_basis=basis,
        trust_origin=trust_file.origin if trust_file is not None else None,
        verified_at=format_time(moment),
        subject=bundle.format,
        contract_id=record.contract_id if record else (manifest or {}).get("contract_id"),
        record_format=record.format if record else None,
        record_sha256=record.sha256 if record else None,
        document_sha256=checks.values.get("document_digest"),
        signing_time=_signing_time(stamp),
        log=_position(signed, proof),
        newer_checkpoint=TreeHead(newer.origin, newer.size, newer.root_hash.hex()) if newer else None,
        parties=parties,
        witnesses=_witness_facts(checks.results.get("witness_cosignatures"), trust_file),
    )


def _describe_trust(trust: TrustFile | None, basis: str) -> Passed[None]:
    if trust is None:
        return Passed(
            "integrity only, as chosen: the bundle's own keys were used, which proves integrity but not origin",
            {"trust_basis": INTEGRITY_ONLY_BASIS},
        )
    whose = "the caller's trust file (not this notary's)" if basis != "trust_file" else "trust file"
    return Passed(
        f"{whose}: {len(trust.logs)} log key(s), {len(trust.tsa_roots)} TSA root(s), "
        f"{len(trust.notary_roots)} notary root(s); the bundle's own keys were not relied on",
        {
            "trust_basis": basis,
            "log_keys": [log.to_dict() for log in trust.logs],
            "tsa_roots": [root.subject.rfc4514_string() for root in trust.tsa_roots],
            "notary_roots": [root.subject.rfc4514_string() for root in trust.notary_roots],
        },
    )


def _witness_facts(check: Check | None, trust: TrustFile | None) -> WitnessFacts:
    """The report's ``witnesses``: as the ``witness_cosignatures`` check counted them (its details
    are the facts, whether it passed or found too few); ``not_required`` when the trust file
    has no policy, ``not_checked`` without a trust file or when the count could not be made
    (a checkpoint the log did not sign, a bad cosignature by a listed witness)."""
    if check is None:
        return WitnessFacts(status=NOT_CHECKED if trust is None else NOT_REQUIRED)
    facts = check.details
    if "status" not in facts:
        return WitnessFacts(status=NOT_CHECKED)
    return WitnessFacts(
        status=facts["status"],
        k=facts["k"],
        n=facts["n"],
        cosigned_by=tuple(facts["cosigned_by"]),
        policy=facts["policy"],
    )


def _signing_time(stamp: Any) -> SigningTime | None:
    if stamp is None:
        return None
    return SigningTime(
        time=format_time(stamp.gen_time),
        source="rfc3161_gen_time",
        authority=stamp.signer_subject,
        serial_number=str(stamp.serial_number),
        policy=stamp.policy,
    )


def _position(signed: Any, proof: Any) -> LogPosition | None:
    if signed is None or proof is None:
        return None
    checkpoint = signed.checkpoint
    return LogPosition(checkpoint.origin, proof.leaf_index, proof.tree_size, checkpoint.root_hash.hex())
