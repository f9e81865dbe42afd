"""A small certificate path validator: from a leaf through candidate issuers to a trust root,
every signature checked, every issuer a CA, every certificate valid at a given moment.

It is what an offline verifier needs for timestamp and document-signer chains, and no more:
no revocation (evidence is checked years later, offline), no policy processing, no name
constraints (a certificate that marks them critical is refused rather than half-checked).
The moment is a parameter because evidence is judged at the time it was made (a timestamp's
genTime), not at the time someone happens to check it.
"""

from __future__ import annotations

import datetime as dt
import functools
import warnings
from collections.abc import Sequence

from cryptography import x509
from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.x509.oid import ExtensionOID

from notary.verify.errors import VerificationError

__all__ = ["CertificateNotValidAt", "UntrustedChain", "load_untrusted_certificate", "validate_path"]

MAX_PATH_LENGTH = 8

# Critical extensions this validator understands (or that impose nothing on path validation
# here: certificate policies are not processed, and no policy is required).
_HANDLED_CRITICAL = frozenset(
    {
        ExtensionOID.BASIC_CONSTRAINTS,
        ExtensionOID.KEY_USAGE,
        ExtensionOID.EXTENDED_KEY_USAGE,
        ExtensionOID.SUBJECT_ALTERNATIVE_NAME,
        ExtensionOID.CERTIFICATE_POLICIES,
    }
)

# Certificate signatures proven good, keyed by (child, issuer): the same few TSA certificates
# appear in every token, and a signature check is the dearest part of verifying one.
_verified_links: set[tuple[x509.Certificate, x509.Certificate]] = set()
_MAX_CACHED_LINKS = 4096


class UntrustedChain(VerificationError):
    """No path of valid signatures and CA certificates leads from the leaf to a trust root."""

    code = "untrusted_chain"


class CertificateNotValidAt(VerificationError):
    """A certificate on the path was not valid (not yet, or no longer) at the given moment."""

    code = "certificate_not_valid_at_time"


