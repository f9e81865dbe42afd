"""The worked examples of payloads.md (shared/payloads.md), reproduced byte for byte.

Keys are RFC 8032 section 7.1 test 1 (the party) and test 2 (the log); Ed25519 is
deterministic, so the signatures must come out exactly as published.
"""

import base64
import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from notary.verify import payloads
from notary.verify.keys import PublicKey

RFC8032_TEST1 = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")

PARTY_FINGERPRINT = "06e3fd8fda29bb60ab59557de61edb0aecdb231134be30e75b455f8e1b792fa9"
IDENTITY = "1fc1700bc1ddcacecda669c5e75405c22967be5b9f33a151c2b56318f32f9360"
DOCUMENT = b"%PDF-1.4\n% example loan contract\n"
DOCUMENT_SHA256 = "38265e2640a01327493f2e57f51912be272e9cc812ed031dbd1390c4302c3ea0"
TERMS_SHA256 = "d95fa995b02a300d95c291458bd4491b9524bacb31d1dd4d064b704a3dc33992"
INVESTOR_SIGNATURE = (
    "lDJe8RufilSVj/F9myT9MS3nmqlm1MdhqLiVtoLmug/ZQNwqBEHuUmc5mcKhdXaWXrv53jpTMWv2pVL9rTaRDQ=="
)


@pytest.fixture
def party_key():
    return ed25519.Ed25519PrivateKey.from_private_bytes(RFC8032_TEST1)


def public_of(private):
    pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return PublicKey.from_pem(pem)


def test_fingerprint_and_identity_hash(party_key):
    assert public_of(party_key).fingerprint == PARTY_FINGERPRINT
    assert payloads.identity_sha256("cn_resident", "11010519491231002X") == IDENTITY
    # Normalisation: lower case and spaces do not change the identity.
    assert payloads.identity_sha256("cn_resident", "110105 19491231002x") == IDENTITY


def test_enrolment_payload_and_proof(party_key):
    payload = payloads.enrol_payload(
        platform_id="pl_0001", key_fingerprint=PARTY_FINGERPRINT, identity_sha256=IDENTITY
    )
    assert payload == (
        b'{"identity_sha256":"1fc1700bc1ddcacecda669c5e75405c22967be5b9f33a151c2b56318f32f9360",'
        b'"key_fingerprint":"06e3fd8fda29bb60ab59557de61edb0aecdb231134be30e75b455f8e1b792fa9",'
        b'"platform_id":"pl_0001","purpose":"notary.enrol.v1"}'
    )
    assert base64.b64encode(party_key.sign(payload)).decode() == (
        "t/7CzerhDMTvANKuLvOyEF9rdXEQ/hkqTo3+JUztDGkJ0qx66+469ULi+K2f3KT3gkMZ94C0nEu0v7pwKZk8Ag=="
    )


def test_terms_bytes_and_digest():
    terms = {
        "investor": "pa_0001",
        "borrower": "pa_0002",
        "amount": "10000.00",
        "currency": "CNY",
        "annual_rate": "0.0800",
        "term_months": 12,
        "start_date": "2026-12-01",
        "sign_by": "2026-12-08T00:00:00Z",
        "title": "个人借款合同",
        "external_ref": "loan-2026-000123",
    }
    from notary.verify.canonical import canonical_json

    data = canonical_json(terms)
    assert (
        data
        == (
            '{"amount":"10000.00","annual_rate":"0.0800","borrower":"pa_0002","currency":"CNY",'
            '"external_ref":"loan-2026-000123","investor":"pa_0001","sign_by":"2026-12-08T00:00:00Z",'
            '"start_date":"2026-12-01","term_months":12,"title":"个人借款合同"}'
        ).encode()
    )
    assert hashlib.sha256(data).hexdigest() == TERMS_SHA256
    assert hashlib.sha256(DOCUMENT).hexdigest() == DOCUMENT_SHA256


