"""C2SP tlog-cosignature (cosignature/v1): the cosigner key parser on the published verifier-key
vectors, cosignatures made and checked here, and each corruption refused with its error.

The published vectors (transparency-dev/formats, via ../shared/vectors) hold one cosigner
key, type 0x04; every other key there (0x01 note keys and their manglings) must be refused
by the cosigner parser, and the 0x04 key by the note parser: the two parsers stay apart.
Go's own note package checks the same cosignatures in tests/e2e/test_interop_go.py.
"""

from __future__ import annotations

import base64
import struct

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from notary.signing.cosigner import Cosigner
from notary.signing.note_signer import NoteSigner
from notary.verify.cosignature import (
    MAX_TIMESTAMP,
    CosignatureInvalid,
    CosignerKey,
    MalformedCosignature,
    MalformedCosignerKey,
    UnsupportedCosignerKey,
    cosigned_message,
    parse_cosigner_key,
    verify_cosignatures,
)
from notary.verify.note import (
    Checkpoint,
    MalformedNote,
    UnsupportedVerifierKey,
    parse_verifier_key,
    verify_checkpoint,
)
from tests.vectors import load_cases

VERIFIER_KEYS = load_cases("note/verifier_keys.json")
SIGNED_NOTES = load_cases("note/signed_notes.json")
COSIGNER_VECTORS = [case for case in VERIFIER_KEYS if case["id"] == "formats-cosig-v1"]
OTHER_KEYS = [case for case in VERIFIER_KEYS if case["id"] != "formats-cosig-v1"]

ORIGIN = "notary.example/contracts/v1"
BODY = Checkpoint(ORIGIN, 7, bytes(range(32))).body


def seeded(seed: int) -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)


LOG = NoteSigner(ORIGIN, seeded(1))
W1 = Cosigner("witness.example/w1", seeded(2))
W2 = Cosigner("witness.example/w2", seeded(3))
SIGNED = LOG.sign(BODY)


@pytest.mark.parametrize("case", COSIGNER_VECTORS, ids=lambda case: case["id"])
def test_the_published_cosigner_key_is_a_cosigner_key_and_not_a_note_key(case):
    key = parse_cosigner_key(case["verifier_key"])
    assert key.name == "remora.n621.de"
    assert key.text == case["verifier_key"]
    with pytest.raises(UnsupportedVerifierKey):
        parse_verifier_key(case["verifier_key"])


@pytest.mark.parametrize("case", OTHER_KEYS, ids=lambda case: case["id"])
def test_no_other_published_key_is_a_cosigner_key(case):
    with pytest.raises(MalformedCosignerKey) as raised:
        parse_cosigner_key(case["verifier_key"])
    if case["valid"]:
        # A good note key (0x01): a log's key, refused by type, not as garbage.
        assert isinstance(raised.value, UnsupportedCosignerKey)


def test_a_cosigner_key_round_trips_and_its_id_is_derived_with_type_4():
    text = W1.cosigner_key
    name, key_id, key_b64 = text.split("+")
    raw = base64.b64decode(key_b64)
    assert raw[0] == 4
    assert len(raw) == 33
    assert parse_cosigner_key(text) == W1.key
    # The same Ed25519 key as a note key has another ID (0x01 in the hash), so neither
    # parser's keys can match the other's signature lines.
    note_key = NoteSigner(name, seeded(2)).verifier
    assert note_key.key_hash.hex() != key_id


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (
            "witness.example/w1+00000000+" + base64.b64encode(b"\x04" + bytes(32)).decode(),
            MalformedCosignerKey,
        ),
        (
            "witness.example/w1+ABCDEF01+" + base64.b64encode(b"\x04" + bytes(32)).decode(),
            MalformedCosignerKey,
        ),
        (
            "witness.example/w1+abcdef01+" + base64.b64encode(b"\x06" + bytes(32)).decode(),
            UnsupportedCosignerKey,
        ),
        ("witness.example/w1+abcdef01", MalformedCosignerKey),
        ("+abcdef01+BA==", MalformedCosignerKey),
        ("w+abcdef01+not base64", MalformedCosignerKey),
    ],
)
def test_malformed_cosigner_keys_are_refused(text, error):
    with pytest.raises(error):
        parse_cosigner_key(text)


