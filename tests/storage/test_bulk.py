"""Bulk inserts and updates: every row stored with its own values, whether rows share value objects or not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import select

from tests.storage.conftest import parents
from vault.storage import Database, bulk_insert, bulk_update

AT = datetime(2026, 3, 2, 4, 0, 0, 123456, tzinfo=UTC)
COLUMNS = ("id", "status", "at", "details", "blob")


def _stored(database: Database) -> list[tuple[object, ...]]:
    with database.read() as session:
        rows = session.execute(select(parents).order_by(parents.c.id)).all()
    return [(r.id, r.status, r.at, r.details, None if r.blob is None else bytes(r.blob)) for r in rows]


def test_rows_sharing_value_objects_are_stored_with_those_values_converted(database: Database) -> None:
    details = {"b": [1, 2], "a": "x"}
    shanghai = AT.astimezone(timezone(timedelta(hours=8)))
    rows = [(f"p{i}", "open", shanghai, details, bytes([i])) for i in range(3)]
    with database.write() as session:
        assert bulk_insert(session, parents, rows, columns=COLUMNS) == 3
    assert _stored(database) == [(f"p{i}", "open", AT, {"a": "x", "b": [1, 2]}, bytes([i])) for i in range(3)]


def test_rows_with_values_of_their_own_are_stored_each_with_its_own(database: Database) -> None:
    rows = [(f"p{i}", "open", AT + timedelta(days=i), {"n": i}, None if i else b"\x00") for i in range(3)]
    with database.write() as session:
        bulk_insert(session, parents, rows, columns=COLUMNS)
    assert _stored(database) == [
        ("p0", "open", AT, {"n": 0}, b"\x00"),
        ("p1", "open", AT + timedelta(days=1), {"n": 1}, None),
        ("p2", "open", AT + timedelta(days=2), {"n": 2}, None),
    ]


def test_rows_sharing_some_value_objects_and_not_others_are_each_stored_with_their_own(
    database: Database,
) -> None:
    later = AT + timedelta(days=1)
    first, second = {"n": 1}, {"n": 2}
    values = [(AT, first), (later, None), (AT, second), (later, first)]
    rows = [(f"p{i}", "open", at, details, None) for i, (at, details) in enumerate(values)]
    with database.write() as session:
        bulk_insert(session, parents, rows, columns=COLUMNS)
    assert _stored(database) == [(f"p{i}", "open", at, details, None) for i, (at, details) in enumerate(values)]


def test_columns_given_out_of_table_order_are_stored_in_their_own_columns(database: Database) -> None:
    rows = [(b"\x01", {"k": 1}, AT, "closed", f"p{i}") for i in range(2)]
    with database.write() as session:
        bulk_insert(session, parents, rows, columns=tuple(reversed(COLUMNS)))
    assert _stored(database) == [(f"p{i}", "closed", AT, {"k": 1}, b"\x01") for i in range(2)]


def test_a_bulk_update_changes_the_rows_its_keys_name_and_no_other(database: Database) -> None:
    with database.write() as session:
        bulk_insert(session, parents, [(f"p{i}", "open", AT, None, None) for i in range(3)], columns=COLUMNS)
    later = AT + timedelta(hours=1)
    with database.write() as session:
        changed = bulk_update(
            session, parents, [("closed", later, {"n": i}, f"p{i}") for i in (0, 2, 9)],
            keys=["id"], columns=["status", "at", "details"],
        )  # fmt: skip
    assert changed == 2
    assert _stored(database) == [
        ("p0", "closed", later, {"n": 0}, None),
        ("p1", "open", AT, None, None),
        ("p2", "closed", later, {"n": 2}, None),
    ]
