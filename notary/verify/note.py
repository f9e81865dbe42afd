"""C2SP signed notes (c2sp.org/signed-note) with Ed25519, and tlog checkpoints (c2sp.org/tlog-checkpoint).

A note is text followed by a blank line and signature lines ``— <name> base64(keyhash‖sig)``.
Only Ed25519 (signature type 0x01) keys are accepted; other types are refused as
unsupported rather than ignored, so a misconfigured trust root fails loudly.

Choices where the specifications leave room (the vectors call them "policy"):

* A signature line whose name and key ID match a trusted key must verify, every time it
  appears: one bad signature by a trusted key rejects the note (C2SP SHOULD), even when
  it repeats a good one (Go's note package skips repeats instead).
* At most 100 signature lines (as Go; C2SP requires accepting at least 16).
* Verifier keys must carry the SHA-256-derived key ID (as Go; C2SP only recommends it),
  lowercase hex, canonical base64.
* Checkpoints are strict tlog-checkpoint: a 32-byte root, a size without leading zeros and
  at most 2**64 - 1 (RFC 9162's uint64), non-empty extension lines.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from notary.verify.encoding import b64decode, b64encode
from notary.verify.errors import InvalidSignature, MalformedInput, UnsupportedAlgorithm, VerificationError
from notary.verify.keys import NonCanonicalSignature, WeakKey, check_ed25519_point, check_ed25519_signature

ED25519_TYPE = b"\x01"
MAX_SIGNATURES = 100
MAX_TREE_SIZE = 2**64 - 1
SIGNATURE_PREFIX = "\u2014 "  # em dash, space
_SIZE_LINE = re.compile(r"0|[1-9][0-9]*")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")  # ASCII controls other than newline
_KEY_HASH = re.compile(r"[0-9a-f]{8}")


class MalformedNote(MalformedInput):
    """Not a signed note: bad UTF-8, control characters, no blank line, a bad signature line..."""

    code = "malformed_note"


class TooManySignatures(MalformedNote):
    """More signature lines than :data:`MAX_SIGNATURES`."""

    code = "note_too_many_signatures"


class MalformedVerifierKey(MalformedInput):
    """Not a verifier key ``name+keyhash+base64(type‖key)``, or its key ID is not derived from it."""

    code = "malformed_verifier_key"


class UnsupportedVerifierKey(MalformedVerifierKey, UnsupportedAlgorithm):
    """A well-formed verifier key of a signature type other than Ed25519 (0x01)."""

    code = "unsupported_verifier_key"


class MalformedCheckpoint(MalformedInput):
    """Note text that is not a tlog checkpoint (origin, size, base64 root, extension lines)."""

    code = "malformed_checkpoint"


class UnknownKey(VerificationError):
    """No signature in the note is by a trusted key."""

    code = "note_unknown_key"


class NoteSignatureInvalid(InvalidSignature):
    """A signature whose name and key ID match a trusted key does not verify."""

    code = "note_signature_invalid"


class OriginMismatch(VerificationError):
    """The checkpoint is from another log than the one expected."""

    code = "checkpoint_origin_mismatch"


def is_valid_key_name(name: str) -> bool:
    """Key names are non-empty, without Unicode spaces, plus signs or control characters."""
    return bool(name) and "+" not in name and not any(c.isspace() for c in name) and not _CONTROL.search(name)


def key_hash(name: str, typed_public_key: bytes) -> bytes:
    """The 4-byte key ID: SHA-256(name ‖ 0x0A ‖ signature type ‖ public key)[:4]."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + typed_public_key).digest()[:4]


@dataclass(frozen=True)
class NoteVerifierKey:
    """A trusted Ed25519 note key. Build it with :func:`parse_verifier_key` or :meth:`from_public_key`."""

    name: str
    key_hash: bytes
    public_key: bytes
    _key: ed25519.Ed25519PublicKey = field(repr=False, compare=False)

    @classmethod
    def from_public_key(cls, name: str, public_key: ed25519.Ed25519PublicKey | bytes) -> NoteVerifierKey:
        """The verifier key named ``name`` for an Ed25519 public key (object or 32 raw bytes).

        Raises :class:`MalformedVerifierKey` for an invalid name or key.
        """
        if not is_valid_key_name(name):
            raise MalformedVerifierKey(f"invalid key name {name!r}")
        if isinstance(public_key, ed25519.Ed25519PublicKey):
            raw = public_key.public_bytes_raw()
        else:
            raw = bytes(public_key)
        if len(raw) != 32:
            raise MalformedVerifierKey("an Ed25519 public key is 32 bytes")
        try:
            check_ed25519_point(raw, what="the verifier key's Ed25519 key")
        except WeakKey as exc:
            raise MalformedVerifierKey(exc.message) from exc
        try:
            key = ed25519.Ed25519PublicKey.from_public_bytes(raw)
        except ValueError as exc:
            raise MalformedVerifierKey("not an Ed25519 public key") from exc
        return cls(name, key_hash(name, ED25519_TYPE + raw), raw, key)

    @property
    def text(self) -> str:
        """The verifier key as text: ``name+keyhash(8 hex)+base64(0x01‖public key)``."""
        return f"{self.name}+{self.key_hash.hex()}+{b64encode(ED25519_TYPE + self.public_key)}"

    def verify(self, text: bytes, signature: bytes) -> None:
        """Check an Ed25519 signature over the note text, strictly (see :mod:`notary.verify.keys`);
        raises :class:`NoteSignatureInvalid`."""
        try:
            check_ed25519_signature(signature)
            self._key.verify(signature, text)
        except (_CryptoInvalidSignature, NonCanonicalSignature) as exc:
            raise NoteSignatureInvalid(
                f"signature by {self.name}+{self.key_hash.hex()} does not verify",
                details={"key": self.text},
            ) from exc


