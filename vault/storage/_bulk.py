"""Bulk inserts and updates on hot paths: one compiled statement per shape, values bound once per distinct object.

SQLAlchemy's executemany runs every value through its type's bind processor (≈15 µs per
datetime on SQLite). Here each column's processor runs once per distinct value object, which
for batch writes (one `now` for the whole batch) removes almost all of that cost. The statement
is compiled once per table, columns, conflict target and dialect, and runs on the DBAPI cursor
of the session's transaction; driver errors are re-raised as SQLAlchemy's, like `Prepared` does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import is_, itemgetter
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import TypeEngine
from sqlmodel import Session

from ._prepared import Tx, as_tx

__all__ = ["bulk_insert", "bulk_update"]


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    positional: bool
    # For positional dialects, the index in the caller's column order of each placeholder, in order.
    order: tuple[int, ...]
    # (column index, type key, bind processor) for the columns whose type converts values before binding;
    # columns of one type (created_at, updated_at) share the key, so a shared value is converted once.
    processors: tuple[tuple[int, Hashable, Callable[[Any], Any]], ...]


_CACHE: dict[tuple[Any, ...], _Compiled] = {}
_CACHE_LOCK = threading.Lock()


def _compiled(
    table: Table, columns: tuple[str, ...], ignore_conflicts_on: tuple[str, ...] | None, dialect: Dialect
) -> _Compiled:
    key = (table, columns, ignore_conflicts_on, dialect.name, dialect.driver, dialect.paramstyle)
    found = _CACHE.get(key)
    if found is not None:
        return found
    if ignore_conflicts_on is None:
        statement: Any = insert(table)
    elif dialect.name == "postgresql":
        statement = pg_insert(table).on_conflict_do_nothing(index_elements=list(ignore_conflicts_on))
    else:
        statement = sqlite_insert(table).on_conflict_do_nothing(index_elements=list(ignore_conflicts_on))
    compiled = statement.compile(dialect=dialect, column_keys=list(columns))
    return _cached(key, table, compiled, tuple(columns), tuple(columns), dialect)


def _compiled_update(table: Table, keys: tuple[str, ...], columns: tuple[str, ...], dialect: Dialect) -> _Compiled:
    key = ("update", table, keys, columns, dialect.name, dialect.driver, dialect.paramstyle)
    found = _CACHE.get(key)
    if found is not None:
        return found
    statement = (
        update(table)
        .where(*(table.c[name] == bindparam(f"k_{name}") for name in keys))
        .values({name: bindparam(f"v_{name}") for name in columns})
    )
    compiled = statement.compile(dialect=dialect)
    return _cached(key, table, compiled, _update_binds(keys, columns), (*columns, *keys), dialect)


def _update_binds(keys: tuple[str, ...], columns: tuple[str, ...]) -> tuple[str, ...]:
    return (*(f"v_{name}" for name in columns), *(f"k_{name}" for name in keys))


def _cached(
    key: tuple[Any, ...],
    table: Table,
    compiled: Any,
    binds: tuple[str, ...],
    columns: tuple[str, ...],
    dialect: Dialect,
) -> _Compiled:
    """The plan of a compiled statement whose row values are `columns`' (in that order), bound as `binds`."""
    positions = {name: index for index, name in enumerate(binds)}
    processors = tuple(
        (index, _type_key(index, table.c[name].type), processor)
        for index, name in enumerate(columns)
        if (processor := table.c[name].type._cached_bind_processor(dialect)) is not None
    )
    result = _Compiled(
        sql=compiled.string,
        positional=bool(compiled.positional),
        order=tuple(positions[name] for name in compiled.positiontup or ()),
        processors=processors,
    )
    with _CACHE_LOCK:
        _CACHE[key] = result
    return result


def _type_key(index: int, column_type: TypeEngine[Any]) -> Hashable:
    """Equal for columns whose types convert alike; a type without a cache key only matches its own column."""
    key = column_type._static_cache_key
    return key if isinstance(key, tuple) else index


def bulk_insert(
    unit: Session | Tx,
    table: Table,
    rows: Sequence[Mapping[str, Any]] | Sequence[tuple[Any, ...]],
    *,
    columns: Sequence[str] | None = None,
    ignore_conflicts_on: Sequence[str] | None = None,
) -> int:
    """INSERT many rows; with `ignore_conflicts_on`, ON CONFLICT DO NOTHING. Returns the number inserted.

    Rows are mappings with the same keys, or, when `columns` is given, tuples in that column order.
    """
    if not rows:
        return 0
    tuples: list[tuple[Any, ...]]
    if columns is None:
        mappings = cast(Sequence[Mapping[str, Any]], rows)
        names = tuple(mappings[0])
        pick = itemgetter(*names)
        tuples = [pick(row) if len(names) > 1 else (pick(row),) for row in mappings]
    else:
        names = tuple(columns)
        tuples = list(cast(Sequence[tuple[Any, ...]], rows))
    tx = as_tx(unit)
    plan = _compiled(table, names, tuple(ignore_conflicts_on) if ignore_conflicts_on else None, tx.dialect)
    return _execute_many(tx, plan, names, tuples)


