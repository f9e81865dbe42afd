"""Sample evidence with witnesses: three listed witnesses, one nobody listed, one forging a listed
witness's name, a bundle with their cosignature lines added, and a trust file with a k-of-3
policy (issue 21). The bundles are :mod:`tests.support.evidence`'s, on its fixed timeline."""

from __future__ import annotations

import dataclasses

from cryptography.hazmat.primitives.asymmetric import ed25519

from notary.signing.cosigner import Cosigner
from notary.verify.note import parse_note
from notary.verify.trust import TrustFile
from notary.verify.witness_policy import parse_witness_policies
from tests.support.evidence import SampleNotary, members, rezip

W1, W2, W3 = (Cosigner(f"witness.test/w{i}", ed25519.Ed25519PrivateKey.generate()) for i in (1, 2, 3))
#: A witness no policy lists.
STRANGER = Cosigner("witness.test/stranger", ed25519.Ed25519PrivateKey.generate())
#: Cosigns under W2's name with a key of its own.
FORGER = Cosigner(W2.name, ed25519.Ed25519PrivateKey.generate())
#: When the witnesses cosigned (POSIX seconds; cosignatures carry it, the verifier does not judge it).
COSIGNED_AT = 1_700_000_000


def cosign_note(note: str, *witnesses: Cosigner) -> str:
    """The signed checkpoint ``note`` with the witnesses' cosignature lines added."""
    body = parse_note(note).text.encode()
    return note + "".join(w.cosign(body, COSIGNED_AT) for w in witnesses)


def cosigned(bundle: bytes, *witnesses: Cosigner) -> bytes:
    """``bundle`` with the witnesses' cosignature lines on its checkpoint, as the notary serves
    it once they answered."""
    entries = members(bundle)
    entries["log/checkpoint.txt"] = cosign_note(entries["log/checkpoint.txt"].decode(), *witnesses).encode()
    return rezip(entries, fix_manifest=True)


def policy_trust(notary: SampleNotary, k: int, *, from_size: int = 0) -> TrustFile:
    """The notary's trust file with the policy k of (W1, W2, W3) from ``from_size`` on."""
    listed = [{"name": w.name, "cosigner_key": w.cosigner_key} for w in (W1, W2, W3)]
    policies = parse_witness_policies([{"from_size": from_size, "k": k, "witnesses": listed}])
    return dataclasses.replace(notary.trust(), witness_policies=policies)
