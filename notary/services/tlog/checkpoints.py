"""Checkpoints: the log's signed tree heads (C2SP tlog-checkpoint, Ed25519 signed notes).

While the tree grows, a new checkpoint is signed at least every ``interval`` seconds (and not
more often, so that their number stays bounded). Every checkpoint is kept forever, and the
log never signs two different roots for one size: the size is the primary key and the root
comes from the stored tree.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from notary.services.clock import Clock, parse_time
from notary.services.tlog.origins import LogOrigins
from notary.services.tlog.published import PublishedMark
from notary.storage.db import Database
from notary.storage.models import SignedCheckpoint
from notary.storage.tree import tree_state
from notary.verify.note import Checkpoint
from notary.verify.payloads import format_time


class Checkpointer:
    """Signs a checkpoint when the tree has grown past the last one and the interval has passed."""

    def __init__(
        self,
        db: Database,
        origins: LogOrigins,
        *,
        interval: float,
        clock: Clock,
        mark: PublishedMark | None = None,
    ) -> None:
        self.db = db
        self.origins = origins
        self.interval = dt.timedelta(seconds=interval)
        self.clock = clock
        self.mark = mark
        """Where each new checkpoint is also written, outside the database (see
        :mod:`~notary.services.tlog.published`)."""

    def run_once(self) -> int:
        """Sign at most one checkpoint; returns 1 if it signed one, else 0."""
        now = self.clock()
        with self.db.read() as session:
            # A look first: an idle round takes no write lock from the web workers.
            if not self._due(session, now):
                return 0
        with self.db.write() as session:
            if not self._due(session, now):
                return 0
            size, root = tree_state(session)
            # The stored origin, read in this transaction: a rotation by another process
            # takes effect at the next checkpoint, with no restart.
            signer = self.origins.signer(self.origins.current(session))
            checkpoint = Checkpoint(signer.name, size, root)
            note = signer.sign_checkpoint(checkpoint)
            session.add(
                SignedCheckpoint(
                    tree_size=size,
                    root_hash=root,
                    note=note,
                    origin=signer.name,
                    key_hash=signer.key_hash.hex(),
                    signed_at=format_time(now),
                )
            )
        if self.mark is not None:
            # After the commit: the mark never names a checkpoint the database does not hold.
            # A crash between the two leaves the mark one checkpoint behind, never ahead.
            self.mark.advance(note, size)
        return 1

    def _due(self, session: Session, now: dt.datetime) -> bool:
        size, _ = tree_state(session)
        last = session.execute(
            select(SignedCheckpoint.tree_size, SignedCheckpoint.signed_at)
            .order_by(SignedCheckpoint.tree_size.desc())
            .limit(1)
        ).first()
        return last is None or (size > last.tree_size and now - parse_time(last.signed_at) >= self.interval)