def parse_verifier_key(text: str) -> NoteVerifierKey:
    """Parse ``name+keyhash+base64(0x01‖key)``.

    Raises :class:`MalformedVerifierKey` (bad form, key ID not derived from name and key) or
    :class:`UnsupportedVerifierKey` (a signature type other than Ed25519).
    """
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise MalformedVerifierKey("a verifier key is name+keyhash+key")
    name, hash_hex, key_b64 = parts
    if not is_valid_key_name(name) or not _KEY_HASH.fullmatch(hash_hex):
        raise MalformedVerifierKey("verifier key has an invalid name or key hash")
    try:
        typed_key = b64decode(key_b64, what="verifier key")
    except MalformedInput as exc:
        raise MalformedVerifierKey(exc.message) from exc
    if not typed_key:
        raise MalformedVerifierKey("verifier key holds no key")
    # The type comes first: other types derive their key IDs differently (ECDSA from the DER key).
    if typed_key[:1] != ED25519_TYPE:
        raise UnsupportedVerifierKey(
            f"note signature type 0x{typed_key[0]:02x} is not supported (only Ed25519, 0x01)"
        )
    if key_hash(name, typed_key) != bytes.fromhex(hash_hex):
        raise MalformedVerifierKey("verifier key hash is not derived from its name and key")
    return NoteVerifierKey.from_public_key(name, typed_key[1:])


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: the key's name and ID, and the signature bytes after the ID."""

    name: str
    key_hash: bytes
    signature: bytes


@dataclass(frozen=True)
class SignedNote:
    """A parsed, not yet verified, note. Its text must be ignored until it is verified."""

    text: str
    signatures: tuple[NoteSignature, ...]


@dataclass(frozen=True)
class VerifiedNote:
    """A note with at least one good signature by a trusted key (``verified``, one per key)."""

    text: str
    verified: tuple[NoteSignature, ...]
    unverified: tuple[NoteSignature, ...]

    @property
    def body(self) -> bytes:
        """The signed bytes: the note text, final newline included."""
        return self.text.encode("utf-8")


