"""verify_bundle on genuine bundles, and on every member changed in turn: each change must be
caught by the check that owns that member, named in the report."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest

from notary.verify.archive import MalformedBundle
from notary.verify.canonical import canonical_json
from notary.verify.evidence.verifier import verify_bundle as verify_with
from notary.verify.report import CHECK_NAMES, FAILED, INTEGRITY_ONLY_BASIS, NOT_RUN, TRUST_FILE, render_text
from notary.verify.trust import INTEGRITY_ONLY
from tests.support.evidence import VERIFIED_AT, SampleLog, SampleNotary, members, rezip


def verify_bundle(data, *, trust=INTEGRITY_ONLY, **options):
    """The verifier at the fixed moment the sample evidence is checked, unless a test says
    otherwise; most checks here do not depend on trust, so they run integrity-only by default."""
    return verify_with(data, trust=trust, **{"now": VERIFIED_AT, **options})


INDEX, SIZE = 2, 5  # leaf 2, first covered by the checkpoint of size 5


@pytest.fixture(scope="module")
def notary(tmp_path_factory):
    return SampleNotary.create(tmp_path_factory.mktemp("notary") / "keys")


@pytest.fixture(scope="module")
def other_notary(tmp_path_factory):
    return SampleNotary.create(tmp_path_factory.mktemp("other") / "keys", organisation="Other Notary")


@pytest.fixture(scope="module")
def log(notary):
    return SampleLog(notary, 8)


@pytest.fixture(scope="module")
def genuine(log):
    return log.bundle(INDEX, SIZE)


@pytest.fixture(scope="module")
def entries(genuine):
    return members(genuine)


def failed(report):
    return {check.name: check.code for check in report.checks if check.status == FAILED}


def flip(data: bytes, position: int) -> bytes:
    return data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :]


def test_genuine_bundle_is_valid_on_its_own_keys_but_origin_is_not_established(genuine):
    report = verify_bundle(genuine)
    assert report.valid, failed(report)
    assert report.trust_basis == INTEGRITY_ONLY_BASIS
    assert not report.origin_established
    assert [check.name for check in report.checks] == [
        name for name in CHECK_NAMES if name not in ("consistency", "openings", "witness_cosignatures")
    ]
    assert report.verdict == "valid_integrity_only"
    assert report.contract_id == f"ct_{INDEX:04d}TEST"
    assert report.log.leaf_index == INDEX
    assert report.log.tree_size == SIZE
    assert report.signing_time.source == "rfc3161_gen_time"
    assert "Timestamp Authority" in report.signing_time.authority
    assert [party.role for party in report.parties] == ["investor", "borrower"]


def test_genuine_bundle_with_the_trust_file_establishes_origin(genuine, notary):
    report = verify_bundle(genuine, trust=notary.trust())
    assert report.valid, failed(report)
    assert report.trust_basis == TRUST_FILE
    assert report.origin_established
    assert report.to_dict()["origin_established"] is True


def test_the_document_a_person_holds_is_checked_too(genuine, log):
    assert verify_bundle(genuine, document=log.filed[INDEX].document).valid
    report = verify_bundle(genuine, document=log.filed[INDEX + 1].document)
    assert failed(report) == {"document_digest": "digest_mismatch"}
    assert report.check("document_digest").details["document"] == "the document given"


def test_every_bundle_of_the_log_verifies_and_several_checkpoint_tokens_are_all_checked(log, notary):
    for index in range(SIZE):
        assert verify_bundle(log.bundle(index, SIZE), trust=notary.trust()).valid
    bundle = log.bundle(INDEX, SIZE, checkpoint_tokens=3)
    report = verify_bundle(bundle, trust=notary.trust())
    assert report.valid
    assert len(report.check("checkpoint_timestamp").details["tokens"]) == 3
    damaged = members(bundle)
    damaged["timestamp/checkpoint-3.tsr"] = damaged["timestamp/record.tsr"]
    assert failed(verify_bundle(rezip(damaged, fix_manifest=True))) == {
        "checkpoint_timestamp": "imprint_mismatch"
    }


# Which check owns each member: changing that member must fail that check, even when the
# manifest is rewritten to match (it is not signed; anyone can).
OWNER = {
    "document.pdf": "document_digest",
    "terms.json": "terms_digest",
    "record.json": "record_timestamp",
    "keys/investor.pem": "signature_investor",
    "keys/borrower.pem": "signature_borrower",
    "keys/notary.pem": "notary_certificate",
    "timestamp/record.tsr": "record_timestamp",
    "timestamp/tsa-chain.pem": "record_timestamp",
    "timestamp/checkpoint-1.tsr": "checkpoint_timestamp",
    "timestamp/checkpoint-1-chain.pem": "checkpoint_timestamp",
    "log/inclusion.json": "inclusion_proof",
    "log/checkpoint.txt": "checkpoint_signature",
    "log/key.json": "log_key",
    "README.txt": "manifest",
    "manifest.json": "manifest",
}


def test_every_member_has_an_owner(entries):
    assert set(entries) == set(OWNER)


def _positions(name: str, size: int) -> list[int]:
    if name.endswith(".tsr"):
        # The end of a token is its signature; bytes elsewhere may sit in the unsigned
        # certificate bag, which the manifest alone covers (see the next test).
        return [size - 1, size - 20]
    return sorted({0, size // 4, size // 2, 3 * size // 4, size - 2})


@pytest.mark.parametrize("name", sorted(OWNER))
def test_one_byte_changed_in_any_member_fails_the_manifest(entries, name):
    changed = dict(entries)
    changed[name] = flip(entries[name], len(entries[name]) // 2)
    report = verify_bundle(rezip(changed))
    assert not report.valid
    assert report.check("manifest").status == FAILED
    if name != "manifest.json":
        assert report.check("manifest").details["member"] == name


@pytest.mark.parametrize("trusted", [False, True], ids=["bundle_only", "trust_file"])
@pytest.mark.parametrize("name", sorted(set(OWNER) - {"README.txt", "manifest.json"}))
def test_one_byte_changed_fails_the_owning_check_even_with_a_rewritten_manifest(
    entries, notary, name, trusted
):
    for position in _positions(name, len(entries[name])):
        changed = dict(entries)
        changed[name] = flip(entries[name], position)
        report = verify_bundle(
            rezip(changed, fix_manifest=True), trust=notary.trust() if trusted else INTEGRITY_ONLY
        )
        assert report.check("manifest").passed
        assert OWNER[name] in failed(report), (position, failed(report))


@pytest.mark.parametrize("name", sorted(OWNER))
def test_a_removed_member_fails_its_check(entries, name):
    changed = {key: value for key, value in entries.items() if key != name}
    report = verify_bundle(rezip(changed, fix_manifest=name != "manifest.json"))
    owner = "record_fields" if name == "record.json" else OWNER[name]
    assert failed(report)[owner] == "missing_member"
    assert report.check("manifest").status == FAILED
    assert (name if name != "document.pdf" else "document.<ext>") in report.check("manifest").reason


def test_without_a_record_the_checks_that_need_it_are_reported_not_run(entries):
    changed = {key: value for key, value in entries.items() if key != "record.json"}
    report = verify_bundle(rezip(changed, fix_manifest=True))
    assert report.check("record_fields").code == "missing_member"
    for name in (
        "document_digest",
        "terms_digest",
        "signature_investor",
        "signature_borrower",
        "inclusion_proof",
    ):
        check = report.check(name)
        assert check.status == NOT_RUN
        assert "record_fields" in check.reason
    assert not report.valid


def test_an_extra_member_is_refused_even_when_listed(entries):
    changed = dict(entries)
    changed["notes.txt"] = b"trust me"
    assert failed(verify_bundle(rezip(changed, fix_manifest=True)))["manifest"] == "unexpected_member"
    changed = dict(entries)
    changed["document.docx"] = b"a second document"
    report = verify_bundle(rezip(changed, fix_manifest=True))
    assert failed(report) == {"manifest": "unexpected_member", "document_digest": "unexpected_member"}


def test_a_lying_manifest_fails_the_manifest_check(entries):
    manifest = json.loads(entries["manifest.json"])
    manifest["files"]["record.json"] = "0" * 64
    changed = dict(entries)
    from notary.verify.canonical import canonical_json

    changed["manifest.json"] = canonical_json(manifest)
    report = verify_bundle(rezip(changed))
    assert failed(report) == {"manifest": "manifest_mismatch"}
    assert report.check("manifest").details["member"] == "record.json"


def test_reordered_proof_hashes_fail_the_inclusion_proof(entries):
    proof = json.loads(entries["log/inclusion.json"])
    assert len(proof["hashes"]) >= 2
    proof["hashes"] = proof["hashes"][::-1]
    changed = dict(entries)
    from notary.verify.canonical import canonical_json

    changed["log/inclusion.json"] = canonical_json(proof)
    assert failed(verify_bundle(rezip(changed, fix_manifest=True))) == {"inclusion_proof": "root_mismatch"}


def test_a_record_from_another_contract_fails(entries, log):
    changed = dict(entries)
    changed["record.json"] = log.filed[INDEX + 1].record
    result = failed(verify_bundle(rezip(changed, fix_manifest=True)))
    assert result["record_timestamp"] == "imprint_mismatch"
    assert result["inclusion_proof"] == "position_mismatch"
    assert result["manifest"] == "manifest_mismatch"
    assert result["document_digest"] == "digest_mismatch"
    assert result["signature_investor"] == "key_mismatch"


def test_a_genuine_checkpoint_of_another_size_fails(entries, log):
    changed = dict(entries)
    changed["log/checkpoint.txt"] = log.checkpoint(SIZE + 1).encode()
    result = failed(verify_bundle(rezip(changed, fix_manifest=True)))
    assert result == {"inclusion_proof": "position_mismatch", "checkpoint_timestamp": "imprint_mismatch"}


def test_a_token_over_another_record_fails(entries, log, notary):
    changed = dict(entries)
    changed["timestamp/record.tsr"] = notary.stamp(log.filed[0].record).token
    assert failed(verify_bundle(rezip(changed, fix_manifest=True))) == {
        "record_timestamp": "imprint_mismatch"
    }


def test_keys_swapped_between_roles_fail_both_signatures(entries):
    changed = dict(entries)
    changed["keys/investor.pem"], changed["keys/borrower.pem"] = (
        entries["keys/borrower.pem"],
        entries["keys/investor.pem"],
    )
    assert failed(verify_bundle(rezip(changed, fix_manifest=True))) == {
        "signature_investor": "key_mismatch",
        "signature_borrower": "key_mismatch",
    }


def test_a_checkpoint_token_without_its_predecessor_is_missing(entries):
    changed = {key: value for key, value in entries.items() if not key.startswith("timestamp/checkpoint-1")}
    changed["timestamp/checkpoint-2.tsr"] = entries["timestamp/checkpoint-1.tsr"]
    changed["timestamp/checkpoint-2-chain.pem"] = entries["timestamp/checkpoint-1-chain.pem"]
    assert (
        failed(verify_bundle(rezip(changed, fix_manifest=True)))["checkpoint_timestamp"] == "missing_member"
    )


def test_another_notarys_keys_pass_on_their_own_but_not_with_the_trust_file(notary, other_notary):
    forged_log = SampleLog(other_notary, SIZE)
    forged = forged_log.bundle(INDEX, SIZE)
    assert verify_bundle(forged).valid  # integrity only: anyone can make a consistent bundle
    report = verify_bundle(forged, trust=notary.trust())
    assert failed(report) == {
        "record_timestamp": "untrusted_timestamp_chain",
        "checkpoint_signature": "note_unknown_key",
        "notary_certificate": "untrusted_notary_chain",
    }
    assert report.check("inclusion_proof").status == NOT_RUN


def test_a_log_key_is_trusted_only_for_its_tree_sizes(genuine, notary):
    assert verify_bundle(genuine, trust=notary.trust(from_size=SIZE, until_size=SIZE)).valid
    for bounds in ({"from_size": SIZE + 1}, {"from_size": 0, "until_size": SIZE - 1}):
        report = verify_bundle(genuine, trust=notary.trust(**bounds))
        assert failed(report) == {"checkpoint_signature": "log_key_not_trusted_for_size"}


def test_a_rotated_key_keeps_verifying_what_it_signed(genuine, notary, other_notary):
    from notary.verify.trust import TrustedLog, TrustFile

    old = TrustedLog(notary.origin, notary.signer.verifier, 0, SIZE + 1)
    new = TrustedLog(notary.origin, other_notary.signer.verifier, SIZE + 1)
    trust = TrustFile.of([old, new], notary_roots=[notary.keys.root_cert], tsa_roots=[notary.keys.root_cert])
    assert verify_bundle(genuine, trust=trust).valid


def test_consistency_with_a_newer_checkpoint(genuine, log, notary):
    newer = log.checkpoint(8)
    report = verify_bundle(
        genuine, trust=notary.trust(), newer_checkpoint=newer, consistency_proof=log.consistency(SIZE, 8)
    )
    assert report.valid, failed(report)
    assert report.newer_checkpoint.tree_size == 8
    assert report.check("consistency").passed

    wrong = log.consistency(SIZE, 8)
    wrong["hashes"][0] = "00" * 32
    report = verify_bundle(genuine, newer_checkpoint=newer, consistency_proof=wrong)
    assert failed(report) == {"consistency": "root_mismatch"}
    assert report.newer_checkpoint is None

    other_sizes = log.consistency(SIZE - 1, 8)
    assert failed(verify_bundle(genuine, newer_checkpoint=newer, consistency_proof=other_sizes)) == {
        "consistency": "position_mismatch"
    }
    assert failed(verify_bundle(genuine, newer_checkpoint=newer, consistency_proof={"hashes": []})) == {
        "consistency": "malformed_input"
    }


def test_a_newer_checkpoint_by_another_key_or_of_another_log_fails_consistency(
    genuine, log, notary, other_notary
):
    forged = SampleLog(other_notary, 8).checkpoint(8)
    report = verify_bundle(
        genuine, trust=notary.trust(), newer_checkpoint=forged, consistency_proof=log.consistency(SIZE, 8)
    )
    assert failed(report) == {"consistency": "note_unknown_key"}
    report = verify_bundle(
        genuine, newer_checkpoint="not a checkpoint\n", consistency_proof=log.consistency(SIZE, 8)
    )
    assert failed(report) == {"consistency": "malformed_note"}


def test_newer_checkpoint_and_proof_go_together(genuine, log):
    with pytest.raises(TypeError):
        verify_bundle(genuine, newer_checkpoint=log.checkpoint(8))


def test_a_token_from_the_future_fails(genuine):
    past = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    result = failed(verify_bundle(genuine, now=past))
    assert result == {
        "record_timestamp": "timestamp_in_future",
        "checkpoint_timestamp": "timestamp_in_future",
    }


def test_report_json_is_canonical_and_complete(genuine):
    moment = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    report = verify_bundle(genuine, now=moment)
    data = json.loads(report.to_json())
    assert data["format"] == "notary-verification/2"
    assert data["valid"] is True
    assert data["verified_at"] == "2030-01-01T00:00:00.000Z"
    assert data["trust_basis"] == "integrity_only"
    assert data["verdict"] == "valid_integrity_only"
    assert data["record_format"] == "notary-record/2"
    assert data["subject"] == "notary-evidence/2"
    assert data["trust_origin"] is None
    assert data["witnesses"] == {
        "status": "not_checked",
        "k": None,
        "n": None,
        "cosigned_by": [],
        "policy": None,
    }
    assert data["parties"]["investor"]["identity"] == {"status": "claimed", "commitment_by": "party"}
    assert data["log"]["leaf_index"] == INDEX
    assert {check["name"] for check in data["checks"]} == set(CHECK_NAMES) - {
        "consistency",
        "openings",
        "witness_cosignatures",
    }
    assert report.to_json() == verify_bundle(genuine, now=moment).to_json()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"%PDF-1.4 not a zip", "not a zip"),
        (b"PK\x05\x06" + bytes(18), "no members"),
    ],
)
def test_junk_is_refused_as_malformed_bundle(data, message):
    with pytest.raises(MalformedBundle, match=message) as caught:
        verify_bundle(data)
    assert caught.value.code == "malformed_bundle"


def test_a_zip_that_is_no_bundle_is_refused():
    from notary.verify.archive import write_archive

    docx = write_archive(
        [("word/document.xml", b"<w:document/>")], modified=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    )
    with pytest.raises(MalformedBundle, match="not an evidence bundle"):
        verify_bundle(docx)


# --- identities (issue 15.1): claimed, proven by an opening, and enrolment proofs ------------------


def test_there_is_no_default_trust(genuine):
    with pytest.raises(TypeError, match="choose the trust"):
        verify_with(genuine, trust=None)


def test_an_opening_proves_a_partys_identity(genuine, log):
    from notary.verify.identity import parse_opening

    investor = log.filed[INDEX].investor
    opening = parse_opening(investor.opening("pl_0001"))
    report = verify_bundle(genuine, openings=[opening])
    assert report.valid, failed(report)
    parties = {party.role: party.identity for party in report.parties}
    assert parties["investor"].status == "proven"
    assert (
        parties["investor"].id_number_masked == investor.id_number[:6] + "********" + investor.id_number[-4:]
    )
    assert parties["borrower"].status == "claimed"
    assert report.check("openings").passed
    assert investor.id_number not in report.to_json().decode()  # masked only, never the full number
    assert "PROVEN" in render_text(report)


def test_an_opening_of_someone_else_or_with_another_salt_is_a_failed_check(genuine, log):
    from notary.verify import payloads
    from notary.verify.identity import parse_opening

    investor = log.filed[INDEX].investor
    other_salt = payloads.identity_opening(
        id_type="cn_resident", id_number=investor.id_number, salt=bytes(32)
    )
    stranger = log.filed[INDEX + 1].investor.opening("pl_0001")
    for wrong in (other_salt, stranger):
        report = verify_bundle(genuine, openings=[parse_opening(wrong)])
        assert failed(report) == {"openings": "opening_mismatch"}
        assert {party.identity.status for party in report.parties} == {"claimed"}


def test_a_changed_enrolment_proof_fails_the_identity_check(genuine):
    members_of = members(genuine)
    record = json.loads(members_of["record.json"])
    proof = base64.b64decode(record["signatures"]["investor"]["enrolment_proof"])
    record["signatures"]["investor"]["enrolment_proof"] = base64.b64encode(flip(proof, 5)).decode()
    members_of["record.json"] = canonical_json(record)
    result = failed(verify_bundle(rezip(members_of, fix_manifest=True)))
    assert result["identity_investor"] == "bad_enrolment_proof"


def test_a_record_v1_bundle_reports_the_unsalted_hash_and_an_opening_still_proves_it(notary):
    from notary.verify import payloads
    from notary.verify.identity import parse_opening

    old = SampleLog(notary, 2, record_format=payloads.RECORD_FORMAT)
    data = old.bundle(0, 2)
    report = verify_bundle(data, trust=notary.trust())
    assert report.valid, failed(report)
    assert report.record_format == "notary-record/1"
    assert {party.identity.status for party in report.parties} == {"unsalted"}
    investor = old.filed[0].investor
    proven = verify_bundle(data, trust=notary.trust(), openings=[parse_opening(investor.opening("pl_0001"))])
    assert proven.valid, failed(proven)
    assert proven.parties[0].identity.status == "proven"
