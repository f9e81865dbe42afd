"""C2SP tlog-cosignature (``cosignature/v1``, Ed25519): witnesses' statements about checkpoints.

A cosignature is a signed-note signature line on a checkpoint, made by a witness's key over

    cosignature/v1
    time <POSIX seconds>
    <the checkpoint's note text, extension lines included>

and carrying that time: ``base64(key ID ‖ u64 big-endian timestamp ‖ Ed25519 signature)``.
It states that, at that time, this was the largest consistent tree the witness had seen of
the log named by the origin line.

Cosigner keys are verifier keys of signature type **0x04**, with the key ID derived as
``SHA-256(name ‖ "\\n" ‖ 0x04 ‖ key)[:4]``. They are not note keys: :func:`parse_cosigner_key`
accepts only type 0x04 and :func:`notary.verify.note.parse_verifier_key` only type 0x01, so
a log key can never stand in for a witness or the other way round (round2-notes).

Policies where the specification leaves room:

* A signature line whose name and key ID match a given cosigner key must verify: a bad
  cosignature by a known witness is an error (:class:`CosignatureInvalid`), never skipped,
  since a bundle that carries one was altered.
* Timestamps above 2**63 - 1 are refused (the specification's bound); timestamps in the
  future are the caller's judgement (:attr:`VerifiedCosignature.timestamp`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from notary.verify.encoding import b64decode, b64encode
from notary.verify.errors import InvalidSignature, MalformedInput, UnsupportedAlgorithm
from notary.verify.note import SIGNATURE_PREFIX, NoteSignature, is_valid_key_name, parse_note

__all__ = [
    "COSIGNATURE_TYPE",
    "MAX_TIMESTAMP",
    "CosignatureInvalid",
    "CosignerKey",
    "MalformedCosignature",
    "MalformedCosignerKey",
    "UnsupportedCosignerKey",
    "VerifiedCosignature",
    "cosignature_line",
    "cosigned_message",
    "parse_cosigner_key",
    "split_cosignature",
    "verify_cosignatures",
]

COSIGNATURE_TYPE = b"\x04"
MAX_TIMESTAMP = 2**63 - 1
_HEADER = b"cosignature/v1\n"
_SIGNATURE_SIZE = 8 + 64  # timestamp and Ed25519 signature, after the 4-byte key ID


class MalformedCosignerKey(MalformedInput):
    """Not a cosigner key ``name+keyhash+base64(0x04‖key)``, or its key ID is not derived from it."""

    code = "malformed_cosigner_key"


class UnsupportedCosignerKey(MalformedCosignerKey, UnsupportedAlgorithm):
    """A well-formed verifier key of another type than the Ed25519 cosignature (0x04): a note
    key (0x01) is a log's key, not a witness's, and ML-DSA (0x06) is not supported."""

    code = "unsupported_cosigner_key"


class MalformedCosignature(MalformedInput):
    """A signature line by a known cosigner that is not ``key ID ‖ u64 timestamp ‖ 64 bytes``."""

    code = "malformed_cosignature"


class CosignatureInvalid(InvalidSignature):
    """A cosignature whose name and key ID match a known witness does not verify."""

    code = "cosignature_invalid"


def _key_hash(name: str, raw: bytes) -> bytes:
    return hashlib.sha256(name.encode("utf-8") + b"\n" + COSIGNATURE_TYPE + raw).digest()[:4]


def cosigned_message(body: bytes, timestamp: int) -> bytes:
    """What an Ed25519 cosigner signs: the header, the time line, then the checkpoint's note text.

    Raises :class:`MalformedCosignature` for a timestamp outside 0..2**63-1.
    """
    if isinstance(timestamp, bool) or not 0 <= timestamp <= MAX_TIMESTAMP:
        raise MalformedCosignature(f"a cosignature timestamp is 0 to {MAX_TIMESTAMP}")
    return _HEADER + b"time " + str(timestamp).encode("ascii") + b"\n" + body


@dataclass(frozen=True)
class CosignerKey:
    """A witness's Ed25519 cosigner key. Build it with :func:`parse_cosigner_key` or
    :meth:`from_public_key`."""

    name: str
    key_hash: bytes
    public_key: bytes
    _key: ed25519.Ed25519PublicKey = field(repr=False, compare=False)

    @classmethod
    def from_public_key(cls, name: str, public_key: ed25519.Ed25519PublicKey | bytes) -> CosignerKey:
        """The cosigner key named ``name`` for an Ed25519 public key (object or 32 raw bytes).

        Raises :class:`MalformedCosignerKey` for an invalid name or key.
        """
        if not is_valid_key_name(name):
            raise MalformedCosignerKey(f"invalid cosigner name {name!r}")
        raw = (
            public_key.public_bytes_raw() if isinstance(public_key, ed25519.Ed25519PublicKey) else public_key
        )
        if len(raw) != 32:
            raise MalformedCosignerKey("an Ed25519 cosigner key is 32 bytes")
        try:
            key = ed25519.Ed25519PublicKey.from_public_bytes(bytes(raw))
        except ValueError as exc:
            raise MalformedCosignerKey("not an Ed25519 public key") from exc
        return cls(name, _key_hash(name, bytes(raw)), bytes(raw), key)

    @property
    def text(self) -> str:
        """The key as a verifier key: ``name+keyhash(8 hex)+base64(0x04‖public key)``."""
        return f"{self.name}+{self.key_hash.hex()}+{b64encode(COSIGNATURE_TYPE + self.public_key)}"

    def verify(self, body: bytes, timestamp: int, signature: bytes) -> None:
        """Check a cosignature over the checkpoint note text ``body`` made at ``timestamp``.

        Raises :class:`CosignatureInvalid`.
        """
        try:
            self._key.verify(signature, cosigned_message(body, timestamp))
        except _CryptoInvalidSignature as exc:
            raise CosignatureInvalid(
                f"the cosignature by {self.name} does not verify", details={"witness": self.name}
            ) from exc


def parse_cosigner_key(text: str) -> CosignerKey:
    """Parse ``name+keyhash+base64(0x04‖key)`` (a vkey of signature type 0x04).

    Raises :class:`MalformedCosignerKey` (bad form, key ID not derived from the name and key)
    or :class:`UnsupportedCosignerKey` (any other signature type, a note key included).
    """
    if not isinstance(text, str):
        raise MalformedCosignerKey("a cosigner key is text")
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise MalformedCosignerKey("a cosigner key is name+keyhash+key")
    name, hash_hex, key_b64 = parts
    if not is_valid_key_name(name) or len(hash_hex) != 8 or hash_hex != hash_hex.lower():
        raise MalformedCosignerKey("cosigner key has an invalid name or key hash")
    try:
        expected = bytes.fromhex(hash_hex)
        typed_key = b64decode(key_b64, what="cosigner key")
    except (ValueError, MalformedInput) as exc:
        raise MalformedCosignerKey("cosigner key has an invalid key hash or base64 key") from exc
    if not typed_key:
        raise MalformedCosignerKey("cosigner key holds no key")
    if typed_key[:1] != COSIGNATURE_TYPE:
        raise UnsupportedCosignerKey(
            f"key type 0x{typed_key[0]:02x} is not an Ed25519 cosigner key (0x04)",
            details={"type": typed_key[0]},
        )
    key = CosignerKey.from_public_key(name, typed_key[1:])
    if key.key_hash != expected:
        raise MalformedCosignerKey("cosigner key hash is not derived from its name and key")
    return key


@dataclass(frozen=True)
class VerifiedCosignature:
    """A cosignature that verified: by whom, at what time (POSIX seconds), and its line."""

    key: CosignerKey
    timestamp: int
    line: str

    @property
    def name(self) -> str:
        """The witness's name."""
        return self.key.name

    @property
    def time(self) -> dt.datetime:
        """The timestamp as a UTC datetime."""
        return dt.datetime.fromtimestamp(self.timestamp, dt.UTC)


