"""`dialvault import FILE.csv` (consents) and `dialvault suppress import FILE.csv` (external DNC lists).

Both stream the file (bounded memory), load it a batch per transaction, and write rejected rows to a
reject file (the row as read, plus `line` and `reason`). A crash leaves only whole batches; re-running
a consent import skips the rows already loaded (their contacts already have the grants they describe).
"""

from __future__ import annotations

import _csv
import csv
import fcntl
import gc
import itertools
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import IO, Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from sqlmodel import Session

from ..errors import DialvaultError
from ..services import Actor, Vault
from ..services.consent import (
    ImportRow,
    RowIdentity,
    add_suppressions,
    check_reason,
    import_batch,
    missing_columns,
    row_identities,
)
from ..services.contacts import BatchItemError
from ._common import DatabaseUrl, DataDir, TenantName, console, err_console, fail, open_from, settings_from
from ._core import resolve_tenant_id

__all__ = ["register"]

suppress_app = typer.Typer(help="the internal do-not-call list", no_args_is_help=True)

_WAL_PAGES = 262_144  # 1 GiB of 4 KiB pages at most between checkpoints during an import
_CACHE_KIB = 65_536  # the import connection's page cache: bounded, whatever the file's size
# Rows parsed and captured at a time. A transaction takes several such parts: memory follows the part,
# the pages written follow the transaction (each commit rewrites every index page its rows touched).
_PART_ROWS = 5000
# From this size on, a second process parses each record's number and key ahead of the loading (on another
# core): below it, starting the process would cost about what it saves.
_AHEAD_MIN_BYTES = 1 << 20
# Records per message from that process: a part's worth, so that the contact ids it gives out for a part's
# new numbers share a group, as the loader's own would.
_AHEAD_BATCH = _PART_ROWS
# The pipe's buffer. The loader takes a part's answers at once (~1.4 MB): with the default 64 KiB, that
# process could not work out the next part's until the loader had read nearly all of this one's.
_AHEAD_PIPE_BYTES = 1 << 20
RejectFile = Annotated[
    Path | None, typer.Option("--reject-file", help="CSV of rejected rows (default FILE.rejects.csv)")
]
BatchSize = Annotated[int, typer.Option("--batch-size", min=1, max=100_000, help="rows per transaction")]
_Chunk = list[tuple[int, list[str]]]
_Identify = Callable[[Sequence[Sequence[str]]], list[RowIdentity | None]]


@dataclass
class _Rejects:
    """Opened on the first reject, so a clean import leaves no file behind."""

    path: Path
    header: list[str]
    count: int = 0
    _handle: IO[str] | None = field(default=None, repr=False)
    _writer: Any = field(default=None, repr=False)

    def write(self, line: int, reason: str, values: list[str]) -> None:
        if self._writer is None:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            self._handle = os.fdopen(fd, "w", encoding="utf-8", newline="")
            self._writer = csv.writer(self._handle)
            self._writer.writerow([*self.header, "line", "reason"])
        # `line` and `reason` stay under their headers whatever the row's width: a short row is padded, a
        # long row's extra cells follow them.
        width = len(self.header)
        self._writer.writerow([*values[:width], *[""] * (width - len(values)), line, reason, *values[width:]])
        self.count += 1

    def flush(self) -> None:
        if self._handle is not None:
            self._handle.flush()
            os.fsync(self._handle.fileno())

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


def _open_csv(path: Path) -> IO[str]:
    try:
        return path.open("r", encoding="utf-8-sig", newline="")
    except OSError as exc:
        fail("unreadable_file", f"cannot read {path.name}: {exc.strerror or 'error'}")


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("{task.fields[rows]:>9,} rows"),
        TextColumn("{task.fields[rate]:>8,.0f} rows/s"),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    )


@dataclass
class _Tally:
    loaded: int = 0
    duplicates: int = 0
    rejected: int = 0
    rows: int = 0
    started: float = field(default_factory=time.perf_counter)

    def add(self, other: _Tally) -> None:
        """Count a committed batch."""
        self.loaded += other.loaded
        self.duplicates += other.duplicates
        self.rejected += other.rejected
        self.rows += other.rows

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