def check_note_text(text: bytes | str, *, error: type[MalformedInput] = MalformedNote) -> str:
    """Decode note text: UTF-8, no ASCII controls other than newline, ending in a newline.

    Raises ``error`` (:class:`MalformedNote` by default).
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise error("note is not UTF-8") from exc
    if _CONTROL.search(text):
        raise error("note holds a control character other than newline")
    if not text.endswith("\n"):
        raise error("note text must end with a newline")
    return text


def parse_note(data: bytes | str) -> SignedNote:
    """Split a signed note into its text and signature lines, without verifying anything.

    Raises :class:`MalformedNote` or :class:`TooManySignatures`.
    """
    message = check_note_text(data)
    split = message.rfind("\n\n")
    if split < 0:
        raise MalformedNote("note has no blank line before its signatures")
    text, block = message[: split + 1], message[split + 2 :]
    if not block:
        raise MalformedNote("note has no signature lines")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise TooManySignatures(f"note has {len(lines)} signatures, at most {MAX_SIGNATURES} are read")
    return SignedNote(text, tuple(_parse_signature_line(line) for line in lines))


def _parse_signature_line(line: str) -> NoteSignature:
    if not line.startswith(SIGNATURE_PREFIX):
        raise MalformedNote("signature lines start with an em dash and a space")
    name, space, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
    if not space or not is_valid_key_name(name):
        raise MalformedNote("signature line has an invalid key name")
    try:
        raw = b64decode(encoded, what="note signature")
    except MalformedInput as exc:
        raise MalformedNote(exc.message) from exc
    if len(raw) < 5:
        raise MalformedNote("note signature is shorter than a key ID and one byte")
    return NoteSignature(name, raw[:4], raw[4:])


def verify_note(data: bytes | str, verifier_keys: Iterable[NoteVerifierKey]) -> VerifiedNote:
    """Verify a signed note against trusted keys; returns the note with its good signatures.

    Signatures by unknown keys are kept aside (``unverified``), as C2SP requires. Raises
    :class:`MalformedNote`, :class:`TooManySignatures`, :class:`NoteSignatureInvalid` (a
    signature matching a trusted key fails), :class:`UnknownKey` (none by a trusted key),
    :class:`MalformedVerifierKey` (two different trusted keys share a name and key ID).
    """
    trusted: dict[tuple[str, bytes], NoteVerifierKey] = {}
    for verifier_key in verifier_keys:
        known = trusted.setdefault((verifier_key.name, verifier_key.key_hash), verifier_key)
        if known.public_key != verifier_key.public_key:
            raise MalformedVerifierKey(f"two trusted keys are named {known.name}+{known.key_hash.hex()}")
    note = parse_note(data)
    body = note.text.encode("utf-8")
    verified: dict[tuple[str, bytes], NoteSignature] = {}
    checked: set[NoteSignature] = set()
    unverified: list[NoteSignature] = []
    for signature in note.signatures:
        key = trusted.get((signature.name, signature.key_hash))
        if key is None:
            if signature not in unverified:
                unverified.append(signature)
        elif signature not in checked:
            key.verify(body, signature.signature)
            checked.add(signature)
            verified.setdefault((key.name, key.key_hash), signature)
    if not verified:
        raise UnknownKey(
            "no signature by a trusted key",
            details={"trusted": [key.text for key in trusted.values()]},
        )
    return VerifiedNote(note.text, tuple(verified.values()), tuple(unverified))


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head: origin, size and root hash (and opaque extension lines, rarely).

    Construction checks the fields; raises :class:`MalformedCheckpoint`.
    """

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin or _CONTROL.search(self.origin):
            raise MalformedCheckpoint("checkpoint origin must be one non-empty line")
        if isinstance(self.size, bool) or not 0 <= self.size <= MAX_TREE_SIZE:
            raise MalformedCheckpoint(f"checkpoint size must be 0 to {MAX_TREE_SIZE}")
        if len(self.root_hash) != 32:
            raise MalformedCheckpoint("checkpoint root hash must be 32 bytes")
        for line in self.extensions:
            if not line or "\n" in line or _CONTROL.search(line):
                raise MalformedCheckpoint("checkpoint extension lines must be non-empty single lines")

    @property
    def body(self) -> bytes:
        """The note text: ``origin\\nsize\\nbase64(root)\\n`` and any extension lines."""
        lines = [self.origin, str(self.size), b64encode(self.root_hash), *self.extensions]
        return "".join(f"{line}\n" for line in lines).encode("utf-8")


def format_checkpoint_body(origin: str, size: int, root_hash: bytes, extensions: Iterable[str] = ()) -> bytes:
    """The checkpoint note text to sign; raises :class:`MalformedCheckpoint` for bad fields."""
    return Checkpoint(origin, size, root_hash, tuple(extensions)).body


def parse_checkpoint(text: bytes | str) -> Checkpoint:
    """Parse checkpoint note text strictly (tlog-checkpoint.md); raises :class:`MalformedCheckpoint`."""
    decoded = check_note_text(text, error=MalformedCheckpoint)
    lines = decoded[:-1].split("\n")
    if len(lines) < 3:
        raise MalformedCheckpoint("a checkpoint has at least three lines")
    origin, size_line, root_line, *extensions = lines
    if not _SIZE_LINE.fullmatch(size_line):
        raise MalformedCheckpoint("checkpoint size must be decimal digits without leading zeros")
    try:
        root_hash = b64decode(root_line, what="checkpoint root hash")
    except MalformedInput as exc:
        raise MalformedCheckpoint(exc.message) from exc
    return Checkpoint(origin, int(size_line), root_hash, tuple(extensions))


@dataclass(frozen=True)
class VerifiedCheckpoint:
    """A checkpoint whose note verified with a trusted key and whose origin is the expected one."""

    checkpoint: Checkpoint
    note: VerifiedNote


def verify_checkpoint(
    data: bytes | str, verifier_keys: Iterable[NoteVerifierKey], *, origin: str
) -> VerifiedCheckpoint:
    """Verify a signed checkpoint from the log ``origin``.

    The signature is checked first: unsigned text is never interpreted. Raises what
    :func:`verify_note` raises, then :class:`MalformedCheckpoint` or :class:`OriginMismatch`.
    """
    note = verify_note(data, verifier_keys)
    checkpoint = parse_checkpoint(note.text)
    if checkpoint.origin != origin:
        raise OriginMismatch(
            f"checkpoint is from {checkpoint.origin!r}, not {origin!r}",
            details={"origin": checkpoint.origin, "expected": origin},
        )
    return VerifiedCheckpoint(checkpoint, note)
