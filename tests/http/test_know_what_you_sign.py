"""Know what you sign: the signing-payload answer carries the terms (hashing to ``terms_sha256``),
the platform and the counterparty, and ``notary sign`` prints them in words before it signs."""

from __future__ import annotations

import base64
import hashlib
import json

from click.testing import CliRunner

from notary.cli import main
from notary.verify.canonical import canonical_json, parse_canonical_json
from tests.support.live_app import key_folder


def test_the_answer_carries_what_the_payload_commits_to(platform, investor, borrower):
    filed = platform.file(investor, borrower, title="个人借款合同", external_ref="loan-7")
    answer = platform.get(f"/contracts/{filed['contract_id']}/signing-payload?role=investor").get_json()
    payload = parse_canonical_json(base64.b64decode(answer["payload_base64"]))
    assert hashlib.sha256(canonical_json(answer["terms"])).hexdigest() == payload["terms_sha256"]
    assert answer["terms"]["external_ref"] == "loan-7"
    assert answer["platform"] == {"platform_id": platform.platform_id, "name": "Example Lending"}
    assert answer["counterparty"] == {"role": "borrower", "party_id": borrower.party_id, "name": "李*"}


def test_notary_sign_shows_the_terms_and_its_signature_is_accepted(
    client, platform, investor, borrower, tmp_path
):
    filed = platform.file(investor, borrower, title="个人借款合同")
    answer = platform.get(f"/contracts/{filed['contract_id']}/signing-payload?role=investor").get_json()
    (tmp_path / "payload.json").write_text(json.dumps(answer, ensure_ascii=False))
    key = key_folder(investor, tmp_path / "alice")

    result = CliRunner().invoke(main, ["sign", "--key", str(key), str(tmp_path / "payload.json"), "--json"])

    assert result.exit_code == 0, result.output
    assert "You are about to SIGN contract" in result.stderr
    assert "Example Lending" in result.stderr
    assert "the borrower 李*" in result.stderr
    assert "人民币壹万元整" in result.stderr
    posted = client.post(
        f"/api/v1/contracts/{filed['contract_id']}/signatures", json=json.loads(result.stdout)
    )
    assert posted.status_code == 200, posted.get_json()

    # The platform swaps the terms it shows for others: refused before anything is signed.
    answer["terms"]["amount"] = "1.00"
    (tmp_path / "swapped.json").write_text(json.dumps(answer, ensure_ascii=False))
    refused = CliRunner().invoke(main, ["sign", "--key", str(key), str(tmp_path / "swapped.json")])
    assert refused.exit_code == 1
    assert "not signing" in refused.output
    assert refused.stdout.strip() == ""
