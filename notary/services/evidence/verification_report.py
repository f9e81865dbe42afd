"""The signed PDF verification report (验证报告) of the verify page: what was checked, against
which trust anchors, by which tool version, when, signed by the notary's report key.

A court files it beside the evidence. It holds only what the service established itself:
check names, their outcomes and error codes, hashes, sizes and times it validated, and the
fingerprints of the trust anchors used. Nothing uploaded is copied into it as text (no
reasons quoting the file, no names, no terms), so nobody can make the notary sign words of
their choosing. It is signed with its own key (``report.key``, no documentSigning EKU): a
report can never pass for an evidence certificate.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from notary.services.evidence.pdf.fonts import certificate_fonts
from notary.verify.canonical import canonical_json
from notary.verify.trust import TrustFile

TITLE_ZH, TITLE_EN = "验证报告", "Verification report"
_HEX64 = re.compile(r"[0-9a-f]{64}")
_NAME = re.compile(r"[a-z][a-z0-9_]{0,40}")
_ID = re.compile(r"[a-z]{2,4}_[0-9A-Za-z]{10,40}")
_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})"
)
_STATUS_WORDS = {"passed": "通过 passed", "failed": "未通过 FAILED", "not_run": "未执行 not run"}


def _hex(value: Any) -> str | None:
    return value if isinstance(value, str) and _HEX64.fullmatch(value) else None


def _time(value: Any) -> str | None:
    return value if isinstance(value, str) and _TIME.fullmatch(value) else None


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


@dataclass(frozen=True)
class CheckLine:
    name: str
    status: str
    code: str | None


@dataclass(frozen=True)
class ReportFacts:
    """What a signed report states; build it with :meth:`of`, which keeps only values of a
    known shape (hex digests, ids, RFC 3339 times, integers, check names and codes)."""

    valid: bool
    origin_established: bool
    trust_basis: str
    contract_id: str | None
    record_sha256: str | None
    document_sha256: str | None
    your_document_sha256: str | None
    your_document_matches: bool | None
    signing_time: str | None
    leaf_index: int | None
    tree_size: int | None
    root_hash: str | None
    checks: tuple[CheckLine, ...]
    anchors: tuple[tuple[str, str], ...]
    bundle_sha256: str
    report_sha256: str
    verified_at: str
    tool_version: str
    #: Every check passed but the witnesses' (``below_witness_policy``): not valid, not invalid either.
    below_witness_policy: bool = False

    @classmethod
    def of(
        cls,
        report: Mapping[str, Any],
        *,
        bundle_sha256: str,
        trust: TrustFile,
        trust_is_own: bool,
        your_document_sha256: str | None,
        tool_version: str,
    ) -> ReportFacts:
        """The facts of a bundle's verification report (``VerificationReport.to_dict()``)."""
        log = report.get("log") or {}
        signing = report.get("signing_time") or {}
        document = _hex(report.get("document_sha256"))
        mine = _hex(your_document_sha256)
        checks = tuple(
            CheckLine(
                name=str(check["name"]),
                status=str(check["status"]),
                code=check.get("code")
                if isinstance(check.get("code"), str) and _NAME.fullmatch(check["code"])
                else None,
            )
            for check in report.get("checks", [])
            if isinstance(check.get("name"), str)
            and _NAME.fullmatch(check["name"])
            and check.get("status") in _STATUS_WORDS
        )
        contract_id = report.get("contract_id")
        return cls(
            valid=report.get("valid") is True,
            origin_established=report.get("origin_established") is True,
            trust_basis="trust_file" if report.get("trust_basis") == "trust_file" else "bundle_only",
            contract_id=contract_id if isinstance(contract_id, str) and _ID.fullmatch(contract_id) else None,
            record_sha256=_hex(report.get("record_sha256")),
            document_sha256=document,
            your_document_sha256=mine,
            your_document_matches=None if mine is None or document is None else mine == document,
            signing_time=_time(signing.get("time")),
            leaf_index=_count(log.get("leaf_index")),
            tree_size=_count(log.get("tree_size")),
            root_hash=_hex(log.get("root_hash")),
            checks=checks,
            anchors=trust_anchors(trust, own=trust_is_own),
            bundle_sha256=bundle_sha256,
            report_sha256=hashlib.sha256(canonical_json(dict(report))).hexdigest(),
            verified_at=_time(report.get("verified_at")) or "",
            tool_version=tool_version,
            below_witness_policy=report.get("verdict") == "below_witness_policy",
        )


