"""RFC 9162 leaf hashing, the one piece of the tree the sequencer needs before the log lands.

(The full tree, proofs and checkpoints live in :mod:`notary.verify.merkle`.)
"""

from __future__ import annotations

import hashlib


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 ‖ data)."""
    return hashlib.sha256(b"\x00" + data).digest()
