"""``verify_bundle`` enforces the trust file's witness policy (issue 21, item 2d): a bundle whose
checkpoint fewer than k of the policy's witnesses cosigned is ``below_witness_policy``, not
valid, and the report names the witnesses that did cosign."""

from __future__ import annotations

import io

import pytest

from notary.verify.evidence.verifier import verify_bundle
from notary.verify.export.verifier import verify_export
from notary.verify.report import render_text
from notary.verify.trust import INTEGRITY_ONLY, CallerSupplied
from notary.verify.witness_policy import BadWitnessRequirement, WitnessRequirementUnmeetable
from tests.support.cosigned import FORGER, STRANGER, W1, W2, W3, cosign_note, cosigned, policy_trust
from tests.support.evidence import VERIFIED_AT, SampleLog, SampleNotary, members, rezip
from tests.support.export import make_export

SIZE = 3


@pytest.fixture(scope="module")
def notary(tmp_path_factory) -> SampleNotary:
    return SampleNotary.create(tmp_path_factory.mktemp("notary") / "keys")


@pytest.fixture(scope="module")
def log(notary) -> SampleLog:
    return SampleLog(notary, 4)


@pytest.fixture(scope="module")
def genuine(log) -> bytes:
    return log.bundle(1, SIZE)


def verify(bundle: bytes, trust, **options):
    return verify_bundle(bundle, trust=trust, now=VERIFIED_AT, **options)


def test_a_bundle_below_k_is_below_the_policy_not_valid(notary, genuine):
    report = verify(cosigned(genuine, W1), policy_trust(notary, 2))
    assert report.verdict == "below_witness_policy"
    assert report.valid is False
    check = report.check("witness_cosignatures")
    assert check is not None
    assert (check.status, check.code) == ("failed", "witness_policy_not_met")
    assert "1 of the 2" in check.reason
    assert report.to_dict()["witnesses"] == {
        "status": "below_policy",
        "k": 2,
        "n": 3,
        "cosigned_by": [W1.name],
        "policy": {"from_size": 0, "until_size": None},
    }
    text = render_text(report)
    assert "NOT YET VALID: fewer witnesses cosigned than the trust file's policy requires" in text
    assert (
        f"Witnesses: 1 of the 3 listed cosigned, at least 2 required (the trust file's policy for sizes from 0): {W1.name}"
        in text
    )
    # Every other check passed: only the witnesses are missing.
    assert [c.name for c in report.checks if not c.passed] == ["witness_cosignatures"]


def test_exactly_k_cosignatures_are_valid_and_named(notary, genuine):
    report = verify(cosigned(genuine, W3, W1), policy_trust(notary, 2))
    assert report.verdict == "valid", [c.to_dict() for c in report.checks if not c.passed]
    assert report.check("witness_cosignatures").passed
    assert report.to_dict()["witnesses"] == {
        "status": "met",
        "k": 2,
        "n": 3,
        "cosigned_by": [W1.name, W3.name],
        "policy": {"from_size": 0, "until_size": None},
    }


def test_a_forged_cosignature_does_not_count(notary, genuine):
    # FORGER signs as W2 with another key: its key ID is not W2's, so the line is no W2 cosignature.
    report = verify(cosigned(genuine, W1, FORGER), policy_trust(notary, 2))
    assert report.verdict == "below_witness_policy"
    assert report.witnesses.cosigned_by == (W1.name,)


def test_a_bad_cosignature_by_a_listed_witness_is_an_altered_checkpoint(notary, genuine):
    # W2's name and key ID over another checkpoint's bytes: not a missing witness but a forgery.
    entries = members(cosigned(genuine, W1))
    line = W2.cosign(b"another.test/log\n7\n" + b"A" * 43 + b"=\n", 1_700_000_000)
    entries["log/checkpoint.txt"] += line.encode()
    report = verify(rezip(entries, fix_manifest=True), policy_trust(notary, 1))
    assert report.verdict == "invalid"
    assert report.check("witness_cosignatures").code == "cosignature_invalid"


def test_a_witness_the_policy_does_not_list_does_not_count(notary, genuine):
    report = verify(cosigned(genuine, W1, STRANGER), policy_trust(notary, 2))
    assert report.verdict == "below_witness_policy"
    assert report.witnesses.cosigned_by == (W1.name,)


def test_a_checkpoint_sealed_before_the_policy_is_judged_without_witnesses(notary, genuine):
    report = verify(genuine, policy_trust(notary, 2, from_size=SIZE + 1))
    assert report.verdict == "valid"
    assert report.check("witness_cosignatures").passed
    assert report.witnesses.status == "not_required"


def test_without_policies_or_a_trust_file_the_witnesses_are_not_judged(notary, genuine):
    bare = verify(genuine, notary.trust())
    assert bare.verdict == "valid"
    assert bare.check("witness_cosignatures") is None
    assert bare.witnesses.status == "not_required"
    own = verify(cosigned(genuine, W1), INTEGRITY_ONLY)
    assert own.verdict == "valid_integrity_only"
    assert own.witnesses.status == "not_checked"


def test_a_callers_trust_file_enforces_its_policy_too(notary, genuine):
    report = verify(cosigned(genuine, W1), CallerSupplied(policy_trust(notary, 2)))
    assert report.verdict == "below_witness_policy"
    assert verify(cosigned(genuine, W1, W2), CallerSupplied(policy_trust(notary, 2))).verdict == (
        "valid_integrity_only"
    )


