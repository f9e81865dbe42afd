"""Opaque ids: a prefix and a ULID (48 bits of milliseconds, 80 random bits, Crockford base32)."""

from __future__ import annotations

import os
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

PLATFORM, PARTY, CONTRACT, CASE, INVESTIGATOR, REPORT = "pl_", "pa_", "ct_", "cs_", "iv_", "rp_"


def ulid(now_ms: int | None = None) -> str:
    """26 characters; sortable by creation time, unguessable by the 80 random bits."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """A fresh id such as ``ct_01JD0Q8K2X3M4N5P6Q7R8S9T0V``."""
    return prefix + ulid()
