"""`notary verify certificate.pdf`: the PDF alone, with its bundle, and `--online` over real HTTP.

Exit status as for a bundle: 0 valid, 1 invalid, 2 unusable (one line naming the code). The
`--online` server is a loopback HTTP server answering the notary's two routes from a sample log.
"""

from __future__ import annotations

import dataclasses
import http.server
import json
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from notary.cli import main
from notary.services.evidence.pdf import render_certificate
from tests.support.certificate_facts import facts_for_bundle
from tests.support.certificate_pki import make_signer
from tests.support.clock import FixedClock
from tests.support.evidence import READY, SampleLog, SampleNotary

INDEX, SIZE, NEWER = 1, 3, 5


@pytest.fixture(scope="module")
def log(tmp_path_factory) -> SampleLog:
    return SampleLog(SampleNotary.create(tmp_path_factory.mktemp("keys")), NEWER)


@pytest.fixture(scope="module")
def files(log, tmp_path_factory):
    folder = tmp_path_factory.mktemp("certificates")
    signer = make_signer(log.notary.keys, clock=FixedClock(READY))[0]
    facts, bundle = facts_for_bundle(log, INDEX, SIZE)
    genuine = signer.sign(render_certificate(facts))
    tampered = bytearray(genuine)
    tampered[genuine.index(b"/Contents", 1000) - 300] ^= 0x01
    contents = {
        "certificate.pdf": genuine,
        "bare.pdf": signer.sign(render_certificate(dataclasses.replace(facts, attachments=()))),
        "tampered.pdf": bytes(tampered),
        "unsigned.pdf": render_certificate(facts),
        "bundle.zip": bundle,
        "other-bundle.zip": log.bundle(0, SIZE),
        "document.pdf": log.filed[INDEX].document,
        "trust.json": log.notary.trust_json(),
        "opening.json": log.filed[INDEX].investor.opening("pl_0001"),
        "stranger-opening.json": log.filed[0].investor.opening("pl_0001"),
    }
    for name, data in contents.items():
        (folder / name).write_bytes(data)
    return folder


@pytest.fixture(scope="module")
def online(log) -> Iterator[str]:
    class Notary(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            if url.path == "/api/v1/log/checkpoint":
                body, kind = log.checkpoint(NEWER).encode(), "text/plain"
            elif url.path == "/api/v1/log/proof/consistency":
                query = urllib.parse.parse_qs(url.query)
                body = json.dumps(log.consistency(int(query["first"][0]), int(query["second"][0]))).encode()
                kind = "application/json"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Notary)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def run(files, *args: str) -> tuple[int, str]:
    argv = ["verify", *(str(files / a) if a.endswith((".pdf", ".zip", ".json")) else a for a in args)]
    result = CliRunner().invoke(main, argv)
    return result.exit_code, result.output


def test_the_pdf_alone_verifies_and_says_what_it_did_not_establish(files) -> None:
    code, output = run(files, "certificate.pdf", "--trust", "trust.json")
    assert code == 0, output
    assert "Certificate PDF NC-2026-000000123 for contract ct_0001TEST: VALID" in output
    assert "[ok  ] pdf_signature" in output
    assert "[ok  ] inclusion_proof" in output
    assert "The record checked was carried inside the PDF." in output
    assert "NOT ESTABLISHED" in output
    assert "still holds the record today" in output


def test_json_is_the_certificate_report(files) -> None:
    code, output = run(
        files, "certificate.pdf", "--trust", "trust.json", "--document", "document.pdf", "--json"
    )
    assert code == 0, output
    report = json.loads(output)
    assert report["subject"] == "notary-certificate/1"
    assert report["valid"] is True
    assert report["record_source"] == "carried"
    assert report["certificate_number"] == "NC-2026-000000123"
    assert {check["name"]: check["status"] for check in report["checks"]}["document_digest"] == "passed"


def test_online_shows_the_log_still_holds_the_record(files, online) -> None:
    code, output = run(files, "certificate.pdf", "--trust", "trust.json", "--online", online)
    assert code == 0, output
    assert "[ok  ] consistency" in output
    assert f"Consistent with the newer checkpoint of size {NEWER}" in output
    assert "still holds the record today" not in output


