"""Strict Ed25519 (issue 15.3): small-order and non-canonical public keys and signatures are
refused wherever a key or signature comes in, so no "universal" signature verifies.

The vectors are ed25519-speccheck's (``vectors/ed25519``): OpenSSL, and so ``cryptography``,
accepts cases 0–3 and 11; a strict verifier (libsodium, Dalek strict) accepts case 3 only. The
eight small-order points are computed here with plain Edwards arithmetic, independently of the
code under test.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from notary.verify.errors import InvalidSignature, MalformedInput
from notary.verify.keys import PublicKey
from tests.vectors import load_vector

# --- Edwards25519, just enough to find the torsion points (RFC 8032 section 5.1) -------------
P = 2**255 - 19
D = (-121665 * pow(121666, P - 2, P)) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)
ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")


def _decode(encoding: bytes) -> tuple[int, int] | None:
    y = int.from_bytes(encoding, "little") & ((1 << 255) - 1)
    sign = encoding[31] >> 7
    if y >= P:
        return None
    u, v = (y * y - 1) % P, (D * y * y + 1) % P
    x = (u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P)) % P
    if (v * x * x - u) % P:
        x = x * SQRT_M1 % P
    if (v * x * x - u) % P:
        return None
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = P - x
    return x, y


def _add(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    (x1, y1), (x2, y2) = a, b
    t = D * x1 * x2 * y1 * y2 % P
    x3 = (x1 * y2 + x2 * y1) * pow(1 + t, P - 2, P) % P
    y3 = (y1 * y2 + x1 * x2) * pow(1 - t, P - 2, P) % P
    return x3, y3


def _encode(point: tuple[int, int]) -> bytes:
    x, y = point
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def small_order_encodings() -> list[bytes]:
    """The canonical encodings of the 8 points of order dividing 8: every point T with 8T = 0."""
    # A point of order 8: decode candidates y until one has [4]T = (0, -1) (order 2).
    identity, found = (0, 1), set()
    for y in range(2, 200):
        point = _decode(y.to_bytes(32, "little"))
        if point is None:
            continue
        # Clear the prime-order part: multiply by L, leaving the torsion component.
        order_l = 2**252 + 27742317777372353535851937790883648493
        torsion, addend, k = identity, point, order_l
        while k:
            if k & 1:
                torsion = _add(torsion, addend)
            addend, k = _add(addend, addend), k >> 1
        multiple = identity
        for _ in range(8):
            found.add(_encode(multiple))
            multiple = _add(multiple, torsion)
        if len(found) == 8:
            break
    return sorted(found)


def ed25519_spki(raw: bytes) -> bytes:
    return ED25519_SPKI_PREFIX + raw


def test_the_eight_small_order_points_are_found_and_are_what_the_issue_used():
    encodings = small_order_encodings()
    assert len(encodings) == 8
    assert bytes.fromhex("01" + "00" * 31) in encodings  # the identity: the issue's key


@pytest.mark.parametrize("encoding", small_order_encodings(), ids=lambda e: e.hex()[:8] + "…" + e.hex()[-2:])
def test_small_order_public_keys_are_refused(encoding):
    with pytest.raises(MalformedInput) as refused:
        PublicKey.from_der(ed25519_spki(encoding))
    assert refused.value.code == "weak_key"


def test_a_non_canonical_public_key_is_refused():
    # y = p + 1 encodes the identity a second time (speccheck's case 10/11 key).
    encoding = (P + 1).to_bytes(32, "little")
    with pytest.raises(MalformedInput) as refused:
        PublicKey.from_der(ed25519_spki(encoding))
    assert refused.value.code == "weak_key"


def test_the_universal_signature_of_the_issue_is_refused():
    # Public key 01 00…00 (the identity) and signature 01 00…00 ‖ 00…00 "verify" any message
    # under OpenSSL's cofactorless check: [0]B = R + [k]A = identity.
    universal = bytes.fromhex("01" + "00" * 31) + bytes(32)
    with pytest.raises(MalformedInput):
        PublicKey.from_der(ed25519_spki(bytes.fromhex("01" + "00" * 31)))
    # A key that loads anyway (as stored before the fix) refuses the signature itself: its R
    # is the same small-order point.
    stand_in = PublicKey.from_der(ed25519_spki(_ordinary_key()))
    with pytest.raises(InvalidSignature):
        stand_in.verify(universal, b"any message at all")


def _ordinary_key() -> bytes:
    private = ed25519.Ed25519PrivateKey.generate()
    return private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def test_an_ordinary_key_and_signature_still_verify():
    private = ed25519.Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    key = PublicKey.from_der(ed25519_spki(raw))
    signature = private.sign(b"m")
    assert key.verify(signature, b"m") == signature


def test_a_signature_with_s_at_or_above_the_group_order_is_refused():
    private = ed25519.Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    key = PublicKey.from_der(ed25519_spki(raw))
    signature = private.sign(b"m")
    order_l = 2**252 + 27742317777372353535851937790883648493
    s = int.from_bytes(signature[32:], "little")
    malleated = signature[:32] + (s + order_l).to_bytes(32, "little")
    with pytest.raises(InvalidSignature) as refused:
        key.verify(malleated, b"m")
    assert refused.value.code == "non_canonical_signature"


def test_ed25519_speccheck_a_strict_verifier_accepts_case_3_only():
    cases = load_vector("ed25519/speccheck_strict.json")["cases"]
    accepted = []
    for case in cases:
        try:
            key = PublicKey.from_der(ed25519_spki(bytes.fromhex(case["pub_key"])))
            key.verify(bytes.fromhex(case["signature"]), bytes.fromhex(case["message"]))
        except (MalformedInput, InvalidSignature):
            continue
        accepted.append(case["index"])
    assert accepted == [case["index"] for case in cases if case["strict_accepts"]] == [3]
