"""Engine and units of work for SQLite (embedded default) and PostgreSQL.

Both stores give write transactions the same guarantee: writers are serialized from their
first statement. The services rely on it: they read facts (consent state, handle state, attempts
within a cap window, the audit head) and then write based on them, and a decision must never be
taken on facts another writer changes before this one commits.

- SQLite: `BEGIN IMMEDIATE` takes the database write lock up front.
- PostgreSQL (READ COMMITTED): a transaction-scoped advisory lock taken by the first statement of
  every write transaction. A row lock alone (`SELECT … FOR UPDATE`) is not enough there: the rows
  of the *other* tables a locking query joins come from the snapshot taken before the lock was
  granted, so a revocation or withdrawal that committed while the query waited would be missed
  (tests/postgres/test_concurrency.py shows it). Reads (`Database.read`) take no lock and never wait.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from ._prepared import Prepared, Tx

__all__ = ["WRITE_WAIT_SECONDS", "Database", "DatabaseUnavailable", "WriterBusy"]

_log = logging.getLogger("dialvault.storage")


class DatabaseUnavailable(Exception):
    """The store could not be reached or is locked past the timeout."""


class WriterBusy(DatabaseUnavailable):
    """A write transaction asked not to wait found the writer lock taken."""


WRITE_WAIT_SECONDS = 10.0  # how long a writer waits for another to commit before failing as unavailable
_BUSY_TIMEOUT = f"PRAGMA busy_timeout={int(WRITE_WAIT_SECONDS * 1000)}"
_BUSY_POLL_SECONDS = 0.0005


def _sqlite_begin_immediate(dbapi_connection: Any, wait: bool) -> bool:
    """BEGIN IMMEDIATE, tried again every half millisecond for up to WRITE_WAIT_SECONDS (or tried once).

    Another process (a second server worker, the CLI) holds the lock for about one transaction, a
    millisecond or two. SQLite's own busy handler tries again after 1, 2, 5, 10, ... 100 ms, so a writer
    slept many times longer than the lock was held, and two workers together wrote less than one.
    """
    dbapi_connection.execute("PRAGMA busy_timeout=0")
    try:
        deadline = time.monotonic() + WRITE_WAIT_SECONDS
        while True:
            try:
                dbapi_connection.execute("BEGIN IMMEDIATE")
                return True
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY or (wait and time.monotonic() >= deadline):
                    raise
                if not wait:
                    return False
            time.sleep(_BUSY_POLL_SECONDS)
    finally:
        dbapi_connection.execute(_BUSY_TIMEOUT)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Autocommit at the driver level, so the "begin" hook below decides how each transaction starts.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=NORMAL",
        "PRAGMA foreign_keys=ON",
        "PRAGMA secure_delete=ON",
        _BUSY_TIMEOUT,
        "PRAGMA temp_store=MEMORY",
        # 32 MiB of page cache (default 2 MiB): inserts into tables with several random-key indexes
        # (handles, contacts) stop re-reading index pages. Pooled LIFO, so few connections stay warm.
        "PRAGMA cache_size=-32768",
        # Commits checkpoint only past 64 MiB of WAL (default 4 MiB): a server copies the WAL in the
        # background (start_checkpoints), and a commit that checkpoints does it with an fsync, on the
        # request path (tens of milliseconds for a batch commit). Short CLI runs checkpoint when they close.
        "PRAGMA wal_autocheckpoint=16384",
    ):
        cursor.execute(pragma)
    cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    # Writers take the lock up front: a deferred read-then-write upgrade can fail with SQLITE_BUSY.
    options = connection.get_execution_options()
    if options.get("dialvault_write", False):
        # The in-process writer lock is taken here, at the first statement, not when the unit of work
        # opens: a request thread must never wait for it before it runs (that starves the thread pool).
        claim: _WriterClaim | None = options.get("dialvault_claim")
        if claim is not None:
            claim.acquire()
        try:
            _sqlite_begin_immediate(connection.connection.dbapi_connection, wait=True)
        except sqlite3.OperationalError as exc:
            raise DatabaseUnavailable("the database is unavailable or busy") from exc
    else:
        connection.exec_driver_sql("BEGIN")


class _WriterClaim:
    """One unit of work's claim on the process's SQLite writer lock; released by whichever thread ends it."""

    __slots__ = ("_lock", "held")

    def __init__(self, lock: threading.Lock) -> None:
        self._lock = lock
        self.held = False

    def acquire(self, wait: bool = True) -> None:
        if not (self._lock.acquire(timeout=WRITE_WAIT_SECONDS) if wait else self._lock.acquire(blocking=False)):
            raise DatabaseUnavailable("the database is busy") if wait else WriterBusy("the database is busy")
        self.held = True

    def release(self) -> None:
        if self.held:
            self.held = False
            self._lock.release()


# Any constant works: every dialvault writer of a database uses the same one. (b"dialvault" as int64.)
WRITER_LOCK_KEY = int.from_bytes(b"dialvault", "big") & 0x7FFF_FFFF_FFFF_FFFF
LOCK_TIMEOUT_SECONDS = 10  # like SQLite's busy_timeout: past it the write fails as DatabaseUnavailable
_TAKE_WRITER_LOCK_TEXT = text(
    "SELECT set_config('lock_timeout', :timeout, true), pg_advisory_xact_lock(:key)"
).bindparams(timeout=f"{LOCK_TIMEOUT_SECONDS}s", key=WRITER_LOCK_KEY)
_TAKE_WRITER_LOCK = Prepared(_TAKE_WRITER_LOCK_TEXT)


def _postgres_on_begin(connection: Connection) -> None:
    # One round trip: the lock wait is bounded, and the lock is released at COMMIT or ROLLBACK.
    if connection.get_execution_options().get("dialvault_write", False):
        connection.execute(_TAKE_WRITER_LOCK_TEXT)


class _Checkpointer(threading.Thread):
    """Copies the WAL into the database from its own connection, and has SQLite start the WAL over.

    A passive checkpoint never blocks readers or writers, but alone it never lets the WAL start over:
    SQLite restarts the log only when a write begins with every frame copied, and under steady load a
    write lands during each pass. The log then grows to the 64 MiB auto-checkpoint, which a commit runs
    on the request path (it took 1.1 s after a burst of batch writes). So once `restart_frames` are in
    the log, a RESTART checkpoint follows a passive one that copied every frame, if no transaction is
    open at that moment: it holds new writers back while it copies the few frames written since and
    syncs (5-10 ms, about every 6 s at 200 authorizations a second). It never waits: a checkpoint
    waiting for a writer to finish holds back every writer that comes after it (10 ms waits put up to
    19 ms into a request), so a busy moment is tried again at the next tick. 12,288 pages (48 MiB)
    leaves the restarts rare and the WAL below the auto-checkpoint's 16,384.
    """

    def __init__(self, engine: Engine, interval: float, lock: threading.Lock, restart_frames: int) -> None:
        super().__init__(name="dialvault-wal-checkpoint", daemon=True)
        self._engine = engine
        self._interval = interval
        self._lock = lock
        self._restart_frames = restart_frames
        self._stopping = threading.Event()

    def run(self) -> None:
        pooled = self._engine.raw_connection()
        pooled.detach()
        connection: Any = pooled.dbapi_connection
        connection.execute("PRAGMA busy_timeout=0")
        try:
            while not self._stopping.wait(self._interval):
                try:
                    with self._lock:
                        _, frames, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                        if frames >= self._restart_frames and copied == frames:
                            connection.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
                except Exception:  # a failed pass is retried at the next tick; commits checkpoint as a backstop
                    _log.warning("background WAL checkpoint failed", exc_info=True)
        finally:
            pooled.close()

    def stop(self) -> None:
        self._stopping.set()
        self.join()


class Database:
    """Owns the engine; hands out sessions bound to a read or a write transaction."""

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 10) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            # More pooled connections than the request thread pool has threads (40), plus the event loop's:
            # a checkout must never wait for a free connection (the loop would stall on it).
            self.engine: Engine = create_engine(
                url,
                echo=echo,
                hide_parameters=True,
                pool_size=16,
                max_overflow=48,
                pool_use_lifo=True,
                connect_args={"check_same_thread": False, "timeout": 10},
            )
            event.listen(self.engine, "connect", _sqlite_on_connect)
            event.listen(self.engine, "begin", _sqlite_on_begin)
        else:
            self.engine = create_engine(
                url,
                echo=echo,
                hide_parameters=True,
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_pre_ping=True,
                pool_timeout=30,
                pool_recycle=1800,
                connect_args={"connect_timeout": 10, "application_name": "dialvault"},
            )
            event.listen(self.engine, "begin", _postgres_on_begin)
        # SQLite has one writer at a time. Threads of this process queue on a lock instead of each
        # polling the file lock (SQLite's busy handler sleeps in growing steps: tail latency).
        self._local_writer = threading.Lock() if self.is_sqlite else None
        self._write_engine = self.engine.execution_options(dialvault_write=True)
        self._thread_readers = threading.local()
        self._checkpointer: _Checkpointer | None = None
        self._checkpoint_lock = threading.Lock()  # one checkpoint at a time: a second one would fail as busy
        self._readers: list[Any] = []
        self._readers_lock = threading.Lock()
        # The connections close when this object goes, or at exit if it is still there: the CLI skips its last
        # garbage collection, which would otherwise close those left in reference cycles (and SQLite's WAL
        # would stay behind, not copied into the database).
        weakref.finalize(self, _close_connections, self.engine, self._readers, self._readers_lock)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A unit of work: commits when the block succeeds, rolls back on any error."""
        claim = _WriterClaim(self._local_writer) if self._local_writer is not None else None
        engine = self._write_engine if claim is None else self._write_engine.execution_options(dialvault_claim=claim)
        try:
            with Session(engine, expire_on_commit=False) as session:
                try:
                    yield session
                    session.commit()
                except OperationalError as exc:
                    session.rollback()
                    raise DatabaseUnavailable("the database is unavailable or busy") from exc
                except BaseException:
                    session.rollback()
                    raise
        finally:
            if claim is not None:
                claim.release()

    @contextmanager
    def write_tx(self, *, wait: bool = True) -> Iterator[Tx]:
        """`write()` on a bare DBAPI connection, for hot paths: the same locks, commit and errors, no Session.

        `wait=False` (SQLite): raise WriterBusy at once, before anything ran, if a writer of this or another
        process holds the lock (PostgreSQL ignores it: its lock wait blocks a thread, never an event loop)."""
        claim = _WriterClaim(self._local_writer) if self._local_writer is not None else None
        dialect = self.engine.dialect
        try:
            pooled = self.engine.raw_connection()
        except OperationalError as exc:
            raise DatabaseUnavailable("the database is unavailable") from exc
        dbapi: Any = pooled.dbapi_connection
        tx = Tx(dbapi, dialect, defers_writes=True)
        try:
            try:
                if claim is not None:
                    claim.acquire(wait)
                    if not _sqlite_begin_immediate(dbapi, wait):
                        raise WriterBusy("the database is busy")
                else:
                    _TAKE_WRITER_LOCK.first(tx, {})
                yield tx
                tx.run_before_commit()
                dbapi.commit()
            except (OperationalError, dialect.loaded_dbapi.Error) as exc:
                # Raised by BEGIN, the writer lock, a statement's driver, or COMMIT: nothing was stored.
                dbapi.rollback()
                raise DatabaseUnavailable("the database is unavailable or busy") from exc
            except BaseException:
                dbapi.rollback()
                raise
        finally:
            pooled.close()
            if claim is not None:
                claim.release()

    @contextmanager
    def read_tx(self) -> Iterator[Tx]:
        """A bare DBAPI connection for hot-path reads (SQLite: autocommit; PostgreSQL: rolled back at the end)."""
        if self.is_sqlite:
            # One connection per thread, kept open: a pool checkout and check-in cost more than a key lookup.
            connection = getattr(self._thread_readers, "connection", None)
            if connection is None:
                connection = self._open_reader()
            yield Tx(connection, self.engine.dialect)
            return
        try:
            pooled = self.engine.raw_connection()
        except OperationalError as exc:
            raise DatabaseUnavailable("the database is unavailable") from exc
        try:
            yield Tx(pooled.dbapi_connection, self.engine.dialect)
        finally:
            pooled.close()

    def _open_reader(self) -> Any:
        pooled = self.engine.raw_connection()
        pooled.detach()  # configured like every other connection, then owned by this thread until dispose()
        with self._readers_lock:
            self._readers.append(pooled)  # the detached wrapper closes its connection when collected: keep it
        self._thread_readers.connection = pooled.dbapi_connection
        return pooled.dbapi_connection

    @contextmanager
    def read(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
            finally:
                session.rollback()

    def start_checkpoints(self, interval: float = 0.25, restart_frames: int = 12288) -> None:
        """SQLite: copy the WAL into the database from a background thread every `interval` seconds, and
        start the WAL over once it holds `restart_frames` pages.

        Otherwise the commit that crosses SQLite's auto-checkpoint threshold does it, fsync included, on the
        request path: the tail latency of a server. (The threshold, 64 MiB of WAL, stays as a backstop.)"""
        if self.is_sqlite and self._checkpointer is None:
            self._checkpointer = _Checkpointer(self.engine, interval, self._checkpoint_lock, restart_frames)
            self._checkpointer.start()

    def truncate_wal(self, attempts: int = 50) -> bool:
        """SQLite: copy the whole WAL into the database and truncate it to zero bytes (after erasures, so no
        erased ciphertext stays in the log). A reader in the middle of a statement makes a pass fail: retried
        `attempts` times, 10 ms apart. False if it never succeeded, or on PostgreSQL."""
        if not self.is_sqlite:
            return False
        pooled = self.engine.raw_connection()
        connection: Any = pooled.dbapi_connection
        try:
            for attempt in range(attempts):
                if attempt:
                    time.sleep(0.01)
                with self._checkpoint_lock:
                    busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                if busy == 0:
                    return True
            return False
        finally:
            pooled.close()

    def stop_checkpoints(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None

    def dispose(self) -> None:
        self.stop_checkpoints()
        _close_connections(self.engine, self._readers, self._readers_lock)
        self._thread_readers = threading.local()


def _close_connections(engine: Engine, readers: list[Any], readers_lock: threading.Lock) -> None:
    with readers_lock:
        for reader in readers:
            reader.close()
        readers.clear()
    engine.dispose()
