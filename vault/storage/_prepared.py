"""Hot-path statements run on the DBAPI connection, and the transaction object they run in.

A Core statement is compiled once per dialect: SQL text, parameter order, and each bind and result
column's type processors. Running it is then one `cursor.execute` plus those processors, about a fifth of
what `Connection.execute` costs (its per-call compile-cache lookup, events, and result wrapping were most
of an authorize's time). Driver errors are re-raised as SQLAlchemy's (`OperationalError`,
`IntegrityError`, …), so callers handle one family of errors whichever way a statement ran.
"""

from __future__ import annotations

import threading
from collections import namedtuple
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Dialect, LargeBinary
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlmodel import Session

__all__ = ["Prepared", "Tx", "as_tx", "in_list_chunks"]

_Processor = Callable[[Any], Any] | None


class Tx:
    """The DBAPI connection of an open transaction, and its dialect.

    A transaction opened by `Database.write_tx` can also defer writes to its end: `memo` holds values its
    own writes determined (a savepoint that rolls back restores it), and `before_commit` hooks run just
    before COMMIT, once per key. The audit ledger uses this to write a transaction's entries in one
    statement and move a tenant's chain head once, instead of two statements per entry.
    """

    __slots__ = ("_hooks", "dbapi", "dialect", "memo")

    def __init__(self, dbapi: Any, dialect: Dialect, *, defers_writes: bool = False) -> None:
        self.dbapi = dbapi
        self.dialect = dialect
        self.memo: dict[Hashable, Any] = {}
        self._hooks: dict[Hashable, Callable[[], object]] | None = {} if defers_writes else None

    @property
    def defers_writes(self) -> bool:
        return self._hooks is not None

    def before_commit(self, key: Hashable, hook: Callable[[], object]) -> None:
        """Run `hook` just before this transaction commits (a second hook under the same key is ignored)."""
        if self._hooks is None:
            raise RuntimeError("this transaction does not defer writes")
        self._hooks.setdefault(key, hook)

    def run_before_commit(self) -> None:
        for hook in list((self._hooks or {}).values()):
            hook()

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested unit: if the block raises, only its own writes (and memo entries, hooks) are rolled back."""
        memo, hooks = dict(self.memo), dict(self._hooks) if self._hooks is not None else None
        cursor = self.dbapi.cursor()
        try:
            cursor.execute("SAVEPOINT dialvault_unit")
            try:
                yield
            except BaseException:
                cursor.execute("ROLLBACK TO SAVEPOINT dialvault_unit")
                cursor.execute("RELEASE SAVEPOINT dialvault_unit")
                self.memo, self._hooks = memo, hooks
                raise
            cursor.execute("RELEASE SAVEPOINT dialvault_unit")
        finally:
            cursor.close()


def _tx_of_connection(connection: Connection) -> Tx:
    return Tx(connection.connection.dbapi_connection, connection.dialect)


def as_tx(unit: Session | Connection | Tx) -> Tx:
    """The transaction a Session, a Connection or a Tx is in (a Session begins it if it has not yet)."""
    if isinstance(unit, Tx):
        return unit
    if isinstance(unit, Session):
        return _tx_of_connection(unit.connection())
    return _tx_of_connection(unit)


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    positional: tuple[tuple[str, _Processor], ...] | None  # (name, processor) in placeholder order, or None
    gather: Callable[[Mapping[str, Any]], Any] | None  # positional: the values in placeholder order, one call
    converted: tuple[tuple[int, Callable[[Any], Any]], ...]  # positional: (placeholder index, bind processor)
    literals: Mapping[str, Any]  # values of binds written into the statement itself
    binds: Mapping[str, _Processor]
    processed: tuple[tuple[int, Callable[[Any], Any]], ...]  # (column index, result processor)
    row: Callable[..., Any] | None
    wrap_error: Callable[[BaseException], BaseException]


class Prepared:
    """A Core statement whose every parameter is a named `bindparam` (no expanding IN lists)."""

    __slots__ = ("_by_dialect", "_lock", "statement")

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._by_dialect: dict[str, _Compiled] = {}
        self._lock = threading.Lock()

    def _compiled(self, dialect: Dialect) -> _Compiled:
        compiled = self._by_dialect.get(dialect.name)
        if compiled is None:
            with self._lock:
                compiled = self._by_dialect.get(dialect.name) or self._compile(dialect)
                self._by_dialect[dialect.name] = compiled
        return compiled

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        literals: dict[str, Any] = {}
        binds: dict[str, _Processor] = {}
        for bind, name in compiled.bind_names.items():
            if bind.expanding:
                raise TypeError("Prepared statements take no expanding IN parameters")
            # Bytes go to the driver as they are, as the bulk path sends them: both drivers bind bytes as a
            # BLOB / bytea, and SQLAlchemy's processor wrapped each value in a memoryview first.
            binary = isinstance(bind.type, LargeBinary)
            binds[name] = None if binary else bind.type.dialect_impl(dialect).bind_processor(dialect)
            if not bind.required:
                literals[name] = bind.effective_value
        columns = list(getattr(self.statement, "selected_columns", ()))
        results = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns]
        processed = tuple((i, p) for i, p in enumerate(results) if p is not None)
        keys = [
            str(getattr(c, "key", None) or getattr(c, "name", None) or f"column_{i}") for i, c in enumerate(columns)
        ]
        row_type: Any = namedtuple("Row", keys, rename=True)  # type: ignore[misc]  # field names known at run time
        row = row_type._make if keys else None
        base = dialect.loaded_dbapi.Error
        sql = compiled.string

        def wrap_error(error: BaseException) -> BaseException:
            assert isinstance(error, Exception)
            return DBAPIError.instance(sql, None, error, base, hide_parameters=True, dialect=dialect)

        positional = tuple((n, binds[n]) for n in compiled.positiontup or ()) if compiled.positional else None
        gather: Callable[[Mapping[str, Any]], Any] | None = None
        converted: tuple[tuple[int, Callable[[Any], Any]], ...] = ()
        if positional:
            names = [name for name, _ in positional]
            # itemgetter of one name returns the value itself, not a 1-tuple
            gather = itemgetter(*names) if len(names) > 1 else (lambda values, name=names[0]: (values[name],))
            converted = tuple((i, p) for i, (_, p) in enumerate(positional) if p is not None)
        return _Compiled(sql, positional, gather, converted, literals, binds, processed, row, wrap_error)

    def _parameters(self, compiled: _Compiled, params: Mapping[str, Any]) -> Any:
        values = {**compiled.literals, **params} if compiled.literals else params
        binds = compiled.binds
        if compiled.gather is not None:
            if not compiled.converted:
                return compiled.gather(values)
            out = list(compiled.gather(values))
            for index, convert in compiled.converted:
                value = out[index]
                if value is not None:
                    out[index] = convert(value)
            return out
        if compiled.positional is not None:  # a statement without parameters
            return ()
        return {
            name: value if (processor := binds[name]) is None or value is None else processor(value)
            for name, value in ((n, values[n]) for n in binds)
        }

    def _rows(self, compiled: _Compiled, raw: Sequence[Any]) -> list[Any]:
        make = compiled.row
        if make is None:  # textual SQL: no typed columns, plain tuples
            return list(raw)
        processed = compiled.processed
        if not processed:
            return [make(r) for r in raw]
        rows = []
        for r in raw:
            values = list(r)
            for index, processor in processed:
                value = values[index]
                if value is not None:
                    values[index] = processor(value)
            rows.append(make(values))
        return rows

    def all(self, unit: Session | Connection | Tx, params: Mapping[str, Any]) -> list[Any]:
        """Every row, as named tuples with the columns' Python types."""
        tx = as_tx(unit)
        compiled = self._compiled(tx.dialect)
        cursor = tx.dbapi.cursor()
        try:
            cursor.execute(compiled.sql, self._parameters(compiled, params))
            raw = cursor.fetchall()
        except tx.dialect.loaded_dbapi.Error as error:
            raise compiled.wrap_error(error) from error
        finally:
            cursor.close()
        return self._rows(compiled, raw)

    def first(self, unit: Session | Connection | Tx, params: Mapping[str, Any]) -> Any:
        """The first row, or None."""
        rows = self.all(unit, params)
        return rows[0] if rows else None

    def run_many(self, unit: Session | Connection | Tx, params: Sequence[Mapping[str, Any]]) -> int:
        """Execute a DML statement once per parameter set, in one driver call; returns the rows it changed."""
        tx = as_tx(unit)
        compiled = self._compiled(tx.dialect)
        cursor = tx.dbapi.cursor()
        try:
            cursor.executemany(compiled.sql, [self._parameters(compiled, p) for p in params])
            return int(cursor.rowcount)
        except tx.dialect.loaded_dbapi.Error as error:
            raise compiled.wrap_error(error) from error
        finally:
            cursor.close()

    def run(self, unit: Session | Connection | Tx, params: Mapping[str, Any]) -> int:
        """Execute a DML statement; returns the rows it changed."""
        tx = as_tx(unit)
        compiled = self._compiled(tx.dialect)
        cursor = tx.dbapi.cursor()
        try:
            cursor.execute(compiled.sql, self._parameters(compiled, params))
            return int(cursor.rowcount)
        except tx.dialect.loaded_dbapi.Error as error:
            raise compiled.wrap_error(error) from error
        finally:
            cursor.close()


# The largest IN list stays under the 999 parameters SQLite builds before 3.32 allow.
_IN_LIST_SIZES = (1, 16, 128, 500)


def in_list_chunks(
    prefix: str, values: Sequence[Any], sizes: Sequence[int] = _IN_LIST_SIZES
) -> Iterator[tuple[int, dict[str, Any]]]:
    """`values` as IN-list parameters `prefix`0, 1, … of a Prepared statement: per chunk of at most the
    largest of `sizes`, the smallest size that holds it and its parameters. A few fixed sizes keep each
    statement shape compiled once; the padding repeats a value already asked for, so it changes nothing."""
    largest = sizes[-1]
    for start in range(0, len(values), largest):
        chunk = values[start : start + largest]
        size = next(s for s in sizes if s >= len(chunk))
        yield size, {f"{prefix}{i}": chunk[min(i, len(chunk) - 1)] for i in range(size)}
