"""Making C2SP cosignatures (``cosignature/v1``) with a witness's Ed25519 key.

The format and its checks live in :mod:`notary.verify.cosignature`; this adds the private key.
A witness's key is its own: never the log's key, never shared between two witnesses (the
Ed25519 cosignature does not commit to the witness's name, C2SP tlog-cosignature).
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ed25519

from notary.verify.cosignature import CosignerKey, cosignature_line, cosigned_message
from notary.verify.note import check_note_text


class Cosigner:
    """Cosigns checkpoints as the witness ``name``."""

    def __init__(self, name: str, private_key: ed25519.Ed25519PrivateKey) -> None:
        """Raises :class:`~notary.verify.cosignature.MalformedCosignerKey` for an invalid name."""
        self._key = private_key
        self.key = CosignerKey.from_public_key(name, private_key.public_key())

    @property
    def name(self) -> str:
        """The witness's name, as written in its signature lines."""
        return self.key.name

    @property
    def cosigner_key(self) -> str:
        """The public cosigner key to publish: ``name+keyhash+base64(0x04‖key)``."""
        return self.key.text

    def cosign(self, body: bytes, timestamp: int) -> str:
        """The cosignature line (with its newline) over checkpoint note text ``body`` at
        ``timestamp`` (POSIX seconds).

        Raises :class:`~notary.verify.note.MalformedNote` when ``body`` is not note text and
        :class:`~notary.verify.cosignature.MalformedCosignature` for a timestamp out of range.
        """
        text = check_note_text(body).encode("utf-8")
        signature = self._key.sign(cosigned_message(text, timestamp))
        return cosignature_line(self.key, timestamp, signature)
