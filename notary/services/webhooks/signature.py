"""The ``Notary-Signature`` header: HMAC-SHA256 over ``"<t>.<body>"`` with each live secret.

``t`` is the attempt's time in Unix seconds, so a receiver can refuse an old delivery replayed
by someone who recorded it; the body is the exact bytes sent. With several live secrets (a
rotation) the header carries one ``v1=`` per secret, and a receiver accepts any it holds.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence

SIGNATURE_HEADER = "Notary-Signature"
SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix every secret starts with, not a secret


def new_secret() -> str:
    """A signing secret: ``whsec_`` and 32 random bytes in URL-safe base64 (the HMAC key is the
    whole string, prefix included, as UTF-8)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signed_content(timestamp: int, body: bytes) -> bytes:
    """What is MACed: the decimal timestamp, a full stop, then the body byte for byte."""
    return str(timestamp).encode("ascii") + b"." + body


def signature_header(secret_values: Sequence[str], timestamp: int, body: bytes) -> str:
    """``t=<timestamp>,v1=<hex>[,v1=<hex>...]``: one ``v1`` per secret, in the order given.

    Raises ``ValueError`` without a secret: an unsigned delivery is never sent.
    """
    if not secret_values:
        raise ValueError("a delivery needs at least one secret to sign with")
    content = signed_content(timestamp, body)
    signatures = [
        "v1=" + hmac.new(value.encode("utf-8"), content, hashlib.sha256).hexdigest()
        for value in secret_values
    ]
    return ",".join([f"t={timestamp}", *signatures])
