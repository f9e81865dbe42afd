"""Creating and upgrading the schema with Alembic (``notary init`` and the tests call this)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from notary.storage.db import Database


def alembic_config(database: Database) -> Config:
    """An Alembic config pointing at the migrations shipped in the package."""
    config = Config()
    config.set_main_option("script_location", "notary:migrations")
    config.set_main_option("sqlalchemy.url", database.url.replace("%", "%%"))
    return config


def upgrade(database: Database) -> None:
    """Bring the schema to the latest revision (idempotent)."""
    config = alembic_config(database)
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