def test_require_witnesses_raises_k_for_the_run_and_never_lowers_it(notary, genuine):
    two = cosigned(genuine, W1, W2)
    raised = verify(two, policy_trust(notary, 2), require_witnesses=3)
    assert raised.verdict == "below_witness_policy"
    assert (raised.witnesses.k, raised.witnesses.cosigned_by) == (3, (W1.name, W2.name))
    assert verify(two, policy_trust(notary, 2), require_witnesses=2).verdict == "valid"
    # K below the trust file's k changes nothing: a verifier may demand more, never less.
    lowered = verify(cosigned(genuine, W1), policy_trust(notary, 2), require_witnesses=1)
    assert (lowered.verdict, lowered.witnesses.k) == ("below_witness_policy", 2)
    # Typed digits count as the number (the CLI and the forms pass what was typed).
    assert verify(two, policy_trust(notary, 1), require_witnesses="2").verdict == "valid"
    # A checkpoint older than every policy cannot meet a demand for witnesses.
    old = verify(genuine, policy_trust(notary, 1, from_size=SIZE + 1), require_witnesses=1)
    assert old.verdict == "below_witness_policy"
    assert "no witness policy of the trust file covers a checkpoint of size 3" in (
        old.check("witness_cosignatures").reason
    )


@pytest.mark.parametrize("value", [0, -1, True, 1.5, "", "0", "two", "+2", " 2", "2 ", "1e3", "1" * 19])
def test_a_requirement_that_is_not_a_positive_integer_is_refused(notary, genuine, value):
    with pytest.raises(BadWitnessRequirement) as raised:
        verify(genuine, policy_trust(notary, 1), require_witnesses=value)
    assert raised.value.code == "bad_witness_requirement"


def test_a_requirement_no_policy_could_meet_is_refused(notary, genuine):
    with pytest.raises(WitnessRequirementUnmeetable, match="list at most 3 witness"):
        verify(genuine, policy_trust(notary, 1), require_witnesses=4)
    with pytest.raises(WitnessRequirementUnmeetable):
        verify(genuine, policy_trust(notary, 1), require_witnesses="10000000")
    for trust in (notary.trust(), INTEGRITY_ONLY):
        with pytest.raises(WitnessRequirementUnmeetable, match="with witness_policies") as raised:
            verify(genuine, trust, require_witnesses=1)
        assert raised.value.code == "witness_requirement_unmeetable"


def test_a_newer_cosigned_checkpoint_consistent_with_the_bundle_meets_the_policy(notary, log, genuine):
    """What ``--online`` fetches: the log's latest checkpoint, cosigned since, with a consistency
    proof from the bundle's tree. A certificate's checkpoint can never gain cosignatures; this
    is how it meets the policy."""
    one = cosigned(genuine, W1)
    newer, proof = cosign_note(log.checkpoint(4), W1, W3), log.consistency(SIZE, 4)
    report = verify(one, policy_trust(notary, 2), newer_checkpoint=newer, consistency_proof=proof)
    assert report.verdict == "valid", [c.to_dict() for c in report.checks if not c.passed]
    check = report.check("witness_cosignatures")
    assert check.details["cosigned_checkpoint_size"] == 4
    assert "the newer checkpoint of size 4" in check.reason
    assert report.witnesses.cosigned_by == (W1.name, W3.name)
    # Too few on the newer one as well: still below.
    thin = cosign_note(log.checkpoint(4), W1, STRANGER)
    below = verify(one, policy_trust(notary, 2), newer_checkpoint=thin, consistency_proof=proof)
    assert (below.verdict, below.witnesses.cosigned_by) == ("below_witness_policy", (W1.name,))
    # A forged cosignature on the newer one is not counted.
    forged = cosign_note(log.checkpoint(4), W1, FORGER)
    assert verify(one, policy_trust(notary, 2), newer_checkpoint=forged, consistency_proof=proof).verdict == (
        "below_witness_policy"
    )
    # Cosignatures on a newer checkpoint the proof does not tie to the bundle's count for nothing.
    broken = {**proof, "hashes": proof["hashes"][::-1]}
    unproven = verify(one, policy_trust(notary, 2), newer_checkpoint=newer, consistency_proof=broken)
    assert unproven.verdict == "invalid"
    assert unproven.check("witness_cosignatures").details["cosigned_by"] == [W1.name]


def test_a_case_export_whose_bundles_lack_cosignatures_is_below_the_policy_not_invalid(notary, log):
    bundles = {log.filed[i].contract_id: log.bundle(i, SIZE) for i in range(SIZE)}
    trust = policy_trust(notary, 2)
    below = verify_export(io.BytesIO(make_export(notary, bundles)), trust=trust, now=VERIFIED_AT)
    assert below.verdict == "below_witness_policy"
    assert below.check("bundles").code == "witness_policy_not_met"
    cosigned_all = {contract: cosigned(data, W1, W2) for contract, data in bundles.items()}
    met = verify_export(io.BytesIO(make_export(notary, cosigned_all)), trust=trust, now=VERIFIED_AT)
    assert met.verdict == "valid", [c.to_dict() for c in met.checks if not c.passed]
    # One bundle altered besides: invalid, whatever the witnesses.
    altered = dict(bundles)
    first = next(iter(altered))
    entries = members(altered[first])
    entries["terms.json"] = entries["terms.json"].replace(b"1", b"2", 1)
    altered[first] = rezip(entries)
    assert (
        verify_export(io.BytesIO(make_export(notary, altered)), trust=trust, now=VERIFIED_AT).verdict
        == "invalid"
    )
