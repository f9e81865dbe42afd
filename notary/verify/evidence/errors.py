"""Why a check of an evidence bundle failed: one error class (and stable code) per cause."""

from __future__ import annotations

from notary.verify.errors import MalformedInput, VerificationError

__all__ = [
    "CheckNotApplicable",
    "DigestMismatch",
    "KeyEventMismatch",
    "KeyEventTimeMismatch",
    "KeyMismatch",
    "LogKeyMismatch",
    "LogKeyNotTrustedForSize",
    "MalformedManifest",
    "ManifestMismatch",
    "MissingMember",
    "PositionMismatch",
    "SignedAfterDeadline",
    "SignedAfterSealing",
    "SignedBeforeFiling",
    "TermsMismatch",
    "TimestampChainMismatch",
    "TimestampInFuture",
    "UnexpectedMember",
    "UntrustedNotaryChain",
]


class MissingMember(VerificationError):
    """A member the format requires is not in the bundle."""

    code = "missing_member"


class UnexpectedMember(VerificationError):
    """A member the format does not define, or one too many (two documents)."""

    code = "unexpected_member"


class MalformedManifest(MalformedInput):
    """``manifest.json`` is not the canonical JSON the format defines."""

    code = "malformed_manifest"


class ManifestMismatch(VerificationError):
    """The manifest does not describe the bundle: a digest, a name or the contract differs."""

    code = "manifest_mismatch"


class DigestMismatch(VerificationError):
    """A file's SHA-256 (or size) is not the one the record states."""

    code = "digest_mismatch"


class TermsMismatch(VerificationError):
    """The terms name other parties than the record's signatures."""

    code = "terms_mismatch"


class KeyMismatch(VerificationError):
    """A party's key file is not the key (fingerprint, algorithm) the record names."""

    code = "key_mismatch"


class TimestampChainMismatch(VerificationError):
    """A chain file does not start with the certificate that signed its token."""

    code = "timestamp_chain_mismatch"


class TimestampInFuture(VerificationError):
    """A token's genTime is later than the verifier's clock allows."""

    code = "timestamp_in_future"


class LogKeyMismatch(VerificationError):
    """``log/key.json`` contradicts itself (origin, verifier key and PEM key disagree)."""

    code = "log_key_mismatch"


class LogKeyNotTrustedForSize(VerificationError):
    """The key that signed the checkpoint is trusted, but not for a tree of that size."""

    code = "log_key_not_trusted_for_size"


class PositionMismatch(VerificationError):
    """Proof, record and checkpoint disagree on where the record is (index, tree size, origin)."""

    code = "position_mismatch"


class LogRolledBack(VerificationError):
    """A newer checkpoint of the log is smaller than the bundle's: the log was cut back."""

    code = "log_rolled_back"


class UntrustedNotaryChain(VerificationError):
    """``keys/notary.pem`` does not chain to a notary root, or its leaf may not sign documents."""

    code = "untrusted_notary_chain"


class SignedBeforeFiling(VerificationError):
    """A signature's ``signed_at`` is before the contract was filed (``received_at``)."""

    code = "signed_before_filing"


class SignedAfterSealing(VerificationError):
    """A signature's ``signed_at`` is after the record was sealed (``sealed_at``)."""

    code = "signed_after_sealing"


class SignedAfterDeadline(VerificationError):
    """A signature's ``signed_at`` is after the terms' ``sign_by``."""

    code = "signed_after_deadline"


class KeyEventMismatch(VerificationError):
    """A ``later/`` key event that is not about this record: another key or party, a kind that
    changes nothing a signature means, or a time before the signature it would concern."""

    code = "key_event_mismatch"


class KeyEventTimeMismatch(VerificationError):
    """A key event claims a time after the later checkpoint that includes it was stamped."""

    code = "key_event_time_mismatch"


class CheckNotApplicable(Exception):
    """A check that cannot run on this (older) evidence: reported ``not_run``, not required.

    Not a :class:`~notary.verify.errors.NotaryError`: it is no failure of the input.
    """

    def __init__(self, message: str, *, details: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}
