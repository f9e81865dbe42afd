"""The certificate as an archival file: PDF/A-3b by a validator, metadata, fonts, associated files.

The validator is `page` (PyPI `page-validation`, a Rust PDF/A and PDF/UA checker that passes
the veraPDF and Isartor corpora); veraPDF itself is Java and not in PyPI, Debian or npm. What
the validator might not insist on (Info and XMP agreeing after pyHanko's incremental update,
every font embedded, the files carried byte for byte) is checked here directly.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import re
import xml.etree.ElementTree as ET

import page
import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from notary.services.evidence.pdf import (
    Attachment,
    certificate_json,
    facts_from_json,
    facts_to_json,
    render_certificate,
)
from notary.services.evidence.pdf.archival import srgb_profile
from notary.services.evidence.pdf.render import document_info
from tests.support.certificate_facts import sample_facts
from tests.support.certificate_pki import make_keys, make_signer

RECORD = b'{"format":"notary-record/2","sealed_at":"2026-12-01T08:00:05.000Z"}'
PROOF = b'{"hashes":[],"leaf_index":0,"tree_size":1}'
ATTACHMENTS = (
    Attachment("record.json", "application/json", RECORD, "the evidence record"),
    Attachment("log/inclusion.json", "application/json", PROOF, "its inclusion proof", "Supplement"),
    Attachment(
        "timestamp/record.tsr", "application/timestamp-reply", bytes(range(256)), "a token", "Supplement"
    ),
    # Data ending in a newline counts it in /Length: the EOL before endstream must still be added.
    Attachment(
        "log/checkpoint.txt", "text/plain", b"example.org/log\n3\nroot=\n", "a checkpoint", "Supplement"
    ),
)


def edge_facts():
    return sample_facts(
        title="个人消费借款合同（含担保条款）" * 4,
        external_ref="P2P/2026-12#000123",
        amount="999999999999999.99",
        platform_defunct_at="2027-03-01T02:00:00.000Z",
        attachments=ATTACHMENTS,
    )


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory):
    return make_signer(make_keys(tmp_path_factory.mktemp("keys")))[0]


@pytest.fixture(scope="module")
def unsigned() -> bytes:
    return render_certificate(edge_facts())


@pytest.fixture(scope="module")
def signed(signer, unsigned) -> bytes:
    return signer.sign(unsigned)


def failures(pdf: bytes) -> list[str]:
    report = page.validate_pdf_bytes(pdf, profile="3b")
    return [f"{failure.rule_id}: {failure.message}" for failure in report.failures]


def test_the_unsigned_certificate_is_pdf_a_3b(unsigned: bytes) -> None:
    assert failures(unsigned) == []
    assert page.is_pdf_compliant_bytes(unsigned, profile="3b")


def test_the_signed_certificate_is_pdf_a_3b(signed: bytes) -> None:
    assert failures(signed) == []


def test_the_sample_certificate_without_attachments_is_pdf_a_3b(signer) -> None:
    assert failures(signer.sign(render_certificate(sample_facts()))) == []


def test_the_validator_fails_what_the_certificate_used_to_be(unsigned: bytes) -> None:
    """The validator is not a rubber stamp: without the XMP identification it refuses the file."""
    stripped = unsigned.replace(b"<pdfaid:part>3</pdfaid:part>", b"<pdfaid:part>0</pdfaid:part>")
    assert len(stripped) == len(unsigned)
    assert any("ID" in failure for failure in failures(stripped))


def _xmp(reader: PdfFileReader) -> dict[str, str]:
    data = reader.root["/Metadata"].data
    tree = ET.fromstring(data[data.index(b"<x:xmpmeta") : data.index(b"</x:xmpmeta>") + len(b"</x:xmpmeta>")])
    values = {}
    for element in tree.iter():
        name = element.tag.rpartition("}")[2]
        text = "".join(element.itertext()).strip()
        if name in {"title", "creator", "description", "Keywords", "Producer", "CreatorTool"}:
            values[name] = text
        if name in {"CreateDate", "ModifyDate", "part", "conformance"}:
            values[name] = text
    return values


def _pdf_date(text: str) -> str:
    match = re.fullmatch(r"D:(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)\+00'00'", text)
    assert match, text
    year, month, day, hour, minute, second = match.groups()
    return f"{year}-{month}-{day}T{hour}:{minute}:{second}+00:00"


@pytest.mark.parametrize("which", ["unsigned", "signed"])
def test_info_and_xmp_say_the_same(which: str, request: pytest.FixtureRequest) -> None:
    """ISO 19005-3 6.6.3; pyHanko's incremental update would otherwise rewrite Producer and ModDate."""
    reader = PdfFileReader(io.BytesIO(request.getfixturevalue(which)))
    info = reader.trailer["/Info"]
    xmp = _xmp(reader)
    assert (xmp["part"], xmp["conformance"]) == ("3", "B")
    assert xmp["title"] == str(info["/Title"])
    assert xmp["creator"] == str(info["/Author"])
    assert xmp["description"] == str(info["/Subject"])
    assert xmp["Keywords"] == str(info["/Keywords"])
    assert xmp["Producer"] == str(info["/Producer"])
    assert xmp["CreatorTool"] == str(info["/Creator"])
    assert xmp["CreateDate"] == _pdf_date(str(info["/CreationDate"])) == "2026-12-01T08:00:09+00:00"
    assert xmp["ModifyDate"] == _pdf_date(str(info["/ModDate"]))
    assert "NC-2026-000000123" in xmp["title"]


