"""The witness's storage: one SQLite file of its own, beside its key.

What it keeps, per log origin: the latest checkpoint it cosigned (the one thing that must
never go backwards), every checkpoint it ever cosigned, and every refused checkpoint that
shows the log misbehaving (a fork, a rollback, a proof that does not verify) with what it had
cosigned before. Checking the old size and storing the new checkpoint happen in one
``BEGIN IMMEDIATE`` transaction, so two requests can never both advance from the same size
(the race C2SP tlog-witness warns of). ``synchronous=FULL``: a cosignature is only returned
after its checkpoint is on disk.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS latest (
    origin TEXT PRIMARY KEY,
    tree_size INTEGER NOT NULL,
    root_hash BLOB NOT NULL,
    note TEXT NOT NULL,
    cosignature TEXT NOT NULL,
    cosigned_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cosigned (
    origin TEXT NOT NULL,
    tree_size INTEGER NOT NULL,
    root_hash BLOB NOT NULL,
    note TEXT NOT NULL,
    cosignature TEXT NOT NULL,
    cosigned_at TEXT NOT NULL,
    PRIMARY KEY (origin, tree_size)
);
CREATE TABLE IF NOT EXISTS misbehaviour (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    origin TEXT NOT NULL,
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    request TEXT NOT NULL,
    checkpoint TEXT NOT NULL,
    previous TEXT,
    detected_at TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Cosigned:
    """A checkpoint the witness cosigned: its note as the log signed it, and the cosignature."""

    origin: str
    tree_size: int
    root_hash: bytes
    note: str
    cosignature: str
    cosigned_at: str

    @property
    def cosigned_note(self) -> str:
        """The log's note with the witness's cosignature line added."""
        return self.note + self.cosignature

    def to_dict(self) -> dict[str, Any]:
        """As JSON."""
        return {
            "origin": self.origin,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash.hex(),
            "checkpoint": self.cosigned_note,
            "cosigned_at": self.cosigned_at,
        }


class WitnessState:
    """The witness's SQLite file. Every method opens its own connection (safe across threads)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with self._connect() as connection:
            connection.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        return connection

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (``BEGIN IMMEDIATE``); committed on success."""
        connection = self._connect()
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        finally:
            connection.close()

    @staticmethod
    def latest_in(connection: sqlite3.Connection, origin: str) -> Cosigned | None:
        """The latest checkpoint cosigned for ``origin``, read inside ``connection``."""
        row = connection.execute(
            "SELECT origin, tree_size, root_hash, note, cosignature, cosigned_at FROM latest WHERE origin = ?",
            (origin,),
        ).fetchone()
        return None if row is None else Cosigned(*row)

    @staticmethod
    def cosigned_at_size(connection: sqlite3.Connection, origin: str, tree_size: int) -> Cosigned | None:
        """What was cosigned at exactly ``tree_size``, if anything."""
        row = connection.execute(
            "SELECT origin, tree_size, root_hash, note, cosignature, cosigned_at FROM cosigned "
            "WHERE origin = ? AND tree_size = ?",
            (origin, tree_size),
        ).fetchone()
        return None if row is None else Cosigned(*row)

    @staticmethod
    def advance(connection: sqlite3.Connection, cosigned: Cosigned) -> None:
        """Store a new latest checkpoint (and keep it in the history)."""
        values = (
            cosigned.origin,
            cosigned.tree_size,
            cosigned.root_hash,
            cosigned.note,
            cosigned.cosignature,
            cosigned.cosigned_at,
        )
        connection.execute("INSERT OR REPLACE INTO latest VALUES (?, ?, ?, ?, ?, ?)", values)
        connection.execute("INSERT OR REPLACE INTO cosigned VALUES (?, ?, ?, ?, ?, ?)", values)

    def record_misbehaviour(
        self,
        *,
        origin: str,
        kind: str,
        reason: str,
        request: bytes,
        checkpoint: str,
        previous: str | None,
        at: str,
    ) -> None:
        """Keep a refused checkpoint as evidence, in its own transaction (it survives the refusal)."""
        with self.transaction() as connection:
            connection.execute(
                "INSERT INTO misbehaviour (origin, kind, reason, request, checkpoint, previous, detected_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (origin, kind, reason, request.decode("utf-8", "replace"), checkpoint, previous, at),
            )

    def latest(self, origin: str) -> Cosigned | None:
        """The latest cosigned checkpoint of ``origin``."""
        connection = self._connect()
        try:
            return self.latest_in(connection, origin)
        finally:
            connection.close()

    def all_latest(self) -> list[Cosigned]:
        """The latest cosigned checkpoint of every origin."""
        connection = self._connect()
        try:
            rows = connection.execute(
                "SELECT origin, tree_size, root_hash, note, cosignature, cosigned_at FROM latest ORDER BY origin"
            ).fetchall()
        finally:
            connection.close()
        return [Cosigned(*row) for row in rows]

    def misbehaviour(self) -> list[dict[str, Any]]:
        """Every refused checkpoint kept as evidence, oldest first."""
        connection = self._connect()
        try:
            rows = connection.execute(
                "SELECT id, origin, kind, reason, request, checkpoint, previous, detected_at "
                "FROM misbehaviour ORDER BY id"
            ).fetchall()
        finally:
            connection.close()
        names = ("id", "origin", "kind", "reason", "request", "checkpoint", "previous", "detected_at")
        return [dict(zip(names, row, strict=True)) for row in rows]

    def backup(self, target: Path) -> None:
        """A consistent copy of the state to ``target`` (SQLite's online backup), for the docs'
        backup routine: safe while the witness serves."""
        source = self._connect()
        try:
            destination = sqlite3.connect(target)
            try:
                source.backup(destination)
            finally:
                destination.close()
        finally:
            source.close()


def dumps(value: Any) -> str:
    """Compact JSON for the command line."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
