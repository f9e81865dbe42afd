"""The ``witness_cosignatures`` check on real bundles: met, below the policy, not required,
and a forged cosignature."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from notary.signing.cosigner import Cosigner
from notary.verify.cosignature import CosignatureInvalid
from notary.verify.evidence.bundle import EvidenceBundle
from notary.verify.evidence.witness_checks import check_witness_cosignatures
from notary.verify.note import parse_checkpoint, parse_note
from notary.verify.witness_policy import MET, NOT_REQUIRED, WitnessPolicyNotMet, parse_witness_policies
from tests.support.evidence import SampleLog, SampleNotary, members, rezip

W1, W2 = (Cosigner(f"witness.test/w{i}", ed25519.Ed25519PrivateKey.generate()) for i in (1, 2))


@pytest.fixture(scope="module")
def sample_bundle(tmp_path_factory) -> bytes:
    notary = SampleNotary.create(tmp_path_factory.mktemp("notary") / "keys")
    return SampleLog(notary, 4).bundle(1, 3)


def policy(k: int, from_size: int = 0):
    witnesses = [{"name": w.name, "cosigner_key": w.cosigner_key} for w in (W1, W2)]
    return parse_witness_policies([{"from_size": from_size, "k": k, "witnesses": witnesses}])


def cosigned(bundle: bytes, *witnesses: Cosigner) -> tuple[EvidenceBundle, int]:
    entries = members(bundle)
    note = entries["log/checkpoint.txt"].decode()
    body = parse_note(note).text.encode()
    entries["log/checkpoint.txt"] = (
        note + "".join(w.cosign(body, 1_700_000_000) for w in witnesses)
    ).encode()
    size = parse_checkpoint(body).size
    return EvidenceBundle.from_zip(rezip(entries, fix_manifest=True)), size


def test_met_below_and_not_required(sample_bundle):
    bundle, size = cosigned(sample_bundle, W2, W1)
    passed = check_witness_cosignatures(bundle, size, policy(2))
    assert passed.value.status == MET
    assert passed.details["cosigned_by"] == [W1.name, W2.name]

    one, size = cosigned(sample_bundle, W1)
    with pytest.raises(WitnessPolicyNotMet) as raised:
        check_witness_cosignatures(one, size, policy(2))
    assert raised.value.details == {
        "status": "below_policy",
        "k": 2,
        "n": 2,
        "cosigned_by": [W1.name],
        "policy": {"from_size": 0, "until_size": None},
    }
    assert "1 of the 2" in raised.value.message
    # --require-witnesses raises k.
    with pytest.raises(WitnessPolicyNotMet):
        check_witness_cosignatures(one, size, policy(1), require=2)

    none, size = cosigned(sample_bundle)
    assert check_witness_cosignatures(none, size, policy(1, from_size=size + 1)).value.status == NOT_REQUIRED


def test_a_forged_cosignature_fails_the_check(sample_bundle):
    _, size = cosigned(sample_bundle, W1)
    forger = Cosigner(W2.name, ed25519.Ed25519PrivateKey.generate())
    # Same name, another key: its key ID differs, so it is not W2's and does not count...
    forged, _ = cosigned(sample_bundle, W1, forger)
    with pytest.raises(WitnessPolicyNotMet):
        check_witness_cosignatures(forged, size, policy(2))
    # ...and a line with W2's key ID over other bytes is an altered checkpoint.
    entries = members(sample_bundle)
    note = entries["log/checkpoint.txt"].decode()
    line = W2.cosign(b"another\n7\n" + b"A" * 43 + b"=\n", 1)
    entries["log/checkpoint.txt"] = (note + line).encode()
    with pytest.raises(CosignatureInvalid):
        check_witness_cosignatures(
            EvidenceBundle.from_zip(rezip(entries, fix_manifest=True)), size, policy(1)
        )
