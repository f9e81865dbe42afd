"""The verification report: a frozen record of every check, its result and its reason.

The CLI, the HTTP API and the web page only render it; none of them decides anything. It
fails closed: a report with no checks, or with any check failed or not run, is not valid.
Check names and status words are stable strings that tools may rely on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from notary.verify.canonical import canonical_json

__all__ = [
    "BELOW_WITNESS_POLICY",
    "CALLER_SUPPLIED",
    "CHECK_NAMES",
    "CLAIMED",
    "FAILED",
    "INTEGRITY_ONLY_BASIS",
    "INVALID",
    "NOT_RUN",
    "PASSED",
    "PROVEN",
    "REPORT_FORMAT",
    "TRUST_BASES",
    "TRUST_FILE",
    "UNSALTED",
    "VALID",
    "VALID_INTEGRITY_ONLY",
    "Check",
    "CheckStatus",
    "IdentityFact",
    "LogPosition",
    "PartySummary",
    "SigningTime",
    "TreeHead",
    "VerificationReport",
    "WitnessFacts",
    "render_text",
    "verdict_text",
]

REPORT_FORMAT = "notary-verification/2"


class CheckStatus(StrEnum):
    """A check's outcome: it ran and passed, ran and failed, or waited on one that did not pass."""

    PASSED = "passed"
    FAILED = "failed"
    NOT_RUN = "not_run"


PASSED, FAILED, NOT_RUN = CheckStatus.PASSED, CheckStatus.FAILED, CheckStatus.NOT_RUN

#: The keys that anchored the checks came from a trust file the verifier chose (``--trust``,
#: or this notary's own at ``POST /verify``): origin is established when valid.
TRUST_FILE = "trust_file"
#: A trust file the caller of ``POST /verify`` brought: checked against, never vouched for.
CALLER_SUPPLIED = "caller_supplied"
#: The explicit ``--integrity-only`` choice: the input's own keys, integrity but not origin.
INTEGRITY_ONLY_BASIS = "integrity_only"
TRUST_BASES = (TRUST_FILE, CALLER_SUPPLIED, INTEGRITY_ONLY_BASIS)

#: Verdicts, derived from the checks and the trust basis (docs/formats.md section 8).
VALID, VALID_INTEGRITY_ONLY, BELOW_WITNESS_POLICY, INVALID = (
    "valid",
    "valid_integrity_only",
    "below_witness_policy",
    "invalid",
)
#: The code of a ``witness_cosignatures`` check that found fewer than k cosignatures
#: (:class:`~notary.verify.witness_policy.WitnessPolicyNotMet`).
WITNESS_POLICY_NOT_MET = "witness_policy_not_met"
#: Identity statuses: an opening matched / a salted commitment only / round 1's unsalted hash.
PROVEN, CLAIMED, UNSALTED = "proven", "claimed", "unsalted"

#: Every check a bundle verification may report, in report order. ``consistency`` appears
#: only when a newer checkpoint was given, ``witness_cosignatures`` only when the trust file
#: has witness policies.
CHECK_NAMES = (
    "trust",
    "manifest",
    "record_fields",
    "document_digest",
    "terms_digest",
    "signature_investor",
    "signature_borrower",
    "signing_times",
    "identity_investor",
    "identity_borrower",
    "openings",
    "record_timestamp",
    "log_key",
    "checkpoint_signature",
    "inclusion_proof",
    "checkpoint_timestamp",
    "consistency",
    "witness_cosignatures",
    "key_events",
    "notary_certificate",
)


