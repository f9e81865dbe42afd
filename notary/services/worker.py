"""Background work: sealing, checkpoints and timestamps, deadline expiry, and writing
the audit trail's head into the log.

Any number of workers may run; the one holding the lease does the work, the others wait to
take over.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence

from sqlalchemy import delete, select, update

from notary.services import auth, outbox
from notary.services.audit.trail import anchor_audit_head
from notary.services.ceremony.signatures import EXPIRED
from notary.services.clock import Clock, now_text
from notary.services.filing.service import AWAITING
from notary.services.metrics import WORKER_ITEMS, WORKER_LAST_ROUND, WORKER_ROUNDS
from notary.services.tlog.checkpoints import Checkpointer
from notary.services.tlog.sequencer import Sequencer
from notary.services.tlog.timestamps import Stamper
from notary.services.tlog.witnesses import CosignatureCollector
from notary.storage.db import Database
from notary.storage.lease import LeaseKeeper
from notary.storage.models import ApiToken, Contract

logger = logging.getLogger(__name__)

Step = Callable[[], int]
"""One kind of background work: does a batch and says how many items it handled."""


class Chores:
    """Small upkeep no request waits for: deadlines that passed, tokens that expired."""

    def __init__(self, db: Database, clock: Clock, *, batch_size: int = 2000) -> None:
        self.db = db
        self.clock = clock
        self.batch_size = batch_size

    def expire_overdue(self) -> int:
        """Mark contracts whose signing deadline passed before both signed as ``expired``."""
        now = now_text(self.clock)
        with self.db.read() as session:
            overdue = (
                select(Contract.id).where(Contract.status == AWAITING, Contract.deadline <= now).limit(1)
            )
            if session.execute(overdue).first() is None:
                return 0
        with self.db.write() as session:
            # Rows first, so each expiry's event goes out with it (at most a batch a round).
            expiring = (
                session.execute(
                    select(Contract)
                    .where(Contract.status == AWAITING, Contract.deadline <= now)
                    .order_by(Contract.deadline, Contract.id)
                    .limit(self.batch_size)
                    .with_for_update()
                )
                .scalars()
                .all()
            )
            if not expiring:
                return 0
            session.execute(
                update(Contract),
                [{"id": contract.id, "status": EXPIRED, "closed_at": now} for contract in expiring],
            )
            outbox.emit(session, [outbox.contract_expired(c, expired_at=now) for c in expiring], now=now)
            return len(expiring)

    def purge_expired_tokens(self) -> int:
        """Delete party tokens past their expiry (they answer ``unauthenticated`` either way), so
        the token table holds the live ones, not every login ever made."""
        now = now_text(self.clock)
        with self.db.write() as session:
            result = session.execute(
                delete(ApiToken).where(ApiToken.kind == auth.PARTY, ApiToken.expires_at <= now)
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]


def default_steps(
    sequencer: Sequencer,
    stamper: Stamper,
    checkpointer: Checkpointer,
    chores: Chores,
    db: Database,
    clock: Clock,
    cosignatures: CosignatureCollector | None = None,
    *,
    leaf_steps: Sequence[Step] = (),
    upkeep: Sequence[Step] = (),
) -> list[Step]:
    """The work a leader does on every round, in order. ``leaf_steps`` append other leaves
    (reports) before the round's timestamps and checkpoint; ``upkeep`` runs last. Asking
    witnesses to cosign only hands out requests and stores answers that arrived: it never
    waits for one."""
    adopt: list[Step] = [cosignatures.adopt_once] if cosignatures is not None else []
    cosign: list[Step] = [cosignatures.run_once] if cosignatures is not None else []
    return [
        *adopt,
        lambda: len(sequencer.seal_pending()),
        lambda: anchor_audit_head(db, clock, sequencer.sinks),
        *leaf_steps,
        stamper.stamp_records,
        checkpointer.run_once,
        stamper.stamp_checkpoints,
        *cosign,
        at_most_every(1.0, chores.expire_overdue),
        at_most_every(600.0, chores.purge_expired_tokens),
        *upkeep,
    ]


def at_most_every(seconds: float, step: Step, monotonic: Callable[[], float] = time.monotonic) -> Step:
    """``step``, run at most once per ``seconds`` (work that is never urgent)."""
    next_run = 0.0

    def throttled() -> int:
        nonlocal next_run
        now = monotonic()
        if now < next_run:
            return 0
        next_run = now + seconds
        return step()

    return throttled


class Worker:
    """Runs the steps while it holds the lease (``lease_name``: one leader per kind of work);
    waits for it otherwise.

    ``linger``: after a round that did something, wait that long before the next one (group
    commit). Under a steady trickle of signatures (one contract at a time) rounds would
    otherwise follow each other back to back, each sealing and stamping one or two contracts
    in transactions of their own; waiting a few milliseconds lets a round take everything that
    came in meanwhile, at the price of at most ``linger`` more seal latency. Nothing is
    acknowledged by the worker, so durability is unchanged."""

    def __init__(
        self,
        db: Database,
        steps: Sequence[Step],
        *,
        lease_duration: float,
        poll_interval: float,
        linger: float = 0.0,
        holder: str | None = None,
        lease_name: str = "worker",
    ) -> None:
        self.steps = list(steps)
        self.linger = linger
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}"
        self.lease_duration = lease_duration
        self.poll_interval = poll_interval
        self.lease = LeaseKeeper(db, lease_name, self.holder, duration=lease_duration)

    def run_once(self) -> int:
        """One round if this worker leads; returns the items handled (0 when idle or not leader)."""
        if not self.lease.hold():
            return 0
        try:
            handled = sum(step() for step in self.steps)
        except Exception:
            WORKER_ROUNDS.labels(outcome="failed").inc()
            raise
        WORKER_ROUNDS.labels(outcome="ok").inc()
        WORKER_ITEMS.inc(handled)
        WORKER_LAST_ROUND.set(time.time())
        return handled

    def run(self, stop: threading.Event) -> None:
        """Work until ``stop`` is set, then give the lease up."""
        idle_wait = self.poll_interval
        try:
            while not stop.is_set():
                try:
                    handled = self.run_once()
                except Exception:
                    # A failed round is rolled back whole; log it and try again shortly.
                    logger.exception("background round failed")
                    handled = 0
                if not handled:
                    stop.wait(idle_wait if self.lease.hold() else self.lease_duration / 3)
                elif self.linger:
                    stop.wait(self.linger)
        finally:
            self.lease.release()
