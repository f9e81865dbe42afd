"""Witness policies (trust file v2 ``witness_policies``): parsing, the size ranges, k of n."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from notary.signing.cosigner import Cosigner
from notary.signing.note_signer import NoteSigner
from notary.verify.cosignature import CosignatureInvalid
from notary.verify.note import Checkpoint
from notary.verify.witness_policy import (
    BELOW_POLICY,
    MET,
    NOT_REQUIRED,
    MalformedWitnessPolicy,
    judge_cosignatures,
    parse_witness_policies,
    policy_for,
)

ORIGIN = "notary.example/contracts/v1"


def seeded(seed: int) -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)


LOG = NoteSigner(ORIGIN, seeded(1))
W1, W2, W3 = (Cosigner(f"witness.example/w{i}", seeded(10 + i)) for i in (1, 2, 3))


def entry(*witnesses: Cosigner, k: int, from_size: int = 0, until_size: int | None = None) -> dict:
    value: dict = {
        "from_size": from_size,
        "k": k,
        "witnesses": [{"name": w.name, "cosigner_key": w.cosigner_key} for w in witnesses],
    }
    if until_size is not None:
        value["until_size"] = until_size
    return value


def cosigned(size: int, *witnesses: Cosigner) -> str:
    body = Checkpoint(ORIGIN, size, bytes([size]) * 32).body
    return LOG.sign(body) + "".join(w.cosign(body, 1_700_000_000 + i) for i, w in enumerate(witnesses))


def test_policies_parse_and_round_trip():
    value = [entry(W1, W2, k=1, from_size=0, until_size=9), entry(W1, W2, W3, k=2, from_size=10)]
    policies = parse_witness_policies(value)
    assert [policy.to_dict() for policy in policies] == value
    assert policy_for(policies, 9) is policies[0]
    assert policy_for(policies, 10) is policies[1]
    assert parse_witness_policies([]) == ()


@pytest.mark.parametrize(
    "value",
    [
        {"not": "a list"},
        [entry(W1, k=0)],
        [entry(W1, k=2)],
        [entry(W1, W1, k=1)],
        [{**entry(W1, k=1), "extra": 1}],
        [{"k": 1, "witnesses": entry(W1, k=1)["witnesses"]}],
        [{**entry(W1, k=1), "witnesses": []}],
        [{**entry(W1, k=1), "from_size": -1}],
        [entry(W1, k=1, from_size=5, until_size=4)],
        [entry(W1, k=1, from_size=0, until_size=10), entry(W2, k=1, from_size=10)],
        [entry(W1, k=1, from_size=0), entry(W2, k=1, from_size=20)],
        # A witness listed with someone else's key, and a note key (0x01) as a cosigner key.
        [{**entry(W1, k=1), "witnesses": [{"name": W1.name, "cosigner_key": W2.cosigner_key}]}],
        [{**entry(W1, k=1), "witnesses": [{"name": ORIGIN, "cosigner_key": LOG.verifier_key}]}],
    ],
)
def test_malformed_policies_are_refused(value):
    with pytest.raises(MalformedWitnessPolicy):
        parse_witness_policies(value)


def test_k_of_n_is_counted_over_distinct_listed_witnesses():
    policies = parse_witness_policies([entry(W1, W2, W3, k=2, from_size=5)])
    met = judge_cosignatures(cosigned(6, W3, W1), 6, policies)
    assert (met.status, met.k, met.n, met.cosigned_by) == (MET, 2, 3, (W1.name, W3.name))
    below = judge_cosignatures(cosigned(6, W1, W1), 6, policies)
    assert (below.status, below.cosigned_by) == (BELOW_POLICY, (W1.name,))
    # A witness the policy does not list does not count.
    stranger = Cosigner("witness.example/stranger", seeded(99))
    assert judge_cosignatures(cosigned(6, W1, stranger), 6, policies).status == BELOW_POLICY
    # --require-witnesses raises k, never lowers it.
    assert judge_cosignatures(cosigned(6, W1, W2), 6, policies, require=3).status == BELOW_POLICY
    assert judge_cosignatures(cosigned(6, W1, W2), 6, policies, require=1).k == 2


def test_sizes_before_the_policy_are_judged_without_witnesses():
    policies = parse_witness_policies([entry(W1, k=1, from_size=5)])
    assert judge_cosignatures(cosigned(4), 4, policies).status == NOT_REQUIRED
    assert judge_cosignatures(cosigned(5), 5, policies).status == BELOW_POLICY
    # Asking for witnesses where no policy names any cannot be met.
    assert judge_cosignatures(cosigned(4), 4, policies, require=1).status == BELOW_POLICY


def test_a_forged_cosignature_by_a_listed_witness_is_an_error_not_a_missing_one():
    good = cosigned(6, W1)
    forged = good[:-10] + ("A" if good[-10] != "A" else "B") + good[-9:]
    policies = parse_witness_policies([entry(W1, k=1)])
    with pytest.raises(CosignatureInvalid):
        judge_cosignatures(forged, 6, policies)
