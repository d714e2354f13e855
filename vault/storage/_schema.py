"""Schema management through Alembic, for SQLite and PostgreSQL alike."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import OperationalError, ProgrammingError

from ._database import Database

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["SCHEMA_REVISION", "alembic_config", "create_schema", "schema_is_current", "upgrade_schema"]

_MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
# The newest migration's revision (a test holds it to Alembic's head). Opening a vault compares it with the
# database's without loading Alembic and reading every migration script: ~0.2 s off each CLI command.
SCHEMA_REVISION = "0010"


def alembic_config(database: Database) -> Config:
    from alembic.config import Config  # noqa: PLC0415 - Alembic loads only to migrate

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database.url.replace("%", "%%"))
    config.attributes["engine"] = database.engine
    return config


def upgrade_schema(database: Database, revision: str = "head") -> None:
    from alembic import command  # noqa: PLC0415

    command.upgrade(alembic_config(database), revision)


def create_schema(database: Database) -> None:
    """Bring an empty or older database to the newest schema."""
    upgrade_schema(database, "head")


def schema_is_current(database: Database) -> bool:
    with database.engine.connect() as connection:
        try:
            revisions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        except (OperationalError, ProgrammingError):  # no version table: an empty database
            return False
    return revisions == [SCHEMA_REVISION]
