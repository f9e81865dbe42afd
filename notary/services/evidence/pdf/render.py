"""Render :class:`CertificateFacts` as an unsigned, bilingual A4 PDF.

Output is reproducible: the canvas runs with ``invariant=1`` (fixed creation date and document
id) and every value comes from the facts, so the same facts give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Sequence

from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from notary.display import amount_forms, chinese_date, rate_percent, time_forms
from notary.display.errors import NotDerivable
from notary.services.evidence.pdf.archival import Attachment, DocumentInfo, archival_canvas, make_archival
from notary.services.evidence.pdf.facts import (
    CERTIFICATE_MEMBER,
    CertificateFacts,
    PartyFacts,
    certificate_json,
)
from notary.services.evidence.pdf.fonts import CertificateFonts, certificate_fonts
from notary.services.evidence.pdf.howto import howto_steps, notes
from notary.services.evidence.pdf.layout import (
    Line,
    Run,
    Style,
    draw_lines,
    draw_qr,
    lines_height,
    qr_matrix,
    wrap,
)

TITLE_ZH = "电子借款合同存证证明"
TITLE_EN = "Evidence Certificate of an Electronic Loan Contract"

_PAGE_WIDTH, _PAGE_HEIGHT = A4
_LEFT = 18 * mm
_RIGHT = _PAGE_WIDTH - 18 * mm
_TOP = _PAGE_HEIGHT - 14 * mm
_BOTTOM = 20 * mm
_WIDTH = _RIGHT - _LEFT
_LABEL_WIDTH = 50 * mm
_PAD = 3.0
_QR_SIZE = 30 * mm

_INK = HexColor("#1a1a1a")
_MUTED = HexColor("#5f6368")
_ACCENT = HexColor("#8b1a1a")
_BAND = HexColor("#f3ece4")
_RULE = HexColor("#d9cfc4")

_ROLE_LABELS = {"investor": ("出借人（投资人）", "Investor (lender)"), "borrower": ("借款人", "Borrower")}
_SIGNATURE_LABELS = {
    "investor": ("出借人签名", "Investor's signature"),
    "borrower": ("借款人签名", "Borrower's signature"),
}
_ASSURANCE_LABELS = {
    "platform": ("由平台核验身份", "identity as stated by the platform"),
    "verified": ("经存证机构当面核验身份", "identity verified in person by the notary"),
}


class _Styles:
    def __init__(self, fonts: CertificateFonts) -> None:
        self.title_zh = Style(fonts.text, 18, 24, _ACCENT)
        self.title_en = Style(fonts.text, 10.5, 14, _ACCENT)
        self.text = Style(fonts.text, 8, 11, _INK)
        self.muted = Style(fonts.text, 7.2, 10, _MUTED)
        self.mono = Style(fonts.mono, 7.8, 11, _INK)
        self.heading = Style(fonts.text, 9, 12, _ACCENT)
        self.heading_en = Style(fonts.text, 8, 12, _ACCENT)
        self.footer = Style(fonts.text, 6.5, 9, _MUTED)


def qr_payload(facts: CertificateFacts) -> str:
    """What the QR code carries: the verification URL, which ends in the record's SHA-256."""
    return facts.verification_url


class _Writer:
    """Draws blocks top-down, starting a new page (with the footer) when one does not fit."""

    def __init__(self, canvas: Canvas, styles: _Styles, facts: CertificateFacts) -> None:
        self.canvas = canvas
        self.styles = styles
        self.facts = facts
        self.y = _TOP

    def ensure(self, height: float) -> None:
        if self.y - height < _BOTTOM:
            self.finish_page()
            self.y = _TOP

    def finish_page(self) -> None:
        canvas, style = self.canvas, self.styles.footer
        canvas.setStrokeColor(_RULE)
        canvas.setLineWidth(0.5)
        canvas.line(_LEFT, _BOTTOM - 4 * mm, _RIGHT, _BOTTOM - 4 * mm)
        canvas.setFont(style.font, style.size)
        canvas.setFillColor(style.color)
        page = canvas.getPageNumber()
        first, second = _BOTTOM - 4 * mm - 9, _BOTTOM - 4 * mm - 18
        canvas.drawString(_LEFT, first, f"证明编号 Certificate No. {self.facts.certificate_number}")
        canvas.drawRightString(_RIGHT, first, f"第 {page} 页 Page {page}")
        canvas.drawString(
            _LEFT,
            second,
            "本文件由存证机构电子签名（PAdES，含时间戳）· Signed and timestamped by the notary (PAdES)",
        )
        canvas.drawRightString(_RIGHT, second, f"notary {self.facts.notary_version}")
        canvas.showPage()

    def band(self, zh: str, en: str, first_block: float) -> None:
        height = 14.0
        self.ensure(height + first_block)
        self.canvas.setFillColor(_BAND)
        self.canvas.rect(_LEFT, self.y - height, _WIDTH, height, stroke=0, fill=1)
        draw_lines(
            self.canvas,
            [[(zh + " ", self.styles.heading), (en, self.styles.heading_en)]],
            _LEFT + _PAD,
            self.y - 1,
            self.styles.heading,
        )
        self.y -= height

    def row(self, label: Sequence[Line], value: Sequence[Line]) -> None:
        height = max(lines_height(label, self.styles.text), lines_height(value, self.styles.text)) + 2 * 1.6
        self.ensure(height)
        draw_lines(self.canvas, label, _LEFT + _PAD, self.y - 1.6, self.styles.text)
        draw_lines(self.canvas, value, _LEFT + _LABEL_WIDTH + _PAD, self.y - 1.6, self.styles.text)
        self.y -= height
        self.canvas.setStrokeColor(_RULE)
        self.canvas.setLineWidth(0.25)
        self.canvas.line(_LEFT, self.y, _RIGHT, self.y)