def test_signing_payload_and_signature(party_key):
    payload = payloads.contract_payload(
        purpose=payloads.PURPOSE_SIGN,
        contract_id="ct_0001",
        platform_id="pl_0001",
        role="investor",
        party_id="pa_0001",
        document_sha256=DOCUMENT_SHA256,
        terms_sha256=TERMS_SHA256,
    )
    assert payload == (
        b'{"contract_id":"ct_0001","document_sha256":"38265e2640a01327493f2e57f51912be272e9cc812ed031dbd1390c4302c3ea0",'
        b'"party_id":"pa_0001","platform_id":"pl_0001","purpose":"notary.sign.v1","role":"investor",'
        b'"terms_sha256":"d95fa995b02a300d95c291458bd4491b9524bacb31d1dd4d064b704a3dc33992"}'
    )
    signature = party_key.sign(payload)
    assert base64.b64encode(signature).decode() == INVESTOR_SIGNATURE
    public_of(party_key).verify(signature, payload)


def test_login_payload(party_key):
    challenge = base64.b64encode(bytes(range(32))).decode()
    payload = payloads.login_payload(challenge_base64=challenge, key_fingerprint=PARTY_FINGERPRINT)
    assert payload == (
        b'{"challenge":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",'
        b'"key_fingerprint":"06e3fd8fda29bb60ab59557de61edb0aecdb231134be30e75b455f8e1b792fa9",'
        b'"purpose":"notary.login.v1"}'
    )
    assert base64.b64encode(party_key.sign(payload)).decode() == (
        "zEN2RUG9qNIy2gkF3bXOTvYkcR72zesapzQ5Q1r5cg3VNXA0sWwicW5/1/v4VTxzsjFaIF6MlJCBuRqkv1WzAQ=="
    )


def test_evidence_record_bytes_and_hashes():
    record = payloads.evidence_record(
        sequence=0,
        previous_record_sha256=payloads.GENESIS_SHA256,
        contract_id="ct_0001",
        platform_id="pl_0001",
        document_sha256=DOCUMENT_SHA256,
        document_size=len(DOCUMENT),
        media_type="application/pdf",
        terms_sha256=TERMS_SHA256,
        signatures={
            "investor": payloads.record_signature(
                party_id="pa_0001",
                key_fingerprint=PARTY_FINGERPRINT,
                identity_sha256=IDENTITY,
                identity_assurance="platform",
                algorithm="ed25519",
                signature_base64=INVESTOR_SIGNATURE,
                signed_at="2026-12-01T08:00:01.250Z",
            )
        },
        received_at="2026-12-01T08:00:00.000Z",
        sealed_at="2026-12-01T08:00:05.000Z",
        record_format=payloads.RECORD_FORMAT,
    )
    assert record == (
        b'{"contract_id":"ct_0001","document_sha256":"38265e2640a01327493f2e57f51912be272e9cc812ed031dbd1390c4302c3ea0",'
        b'"document_size":33,"format":"notary-record/1","media_type":"application/pdf","platform_id":"pl_0001",'
        b'"previous_record_sha256":"0000000000000000000000000000000000000000000000000000000000000000",'
        b'"received_at":"2026-12-01T08:00:00.000Z","sealed_at":"2026-12-01T08:00:05.000Z","sequence":0,'
        b'"signatures":{"investor":{"algorithm":"ed25519","identity_assurance":"platform",'
        b'"identity_sha256":"1fc1700bc1ddcacecda669c5e75405c22967be5b9f33a151c2b56318f32f9360",'
        b'"key_fingerprint":"06e3fd8fda29bb60ab59557de61edb0aecdb231134be30e75b455f8e1b792fa9","party_id":"pa_0001",'
        b'"signature":"lDJe8RufilSVj/F9myT9MS3nmqlm1MdhqLiVtoLmug/ZQNwqBEHuUmc5mcKhdXaWXrv53jpTMWv2pVL9rTaRDQ==",'
        b'"signed_at":"2026-12-01T08:00:01.250Z"}},'
        b'"terms_sha256":"d95fa995b02a300d95c291458bd4491b9524bacb31d1dd4d064b704a3dc33992"}'
    )
    assert (
        hashlib.sha256(record).hexdigest()
        == "00da351b16451447e96c923924cf49d4010d0358ea2144a42fe4823a4adb9ce5"
    )
    assert hashlib.sha256(b"\x00" + record).hexdigest() == (
        "f2051986af72e1ffc0b611b47bd18dc3f630201f181925d6d530ec0c92651979"
    )


