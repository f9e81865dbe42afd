"""Issue 15.3, the "universal" Ed25519 signature, end to end: the small-order public key
``01 00…00`` with the 64 bytes ``01 00…00 ‖ 00…00`` "verifies" over any message under OpenSSL's
check. Before the fix it enrolled, signed a borrower's role without any private key, logged in
as that key's holder, and made a bundle the verifier called valid. Every door refuses it now:
enrolment, signatures and login (also for such a key stored before the fix), ``notary identity
verify`` and the offline verifier."""

from __future__ import annotations

import base64

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import update

from notary.storage.models import Party
from notary.verify import payloads
from notary.verify.keys import ED25519, PublicKey, key_fingerprint
from tests.support.platforms import sign_body

IDENTITY_POINT = bytes.fromhex("01" + "00" * 31)
UNIVERSAL = IDENTITY_POINT + bytes(32)
SPKI = bytes.fromhex("302a300506032b6570032100") + IDENTITY_POINT
FINGERPRINT = key_fingerprint(SPKI)
PEM = "-----BEGIN PUBLIC KEY-----\n" + base64.b64encode(SPKI).decode() + "\n-----END PUBLIC KEY-----\n"
UNIVERSAL_B64 = base64.b64encode(UNIVERSAL).decode()


def test_a_small_order_key_is_not_enrolled(platform):
    answer = platform.post(
        "/parties",
        json={
            "name": "王五",
            "id_type": "cn_resident",
            "id_number": "11010519491231002X",
            "public_key": PEM,
            "proof": UNIVERSAL_B64,
        },
    )
    assert answer.status_code == 422, answer.get_json()
    assert answer.get_json()["error"]["code"] in ("validation_failed", "weak_key")


def _plant_weak_key(runtime, party_id):
    """Give an enrolled party the small-order key, as an enrolment before the fix would have."""
    with runtime.db.write() as session:
        session.execute(
            update(Party)
            .where(Party.id == party_id)
            .values(public_key_der=SPKI, key_fingerprint=FINGERPRINT, algorithm=ED25519)
        )


def test_a_stored_small_order_key_signs_nothing(platform, investor, borrower, runtime, client):
    filed = platform.file(investor, borrower)
    _plant_weak_key(runtime, borrower.party_id)
    answer = client.post(
        f"/api/v1/contracts/{filed['contract_id']}/signatures",
        json={"role": "borrower", "signature": UNIVERSAL_B64},
    )
    assert answer.status_code in (401, 404, 422), answer.get_json()
    assert answer.get_json()["error"]["code"] != "internal_error"
    # The genuine investor still signs: nothing else is disturbed.
    fine = client.post(
        f"/api/v1/contracts/{filed['contract_id']}/signatures", json=sign_body(investor, filed, "investor")
    )
    assert fine.status_code == 200, fine.get_json()


def test_a_stored_small_order_key_does_not_log_in(platform, borrower, runtime, client):
    _plant_weak_key(runtime, borrower.party_id)
    challenge = client.post("/api/v1/auth/challenge", json={"key_fingerprint": FINGERPRINT}).get_json()
    answer = client.post(
        "/api/v1/auth/token",
        json={
            "key_fingerprint": FINGERPRINT,
            "challenge_base64": challenge["challenge_base64"],
            "signature": UNIVERSAL_B64,
        },
    )
    assert answer.status_code == 401, answer.get_json()


@pytest.mark.wallclock  # the CLI / a second process builds its runtime on the machine's clock
def test_identity_verify_refuses_a_small_order_key(settings, runtime, tmp_path):
    from notary.cli import main

    key_file = tmp_path / "weak.pem"
    key_file.write_text(PEM)
    result = CliRunner().invoke(
        main,
        ["identity", "verify", "--id-number", "11010519491231002X", "--key", str(key_file)],
        env={
            "NOTARY_INSTANCE_PATH": str(settings.instance_path),
            "NOTARY_DATABASE_URL": settings.database_url,
        },
    )
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    assert "small order" in result.output


class _UniversalSigner:
    """A "person" holding no private key at all: its key is the identity point. (Its ``pem`` is
    a stand-in for the bundle builder, which refuses the real one; the test swaps it back.)"""

    def __init__(self) -> None:
        self.name = "nobody"
        stand_in = ed25519.Ed25519PrivateKey.generate().public_key()
        self.public = PublicKey(ED25519, SPKI, FINGERPRINT, stand_in)
        self.party_id: str | None = None
        self.identity_sha256 = payloads.sha256_hex(b"cn_resident:11010519491231002X")

    def identity_commitment(self, platform_id: str) -> str:
        return "00" * 32

    def sign(self, message: bytes) -> bytes:
        return UNIVERSAL


def test_the_offline_verifier_refuses_a_bundle_signed_by_a_small_order_key(tmp_path, monkeypatch):
    from tests.support import evidence

    made = iter([_UniversalSigner(), evidence.Person("借款人", alg="ecdsa-p256-sha256")])
    monkeypatch.setattr(evidence, "Person", lambda *args, **kwargs: next(made))
    notary = evidence.SampleNotary.create(tmp_path / "keys")
    log = evidence.SampleLog(notary, 1)
    entries = evidence.members(log.bundle(0, 1))
    entries["keys/investor.pem"] = PEM.encode()
    report = _verify_bundle(evidence.rezip(entries, fix_manifest=True), notary.trust())
    assert not report.valid
    failed = {check.name: check.code for check in report.checks if check.status == "failed"}
    assert "signature_investor" in failed, report.to_dict()


def _verify_bundle(data, trust):
    try:
        from notary.verify.evidence.verifier import verify_bundle
    except ImportError:  # before the layout issue's move
        from notary.verify.evidence.verifier import verify_bundle
    return verify_bundle(data, trust=trust)
