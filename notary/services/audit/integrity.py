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

from notary.services.audit.auditor import Auditor, Divergence, DivergenceFound
from notary.services.audit.leaves import ChainAuditor, DocumentAuditor, LeafAuditor
from notary.services.audit.records import AnchorAuditor, AuditChainAuditor, ContractRecordAuditor
from notary.services.audit.reports import ReportAuditor, ReportLeafAuditor
from notary.services.audit.tree import CheckpointAuditor, TreeAuditor
from notary.storage.blobs import BlobStore
from notary.storage.db import Database
from notary.verify.trust import TrustedLog


class Progress(Protocol):
    def update(self, n_steps: int) -> None: ...


ProgressFactory = Callable[[str, int], AbstractContextManager[Progress]]
"""Makes a progress display from a label and a total (``click.progressbar`` fits)."""


@dataclass(frozen=True)
class CheckResult:
    name: str
    checked: int
    divergence: Divergence | None


@dataclass(frozen=True)
class AuditReport:
    results: tuple[CheckResult, ...]

    @property
    def divergence(self) -> Divergence | None:
        """The first divergence, in the auditors' order; ``None`` when the store is clean."""
        return next((r.divergence for r in self.results if r.divergence is not None), None)

    @property
    def clean(self) -> bool:
        return self.divergence is None

    def as_dict(self) -> dict[str, Any]:
        first = self.divergence
        return {
            "clean": first is None,
            "divergence": None if first is None else first.as_dict(),
            "checks": [
                {
                    "name": result.name,
                    "checked": result.checked,
                    "status": "ok" if result.divergence is None else "diverged",
                    **({"divergence": result.divergence.as_dict()} if result.divergence else {}),
                }
                for result in self.results
            ],
        }


class _Silent:
    def update(self, n_steps: int) -> None:
        pass


def _no_progress(label: str, total: int) -> AbstractContextManager[Progress]:
    return nullcontext(_Silent())


def run_audit(
    db: Database, auditors: Sequence[Auditor], *, progress: ProgressFactory = _no_progress
) -> AuditReport:
    """Run every auditor; raises :class:`ValueError` for an empty list (an audit that checks
    nothing must not pass).
    """
    if not auditors:
        raise ValueError("an audit needs at least one auditor")
    results = []
    for auditor in auditors:
        checked = 0
        divergence = None
        with progress(auditor.label, auditor.total(db)) as bar:
            try:
                for step in auditor.run(db):
                    checked += step
                    bar.update(step)
            except DivergenceFound as found:
                divergence = found.divergence
        results.append(CheckResult(auditor.name, checked, divergence))
    return AuditReport(tuple(results))


def default_auditors(blobs: BlobStore, *, trusted_logs: Sequence[TrustedLog]) -> list[Auditor]:
    """Every check, in the order in which the first divergence is reported.

    ``trusted_logs`` are the origins and keys the log's checkpoints may be signed with, each
    for its sizes (``LogOrigins.trusted_logs``: the stored origins, old ones kept after a
    rotation).
    """
    return [
        DocumentAuditor(blobs),
        LeafAuditor(),
        ChainAuditor(),
        TreeAuditor(),
        CheckpointAuditor(tuple(trusted_logs)),
        ContractRecordAuditor(),
        AuditChainAuditor(),
        AnchorAuditor(),
        ReportAuditor(blobs),
        ReportLeafAuditor(),
    ]
