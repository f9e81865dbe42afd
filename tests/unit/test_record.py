"""record.json parsed strictly, and the signing payloads rebuilt from it (payloads.md examples)."""

from __future__ import annotations

import base64
import json

import pytest

from notary.verify import payloads
from notary.verify.canonical import canonical_json
from notary.verify.evidence.record import MalformedRecord, UnknownRecordFormat, parse_record, parse_time

# payloads.md, "Worked examples": the record of ct_0001 (investor's entry as printed there).
INVESTOR_ENTRY = {
    "algorithm": "ed25519",
    "identity_assurance": "platform",
    "identity_sha256": "1fc1700bc1ddcacecda669c5e75405c22967be5b9f33a151c2b56318f32f9360",
    "key_fingerprint": "06e3fd8fda29bb60ab59557de61edb0aecdb231134be30e75b455f8e1b792fa9",
    "party_id": "pa_0001",
    "signature": "lDJe8RufilSVj/F9myT9MS3nmqlm1MdhqLiVtoLmug/ZQNwqBEHuUmc5mcKhdXaWXrv53jpTMWv2pVL9rTaRDQ==",
    "signed_at": "2026-12-01T08:00:01.250Z",
}
# A borrower's entry, so that the record holds both roles (the printed example shows one).
BORROWER_ENTRY = {
    **INVESTOR_ENTRY,
    "algorithm": "ecdsa-p256-sha256",
    "party_id": "pa_0002",
    # A minimal DER ECDSA signature (r = s = 1): well-formed, verifies nothing.
    "signature": base64.b64encode(bytes.fromhex("3006020101020101")).decode(),
}
EXAMPLE = {
    "contract_id": "ct_0001",
    "document_sha256": "38265e2640a01327493f2e57f51912be272e9cc812ed031dbd1390c4302c3ea0",
    "document_size": 33,
    "format": "notary-record/1",
    "media_type": "application/pdf",
    "platform_id": "pl_0001",
    "previous_record_sha256": "0" * 64,
    "received_at": "2026-12-01T08:00:00.000Z",
    "sealed_at": "2026-12-01T08:00:05.000Z",
    "sequence": 0,
    "signatures": {"investor": INVESTOR_ENTRY, "borrower": BORROWER_ENTRY},
    "terms_sha256": "d95fa995b02a300d95c291458bd4491b9524bacb31d1dd4d064b704a3dc33992",
}
INVESTOR_PAYLOAD = (
    b'{"contract_id":"ct_0001","document_sha256":"38265e2640a01327493f2e57f51912be272e9cc812ed031dbd1390c4302c3ea0",'
    b'"party_id":"pa_0001","platform_id":"pl_0001","purpose":"notary.sign.v1","role":"investor",'
    b'"terms_sha256":"d95fa995b02a300d95c291458bd4491b9524bacb31d1dd4d064b704a3dc33992"}'
)


def with_changes(**changes):
    record = json.loads(json.dumps(EXAMPLE))
    for path, value in changes.items():
        target = record
        *parents, leaf = path.split("__")
        for parent in parents:
            target = target[parent]
        if value is KeyError:
            del target[leaf]
        else:
            target[leaf] = value
    return canonical_json(record)


def test_the_example_record_parses_and_rebuilds_the_signed_payload():
    record = parse_record(canonical_json(EXAMPLE))
    assert record.contract_id == "ct_0001"
    assert record.signatures["investor"].signature == base64.b64decode(INVESTOR_ENTRY["signature"])
    assert record.signing_payload("investor") == INVESTOR_PAYLOAD
    assert b'"role":"borrower"' in record.signing_payload("borrower")
    assert record.sha256 == payloads.sha256_hex(canonical_json(EXAMPLE))


def test_the_printed_example_with_one_signature_is_not_a_complete_record():
    partial = dict(EXAMPLE, signatures={"investor": INVESTOR_ENTRY})
    with pytest.raises(MalformedRecord, match="missing borrower"):
        parse_record(canonical_json(partial))


def test_a_record_must_be_canonical():
    pretty = json.dumps(EXAMPLE, indent=1).encode()
    with pytest.raises(MalformedRecord, match="canonical"):
        parse_record(pretty)
    with pytest.raises(MalformedRecord, match="not valid JSON"):
        parse_record(b"\xff")
    with pytest.raises(MalformedRecord, match="object"):
        parse_record(b"[]")


