"""A key holder logs in with its own key: single-use challenges, refusals, short-lived tokens."""

from __future__ import annotations

import base64
import hashlib

from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from sqlalchemy import func, select

from notary.storage.access_models import AuditEntry, LoginChallenge
from notary.verify import payloads
from tests.support.access import Caller, login
from tests.support.people import Person


def challenge_for(client, fingerprint):
    answer = client.post("/api/v1/auth/challenge", json={"key_fingerprint": fingerprint})
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def token_answer(client, fingerprint, challenge, signature):
    return client.post(
        "/api/v1/auth/token",
        json={"key_fingerprint": fingerprint, "challenge_base64": challenge, "signature": signature},
    )


def signed(person, challenge, fingerprint=None):
    fingerprint = fingerprint or person.public.fingerprint
    return person.sign_b64(payloads.login_payload(challenge_base64=challenge, key_fingerprint=fingerprint))


def error_of(answer):
    return answer.status_code, answer.get_json()["error"]["code"]


def test_challenges(client, investor, runtime, clock):
    known = challenge_for(client, investor.public.fingerprint)
    unknown = challenge_for(client, "ab" * 32)
    # Alike whether or not the key is enrolled: the answer reveals nothing.
    assert set(known) == set(unknown) == {"challenge_base64", "expires_at"}
    challenge = base64.b64decode(known["challenge_base64"])
    assert len(challenge) == 32
    assert known["challenge_base64"] != unknown["challenge_base64"]
    with runtime.db.read() as session:
        stored = session.execute(select(LoginChallenge.challenge_sha256)).scalars().all()
    assert hashlib.sha256(challenge).hexdigest() in stored  # only its hash is kept
    assert challenge.hex() not in stored
    # Expired challenges are purged by the next request: the table stays bounded.
    clock.advance(seconds=runtime.settings.challenge_lifetime + 1)
    challenge_for(client, "cd" * 32)
    with runtime.db.read() as session:
        assert session.execute(select(LoginChallenge.key_fingerprint)).scalars().all() == ["cd" * 32]
    for body in (
        {"key_fingerprint": "AB" * 32},
        {"key_fingerprint": "ab" * 31},
        {"key_fingerprint": "zz" * 32},
        {},
        {"key_fingerprint": "ab" * 32, "extra": 1},
    ):
        answer = client.post("/api/v1/auth/challenge", json=body)
        assert error_of(answer) == (422, "validation_failed"), body


def test_login_with_ed25519_and_p256_raw_signature(client, investor, borrower, runtime, clock):
    caller = Caller(client, login(client, investor))
    assert caller.token.startswith("ntk_")
    assert caller.get("/me/contracts").status_code == 200
    # A P-256 signature as WebCrypto makes it: raw r||s.
    fingerprint = borrower.public.fingerprint
    challenge = challenge_for(client, fingerprint)["challenge_base64"]
    r, s = decode_dss_signature(
        borrower.sign(payloads.login_payload(challenge_base64=challenge, key_fingerprint=fingerprint))
    )
    raw = base64.b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")).decode()
    answer = token_answer(client, fingerprint, challenge, raw)
    assert answer.status_code == 200
    assert set(answer.get_json()) == {"token", "expires_at"}
    with runtime.db.read() as session:
        logins = session.execute(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "auth.login")
        ).scalar_one()
    assert logins == 2
    # Party tokens are short-lived.
    clock.advance(seconds=runtime.settings.party_token_lifetime + 1)
    assert error_of(caller.get("/me/contracts")) == (401, "unauthenticated")


def test_refusals(client, platform, investor, borrower, clock, runtime):
    fingerprint = investor.public.fingerprint

    # A challenge is used once.
    challenge = challenge_for(client, fingerprint)["challenge_base64"]
    assert token_answer(client, fingerprint, challenge, signed(investor, challenge)).status_code == 200
    again = token_answer(client, fingerprint, challenge, signed(investor, challenge))
    assert error_of(again) == (401, "bad_challenge")

    # An expired challenge is refused.
    challenge = challenge_for(client, fingerprint)["challenge_base64"]
    clock.advance(seconds=runtime.settings.challenge_lifetime + 1)
    late = token_answer(client, fingerprint, challenge, signed(investor, challenge))
    assert error_of(late) == (401, "bad_challenge")

    # Challenges the service never gave, or that are not even base64.
    made_up = base64.b64encode(bytes(32)).decode()
    assert error_of(token_answer(client, fingerprint, made_up, signed(investor, made_up))) == (
        401,
        "bad_challenge",
    )
    assert error_of(token_answer(client, fingerprint, "not base64!", "AAAA")) == (401, "bad_challenge")

    # A wrong key is refused, and the refusal spends the challenge.
    mallory = Person("Mallory")
    platform.enrol(mallory)
    challenge = challenge_for(client, fingerprint)["challenge_base64"]
    wrong = token_answer(client, fingerprint, challenge, signed(mallory, challenge, fingerprint))
    assert error_of(wrong) == (401, "unauthenticated")
    assert error_of(token_answer(client, fingerprint, challenge, signed(investor, challenge))) == (
        401,
        "bad_challenge",
    )

    # The login payload of another key: a challenge asked for the investor's key cannot be
    # answered for mallory's, and mallory's own payload does not open the investor's key.
    challenge = challenge_for(client, fingerprint)["challenge_base64"]
    answer = token_answer(client, mallory.public.fingerprint, challenge, signed(mallory, challenge))
    assert error_of(answer) == (401, "bad_challenge")
    challenge = challenge_for(client, fingerprint)["challenge_base64"]
    answer = token_answer(client, fingerprint, challenge, signed(mallory, challenge))
    assert error_of(answer) == (401, "unauthenticated")

    # A contract signature is no login.
    filed = platform.file(investor, borrower)
    contract_payload = base64.b64decode(filed["signing_payloads"]["investor"]["payload_base64"])
    challenge = challenge_for(client, fingerprint)["challenge_base64"]
    answer = token_answer(client, fingerprint, challenge, investor.sign_b64(contract_payload))
    assert error_of(answer) == (401, "unauthenticated")

    # A key nobody enrolled or verified: the same answer as a bad signature, so whether a key
    # is enrolled is not revealed.
    stranger = Person("Stranger")
    challenge = challenge_for(client, stranger.public.fingerprint)["challenge_base64"]
    answer = token_answer(client, stranger.public.fingerprint, challenge, signed(stranger, challenge))
    assert error_of(answer) == (401, "unauthenticated")


def test_openapi_documents_access(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in (
        "/api/v1/auth/challenge",
        "/api/v1/auth/token",
        "/api/v1/me/contracts",
        "/api/v1/cases",
        "/api/v1/cases/{case_id}",
    ):
        assert path in spec["paths"], path
    headers = [
        p["name"]
        for p in spec["paths"]["/api/v1/contracts/{contract_id}/document"]["get"]["parameters"]
        if p["in"] == "header"
    ]
    assert headers == ["Notary-Case"]
