"""Trusted time for the log: a token for every leaf, and for every checkpoint one per authority.

Tokens are asked for outside any database transaction (an authority may be slow or away) and
stored together afterwards. When no authority answers, the work simply stays pending: the
leaf is sealed already, it waits, and the next rounds retry with a growing pause. A leaf is
never stamped twice: its sequence is the token's primary key.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from notary.errors import TimestampUnavailable
from notary.services.clock import Clock, stamp
from notary.signing.tsa_client import StampResult, TimestampClient
from notary.storage.db import Database, insert_new
from notary.storage.models import CheckpointTimestamp, LogLeaf, RecordTimestamp, SignedCheckpoint
from notary.verify.note import Checkpoint
from notary.verify.payloads import format_time

log = logging.getLogger(__name__)


@dataclass
class Backoff:
    """A pause that doubles after each failure (up to ``ceiling`` seconds) and resets on success."""

    floor: float = 0.5
    ceiling: float = 60.0
    monotonic: Callable[[], float] = time.monotonic
    _pause: float = 0.0
    _until: float = field(default=0.0)

    def ready(self) -> bool:
        return self.monotonic() >= self._until

    def failed(self) -> None:
        self._pause = min(self.ceiling, max(self.floor, self._pause * 2))
        self._until = self.monotonic() + self._pause

    def succeeded(self) -> None:
        self._pause, self._until = 0.0, 0.0


def checkpoint_body(checkpoint: SignedCheckpoint) -> bytes:
    """The signed body of a stored checkpoint: what its tokens are over."""
    return Checkpoint(checkpoint.origin, checkpoint.tree_size, checkpoint.root_hash).body


def _token_row(result: StampResult, now: str) -> dict[str, object]:
    return {
        "authority": result.authority,
        "response": result.response,
        "chain_pem": result.chain_pem.decode("ascii"),
        "gen_time": format_time(result.info.gen_time),
        "serial": format(result.info.serial_number, "x"),
        "stamped_at": now,
    }


class Stamper:
    """Asks the configured authorities for the tokens the log still lacks."""

    def __init__(self, db: Database, client: TimestampClient, clock: Clock, *, batch_size: int = 500) -> None:
        self.db = db
        self.client = client
        self.clock = clock
        self.batch_size = batch_size
        self.records_backoff = Backoff()
        self.authority_backoff = {authority.name: Backoff() for authority in client.authorities}

    def stamp_records(self) -> int:
        """Stamp up to ``batch_size`` leaves without a token; returns how many were stamped."""
        if not self.records_backoff.ready():
            return 0
        with self.db.read() as session:
            pending = session.execute(
                select(LogLeaf.sequence, LogLeaf.record)
                .outerjoin(RecordTimestamp, RecordTimestamp.sequence == LogLeaf.sequence)
                .where(RecordTimestamp.sequence.is_(None))
                .order_by(LogLeaf.sequence)
                .limit(self.batch_size)
            ).all()
        rows = []
        for sequence, record in pending:
            try:
                result = self.client.stamp_first(hashlib.sha256(record).digest())
            except TimestampUnavailable as exc:
                log.warning("record %s waits for a timestamp: %s", sequence, exc.message)
                self.records_backoff.failed()
                break
            rows.append({"sequence": sequence, **_token_row(result, stamp(self.clock))})
        else:
            self.records_backoff.succeeded()
        if rows:
            with self.db.write() as session:
                insert_new(session, RecordTimestamp, rows, ["sequence"])
        return len(rows)

    def stamp_checkpoints(self, limit: int = 20) -> int:
        """Give checkpoints the tokens they lack, one per configured authority; returns tokens added."""
        names = [authority.name for authority in self.client.authorities]
        with self.db.read() as session:
            have = (
                select(CheckpointTimestamp.tree_size, func.count().label("tokens"))
                .where(CheckpointTimestamp.authority.in_(names))
                .group_by(CheckpointTimestamp.tree_size)
                .subquery()
            )
            wanting = (
                session.execute(
                    select(SignedCheckpoint)
                    .outerjoin(have, have.c.tree_size == SignedCheckpoint.tree_size)
                    .where(func.coalesce(have.c.tokens, 0) < len(names))
                    .order_by(SignedCheckpoint.tree_size)
                    .limit(limit)
                )
                .scalars()
                .all()
            )
            stamped = {
                (size, authority)
                for size, authority in session.execute(
                    select(CheckpointTimestamp.tree_size, CheckpointTimestamp.authority).where(
                        CheckpointTimestamp.tree_size.in_([c.tree_size for c in wanting])
                    )
                )
            }
        rows = []
        for checkpoint in wanting:
            digest = hashlib.sha256(checkpoint_body(checkpoint)).digest()
            for position, name in enumerate(names, start=1):
                backoff = self.authority_backoff[name]
                if (checkpoint.tree_size, name) in stamped or not backoff.ready():
                    continue
                try:
                    result = self.client.stamp_with(name, digest)
                except TimestampUnavailable as exc:
                    log.warning(
                        "checkpoint %s waits for a token from %s: %s", checkpoint.tree_size, name, exc.message
                    )
                    backoff.failed()
                    continue
                backoff.succeeded()
                rows.append(
                    {
                        "tree_size": checkpoint.tree_size,
                        "position": position,
                        **_token_row(result, stamp(self.clock)),
                    }
                )
        if rows:
            with self.db.write() as session:
                insert_new(session, CheckpointTimestamp, rows, ["tree_size", "authority"])
        return len(rows)


def timestamp_backlog(session: Session) -> int:
    """Leaves still waiting for their token."""
    return session.execute(
        select(func.count())
        .select_from(LogLeaf)
        .outerjoin(RecordTimestamp, RecordTimestamp.sequence == LogLeaf.sequence)
        .where(RecordTimestamp.sequence.is_(None))
    ).scalar_one()