def _rows(path: Path) -> tuple[list[str], Iterator[tuple[int, list[str]]], IO[str]]:
    """The header, the records (`_records`) and the open file, whose position the progress bar follows."""
    handle = _open_csv(path)
    reader = csv.reader(handle)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        handle.close()
        fail("empty_file", "the file has no header row")
    except (csv.Error, UnicodeDecodeError):
        handle.close()
        fail("unreadable_file", "the file is not UTF-8 CSV")
    return header, _records(reader), handle


def _bytes_read(handle: IO[str]) -> int:
    """How far into the file its reading has got (a read-ahead buffer beyond the rows parsed: enough for a
    progress bar); 0 for a stream that has no position."""
    try:
        return os.lseek(handle.fileno(), 0, os.SEEK_CUR)
    except OSError:
        return 0


def _chunks(rows: Iterator[tuple[int, list[str]]], size: int) -> Iterator[_Chunk]:
    batch: _Chunk = []
    for line, values in rows:
        batch.append((line, values))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _records(reader: _csv.Reader) -> Iterator[tuple[int, list[str]]]:
    """A CSV reader's records with the line each ends on: not blank lines, nor lines of empty cells."""
    for values in reader:
        if "".join(values).strip():
            yield reader.line_num, values


def _transactions(records: Iterator[tuple[int, list[str]]], size: int) -> Iterator[Iterator[_Chunk]]:
    """The file's records, `size` to a transaction, each transaction's in parts of at most `_PART_ROWS`."""
    for first in records:
        yield _chunks(itertools.chain((first,), itertools.islice(records, size - 1)), _PART_ROWS)