@pytest.mark.parametrize("value", ["notary-record/3", "notary-key-rotation/1", None, 1])
def test_unknown_formats_are_refused(value):
    with pytest.raises(UnknownRecordFormat) as caught:
        parse_record(with_changes(format=value))
    assert caught.value.code == "unknown_record_format"


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"extra": "x"}, "unknown extra"),
        ({"sealed_at": KeyError}, "missing sealed_at"),
        ({"signatures__investor__note": "x"}, "unknown note"),
        ({"signatures__borrower__signed_at": KeyError}, "missing signed_at"),
        ({"signatures__witness": INVESTOR_ENTRY}, "unknown witness"),
        ({"sequence": "0"}, "sequence"),
        ({"sequence": -1}, "sequence"),
        ({"sequence": True}, "sequence"),
        ({"document_size": 0}, "document_size"),
        ({"document_sha256": "38265E2640A01327493F2E57F51912BE272E9CC812ED031DBD1390C4302C3EA0"}, "hex"),
        ({"terms_sha256": "d95f"}, "hex"),
        ({"signatures__investor__key_fingerprint": None}, "hex"),
        ({"received_at": "2026-12-01T08:00:00Z"}, "milliseconds"),
        ({"sealed_at": "2026-02-30T08:00:00.000Z"}, "valid date"),
        ({"signatures__investor__signed_at": "2026-12-01 08:00:01.250Z"}, "milliseconds"),
        ({"media_type": "Application/PDF"}, "media_type"),
        ({"contract_id": ""}, "contract_id"),
        ({"platform_id": "pl\n1"}, "platform_id"),
        ({"signatures__investor__party_id": 7}, "party_id"),
        ({"signatures__investor__algorithm": "rsa"}, "algorithm"),
        ({"signatures__investor__identity_assurance": "trusted"}, "identity_assurance"),
        ({"signatures__investor__signature": "lDJe8Rufi"}, "base64"),
        ({"signatures__investor__signature": base64.b64encode(bytes(63)).decode()}, "64 bytes"),
        ({"signatures__borrower__signature": base64.b64encode(bytes(64)).decode()}, "DER"),
        (
            {
                "signatures__borrower__signature": base64.b64encode(
                    bytes.fromhex("300702020001020101")
                ).decode()
            },
            "DER",
        ),
        ({"previous_record_sha256": "1" * 64}, "leaf 0"),
        ({"sequence": 5}, "leaf 0"),
    ],
)
def test_malformed_records_are_refused(changes, match):
    with pytest.raises(MalformedRecord, match=match) as caught:
        parse_record(with_changes(**changes))
    assert caught.value.code == "malformed_record"


def test_integers_beyond_2_53_are_refused():
    data = canonical_json(EXAMPLE).replace(b'"sequence":0', b'"sequence":9007199254740993')
    with pytest.raises(MalformedRecord, match="safe integer"):
        parse_record(data)


def test_non_canonical_base64_is_a_changed_record():
    good = INVESTOR_ENTRY["signature"]
    # Last character before the padding carries unused bits: "Q" -> "R" decodes the same.
    assert good.endswith("DQ==")
    bent = good[:-3] + "R=="
    assert base64.b64decode(bent) == base64.b64decode(good)
    with pytest.raises(MalformedRecord, match="canonical"):
        parse_record(with_changes(signatures__investor__signature=bent))


def test_times_are_read_as_utc():
    assert parse_time("2026-12-01T08:00:01.250Z").isoformat() == "2026-12-01T08:00:01.250000+00:00"


# --- record/2: the salted identity commitment (payloads.md, "Round 2") ------------------------
COMMITMENT = "4e39d9d4aa5538194bf91e32fa1b5246b087a440c7518c6a106c4f7473f44af1"
PROOF = "P50EkQa5Mq29/b4DZtMUa+hdXe2SDo8r32aFQ4e0YDrcTPHtpDgVyI4jZ4clDUPtxPUj4f7kjaHhNftv5dhqCw=="


def v2_entry(entry, **changes):
    salted = {k: v for k, v in entry.items() if k != "identity_sha256"}
    salted["identity_commitment"] = COMMITMENT
    salted.update(changes)
    return {k: v for k, v in salted.items() if v is not KeyError}


def record_v2(investor=None, borrower=None):
    return canonical_json(
        dict(
            EXAMPLE,
            format="notary-record/2",
            signatures={
                "investor": investor or v2_entry(INVESTOR_ENTRY, enrolment_proof=PROOF),
                "borrower": borrower or v2_entry(BORROWER_ENTRY),
            },
        )
    )


def test_a_record_v2_parses_with_and_without_an_enrolment_proof():
    record = parse_record(record_v2())
    assert record.format == "notary-record/2"
    investor, borrower = record.signatures["investor"], record.signatures["borrower"]
    assert investor.identity_commitment == COMMITMENT
    assert investor.identity_sha256 is None
    assert investor.enrolment_proof == base64.b64decode(PROOF)
    assert borrower.enrolment_proof is None  # a party enrolled before record/2
    assert record.enrolment_payload("investor") == payloads.enrol_payload_v2(
        platform_id="pl_0001",
        key_fingerprint=INVESTOR_ENTRY["key_fingerprint"],
        identity_commitment=COMMITMENT,
    )
    assert record.signing_payload("investor") == INVESTOR_PAYLOAD


def test_a_record_v1_names_its_unsalted_hash_and_has_no_enrolment_payload():
    record = parse_record(canonical_json(EXAMPLE))
    entry = record.signatures["investor"]
    assert entry.identity_sha256 == INVESTOR_ENTRY["identity_sha256"]
    assert entry.identity_commitment is None
    assert record.enrolment_payload("investor") is None


@pytest.mark.parametrize(
    ("investor", "match"),
    [
        (v2_entry(INVESTOR_ENTRY, identity_sha256="0" * 64), "unknown identity_sha256"),
        (v2_entry(INVESTOR_ENTRY, identity_commitment=KeyError), "missing identity_commitment"),
        (v2_entry(INVESTOR_ENTRY, identity_commitment="AB" * 32), "64 lowercase hex"),
        (v2_entry(INVESTOR_ENTRY, enrolment_proof="not base64!"), "base64"),
        (v2_entry(INVESTOR_ENTRY, enrolment_proof=base64.b64encode(bytes(63)).decode()), "64 bytes"),
    ],
)
def test_a_record_v2_is_parsed_as_strictly(investor, match):
    with pytest.raises(MalformedRecord, match=match):
        parse_record(record_v2(investor=investor))


def test_a_record_v1_may_not_carry_an_enrolment_proof():
    with pytest.raises(MalformedRecord, match="unknown enrolment_proof"):
        parse_record(with_changes(signatures__investor__enrolment_proof=PROOF))
