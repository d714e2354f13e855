"""Alembic environment: runs on the engine the caller hands over, or on the configured URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine, create_engine, text

from vault.storage.tables import metadata

config = context.config
_MIGRATION_LOCK_KEY = int.from_bytes(b"dvmigrat", "big") & 0x7FFF_FFFF_FFFF_FFFF


def _engine() -> Engine:
    engine = config.attributes.get("engine")
    if isinstance(engine, Engine):
        return engine
    return create_engine(config.get_main_option("sqlalchemy.url") or "")


def run_migrations_online() -> None:
    with _engine().connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # Two `dialvault db upgrade` started at once (several hosts) run one after the other;
                # the whole upgrade is one transaction, so the second finds the schema current.
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
            context.run_migrations()
        connection.commit()


run_migrations_online()
