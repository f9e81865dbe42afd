"""Private keys in a backup: one member, encrypted under a passphrase (``keys.enc``).

The format is small and written down in ``docs/operations.md``: the line ``notary-keys/1``,
one line of canonical JSON naming the key derivation and the cipher with their parameters
(scrypt, RFC 7914, n=2^15 r=8 p=1 over a 16-byte random salt; AES-256-GCM with a 12-byte
random nonce), then the ciphertext of a JSON object ``{file name: base64 of its bytes}``. The
two header lines are the cipher's associated data, so a changed parameter fails to decrypt
like a changed byte of ciphertext. scrypt rather than PBKDF2: its memory cost (32 MiB here)
is what makes guessing a passphrase on a GPU expensive.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from notary.errors import Forbidden, MalformedInput
from notary.verify.canonical import canonical_json

MAGIC = b"notary-keys/1\n"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
#: The largest cost accepted when opening (a forged header must not make restore use gigabytes).
MAX_SCRYPT_N = 2**20


class WrongPassphrase(Forbidden):
    """The passphrase does not open the backup's keys (or the keys member was changed)."""

    code = "backup_passphrase_wrong"


class SealedKeysMalformed(MalformedInput):
    """``keys.enc`` is not in the ``notary-keys/1`` format."""

    code = "backup_keys_malformed"


def _key(passphrase: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase)


def seal_keys(files: Mapping[str, bytes], passphrase: bytes) -> bytes:
    """``files`` (name → bytes) encrypted under ``passphrase``. Raises ``ValueError`` for an
    empty passphrase."""
    if not passphrase:
        raise ValueError("an empty passphrase protects nothing")
    salt, nonce = os.urandom(16), os.urandom(12)
    header = canonical_json(
        {
            "cipher": "AES-256-GCM",
            "kdf": "scrypt",
            "n": SCRYPT_N,
            "nonce": base64.b64encode(nonce).decode(),
            "p": SCRYPT_P,
            "r": SCRYPT_R,
            "salt": base64.b64encode(salt).decode(),
        }
    )
    plaintext = canonical_json(
        {name: base64.b64encode(data).decode() for name, data in sorted(files.items())}
    )
    associated = MAGIC + header + b"\n"
    ciphertext = AESGCM(_key(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)).encrypt(
        nonce, plaintext, associated
    )
    return associated + ciphertext


def open_keys(sealed: bytes, passphrase: bytes) -> dict[str, bytes]:
    """The files sealed by :func:`seal_keys`. Raises :class:`SealedKeysMalformed` or
    :class:`WrongPassphrase`."""
    if not sealed.startswith(MAGIC):
        raise SealedKeysMalformed("keys.enc does not start with notary-keys/1")
    header_line, newline, ciphertext = sealed[len(MAGIC) :].partition(b"\n")
    try:
        header = json.loads(header_line)
        n, r, p = int(header["n"]), int(header["r"]), int(header["p"])
        salt = base64.b64decode(header["salt"], validate=True)
        nonce = base64.b64decode(header["nonce"], validate=True)
        if (header["kdf"], header["cipher"]) != ("scrypt", "AES-256-GCM"):
            raise ValueError("unknown kdf or cipher")
    except (ValueError, KeyError, TypeError) as exc:
        raise SealedKeysMalformed(f"keys.enc header: {exc}") from exc
    if not newline or not (2 <= n <= MAX_SCRYPT_N) or n & (n - 1) or not (1 <= r <= 32 and 1 <= p <= 16):
        raise SealedKeysMalformed("keys.enc header: parameters out of range")
    if len(nonce) != 12 or len(salt) < 16:
        raise SealedKeysMalformed("keys.enc header: salt or nonce of the wrong size")
    try:
        plaintext = AESGCM(_key(passphrase, salt, n, r, p)).decrypt(
            nonce, ciphertext, MAGIC + header_line + b"\n"
        )
    except InvalidTag as exc:
        raise WrongPassphrase("the passphrase does not open this backup's keys") from exc
    try:
        files = json.loads(plaintext)
        return {str(name): base64.b64decode(data, validate=True) for name, data in files.items()}
    except (ValueError, AttributeError, TypeError) as exc:
        raise SealedKeysMalformed(f"keys.enc content: {exc}") from exc