def render_certificate(facts: CertificateFacts) -> bytes:
    """Render the unsigned certificate PDF for ``facts``; the same facts give the same bytes.

    The file aims at PDF/A-3b (:mod:`~notary.services.evidence.pdf.archival`): every font
    embedded, an sRGB output intent, XMP metadata, and ``facts.attachments`` as associated
    files. Raises :class:`~notary.services.evidence.pdf.fonts.CertificateFontMissing` when the
    CJK font is not installed.
    """
    fonts = certificate_fonts()
    styles = _Styles(fonts)
    out = io.BytesIO()
    canvas = archival_canvas(out, pagesize=A4, initial_font=fonts.text)
    writer = _Writer(canvas, styles, facts)
    _header(writer)
    for (zh, en), rows in _sections(facts, styles):
        label_width = _LABEL_WIDTH - 2 * _PAD
        value_width = _WIDTH - _LABEL_WIDTH - 2 * _PAD
        wrapped = [
            (
                wrap([(label_zh + " ", styles.text), (label_en, styles.muted)], label_width),
                [line for paragraph in value for line in wrap(paragraph, value_width)],
            )
            for label_zh, label_en, value in rows
        ]
        writer.y -= 2.5 * mm
        writer.band(zh, en, lines_height(wrapped[0][1], styles.text) + 4)
        for label, value_lines in wrapped:
            writer.row(label, value_lines)
    _howto(writer)
    writer.finish_page()
    carried = Attachment(
        CERTIFICATE_MEMBER,
        "application/json",
        certificate_json(facts),
        "the values this certificate prints, as data (notary certificate facts)",
    )
    make_archival(canvas, document_info(facts), (carried, *facts.attachments))
    canvas.save()
    return out.getvalue()


def document_info(facts: CertificateFacts) -> DocumentInfo:
    """The certificate's Info dictionary and XMP: its title, number, contract, issue time."""
    return DocumentInfo(
        title=f"{TITLE_ZH} {facts.certificate_number}",
        author="notary",
        subject=f"{TITLE_EN}: {facts.contract_id}",
        keywords=f"{facts.certificate_number}, {facts.contract_id}, {facts.record_sha256}",
        creator=f"notary {facts.notary_version}",
        producer=f"notary {facts.notary_version} (ReportLab, pyHanko)",
        created=dt.datetime.fromisoformat(facts.issued_at.replace("Z", "+00:00")),
    )


def _header(writer: _Writer) -> None:
    facts, styles, canvas = writer.facts, writer.styles, writer.canvas
    draw_qr(canvas, qr_matrix(qr_payload(facts)), _RIGHT - _QR_SIZE, _TOP - _QR_SIZE, _QR_SIZE)
    caption = [[("扫码在线核验", styles.footer)], [("Scan to verify online", styles.footer)]]
    for offset, line in enumerate(caption):
        canvas.setFont(styles.footer.font, styles.footer.size)
        canvas.setFillColor(styles.footer.color)
        canvas.drawCentredString(_RIGHT - _QR_SIZE / 2, _TOP - _QR_SIZE - 8 - offset * 8, line[0][0])
    width = _WIDTH - _QR_SIZE - 6 * mm
    runs: list[Sequence[Run]] = [
        [(TITLE_ZH, styles.title_zh)],
        [(TITLE_EN, styles.title_en)],
        [
            ("证明编号 ", styles.text),
            ("Certificate No. ", styles.muted),
            (facts.certificate_number, styles.mono),
        ],
        [("签发时间 ", styles.text), ("Issued at ", styles.muted), *_time(facts.issued_at, styles)],
        [
            (
                "兹证明：下列电子借款合同已由出借人与借款人各自以其登记的密钥签署，并由本存证机构封存于可公开核查、"
                "只增不改的透明日志，附 RFC 3161 时间戳。",
                styles.text,
            )
        ],
        [
            (
                "This certifies that the electronic loan contract below was signed by the investor and "
                "the borrower, each with the key they enrolled, and sealed by the notary into a publicly "
                "checkable, append-only transparency log with an RFC 3161 timestamp.",
                styles.muted,
            )
        ],
    ]
    y = writer.y
    for index, block in enumerate(runs):
        if index in (2, 4):
            y -= 2 * mm
        y -= draw_lines(canvas, wrap(block, width), _LEFT, y, styles.text)
    writer.y = min(y, _TOP - _QR_SIZE - 20) - 2 * mm
    canvas.setStrokeColor(_ACCENT)
    canvas.setLineWidth(1.2)
    canvas.line(_LEFT, writer.y, _RIGHT, writer.y)


