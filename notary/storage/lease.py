"""Leadership of background work: one leader at a time, across processes and machines.

A row in ``leases`` names the holder and when its claim lapses; the holder renews it, and a
holder that dies loses it after ``duration`` seconds, when another worker takes over. The
log stays safe even if two ever overlap: leaves are keyed by sequence, so the second writer's
transaction fails whole.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy.exc import IntegrityError, OperationalError

from notary.storage.db import Database
from notary.storage.models import Lease


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

    def hold(self) -> bool:
        """True if this holder leads now (renewing the claim when a third of it has passed)."""
        if self._monotonic() < self._renew_after:
            return True
        try:
            held = self._claim()
        except (IntegrityError, OperationalError):
            held = False
        self._renew_after = self._monotonic() + self.duration / 3 if held else 0.0
        return held

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
        try:
            with self.db.write() as session:
                lease = session.get(Lease, self.name, with_for_update=True)
                if lease is not None and lease.holder == self.holder:
                    lease.expires_at = 0.0
        except OperationalError:
            pass
