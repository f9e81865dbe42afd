"""The command line: init is idempotent, platforms, and a party's own tools (keygen, enrol, sign)."""

from __future__ import annotations

import base64
import json
import stat

from click.testing import CliRunner

from notary.cli import main
from notary.verify import payloads
from notary.verify.keys import PublicKey


def run(args, env, **kwargs):
    return CliRunner().invoke(main, args, env=env, catch_exceptions=False, **kwargs)


def test_init_is_idempotent_and_keys_are_private(tmp_path):
    env = {"NOTARY_INSTANCE_PATH": str(tmp_path / "inst")}
    first = json.loads(run(["init", "--json"], env).output)
    assert "log-ed25519.key" in first["keys_created"]
    key_file = tmp_path / "inst" / "keys" / "log-ed25519.key"
    before = key_file.read_bytes()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    second = json.loads(run(["init", "--json"], env).output)
    assert second["keys_created"] == []
    assert key_file.read_bytes() == before


def test_platform_add_and_defunct(tmp_path):
    env = {"NOTARY_INSTANCE_PATH": str(tmp_path / "inst")}
    run(["init"], env)
    added = json.loads(run(["platform", "add", "Example Lending", "--json"], env).output)
    assert added["platform_id"].startswith("pl_")
    assert added["token"].startswith("ntp_")
    marked = json.loads(run(["platform", "defunct", added["platform_id"], "--json"], env).output)
    assert marked["status"] == "defunct"
    missing = CliRunner().invoke(main, ["platform", "defunct", "pl_nope"], env=env)
    assert missing.exit_code == 1
    assert "not_found" in missing.output


