"""The signed certificate as independent tools see it: poppler (pdfsig with NSS, pdftotext,
pdftoppm), zbarimg and OpenSSL. No app or database: keys are made in a temporary folder and
the timestamps come from the embedded authority (notary.signing.tsa).
"""

from __future__ import annotations

import dataclasses
import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm

from notary.services.evidence.pdf import render_certificate
from tests.support.certificate_facts import CONTRACT_ID, DOCUMENT_SHA256, RECORD_SHA256, sample_facts
from tests.support.certificate_pki import asn1_root, make_keys, make_signer

TOOLS = ("pdfsig", "pdftotext", "pdftoppm", "certutil", "zbarimg", "openssl")
MISSING = [tool for tool in TOOLS if shutil.which(tool) is None]
# scripts/debian-packages.sh installs these; without them these checks cannot run at all.
pytestmark = pytest.mark.skipif(
    bool(MISSING), reason=f"missing tools: {MISSING} (run scripts/debian-packages.sh)"
)


def run(*command: str | Path) -> str:
    result = subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory):
    return make_keys(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def signed(keys, tmp_path_factory: pytest.TempPathFactory) -> Path:
    signer, _ = make_signer(keys)
    path = tmp_path_factory.mktemp("pdf") / "certificate.pdf"
    path.write_bytes(signer.sign(render_certificate(sample_facts())))
    return path


def nss_database(directory: Path, *trusted_pems: bytes) -> str:
    """An NSS database trusting ``trusted_pems`` as CAs: pdfsig trusts nothing else."""
    directory.mkdir()
    run("certutil", "-N", "-d", f"sql:{directory}", "--empty-password")
    for index, pem in enumerate(trusted_pems):
        pem_path = directory / f"root-{index}.pem"
        pem_path.write_bytes(pem)
        run(
            "certutil",
            "-A",
            "-d",
            f"sql:{directory}",
            "-n",
            f"notary-root-{index}",
            "-t",
            "CT,C,C",
            "-i",
            pem_path,
        )
    return f"sql:{directory}"


@pytest.fixture(scope="module")
def nss_trusting_root(keys, tmp_path_factory: pytest.TempPathFactory) -> str:
    root_pem = keys.root_cert.public_bytes(serialization.Encoding.PEM)
    return nss_database(tmp_path_factory.mktemp("nss") / "db", root_pem)


def pdfsig(path: Path, nssdir: str) -> str:
    # pdfsig exits non-zero for an invalid signature; its report is what is asserted on.
    result = subprocess.run(
        ["pdfsig", "-nssdir", nssdir, str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    return result.stdout


def change_a_byte_in_the_first_page_text(pdf: bytes) -> bytes:
    """Flip one bit inside page 1's (compressed) content stream: same length, same offsets."""
    page_contents = re.search(rb"/Contents (\d+) 0 R", pdf)
    assert page_contents is not None
    start = pdf.index(b"\n" + page_contents.group(1) + b" 0 obj")
    offset = pdf.index(b"stream\n", start) + len(b"stream\n") + 100
    tampered = bytearray(pdf)
    tampered[offset] ^= 0x01
    return bytes(tampered)


def test_pdfsig_finds_the_signature_valid_and_the_certificate_trusted(
    signed: Path, nss_trusting_root: str
) -> None:
    report = pdfsig(signed, nss_trusting_root)
    assert "Signature Validation: Signature is Valid." in report
    assert "Certificate Validation: Certificate is Trusted." in report
    assert "Signature Type: ETSI.CAdES.detached" in report
    assert "Total document signed" in report
    assert "Signer Certificate Common Name: Example Notary Evidence Signer" in report


def test_pdfsig_does_not_trust_a_signer_outside_its_database(signed: Path, tmp_path: Path) -> None:
    stranger = make_keys(tmp_path / "other-keys")
    report = pdfsig(
        signed, nss_database(tmp_path / "db", stranger.root_cert.public_bytes(serialization.Encoding.PEM))
    )
    assert "Signature Validation: Signature is Valid." in report
    assert "Certificate Validation: Certificate issuer isn't Trusted." in report


def test_a_changed_byte_in_the_page_text_fails_pdfsig_and_pyhanko(
    signed: Path, keys, nss_trusting_root: str, tmp_path: Path
) -> None:
    tampered = change_a_byte_in_the_first_page_text(signed.read_bytes())
    path = tmp_path / "tampered.pdf"
    path.write_bytes(tampered)
    assert "Signature Validation: Digest Mismatch." in pdfsig(path, nss_trusting_root)

    root = asn1_root(keys)
    (signature,) = PdfFileReader(io.BytesIO(tampered)).embedded_signatures
    status = validate_pdf_signature(
        signature,
        signer_validation_context=ValidationContext(trust_roots=[root]),
        ts_validation_context=ValidationContext(trust_roots=[root]),
    )
    assert not status.intact  # the document digest no longer matches the signed one
    assert not status.bottom_line


def test_pdftotext_reads_the_ids_digests_and_chinese_labels(signed: Path) -> None:
    text = run("pdftotext", "-enc", "UTF-8", signed, "-")
    for expected in (
        CONTRACT_ID,
        DOCUMENT_SHA256,
        RECORD_SHA256,
        "电子借款合同存证证明",
        "存证",
        "出借人（投资人）",
        "借款人",
        "如何离线验证",
        "notary verify bundle.zip --trust trust.json",
        "110***********002X",
        "8.00%",
    ):
        assert expected in text, expected
    assert "11010519491231002X" not in text


def test_long_values_wrap_inside_the_page(keys, tmp_path: Path) -> None:
    crowded = sample_facts(
        public_url="https://notary.example/" + "very-long-path-segment" * 8,
        platform_name="PlatformNameWithoutAnySpaces" * 6,
        investor=dataclasses.replace(sample_facts().investor, name="欧阳" * 40),
    )
    path = tmp_path / "crowded.pdf"
    path.write_bytes(render_certificate(crowded))
    boxes = run("pdftotext", "-bbox", path, "-")
    right_edges = [float(value) for value in re.findall(r'xMax="([0-9.]+)"', boxes)]
    assert right_edges
    assert max(right_edges) <= A4[0] - 15 * mm  # inside the page, margin kept


def test_page_one_renders_to_a_png_with_a_readable_qr_code(signed: Path, tmp_path: Path) -> None:
    run("pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", signed, tmp_path / "page")
    (png,) = tmp_path.glob("page*.png")
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (662, 936)  # A4 at 80 dpi
    assert len(data) > 40_000  # text, rules and a QR code, not a blank page
    decoded = run("zbarimg", "--quiet", "--raw", png).strip()
    assert decoded == f"https://notary.example/api/v1/r/{RECORD_SHA256}"


def test_openssl_accepts_the_test_authoritys_tokens(keys, tmp_path: Path) -> None:
    """The mini TSA behind these tests answers as OpenSSL expects an RFC 3161 authority to."""
    _, tsa = make_signer(keys)
    data = tmp_path / "data.bin"
    data.write_bytes(b"certificate test data")
    request = tmp_path / "request.tsq"
    run("openssl", "ts", "-query", "-data", data, "-sha256", "-cert", "-out", request)
    reply = tmp_path / "reply.tsr"
    reply.write_bytes(tsa.respond(request.read_bytes()))
    chain = tmp_path / "chain.pem"
    chain.write_bytes(b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in keys.tsa_chain))
    output = run("openssl", "ts", "-verify", "-in", reply, "-queryfile", request, "-CAfile", chain)
    assert "Verification: OK" in output