def _plain(value: Any) -> Any:
    """A JSON value for ``value``: details come from many checks and must all serialise."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(item) for item in value]
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


@dataclass(frozen=True)
class Check:
    """One named check: ``status`` is ``passed``, ``failed`` or ``not_run``; ``code`` names the
    error of a failed check (a :class:`~notary.verify.errors.NotaryError` code).

    ``required`` is False only for a check that did not run because the evidence predates
    what it checks (an old ``sign_by`` that is not RFC 3339): the report says so, and that
    check alone does not make it invalid. Every other check that does not pass does.
    """

    name: str
    status: CheckStatus
    reason: str
    details: Mapping[str, Any] = field(default_factory=dict)
    code: str | None = None
    required: bool = True

    def __post_init__(self) -> None:
        if self.status not in tuple(CheckStatus):
            raise ValueError(f"unknown check status {self.status!r}")
        if not self.required and self.status != CheckStatus.NOT_RUN:
            raise ValueError("only a check that did not run may be not required")
        object.__setattr__(self, "status", CheckStatus(self.status))
        object.__setattr__(self, "details", MappingProxyType(_plain(dict(self.details))))

    @property
    def passed(self) -> bool:
        """True only for a check that ran and passed."""
        return self.status == PASSED

    def to_dict(self) -> dict[str, Any]:
        """The check as a JSON object."""
        result: dict[str, Any] = {
            "name": self.name,
            "status": self.status,
            "passed": self.passed,
            "reason": self.reason,
            "details": dict(self.details),
        }
        if self.code is not None:
            result["code"] = self.code
        if not self.required:
            result["required"] = False
        return result


@dataclass(frozen=True)
class SigningTime:
    """The established time of the record: a timestamp authority's genTime, not the notary's word."""

    time: str
    source: str
    authority: str
    serial_number: str
    policy: str

    def to_dict(self) -> dict[str, Any]:
        """As JSON."""
        return {
            "time": self.time,
            "source": self.source,
            "authority": self.authority,
            "serial_number": self.serial_number,
            "policy": self.policy,
        }


@dataclass(frozen=True)
class LogPosition:
    """Where the record sits: its leaf in the tree of a signed checkpoint."""

    origin: str
    leaf_index: int
    tree_size: int
    root_hash: str

    def to_dict(self) -> dict[str, Any]:
        """As JSON."""
        return {
            "origin": self.origin,
            "leaf_index": self.leaf_index,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash,
        }


@dataclass(frozen=True)
class TreeHead:
    """A newer checkpoint the bundle's tree was shown consistent with."""

    origin: str
    tree_size: int
    root_hash: str

    def to_dict(self) -> dict[str, Any]:
        """As JSON."""
        return {"origin": self.origin, "tree_size": self.tree_size, "root_hash": self.root_hash}


@dataclass(frozen=True)
class IdentityFact:
    """What the report can say of a party's identity: ``proven`` by an opening, ``claimed``
    (a salted commitment the verifier cannot open) or ``unsalted`` (round 1's hash); who made
    the commitment (``party`` when its enrolment proof verified, ``notary`` when it has none);
    and, once proven, the ID type and the masked number (never the full one)."""

    status: str
    commitment_by: str | None = None
    id_type: str | None = None
    id_number_masked: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """As JSON (absent facts left out)."""
        result: dict[str, Any] = {"status": self.status, "commitment_by": self.commitment_by}
        if self.id_type is not None:
            result["id_type"] = self.id_type
            result["id_number_masked"] = self.id_number_masked
        return result


