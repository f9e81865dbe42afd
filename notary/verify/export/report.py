"""The verification report of a case export: the export's own checks and every bundle's report.

Frozen data, like :class:`~notary.verify.report.VerificationReport`, which it holds one of per
bundle; the CLI and ``POST /verify`` only render it. It fails closed: valid only when there
is at least one check and every check passed (the ``bundles`` check passes only when every
bundle's report is valid).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from notary.verify.canonical import canonical_json, parse_json
from notary.verify.report import (
    _MARKS,
    TRUST_BASES,
    Check,
    CheckedReport,
    VerificationReport,
    verdict_text,
)

__all__ = [
    "CLAIMED_TIME",
    "EXPORT_CHECK_NAMES",
    "EXPORT_REPORT_FORMAT",
    "RFC3161_TIME",
    "BundleResult",
    "ExportReport",
    "render_export_text",
]

EXPORT_REPORT_FORMAT = "notary-export-verification/2"

#: How the export's time is known: an RFC 3161 token over its signature (export/2), or only
#: its own ``exported_at`` (export/1: claimed by the key that signed it).
RFC3161_TIME, CLAIMED_TIME = "rfc3161_gen_time", "claimed"

#: Every check an export verification may report, in report order. ``scope`` appears only for
#: a case scoped to a platform or a party (a person's scope names only a masked number).
EXPORT_CHECK_NAMES = (
    "trust",
    "export_manifest",
    "manifest_signature",
    "manifest_timestamp",
    "notary_certificate",
    "members",
    "bundle_digests",
    "bundles",
    "openings",
    "scope",
)


@dataclass(frozen=True)
class BundleResult:
    """One ``bundles/*.zip`` member: its SHA-256, whether it verified, what is wrong with it if
    anything (``code``, ``reason``, the checks that failed), and its full report.

    The report is kept as its canonical JSON, compressed (about 1.5 kB instead of about 13 kB
    of objects), so that verifying an export of many bundles holds little per bundle; build
    it with :meth:`of`.
    """

    path: str
    sha256: str
    valid: bool
    contract_id: str | None = None
    code: str | None = None
    reason: str | None = None
    failed_checks: tuple[str, ...] = ()
    packed_report: bytes | None = field(default=None, repr=False)

    @classmethod
    def of(
        cls,
        path: str,
        sha256: str,
        report: VerificationReport | None,
        *,
        code: str | None = None,
        reason: str | None = None,
    ) -> BundleResult:
        """The result of a bundle with this report (None when it could not be opened) and
        problem, if any; valid only without a problem and with a valid report."""
        return cls(
            path=path,
            sha256=sha256,
            valid=code is None and report is not None and report.valid,
            contract_id=report.contract_id if report is not None else None,
            code=code,
            reason=reason,
            failed_checks=tuple(f"{c.name} ({c.code})" for c in report.failures)
            if report is not None
            else (),
            packed_report=zlib.compress(report.to_json()) if report is not None else None,
        )

    @property
    def report_json(self) -> bytes | None:
        """The bundle's report as canonical JSON (``notary-verification/1``), or None."""
        return zlib.decompress(self.packed_report) if self.packed_report is not None else None

    @property
    def report(self) -> dict[str, Any] | None:
        """The bundle's report as a JSON object, or None."""
        data = self.report_json
        return parse_json(data) if data is not None else None

    def json_pieces(self) -> Iterator[bytes]:
        """This result as canonical JSON, the report embedded as it was serialised."""
        fields: dict[str, bytes] = {
            "path": canonical_json(self.path),
            "report": self.report_json or b"null",
            "sha256": canonical_json(self.sha256),
            "valid": canonical_json(self.valid),
        }
        if self.code is not None:
            fields["code"], fields["reason"] = canonical_json(self.code), canonical_json(self.reason)
        yield from _object_pieces(fields)


def _object_pieces(fields: Mapping[str, bytes]) -> Iterator[bytes]:
    """A canonical JSON object from canonical values (keys are ASCII: code point order is RFC 8785's)."""
    for index, key in enumerate(sorted(fields)):
        yield (b"{" if index == 0 else b",") + canonical_json(key) + b":"
        yield fields[key]
    yield b"}" if fields else b"{}"


def _frozen(value: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    return None if value is None else MappingProxyType(dict(value))


@dataclass(frozen=True)
class ExportReport(CheckedReport):
    """The outcome of verifying a case export. What it says of the case, the export and its
    exporter comes from the manifest only when the manifest passed its check."""

    checks: tuple[Check, ...]
    trust_basis: str
    verified_at: str
    bundles: tuple[BundleResult, ...] = ()
    manifest_sha256: str | None = None
    case: Mapping[str, Any] | None = None
    exported_at: str | None = None
    exported_by: Mapping[str, Any] | None = None
    investigator: Mapping[str, Any] | None = None
    tool_version: str | None = None
    not_included: Mapping[str, str] = field(default_factory=dict)
    subject: str = "notary-export/2"
    manifest_time: str = CLAIMED_TIME
    manifest_gen_time: str | None = None

    def __post_init__(self) -> None:
        if self.trust_basis not in TRUST_BASES:
            raise ValueError(f"unknown trust basis {self.trust_basis!r}")
        names = [check.name for check in self.checks]
        if len(set(names)) != len(names):
            raise ValueError("a check is reported twice")
        for name in ("case", "exported_by", "investigator", "not_included"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))

    def to_dict(self) -> dict[str, Any]:
        """The report as one JSON object (what ``notary verify --json`` prints for an export)."""
        value: dict[str, Any] = parse_json(self.to_json())
        return value

    def _summary(self) -> dict[str, Any]:
        return {
            "format": EXPORT_REPORT_FORMAT,
            "subject": self.subject,
            "verdict": self.verdict,
            "valid": self.valid,
            "origin_established": self.origin_established,
            "trust_basis": self.trust_basis,
            "manifest_sha256": self.manifest_sha256,
            "case": _plain(self.case),
            "exported_at": self.exported_at,
            "manifest_time": self.manifest_time,
            "manifest_gen_time": self.manifest_gen_time,
            "exported_by": _plain(self.exported_by),
            "investigator": _plain(self.investigator),
            "tool_version": self.tool_version,
            "not_included": _plain(self.not_included),
            "checks": [check.to_dict() for check in self.checks],
            "verified_at": self.verified_at,
        }

    def json_pieces(self) -> Iterator[bytes]:
        """The report as canonical JSON, in pieces (one per bundle), so that printing the report
        of a large export never holds all of it."""
        summary = canonical_json(self._summary())
        yield b'{"bundles":['
        for index, bundle in enumerate(self.bundles):
            if index:
                yield b","
            yield from bundle.json_pieces()
        yield b"],"
        yield summary[1:]

    def to_json(self) -> bytes:
        """The report as canonical JSON (RFC 8785): ``bundles`` (each with its bundle's full
        report), then the export's facts and checks."""
        return b"".join(self.json_pieces())


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    return value


def render_export_text(report: ExportReport, *, listed: int = 20) -> str:
    """The report for a person: the verdict, the case, the export-level checks, then the
    bundles that failed (at most ``listed`` named) and a count of those that passed."""
    lines = [f"Case export: {verdict_text(report, what='export')}"]
    if report.case is not None:
        case = report.case
        scope = ", ".join(f"{key} {value}" for key, value in case["scope"].items())
        lines.append(f"Case {case['case_id']} ({case['case_number']}; {case['legal_basis']}); scope: {scope}")
    if report.exported_at is not None and report.exported_by is not None and report.investigator is not None:
        by = report.exported_by
        lines.append(
            f"Exported at {report.exported_at} by {by['kind']} {by['id']} for investigator "
            f"{report.investigator['name']} ({report.investigator['agency']}), notary {report.tool_version}"
        )
        lines.append(
            f"Dated by an RFC 3161 token over its signature: {report.manifest_gen_time}"
            if report.manifest_time == RFC3161_TIME
            else "Dated only by its own exported_at (an export/1: a claimed time)"
        )
    valid = sum(1 for bundle in report.bundles if bundle.valid)
    lines.append(f"{len(report.bundles)} bundle(s): {valid} valid, {len(report.bundles) - valid} not")
    if report.not_included:
        lines.append(f"{len(report.not_included)} contract(s) in scope not included (evidence not ready)")
    width = max((len(check.name) for check in report.checks), default=0)
    for check in report.checks:
        reason = f"{check.code}: {check.reason}" if check.code else check.reason
        lines.append(f"  [{_MARKS[check.status]}] {check.name.ljust(width)}  {reason}")
    bad = [bundle for bundle in report.bundles if not bundle.valid]
    for bundle in bad[:listed]:
        reason = bundle.reason or "its checks failed"
        if bundle.failed_checks:
            reason = "failed: " + ", ".join(bundle.failed_checks)
        lines.append(f"  {bundle.path}: {bundle.code or 'invalid_bundle'}: {reason}")
    if len(bad) > listed:
        lines.append(f"  ... and {len(bad) - listed} more bundle(s) that did not verify")
    return "\n".join(lines) + "\n"
