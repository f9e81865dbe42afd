"""``notary audit``: re-derive every hash from storage and report the first divergence.

An audit is a list of independent *auditors* (:func:`default_auditors`), each of which
streams through its tables in batches (memory stays flat however large the store), yields
progress as it goes and raises :class:`DivergenceFound` at its first divergence. The runner
runs every auditor, so the report names each check's first divergence; the report's
``divergence`` is the first of those in the auditors' order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography import x509

from notary.services.audit.auditor import WRONG_TYPE, Auditor, Divergence, DivergenceFound, Findings
from notary.services.audit.evidence import CertificateAuditor, PartyKeyAuditor, TokenAuditor
from notary.services.audit.keys import KeyEventAuditor
from notary.services.audit.leaves import ChainAuditor, DocumentAuditor, LeafAuditor
from notary.services.audit.records import AnchorAuditor, AuditChainAuditor, ContractRecordAuditor
from notary.services.audit.reports import ReportAuditor, ReportLeafAuditor
from notary.services.audit.tree import CheckpointAuditor, TreeAuditor
from notary.storage.blobs import BlobStore
from notary.storage.db import Database
from notary.verify.errors import NotaryError
from notary.verify.trust import TrustedLog


class Progress(Protocol):
    def update(self, n_steps: int) -> None: ...


ProgressFactory = Callable[[str, int], AbstractContextManager[Progress]]
"""Makes a progress display from a label and a total (``click.progressbar`` fits)."""


@dataclass(frozen=True)
class CheckResult:
    name: str
    checked: int
    divergences: tuple[Divergence, ...] = ()

    @property
    def divergence(self) -> Divergence | None:
        """The check's first divergence."""
        return self.divergences[0] if self.divergences else None


@dataclass(frozen=True)
class AuditReport:
    results: tuple[CheckResult, ...]
    collect_all: bool = False

    @property
    def divergence(self) -> Divergence | None:
        """The first divergence, in the auditors' order; ``None`` when the store is clean."""
        return next((r.divergence for r in self.results if r.divergence is not None), None)

    @property
    def divergences(self) -> tuple[Divergence, ...]:
        """Every divergence found (with ``--all``; else each check's first)."""
        return tuple(d for r in self.results for d in r.divergences)

    @property
    def clean(self) -> bool:
        return self.divergence is None

    def as_dict(self) -> dict[str, Any]:
        first = self.divergence
        report: dict[str, Any] = {
            "clean": first is None,
            "divergence": None if first is None else first.as_dict(),
            "checks": [
                {
                    "name": result.name,
                    "checked": result.checked,
                    "status": "ok" if result.divergence is None else "diverged",
                    **({"divergence": result.divergence.as_dict()} if result.divergence else {}),
                    **(
                        {"divergences": [d.as_dict() for d in result.divergences]} if self.collect_all else {}
                    ),
                }
                for result in self.results
            ],
        }
        if self.collect_all:
            report["divergences"] = [d.as_dict() for d in self.divergences]
        return report


class _Silent:
    def update(self, n_steps: int) -> None:
        pass


def _no_progress(label: str, total: int) -> AbstractContextManager[Progress]:
    return nullcontext(_Silent())


def run_audit(
    db: Database,
    auditors: Sequence[Auditor],
    *,
    progress: ProgressFactory = _no_progress,
    collect_all: bool = False,
) -> AuditReport:
    """Run every auditor; with ``collect_all`` each goes on past its divergences and the report
    lists every one (``notary audit --all``), else each check stops at its first. A value a
    check cannot read (of the wrong type, outside any item) is that check's divergence, never
    a traceback. Raises :class:`ValueError` for an empty list (an audit that checks nothing
    must not pass).
    """
    if not auditors:
        raise ValueError("an audit needs at least one auditor")
    results = []
    for auditor in auditors:
        checked = 0
        findings = Findings(auditor.name, collect_all=collect_all)
        with progress(auditor.label, auditor.total(db)) as bar:
            try:
                for step in auditor.run(db, findings):
                    checked += step
                    bar.update(step)
            except DivergenceFound:
                pass  # already in findings: the check stopped at its first divergence
            except NotaryError as exc:
                findings.divergences.append(
                    Divergence(
                        auditor.name, "store", f"after {checked} checked", f"{exc.code}: {exc.message}"
                    )
                )
            except WRONG_TYPE as exc:
                findings.divergences.append(
                    Divergence(
                        auditor.name,
                        "store",
                        f"after {checked} checked",
                        f"a stored value could not be read as its type ({type(exc).__name__}: {str(exc)[:200]})",
                    )
                )
        results.append(CheckResult(auditor.name, checked, tuple(findings.divergences)))
    return AuditReport(tuple(results), collect_all)


def default_auditors(
    blobs: BlobStore,
    *,
    trusted_logs: Sequence[TrustedLog],
    tsa_roots: Sequence[x509.Certificate] = (),
    notary_root: x509.Certificate | None = None,
    certificates: Any = None,
) -> list[Auditor]:
    """Every check, in the order in which the first divergence is reported.

    ``trusted_logs`` are the origins and keys the log's checkpoints may be signed with, each
    for its sizes (``LogOrigins.trusted_logs``: the stored origins, old ones kept after a
    rotation). ``tsa_roots`` anchor the timestamp tokens and ``notary_root`` the certificate
    PDFs (without them those two checks are left out); ``certificates`` (the certificate
    service) lets the audit re-derive each certificate's facts.
    """
    auditors: list[Auditor] = [
        DocumentAuditor(blobs),
        LeafAuditor(),
        ChainAuditor(),
        TreeAuditor(),
        CheckpointAuditor(tuple(trusted_logs)),
    ]
    if tsa_roots:
        auditors.append(TokenAuditor(tuple(tsa_roots)))
    auditors += [ContractRecordAuditor(), PartyKeyAuditor()]
    if notary_root is not None:
        auditors.append(CertificateAuditor(blobs, notary_root, tuple(tsa_roots), certificates))
    auditors += [
        AuditChainAuditor(),
        AnchorAuditor(),
        ReportAuditor(blobs),
        ReportLeafAuditor(),
        KeyEventAuditor(),
    ]
    return auditors