def import_consents(
    file: Annotated[Path, typer.Argument(help="CSV: phone, region, purpose, channels, notice_id, ...")],
    tenant: TenantName = None,
    reject_file: RejectFile = None,
    batch_size: BatchSize = 20_000,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Bulk-load consents from CSV; bad rows go to the reject file with a line number and reason."""
    vault = open_from(settings_from(data_dir, database_url))
    tenant_id = resolve_tenant_id(vault, tenant)
    actor = Actor(tenant_id=tenant_id, key_id="cli", role="import")

    def identities(header: list[str]) -> _Identify:
        with vault.database.read() as session:
            return row_identities(vault.keyrings.get(session, tenant_id), header)

    def load(header: list[str], parts: Iterator[_Chunk], rejects: _Rejects, tally: _Tally, ahead: _Ahead) -> None:
        _load_consent_batch(vault, actor, header, parts, rejects, tally, ahead)

    _stream_batches(vault, file, reject_file, batch_size, "importing", missing_columns, load, identities)


class _Ahead:
    """Row identities computed by a second process while this one loads, taken in file order.

    The second process only speeds the import up: a record it did not answer for (it stopped, failed, or
    skipped the record) is parsed here, as without it. It holds nothing but its answers, and runs about a
    message ahead: a message fills the pipe, so its next one waits until this process reads.
    """

    def __init__(self, receiver: Connection | None = None, process: BaseProcess | None = None) -> None:
        self._receiver = receiver
        self._process = process
        self._answers = self._received()
        # An answer read but not yet taken. Read only when a take needs it: reading ahead would wait, at the
        # end of each part, for the next message while that process is still working it out.
        self._unread: tuple[int, RowIdentity | None] | None = None

    @classmethod
    def start(cls, path: Path, size: int, identify: _Identify, width: int) -> _Ahead:
        if size < _AHEAD_MIN_BYTES or "fork" not in multiprocessing.get_all_start_methods():
            return cls()
        # Forked before any thread starts (the progress bar's): the child inherits the tenant's keys in
        # memory, and never touches the inherited database connections.
        context = multiprocessing.get_context("fork")
        receiver, sender = context.Pipe(duplex=False)
        with suppress(OSError, AttributeError):  # Linux: room for a whole part of answers and more
            fcntl.fcntl(sender.fileno(), fcntl.F_SETPIPE_SZ, _AHEAD_PIPE_BYTES)
        process = context.Process(
            target=_identify_ahead, args=(path, identify, width, sender), name="dialvault-import-parse", daemon=True
        )
        try:
            process.start()
        except OSError:  # no process to be had (a limit on processes, or memory): the loader does it all
            receiver.close()
            return cls()
        finally:
            sender.close()
        return cls(receiver, process)

    def _received(self) -> Iterator[tuple[int, RowIdentity | None]]:
        if self._receiver is None:
            return
        while True:
            try:
                answers: list[tuple[int, RowIdentity | None]] = self._receiver.recv()
            except (EOFError, OSError):
                return
            yield from answers

    def take(self, line: int) -> RowIdentity | None:
        """The identity of the record at `line`, if the second process gave it."""
        answer = self._unread if self._unread is not None else next(self._answers, None)
        while answer is not None and answer[0] < line:
            answer = next(self._answers, None)
        if answer is None or answer[0] != line:
            self._unread = answer
            return None
        self._unread = None
        return answer[1]

    def close(self) -> None:
        if self._receiver is not None:
            self._receiver.close()
        if self._process is not None:
            self._process.kill()  # done, or no longer needed: the loading stopped early
            self._process.join()


def _identify_ahead(path: Path, identify: _Identify, width: int, sender: Connection) -> None:
    """The second process: each record's identity, in file order, `_AHEAD_BATCH` records to a message.

    Any failure just ends the answers (the loader parses the rest itself, and reports a bad file), without a
    word: a traceback here could carry a row's cells.
    """
    gc.freeze()  # the inherited heap is never collected here: pages shared with the parent stay shared
    try:
        with path.open("r", encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            next(reader, None)
            records = _records(reader)
            while batch := list(itertools.islice(records, _AHEAD_BATCH)):
                whole = [(line, values) for line, values in batch if len(values) == width]
                sender.send(list(zip([line for line, _ in whole], identify([v for _, v in whole]), strict=True)))
    except Exception:  # noqa: S110 - see the docstring
        pass
    finally:
        sender.close()


def _stream_batches(
    vault: Vault,
    file: Path,
    reject_file: Path | None,
    batch_size: int,
    label: str,
    missing: Callable[[list[str]], list[str]],
    load: Callable[[list[str], Iterator[_Chunk], _Rejects, _Tally, _Ahead], None],
    identities: Callable[[list[str]], _Identify] | None = None,
) -> None:
    """Stream a CSV in batches with a progress bar; bad rows go to the reject file; a summary at the end."""
    header, records, handle = _rows(file)
    size = os.fstat(handle.fileno()).st_size
    absent = missing(header)
    if absent:
        handle.close()
        fail("missing_columns", "missing required columns: " + ", ".join(absent))
    ahead = _Ahead.start(file, size, identities(header), len(header)) if identities is not None else _Ahead()
    rejects = _Rejects(reject_file or file.with_name(file.name + ".rejects.csv"), header)
    tally = _Tally()
    with _progress() as progress, _long_lived_heap():
        task = progress.add_task(label, total=max(size, 1), rows=0, rate=0.0)
        try:
            for parts in _transactions(records, batch_size):
                load(header, parts, rejects, tally, ahead)
                gc.collect()
                progress.update(task, completed=_bytes_read(handle), rows=tally.rows, rate=tally.rate)
            progress.update(task, completed=max(size, 1), rows=tally.rows, rate=tally.rate)
        except (csv.Error, UnicodeDecodeError):
            progress.stop()
            _summary(tally, rejects)
            fail("unreadable_file", "the file is not valid UTF-8 CSV past this point", exit_code=1)
        except DialvaultError as exc:
            progress.stop()
            _summary(tally, rejects)
            fail(exc.code, exc.message, exit_code=1)
        except OSError as exc:
            progress.stop()
            _summary(tally, rejects)
            fail("reject_file_unwritable", f"cannot write the reject file: {exc.strerror or 'error'}", exit_code=1)
        finally:
            ahead.close()
            handle.close()
            rejects.close()
    _summary(tally, rejects)
    vault.database.dispose()


@contextmanager
def _long_lived_heap() -> Iterator[None]:
    """The garbage collector, tuned for a run that allocates millions of short-lived objects: the caller
    collects after each transaction.

    What is alive at the start (modules, phone metadata, policies) is frozen out of collections, and the
    collector runs only between transactions, when a batch's objects are gone: run during one, every 700
    allocations, collections were ~10% of an import's time, and every 50,000 still ~3%.
    """
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


def _load_consent_batch(
    vault: Vault,
    actor: Actor,
    header: list[str],
    parts: Iterator[_Chunk],
    rejects: _Rejects,
    tally: _Tally,
    ahead: _Ahead,
) -> None:
    width = len(header)
    done = _Tally()
    with vault.database.write() as session:
        _tune_for_import(vault, session)
        for chunk in parts:
            rows: list[ImportRow] = []
            for line, values in chunk:
                if len(values) != width:
                    rejects.write(line, "wrong_column_count", values)
                    done.rejected += 1
                else:
                    rows.append(ImportRow(line, values, ahead.take(line)))
            outcomes = import_batch(session, vault, actor, header, rows, vault.clock.now()) if rows else []
            by_line = dict(chunk)
            for outcome in outcomes:
                if outcome.status == "loaded":
                    done.loaded += 1
                elif outcome.status == "duplicate":
                    done.duplicates += 1
                else:
                    rejects.write(outcome.line, outcome.reason or "rejected", by_line[outcome.line])
                    done.rejected += 1
            done.rows += len(chunk)
        # Rejects reach the disk before the batch commits: a failure here rolls the batch back.
        rejects.flush()
    tally.add(done)


def _tune_for_import(vault: Vault, session: Session) -> None:
    """SQLite: no WAL checkpoint after every batch (each one rewrites and syncs the pages), and a page cache
    that holds a batch's index pages (inserts at random places in large indexes otherwise read them again).

    SQLite checkpoints once, when the import closes the database.
    """
    if vault.database.is_sqlite:
        connection = session.connection()
        connection.exec_driver_sql(f"PRAGMA wal_autocheckpoint={_WAL_PAGES}")
        connection.exec_driver_sql(f"PRAGMA cache_size=-{_CACHE_KIB}")


def _summary(tally: _Tally, rejects: _Rejects) -> None:
    console.print(
        f"loaded {tally.loaded:,} · duplicates skipped {tally.duplicates:,} · rejected {tally.rejected:,}"
        f" · {tally.seconds:.1f} s · {tally.rate:,.0f} rows/s",
        highlight=False,
    )
    if rejects.count:
        console.print(f"rejected rows written to {rejects.path}", highlight=False)


def _cell(values: list[str], at: int | None) -> str | None:
    if at is None or at >= len(values):
        return None
    return values[at].strip() or None


@suppress_app.command("import")
def suppress_import(
    file: Annotated[Path, typer.Argument(help="CSV with a phone column (and optionally region)")],
    tenant: TenantName = None,
    reason: Annotated[str, typer.Option("--reason", help="reason code for every entry")] = "external_dnc",
    reject_file: RejectFile = None,
    batch_size: BatchSize = 5000,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Import an external do-not-call list into the internal suppression list."""
    try:
        check_reason(reason)
    except DialvaultError as exc:
        fail(exc.code, exc.message)
    vault = open_from(settings_from(data_dir, database_url))
    tenant_id = resolve_tenant_id(vault, tenant)
    actor = Actor(tenant_id=tenant_id, key_id="cli", role="import")

    def load(header: list[str], parts: Iterator[_Chunk], rejects: _Rejects, tally: _Tally, _: _Ahead) -> None:
        phone_at = header.index("phone")
        region_at = header.index("region") if "region" in header else None
        done = _Tally()
        with vault.database.write() as session:
            for chunk in parts:
                items = [(_cell(v, phone_at) or "", _cell(v, region_at)) for _, v in chunk]
                results = add_suppressions(session, vault, actor, items, reason, "import", vault.clock.now())
                for (line, values), result in zip(chunk, results, strict=True):
                    if isinstance(result, BatchItemError):
                        rejects.write(line, result.code, values)
                        done.rejected += 1
                    elif result.created:
                        done.loaded += 1
                    else:
                        done.duplicates += 1
                done.rows += len(chunk)
            rejects.flush()
        tally.add(done)

    _stream_batches(
        vault,
        file,
        reject_file,
        batch_size,
        "suppressing",
        _missing_phone,
        load,
    )


def _missing_phone(header: list[str]) -> list[str]:
    return [] if "phone" in header else ["phone"]


def register(app: typer.Typer) -> None:
    app.command("import")(import_consents)
    app.add_typer(suppress_app, name="suppress")
