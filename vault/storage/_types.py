"""Column types shared by every table."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

__all__ = ["JSONText", "UTCDateTime", "canonical_json"]


# One encoder for every call: `json.dumps` with options builds a new one each time (hot on audit appends).
_canonical_encoder = json.JSONEncoder(separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def canonical_json(value: Any) -> str:
    """The text JSONText stores: sorted keys, no spaces, UTF-8 kept."""
    return _canonical_encoder.encode(value)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC: identical on SQLite and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)

    # SQLite keeps datetimes as text. SQLAlchemy's own conversion (a regex, field by field) cost ~10 µs a
    # value on hot reads; the C `isoformat`/`fromisoformat` pair writes and reads the very same text.
    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        # A unit of work binds its one `now` several times: the last conversion is kept.
        last: tuple[datetime | None, str | None] = (None, None)

        def to_text(value: datetime | None) -> str | None:
            nonlocal last
            if value is None:
                return None
            known, text = last
            if value is known:
                return text
            naive = value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)
            text = naive.isoformat(" ", "microseconds")
            last = (value, text)
            return text

        return to_text

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)

        def from_text(value: str | None) -> datetime | None:
            return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)

        return from_text


class JSONText(TypeDecorator[Any]):
    """JSON kept as canonical text, so hashes over rows are stable across databases."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return canonical_json(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(value)
