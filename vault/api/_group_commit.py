"""Group commit: the hot-path units of work of concurrent requests share one transaction and one commit.

On SQLite the commit (appending the transaction's pages to the WAL) was the largest single cost of an
authorize; on PostgreSQL it is a round trip and a WAL flush. Requests that arrive while a batch runs form
the next batch. A unit that fails is rolled back alone: the batch first runs as one plain transaction
(savepoints cost two statements per unit), and if a unit raises, that transaction is rolled back and the
batch runs again with a savepoint per unit. So a unit must depend on nothing but the transaction: it may
run twice, and only its last run counts. No answer leaves before its batch has committed, and if the
commit fails every unit of the batch fails with it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from starlette.concurrency import run_in_threadpool

from ..storage import Database, Tx, WriterBusy

__all__ = ["GroupCommit"]

T = TypeVar("T")


@dataclass(slots=True)
class _Unit:
    work: Callable[[Tx], Any]
    future: asyncio.Future[Any]
    value: Any = None
    error: BaseException | None = None


class GroupCommit:
    """Runs units of work for one database in batches of at most `max_batch`, one transaction each."""

    def __init__(self, database: Database, max_batch: int = 64) -> None:
        self._database = database
        self._max_batch = max_batch
        self._queue: list[_Unit] = []
        self._drainer: asyncio.Task[None] | None = None

    async def run(self, work: Callable[[Tx], T]) -> T:
        """Run `work` in a write transaction; returns once that transaction has committed."""
        loop = asyncio.get_running_loop()
        unit = _Unit(work, loop.create_future())
        self._queue.append(unit)
        if self._drainer is None:
            self._drainer = loop.create_task(self._drain())
        return cast(T, await unit.future)

    async def _drain(self) -> None:
        try:
            while self._queue:
                await asyncio.sleep(0)  # requests already read off their sockets join this batch
                batch = [u for u in self._queue[: self._max_batch] if not u.future.cancelled()]
                del self._queue[: self._max_batch]
                if not (self._database.is_sqlite and self._ran_on_loop(batch)):
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

    def _ran_on_loop(self, batch: list[_Unit]) -> bool:
        """SQLite: run the batch right here (microseconds of CPU per unit: cheaper than a thread hop), unless
        another writer (another worker process, the CLI) holds the lock: then nothing ran, and the batch
        waits for it in a thread while this loop goes on reading requests."""
        try:
            self._execute(batch, wait=False)
        except WriterBusy:
            return False
        return True

    def _execute(self, batch: list[_Unit], wait: bool = True) -> None:
        try:
            with self._database.write_tx(wait=wait) as tx:
                for unit in batch:
                    try:
                        unit.value = unit.work(tx)
                    except Exception as error:
                        unit.error = error
                        raise
        except WriterBusy:  # only without waiting: raised before any unit ran
            raise
        except Exception as error:
            failed = [unit for unit in batch if unit.error is not None]
            if not failed:  # BEGIN or COMMIT failed: nothing of this batch was stored
                for unit in batch:
                    unit.error = error
            elif len(batch) > 1:  # the others' work was rolled back with it: run them again, isolated
                failed[0].error = None
                self._execute_isolated(batch)

    def _execute_isolated(self, batch: list[_Unit]) -> None:
        try:
            with self._database.write_tx() as tx:
                for unit in batch:
                    try:
                        with tx.savepoint():
                            unit.value = unit.work(tx)
                    except Exception as error:
                        unit.error = error
        except Exception as error:  # BEGIN or COMMIT failed: nothing of this batch was stored
            for unit in batch:
                if unit.error is None:
                    unit.error = error