def test_keygen_enrol_and_sign(tmp_path):
    key_dir = tmp_path / "alice"
    made = json.loads(run(["keygen", "--out", str(key_dir), "--json"], {}).output)
    assert stat.S_IMODE((key_dir / "private.pem").stat().st_mode) == 0o600
    again = CliRunner().invoke(main, ["keygen", "--out", str(key_dir)])
    assert again.exit_code == 1  # never overwrites a key

    body = json.loads(
        run(
            [
                "enrol",
                "--key",
                str(key_dir),
                "--platform-id",
                "pl_1",
                "--name",
                "张三",
                "--id-number",
                "11010519491231002x",
            ],
            {},
        ).output
    )
    key = PublicKey.from_pem(body["public_key"])
    assert key.fingerprint == made["key_fingerprint"]
    # The salt was drawn here and its opening kept beside the key (mode 0600); the proof signs
    # the commitment to it (notary.enrol.v2).
    opening_file = key_dir / "opening-pl_1.json"
    assert opening_file.stat().st_mode & 0o777 == 0o600
    opening = opening_file.read_bytes()
    fields = json.loads(opening)
    assert (fields["id_type"], fields["id_number"]) == ("cn_resident", "11010519491231002X")
    assert base64.b64decode(fields["salt"]) == base64.b64decode(body["identity_salt"])
    assert len(base64.b64decode(body["identity_salt"])) == 32
    key.verify(
        base64.b64decode(body["proof"]),
        payloads.enrol_payload_v2(
            platform_id="pl_1",
            key_fingerprint=key.fingerprint,
            identity_commitment=payloads.identity_commitment(opening),
        ),
    )
    # Enrolling again keeps the same opening (the same commitment); another identity is refused.
    again = json.loads(
        CliRunner()
        .invoke(
            main,
            [
                "enrol",
                "--key",
                str(key_dir),
                "--platform-id",
                "pl_1",
                "--name",
                "张三",
                "--id-number",
                "11010519491231002X",
            ],
        )
        .output
    )
    assert again["identity_salt"] == body["identity_salt"]
    other = CliRunner().invoke(
        main,
        [
            "enrol",
            "--key",
            str(key_dir),
            "--platform-id",
            "pl_1",
            "--name",
            "李四",
            "--id-number",
            "110102198001010017",
        ],
    )
    assert other.exit_code != 0
    assert "another identity" in other.output
    assert opening_file.read_bytes() == opening

    document = tmp_path / "contract.pdf"
    document.write_bytes(b"%PDF-1.4 contract")
    import hashlib

    from notary.verify.canonical import canonical_json

    terms = {"amount": "10000.00", "currency": "CNY", "annual_rate": "0.0800", "term_months": 12,
             "start_date": "2026-12-01", "title": "个人借款合同", "external_ref": "loan-1",
             "investor": "pa_1", "borrower": "pa_2"}  # fmt: skip
    payload = payloads.contract_payload(
        purpose=payloads.PURPOSE_SIGN,
        contract_id="ct_1",
        platform_id="pl_1",
        role="investor",
        party_id="pa_1",
        document_sha256=hashlib.sha256(document.read_bytes()).hexdigest(),
        terms_sha256=hashlib.sha256(canonical_json(terms)).hexdigest(),
    )
    # The API's answer (it carries the terms) and the raw bytes with --terms both work.
    answer = tmp_path / "payload.json"
    answer.write_text(
        json.dumps(
            {
                "payload_base64": base64.b64encode(payload).decode(),
                "terms": terms,
                "platform": {"platform_id": "pl_1", "name": "示例平台"},
                "counterparty": {"role": "borrower", "party_id": "pa_2", "name": "李*"},
            }
        )
    )
    raw = tmp_path / "payload.bin"
    raw.write_bytes(payload)
    (tmp_path / "terms.json").write_text(json.dumps(terms))
    for extra in ([str(answer)], [str(raw), "--terms", str(tmp_path / "terms.json")]):
        result = CliRunner().invoke(
            main, ["sign", "--key", str(key_dir), *extra, "--document", str(document)]
        )
        assert result.exit_code == 0, result.output
        signature = base64.b64decode(result.stdout.strip().splitlines()[-1])
        key.verify(signature, payload)
        assert "contract_id: ct_1" in result.stderr
        # The terms in words: as signed, derived forms beside them.
        assert "10000.00 CNY  (derived: 10,000.00; 人民币壹万元整)" in result.stderr
        assert "0.0800  (derived: 8.00%)" in result.stderr
        assert "12 months" in result.stderr
        assert "2026-12-01  (derived: 2026年12月1日)" in result.stderr
        assert "个人借款合同" in result.stderr
        assert "loan-1" in result.stderr
    shown_answer = CliRunner().invoke(main, ["sign", "--key", str(key_dir), str(answer)])
    assert "示例平台 (pl_1)" in shown_answer.stderr
    assert "the borrower 李* (party pa_2)" in shown_answer.stderr

    # Terms that are not the signed ones, or none at all: refused, saying what to do.
    (tmp_path / "other-terms.json").write_text(json.dumps({**terms, "amount": "1000000.00"}))
    refused = CliRunner().invoke(
        main, ["sign", "--key", str(key_dir), str(raw), "--terms", str(tmp_path / "other-terms.json")]
    )
    assert refused.exit_code == 1
    assert "not to the payload's terms_sha256" in refused.output
    bare = CliRunner().invoke(main, ["sign", "--key", str(key_dir), str(raw)])
    assert bare.exit_code == 1
    assert "GET /api/v1/contracts/ct_1/signing-payload?role=investor" in bare.output

    other_document = tmp_path / "other.pdf"
    other_document.write_bytes(b"something else")
    refused = CliRunner().invoke(
        main, ["sign", "--key", str(key_dir), str(answer), "--document", str(other_document)]
    )
    assert refused.exit_code == 1
    assert "your document's SHA-256" in refused.output
    assert "not signing" in refused.output


def test_sign_refuses_what_is_not_a_contract_payload(tmp_path):
    key_dir = tmp_path / "bob"
    run(["keygen", "--out", str(key_dir), "--alg", "p256"], {})
    login = payloads.login_payload(challenge_base64="AAAA", key_fingerprint="0" * 64)
    cases = {
        "login.json": login,  # a login is not a contract
        "enrol.json": payloads.enrol_payload(platform_id="p", key_fingerprint="f", identity_sha256="i"),
        "loose.json": b'{"purpose": "notary.sign.v1"}',
        "text.txt": b"please sign me",
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        result = CliRunner().invoke(main, ["sign", "--key", str(key_dir), str(path)])
        assert result.exit_code == 1, name
        assert "refus" in result.output or "neither" in result.output
    # Each refusal says what to run instead.
    said = {name: CliRunner().invoke(main, ["sign", "--key", str(key_dir), str(tmp_path / name)]).output
            for name in ("login.json", "enrol.json")}  # fmt: skip
    assert "notary login --key DIR --api URL" in said["login.json"]
    assert "notary enrol --key DIR" in said["enrol.json"]
    # --login signs a login payload, and only that.
    path = tmp_path / "login.json"
    refused = CliRunner().invoke(main, ["sign", "--key", str(key_dir), "--login", str(path)])
    assert refused.exit_code == 1  # it names another key
    assert "another key" in refused.output
