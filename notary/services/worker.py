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

from notary.runtime import Runtime
from notary.services import auth
from notary.services.audit.trail import anchor_audit_head
from notary.services.ceremony.signatures import EXPIRED
from notary.services.clock import stamp
from notary.services.filing.service import AWAITING
from notary.storage.lease import LeaseKeeper
from notary.storage.models import ApiToken, Contract

log = logging.getLogger(__name__)

Step = Callable[[], int]
"""One kind of background work: does a batch and says how many items it handled."""


def expire_overdue(rt: Runtime) -> int:
    """Mark contracts whose signing deadline passed before both signed as ``expired``."""
    now = stamp(rt.clock)
    with rt.db.read() as session:
        overdue = select(Contract.id).where(Contract.status == AWAITING, Contract.deadline <= now).limit(1)
        if session.execute(overdue).first() is None:
            return 0
    with rt.db.write() as session:
        result = session.execute(
            update(Contract)
            .where(Contract.status == AWAITING, Contract.deadline <= now)
            .values(status=EXPIRED, closed_at=now)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def purge_expired_tokens(rt: Runtime) -> int:
    """Delete party tokens past their expiry (they answer ``unauthenticated`` either way), so
    the token table holds the live ones, not every login ever made."""
    now = stamp(rt.clock)
    with rt.db.write() as session:
        result = session.execute(
            delete(ApiToken).where(ApiToken.kind == auth.PARTY, ApiToken.expires_at <= now)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def default_steps(rt: Runtime) -> list[Step]:
    """The work a leader does on every round, in order."""
    return [
        lambda: len(rt.sequencer.seal_pending()),
        lambda: anchor_audit_head(rt.db, rt.clock, rt.sequencer.sinks),
        rt.stamper.stamp_records,
        rt.checkpointer.run_once,
        rt.stamper.stamp_checkpoints,
        at_most_every(1.0, lambda: expire_overdue(rt)),
        at_most_every(600.0, lambda: purge_expired_tokens(rt)),
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
    """Runs the steps while it holds the lease; waits for it otherwise."""

    def __init__(
        self, rt: Runtime, *, steps: Sequence[Step] | None = None, holder: str | None = None
    ) -> None:
        self.rt = rt
        self.steps = list(steps) if steps is not None else default_steps(rt)
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}"
        self.lease = LeaseKeeper(rt.db, "worker", self.holder, duration=rt.settings.lease_duration)

    def run_once(self) -> int:
        """One round if this worker leads; returns the items handled (0 when idle or not leader)."""
        if not self.lease.hold():
            return 0
        return sum(step() for step in self.steps)

    def run(self, stop: threading.Event) -> None:
        """Work until ``stop`` is set, then give the lease up."""
        idle_wait = self.rt.settings.worker_poll_interval
        try:
            while not stop.is_set():
                try:
                    handled = self.run_once()
                except Exception:
                    # A failed round is rolled back whole; log it and try again shortly.
                    log.exception("background round failed")
                    handled = 0
                if not handled:
                    stop.wait(idle_wait if self.lease.hold() else self.rt.settings.lease_duration / 3)
        finally:
            self.lease.release()
