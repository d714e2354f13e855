"""The schema check that opening a vault runs, without Alembic."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory

from vault.services import Vault
from vault.storage import SCHEMA_REVISION, Database, schema_is_current, upgrade_schema
from vault.storage._schema import alembic_config


def test_schema_revision_names_the_newest_migration(vault: Vault) -> None:
    assert ScriptDirectory.from_config(alembic_config(vault.database)).get_current_head() == SCHEMA_REVISION


def test_a_migrated_vault_is_current(vault: Vault) -> None:
    assert schema_is_current(vault.database)


def test_a_vault_one_migration_behind_is_not_current(vault: Vault) -> None:
    command.downgrade(alembic_config(vault.database), "-1")
    try:
        assert not schema_is_current(vault.database)
    finally:
        upgrade_schema(vault.database)


def test_an_empty_database_is_not_current(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        assert not schema_is_current(database)
    finally:
        database.dispose()
