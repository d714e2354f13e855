"""Prepared statements and bare transactions: the same results and errors as SQLAlchemy's own paths."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from tests.storage.conftest import children, parents
from vault.storage import Database, DatabaseUnavailable, Prepared

AT = datetime(2026, 3, 2, 4, 0, 0, 123456, tzinfo=UTC)
_INSERT = Prepared(insert(parents))
_BY_ID = Prepared(select(parents).where(parents.c.id == bindparam("id")))
_ORPHAN = Prepared(insert(children))
_OPEN_BY_ID = Prepared(select(parents.c.id).where(parents.c.id == bindparam("id"), parents.c.status == "open"))


def _row(id_: str, status: str = "open", at: datetime | None = AT) -> dict[str, object]:
    return {"id": id_, "status": status, "at": at, "details": {"b": [1, 2], "a": "x"}, "blob": b"\x00\xff"}


def test_a_prepared_select_returns_named_rows_with_the_columns_python_types(database: Database) -> None:
    with database.write_tx() as tx:
        _INSERT.run(tx, _row("p1"))
        row = _BY_ID.first(tx, {"id": "p1"})
    assert (row.id, row.status, row.at, row.details, bytes(row.blob)) == (
        "p1", "open", AT, {"a": "x", "b": [1, 2]}, b"\x00\xff"
    )  # fmt: skip


def test_an_aware_datetime_in_any_zone_is_stored_as_the_same_utc_instant(database: Database) -> None:
    shanghai = AT.astimezone(timezone(timedelta(hours=8)))
    with database.write_tx() as tx:
        _INSERT.run(tx, _row("p1", at=shanghai))
    with database.read_tx() as tx:
        assert _BY_ID.first(tx, {"id": "p1"}).at == AT


def test_rows_written_by_prepared_statements_read_the_same_through_sqlalchemy(database: Database) -> None:
    with database.write_tx() as tx:
        _INSERT.run(tx, _row("p1"))
    with database.engine.connect() as connection:
        row = connection.execute(select(parents).where(parents.c.id == "p1")).one()
    assert (row.at, row.details) == (AT, {"a": "x", "b": [1, 2]})


def test_values_written_into_the_statement_are_bound_too(database: Database) -> None:
    with database.write_tx() as tx:
        _INSERT.run(tx, _row("p1", status="open"))
        _INSERT.run(tx, _row("p2", status="closed"))
        found = [_OPEN_BY_ID.first(tx, {"id": i}) for i in ("p1", "p2")]
    assert [r.id if r else None for r in found] == ["p1", None]


def test_a_driver_error_is_raised_as_the_sqlalchemy_error(database: Database) -> None:
    with database.write_tx() as tx:
        _INSERT.run(tx, _row("p1"))
        with pytest.raises(IntegrityError):
            _INSERT.run(tx, _row("p1"))


def test_expanding_in_lists_are_refused_when_first_run(database: Database) -> None:
    listed = Prepared(select(parents.c.id).where(parents.c.id.in_(["a", "b"])))
    with database.read_tx() as tx, pytest.raises(TypeError):
        listed.all(tx, {})


def test_a_write_tx_rolls_back_everything_when_its_block_raises(database: Database) -> None:
    with pytest.raises(RuntimeError), database.write_tx() as tx:
        _INSERT.run(tx, _row("p1"))
        raise RuntimeError("abandon")
    with database.read_tx() as tx:
        assert _BY_ID.first(tx, {"id": "p1"}) is None


def test_a_savepoint_that_raises_rolls_back_only_its_own_writes(database: Database) -> None:
    with database.write_tx() as tx:
        _INSERT.run(tx, _row("kept"))
        with pytest.raises(RuntimeError), tx.savepoint():
            _INSERT.run(tx, _row("dropped"))
            raise RuntimeError("abandon")
    with database.read_tx() as tx:
        assert [_BY_ID.first(tx, {"id": i}) is not None for i in ("kept", "dropped")] == [True, False]


def test_deferred_writes_run_once_per_key_just_before_commit(database: Database) -> None:
    with database.write_tx() as tx:
        for i in range(3):
            tx.memo["last"] = f"p{i}"
            tx.before_commit("last", lambda: _INSERT.run(tx, _row(tx.memo["last"])))
        with database.read_tx() as reader:
            assert _BY_ID.first(reader, {"id": "p2"}) is None  # not yet: the hook runs at commit
    with database.read_tx() as tx:
        assert [_BY_ID.first(tx, {"id": f"p{i}"}) is not None for i in range(3)] == [False, False, True]


def test_a_savepoint_that_raises_takes_back_its_memo_entries_and_hooks(database: Database) -> None:
    with database.write_tx() as tx:
        tx.memo["kept"] = 1
        with pytest.raises(RuntimeError), tx.savepoint():
            tx.memo["dropped"] = 2
            tx.before_commit("dropped", lambda: _INSERT.run(tx, _row("dropped")))
            raise RuntimeError("abandon")
        assert tx.memo == {"kept": 1}
    with database.read_tx() as tx:
        assert _BY_ID.first(tx, {"id": "dropped"}) is None


def test_a_read_transaction_cannot_defer_writes(database: Database) -> None:
    with database.read_tx() as tx, pytest.raises(RuntimeError):
        tx.before_commit("x", lambda: None)


def test_a_failed_commit_is_reported_as_the_store_being_unavailable(database: Database) -> None:
    with pytest.raises(DatabaseUnavailable), database.write_tx() as tx:
        _INSERT.run(tx, _row("p1"))
        _ORPHAN.run(tx, {"id": "c1", "parent_id": "nobody"})  # a deferred foreign key: checked at COMMIT
    with database.read_tx() as tx:
        assert _BY_ID.first(tx, {"id": "p1"}) is None


@pytest.mark.sqlite_only(reason="inspects the SQLite database file")
def test_background_checkpoints_copy_committed_rows_into_the_database_file(database: Database) -> None:
    path = Path(database.engine.url.database or "")
    with database.write_tx() as tx:
        _INSERT.run(tx, _row("marker-row-checkpointed"))
    assert b"marker-row-checkpointed" not in path.read_bytes()  # only in the WAL so far
    database.start_checkpoints(interval=0.01)
    try:
        deadline = time.monotonic() + 10
        while b"marker-row-checkpointed" not in path.read_bytes():
            assert time.monotonic() < deadline, "no checkpoint within 10 s"
            time.sleep(0.01)
    finally:
        database.stop_checkpoints()


@pytest.mark.sqlite_only(reason="inspects the SQLite WAL file")
def test_truncating_the_wal_succeeds_while_background_checkpoints_run(database: Database) -> None:
    database.start_checkpoints(interval=0.001)
    try:
        for i in range(20):
            with database.write_tx() as tx:
                _INSERT.run(tx, _row(f"p{i}"))
            assert database.truncate_wal()
            assert Path(f"{database.engine.url.database}-wal").stat().st_size == 0
    finally:
        database.stop_checkpoints()


@pytest.mark.sqlite_only(reason="inspects the SQLite WAL file")
def test_background_checkpoints_restart_the_wal_while_writes_keep_coming(database: Database) -> None:
    # A write landing during every passive checkpoint leaves the WAL never fully copied when the next
    # write begins, so SQLite only ever appends to it: up to the 64 MiB auto-checkpoint, run by a commit.
    # The writes here come like a server's, with short gaps between them.
    wal = Path(f"{database.engine.url.database}-wal")
    database.start_checkpoints(interval=0.001, restart_frames=64)
    try:
        largest = 0
        for i in range(1500):
            with database.write_tx() as tx:
                _INSERT.run(tx, {**_row(f"p{i}"), "blob": bytes(5000)})
            largest = max(largest, wal.stat().st_size)
            time.sleep(0.0002)
    finally:
        database.stop_checkpoints()
    assert largest < 4 * 1024 * 1024  # without restarts: 7-26 MiB (passive passes alone), here under 1 MiB
