"""Leadership of background work: one leader at a time, across processes and machines.

On SQLite a row in ``leases`` names the holder and when its claim lapses; the holder renews
it, and a holder that dies loses it after ``duration`` seconds, when another worker takes
over. On PostgreSQL leadership is a session-level advisory lock (see
:mod:`notary.storage.advisory_lock`), released the moment the holder's process dies; the row
is still written there (holder, epoch, renewal time) so that operators and tests see who
leads on either database. The log stays safe even if two ever overlap: leaves are keyed by
sequence, so the second writer's transaction fails whole.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

import psycopg
from sqlalchemy.exc import IntegrityError, OperationalError

from notary.storage.advisory_lock import AdvisoryLock
from notary.storage.db import Database
from notary.storage.models import Lease

_CLAIM_ROW = (
    "INSERT INTO leases (name, holder, expires_at, epoch) VALUES (%s, %s, %s, 1) "
    "ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at, "
    "epoch = leases.epoch + 1 RETURNING epoch"
)
_RENEW_ROW = "UPDATE leases SET expires_at = %s WHERE name = %s AND holder = %s"
_RELEASE_ROW = "UPDATE leases SET expires_at = 0 WHERE name = %s AND holder = %s"


class LeaseKeeper:
    """Holds (or waits for) the lease called ``name`` on behalf of ``holder``."""

    def __init__(
        self,
        db: Database,
        name: str,
        holder: str,
        *,
        duration: float,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.name = name
        self.holder = holder
        self.duration = duration
        self._monotonic = monotonic
        self._wall = wall
        self._renew_after = 0.0
        self.epoch = 0
        self._lock = AdvisoryLock(db, name, idle_timeout=duration) if db.dialect == "postgresql" else None

    def hold(self) -> bool:
        """True if this holder leads now (renewing the claim when a third of it has passed)."""
        if self._monotonic() < self._renew_after:
            return True
        try:
            held = self._claim() if self._lock is None else self._claim_lock(self._lock)
        except (IntegrityError, OperationalError):
            held = False
        self._renew_after = self._monotonic() + self.duration / 3 if held else 0.0
        return held

    def _claim_lock(self, lock: AdvisoryLock) -> bool:
        # The row is written on the lock's own session: a statement that succeeds there
        # proves the session, and so the lock, was alive when it ran.
        expires_at = self._wall() + self.duration
        if lock.held:
            try:
                lock.execute(_RENEW_ROW, (expires_at, self.name, self.holder))
            except psycopg.Error:
                lock.drop()
                return False
            return True
        if not lock.try_acquire():
            return False
        try:
            self.epoch = int(lock.execute(_CLAIM_ROW, (self.name, self.holder, expires_at)).fetchone()[0])
        except psycopg.Error:
            lock.drop()
            return False
        return True

    def _claim(self) -> bool:
        now = self._wall()
        with self.db.write() as session:
            lease = session.get(Lease, self.name, with_for_update=True)
            if lease is None:
                session.add(
                    Lease(name=self.name, holder=self.holder, expires_at=now + self.duration, epoch=1)
                )
                self.epoch = 1
                return True
            if lease.holder != self.holder and lease.expires_at > now:
                return False
            if lease.holder != self.holder:
                lease.epoch += 1
                lease.holder = self.holder
            lease.expires_at = now + self.duration
            self.epoch = lease.epoch
            return True

    def release(self) -> None:
        """Give the lease up at once (a clean shutdown), so another worker need not wait."""
        self._renew_after = 0.0
        if self._lock is not None:
            if self._lock.held:
                with contextlib.suppress(psycopg.Error):  # the lock goes with its session anyway
                    self._lock.execute(_RELEASE_ROW, (self.name, self.holder))
                self._lock.release()
            return
        try:
            with self.db.write() as session:
                lease = session.get(Lease, self.name, with_for_update=True)
                if lease is not None and lease.holder == self.holder:
                    lease.expires_at = 0.0
        except OperationalError:
            pass


def lease_row(db: Database, name: str) -> Lease | None:
    """The lease called ``name`` as last written (holder, epoch, ``expires_at`` on the machine's
    clock), or ``None`` when nobody ever held it; a read for operators, never a claim."""
    with db.read() as session:
        return session.get(Lease, name)
