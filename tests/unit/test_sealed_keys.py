"""The private keys in a backup (``keys.enc``, notary-keys/1): scrypt on RFC 7914's vector,
a round trip, and each deliberate corruption refused with its error."""

from __future__ import annotations

import json

import pytest

from notary.services.operations.sealed_keys import (
    MAGIC,
    SealedKeysMalformed,
    WrongPassphrase,
    _key,
    open_keys,
    seal_keys,
)

FILES = {"log-ed25519.key": b"-----BEGIN PRIVATE KEY-----\nfake\n", "pii.key": b"00" * 32 + b"\n"}
PASSPHRASE = b"correct horse battery staple"


def test_scrypt_matches_rfc_7914():
    # RFC 7914 section 12, second vector (P="password", S="NaCl", N=1024, r=8, p=16): the first
    # 32 bytes of its 64-byte output, since scrypt's final PBKDF2 step yields blocks in order.
    expected = bytes.fromhex("fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162")
    assert _key(b"password", b"NaCl", 1024, 8, 16) == expected


def test_round_trip_and_fresh_salt():
    sealed = seal_keys(FILES, PASSPHRASE)
    assert sealed.startswith(MAGIC)
    assert open_keys(sealed, PASSPHRASE) == FILES
    assert seal_keys(FILES, PASSPHRASE) != sealed  # a new salt and nonce every time
    for data in FILES.values():
        assert data not in sealed


def _header(sealed: bytes) -> tuple[dict, bytes]:
    header, _, ciphertext = sealed[len(MAGIC) :].partition(b"\n")
    return json.loads(header), ciphertext


def _with_header(header: dict, ciphertext: bytes) -> bytes:
    return MAGIC + json.dumps(header, sort_keys=True, separators=(",", ":")).encode() + b"\n" + ciphertext


def test_corruptions_are_refused():
    sealed = seal_keys(FILES, PASSPHRASE)
    header, ciphertext = _header(sealed)
    with pytest.raises(WrongPassphrase):
        open_keys(sealed, b"correct horse battery stapler")
    with pytest.raises(WrongPassphrase):  # one bit of the ciphertext
        open_keys(sealed[:-1] + bytes([sealed[-1] ^ 1]), PASSPHRASE)
    with pytest.raises(WrongPassphrase):  # truncated: the tag no longer matches
        open_keys(sealed[:-5], PASSPHRASE)
    with pytest.raises(WrongPassphrase):  # a weaker parameter is associated data: refused
        open_keys(_with_header({**header, "n": 2**14}, ciphertext), PASSPHRASE)
    with pytest.raises(SealedKeysMalformed):
        open_keys(b"notary-keys/2\n" + sealed[len(MAGIC) :], PASSPHRASE)
    with pytest.raises(SealedKeysMalformed):  # a cost that would take gigabytes
        open_keys(_with_header({**header, "n": 2**24}, ciphertext), PASSPHRASE)
    with pytest.raises(SealedKeysMalformed):
        open_keys(_with_header({**header, "kdf": "pbkdf2"}, ciphertext), PASSPHRASE)
    with pytest.raises(SealedKeysMalformed):
        open_keys(MAGIC + b"{not json\n" + ciphertext, PASSPHRASE)
    with pytest.raises(ValueError, match="empty"):
        seal_keys(FILES, b"")