@dataclass(frozen=True)
class PartySummary:
    """One signature that verified, as the record states it."""

    role: str
    party_id: str
    key_fingerprint: str
    algorithm: str
    identity_assurance: str
    signed_at: str
    identity: IdentityFact | None = None
    key_events: tuple[Mapping[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """As JSON."""
        return {
            "party_id": self.party_id,
            "key_fingerprint": self.key_fingerprint,
            "algorithm": self.algorithm,
            "identity_assurance": self.identity_assurance,
            "signed_at": self.signed_at,
            "identity": self.identity.to_dict() if self.identity else None,
            "key_events": [dict(event) for event in self.key_events],
        }


@dataclass(frozen=True)
class WitnessFacts:
    """Which witnesses cosigned the bundle's checkpoint, against which policy (issue 21)."""

    status: str = "not_required"
    k: int | None = None
    n: int | None = None
    cosigned_by: tuple[str, ...] = ()
    #: The size range (``from_size``, ``until_size``) of the trust file's policy that was applied.
    policy: Mapping[str, int | None] | None = None

    def to_dict(self) -> dict[str, Any]:
        """As JSON."""
        return {
            "status": self.status,
            "k": self.k,
            "n": self.n,
            "cosigned_by": list(self.cosigned_by),
            "policy": dict(self.policy) if self.policy is not None else None,
        }


class CheckedReport:
    """What a report of checks answers from its ``checks`` and ``trust_basis`` (the bundle's
    report and the case export's share it)."""

    checks: tuple[Check, ...]
    trust_basis: str

    @property
    def valid(self) -> bool:
        """True when at least one check passed and every check ran and passed, except those
        not run because the evidence predates them (``required`` False)."""
        return any(check.passed for check in self.checks) and all(
            check.passed or not check.required for check in self.checks
        )

    @property
    def origin_established(self) -> bool:
        """Valid, and anchored in keys the verifier chose rather than keys the input brought."""
        return self.valid and self.trust_basis == TRUST_FILE

    @property
    def verdict(self) -> str:
        """``valid`` (origin established), ``valid_integrity_only`` (every check passed against
        the input's own or a caller's keys), ``below_witness_policy`` (every check but the
        witnesses' passed) or ``invalid``."""
        if self.valid:
            return VALID if self.origin_established else VALID_INTEGRITY_ONLY
        failed = [
            (check.name, check.code) for check in self.checks if check.status != PASSED and check.required
        ]
        # Too few cosignatures and nothing else (a bundle's witness_cosignatures, an export's bundles);
        # a bad one by a listed witness is an altered checkpoint.
        below = len(failed) == 1 and failed[0][1] == WITNESS_POLICY_NOT_MET
        return BELOW_WITNESS_POLICY if below else INVALID

    @property
    def failures(self) -> tuple[Check, ...]:
        """The checks that failed (not those merely not run)."""
        return tuple(check for check in self.checks if check.status == FAILED)

    def check(self, name: str) -> Check | None:
        """The check called ``name``, if it is in the report."""
        return next((check for check in self.checks if check.name == name), None)


@dataclass(frozen=True)
class VerificationReport(CheckedReport):
    """The outcome of verifying one bundle. Facts (times, position, parties) are filled in
    only from checks that passed; ``valid`` is derived from the checks, never set."""

    checks: tuple[Check, ...]
    trust_basis: str
    verified_at: str
    subject: str = "notary-evidence/1"
    trust_origin: str | None = None
    contract_id: str | None = None
    record_format: str | None = None
    record_sha256: str | None = None
    document_sha256: str | None = None
    signing_time: SigningTime | None = None
    log: LogPosition | None = None
    newer_checkpoint: TreeHead | None = None
    parties: tuple[PartySummary, ...] = field(default=())
    witnesses: WitnessFacts = field(default_factory=WitnessFacts)

    def __post_init__(self) -> None:
        if self.trust_basis not in TRUST_BASES:
            raise ValueError(f"unknown trust basis {self.trust_basis!r}")
        names = [check.name for check in self.checks]
        if len(set(names)) != len(names):
            raise ValueError("a check is reported twice")

    def to_dict(self) -> dict[str, Any]:
        """The report as one JSON object (what ``--json`` prints and ``POST /verify`` answers)."""
        return {
            "format": REPORT_FORMAT,
            "subject": self.subject,
            "verdict": self.verdict,
            "valid": self.valid,
            "origin_established": self.origin_established,
            "trust_basis": self.trust_basis,
            "trust_origin": self.trust_origin,
            "contract_id": self.contract_id,
            "record_format": self.record_format,
            "record_sha256": self.record_sha256,
            "document_sha256": self.document_sha256,
            "signing_time": self.signing_time.to_dict() if self.signing_time else None,
            "log": self.log.to_dict() if self.log else None,
            "newer_checkpoint": self.newer_checkpoint.to_dict() if self.newer_checkpoint else None,
            "witnesses": self.witnesses.to_dict(),
            "parties": {party.role: party.to_dict() for party in self.parties},
            "checks": [check.to_dict() for check in self.checks],
            "verified_at": self.verified_at,
        }

    def to_json(self) -> bytes:
        """:meth:`to_dict` as canonical JSON (RFC 8785), so equal reports are equal bytes."""
        return canonical_json(self.to_dict())


_MARKS = {PASSED: "ok  ", FAILED: "FAIL", NOT_RUN: "--  "}


def verdict_text(report: CheckedReport, *, what: str = "bundle") -> str:
    """The verdict in words, as every rendering shows it."""
    verdict = report.verdict
    if verdict == INVALID:
        return "INVALID"
    if verdict == BELOW_WITNESS_POLICY:
        return "NOT YET VALID: fewer witnesses cosigned than the trust file's policy requires"
    if verdict == VALID:
        return "VALID: integrity and origin established with the trust file given"
    if report.trust_basis == CALLER_SUPPLIED:
        return (
            "VALID against the trust file you supplied only: ORIGIN NOT ESTABLISHED "
            "(this notary does not vouch for keys its caller brought)"
        )
    return f"VALID for integrity only: ORIGIN NOT ESTABLISHED (--integrity-only; the {what}'s own keys were used)"


def _identity_text(fact: IdentityFact) -> str:
    if fact.status == PROVEN:
        return f"PROVEN by the opening given: {fact.id_type} {fact.id_number_masked}"
    if fact.status == UNSALTED:
        return "claimed (a round-1 record: an unsalted hash; give --opening to prove it)"
    made = {"party": "committed by the party's own key", "notary": "committed by the notary"}
    return (
        f"claimed ({made.get(fact.commitment_by or '', 'a salted commitment')}; give --opening to prove it)"
    )


def _witnesses_text(facts: WitnessFacts) -> str | None:
    if facts.status not in ("met", "below_policy"):
        return None
    named = ", ".join(facts.cosigned_by) or "none"
    policy = facts.policy or {}
    sizes = (
        f"sizes {policy.get('from_size')} to {policy.get('until_size')}"
        if policy.get("until_size") is not None
        else f"sizes from {policy.get('from_size')}"
    )
    return (
        f"Witnesses: {len(facts.cosigned_by)} of the {facts.n} listed cosigned, at least {facts.k} required "
        f"(the trust file's policy for {sizes}): {named}"
    )


def render_text(report: VerificationReport) -> str:
    """The report for a person: the verdict, the established facts, then one line per check."""
    lines = [
        f"Evidence bundle{f' for contract {report.contract_id}' if report.contract_id else ''}: {verdict_text(report)}"
    ]
    if report.signing_time:
        time = report.signing_time
        lines.append(
            f"Timestamped at {time.time} by {time.authority} (RFC 3161 genTime, serial {time.serial_number})"
        )
    for party in report.parties:
        lines.append(
            f"Signed by the {party.role} {party.party_id} ({party.algorithm}, key {party.key_fingerprint[:16]}…, "
            f"identity {party.identity_assurance}) at {party.signed_at}"
        )
        if party.identity is not None:
            lines.append(f"  identity: {_identity_text(party.identity)}")
    if report.log:
        log = report.log
        lines.append(f"Log {log.origin}: leaf {log.leaf_index} in the tree of size {log.tree_size}")
    if report.newer_checkpoint:
        lines.append(f"Consistent with the newer checkpoint of size {report.newer_checkpoint.tree_size}")
    witness_line = _witnesses_text(report.witnesses)
    if witness_line:
        lines.append(witness_line)
    width = max((len(check.name) for check in report.checks), default=0)
    for check in report.checks:
        reason = f"{check.code}: {check.reason}" if check.code else check.reason
        lines.append(f"  [{_MARKS[check.status]}] {check.name.ljust(width)}  {reason}")
    if not report.checks:
        lines.append("  no checks were run")
    return "\n".join(lines) + "\n"