Paragraph = list[Run]
Row = tuple[str, str, list[Paragraph]]
DERIVED_ZH, DERIVED_EN = "〔换算〕", "derived"


def _derived(styles: _Styles, zh: str, en: str) -> list[Run]:
    return [(f"　{zh}{DERIVED_ZH} ", styles.muted), (en + ", " + DERIVED_EN, styles.muted)]


def _time(value: str, styles: _Styles) -> Paragraph:
    """Beijing time first (derived), then the value exactly as recorded."""
    beijing = time_forms(value).beijing
    # "UTC" only where the value says so: a sign_by sent with an offset is shown with it.
    label = "UTC 原文 " if value.endswith("Z") else "原文 "
    recorded: Paragraph = [(label, styles.muted), (value, styles.mono)]
    if beijing is None:
        return [("原文 as recorded ", styles.muted), (value, styles.mono)]
    return [(beijing + "　", styles.text), *recorded]


def _amount(facts: CertificateFacts, styles: _Styles) -> list[Paragraph]:
    forms = amount_forms(facts.amount, facts.currency)
    paragraphs: list[Paragraph] = [
        [(f"{facts.amount} {facts.currency}", styles.text), ("　原文 as signed", styles.muted)]
    ]
    if forms.grouped is None:
        return [*paragraphs, [("无法换算：金额不是普通的十进制数 · cannot be derived", styles.muted)]]
    paragraphs.append(
        [(f"{forms.grouped} {facts.currency}", styles.text), *_derived(styles, "千分位", "grouped")]
    )
    if forms.capitals is not None:
        paragraphs.append([(forms.capitals, styles.text), *_derived(styles, "大写", "in capitals")])
    return paragraphs


def _with_derived(value: str, derive: Callable[[str], str], zh: str, en: str, styles: _Styles) -> Paragraph:
    try:
        derived = derive(value)
    except NotDerivable:
        return [(value, styles.text)]
    return [(value, styles.text), ("　→ ", styles.muted), (derived, styles.text), *_derived(styles, zh, en)]


