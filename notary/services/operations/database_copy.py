"""A consistent copy of the database while the service writes to it, and the way back.

SQLite: the online backup API (``sqlite3.Connection.backup``) in one step, which reads every
page inside one read transaction; in WAL mode that never blocks the writers, and a step-wise
copy would restart at each write under load and might never finish. PostgreSQL: ``pg_dump``
(custom format) under a snapshot exported from a REPEATABLE READ transaction, in which the
log's facts for the manifest are read too, so the dump and the manifest describe one moment.
"""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from notary.errors import Conflict, Unavailable
from notary.storage.db import Database

_TREE = "SELECT tree_size, root_hash FROM log_state WHERE id = 1"
_NEWEST = "SELECT tree_size, note, origin FROM checkpoints ORDER BY tree_size DESC LIMIT 1"
_REVISION = "SELECT version_num FROM alembic_version"


class DumpFailed(Unavailable):
    """The database could not be copied (``pg_dump`` or ``pg_restore`` failed, or is missing)."""

    code = "backup_database_failed"


class TargetDatabaseNotEmpty(Conflict):
    """A PostgreSQL backup is restored only into an empty database."""

    code = "restore_database_not_empty"


@dataclass(frozen=True)
class LogFacts:
    """What the copied database holds of the log, for the manifest."""

    tree_size: int
    root_hash: str
    checkpoint_size: int | None
    checkpoint: str | None
    origin: str | None
    schema_revision: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "tree_size": self.tree_size,
            "root_hash": self.root_hash,
            "checkpoint_size": self.checkpoint_size,
            "checkpoint": self.checkpoint,
            "origin": self.origin,
        }


def _facts(rows: Any) -> LogFacts:
    tree, newest, revision = rows
    return LogFacts(
        tree_size=int(tree[0]) if tree else 0,
        root_hash=bytes(tree[1]).hex() if tree else "",
        checkpoint_size=int(newest[0]) if newest else None,
        checkpoint=newest[1] if newest else None,
        origin=newest[2] if newest else None,
        schema_revision=revision[0] if revision else None,
    )


def copy_sqlite(source: Path, destination: Path) -> LogFacts:
    """Copy the SQLite database at ``source`` to ``destination`` (a new file) online."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(destination)
        try:
            src.backup(dst)  # pages=-1: every page in one step, one read transaction
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
            facts = _facts([dst.execute(sql).fetchone() for sql in (_TREE, _NEWEST, _REVISION)])
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise DumpFailed(f"the SQLite database could not be copied: {exc}") from exc
    finally:
        src.close()
    return facts


def postgres_tool(name: str) -> str:
    """The path of ``pg_dump`` / ``pg_restore``: on PATH, else Debian's newest cluster binaries."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(Path(p).parent.parent.name)
    )
    if not candidates:
        raise DumpFailed(f"{name} is not installed (Debian package postgresql-client)")
    return candidates[-1]


def libpq_target(url: str) -> tuple[str, dict[str, str]]:
    """A SQLAlchemy PostgreSQL URL as a libpq connection string, and the environment that
    carries its password (never on a command line, where ``ps`` shows it)."""
    parsed = make_url(url)
    parts = {
        "dbname": parsed.database or "",
        "user": parsed.username or "",
        "host": parsed.host or str(parsed.query.get("host") or ""),
        "port": str(parsed.port or ""),
    }
    conninfo = " ".join(f"{key}='{_quoted(value)}'" for key, value in parts.items() if value)
    environment = dict(os.environ)
    if parsed.password:
        environment["PGPASSWORD"] = str(parsed.password)
    return conninfo, environment


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def dump_postgres(db: Database, destination: Path) -> LogFacts:
    """``pg_dump -Fc`` of ``db`` to ``destination``, under a snapshot the facts are read in."""
    conninfo, environment = libpq_target(db.url)
    pg_dump = postgres_tool("pg_dump")
    with db.engine.connect() as connection:
        snapshot_connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with snapshot_connection.begin():
            snapshot_connection.execute(text("SET TRANSACTION READ ONLY"))
            snapshot = snapshot_connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            facts = _facts(
                [snapshot_connection.execute(text(sql)).first() for sql in (_TREE, _NEWEST, _REVISION)]
            )
            done = subprocess.run(  # noqa: S603 - fixed tool, arguments from our own settings
                [pg_dump, "--format=custom", f"--snapshot={snapshot}", "--no-owner", "--no-privileges",
                 f"--file={destination}", f"--dbname={conninfo}"],
                env=environment, capture_output=True, check=False,
            )  # fmt: skip
    if done.returncode != 0:
        raise DumpFailed(f"pg_dump failed: {done.stderr.decode('utf-8', 'replace').strip()[:500]}")
    return facts


def ensure_empty(db: Database) -> None:
    """Raise :class:`TargetDatabaseNotEmpty` unless ``db`` has no table."""
    with db.engine.connect() as connection:
        tables = connection.execute(
            text("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
        ).scalar_one()
    if tables:
        raise TargetDatabaseNotEmpty(
            f"the target database already holds {tables} table(s): restore into an empty database"
        )


def restore_postgres(db: Database, dump: Path) -> None:
    """``pg_restore`` of ``dump`` into ``db``, which must be empty; one transaction."""
    ensure_empty(db)
    conninfo, environment = libpq_target(db.url)
    done = subprocess.run(  # noqa: S603 - fixed tool, arguments from our own settings
        [postgres_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
         "--single-transaction", f"--dbname={conninfo}", str(dump)],
        env=environment, capture_output=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise DumpFailed(f"pg_restore failed: {done.stderr.decode('utf-8', 'replace').strip()[:500]}")
