"""The database handle: one engine, read and write sessions, and the settings durability needs.

SQLite (the embedded default) runs in WAL mode with ``synchronous=FULL`` so that a 2xx answer
survives ``kill -9``; write transactions start with ``BEGIN IMMEDIATE`` so that concurrent
writers queue instead of failing on a lock upgrade. Read transactions stay deferred so that
readers never wait for writers. PostgreSQL runs with its defaults.

SQLite's own wait for the write lock is a busy handler that sleeps 1, 2, 5, 10 ... up to
100 ms between tries, so a writer often sleeps on after the lock is free. Writers through
:meth:`Database.write` therefore first take an exclusive ``flock`` of a file beside the
database (``<database>-writers``), trying again after at most 1 ms, for at most 30 s (then
``Unavailable``, as SQLite's busy timeout failed); the kernel drops it with a process that
dies. Under the benchmark's lifecycle load the queue alone cut the wait for the write lock
from about 9 to 6 ms a transaction (and to 2.5-3.5 ms once the filing's and the signature's
reads moved out of their write transactions). SQLite's lock stays the one that counts: a writer that does not take
the ``flock`` (another program) is still serialised by it.
"""

from __future__ import annotations

import errno
import fcntl
import functools
import os
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from notary.errors import Unavailable

_WRITE = "notary_write"
_QUEUE_TIMEOUT = 30.0  # as SQLite's busy timeout: a writer waiting longer fails the same way


class WriterQueue:
    """Writers to one SQLite file take turns: a thread lock in the process, an ``flock`` across.

    A forked child starts afresh: its own lock file description (an inherited one would share
    the parent's turn) and an unheld thread lock (the parent may have held it at the fork).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.timeout = _QUEUE_TIMEOUT
        self._thread_lock = threading.Lock()
        # A bare descriptor, closed by close() or, for a queue nobody closed, when the queue is
        # collected (no ResourceWarning then: it holds no data, only the flock).
        self._fd: int | None = None
        self._closer: weakref.finalize[[int], None] | None = None
        _QUEUES.add(self)

    def _forked(self) -> None:
        self._thread_lock = threading.Lock()
        # Closing the child's copy of the descriptor leaves the parent's lock alone (an flock
        # belongs to the open file description, which the parent still holds).
        self.close()

    @contextmanager
    def turn(self) -> Iterator[None]:
        if not self._thread_lock.acquire(timeout=self.timeout):
            raise Unavailable(f"the database is busy: no turn to write within {self.timeout:g} s")
        try:
            if self._fd is None:
                # Read-only is enough for flock, so a file made by another user (an operator's
                # CLI run) still serves; it holds no data.
                self._fd = fd = os.open(self.path, os.O_RDONLY | os.O_CREAT, 0o644)
                self._closer = weakref.finalize(self, os.close, fd)
            fd = self._fd
            self._lock_file(fd)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()

    def _lock_file(self, file: int) -> None:
        # Polled, not a blocking flock: a blocking one cannot time out, and a writer must
        # fail after the timeout as SQLite's did, never hang. Waits grow to 1 ms, not
        # SQLite's 100.
        deadline = time.monotonic() + self.timeout
        pause = 0.0001
        while True:
            try:
                fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise Unavailable(
                        f"the database is busy: no turn to write within {self.timeout:g} s"
                    ) from None
                time.sleep(pause)
                pause = min(pause * 2, 0.001)

    def close(self) -> None:
        if self._closer is not None:
            self._closer()  # closes the descriptor once
            self._fd = self._closer = None


_QUEUES: weakref.WeakSet[WriterQueue] = weakref.WeakSet()
os.register_at_fork(after_in_child=lambda: [queue._forked() for queue in list(_QUEUES)])


def normalise_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given without a driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Database:
    """An engine and its sessions. Build one per process (after a fork, build a new one)."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = normalise_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        else:
            kwargs.update(pool_pre_ping=True, pool_size=5, max_overflow=10)
        self.engine: Engine = create_engine(self.url, **kwargs)
        self.writers: WriterQueue | None = None
        if self.is_sqlite:
            _configure_sqlite(self.engine)
            database = self.engine.url.database
            if database and database != ":memory:" and not database.startswith("file:"):
                self.writers = WriterQueue(database + "-writers")
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        self._write_engine = self.engine.execution_options(**{_WRITE: True})
        self._writer = sessionmaker(self._write_engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction: committed when the block ends, rolled back if it raises."""
        with self.writers.turn() if self.writers else nullcontext(), self._writer.begin() as session:
            yield session

    @contextmanager
    def write_rows(self) -> Iterator[Connection]:
        """A write transaction on a bare connection (Core statements only, no unit of work):
        committed when the block ends, rolled back if it raises. For the hot write paths."""
        with self.writers.turn() if self.writers else nullcontext(), self._write_engine.begin() as connection:
            yield connection

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction (never committed)."""
        session = self._reader()
        try:
            yield session
        finally:
            # close() ends the transaction and detaches objects without expiring them, so
            # what was read stays readable after the block.
            session.close()

    @contextmanager
    def read_rows(self) -> Iterator[Connection]:
        """A read-only transaction on a bare connection, for statements that return plain rows
        (no ORM objects): half the CPU of a session for a one-statement read (115 against
        217 µs for a token's lookup), which every authenticated request makes."""
        with self.engine.connect() as connection:
            yield connection

    def ping(self) -> None:
        """Check that the database answers; raises :class:`Unavailable` otherwise."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except (OperationalError, SQLAlchemyError) as exc:
            raise Unavailable("the database does not answer") from exc

    def dispose(self) -> None:
        """Close every pooled connection (after a fork, or at exit)."""
        self.engine.dispose()
        if self.writers is not None:
            self.writers.close()


#: errno values of a write that found no space (a full disk or quota, or a file-size limit).
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def storage_full(error: BaseException) -> bool:
    """Whether ``error`` says a write found no space: the disk, a quota, or the database's own."""
    if isinstance(error, OSError):
        return error.errno in _NO_SPACE
    if isinstance(error, DBAPIError):
        cause = error.orig
        # SQLite: SQLITE_FULL ("database or disk is full"); PostgreSQL: SQLSTATE 53100 disk_full.
        return "disk is full" in str(cause) or getattr(cause, "sqlstate", None) == "53100"
    return False


def database_down(error: BaseException) -> bool:
    """Whether ``error`` says the database could not be reached or used (a server down or
    restarting, a dropped connection, a lock held past its timeout), not that a statement was wrong."""
    return isinstance(error, OperationalError) or (
        isinstance(error, DBAPIError) and bool(error.connection_invalidated)
    )


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event decide how each transaction starts.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")


def insert_new(
    session: Session | Connection, model: type, rows: list[dict[str, Any]], keys: list[str]
) -> None:
    """Insert ``rows``, skipping those whose key (``keys``) is already stored, on either database."""
    if not rows:
        return
    session.execute(_insert_new(dialect_of(session), model, tuple(keys)), rows)


def dialect_of(session: Session | Connection) -> str:
    """``sqlite`` or ``postgresql``: the database a session or a bare connection talks to."""
    return (session.get_bind() if isinstance(session, Session) else session).dialect.name


@functools.cache
def _insert_new(dialect: str, model: type, keys: tuple[str, ...]) -> Any:
    # Into the table, not the mapped class: the ORM's bulk insert path costs more than the
    # statement for the one or few rows a request inserts. Built once per table.
    table = model.__table__  # type: ignore[attr-defined]
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return insert(table).on_conflict_do_nothing(index_elements=list(keys))
