"""Verify a case export offline: its signed manifest, its members, and every bundle in it.

The export is read member by member from a seekable file (:mod:`notary.verify.export.archive`),
so only one bundle is in memory at a time. Checks run in a fixed order; a check whose inputs
come from a check that did not pass is reported as not run. Each bundle is verified exactly as
on its own (:func:`~notary.verify.evidence.verifier.verify_evidence`, the same trust), and its report
kept in the export's report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, BinaryIO, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from notary.verify.archive import MalformedBundle
from notary.verify.canonical import parse_json
from notary.verify.errors import InvalidSignature, MalformedInput, NotaryError
from notary.verify.evidence.bundle import RECORD, EvidenceBundle
from notary.verify.evidence.checks import CLOCK_SKEW, DOCUMENT_SIGNING, Anchors, Passed
from notary.verify.evidence.errors import (
    DigestMismatch,
    KeyMismatch,
    MissingMember,
    TimestampChainMismatch,
    TimestampInFuture,
    UnexpectedMember,
    UntrustedNotaryChain,
)
from notary.verify.evidence.record import parse_record, parse_time
from notary.verify.evidence.verifier import verify_evidence
from notary.verify.export.archive import EXPORT_LIMITS, ExportArchive, ExportLimits, MalformedExport
from notary.verify.export.manifest import (
    EXPORT_FORMAT,
    EXPORT_FORMATS,
    MANIFEST,
    NOTARY_CHAIN,
    OPENINGS_PREFIX,
    SIGNATURE,
    TIMESTAMP,
    TIMESTAMP_CHAIN,
    ExportManifest,
    contract_of,
    parse_manifest,
    parse_signature,
    party_of,
)
from notary.verify.export.report import (
    CLAIMED_TIME,
    EXPORT_CHECK_NAMES,
    RFC3161_TIME,
    BundleResult,
    ExportReport,
)
from notary.verify.identity import IdentityOpening, OpeningMismatch, parse_opening
from notary.verify.keys import PublicKey
from notary.verify.payloads import format_time, sha256_hex
from notary.verify.report import (
    BELOW_WITNESS_POLICY,
    CALLER_SUPPLIED,
    FAILED,
    INTEGRITY_ONLY_BASIS,
    NOT_RUN,
    PASSED,
    Check,
)
from notary.verify.timestamp.chain import CertificateNotValidAt, UntrustedChain, validate_path
from notary.verify.timestamp.pem import load_pem_certificates
from notary.verify.timestamp.verifier import TimestampInfo, verify_timestamp
from notary.verify.trust import TrustChoice, TrustFile, anchoring_file, trust_basis
from notary.verify.witness_policy import WitnessPolicyNotMet

__all__ = ["BUNDLE", "EXPORT", "archive_kind", "verify_export"]

EXPORT, BUNDLE = "export", "bundle"
_FIXED = frozenset({MANIFEST, SIGNATURE, NOTARY_CHAIN})
_FIXED_V2 = _FIXED | {TIMESTAMP, TIMESTAMP_CHAIN}
_LISTED = 100  # paths named in a check's details, at most

T = TypeVar("T")


class InvalidBundle(NotaryError):
    """A bundle of the export does not verify, or is not the bundle its name says."""

    code = "invalid_bundle"


class ExportedAfterTimestamp(NotaryError):
    """An export/2 manifest claims an ``exported_at`` later than the token that dates its signature."""

    code = "exported_after_timestamp"


class OutOfScope(NotaryError):
    """A bundle's record is outside the case's scope as the manifest states it."""

    code = "out_of_scope"


def archive_kind(handle: BinaryIO, *, limits: ExportLimits = EXPORT_LIMITS) -> str:
    """``EXPORT`` for a zip that holds ``manifest.sig``, a ``bundles/`` member or a manifest
    naming ``notary-export/1`` or ``/2``; otherwise ``BUNDLE`` (including for a zip the export reader
    refuses: the bundle reader then says why). Reads only the directory and the manifest."""
    try:
        archive = ExportArchive.open(handle, limits=limits)
        if archive.bundle_count or SIGNATURE in archive.others:
            return EXPORT
        entry = archive.others.get(MANIFEST)
        if entry is None:
            return BUNDLE
        manifest = parse_json(archive.read(entry), what=MANIFEST)
    except (MalformedExport, MalformedInput):
        return BUNDLE
    return EXPORT if isinstance(manifest, dict) and manifest.get("format") in EXPORT_FORMATS else BUNDLE


class _Checks:
    def __init__(self) -> None:
        self.results: dict[str, Check] = {}
        self.values: dict[str, Any] = {}

    def run(self, name: str, check: Callable[[], Passed[T]], *, needs: tuple[str, ...] = ()) -> T | None:
        if name not in EXPORT_CHECK_NAMES:  # the report keeps only those: an unlisted check would vanish
            raise ValueError(f"{name!r} is not in EXPORT_CHECK_NAMES")
        blocked = [need for need in needs if need not in self.values]
        if blocked:
            reason = f"not run: needs {', '.join(blocked)}, which did not pass"
            self.results[name] = Check(name, NOT_RUN, reason, {"needs": blocked})
            return None
        try:
            outcome = check()
        except MalformedExport:
            raise  # a damaged zip is unusable input, whichever member shows it
        except NotaryError as exc:
            self.results[name] = Check(name, FAILED, exc.message, exc.details or {}, exc.code)
            return None
        except Exception as exc:  # fail closed on anything unforeseen
            reason = f"the check could not complete: {type(exc).__name__}"
            self.results[name] = Check(name, FAILED, reason, {}, "check_error")
            return None
        self.results[name] = Check(name, PASSED, outcome.reason, outcome.details)
        self.values[name] = outcome.value
        return outcome.value


def verify_export(
    handle: BinaryIO,
    *,
    trust: TrustChoice,
    now: dt.datetime | None = None,
    limits: ExportLimits = EXPORT_LIMITS,
    progress: Callable[[int], None] | None = None,
) -> ExportReport:
    """Verify the case export on the seekable binary file ``handle``; return the report.

    ``trust`` anchors the notary's certificate (its ``notary_roots_pem``) and every bundle's
    checks: a trust file, ``CallerSupplied(trust_file)``, or ``INTEGRITY_ONLY_BASIS`` (the export's
    and the bundles' own keys; integrity, not origin).
    ``progress`` is called with the number of bundles after each one is verified.

    Raises :class:`~notary.verify.export.archive.MalformedExport` when ``handle`` is not a zip
    the export reader will open (see ``docs/export.md``: limits, unsafe names, damaged
    members, including a bundle whose bytes do not match the zip's CRC). Everything wrong
    inside a well-formed zip is a failed check.
    """
    basis = trust_basis(trust)
    trust_file = anchoring_file(trust)
    moment = now or dt.datetime.now(dt.UTC)
    archive = ExportArchive.open(handle, limits=limits)
    checks = _Checks()
    checks.run("trust", lambda: _describe_trust(trust_file, basis))
    manifest: ExportManifest | None = checks.run("export_manifest", lambda: _check_manifest(archive))
    checks.run("manifest_signature", lambda: _check_signature(archive, manifest), needs=("export_manifest",))
    stamped: TimestampInfo | None = None
    if manifest is not None and manifest.format == EXPORT_FORMAT:
        stamped = checks.run(
            "manifest_timestamp",
            lambda: _check_timestamp(archive, Anchors(trust_file), manifest, moment),
            needs=("export_manifest",),
        )
    checks.run(
        "notary_certificate",
        lambda: _check_certificate(archive, Anchors(trust_file), manifest, stamped),
        needs=("export_manifest", "manifest_timestamp") if _is_v2(manifest) else ("export_manifest",),
    )
    openings = _read_openings(archive)
    results, unexpected = _verify_members(archive, trust, moment, progress, openings)
    checks.run(
        "members",
        lambda: _check_members(manifest, results, unexpected, openings, set(archive.others)),
        needs=("export_manifest",),
    )
    checks.run("bundle_digests", lambda: _check_digests(manifest, results), needs=("export_manifest",))
    checks.run("bundles", lambda: _check_bundles(results))
    if _is_v2(manifest):
        checks.run(
            "openings", lambda: _check_openings(manifest, openings, results), needs=("export_manifest",)
        )
    if manifest is not None and (
        "platform_id" in manifest.case["scope"] or "party_id" in manifest.case["scope"]
    ):
        checks.run("scope", lambda: _check_scope(manifest, results), needs=("export_manifest",))
    return ExportReport(
        checks=tuple(checks.results[name] for name in EXPORT_CHECK_NAMES if name in checks.results),
        trust_basis=basis,
        verified_at=format_time(moment),
        bundles=tuple(result for result, _ in results),
        manifest_sha256=sha256_hex(manifest.raw) if manifest is not None else None,
        case=manifest.case if manifest else None,
        exported_at=manifest.exported_at if manifest else None,
        exported_by=manifest.exported_by if manifest else None,
        investigator=manifest.investigator if manifest else None,
        tool_version=manifest.tool_version if manifest else None,
        not_included=manifest.not_included if manifest else {},
        subject=manifest.format if manifest else EXPORT_FORMAT,
        manifest_time=RFC3161_TIME if stamped is not None else CLAIMED_TIME,
        manifest_gen_time=format_time(stamped.gen_time) if stamped is not None else None,
    )


def _is_v2(manifest: ExportManifest | None) -> bool:
    return manifest is not None and manifest.format == EXPORT_FORMAT


def _describe_trust(trust: TrustFile | None, basis: str) -> Passed[None]:
    if trust is None:
        return Passed(
            "integrity only, as chosen: the export's and the bundles' own keys were used (integrity, not origin)",
            {"trust_basis": INTEGRITY_ONLY_BASIS},
        )
    whose = "the caller's trust file (not this notary's)" if basis == CALLER_SUPPLIED else "trust file"
    return Passed(
        f"{whose}: {len(trust.notary_roots)} notary root(s), {len(trust.logs)} log key(s), "
        f"{len(trust.tsa_roots)} TSA root(s); the export's own keys were not relied on",
        {
            "trust_basis": basis,
            "notary_roots": [root.subject.rfc4514_string() for root in trust.notary_roots],
        },
    )


def _member(archive: ExportArchive, name: str) -> bytes:
    entry = archive.others.get(name)
    if entry is None:
        raise MissingMember(f"{name} is missing", details={"member": name})
    return archive.read(entry)


def _check_manifest(archive: ExportArchive) -> Passed[ExportManifest]:
    manifest = parse_manifest(_member(archive, MANIFEST))
    return Passed(
        f"{MANIFEST} is a {manifest.format} manifest of case {manifest.case['case_id']} listing "
        f"{len(manifest.bundles)} bundle(s) and {len(manifest.not_included)} contract(s) not included",
        {
            "case_id": manifest.case["case_id"],
            "bundles": len(manifest.bundles),
            "sha256": sha256_hex(manifest.raw),
        },
        manifest,
    )


def _notary_chain(archive: ExportArchive) -> tuple[x509.Certificate, ...]:
    return load_pem_certificates(_member(archive, NOTARY_CHAIN), what=NOTARY_CHAIN)


def _check_signature(archive: ExportArchive, manifest: ExportManifest | None) -> Passed[None]:
    assert manifest is not None
    signed = parse_signature(_member(archive, SIGNATURE))
    leaf = _notary_chain(archive)[0]
    key = PublicKey.from_der(leaf.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo))
    if key.fingerprint != signed.key_fingerprint:
        raise KeyMismatch(
            f"{SIGNATURE} names key {signed.key_fingerprint[:16]}…, not the key of {NOTARY_CHAIN}",
            details={"signed_by": signed.key_fingerprint, "certificate_key": key.fingerprint},
        )
    if key.algorithm != signed.algorithm:
        raise KeyMismatch(f"the key of {NOTARY_CHAIN} is not {signed.algorithm}")
    try:
        key.verify(signed.signature, manifest.raw)
    except InvalidSignature as exc:
        raise InvalidSignature(f"{SIGNATURE} does not verify over {MANIFEST} with the notary's key") from exc
    return Passed(
        f"{MANIFEST} is signed by the key of {leaf.subject.rfc4514_string()}",
        {"key_fingerprint": key.fingerprint},
    )


def _check_certificate(
    archive: ExportArchive, anchors: Anchors, manifest: ExportManifest | None, stamped: TimestampInfo | None
) -> Passed[None]:
    """``keys/notary.pem`` is a document-signing certificate chaining to a trusted notary root,
    valid when it signed: at the token's genTime (export/2), else at the manifest's own
    ``exported_at`` (export/1, a claimed time)."""
    assert manifest is not None
    chain = _notary_chain(archive)
    leaf = chain[0]
    try:
        usages = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except (x509.ExtensionNotFound, ValueError) as exc:
        raise UntrustedNotaryChain("the notary certificate names no extended key usage") from exc
    if DOCUMENT_SIGNING not in list(usages):
        raise UntrustedNotaryChain("the notary certificate is not for document signing")
    at = stamped.gen_time if stamped is not None else parse_time(manifest.exported_at, what="exported_at")
    when = (
        f"{format_time(at)} (the token's genTime)"
        if stamped is not None
        else f"{manifest.exported_at} (claimed)"
    )
    try:
        path = validate_path(leaf, trust_roots=anchors.notary_roots(chain), intermediates=chain[1:], at=at)
    except (UntrustedChain, CertificateNotValidAt) as exc:
        raise UntrustedNotaryChain(exc.message, details=exc.details) from exc
    return Passed(
        f"the notary certificate {leaf.subject.rfc4514_string()} chains to "
        f"{path[-1].subject.rfc4514_string()} and was valid at {when}",
        {"subject": leaf.subject.rfc4514_string(), "root": path[-1].subject.rfc4514_string()},
    )


def _check_timestamp(
    archive: ExportArchive, anchors: Anchors, manifest: ExportManifest, now: dt.datetime
) -> Passed[TimestampInfo]:
    """export/2: ``timestamp/manifest.tsr`` is an RFC 3161 token over SHA-256 of
    ``manifest.sig``'s bytes, chaining to a trusted authority; its genTime is not after the
    verifier's clock, and the manifest's ``exported_at`` is not after it (+5 minutes each)."""
    chain = load_pem_certificates(_member(archive, TIMESTAMP_CHAIN), what=TIMESTAMP_CHAIN)
    info = verify_timestamp(
        _member(archive, TIMESTAMP),
        message=_member(archive, SIGNATURE),
        trust_roots=anchors.tsa_roots(chain),
        intermediates=chain,
    )
    if info.chain[0] != chain[0]:
        raise TimestampChainMismatch(
            f"{TIMESTAMP_CHAIN} does not start with the certificate that signed {TIMESTAMP}"
        )
    if info.gen_time > now + CLOCK_SKEW:
        raise TimestampInFuture(
            f"{TIMESTAMP}'s genTime {format_time(info.gen_time)} is after the verifier's clock",
            details={"gen_time": format_time(info.gen_time), "now": format_time(now)},
        )
    exported_at = parse_time(manifest.exported_at, what="exported_at")
    if exported_at > info.gen_time + CLOCK_SKEW:
        raise ExportedAfterTimestamp(
            f"the manifest says it was exported at {manifest.exported_at}, after the token dated its "
            f"signature ({format_time(info.gen_time)})",
            details={"exported_at": manifest.exported_at, "gen_time": format_time(info.gen_time)},
        )
    return Passed(
        f"{SIGNATURE} was stamped at {format_time(info.gen_time)} by {info.signer_subject}: the export is "
        "judged at that time",
        {"gen_time": format_time(info.gen_time), "authority": info.signer_subject},
        info,
    )


_Opening = tuple[str, bytes, IdentityOpening | None, str | None]  # path, bytes, parsed, error


def _read_openings(archive: ExportArchive) -> list[_Opening]:
    """Every ``openings/`` member, parsed (or why not): they are small and read first, so
    that each bundle is verified with the openings of its parties."""
    found: list[_Opening] = []
    for name in sorted(archive.others):
        if not name.startswith(OPENINGS_PREFIX):
            continue
        data = archive.read(archive.others[name])
        try:
            found.append((name, data, parse_opening(data), None))
        except NotaryError as exc:
            found.append((name, data, None, f"{exc.code}: {exc.message}"))
    return found


def _openings_for(bundle: EvidenceBundle, openings: list[_Opening]) -> list[IdentityOpening]:
    """The openings that open a party of the bundle's record (none when it does not parse)."""
    try:
        record = parse_record(bundle.get(RECORD) or b"")
    except NotaryError:
        return []
    return [
        opening
        for _, _, opening, _ in openings
        if opening is not None
        and any(
            opening.opens(entry.identity_digest, salted=entry.salted) for entry in record.signatures.values()
        )
    ]


def _check_openings(
    manifest: ExportManifest | None, openings: list[_Opening], results: list[_Verified]
) -> Passed[None]:
    """export/2: exactly the openings the manifest lists, each with its listed SHA-256 (its
    commitment), each a well-formed opening that proves the identity of its party in a bundle
    of the export."""
    assert manifest is not None
    present = {path: (data, opening, error) for path, data, opening, error in openings}
    missing = [path for path in manifest.openings if path not in present]
    if missing:
        raise MissingMember(
            f"{len(missing)} opening(s) the manifest lists are not in the export, first {missing[0]}",
            details={"missing": missing[:_LISTED]},
        )
    proven: set[str] = set()
    for result, _ in results:
        for party in (result.report or {}).get("parties", {}).values():
            if party.get("identity", {}).get("status") == "proven":
                proven.add(party["party_id"])
    for path, digest in manifest.openings.items():
        data, opening, error = present[path]
        if sha256_hex(data) != digest:
            raise DigestMismatch(
                f"{path} does not have the SHA-256 the manifest lists", details={"opening": path}
            )
        if opening is None:
            raise OpeningMismatch(f"{path} is not an identity opening ({error})", details={"opening": path})
        if party_of(path) not in proven:
            raise OpeningMismatch(
                f"{path} proves the identity of no party {party_of(path)} in the export's bundles",
                details={"opening": path},
            )
    return Passed(
        f"{len(manifest.openings)} opening(s), each proving its party's identity in the export's bundles",
        {"openings": len(manifest.openings)},
    )


_Verified = tuple[BundleResult, str | None]  # the result, and the record's platform id


def _verify_members(
    archive: ExportArchive,
    trust: TrustChoice,
    moment: dt.datetime,
    progress: Callable[[int], None] | None,
    openings: list[_Opening],
) -> tuple[list[_Verified], list[str]]:
    results: list[_Verified] = []
    unexpected: list[str] = []
    for entry in archive.entries():
        if not entry.name.startswith("bundles/"):
            if entry.name not in _FIXED_V2 and not entry.name.startswith(OPENINGS_PREFIX):
                unexpected.append(entry.name)
            continue
        data = archive.read(entry)
        results.append(_verify_bundle(entry.name, data, trust, moment, openings))
        if progress is not None:
            progress(len(results))
    return results, unexpected


def _verify_bundle(
    path: str, data: bytes, trust: TrustChoice, moment: dt.datetime, openings: list[_Opening]
) -> _Verified:
    digest = sha256_hex(data)
    try:
        bundle = EvidenceBundle.from_zip(data)
    except MalformedBundle as exc:
        return BundleResult.of(path, digest, None, code=exc.code, reason=exc.message), None
    report = verify_evidence(bundle, trust=trust, openings=_openings_for(bundle, openings), now=moment)
    contract = contract_of(path)
    if report.verdict == BELOW_WITNESS_POLICY:
        witnesses = report.witnesses
        reason = f"fewer witnesses cosigned its checkpoint ({len(witnesses.cosigned_by)}) than required ({witnesses.k})"
        return BundleResult.of(path, digest, report, code=WitnessPolicyNotMet.code, reason=reason), None
    if not report.valid:
        reason = f"the bundle does not verify ({', '.join(check.name for check in report.failures) or 'checks not run'})"
        return BundleResult.of(path, digest, report, code=InvalidBundle.code, reason=reason), None
    if report.contract_id != contract:
        reason = f"the bundle is the evidence of {report.contract_id}, not of {contract}"
        return BundleResult.of(path, digest, report, code=InvalidBundle.code, reason=reason), None
    record = bundle.get(RECORD)
    platform_id = parse_record(record).platform_id if record is not None else None
    return BundleResult.of(path, digest, report), platform_id


def _check_members(
    manifest: ExportManifest | None,
    results: list[_Verified],
    unexpected: list[str],
    openings: list[_Opening],
    others: set[str],
) -> Passed[None]:
    assert manifest is not None
    present = {result.path for result, _ in results}
    missing = [path for path in manifest.bundles if path not in present]
    unlisted = [path for path in sorted(present) if path not in manifest.bundles] + unexpected
    unlisted += [path for path, _, _, _ in openings if path not in manifest.openings]
    if manifest.format != EXPORT_FORMAT:  # export/1 has no token
        unlisted += sorted((_FIXED_V2 - _FIXED) & others)
    if missing:
        raise MissingMember(
            f"{len(missing)} bundle(s) the manifest lists are not in the export, first {missing[0]}",
            details={"missing": missing[:_LISTED], "unexpected": unlisted[:_LISTED]},
        )
    if unlisted:
        raise UnexpectedMember(
            f"{len(unlisted)} member(s) the manifest does not list, first {unlisted[0]}",
            details={"unexpected": unlisted[:_LISTED]},
        )
    return Passed(
        f"the export holds exactly the {len(present)} bundle(s) the manifest lists", {"bundles": len(present)}
    )


def _check_digests(manifest: ExportManifest | None, results: list[_Verified]) -> Passed[None]:
    assert manifest is not None
    differing = [
        result.path
        for result, _ in results
        if result.path in manifest.bundles and manifest.bundles[result.path] != result.sha256
    ]
    if differing:
        raise DigestMismatch(
            f"{len(differing)} bundle(s) do not have the SHA-256 the manifest lists, first {differing[0]}",
            details={"bundles": differing[:_LISTED]},
        )
    checked = sum(1 for result, _ in results if result.path in manifest.bundles)
    return Passed(f"{checked} bundle(s) have the SHA-256 the signed manifest lists", {"bundles": checked})


def _check_bundles(results: list[_Verified]) -> Passed[None]:
    failing = [result for result, _ in results if not result.valid]
    if failing and all(result.code == WitnessPolicyNotMet.code for result in failing):
        # Only cosignatures missing: the export is as good as its bundles, below the policy (exit 4).
        raise WitnessPolicyNotMet(
            f"{len(failing)} of {len(results)} bundle(s) are below the witness policy, first {failing[0].path}: "
            f"{failing[0].reason}; export again once their evidence is cosigned",
            details={"bundles": [result.path for result in failing[:_LISTED]]},
        )
    if failing:
        first = failing[0]
        raise InvalidBundle(
            f"{len(failing)} of {len(results)} bundle(s) do not verify, first {first.path}: {first.reason}",
            details={"bundles": [result.path for result in failing[:_LISTED]]},
        )
    return Passed(f"every bundle ({len(results)}) verifies on its own", {"bundles": len(results)})


def _check_scope(manifest: ExportManifest, results: list[_Verified]) -> Passed[None]:
    scope = manifest.case["scope"]
    outside = []
    checked = 0
    for result, platform_id in results:
        report = result.report
        if not result.valid or report is None:
            continue  # reported by the bundles check; its record cannot be relied on
        checked += 1
        if "platform_id" in scope:
            inside = platform_id == scope["platform_id"]
        else:
            inside = any(party["party_id"] == scope["party_id"] for party in report["parties"].values())
        if not inside:
            outside.append(result.path)
    if outside:
        raise OutOfScope(
            f"{len(outside)} bundle(s) are outside the case's scope, first {outside[0]}",
            details={"bundles": outside[:_LISTED]},
        )
    described = ", ".join(f"{kind} {value}" for kind, value in scope.items())
    return Passed(
        f"every bundle's record is within the case's scope ({described})", {"bundles": len(results)}
    )
