"""Alembic migrations build exactly the tables the code declares, on PostgreSQL and on SQLite.

If this fails after a table change, the change has no migration: run
`python scripts/make-migration.py "what changed"` and review the generated revision.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Integer, LargeBinary, MetaData, Table, inspect, select, text

from tests.servers import PostgresServer
from vault.storage import Database, schema_is_current, upgrade_schema
from vault.storage._types import JSONText, UTCDateTime
from vault.storage.tables import metadata

pytestmark = pytest.mark.postgres


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIALVAULT_")}
    return subprocess.run(
        [sys.executable, "-m", "vault.cli", *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def differences(database: Database) -> list[object]:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


@pytest.fixture
def empty_postgres(postgres_server: PostgresServer) -> Iterator[Database]:
    name = f"migrations_{os.urandom(4).hex()}"
    database = Database(postgres_server.create_database(name))
    yield database
    database.dispose()


def test_db_upgrade_builds_the_declared_schema_on_an_empty_postgresql_database(empty_postgres: Database) -> None:
    result = run_cli("db", "upgrade", "--database-url", empty_postgres.url)
    assert result.returncode == 0, result.stderr
    assert schema_is_current(empty_postgres)
    assert differences(empty_postgres) == []


def test_db_upgrade_builds_the_declared_schema_on_an_empty_sqlite_file(tmp_path: Path) -> None:
    result = run_cli("db", "upgrade", "--data-dir", str(tmp_path / "vault"))
    assert result.returncode == 0, result.stderr
    database = Database(f"sqlite:///{tmp_path / 'vault' / 'vault.db'}")
    try:
        assert schema_is_current(database)
        assert differences(database) == []
    finally:
        database.dispose()


def test_upgrading_a_current_postgresql_database_changes_nothing(empty_postgres: Database) -> None:
    upgrade_schema(empty_postgres)
    upgrade_schema(empty_postgres)
    assert schema_is_current(empty_postgres)
    assert differences(empty_postgres) == []


def test_column_types_map_to_native_postgresql_types(empty_postgres: Database) -> None:
    upgrade_schema(empty_postgres)
    with empty_postgres.engine.connect() as connection:
        types = {
            (table, column): data_type
            for table, column, data_type in connection.execute(
                text(
                    "SELECT table_name, column_name, data_type FROM information_schema.columns "
                    "WHERE table_schema = 'public'"
                )
            )
        }
    for table in metadata.sorted_tables:
        for column in table.columns:
            found = types[(table.name, column.name)]
            if isinstance(column.type, LargeBinary):
                assert found == "bytea", (table.name, column.name, found)
            elif isinstance(column.type, UTCDateTime):
                assert found == "timestamp without time zone", (table.name, column.name, found)
            elif isinstance(column.type, JSONText):
                assert found == "text", (table.name, column.name, found)


def test_utc_datetimes_bytes_and_json_round_trip_on_postgresql(empty_postgres: Database) -> None:
    scratch = MetaData()
    table = Table(
        "type_probe",
        scratch,
        Column("id", Integer, primary_key=True),
        Column("at", UTCDateTime),
        Column("blob", LargeBinary),
        Column("doc", JSONText),
    )
    scratch.create_all(empty_postgres.engine)
    shanghai = timezone(timedelta(hours=8))
    at = datetime(2026, 3, 2, 12, 0, 0, 123456, tzinfo=shanghai)
    blob = bytes(range(256))
    doc = {"b": [1, 2], "a": "é"}
    with empty_postgres.engine.begin() as connection:
        connection.execute(table.insert().values(id=1, at=at, blob=blob, doc=doc))
    with empty_postgres.engine.connect() as connection:
        row = connection.execute(select(table.c.at, table.c.blob, table.c.doc)).one()
        raw = connection.execute(text("SELECT doc FROM type_probe")).scalar_one()
    assert row.at == at and row.at.tzinfo == UTC
    assert row.at.hour == 4  # stored as UTC
    assert row.blob == blob
    assert row.doc == doc
    assert raw == '{"a":"é","b":[1,2]}'  # canonical text, identical to SQLite's, so row hashes match


def test_every_table_has_a_primary_key(empty_postgres: Database) -> None:
    upgrade_schema(empty_postgres)
    inspector = inspect(empty_postgres.engine)
    for table in metadata.sorted_tables:
        assert inspector.get_pk_constraint(table.name)["constrained_columns"], table.name


def test_two_upgrades_started_at_once_both_succeed(empty_postgres: Database) -> None:
    # Separate processes, as on two hosts (Alembic's context is process-global, not per thread).
    script = "import sys; from vault.storage import Database, upgrade_schema; upgrade_schema(Database(sys.argv[1]))"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIALVAULT_")}
    processes = [
        subprocess.Popen([sys.executable, "-c", script, empty_postgres.url], env=env, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    for process in processes:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr.decode(errors="replace")[-2000:]
    assert differences(empty_postgres) == []
