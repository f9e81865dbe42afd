"""The evidence certificate: facts, layout helpers, rendering, the timestamp adapter and PAdES signing.

Signatures are checked with pyHanko's validator against the throwaway root; the checks with
poppler, NSS, zbar and OpenSSL are in tests/e2e/test_certificate_pdf.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import io
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from asn1crypto import tsp
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from reportlab.lib.colors import black

from notary.errors import TimestampUnavailable
from notary.services.evidence.pdf import (
    CallableTimeStamper,
    CertificateFontMissing,
    CertificateSigner,
    CertificateSigningFailed,
    InvalidCertificateFacts,
    issue_certificate,
    mask_id_number,
    qr_payload,
    render_certificate,
    sign_certificate,
    verification_url,
)
from notary.services.evidence.pdf.fonts import certificate_fonts, load_fonts
from notary.services.evidence.pdf.layout import Style, wrap
from tests.support.certificate_facts import CONTRACT_ID, RECORD_SHA256, sample_facts
from tests.support.certificate_pki import asn1_root, make_keys, make_signer
from tests.support.tsa_replies import rejection


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory):
    return make_keys(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def signer(keys):
    return make_signer(keys)[0]


@pytest.fixture(scope="module")
def signed_pdf(signer) -> bytes:
    return signer.sign(render_certificate(sample_facts()))


def validate(pdf: bytes, keys):
    root = asn1_root(keys)
    reader = PdfFileReader(io.BytesIO(pdf))
    (signature,) = reader.embedded_signatures
    return validate_pdf_signature(
        signature,
        signer_validation_context=ValidationContext(trust_roots=[root]),
        ts_validation_context=ValidationContext(trust_roots=[root]),
    )


# --- facts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("id_number", "masked"),
    [
        ("11010519491231002X", "110***********002X"),
        ("1101 0519 4912 3100 2x", "110***********002X"),
        ("110105491231002", "110*********002"),
        ("E12345678", "E1*****78"),
        ("AB1", "***"),
    ],
)
def test_mask_id_number_hides_the_middle(id_number: str, masked: str) -> None:
    assert mask_id_number(id_number) == masked


def test_mask_id_number_refuses_an_empty_number() -> None:
    with pytest.raises(InvalidCertificateFacts) as caught:
        mask_id_number("  ")
    assert caught.value.code == "invalid_certificate_facts"


def test_derived_values_of_the_log_and_checkpoint() -> None:
    facts = sample_facts()
    # The root of payloads.md's one-leaf log, as its checkpoint writes it.
    assert facts.root_hash_base64 == "8gUZhq9y4f/AthG0e9GNw/YwIB8YGSXW1TDsDJJlGXk="
    assert facts.checkpoint_key_name == "notary.example/contracts/v1"
    assert facts.checkpoint_key_hash == "6acdd069"
    assert facts.timestamp.serial_hex == "0x1F3A5C7E9B2D4F60"
    assert facts.verification_url == f"https://notary.example/api/v1/r/{RECORD_SHA256}"
    assert (
        verification_url("https://n.example/", RECORD_SHA256) == f"https://n.example/api/v1/r/{RECORD_SHA256}"
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"document_sha256": "38265E2640A01327493F2E57F51912BE272E9CC812ED031DBD1390C4302C3EA0"},
        {"record_sha256": "00da351b"},
        {"root_hash": ""},
        {"leaf_index": 1, "tree_size": 1},
        {"tree_size": 0},
        {"term_months": True},
        {"annual_rate": "1.0"},
        {"annual_rate": "eight percent"},
        {"amount": "NaN-ish"},
        {"contract_id": " "},
        {"checkpoint_verifier_key": "notary.example/contracts/v1+6ACDD069+AT1A"},
        {"checkpoint_verifier_key": "no-plus-signs"},
        {"signatures": ()},
    ],
)
def test_malformed_facts_are_refused(changes: dict) -> None:
    with pytest.raises(InvalidCertificateFacts):
        sample_facts(**changes)


def test_each_role_signs_exactly_once() -> None:
    investor = sample_facts().signature("investor")
    with pytest.raises(InvalidCertificateFacts, match="one signature per role"):
        sample_facts(signatures=(investor, investor))
    with pytest.raises(InvalidCertificateFacts, match="unknown signature role"):
        dataclasses.replace(investor, role="guarantor")
    with pytest.raises(InvalidCertificateFacts, match="identity_assurance"):
        dataclasses.replace(investor, identity_assurance="trusted")


def test_a_party_must_arrive_masked() -> None:
    party = sample_facts().investor
    with pytest.raises(InvalidCertificateFacts, match="not masked"):
        dataclasses.replace(party, masked_id_number="11010519491231002X")


# --- layout --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def style() -> Style:
    return Style(certificate_fonts().text, 8, 11, black)


@pytest.fixture(scope="module")
def mono() -> Style:
    return Style(certificate_fonts().mono, 7.8, 11, black)


def test_wrap_breaks_a_long_digest_inside_the_column(mono: Style) -> None:
    digest = RECORD_SHA256 * 3
    lines = wrap([(digest, mono)], 200)
    assert len(lines) > 1
    assert "".join(text for line in lines for text, _ in line) == digest
    assert all(sum(run_style.width(text) for text, run_style in line) <= 200 for line in lines)


def test_wrap_breaks_at_spaces_and_between_chinese_characters(style: Style) -> None:
    english = wrap([("alpha beta gamma delta epsilon", style)], style.width("alpha beta gamma") + 1)
    assert ["".join(text for text, _ in line) for line in english] == ["alpha beta gamma", "delta epsilon"]
    chinese = wrap(
        [("兹证明下列电子借款合同已由出借人与借款人签署", style)], style.width("兹证明下列电子") + 1
    )
    assert next("".join(text for text, _ in line) for line in chinese) == "兹证明下列电子"


def test_chinese_punctuation_never_starts_a_line(style: Style) -> None:
    text = "甲乙丙丁戊，己庚辛壬癸。"
    lines = wrap([(text, style)], style.width("甲乙丙丁戊") + 1)
    rendered = ["".join(piece for piece, _ in line) for line in lines]
    assert "".join(rendered) == text
    assert not any(line.startswith(("，", "。")) for line in rendered)


# --- fonts ---------------------------------------------------------------------------------


def test_fonts_are_registered_once_per_process() -> None:
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(certificate_fonts())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(fonts) for fonts in seen}) == 1
    assert certificate_fonts() is seen[0]


def test_a_missing_font_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CertificateFontMissing, match="fonts-wqy-zenhei") as caught:
        load_fonts(tmp_path / "absent.ttc")
    assert caught.value.code == "certificate_font_missing"


def test_a_font_reportlab_cannot_embed_is_a_clear_error(tmp_path: Path) -> None:
    not_a_font = tmp_path / "font.ttc"
    not_a_font.write_bytes(b"OTTO" + bytes(64))
    with pytest.raises(CertificateFontMissing, match="cannot be embedded"):
        load_fonts(not_a_font)


# --- rendering -----------------------------------------------------------------------------


def test_same_facts_give_the_same_bytes() -> None:
    first = render_certificate(sample_facts())
    assert first.startswith(b"%PDF-")
    assert render_certificate(sample_facts()) == first
    assert render_certificate(sample_facts(amount="10000.01")) != first


def test_another_process_renders_the_same_bytes() -> None:
    """Reproducible from stored evidence: no dependence on hash seeds or process state."""
    script = (
        "import hashlib, sys\n"
        "from tests.support.certificate_facts import sample_facts\n"
        "from notary.services.evidence.pdf import render_certificate\n"
        "sys.stdout.write(hashlib.sha256(render_certificate(sample_facts())).hexdigest())\n"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=root,
        env={**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(root)},
        timeout=120,
        check=True,
    )
    assert result.stdout == hashlib.sha256(render_certificate(sample_facts())).hexdigest()


def test_the_qr_code_carries_the_verification_url() -> None:
    assert qr_payload(sample_facts()) == f"https://notary.example/api/v1/r/{RECORD_SHA256}"


def test_long_values_flow_onto_a_further_page() -> None:
    crowded = sample_facts(platform_name="示例平台" * 400)
    pdf = render_certificate(crowded)
    pages = PdfFileReader(io.BytesIO(pdf)).root["/Pages"]["/Count"]
    assert pages > len(PdfFileReader(io.BytesIO(render_certificate(sample_facts()))).root["/Pages"]["/Kids"])


# --- timestamps ----------------------------------------------------------------------------


def _stamp(respond) -> object:
    stamper = CallableTimeStamper(respond)
    return asyncio.run(stamper.async_timestamp(hashlib.sha256(b"x").digest(), "sha256"))


def test_the_adapter_returns_the_responders_token(keys) -> None:
    _, tsa = make_signer(keys)
    token = _stamp(tsa.respond)
    info = token["content"]["encap_content_info"]["content"].parsed
    assert info["message_imprint"]["hashed_message"].native == hashlib.sha256(b"x").digest()
    assert tsa.requests == 1


@pytest.mark.parametrize("answer", [b"", b"\x30\x03garbage", b"\x30\x00"])
def test_a_garbled_answer_is_timestamp_unavailable(answer: bytes) -> None:
    with pytest.raises(TimestampUnavailable, match="not an RFC 3161 response"):
        _stamp(lambda request: answer)


def test_a_granted_answer_without_a_usable_token_is_timestamp_unavailable() -> None:
    granted_no_token = rejection("system_failure").replace(b"\x02\x01\x02", b"\x02\x01\x00", 1)
    with pytest.raises(TimestampUnavailable, match="not an RFC 3161 token"):
        _stamp(lambda request: granted_no_token)


def test_a_refusal_is_timestamp_unavailable() -> None:
    with pytest.raises(TimestampUnavailable, match=r"refused the request \(rejection: busy\)") as caught:
        _stamp(lambda request: rejection("time_not_available", "busy"))
    assert caught.value.details == {"status": "rejection"}


def test_a_refusal_of_a_malformed_request_is_unavailable(keys) -> None:
    _, tsa = make_signer(keys)
    with pytest.raises(TimestampUnavailable, match="rejection"):
        _stamp(lambda request: tsa.respond(request[:-3]))


def test_a_token_over_another_digest_is_refused(keys) -> None:
    _, tsa = make_signer(keys)

    def wrong_digest(request_der: bytes) -> bytes:
        request = tsp.TimeStampReq.load(request_der)
        other = tsp.TimeStampReq(
            {
                "version": 1,
                "message_imprint": {
                    "hash_algorithm": {"algorithm": "sha256"},
                    "hashed_message": hashlib.sha256(b"y").digest(),
                },
                "nonce": request["nonce"].native,
                "cert_req": True,
            }
        )
        return tsa.respond(other.dump())

    with pytest.raises(TimestampUnavailable, match="another digest"):
        _stamp(wrong_digest)


# --- signing -------------------------------------------------------------------------------


def test_pyhanko_judges_the_signature_and_its_timestamp_valid_and_trusted(signed_pdf: bytes, keys) -> None:
    status = validate(signed_pdf, keys)
    assert status.bottom_line
    assert status.intact
    assert status.valid
    assert status.trusted
    assert status.timestamp_validity is not None
    assert status.timestamp_validity.intact
    assert status.timestamp_validity.trusted
    assert status.signing_cert.subject.native["common_name"] == "Example Notary Evidence Signer"


def test_the_signature_is_pades(signed_pdf: bytes) -> None:
    (signature,) = PdfFileReader(io.BytesIO(signed_pdf)).embedded_signatures
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert signature.field_name == "NotarySignature"
    attributes = {attr["type"].native for attr in signature.signer_info["signed_attrs"]}
    assert attributes == {"content_type", "message_digest", "signing_certificate_v2"}


def test_a_changed_byte_breaks_the_signature(signed_pdf: bytes, keys) -> None:
    tampered = bytearray(signed_pdf)
    offset = signed_pdf.index(CONTRACT_ID.encode())  # in the document information dictionary
    tampered[offset] ^= 0x01
    status = validate(bytes(tampered), keys)
    assert not status.intact
    assert not status.bottom_line


def test_another_root_does_not_trust_the_signer(signed_pdf: bytes, tmp_path: Path) -> None:
    stranger = make_keys(tmp_path / "other")
    status = validate(signed_pdf, stranger)
    assert status.intact
    assert status.valid
    assert not status.trusted
    assert not status.bottom_line


def test_issue_certificate_returns_the_digest_of_the_signed_bytes(signer) -> None:
    issued = issue_certificate(sample_facts(), signer)
    pdf, digest = issued
    assert digest == hashlib.sha256(pdf).hexdigest()
    assert pdf.startswith(render_certificate(sample_facts()))  # an incremental update: the original stays


def test_one_signer_serves_several_threads(signer, keys) -> None:
    unsigned = render_certificate(sample_facts())
    results: list[bytes] = []
    threads = [threading.Thread(target=lambda: results.append(signer.sign(unsigned))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4
    assert all(validate(pdf, keys).bottom_line for pdf in results)


def test_sign_certificate_one_shot(keys) -> None:
    _, tsa = make_signer(keys)
    pdf = sign_certificate(
        render_certificate(sample_facts()),
        signer_key=keys.notary_key,
        signer_cert=keys.notary_cert,
        chain=keys.notary_chain,
        timestamper=tsa.respond,
    )
    assert validate(pdf, keys).bottom_line


def test_a_reservation_too_small_falls_back_to_pyhankos_estimate(keys) -> None:
    _, tsa = make_signer(keys)
    signer = CertificateSigner(
        signer_key=keys.notary_key,
        signer_cert=keys.notary_cert,
        chain=keys.notary_chain,
        timestamper=tsa.respond,
        bytes_reserved=256,
    )
    assert validate(signer.sign(render_certificate(sample_facts())), keys).bottom_line


def test_a_key_that_is_not_the_certificates_is_refused(keys, tmp_path: Path) -> None:
    other = make_keys(tmp_path / "other")
    with pytest.raises(CertificateSigningFailed, match="does not match"):
        CertificateSigner(
            signer_key=other.notary_key,
            signer_cert=keys.notary_cert,
            chain=keys.notary_chain,
            timestamper=TimeStamper(),
        )


def test_a_file_that_is_not_a_pdf_cannot_be_signed(signer) -> None:
    with pytest.raises(CertificateSigningFailed) as caught:
        signer.sign(b"this is not a PDF")
    assert caught.value.code == "certificate_signing_failed"


def test_an_unreachable_authority_is_timestamp_unavailable(keys) -> None:
    def down(request_der: bytes) -> bytes:
        raise TimestampUnavailable("no authority answered")

    broken = CertificateSigner(
        signer_key=keys.notary_key, signer_cert=keys.notary_cert, chain=keys.notary_chain, timestamper=down
    )
    with pytest.raises(TimestampUnavailable, match="no authority answered"):
        broken.sign(render_certificate(sample_facts()))


def test_the_signed_pdf_keeps_the_certificate_number_in_its_metadata(signed_pdf: bytes) -> None:
    info = PdfFileReader(io.BytesIO(signed_pdf)).trailer["/Info"]
    assert re.search("NC-2026-000000123", str(info["/Title"]))


def test_a_character_no_face_has_is_shown_as_its_code_point(style: Style) -> None:
    """Arabic-Indic zeros would vanish from the page (`1٠٠٠٠٠.00` printed as `1.00`)."""
    assert style.runs("1٠٠.00") == [("1[U+0660][U+0660].00", style)]
    assert style.runs("张三 10000.00") == [("张三 10000.00", style)]
    assert wrap([("1٠.00", style)], 500) == [[("1[U+0660].00", style)]]
    assert style.runs("𰻞") == [("[U+30EDE]", style)]  # extension G: in no face


def test_a_rare_character_is_drawn_by_the_first_fallback_face_that_has_it(style: Style) -> None:
    """WenQuanYi lacks CJK extension B and beyond; input accepts what HanaMin draws, so the
    certificate draws it with HanaMin (A first, then B), in the run's size and colour."""
    runs = style.runs("𠮷田 王𫝀")
    assert [text for text, _ in runs] == ["𠮷", "田 王", "𫝀"]
    first, plain, second = (face for _, face in runs)
    assert plain == style
    assert first.font != style.font
    assert second.font not in (style.font, first.font)  # 𫝀 (extension D): only HanaMinB
    assert (first.size, first.leading, first.color) == (style.size, style.leading, style.color)
    assert first.width("𠮷") > 0
    # An extension B character breaks like any other Chinese character.
    lines = wrap([("𠮷𠮷𠮷𠮷", style)], style.width("田") * 2.5)
    assert ["".join(text for text, _ in line) for line in lines] == ["𠮷𠮷", "𠮷𠮷"]
