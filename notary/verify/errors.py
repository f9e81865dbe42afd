"""The root of the notary's error tree and the errors of verification.

Every error the notary raises on purpose is a :class:`NotaryError` with a stable ``code``
(snake case) that clients, reports and tests can rely on. Errors of the service layer
(not found, conflicts, ...) live in :mod:`notary.errors` and derive from the same root.
"""

from __future__ import annotations

from typing import Any


class NotaryError(Exception):
    """Root of the tree. ``code`` is stable; ``message`` is for a person; ``details`` is data."""

    code = "notary_error"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class MalformedInput(NotaryError):
    """The input cannot be parsed at all (bad JSON, bad base64, bad PEM, bad DER...)."""

    code = "malformed_input"


class UnsupportedAlgorithm(MalformedInput):
    """A key or signature of an algorithm the notary does not accept."""

    code = "unsupported_algorithm"


class VerificationError(NotaryError):
    """Well-formed input that does not verify."""

    code = "verification_failed"


class InvalidSignature(VerificationError):
    """A signature that does not verify with the given key over the given bytes."""

    code = "bad_signature"
