"""``notary audit``: re-derive every hash from storage and report the first divergence.

An audit is a list of independent *auditors* (:func:`default_auditors`), each of which
streams through its tables in batches (memory stays flat however large the store), yields
progress as it goes and raises :class:`DivergenceFound` at its first divergence. The runner
runs every auditor, so the report names each check's first divergence; the report's
``divergence`` is the first of those in the auditors' order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from sqlalchemy import func, select

from notary.storage.blobs import BlobStore
from notary.storage.db import Database
from notary.verify.canonical import parse_json
from notary.verify.errors import MalformedInput, VerificationError
from notary.verify.note import NoteVerifierKey

BATCH = 500


@dataclass(frozen=True)
class Divergence:
    """Where stored data no longer agrees with what it must hash or link to."""

    check: str
    what: str
    where: str
    message: str
    expected: str | None = None
    found: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value is not None}


class DivergenceFound(VerificationError):
    """Raised by an auditor at its first divergence."""

    code = "audit_divergence"

    def __init__(self, divergence: Divergence) -> None:
        super().__init__(
            f"{divergence.what} {divergence.where}: {divergence.message}", details=divergence.as_dict()
        )
        self.divergence = divergence


class Auditor(Protocol):
    """One independent check over stored data."""

    name: str
    label: str

    def total(self, db: Database) -> int:
        """How many items :meth:`run` will check (for the progress bar)."""

    def run(self, db: Database) -> Iterator[int]:
        """Check every item, yielding how many were checked since the last yield.

        Raises :class:`DivergenceFound` at the first divergence.
        """


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


def default_auditors(
    blobs: BlobStore, *, log_origin: str, log_verifier_keys: Sequence[NoteVerifierKey]
) -> list[Auditor]:
    """Every check, in the order in which the first divergence is reported.

    ``log_verifier_keys`` are the keys the log's checkpoints may be signed with (the current
    log key; older ones too once keys rotate). Hook points: the timestamp tokens of records and
    checkpoints are one more auditor of the same shape, after ``checkpoints``.
    """
    from notary.services.audit.leaves import ChainAuditor, DocumentAuditor, LeafAuditor
    from notary.services.audit.records import AnchorAuditor, AuditChainAuditor, ContractRecordAuditor
    from notary.services.audit.tree import CheckpointAuditor, TreeAuditor

    return [
        DocumentAuditor(blobs),
        LeafAuditor(),
        ChainAuditor(),
        TreeAuditor(),
        CheckpointAuditor(log_origin, tuple(log_verifier_keys)),
        ContractRecordAuditor(),
        AuditChainAuditor(),
        AnchorAuditor(),
    ]


# --- helpers shared by the auditors -------------------------------------------------------


def count_rows(db: Database, column: Any, *where: Any) -> int:
    """``count(column)`` over rows matching ``where``."""
    with db.read() as session:
        return int(session.execute(select(func.count(column)).where(*where)).scalar_one())


def batches(
    db: Database, key: Any, columns: Sequence[Any], *where: Any, size: int = BATCH
) -> Iterator[list[Any]]:
    """Rows (not ORM objects, so nothing accumulates) in ``key`` order, ``size`` at a time, each
    batch read in its own short transaction (keyset paging: every batch costs the same).
    """
    last = None
    while True:
        with db.read() as session:
            query = select(*columns).where(*where).order_by(key).limit(size)
            if last is not None:
                query = query.where(key > last)
            rows = list(session.execute(query).all())
        if not rows:
            return
        yield rows
        last = getattr(rows[-1], key.key)


def parse_object(data: bytes, what: str) -> dict[str, Any]:
    """A stored JSON object; raises :class:`MalformedInput`."""
    value = parse_json(data, what=what)
    if not isinstance(value, dict):
        raise MalformedInput(f"{what} is not a JSON object")
    return value
