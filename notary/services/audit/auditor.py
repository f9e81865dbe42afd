"""What an auditor of ``notary audit`` is, and the batched reads every auditor uses.

Auditors (:mod:`~notary.services.audit.leaves`, :mod:`~notary.services.audit.records`,
:mod:`~notary.services.audit.tree`) import this module; the runner
(:mod:`~notary.services.audit.integrity`) imports them and this, so nothing runs in a circle.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from sqlalchemy import func, select

from notary.storage.db import Database
from notary.verify.canonical import parse_json
from notary.verify.errors import MalformedInput, NotaryError, VerificationError

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


#: What a stored value of the wrong type raises when a check reads it (a text in a number
#: column, a number where bytes belong, bytes that are not UTF-8, a missing key): the store
#: diverges from its schema, which is a divergence to report, never a traceback.
WRONG_TYPE = (TypeError, ValueError, KeyError, IndexError, AttributeError, UnicodeError, OverflowError)


@dataclass
class Findings:
    """Where an auditor reports what it finds: by default the first divergence stops the
    check (:class:`DivergenceFound`); with ``collect_all`` (``notary audit --all``) every one
    is kept and the check goes on with the next item."""

    check: str
    collect_all: bool = False
    divergences: list[Divergence] = field(default_factory=list)

    def add(self, divergence: Divergence) -> None:
        """Report one divergence; raises :class:`DivergenceFound` unless collecting all."""
        self.divergences.append(divergence)
        if not self.collect_all:
            raise DivergenceFound(divergence)

    @contextmanager
    def item(self, what: str, where: object) -> Iterator[None]:
        """Check one item: a :class:`DivergenceFound` it raises, a stored value that does not
        read or verify (a :class:`NotaryError`), or a value of the wrong type
        (:data:`WRONG_TYPE`), is reported as that item's divergence."""
        try:
            yield
        except DivergenceFound as found:
            if found.divergence in self.divergences:
                raise
            self.add(found.divergence)
        except NotaryError as exc:  # stored evidence that no longer reads or verifies
            self.add(Divergence(self.check, what, str(where), f"{exc.code}: {exc.message}"))
        except WRONG_TYPE as exc:
            self.add(
                Divergence(
                    self.check,
                    what,
                    str(where),
                    f"a stored value is not of its column's type ({type(exc).__name__}: {str(exc)[:200]})",
                )
            )


class Auditor(Protocol):
    """One independent check over stored data."""

    name: str
    label: str

    def total(self, db: Database) -> int:
        """How many items :meth:`run` will check (for the progress bar)."""

    def run(self, db: Database, findings: Findings) -> Iterator[int]:
        """Check every item, yielding how many were checked since the last yield; report each
        divergence to ``findings`` (which raises :class:`DivergenceFound` unless collecting
        all), each item checked inside ``findings.item`` so a wrong-typed value is one too.
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