def test_format_time_has_milliseconds_and_z():
    from datetime import UTC, datetime, timedelta, timezone

    moment = datetime(2026, 12, 1, 16, 0, 1, 250999, tzinfo=timezone(timedelta(hours=8)))
    assert payloads.format_time(moment) == "2026-12-01T08:00:01.250Z"
    with pytest.raises(ValueError, match="naive"):
        payloads.format_time(datetime(2026, 12, 1))
    assert payloads.format_time(datetime(2026, 1, 2, tzinfo=UTC)) == "2026-01-02T00:00:00.000Z"


# --- round 2 (docs/formats.md): the identity opening, enrolment v2 and record/2 ----------------
PAYLOADS_MD = Path(__file__).resolve().parents[2] / "docs" / "payloads.md"
OPENING = (
    b'{"id_number":"11010519491231002X","id_type":"cn_resident","purpose":"notary.identity.v1",'
    b'"salt":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}'
)
COMMITMENT = "4e39d9d4aa5538194bf91e32fa1b5246b087a440c7518c6a106c4f7473f44af1"
ENROLMENT_V2_SIGNATURE = (
    "P50EkQa5Mq29/b4DZtMUa+hdXe2SDo8r32aFQ4e0YDrcTPHtpDgVyI4jZ4clDUPtxPUj4f7kjaHhNftv5dhqCw=="
)


def in_payloads_md(example: bytes) -> bool:
    """The example is printed in docs/payloads.md exactly (so the doc and the code agree)."""
    return example.decode() in PAYLOADS_MD.read_text(encoding="utf-8")


def test_identity_opening_and_commitment():
    opening = payloads.identity_opening(
        id_type="cn_resident", id_number="110105 19491231002x", salt=bytes(range(32))
    )
    assert opening == OPENING
    assert payloads.identity_commitment(opening) == hashlib.sha256(OPENING).hexdigest() == COMMITMENT
    assert in_payloads_md(OPENING)
    assert COMMITMENT in PAYLOADS_MD.read_text(encoding="utf-8")
    with pytest.raises(ValueError, match="32 bytes"):
        payloads.identity_opening(id_type="cn_resident", id_number="11010519491231002X", salt=bytes(16))


def test_enrolment_v2_payload(party_key):
    payload = payloads.enrol_payload_v2(
        platform_id="pl_0001", key_fingerprint=PARTY_FINGERPRINT, identity_commitment=COMMITMENT
    )
    assert payload == (
        b'{"identity_commitment":"4e39d9d4aa5538194bf91e32fa1b5246b087a440c7518c6a106c4f7473f44af1",'
        b'"key_fingerprint":"06e3fd8fda29bb60ab59557de61edb0aecdb231134be30e75b455f8e1b792fa9",'
        b'"platform_id":"pl_0001","purpose":"notary.enrol.v2"}'
    )
    assert in_payloads_md(payload)
    assert base64.b64encode(party_key.sign(payload)).decode() == ENROLMENT_V2_SIGNATURE


def test_record_v2_bytes_and_hashes():
    record = payloads.evidence_record(
        record_format=payloads.RECORD_FORMAT_V2,
        sequence=0,
        previous_record_sha256=payloads.GENESIS_SHA256,
        contract_id="ct_0001",
        platform_id="pl_0001",
        document_sha256=DOCUMENT_SHA256,
        document_size=len(DOCUMENT),
        media_type="application/pdf",
        terms_sha256=TERMS_SHA256,
        signatures={
            "investor": payloads.record_signature_v2(
                party_id="pa_0001",
                key_fingerprint=PARTY_FINGERPRINT,
                identity_commitment=COMMITMENT,
                identity_assurance="platform",
                algorithm="ed25519",
                signature_base64=INVESTOR_SIGNATURE,
                signed_at="2026-12-01T08:00:01.250Z",
                enrolment_proof_base64=ENROLMENT_V2_SIGNATURE,
            )
        },
        received_at="2026-12-01T08:00:00.000Z",
        sealed_at="2026-12-01T08:00:05.000Z",
    )
    assert in_payloads_md(record)
    assert b'"format":"notary-record/2"' in record
    assert b"identity_sha256" not in record
    assert (
        hashlib.sha256(record).hexdigest()
        == "fb8e0c8a401eae06b35547023f14379c90168e6911f62cb0fba2e89f38f75485"
    )
    assert hashlib.sha256(b"\x00" + record).hexdigest() == (
        "40decc6aeab8465817a2cf2252ef30712d4a0e63c2a07df632c46dd56db7b1f4"
    )