def bulk_update(
    unit: Session | Tx, table: Table, rows: Sequence[tuple[Any, ...]], *, keys: Sequence[str], columns: Sequence[str]
) -> int:
    """UPDATE many rows by key: each row holds the new values of `columns`, then the values of `keys` that
    find the row to change. Returns the number of rows changed."""
    if not rows:
        return 0
    tx = as_tx(unit)
    plan = _compiled_update(table, tuple(keys), tuple(columns), tx.dialect)
    return _execute_many(tx, plan, _update_binds(tuple(keys), tuple(columns)), list(rows))


def _execute_many(tx: Tx, plan: _Compiled, names: tuple[str, ...], tuples: list[tuple[Any, ...]]) -> int:
    params: list[Any]
    if plan.positional:
        params = _positional(tuples, plan)
    else:
        params = [dict(zip(names, row, strict=True)) for row in _bind(tuples, plan.processors)]
    cursor = tx.dbapi.cursor()
    try:
        cursor.executemany(plan.sql, params)
        return int(cursor.rowcount)
    except tx.dialect.loaded_dbapi.Error as error:
        raise DBAPIError.instance(
            plan.sql, None, error, tx.dialect.loaded_dbapi.Error, hide_parameters=True, dialect=tx.dialect
        ) from error
    finally:
        cursor.close()


_UNCONVERTED = frozenset({bytes, type(None)})


def _positional(rows: list[tuple[Any, ...]], plan: _Compiled) -> list[tuple[Any, ...]]:
    """The rows' values in placeholder order, converted for the driver.

    Batch rows share value objects in their converted columns: one `now`, a few dates, channel lists and
    expiries. Each distinct object is converted once; a column whose rows all hold one object adds it once,
    any other converted column adds its converted values as a list built in C loops (by object id). The
    additions are appended to every row and picked into place with the other values, with no Python code
    per row.
    """
    order = plan.order
    if len(rows) == 1 or len(order) == 1 or not plan.processors:  # (one column: itemgetter would not give tuples)
        bound = _bind(rows, plan.processors)
        return bound if order == tuple(range(len(order))) else list(map(itemgetter(*order), bound))
    width = len(rows[0])
    shared: list[Any] = []  # converted values every row holds (one object in its column)
    columns: list[list[Any]] = []  # converted values, one per row
    shared_at: dict[int, int] = {}  # a converted column's index in the row → its place in `shared`
    column_at: dict[int, int] = {}  # … → its place in `columns`
    converted: dict[Hashable, dict[int, Any]] = {}
    for index, kind, processor in plan.processors:
        values = list(map(itemgetter(index), rows))
        first = values[0]
        if all(map(is_, values, repeat(first))):
            shared_at[index] = len(shared)
            shared.append(first if type(first) in _UNCONVERTED else processor(first))
        elif not _UNCONVERTED.issuperset(map(type, values)):
            ids = list(map(id, values))
            done = converted.setdefault(kind, {})
            for key, value in dict(zip(ids, values, strict=True)).items():
                if key not in done:
                    done[key] = value if type(value) in _UNCONVERTED else processor(value)
            column_at[index] = len(columns)
            columns.append(list(map(done.__getitem__, ids)))
    # Each row gains its shared values, then its own converted values, after its `width` values.
    place = {index: width + at for index, at in shared_at.items()}
    place.update({index: width + len(shared) + at for index, at in column_at.items()})
    pick = itemgetter(*(place.get(i, i) for i in order))
    # Not strict: the shared values repeat without end, the columns stop with the rows.
    added = zip(*map(repeat, shared), *columns, strict=False) if columns else repeat(tuple(shared))
    return list(map(pick, map(tuple.__add__, rows, added)))


def _bind(
    rows: list[tuple[Any, ...]], processors: tuple[tuple[int, Hashable, Callable[[Any], Any]], ...]
) -> list[tuple[Any, ...]]:
    """Run each processor once per distinct value object and type (drivers take bytes and None as they are)."""
    if not processors:
        return rows
    converted: dict[tuple[Hashable, int], Any] = {}

    def convert(kind: Hashable, processor: Callable[[Any], Any], value: Any) -> Any:
        if type(value) in _UNCONVERTED:
            return value
        key = (kind, id(value))
        if key not in converted:
            converted[key] = processor(value)
        return converted[key]

    if len(rows) == 1:  # a single row (one registration, one event): transposing costs more than it saves
        row = list(rows[0])
        for index, kind, processor in processors:
            row[index] = convert(kind, processor, row[index])
        return [tuple(row)]
    columns = list(zip(*rows, strict=True))
    for index, kind, processor in processors:
        values = columns[index]
        if set(map(type, values)) <= _UNCONVERTED:
            continue
        # Batch rows mostly share one value object per converted column (`now`): a C-speed check finds that.
        if len(set(map(id, values))) == 1:
            columns[index] = (convert(kind, processor, values[0]),) * len(values)
        else:
            columns[index] = tuple(convert(kind, processor, value) for value in values)
    return list(zip(*columns, strict=True))
