"""Schema management through Alembic, for SQLite and PostgreSQL alike."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from ._database import Database

__all__ = ["alembic_config", "create_schema", "schema_is_current", "upgrade_schema"]

_MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(database: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database.url.replace("%", "%%"))
    config.attributes["engine"] = database.engine
    return config


def upgrade_schema(database: Database, revision: str = "head") -> None:
    command.upgrade(alembic_config(database), revision)


def create_schema(database: Database) -> None:
    """Bring an empty or older database to the newest schema."""
    upgrade_schema(database, "head")


def schema_is_current(database: Database) -> bool:
    head = ScriptDirectory.from_config(alembic_config(database)).get_current_head()
    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() == head
