"""Autogenerate an Alembic revision from the table definitions: python scripts/make-migration.py MESSAGE."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command

from vault.storage import Database
from vault.storage._schema import alembic_config, upgrade_schema


def main() -> None:
    message = sys.argv[1] if len(sys.argv) > 1 else "schema change"
    with tempfile.TemporaryDirectory() as tmp:
        database = Database(f"sqlite:///{Path(tmp) / 'scratch.db'}")
        upgrade_schema(database)
        command.revision(alembic_config(database), message=message, autogenerate=True)
        database.dispose()


if __name__ == "__main__":
    main()
