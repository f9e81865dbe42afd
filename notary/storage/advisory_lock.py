"""Leadership on PostgreSQL: a session-level advisory lock held on a connection of its own.

The lock lives exactly as long as the database session that took it. When the holder's
process dies its connection closes and PostgreSQL releases the lock at once; when the
holder hangs or is cut off, ``idle_session_timeout`` (set on that session to the lease
duration) ends the session and the lock with it, so a holder that stops renewing loses
leadership after the lease time, as with the lease row on SQLite.

The connection is a bare DBAPI connection rather than a pooled SQLAlchemy one: a pooled
connection may be replaced silently after a disconnect, and the replacement would not hold
the lock. Here a lost connection is an error, and an error means the lock is gone.
"""

from __future__ import annotations

import hashlib
import logging
import weakref
from typing import Any

import psycopg

from notary.storage.db import Database

logger = logging.getLogger(__name__)


def lock_key(name: str) -> int:
    """The advisory lock's 64-bit key for a lease name: stable across processes and versions."""
    digest = hashlib.sha256(b"notary.lease\x00" + name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class AdvisoryLock:
    """One advisory lock, taken with ``pg_try_advisory_lock`` on a dedicated session."""

    def __init__(self, db: Database, name: str, *, idle_timeout: float) -> None:
        self.db = db
        self.name = name
        self.key = lock_key(name)
        self.idle_timeout_ms = max(1, round(idle_timeout * 1000))
        self._connection: Any = None
        self._closer: weakref.finalize | None = None

    @property
    def held(self) -> bool:
        """Whether this object believes it holds the lock (confirm with :meth:`confirm`)."""
        return self._connection is not None

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; never waits. Database errors count as not taken."""
        if self._connection is not None:
            return self.confirm()
        try:
            connection = self._connect()
        except psycopg.Error as exc:  # the database is away, so we do not lead
            logger.warning("advisory lock %s: cannot connect: %s", self.name, exc)
            return False
        try:
            taken = bool(connection.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()[0])
        except psycopg.Error as exc:
            logger.warning("advisory lock %s: cannot ask for it: %s", self.name, exc)
            taken = False
        if not taken:
            _close(connection)
            return False
        self._connection = connection
        # A lock object dropped without release (a worker built and forgotten) closes its
        # session when collected, which also releases the lock.
        self._closer = weakref.finalize(self, _close, connection)
        return True

    def confirm(self) -> bool:
        """Touch the lock's session: True while it (and so the lock) is alive; False once lost.

        Each call also resets the session's idle timeout, so calling it more often than the
        lease duration is what keeps the lock.
        """
        if self._connection is None:
            return False
        try:
            self._connection.execute("SELECT 1").fetchone()
        except psycopg.Error as exc:
            logger.warning("advisory lock %s: its session was lost: %s", self.name, exc)
            self.drop()
            return False
        return True

    def execute(self, sql: str, params: tuple[Any, ...]) -> Any:
        """Run a statement on the lock's session (autocommit); raises the driver's errors."""
        if self._connection is None:
            raise RuntimeError("the advisory lock is not held")
        return self._connection.execute(sql, params)

    def release(self) -> None:
        """Give the lock up and close its session (closing alone would release it too)."""
        if self._connection is None:
            return
        try:
            self._connection.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
        except psycopg.Error as exc:
            logger.debug("advisory lock %s: unlock failed, closing anyway: %s", self.name, exc)
        self.drop()

    def drop(self) -> None:
        """Forget the session (after an error); PostgreSQL releases the lock when it ends."""
        closer, self._connection, self._closer = self._closer, None, None
        if closer is not None:
            closer()

    def _connect(self) -> Any:
        engine = self.db.engine
        cargs, cparams = engine.dialect.create_connect_args(engine.url)
        connection = engine.dialect.connect(*cargs, **cparams)
        connection.autocommit = True
        try:
            # A holder that stops touching its session (hung, partitioned) loses it, and the
            # lock, after this long (PostgreSQL 14 and later).
            connection.execute(f"SET idle_session_timeout = {self.idle_timeout_ms}")
        except psycopg.Error as exc:
            logger.warning("advisory lock %s: idle_session_timeout unsupported: %s", self.name, exc)
            _close(connection)
            connection = engine.dialect.connect(*cargs, **cparams)
            connection.autocommit = True
        return connection


def _close(connection: Any) -> None:
    try:
        connection.close()
    except psycopg.Error as exc:
        logger.debug("closing a lock session failed: %s", exc)
