"""What an auditor of ``notary audit`` is, and the batched reads every auditor uses.

Auditors (:mod:`~notary.services.audit.leaves`, :mod:`~notary.services.audit.records`,
:mod:`~notary.services.audit.tree`) import this module; the runner
(:mod:`~notary.services.audit.integrity`) imports them and this, so nothing runs in a circle.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from sqlalchemy import func, select

from notary.storage.db import Database
from notary.verify.canonical import parse_json
from notary.verify.errors import MalformedInput, VerificationError

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