def _sections(facts: CertificateFacts, styles: _Styles) -> list[tuple[tuple[str, str], list[Row]]]:
    text, muted, mono = styles.text, styles.muted, styles.mono

    def party(who: PartyFacts) -> list[Paragraph]:
        return [
            [
                (who.name + "　", text),
                ("证件号 ", text),
                ("ID ", muted),
                (who.masked_id_number + "　", mono),
                ("当事人编号 ", text),
                ("party ", muted),
                (who.party_id, mono),
            ]
        ]

    platform: list[Paragraph] = [[(facts.platform_name + "　", text), (facts.platform_id, mono)]]
    if facts.platform_defunct_at is not None:
        platform.append(
            [
                ("该平台已停止运营（签发时状态），标记时间 ", text),
                ("defunct since ", muted),
                *_time(facts.platform_defunct_at, styles),
            ]
        )
    not_given: list[Paragraph] = [[("平台未提供 ", muted), ("not given by the platform", muted)]]
    contract: list[Row] = [
        ("合同编号", "Contract ID", [[(facts.contract_id, mono)]]),
        ("合同标题", "Title", [[(facts.title, text)]] if facts.title is not None else not_given),
        (
            "平台合同编号",
            "Platform's reference",
            [[(facts.external_ref, mono)]] if facts.external_ref is not None else not_given,
        ),
        ("平台", "Platform", platform),
        (*_ROLE_LABELS["investor"], party(facts.investor)),
        (*_ROLE_LABELS["borrower"], party(facts.borrower)),
        ("借款金额", "Amount", _amount(facts, styles)),
        (
            "年利率",
            "Annual rate",
            [_with_derived(facts.annual_rate, rate_percent, "百分数", "percent", styles)],
        ),
        ("借款期限", "Term", [[(f"{facts.term_months} 个月 ", text), ("months", muted)]]),
        ("起始日期", "Start date", [_with_derived(facts.start_date, chinese_date, "日期", "date", styles)]),
        ("签署截止", "Sign by", [_time(facts.sign_by, styles)]),
    ]
    document: list[Row] = [
        ("合同文件 SHA-256", "Document SHA-256", [[(facts.document_sha256, mono)]]),
        (
            "文件大小、类型",
            "Size, media type",
            [[(f"{facts.document_size} 字节 ", text), ("bytes", muted), (f" · {facts.media_type}", text)]],
        ),
        ("合同条款 SHA-256", "Terms SHA-256", [[(facts.terms_sha256, mono)]]),
    ]
    signatures: list[Row] = []
    for role in ("investor", "borrower"):
        signature = facts.signature(role)
        role_zh, role_en = _SIGNATURE_LABELS[role]
        assurance_zh, assurance_en = _ASSURANCE_LABELS[signature.identity_assurance]
        signatures += [
            (role_zh, role_en, [[(signature.algorithm, mono)]]),
            ("　公钥指纹", "key fingerprint", [[(signature.key_fingerprint, mono)]]),
            ("　签署时间", "signed at", [_time(signature.signed_at, styles)]),
            ("　身份核验", "identity", [[(assurance_zh + " ", text), (assurance_en, muted)]]),
        ]
    sealing: list[Row] = [
        ("提交存证时间", "Filed at", [_time(facts.filed_at, styles)]),
        ("封存时间", "Sealed at", [_time(facts.sealed_at, styles)]),
        ("存证记录 SHA-256", "Record SHA-256", [[(facts.record_sha256, mono)]]),
        ("时间戳机构", "Timestamp authority", [[(facts.timestamp.authority, text)]]),
        ("时间戳时间", "Timestamp time", [_time(facts.timestamp.gen_time, styles)]),
        ("时间戳序列号", "Timestamp serial", [[(facts.timestamp.serial_hex, mono)]]),
    ]
    log: list[Row] = [
        ("日志名称", "Log origin", [[(facts.checkpoint_origin, mono)]]),
        ("叶子序号", "Leaf index", [[(str(facts.leaf_index), mono)]]),
        ("树大小", "Tree size", [[(str(facts.tree_size), mono)]]),
        ("根哈希（十六进制）", "Root hash (hex)", [[(facts.root_hash, mono)]]),
        ("根哈希（Base64）", "Root hash (base64)", [[(facts.root_hash_base64, mono)]]),
        (
            "检查点签名密钥",
            "Checkpoint signer",
            [
                [
                    (facts.checkpoint_key_name + "　", mono),
                    ("密钥哈希 ", text),
                    ("key hash ", muted),
                    (facts.checkpoint_key_hash, mono),
                ]
            ],
        ),
        ("检查点验证公钥", "Verifier key", [[(facts.checkpoint_verifier_key, mono)]]),
        ("在线核验", "Verify online", [[(facts.verification_url, mono)]]),
    ]
    return [
        (("一、合同", "1. Contract"), contract),
        (("二、文件与条款", "2. Document and terms"), document),
        (("三、签名", "3. Signatures"), signatures),
        (("四、封存与时间戳", "4. Sealing and timestamp"), sealing),
        (("五、透明日志", "5. Transparency log"), log),
    ]


def _howto(writer: _Writer) -> None:
    styles = writer.styles
    indent = 6 * mm
    width = _WIDTH - indent - 2 * _PAD
    steps = [
        wrap([(zh, styles.text)], width)
        + wrap([(en, styles.muted)], width)
        + [line for command in commands for line in wrap([(command, styles.mono)], width)]
        for zh, en, commands in howto_steps(writer.facts)
    ]
    remarks = [
        wrap([(zh, styles.text)], width) + wrap([(en, styles.muted)], width) for zh, en in notes(writer.facts)
    ]
    for (zh, en), items, marker in (
        (("六、如何离线验证", "6. How to verify offline"), steps, "{}."),
        (("七、说明", "7. Notes"), remarks, "·"),
    ):
        writer.y -= 2.5 * mm
        writer.band(zh, en, lines_height(items[0], styles.text) + 4)
        for number, lines in enumerate(items, start=1):
            height = lines_height(lines, styles.text) + 4
            writer.ensure(height)
            label = [[(marker.format(number), styles.text)]]
            draw_lines(writer.canvas, label, _LEFT + _PAD, writer.y - 2, styles.text)
            draw_lines(writer.canvas, lines, _LEFT + indent + _PAD, writer.y - 2, styles.text)
            writer.y -= height