@functools.lru_cache(maxsize=256)
def load_untrusted_certificate(der: bytes) -> x509.Certificate | None:
    """A certificate from untrusted input (a token's certificate bag) whose every field parses.

    Such input may be damaged on purpose, and cryptography parses fields lazily, so
    a damaged certificate would otherwise fail later, far from here; one that does not parse
    cannot be the signer nor an issuer. Parse warnings (a non-positive serial) count as damage.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            cert = x509.load_der_x509_certificate(der)
            _ = (
                cert.subject,
                cert.issuer,
                cert.serial_number,
                cert.not_valid_before_utc,
                cert.not_valid_after_utc,
            )
            cert.public_key()
            list(cert.extensions)
    except (
        ValueError,
        TypeError,
        Warning,
        x509.InvalidVersion,
        x509.DuplicateExtension,
        UnsupportedAlgorithm,
    ):
        return None
    return cert


def _is_self_issued(cert: x509.Certificate) -> bool:
    return cert.subject == cert.issuer


def _extension(
    cert: x509.Certificate, kind: type[x509.ExtensionType]
) -> x509.Extension[x509.ExtensionType] | None:
    try:
        return cert.extensions.get_extension_for_class(kind)
    except x509.ExtensionNotFound:
        return None


def _check_extensions_understood(cert: x509.Certificate) -> None:
    try:
        extensions = list(cert.extensions)
    except (ValueError, x509.DuplicateExtension) as exc:
        raise UntrustedChain(
            f"certificate {cert.subject.rfc4514_string()} has unparsable extensions"
        ) from exc
    for extension in extensions:
        if extension.critical and extension.oid not in _HANDLED_CRITICAL:
            raise UntrustedChain(
                f"certificate {cert.subject.rfc4514_string()} has an unsupported critical extension "
                f"{extension.oid.dotted_string}"
            )


def _issuer_problem(issuer: x509.Certificate, *, intermediates_below: int, is_root: bool) -> str | None:
    """Why ``issuer`` may not issue the certificate below it, or None when it may."""
    constraints = _extension(issuer, x509.BasicConstraints)
    if constraints is None:
        # A trust anchor is trusted by configuration; old v1 roots carry no extensions.
        if is_root and issuer.version == x509.Version.v1:
            return None
        return "is not a CA (no basic constraints)"
    value = constraints.value
    assert isinstance(value, x509.BasicConstraints)
    if not value.ca:
        return "is not a CA"
    if value.path_length is not None and intermediates_below > value.path_length:
        return f"allows {value.path_length} intermediate CAs below it, the path has {intermediates_below}"
    usage = _extension(issuer, x509.KeyUsage)
    if usage is not None:
        key_usage = usage.value
        assert isinstance(key_usage, x509.KeyUsage)
        if not key_usage.key_cert_sign:
            return "may not sign certificates (key usage)"
    return None


def _signed_by(child: x509.Certificate, issuer: x509.Certificate) -> bool:
    if (child, issuer) in _verified_links:
        return True
    try:
        child.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, _CryptoInvalidSignature):
        return False
    if len(_verified_links) >= _MAX_CACHED_LINKS:
        _verified_links.clear()
    _verified_links.add((child, issuer))
    return True


def _paths(
    path: list[x509.Certificate],
    candidates: Sequence[x509.Certificate],
    roots: Sequence[x509.Certificate],
    problems: list[str],
) -> list[tuple[x509.Certificate, ...]]:
    """Every path from ``path[-1]`` up to a root, depth first, recording why branches died."""
    current = path[-1]
    if current in roots:
        return [tuple(path)]
    if len(path) > MAX_PATH_LENGTH:
        problems.append("path too long")
        return []
    found: list[tuple[x509.Certificate, ...]] = []
    # Intermediates below the next issuer: every certificate above the leaf that is not self-issued.
    below = sum(1 for cert in path[1:] if not _is_self_issued(cert))
    for issuer in [*roots, *candidates]:
        if issuer in path or issuer.subject != current.issuer:
            continue
        is_root = issuer in roots
        problem = _issuer_problem(issuer, intermediates_below=below, is_root=is_root)
        if problem is not None:
            problems.append(f"{issuer.subject.rfc4514_string()} {problem}")
            continue
        if not _signed_by(current, issuer):
            problems.append(
                f"signature of {current.subject.rfc4514_string()} does not verify with "
                f"{issuer.subject.rfc4514_string()}"
            )
            continue
        if is_root:
            found.append((*path, issuer))
        else:
            found.extend(_paths([*path, issuer], candidates, roots, problems))
    return found


def validate_path(
    leaf: x509.Certificate,
    *,
    trust_roots: Sequence[x509.Certificate],
    intermediates: Sequence[x509.Certificate] = (),
    at: dt.datetime,
) -> tuple[x509.Certificate, ...]:
    """The path from ``leaf`` to one of ``trust_roots`` (leaf first, root last), checked at ``at``.

    A leaf that is itself a trust root is trusted as it is. Issuers must be CAs (basic
    constraints, path length, keyCertSign when key usage is present); every signature is
    checked; every certificate on the path must be valid at ``at``. When several paths exist
    the first one valid at ``at`` wins.

    Raises :class:`UntrustedChain` when no path exists (including when ``trust_roots`` is
    empty) and :class:`CertificateNotValidAt` when paths exist but none is valid at ``at``.
    """
    if not trust_roots:
        raise UntrustedChain("no trust roots given")
    if at.tzinfo is None:
        raise ValueError("'at' must be an aware datetime")
    roots = list(trust_roots)
    candidates = [cert for cert in intermediates if cert not in roots and cert != leaf]
    problems: list[str] = []
    paths = _paths([leaf], candidates, roots, problems)
    if not paths:
        reason = "; ".join(dict.fromkeys(problems)) or "no issuer among the given certificates"
        raise UntrustedChain(
            f"{leaf.subject.rfc4514_string()} does not chain to a trust root: {reason}",
            details={"problems": list(dict.fromkeys(problems))},
        )
    first_problem: CertificateNotValidAt | None = None
    for path in paths:
        for cert in path:
            _check_extensions_understood(cert)
        expired = [cert for cert in path if not cert.not_valid_before_utc <= at <= cert.not_valid_after_utc]
        if not expired:
            return path
        if first_problem is None:
            cert = expired[0]
            first_problem = CertificateNotValidAt(
                f"{cert.subject.rfc4514_string()} is valid from {cert.not_valid_before_utc.isoformat()} "
                f"to {cert.not_valid_after_utc.isoformat()}, not at {at.isoformat()}",
                details={
                    "subject": cert.subject.rfc4514_string(),
                    "not_before": cert.not_valid_before_utc.isoformat(),
                    "not_after": cert.not_valid_after_utc.isoformat(),
                    "at": at.isoformat(),
                },
            )
    assert first_problem is not None
    raise first_problem
