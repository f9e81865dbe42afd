"""Certificates with long and edge-case values, as poppler and OpenSSL read them (issue 19).

Each certificate is rendered, signed (embedded authority), and then read by independent
tools only: `pdftotext` finds every value exactly as signed and its derived forms labelled
beside it; `pdffonts` lists every font embedded; `pdfsig` finds the signature valid and the
signer trusted in an NSS database built by the certificate's own how-to commands, run as
printed. Step 4 of the how-to (the record's timestamp against the trust file's root) runs on a
real bundle, as the bundle's README.txt does.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from notary.display import amount_forms, chinese_date, time_forms
from notary.services.evidence.pdf import PartyFacts, render_certificate
from notary.services.evidence.pdf.howto import howto_steps
from tests.support.certificate_facts import sample_facts
from tests.support.certificate_pki import make_keys, make_signer
from tests.support.evidence import SampleLog, SampleNotary

TOOLS = ("pdfsig", "pdftotext", "pdffonts", "certutil", "openssl", "python3")
MISSING = [tool for tool in TOOLS if shutil.which(tool) is None]
pytestmark = pytest.mark.skipif(
    bool(MISSING), reason=f"missing tools: {MISSING} (run scripts/debian-packages.sh)"
)

TITLE_60 = "关于个人消费信用借款及其担保安排之电子借款合同（第二次修订本）附件一至附件三含还款计划表、催收告知书及送达地址确认书全文"
assert len(TITLE_60) == 60

CASES = {
    "long title, largest amount, defunct platform": {
        "title": TITLE_60,
        "external_ref": "LOAN/2026-12/#000123~A",
        "amount": "999999999999999.99",
        "platform_defunct_at": "2027-03-01T02:00:00.000Z",
        "platform_name": "示例网贷信息中介有限公司（已停止运营）",
    },
    "zeros inside, sign_by with an offset": {
        "title": "借款合同",
        "amount": "100000000000005",
        "sign_by": "2026-12-08T08:00:00+08:00",
    },
    "jiao but no fen, year end in Beijing": {
        "amount": "1005.5",
        "sign_by": "2026-12-31T16:00:00Z",
        "start_date": "2027-01-01",
    },
    "no title, no reference, another currency": {"amount": "123456789.99", "currency": "USD"},
    "an old amount no derivation can read": {"amount": "1٠٠٠٠٠.00"},
    "rare characters in names and title": {
        "title": "关于𪚥记商行的借款合同",  # U+2A6A5, CJK extension B
        "investor": PartyFacts("pa_01JF8Z6A2B3C4D5E6F7G8H9J0K", "𠮷田太郎", "110105********002X"),
        "borrower": PartyFacts("pa_01JF8Z6B9Z8Y7X6W5V4T3S2R1Q", "王𫝀", "440524********0014"),  # ext D
        "platform_name": "𰻞𰻞面借贷平台",  # U+30EDE, extension G: no face has it
    },
}
#: Code points no embedded face draws in the cases above: printed as [U+XXXX].
NO_FACE = {0x0660, 0x0661, 0x0662, 0x0663, 0x0664, 0x0665, 0x0666, 0x0667, 0x0668, 0x0669, 0x30EDE}


def run(*command: str | Path, cwd: Path | None = None) -> str:
    result = subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, timeout=60, check=False, cwd=cwd
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def visible(text: str) -> str:
    """What the page shows for a character no font has (Arabic-Indic digits in old data)."""
    return "".join(f"[U+{ord(char):04X}]" if ord(char) in NO_FACE else char for char in text)


def squeeze(text: str) -> str:
    """pdftotext breaks long values where the certificate wraps them: compare without whitespace."""
    return "".join(text.split())


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory):
    return make_keys(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def signer(keys):
    return make_signer(keys)[0]


@pytest.fixture(scope="module")
def trust_json(keys, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = keys.root_cert.public_bytes(serialization.Encoding.PEM).decode()
    path = tmp_path_factory.mktemp("trust") / "trust.json"
    path.write_text(json.dumps({"notary_roots_pem": [root], "tsa_roots_pem": [root]}))
    return path


@pytest.fixture(scope="module", params=list(CASES))
def certificate(request: pytest.FixtureRequest, signer, tmp_path_factory: pytest.TempPathFactory):
    facts = sample_facts(**CASES[request.param])
    path = tmp_path_factory.mktemp("certificate") / "certificate.pdf"
    path.write_bytes(signer.sign(render_certificate(facts)))
    return facts, path


def test_pdftotext_reads_every_value_as_signed_and_its_derived_forms(certificate) -> None:
    facts, path = certificate
    text = squeeze(run("pdftotext", "-enc", "UTF-8", path, "-"))
    signed = [
        facts.amount,
        facts.annual_rate,
        facts.start_date,
        facts.sign_by,
        facts.filed_at,
        facts.sealed_at,
    ]
    for value in signed:
        assert squeeze(visible(value)) in text, value
    for value in (facts.title, facts.external_ref, facts.investor.name, facts.borrower.name):
        assert squeeze(value if value is not None else "平台未提供") in text
    forms = amount_forms(facts.amount, facts.currency)
    if forms.grouped is None:
        assert "无法换算" in text
    else:
        assert squeeze(f"{forms.grouped} {facts.currency}千分位〔换算〕") in text
    if forms.capitals is not None:
        assert squeeze(f"{forms.capitals}大写〔换算〕") in text
    else:
        assert "人民币" not in text
    for moment in (facts.sign_by, facts.sealed_at, facts.issued_at, facts.timestamp.gen_time):
        beijing = time_forms(moment).beijing
        assert beijing is not None
        assert squeeze(beijing) in text  # Beijing first, then the value as recorded
        assert text.index(squeeze(beijing)) < text.index(squeeze(moment), text.index(squeeze(beijing)))
    assert squeeze(chinese_date(facts.start_date)) in text
    if facts.platform_defunct_at is not None:
        assert "该平台已停止运营" in text
        assert squeeze(time_forms(facts.platform_defunct_at).beijing or "") in text
    else:
        assert "停止运营" not in text
    assert "11010519491231002X" not in text


def test_pdffonts_lists_every_font_embedded(certificate) -> None:
    _, path = certificate
    rows = run("pdffonts", path).splitlines()[2:]
    assert rows
    for row in rows:
        columns = row.split()
        # name type... emb sub uni object-id generation: "emb" is the fifth column from the end.
        assert columns[-5] == "yes", row
    assert not any("Helvetica" in row for row in rows)


def test_rare_characters_are_drawn_by_the_fallback_faces_and_only_then_embedded(signer, tmp_path) -> None:
    """Names in CJK extensions B and D (accepted at input: HanaMin draws them) print as
    themselves, not [U+XXXX]; a character no face has (extension G) prints as its code point;
    HanaMin is embedded in that certificate and not in an ordinary one."""
    import page

    signed = signer.sign(render_certificate(sample_facts(**CASES["rare characters in names and title"])))
    assert page.is_pdf_compliant_bytes(signed, profile="3b")  # the fallback faces embedded too
    rare = tmp_path / "rare.pdf"
    rare.write_bytes(signed)
    text = squeeze(run("pdftotext", "-enc", "UTF-8", rare, "-"))
    for value in ("𠮷田太郎", "王𫝀", "关于𪚥记商行的借款合同", "[U+30EDE][U+30EDE]面借贷平台"):
        assert value in text, value
    for code_point in ("[U+20BB7]", "[U+2B740]", "[U+2A6A5]"):
        assert code_point not in text
    fonts = run("pdffonts", rare)
    assert "HanaMinA" in fonts  # 𠮷 and 𪚥: the first fallback that has them
    assert "HanaMinB" in fonts  # 𫝀 (extension D) only HanaMinB has
    plain = tmp_path / "plain.pdf"
    plain.write_bytes(signer.sign(render_certificate(sample_facts())))
    assert "HanaMin" not in run("pdffonts", plain)


def _commands(zh_start: str) -> tuple[str, ...]:
    for zh, _, commands in howto_steps(sample_facts()):
        if zh.startswith(zh_start):
            return commands
    raise AssertionError(f"no how-to step starting {zh_start}")


def run_as_printed(commands: tuple[str, ...], folder: Path) -> list[subprocess.CompletedProcess[str]]:
    """Each command through the shell, in ``folder``, exactly as the certificate prints it."""
    return [
        subprocess.run(
            command, shell=True, cwd=folder, capture_output=True, text=True, timeout=60, check=False
        )
        for command in commands
    ]


def test_pdfsig_trusts_the_signer_with_the_how_to_commands(
    certificate, trust_json: Path, tmp_path: Path
) -> None:
    _, path = certificate
    shutil.copy(path, tmp_path / "certificate.pdf")
    shutil.copy(trust_json, tmp_path / "trust.json")
    outputs = run_as_printed(_commands("用 pdfsig"), tmp_path)
    for output in outputs[:-1]:
        assert output.returncode == 0, output.stderr
    report = outputs[-1].stdout
    assert "Signature Validation: Signature is Valid." in report
    assert "Certificate Validation: Certificate is Trusted." in report
    assert "Total document signed" in report


def test_step_4_checks_the_record_timestamp_against_the_trust_files_root(tmp_path: Path) -> None:
    """The same root as the bundle's README.txt: the trust file's, not the bundle's own chain."""
    notary = SampleNotary.create(tmp_path / "keys")
    log = SampleLog(notary, 1)
    with zipfile.ZipFile(io.BytesIO(log.bundle(0, 1))) as bundle:
        bundle.extractall(tmp_path / "bundle")
    (tmp_path / "bundle" / "trust.json").write_bytes(notary.trust_json())
    commands = _commands("验证时间戳")
    assert "-CAfile timestamp/tsa-chain.pem" not in " ".join(commands)
    outputs = run_as_printed(commands, tmp_path / "bundle")
    for output in outputs:
        assert output.returncode == 0, output.stderr
    assert "Verification: OK" in outputs[-1].stdout

    # A trust file with another root refuses the same token.
    stranger = SampleNotary.create(tmp_path / "other-keys")
    (tmp_path / "bundle" / "trust.json").write_bytes(stranger.trust_json())
    assert run_as_printed(commands, tmp_path / "bundle")[-1].returncode != 0