def split_cosignature(signature: bytes) -> tuple[int, bytes]:
    """The timestamp and Ed25519 signature of a cosignature's bytes after the key ID.

    Raises :class:`MalformedCosignature`.
    """
    if len(signature) != _SIGNATURE_SIZE:
        raise MalformedCosignature(
            f"an Ed25519 cosignature is {_SIGNATURE_SIZE} bytes after the key ID, not {len(signature)}"
        )
    (timestamp,) = struct.unpack(">Q", signature[:8])
    if timestamp > MAX_TIMESTAMP:
        raise MalformedCosignature(f"a cosignature timestamp is at most {MAX_TIMESTAMP}")
    return timestamp, signature[8:]


def cosignature_line(key: CosignerKey, timestamp: int, signature: bytes) -> str:
    """The note signature line (with its newline) of a cosignature."""
    if len(signature) != 64:
        raise MalformedCosignature("an Ed25519 signature is 64 bytes")
    cosigned_message(b"", timestamp)  # checks the range
    raw = key.key_hash + struct.pack(">Q", timestamp) + signature
    return f"{SIGNATURE_PREFIX}{key.name} {b64encode(raw)}\n"


def _line(signature: NoteSignature) -> str:
    return f"{SIGNATURE_PREFIX}{signature.name} {b64encode(signature.key_hash + signature.signature)}\n"


def verify_cosignatures(note: bytes | str, keys: Iterable[CosignerKey]) -> tuple[VerifiedCosignature, ...]:
    """The cosignatures on a signed checkpoint by the given witnesses, each checked.

    Other signature lines (the log's own, unknown witnesses') are ignored, as C2SP requires;
    a repeated line counts once; the answer is in the order of ``keys``, at most one per
    witness (its earliest good line). Does not verify the log's signature: the caller does
    that first (:func:`~notary.verify.note.verify_checkpoint`). Raises what
    :func:`~notary.verify.note.parse_note` raises, :class:`MalformedCosignature` and
    :class:`CosignatureInvalid` (a line matching a witness's name and key ID is bad).
    """
    known: dict[tuple[str, bytes], CosignerKey] = {}
    for key in keys:
        known.setdefault((key.name, key.key_hash), key)
    parsed = parse_note(note)
    body = parsed.text.encode("utf-8")
    found: dict[tuple[str, bytes], VerifiedCosignature] = {}
    for signature in dict.fromkeys(parsed.signatures):
        witness = known.get((signature.name, signature.key_hash))
        if witness is None:
            continue
        timestamp, raw = split_cosignature(signature.signature)
        witness.verify(body, timestamp, raw)
        found.setdefault(
            (witness.name, witness.key_hash), VerifiedCosignature(witness, timestamp, _line(signature))
        )
    return tuple(
        found[(key.name, key.key_hash)] for key in known.values() if (key.name, key.key_hash) in found
    )
