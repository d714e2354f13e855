"""Group commit: the hot-path units of work of concurrent requests share one transaction and one commit.

On SQLite the commit (appending the transaction's pages to the WAL) was the largest single cost of an
authorize; on PostgreSQL it is a round trip and a WAL flush. Requests that arrive while a batch runs form
the next batch. A unit that fails is rolled back alone: the batch first runs as one plain transaction
(savepoints cost two statements per unit), and if a unit raises, that transaction is rolled back and the
batch runs again with a savepoint per unit. So a unit must depend on nothing but the transaction: it may
run twice, and only its last run counts. No answer leaves before its batch has committed, and if the
commit fails every unit of the batch fails with it.

Units of one kind can also run together (`run_together`): one call of their kind's work takes every such
unit's item and returns one value per item, so a batch of single registrations or authorizations costs a
few statements instead of a few per request. If that call raises, the batch runs again isolated, each of
its units with its item alone.

On SQLite a batch runs on the event loop. While another writer (a second worker process, the CLI) holds
the lock, the loop tries again every millisecond and reads requests in between, which join the waiting
batch. A thread waiting for the lock instead would, once it had it, need the GIL back after every
statement of its batch while the loop ran Python: up to the 5 ms switch interval each time, all of it
with the lock held.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from starlette.concurrency import run_in_threadpool

from ..storage import WRITE_WAIT_SECONDS, Database, DatabaseUnavailable, Tx, WriterBusy

__all__ = ["GroupCommit", "ItemsWork"]

T = TypeVar("T")
ItemT = TypeVar("ItemT")

#: The work of units run together: their items in, one value per item out, in order.
ItemsWork = Callable[[Tx, list[ItemT]], Sequence[T]]


@dataclass(slots=True)
class _Unit:
    work: Callable[[Tx], Any]
    future: asyncio.Future[Any]
    value: Any = None
    error: BaseException | None = None
    kind: Hashable = None  # units of one kind (not None) run together
    item: Any = None
    items_work: ItemsWork[Any, Any] | None = None


class GroupCommit:
    """Runs units of work for one database in batches of at most `max_batch`, one transaction each."""

    def __init__(self, database: Database, max_batch: int = 64, lock_wait: float = WRITE_WAIT_SECONDS) -> None:
        self._database = database
        self._max_batch = max_batch
        self._lock_wait = lock_wait  # seconds a SQLite batch waits for another writer, then fails as busy
        self._queue: list[_Unit] = []
        self._drainer: asyncio.Task[None] | None = None

    async def run(self, work: Callable[[Tx], T]) -> T:
        """Run `work` in a write transaction; returns once that transaction has committed."""
        return cast(T, await self._submit(_Unit(work, asyncio.get_running_loop().create_future())))

    async def run_together(self, kind: Hashable, item: ItemT, work: ItemsWork[ItemT, T]) -> T:
        """Run `work` on `item`, and on the items of the other units of `kind` in the batch, in one call (every
        unit of a kind must pass equivalent work); returns this item's value once the batch has committed."""
        future = asyncio.get_running_loop().create_future()
        alone = _Unit(lambda tx: _answers(work, tx, [item])[0], future, kind=kind, item=item, items_work=work)
        return cast(T, await self._submit(alone))

    def _submit(self, unit: _Unit) -> asyncio.Future[Any]:
        self._queue.append(unit)
        if self._drainer is None:
            self._drainer = asyncio.get_running_loop().create_task(self._drain())
        return unit.future

    async def _drain(self) -> None:
        try:
            while self._queue:
                await asyncio.sleep(0)  # requests already read off their sockets join this batch
                batch = [u for u in self._queue[: self._max_batch] if not u.future.cancelled()]
                del self._queue[: self._max_batch]
                if self._database.is_sqlite:
                    await self._run_on_loop(batch)
                else:
                    await run_in_threadpool(self._execute, batch)
                for unit in batch:
                    if unit.future.cancelled():
                        continue
                    if unit.error is not None:
                        unit.future.set_exception(unit.error)
                    else:
                        unit.future.set_result(unit.value)
        finally:
            self._drainer = None

    async def _run_on_loop(self, batch: list[_Unit]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._lock_wait
        while True:
            try:
                self._execute(batch, wait=False)
                return
            except WriterBusy:
                if loop.time() >= deadline:
                    for unit in batch:
                        unit.error = DatabaseUnavailable("the database is busy")
                    return
            await asyncio.sleep(0.001)
            room = self._max_batch - len(batch)
            batch.extend(u for u in self._queue[:room] if not u.future.cancelled())
            del self._queue[:room]

    def _execute(self, batch: list[_Unit], wait: bool = True, isolated: bool = False) -> None:
        """Run the batch in one transaction, `isolated` with a savepoint per unit. With `wait=False`, raises
        WriterBusy (and nothing is stored) if another writer holds the lock, also when it took the lock
        between a failed run and the isolated re-run."""
        for unit in batch:
            unit.error = None
        try:
            with self._database.write_tx(wait=wait) as tx:
                if isolated:
                    for unit in batch:
                        try:
                            with tx.savepoint():
                                unit.value = unit.work(tx)
                        except Exception as error:
                            unit.error = error
                else:
                    _run_in_one(tx, batch)
        except WriterBusy:  # only without waiting, before any unit ran
            raise
        except Exception as error:
            if isolated or not any(unit.error is not None for unit in batch):
                for unit in batch:  # BEGIN or COMMIT failed: nothing of this batch was stored
                    if unit.error is None:
                        unit.error = error
            elif len(batch) > 1:  # the others' work was rolled back with it: run them again, isolated
                self._execute(batch, wait, isolated=True)


def _run_in_one(tx: Tx, batch: list[_Unit]) -> None:
    """Every unit in `tx`, those of a kind in one call; the first failure is kept on its unit and raised."""
    kinds: dict[Hashable, list[_Unit]] = {}
    for unit in batch:
        if unit.kind is not None:
            kinds.setdefault(unit.kind, []).append(unit)
            continue
        try:
            unit.value = unit.work(tx)
        except Exception as error:
            unit.error = error
            raise
    for units in kinds.values():
        work = units[0].items_work
        assert work is not None
        try:
            values = _answers(work, tx, [unit.item for unit in units])
        except Exception as error:
            units[0].error = error
            raise
        for unit, value in zip(units, values, strict=True):
            unit.value = value


def _answers(work: ItemsWork[Any, T], tx: Tx, items: list[Any]) -> Sequence[T]:
    values = work(tx, items)
    if len(values) != len(items):
        raise RuntimeError("work run together answered a different number of items")
    return values
