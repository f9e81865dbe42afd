"""Rate-limit counters in a small SQLite file of their own, shared by every process on the host.

`limits` (the library under Flask-Limiter) has no SQL storage, and keeping the counters in the
evidence database would queue every request behind its one writer. So the embedded default is
this: one table in ``<instance>/ratelimits.sqlite``, one UPSERT per counted request (WAL, no
fsync per commit: a counter lost in a power cut costs nothing). Redis (``redis://``) is the
production option for several hosts; both are built by :func:`counter_storage`.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from limits.storage import Storage, storage_from_string

_SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (
    key TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    expires_at REAL NOT NULL
) WITHOUT ROWID
"""

# A window that has run out starts again at this request's amount; one statement, so two
# processes counting the same key at once both count (SQLite serialises the writes).
_INCR = """
INSERT INTO counters (key, count, expires_at) VALUES (:key, :amount, :expires_at)
ON CONFLICT (key) DO UPDATE SET
    count = CASE WHEN counters.expires_at <= :now THEN :amount ELSE counters.count + :amount END,
    expires_at = CASE WHEN counters.expires_at <= :now THEN :expires_at ELSE counters.expires_at END
RETURNING count
"""

#: Expired counters are swept after this many increments by one connection.
_SWEEP_EVERY = 1000


class SQLiteCounters(Storage):
    """Fixed-window counters for `limits` in a SQLite file (``sqlite:///ABSOLUTE/PATH``).

    Safe across threads and processes: each thread of each process has its own connection,
    and every change is a single statement. ``now`` is the clock the windows run on.
    """

    STORAGE_SCHEME = None  # built by counter_storage, not registered under a URI scheme

    def __init__(
        self, uri: str, wrap_exceptions: bool = False, *, now: Callable[[], float] = time.time
    ) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions)
        parts = urlsplit(uri)
        if parts.scheme != "sqlite" or not parts.path.startswith("/"):
            raise ValueError(f"not a sqlite:///ABSOLUTE/PATH address: {uri}")
        self.path = Path(unquote(parts.path))
        self.now = now
        self._local = threading.local()
        self._connection()  # fail at start, not on the first request, if the file is unusable

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    def _connection(self) -> sqlite3.Connection:
        local = self._local
        if getattr(local, "pid", None) != os.getpid():  # a forked child makes its own
            connection = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            connection.execute("PRAGMA busy_timeout = 10000")
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.execute(_SCHEMA)
            local.connection, local.pid, local.increments = connection, os.getpid(), 0
        connection = local.connection
        assert isinstance(connection, sqlite3.Connection)
        return connection

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        connection = self._connection()
        now = self.now()
        row = connection.execute(
            _INCR, {"key": key, "amount": amount, "expires_at": now + expiry, "now": now}
        ).fetchone()
        self._local.increments += 1
        if self._local.increments % _SWEEP_EVERY == 0:
            connection.execute("DELETE FROM counters WHERE expires_at <= ?", (now,))
        return int(row[0])

    def get(self, key: str) -> int:
        row = (
            self._connection()
            .execute("SELECT count FROM counters WHERE key = ? AND expires_at > ?", (key, self.now()))
            .fetchone()
        )
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        now = self.now()
        row = (
            self._connection()
            .execute("SELECT expires_at FROM counters WHERE key = ? AND expires_at > ?", (key, now))
            .fetchone()
        )
        return float(row[0]) if row else now

    def check(self) -> bool:
        try:
            self._connection().execute("SELECT 1").fetchone()
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        return self._connection().execute("DELETE FROM counters").rowcount

    def clear(self, key: str) -> None:
        self._connection().execute("DELETE FROM counters WHERE key = ?", (key,))


def counter_storage(uri: str) -> Storage:
    """The counters at ``uri``: ``sqlite:///PATH`` (this module) or a Redis address
    (``redis://``, ``rediss://``, ``redis+unix://``, through `limits`' own Redis storage).
    Raises ``ValueError`` for another scheme and ``sqlite3.Error`` for an unusable file."""
    scheme = urlsplit(uri).scheme
    if scheme == "sqlite":
        return SQLiteCounters(uri)
    if scheme in {"redis", "rediss", "redis+unix"}:
        storage = storage_from_string(uri)
        assert isinstance(storage, Storage)
        return storage
    raise ValueError(f"rate limit counters cannot be kept at {uri}")
