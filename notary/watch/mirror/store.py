"""The mirror's storage: one SQLite file of its own.

    nodes (level, idx, hash)            every complete subtree, as the notary stores them
    leaves (idx, record_sha256)         which record each leaf holds (hashes only)
    checkpoints (tree_size, note)       every checkpoint checked, with its cosignatures
    alarms (id, kind, message, ...)     what the mirror refused, and why

Only what was checked is stored: a batch of leaves and the checkpoint whose root they must
give are written in one transaction, after the root matched.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from notary.verify.merkle.plan import Node

SCHEMA = """
CREATE TABLE IF NOT EXISTS nodes (level INTEGER, idx INTEGER, hash BLOB NOT NULL, PRIMARY KEY (level, idx));
CREATE TABLE IF NOT EXISTS leaves (idx INTEGER PRIMARY KEY, record_sha256 TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS checkpoints (
    tree_size INTEGER PRIMARY KEY, origin TEXT NOT NULL, root_hash BLOB NOT NULL, note TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS alarms (
    id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, message TEXT NOT NULL,
    evidence TEXT NOT NULL, at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class MirrorStore:
    """The mirror's SQLite file; each call opens its own connection (safe across threads)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with self.connect() as connection:
            connection.executescript(SCHEMA)

    def connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        return connection

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        connection = self.connect()
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

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        connection = self.connect()
        try:
            yield connection
        finally:
            connection.close()

    @staticmethod
    def size(connection: sqlite3.Connection) -> int:
        row = connection.execute("SELECT max(idx) FROM leaves").fetchone()
        return 0 if row[0] is None else row[0] + 1

    @staticmethod
    def nodes(connection: sqlite3.Connection, wanted: Iterable[Node]) -> dict[Node, bytes]:
        found: dict[Node, bytes] = {}
        for level, idx in wanted:
            row = connection.execute(
                "SELECT hash FROM nodes WHERE level = ? AND idx = ?", (level, idx)
            ).fetchone()
            if row is not None:
                found[(level, idx)] = row[0]
        return found

    @staticmethod
    def add(
        connection: sqlite3.Connection,
        start: int,
        record_hashes: list[str],
        nodes: Mapping[Node, bytes],
        checkpoints: Iterable[tuple[int, str, bytes, str]],
    ) -> None:
        connection.executemany(
            "INSERT INTO leaves (idx, record_sha256) VALUES (?, ?)",
            [(start + offset, value) for offset, value in enumerate(record_hashes)],
        )
        connection.executemany(
            "INSERT OR REPLACE INTO nodes (level, idx, hash) VALUES (?, ?, ?)",
            [(level, idx, value) for (level, idx), value in nodes.items()],
        )
        connection.executemany("INSERT OR REPLACE INTO checkpoints VALUES (?, ?, ?, ?)", list(checkpoints))

    @staticmethod
    def latest(connection: sqlite3.Connection) -> tuple[int, bytes, str] | None:
        row = connection.execute(
            "SELECT tree_size, root_hash, note FROM checkpoints ORDER BY tree_size DESC LIMIT 1"
        ).fetchone()
        return None if row is None else (row[0], row[1], row[2])

    def alarm(self, kind: str, message: str, evidence: str, at: str) -> None:
        with self.transaction() as connection:
            known = connection.execute(
                "SELECT 1 FROM alarms WHERE kind = ? AND evidence = ?", (kind, evidence)
            ).fetchone()
            if known is None:
                connection.execute(
                    "INSERT INTO alarms (kind, message, evidence, at) VALUES (?, ?, ?, ?)",
                    (kind, message, evidence, at),
                )

    def alarms(self) -> list[dict[str, Any]]:
        with self.reading() as connection:
            rows = connection.execute(
                "SELECT id, kind, message, evidence, at FROM alarms ORDER BY id"
            ).fetchall()
        return [dict(zip(("id", "kind", "message", "evidence", "at"), row, strict=True)) for row in rows]

    def set_meta(self, name: str, value: str) -> None:
        with self.transaction() as connection:
            connection.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, value))

    def meta(self, name: str) -> str | None:
        with self.reading() as connection:
            row = connection.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else row[0]