def test_the_metadata_escapes_what_xml_would_read_as_markup() -> None:
    facts = sample_facts(certificate_number="NC<&>\"'")
    reader = PdfFileReader(io.BytesIO(render_certificate(facts)))
    assert _xmp(reader)["title"] == document_info(facts).title


def _fonts(reader: PdfFileReader) -> list:
    fonts = []
    for page_ref in reader.root["/Pages"]["/Kids"]:
        resources = page_ref.get_object()["/Resources"]
        fonts += [font.get_object() for font in resources["/Font"].values()]
    return fonts


def test_every_font_is_embedded_and_none_is_a_standard_one(signed: bytes) -> None:
    fonts = _fonts(PdfFileReader(io.BytesIO(signed)))
    assert fonts
    for font in fonts:
        assert font["/Subtype"] == "/TrueType", font
        assert "/FontFile2" in font["/FontDescriptor"], font["/BaseFont"]
    assert b"/Helvetica" not in signed


def test_every_stream_ends_with_an_end_of_line(unsigned: bytes) -> None:
    assert unsigned.count(b"endstream") == unsigned.count(b"\nendstream") > 0


def _embedded(reader: PdfFileReader) -> dict[str, tuple]:
    names = reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
    files = {}
    for index in range(0, len(names), 2):
        spec = names[index + 1].get_object()
        stream = spec["/EF"]["/F"].get_object()
        files[str(names[index])] = (spec, stream)
    return files


def test_the_attachments_are_carried_byte_for_byte_as_associated_files(signed: bytes) -> None:
    reader = PdfFileReader(io.BytesIO(signed))
    files = _embedded(reader)
    carried = (
        Attachment(
            "certificate.json",
            "application/json",
            certificate_json(edge_facts()),
            "the values this certificate prints, as data (notary certificate facts)",
        ),
        *ATTACHMENTS,
    )
    assert list(files) == sorted(attachment.name for attachment in carried)
    associated = [spec.get_object() for spec in reader.root["/AF"]]
    assert [str(spec["/F"]) for spec in associated] == [attachment.name for attachment in carried]
    for attachment in carried:
        spec, stream = files[attachment.name]
        assert stream.data == attachment.data
        assert str(spec["/UF"]) == attachment.name
        assert spec["/AFRelationship"] == "/" + attachment.relationship
        assert str(spec["/Desc"]) == attachment.description
        assert stream["/Subtype"] == "/" + attachment.media_type
        assert stream["/Params"]["/Size"] == len(attachment.data)
        assert stream["/Params"]["/CheckSum"].original_bytes == hashlib.md5(attachment.data).digest()


