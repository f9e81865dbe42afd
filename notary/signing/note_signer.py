"""Signing C2SP notes and checkpoints with the log's Ed25519 key.

The formats and their checks live in :mod:`notary.verify.note`; this module only adds the
private key. Ed25519 is deterministic, so a given key and body always give the same note.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ed25519

from notary.verify.encoding import b64encode
from notary.verify.note import (
    SIGNATURE_PREFIX,
    Checkpoint,
    NoteVerifierKey,
    check_note_text,
)


class NoteSigner:
    """Signs note text as ``name`` (for the log: its origin) with an Ed25519 private key."""

    def __init__(self, name: str, private_key: ed25519.Ed25519PrivateKey) -> None:
        """Raises :class:`~notary.verify.note.MalformedVerifierKey` for an invalid key name."""
        self._key = private_key
        self.verifier = NoteVerifierKey.from_public_key(name, private_key.public_key())

    @property
    def name(self) -> str:
        """The key name written in signature lines."""
        return self.verifier.name

    @property
    def key_hash(self) -> bytes:
        """The 4-byte key ID: SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]."""
        return self.verifier.key_hash

    @property
    def verifier_key(self) -> str:
        """The verifier key text to publish: ``name+keyhash+base64(0x01‖public key)``."""
        return self.verifier.text

    def signature_line(self, body: bytes) -> str:
        """The line ``— name base64(keyhash‖signature)\\n`` for ``body``.

        Raises :class:`~notary.verify.note.MalformedNote` if ``body`` is not note text.
        """
        text = check_note_text(body)
        signature = self._key.sign(text.encode("utf-8"))
        return f"{SIGNATURE_PREFIX}{self.name} {b64encode(self.key_hash + signature)}\n"

    def sign(self, body: bytes) -> str:
        """The whole signed note: ``body``, a blank line, then this key's signature line.

        Raises :class:`~notary.verify.note.MalformedNote` if ``body`` is not note text (UTF-8,
        no control characters but newline, ending in a newline).
        """
        line = self.signature_line(body)
        return body.decode("utf-8") + "\n" + line

    def sign_checkpoint(self, checkpoint: Checkpoint) -> str:
        """The signed checkpoint note (``log/checkpoint.txt``)."""
        return self.sign(checkpoint.body)
