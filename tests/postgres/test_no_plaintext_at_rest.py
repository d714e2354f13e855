"""PostgreSQL counterpart of the SQLite file scan: no number in any form in the dump, the table files or the WAL."""

from __future__ import annotations

import subprocess
from pathlib import Path

import psycopg
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from tests.api.test_no_plaintext_leaks import NUMBERS, number_forms, register_all
from tests.conftest import TenantKeys
from tests.servers import PostgresServer
from vault.services import Vault


def database_name(vault: Vault) -> str:
    return str(make_url(vault.database.url).database)


def test_a_data_only_dump_holds_no_number_in_any_format(
    client: TestClient, acme: TenantKeys, vault: Vault, postgres_server: PostgresServer
) -> None:
    register_all(client, acme)
    dump = subprocess.run(
        [
            str(postgres_server.bindir / "pg_dump"),
            "--data-only",
            "--dbname",
            postgres_server.dsn_for(database_name(vault)),
        ],
        capture_output=True,
        timeout=60,
        check=True,
    ).stdout
    assert b"COPY public.contacts" in dump  # the dump really holds the tables
    for number in NUMBERS:
        for form in number_forms(number):
            assert form not in dump, "the dump holds a number"


def test_the_table_files_and_the_wal_hold_no_number_in_any_format(
    client: TestClient, acme: TenantKeys, vault: Vault, postgres_server: PostgresServer
) -> None:
    register_all(client, acme)
    with psycopg.connect(postgres_server.dsn, autocommit=True) as conn:
        conn.execute("CHECKPOINT")  # table pages reach the files
        oid = conn.execute("SELECT oid FROM pg_database WHERE datname = %s", (database_name(vault),)).fetchone()
    assert oid is not None
    files = [p for p in (postgres_server.datadir / "base" / str(oid[0])).iterdir() if p.is_file()]
    files += [p for p in (postgres_server.datadir / "pg_wal").iterdir() if p.is_file()]
    assert any(p.parent.name == "pg_wal" for p in files)
    for path in files:
        data = Path(path).read_bytes()
        for number in NUMBERS:
            for form in number_forms(number):
                assert form not in data, f"{path.name} holds a number"