def test_a_certificate_without_attachments_carries_its_facts_only() -> None:
    facts = sample_facts()
    reader = PdfFileReader(io.BytesIO(render_certificate(facts)))
    assert len(reader.root["/AF"]) == 1
    (name,) = _embedded(reader)
    assert name == "certificate.json"
    assert facts_from_json(_embedded(reader)[name][1].data) == facts


def test_attachment_names_are_distinct() -> None:
    from notary.services.evidence.pdf import InvalidCertificateFacts

    with pytest.raises(InvalidCertificateFacts):
        sample_facts(attachments=(ATTACHMENTS[0], ATTACHMENTS[0]))


def test_the_srgb_profile_is_the_same_bytes_with_a_true_profile_id() -> None:
    profile = srgb_profile()
    assert profile == srgb_profile()
    assert profile[36:40] == b"acsp"
    assert profile[8] == 4  # ICC v4: PDF/A-2 and -3 accept up to version 4
    assert (profile[12:16], profile[16:20]) == (b"mntr", b"RGB ")
    assert profile[24:36] == bytes(12)
    hashed = bytearray(profile)
    hashed[44:48] = hashed[64:68] = bytes(4)
    hashed[84:100] = bytes(16)
    assert profile[84:100] == hashlib.md5(hashed).digest()


def test_facts_with_attachments_survive_their_stored_json() -> None:
    facts = edge_facts()
    again = facts_from_json(facts_to_json(facts))
    assert again == facts
    assert render_certificate(again) == render_certificate(facts)


def test_facts_stored_before_titles_and_attachments_still_load() -> None:
    facts = sample_facts()
    stored = facts_to_json(facts)
    assert b'"title"' not in stored
    assert b'"attachments"' not in stored
    assert b"null" not in stored
    assert facts_from_json(stored) == dataclasses.replace(facts)


def _payloads_record(fmt: str) -> dict:
    """The worked record of docs/payloads.md in format ``fmt``."""
    import json
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "payloads.md").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.startswith("{") and f'"format":"{fmt}"' in line and '"signatures"' in line:
            return json.loads(line)
    raise AssertionError(f"no {fmt} record in docs/payloads.md")


def test_only_records_with_salted_identities_are_carried() -> None:
    from notary.services.evidence.certificates import carries_record

    assert carries_record(_payloads_record("notary-record/2"))
    assert not carries_record(_payloads_record("notary-record/1"))
    mixed = _payloads_record("notary-record/2")
    mixed["signatures"]["borrower"] = {"identity_sha256": "00" * 32}
    assert not carries_record(mixed)
    assert not carries_record({"signatures": {}})


@pytest.mark.parametrize("tail", [b"", b"\n", b"\r", b"\r\n"], ids=["none", "lf", "cr", "crlf"])
def test_a_stream_ending_in_any_newline_byte_keeps_its_length(tail: bytes):
    """An attachment's last byte is the data's (a DER token ends in 0x0d one time in 256): the
    EOL before ``endstream`` must not be readable as part of it. A bare LF after a CR was, and
    failed PDFA3B-STREAM-LENGTH-001 now and then in CI."""
    import datetime as dt

    from notary.services.evidence.pdf import archival, fonts

    out = io.BytesIO()
    canvas = archival.archival_canvas(out, pagesize=(595, 842), initial_font=fonts.certificate_fonts().text)
    canvas.drawString(72, 700, "x")
    info = archival.DocumentInfo("t", "a", "s", "k", "c", "p", dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    data = b"\x30\x03\x02\x01" + tail
    archival.make_archival(
        canvas, info, [archival.Attachment("x.tsr", "application/timestamp-reply", data, "d")]
    )
    canvas.save()
    report = page.validate_pdf_bytes(out.getvalue(), profile="3b")
    assert [failure.rule_id for failure in report.failures] == []
