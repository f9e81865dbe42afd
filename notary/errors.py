"""Errors of the service layer. The root of the tree and verification errors live in
:mod:`notary.verify.errors` so that the pure verifier shares them; this module re-exports them.

Each class carries a stable ``code``; the HTTP layer maps classes to statuses in one place
(:mod:`notary.api.errors`).
"""

from __future__ import annotations

from typing import Any

from notary.verify.errors import (
    InvalidSignature,
    MalformedInput,
    NotaryError,
    UnsupportedAlgorithm,
    VerificationError,
)

__all__ = [
    "Conflict",
    "Forbidden",
    "Gone",
    "InvalidSignature",
    "MalformedInput",
    "NoEvidence",
    "NotFound",
    "NotReady",
    "NotaryError",
    "RateLimited",
    "StorageFull",
    "TimestampUnavailable",
    "TooLarge",
    "Unauthenticated",
    "Unavailable",
    "Unprocessable",
    "UnsupportedAlgorithm",
    "VerificationError",
]


class NotFound(NotaryError):
    """The object does not exist, or exists but is not the caller's (the two are one answer)."""

    code = "not_found"


class Unauthenticated(NotaryError):
    """No credential, or a bad or expired one."""

    code = "unauthenticated"


class Forbidden(NotaryError):
    """The caller's object, but the act is not allowed now."""

    code = "forbidden"


class Gone(NotaryError):
    """The credential belongs to something that no longer acts (a defunct platform)."""

    code = "gone"


class Conflict(NotaryError):
    """The request contradicts the current state (already signed, idempotency conflict, ...)."""

    code = "conflict"


class NotReady(Conflict):
    """Asked too early; ``retry_after`` says when to ask again (seconds)."""

    code = "evidence_not_ready"

    def __init__(self, message: str, *, retry_after: int = 1, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details=details)
        self.retry_after = retry_after


class NoEvidence(Conflict):
    """A contract that will never have evidence (declined or expired): a final answer, with no
    ``Retry-After``; ``details.status`` names its state."""

    code = "no_evidence"


class Unprocessable(NotaryError):
    """Well-formed input that the rules refuse (a validation error, an unknown party, ...)."""

    code = "validation_failed"


class TooLarge(NotaryError):
    """A body or document over its configured limit."""

    code = "too_large"


class ValidationFailed(Unprocessable):
    """Input that does not meet its schema or a rule of its field (``details``: field → messages)."""

    code = "validation_failed"


class Unavailable(NotaryError):
    """The database or keys are unusable."""

    code = "unavailable"


class StorageFull(NotaryError):
    """The disk (or the database's) is full: nothing was stored; ask again once space returns."""

    code = "storage_full"
    retry_after = 60


class TimestampUnavailable(NotaryError):
    """No timestamp authority answered; the work waits and is retried."""

    code = "timestamp_unavailable"


class RateLimited(NotaryError):
    """Too many requests of a kind from one client; ``retry_after`` says when to ask again (seconds)."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details=details)
        self.retry_after = retry_after
