"""Group commit: concurrent units share a transaction, fail alone, and answer only once committed."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import bindparam, insert, select

from tests.storage.conftest import children, parents
from vault.api._group_commit import GroupCommit
from vault.storage import Database, DatabaseUnavailable, Prepared, Tx, WriterBusy

_INSERT = Prepared(insert(parents))
_ORPHAN = Prepared(insert(children))
_BY_ID = Prepared(select(parents.c.id).where(parents.c.id == bindparam("id")))


def _insert(id_: str) -> Callable[[Tx], Tx]:
    def work(tx: Tx) -> Tx:
        _INSERT.run(tx, {"id": id_, "status": "open", "at": None, "details": None, "blob": None})
        return tx

    return work


def _failing(id_: str) -> Callable[[Tx], Any]:
    def work(tx: Tx) -> Any:
        _insert(id_)(tx)
        raise LookupError(id_)

    return work


def _run_together(database: Database, *works: Callable[[Tx], Any]) -> list[Any]:
    async def main() -> list[Any]:
        group = GroupCommit(database)
        return await asyncio.gather(*(group.run(w) for w in works), return_exceptions=True)

    return asyncio.run(main())


def _stored(database: Database, *ids: str) -> list[bool]:
    with database.read_tx() as tx:
        return [_BY_ID.first(tx, {"id": i}) is not None for i in ids]


def test_units_submitted_together_run_in_one_transaction(database: Database) -> None:
    results = _run_together(database, _insert("a"), _insert("b"), _insert("c"))
    assert len({id(tx) for tx in results}) == 1
    assert _stored(database, "a", "b", "c") == [True, True, True]


def test_a_failing_unit_is_rolled_back_alone_and_gets_its_own_error(database: Database) -> None:
    results = _run_together(database, _insert("a"), _failing("b"), _insert("c"))
    assert isinstance(results[1], LookupError)
    assert _stored(database, "a", "b", "c") == [True, False, True]


def test_a_failing_unit_alone_in_its_batch_stores_nothing_and_gets_its_own_error(database: Database) -> None:
    results = _run_together(database, _failing("b"))
    assert isinstance(results[0], LookupError)
    assert _stored(database, "b") == [False]


def test_units_run_before_a_failing_one_run_again_and_answer_from_the_run_that_committed(database: Database) -> None:
    runs: list[str] = []

    def counted(id_: str) -> Callable[[Tx], int]:
        def work(tx: Tx) -> int:
            _insert(id_)(tx)
            runs.append(id_)
            return runs.count(id_)

        return work

    results = _run_together(database, counted("a"), _failing("b"), counted("c"))
    assert results[0] == 2  # its first run was rolled back with b's work
    assert _stored(database, "a", "b", "c") == [True, False, True]


def test_when_the_commit_fails_every_unit_of_the_batch_fails(database: Database) -> None:
    orphan = _ORPHAN.run  # a deferred foreign key: the batch's COMMIT is refused

    results = _run_together(database, _insert("a"), lambda tx: orphan(tx, {"id": "c1", "parent_id": "none"}))
    assert all(isinstance(r, DatabaseUnavailable) for r in results)
    assert _stored(database, "a") == [False]


def test_units_arriving_one_by_one_each_commit(database: Database) -> None:
    async def main() -> None:
        group = GroupCommit(database)
        for name in ("a", "b"):
            await group.run(_insert(name))

    asyncio.run(main())
    assert _stored(database, "a", "b") == [True, True]


@pytest.mark.parametrize("max_batch", [1, 2])
def test_batches_never_exceed_their_size(database: Database, max_batch: int) -> None:
    async def main() -> list[Tx]:
        group = GroupCommit(database, max_batch=max_batch)
        return await asyncio.gather(*(group.run(_insert(f"u{i}")) for i in range(4)))

    transactions = asyncio.run(main())
    assert len({id(tx) for tx in transactions}) == 4 // max_batch


@contextmanager
def _writer_lock_held_elsewhere(database: Database) -> Iterator[sqlite3.Connection]:
    """Another process's writer, as SQLite sees it: its own connection holding the write lock."""
    other = sqlite3.connect(database.engine.url.database or "", isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield other
    finally:
        other.rollback()
        other.close()


@pytest.mark.sqlite_only("another connection holds SQLite's file lock")
def test_a_write_that_may_not_wait_fails_as_busy_before_running_while_another_writer_holds_the_lock(
    database: Database,
) -> None:
    ran = []
    with _writer_lock_held_elsewhere(database), pytest.raises(WriterBusy), database.write_tx(wait=False):
        ran.append(True)
    assert ran == []


@pytest.mark.sqlite_only("another connection holds SQLite's file lock")
def test_a_waiting_write_goes_ahead_once_the_other_writer_commits(database: Database) -> None:
    with _writer_lock_held_elsewhere(database) as other:
        threading.Timer(0.05, other.commit).start()
        with database.write_tx() as tx:
            _insert("a")(tx)
    assert _stored(database, "a") == [True]


@pytest.mark.sqlite_only("another connection holds SQLite's file lock")
def test_the_event_loop_keeps_serving_while_a_batch_waits_for_another_writer(database: Database) -> None:
    async def main() -> tuple[int, bool]:
        group = GroupCommit(database)
        with _writer_lock_held_elsewhere(database) as other:
            waiting = asyncio.ensure_future(group.run(_insert("a")))
            ticks = 0
            for _ in range(5):  # the loop runs other tasks while the batch waits in a thread
                await asyncio.sleep(0.01)
                ticks += 1
            done_while_held = waiting.done()
            other.commit()
            await waiting
        return ticks, done_while_held

    ticks, done_while_held = asyncio.run(main())
    assert (ticks, done_while_held) == (5, False)
    assert _stored(database, "a") == [True]


@pytest.mark.sqlite_only("another connection holds SQLite's file lock")
def test_units_arriving_while_a_batch_waits_for_another_writer_join_it(database: Database) -> None:
    async def main() -> list[Tx]:
        group = GroupCommit(database)
        with _writer_lock_held_elsewhere(database) as other:
            first = asyncio.ensure_future(group.run(_insert("a")))
            await asyncio.sleep(0.01)
            second = asyncio.ensure_future(group.run(_insert("b")))
            await asyncio.sleep(0.01)
            other.commit()
            return [await first, await second]

    first_tx, second_tx = asyncio.run(main())
    assert first_tx is second_tx
    assert _stored(database, "a", "b") == [True, True]


@pytest.mark.sqlite_only("another connection holds SQLite's file lock")
def test_a_batch_that_waits_longer_than_its_limit_fails_as_busy_and_stores_nothing(database: Database) -> None:
    async def main() -> BaseException | None:
        group = GroupCommit(database, lock_wait=0.05)
        with _writer_lock_held_elsewhere(database):
            try:
                await group.run(_insert("a"))
            except DatabaseUnavailable as error:
                return error
        return None

    assert isinstance(asyncio.run(main()), DatabaseUnavailable)
    assert _stored(database, "a") == [False]


def _run_kinds(database: Database, work: Callable[[Tx, list[str]], list[str]], *items: str) -> list[Any]:
    async def main() -> list[Any]:
        group = GroupCommit(database)
        return await asyncio.gather(*(group.run_together("kind", i, work) for i in items), return_exceptions=True)

    return asyncio.run(main())


def test_units_of_one_kind_run_in_one_call_that_answers_each(database: Database) -> None:
    calls: list[list[str]] = []

    def work(tx: Tx, items: list[str]) -> list[str]:
        calls.append(items)
        for i in items:
            _insert(i)(tx)
        return [i.upper() for i in items]

    assert _run_kinds(database, work, "a", "b", "c") == ["A", "B", "C"]
    assert calls == [["a", "b", "c"]]
    assert _stored(database, "a", "b", "c") == [True, True, True]


def test_when_a_kinds_call_fails_each_unit_runs_again_alone_and_fails_or_answers_alone(database: Database) -> None:
    def work(tx: Tx, items: list[str]) -> list[str]:
        for i in items:
            _insert(i)(tx)
        if "b" in items:
            raise LookupError("b")
        return items

    results = _run_kinds(database, work, "a", "b", "c")
    assert results[0::2] == ["a", "c"]
    assert isinstance(results[1], LookupError)
    assert _stored(database, "a", "b", "c") == [True, False, True]


def test_a_kinds_call_answering_a_different_number_of_items_fails_them_all(database: Database) -> None:
    results = _run_kinds(database, lambda tx, items: [], "a", "b")
    assert all(isinstance(r, RuntimeError) for r in results)
