"""Creating and upgrading the schema with Alembic (``notary init`` and the tests call this)."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, inspect, text

from notary.storage.db import Database


def alembic_config(database: Database) -> Config:
    """An Alembic config pointing at the migrations shipped in the package."""
    config = Config()
    config.set_main_option("script_location", "notary:migrations")
    config.set_main_option("sqlalchemy.url", database.url.replace("%", "%%"))
    return config


def upgrade(database: Database, *, identity_upgrade: object | None = None) -> None:
    """Bring the schema to the latest revision (idempotent).

    ``identity_upgrade`` is what revision 0011 needs to give round-1 parties salted identity
    commitments (``IdentitySecrets``, holding the personal-data key); without it, that revision
    refuses a database that has parties.
    """
    config = alembic_config(database)
    with migration_connection(database) as connection:
        config.attributes["connection"] = connection
        config.attributes["identity_upgrade"] = identity_upgrade
        command.upgrade(config, "head")


class ForeignKeyViolation(RuntimeError):
    """A migration left rows pointing at rows that do not exist; it was rolled back."""


@contextmanager
def migration_connection(database: Database) -> Iterator[Connection]:
    """A connection in one transaction for migrations.

    SQLite changes a column by copying its table and dropping the original, which foreign keys
    pointing at that table forbid; so, as SQLite's documentation prescribes for schema changes,
    they are switched off around the transaction (that cannot happen inside one), every
    reference is checked with ``PRAGMA foreign_key_check`` before the commit, and they are
    switched on again before the connection goes back to the pool.
    """
    if database.dialect != "sqlite":
        with database.engine.begin() as connection:
            yield connection
        return
    with database.engine.connect() as connection:
        raw = connection.connection.driver_connection
        assert raw is not None
        raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                yield connection
                broken = connection.execute(text("PRAGMA foreign_key_check")).first()
                if broken is not None:
                    raise ForeignKeyViolation(f"a migration broke a reference: {tuple(broken)}")
        finally:
            raw.execute("PRAGMA foreign_keys=ON")


@functools.lru_cache(maxsize=1)
def code_head() -> str:
    """The newest revision this code ships (read once per process: the code does not change)."""
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", "notary:migrations")
    return ScriptDirectory.from_config(config).get_current_head() or ""


def schema_revisions(database: Database) -> tuple[str | None, str]:
    """The revision the database is at (``None`` when it was never migrated) and the newest
    revision this code ships. A plain read of Alembic's table, cheap enough for every health
    check. Raises SQLAlchemy's errors when the database does not answer."""
    with database.engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None, code_head()
        current = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().first()
    return current, code_head()
