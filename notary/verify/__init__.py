"""The pure core of the notary: the offline verifier a court runs, and the writers of the formats
it reads (evidence bundles, archives, Merkle proof plans), so that reader and writer share one
definition of each format.

This package imports the standard library, ``cryptography``, ``asn1crypto`` and ``rfc8785``
only, never Flask, SQLAlchemy or another ``notary`` package, so that the offline verifier is
this package plus a command line.

The names below are its public API; everything else is reached through its module and may
change. They are loaded on first use (PEP 562), so ``import notary.verify`` costs nothing.
Verifying a bundle against the trust file the notary published (``GET /trust``)::

    >>> from pathlib import Path
    >>> from notary.verify import TrustFile, verify_bundle
    >>> trust = TrustFile.from_json(Path("trust.json").read_bytes())
    >>> report = verify_bundle(Path("bundle.zip").read_bytes(), trust=trust)
    >>> report.valid, report.verdict
    (True, 'valid')
    >>> [check.name for check in report.failures]
    []

Without a trust file the caller must say so: ``trust=INTEGRITY_ONLY`` checks the bundle against
its own keys (integrity, not origin), and its success is ``valid_integrity_only``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Each public name and the module that defines it.
_HOMES = {
    # verifying
    "verify_bundle": "notary.verify.evidence.verifier",
    "verify_evidence": "notary.verify.evidence.verifier",
    "verify_export": "notary.verify.export.verifier",
    "verify_inclusion": "notary.verify.merkle.proofs",
    "verify_consistency": "notary.verify.merkle.proofs",
    "verify_timestamp": "notary.verify.timestamp.verifier",
    "verify_cosignatures": "notary.verify.cosignature",
    # what to trust
    "TrustFile": "notary.verify.trust",
    "TrustedLog": "notary.verify.trust",
    "TrustChoice": "notary.verify.trust",
    "CallerSupplied": "notary.verify.trust",
    "IntegrityOnly": "notary.verify.trust",
    "INTEGRITY_ONLY": "notary.verify.trust",
    "IdentityOpening": "notary.verify.identity",
    # what comes back
    "VerificationReport": "notary.verify.report",
    "ExportReport": "notary.verify.export.report",
    "Check": "notary.verify.report",
    "render_text": "notary.verify.report",
    # what is raised
    "NotaryError": "notary.verify.errors",
    "MalformedInput": "notary.verify.errors",
    "VerificationError": "notary.verify.errors",
    "MalformedBundle": "notary.verify.archive",
    "MalformedExport": "notary.verify.export.archive",
    "MalformedTrustFile": "notary.verify.trust",
}

__all__ = [
    "INTEGRITY_ONLY",
    "CallerSupplied",
    "Check",
    "ExportReport",
    "IdentityOpening",
    "IntegrityOnly",
    "MalformedBundle",
    "MalformedExport",
    "MalformedInput",
    "MalformedTrustFile",
    "NotaryError",
    "TrustChoice",
    "TrustFile",
    "TrustedLog",
    "VerificationError",
    "VerificationReport",
    "render_text",
    "verify_bundle",
    "verify_consistency",
    "verify_cosignatures",
    "verify_evidence",
    "verify_export",
    "verify_inclusion",
    "verify_timestamp",
]  # the keys of _HOMES (a test holds them equal)

if TYPE_CHECKING:  # what type checkers and editors see; at run time __getattr__ loads them
    from notary.verify.archive import MalformedBundle
    from notary.verify.cosignature import verify_cosignatures
    from notary.verify.errors import MalformedInput, NotaryError, VerificationError
    from notary.verify.evidence.verifier import verify_bundle, verify_evidence
    from notary.verify.export.archive import MalformedExport
    from notary.verify.export.report import ExportReport
    from notary.verify.export.verifier import verify_export
    from notary.verify.identity import IdentityOpening
    from notary.verify.merkle.proofs import verify_consistency, verify_inclusion
    from notary.verify.report import Check, VerificationReport, render_text
    from notary.verify.timestamp.verifier import verify_timestamp
    from notary.verify.trust import (
        INTEGRITY_ONLY,
        CallerSupplied,
        IntegrityOnly,
        MalformedTrustFile,
        TrustChoice,
        TrustedLog,
        TrustFile,
    )


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'notary.verify' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # the next lookup is an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