def test_a_certificate_without_its_record_needs_the_bundle(files, online) -> None:
    code, output = run(files, "bare.pdf", "--trust", "trust.json")
    assert code == 0, output
    assert "does not carry its record" in output
    code, output = run(files, "bare.pdf", "--trust", "trust.json", "--online", online)
    assert code == 2
    assert "online_needs_record" in output
    code, output = run(
        files, "bare.pdf", "--trust", "trust.json", "--bundle", "bundle.zip", "--online", online
    )
    assert code == 0, output
    assert "from the evidence bundle given" in output
    code, output = run(files, "bare.pdf", "--trust", "trust.json", "--bundle", "other-bundle.zip")
    assert code == 1
    assert "pdf_record_mismatch" in output


def test_what_to_trust_is_chosen_and_integrity_only_exits_3(files) -> None:
    code, output = run(files, "certificate.pdf")
    assert code == 2
    assert "choose what to trust" in output
    code, output = run(files, "certificate.pdf", "--integrity-only")
    assert code == 3, output
    assert "ORIGIN NOT ESTABLISHED" in output.upper()
    assert "origin: integrity only was chosen" in output


def test_an_opening_proves_a_party_against_the_record_the_certificate_carries(files) -> None:
    """The certificate's notes say the party's opening, checked by notary verify --opening,
    shows the number behind the masked one: it does so with the certificate alone."""
    code, output = run(files, "certificate.pdf", "--trust", "trust.json", "--opening", "opening.json")
    assert code == 0, output
    assert "PROVEN by the opening given" in output
    code, output = run(
        files, "certificate.pdf", "--trust", "trust.json", "--opening", "stranger-opening.json"
    )
    assert code == 1, output
    assert "[FAIL] openings" in output


def test_an_opening_for_a_certificate_without_its_record_is_refused_until_the_bundle_is_given(files) -> None:
    """Before, the opening went unchecked and the verdict was VALID (exit 0), the opening only
    listed under NOT ESTABLISHED: a reader could take the identity for proven."""
    for extra in ((), ("--json",)):
        code, output = run(files, "bare.pdf", "--trust", "trust.json", "--opening", "opening.json", *extra)
        assert code == 2, output
        assert "opening_needs_record" in output
        assert "give its evidence bundle (--bundle)" in output
        assert "Traceback" not in output
    code, output = run(
        files, "bare.pdf", "--trust", "trust.json", "--opening", "opening.json", "--bundle", "bundle.zip"
    )
    assert code == 0, output
    assert "PROVEN by the opening given" in output
    code, output = run(
        files,
        "bare.pdf",
        "--trust",
        "trust.json",
        "--opening",
        "stranger-opening.json",
        "--bundle",
        "bundle.zip",
    )
    assert code == 1, output
    assert "[FAIL] openings" in output


def test_a_tampered_certificate_exits_1_naming_the_signature(files) -> None:
    code, output = run(files, "tampered.pdf", "--trust", "trust.json")
    assert code == 1
    assert "[FAIL] pdf_signature" in output


@pytest.mark.parametrize(
    ("args", "code_word"),
    [
        (("unsigned.pdf",), "malformed_certificate"),
        (("certificate.pdf", "--online", "ftp://example.invalid/"), "source_unreachable"),
        (("certificate.pdf", "--online", "http://127.0.0.1:9/"), "source_unreachable"),
    ],
)
def test_unusable_inputs_exit_2_with_one_line(files, args, code_word) -> None:
    code, output = run(files, *args, "--trust", "trust.json")
    assert code == 2
    assert code_word in output
    assert "Traceback" not in output


def test_bundle_and_online_are_for_a_certificate(files, online) -> None:
    code, output = run(files, "bundle.zip", "--trust", "trust.json", "--bundle", "bundle.zip")
    assert code == 2
    assert "for a certificate PDF" in output


def test_the_command_runs_without_the_service(files) -> None:
    code = (
        "import sys\n"
        "from notary.cli import main\n"
        "try:\n"
        f"    main(['verify', {str(files / 'certificate.pdf')!r}, '--trust', {str(files / 'trust.json')!r}])\n"
        "except SystemExit as exit:\n"
        "    status = exit.code\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy', 'reportlab')]\n"
        "print('LOADED', status, ','.join(sorted(bad)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.stdout.strip().endswith("LOADED 0"), result.stdout + result.stderr