def trust_anchors(trust: TrustFile, *, own: bool) -> tuple[tuple[str, str], ...]:
    """The anchors as fingerprints: the log keys' hashes, the roots' SHA-256 (of their DER)."""
    anchors: list[tuple[str, str]] = [
        ("trust file", "this notary's own (GET /api/v1/trust)" if own else "given by the requester")
    ]
    for entry in trust.logs:
        name, key_hash, _ = entry.key.text.split("+", 2)
        anchors.append(("log key", f"{name}+{key_hash}"))
    for root in trust.notary_roots:
        anchors.append(("notary root", hashlib.sha256(root.public_bytes(Encoding.DER)).hexdigest()))
    for root in trust.tsa_roots:
        anchors.append(("TSA root", hashlib.sha256(root.public_bytes(Encoding.DER)).hexdigest()))
    return tuple(anchors)


class _Writer:
    """Lines down an A4 page, a new page when one is full."""

    def __init__(self, canvas: Canvas, text_font: str, mono_font: str) -> None:
        self.canvas, self.text, self.mono = canvas, text_font, mono_font
        self.y = A4[1] - 20 * mm

    def line(self, text: str, *, size: float = 9, mono: bool = False, gap: float = 4.6) -> None:
        if self.y < 20 * mm:
            self.canvas.showPage()
            self.y = A4[1] - 20 * mm
        self.canvas.setFont(self.mono if mono else self.text, size)
        self.canvas.drawString(18 * mm, self.y, text)
        self.y -= gap * mm

    def pair(self, label: str, value: str) -> None:
        self.line(label, size=8)
        for start in range(0, max(len(value), 1), 80):
            self.line("    " + value[start : start + 80], size=8.5, mono=True, gap=4.2)


def render_report(facts: ReportFacts) -> bytes:
    """The unsigned, reproducible PDF of ``facts`` (bilingual: Chinese, then English)."""
    fonts = certificate_fonts()
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, invariant=1, pageCompression=1)
    canvas.setTitle(f"{TITLE_ZH} {TITLE_EN}")
    canvas.setAuthor("notary")
    writer = _Writer(canvas, fonts.text, fonts.mono)
    writer.line(f"{TITLE_ZH}  {TITLE_EN}", size=16, gap=9)
    if facts.valid:
        verdict = (
            "有效：完整，且来源已确立 VALID: intact, origin established"
            if facts.origin_established
            else "仅完整性有效，来源未确立 VALID for integrity only"
        )
    elif facts.below_witness_policy:
        verdict = "尚不能认定有效：见证方联署不足 NOT YET VALID: too few witnesses"
    else:
        verdict = "无效 INVALID"
    writer.line(f"结论 Verdict: {verdict}", size=12, gap=7)
    writer.pair("合同编号 Contract", facts.contract_id or "—")
    writer.pair("记录指纹 Record SHA-256", facts.record_sha256 or "—")
    writer.pair("文件指纹 Document SHA-256", facts.document_sha256 or "—")
    if facts.your_document_sha256 is not None:
        match = {True: "一致 matches", False: "不一致 DIFFERS", None: "无法比对 not comparable"}[
            facts.your_document_matches
        ]
        writer.pair("申请人所持文件 Requester's document SHA-256", f"{facts.your_document_sha256} ({match})")
    writer.pair("时间戳 Timestamp (RFC 3161 genTime)", facts.signing_time or "—")
    if facts.leaf_index is not None and facts.tree_size is not None:
        writer.pair("日志位置 Log position", f"leaf {facts.leaf_index} / tree size {facts.tree_size}")
    writer.pair("日志根 Root hash", facts.root_hash or "—")
    writer.pair("证据包指纹 Bundle SHA-256", facts.bundle_sha256)
    writer.pair("报告指纹 Report JSON SHA-256 (RFC 8785)", facts.report_sha256)
    writer.y -= 2 * mm
    writer.line("检查项 Checks", size=11, gap=6)
    for check in facts.checks:
        code = f"  [{check.code}]" if check.code else ""
        writer.line(f"{_STATUS_WORDS[check.status]:<16} {check.name}{code}", size=8.5, mono=True, gap=4.4)
    writer.y -= 2 * mm
    writer.line("信任锚 Trust anchors", size=11, gap=6)
    for label, value in facts.anchors:
        writer.pair(label, value)
    writer.y -= 2 * mm
    writer.pair("核验时间 Verified at (UTC)", facts.verified_at)
    writer.pair("工具版本 Tool", f"notary {facts.tool_version} (notary.verify)")
    writer.line("本报告只陈述本服务亲自完成的检查及其结果，不含上传文件中的文字。", size=8, gap=4.4)
    writer.line(
        "This report states only the checks this service ran and their results; it quotes no text from the upload.",
        size=8,
    )
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def signed_report(facts: ReportFacts, signer: Any) -> bytes:
    """The report rendered and signed (PAdES, with a signature timestamp) by ``signer``
    (a :class:`~notary.services.evidence.pdf.CertificateSigner` holding the report key)."""
    pdf: bytes = signer.sign(render_report(facts))
    return pdf
