"""SQLite's plans for authorize's reads: each starts from what the request names, never from a scan.

Without statistics, SQLite's planner picks a join order from the statement's shape; with a long IN list
it started the handle read from the tenant's campaigns and read every handle of the campaign."""

from __future__ import annotations

import pytest
from sqlalchemy.dialects import sqlite

from vault.services import Vault
from vault.services.dialing._authorize import _LIST_SIZES, _handle_statement, _history_statement
from vault.storage import Prepared


def _plan(vault: Vault, statement: Prepared) -> list[str]:
    sql = statement.statement.compile(dialect=sqlite.dialect()).string
    with vault.database.read_tx() as tx:
        rows = tx.dbapi.execute("EXPLAIN QUERY PLAN " + sql, [None] * sql.count("?")).fetchall()
    return [str(row[3]) for row in rows]


@pytest.mark.sqlite_only("reads SQLite's query plans")
@pytest.mark.parametrize("size", _LIST_SIZES)
@pytest.mark.parametrize("with_line", [True, False])
@pytest.mark.parametrize("lock", [True, False])
def test_the_joined_handle_read_starts_from_the_handles_primary_key(
    vault: Vault, size: int, with_line: bool, lock: bool
) -> None:
    first = _plan(vault, _handle_statement(with_line, lock, size))[0]
    assert first.startswith("SEARCH dial_handles USING INDEX") and first.endswith("(id=?)"), first


@pytest.mark.sqlite_only("reads SQLite's query plans")
@pytest.mark.parametrize("size", _LIST_SIZES)
def test_the_attempts_read_probes_the_cap_index_per_contact(vault: Vault, size: int) -> None:
    assert _plan(vault, _history_statement(size)) == [
        "SEARCH attempts USING INDEX ix_attempts_cap (tenant_id=? AND contact_id=?)"
    ]