def test_short_and_long_keys_are_refused():
    for raw in (b"\x04" + bytes(31), b"\x04" + bytes(33), b"\x04"):
        with pytest.raises(MalformedCosignerKey):
            CosignerKey.from_public_key("w", raw[1:])


def test_the_signed_message_is_the_header_the_time_and_the_note_text():
    assert cosigned_message(BODY, 1679315147) == b"cosignature/v1\ntime 1679315147\n" + BODY
    assert cosigned_message(BODY, 0).startswith(b"cosignature/v1\ntime 0\n")
    for bad in (-1, MAX_TIMESTAMP + 1, True):
        with pytest.raises(MalformedCosignature):
            cosigned_message(BODY, bad)


def test_cosignatures_verify_and_carry_their_time():
    line1 = W1.cosign(BODY, 1_700_000_000)
    line2 = W2.cosign(BODY, 1_700_000_005)
    raw = base64.b64decode(line1.split(" ")[-1])
    assert raw[:4] == W1.key.key_hash
    assert struct.unpack(">Q", raw[4:12])[0] == 1_700_000_000
    cosigned = SIGNED + line2 + line1
    found = verify_cosignatures(cosigned, [W1.key, W2.key])
    assert [(item.name, item.timestamp) for item in found] == [
        ("witness.example/w1", 1_700_000_000),
        ("witness.example/w2", 1_700_000_005),
    ]
    assert found[0].line == line1
    # The log's own signature still verifies on the cosigned note; cosignatures are unknown to it.
    assert verify_checkpoint(cosigned, [LOG.verifier], origin=ORIGIN).checkpoint.size == 7
    # Witnesses not asked about are ignored, and a repeated line counts once.
    assert [item.name for item in verify_cosignatures(cosigned + line1, [W2.key])] == ["witness.example/w2"]


def test_a_log_signature_by_the_same_key_is_not_a_cosignature():
    # The witness's Ed25519 key signing the plain note (type 0x01 ID): not cosignature/v1.
    plain = NoteSigner(W1.name, seeded(2)).signature_line(BODY)
    assert verify_cosignatures(SIGNED + plain, [W1.key]) == ()


@pytest.mark.parametrize(
    "case", [c for c in SIGNED_NOTES if c["valid"] and "note" in c], ids=lambda c: c["id"]
)
def test_published_notes_carry_no_cosignature_by_an_unrelated_witness(case):
    assert verify_cosignatures(case["note"], [W1.key]) == ()


def _replace_signature(line: str, raw: bytes) -> str:
    prefix, _, _ = line.rstrip("\n").rpartition(" ")
    return f"{prefix} {base64.b64encode(raw).decode()}\n"


def test_each_corruption_is_refused_with_its_error():
    line = W1.cosign(BODY, 1_700_000_000)
    raw = base64.b64decode(line.split(" ")[-1])
    flipped_signature = raw[:-1] + bytes([raw[-1] ^ 1])
    later = raw[:4] + struct.pack(">Q", 1_700_000_001) + raw[12:]
    cases = [
        (SIGNED + _replace_signature(line, flipped_signature), CosignatureInvalid),
        (SIGNED + _replace_signature(line, later), CosignatureInvalid),  # the time is signed
        (SIGNED + _replace_signature(line, raw[:-1]), MalformedCosignature),
        (SIGNED + _replace_signature(line, raw + b"\x00"), MalformedCosignature),
        (
            SIGNED + _replace_signature(line, raw[:4] + struct.pack(">Q", MAX_TIMESTAMP + 1) + raw[12:]),
            MalformedCosignature,
        ),
        (LOG.sign(Checkpoint(ORIGIN, 8, bytes(range(32))).body) + line, CosignatureInvalid),  # another tree
        (SIGNED.replace("\n\n", "\n") + line, MalformedNote),
    ]
    for note, error in cases:
        with pytest.raises(error):
            verify_cosignatures(note, [W1.key])


def test_extension_lines_are_cosigned_too():
    body = Checkpoint(ORIGIN, 7, bytes(range(32)), ("extension",)).body
    line = W1.cosign(body, 5)
    assert verify_cosignatures(LOG.sign(body) + line, [W1.key])
    altered = Checkpoint(ORIGIN, 7, bytes(range(32)), ("extensioN",)).body
    with pytest.raises(CosignatureInvalid):
        verify_cosignatures(LOG.sign(altered) + line, [W1.key])
