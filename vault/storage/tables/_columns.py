"""Field shorthands so table definitions stay readable."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, LargeBinary
from sqlmodel import Field

from .._types import JSONText, UTCDateTime

__all__ = ["bytes_field", "json_field", "optional_bytes_field", "optional_time_field", "time_field"]


def time_field(*, index: bool = False) -> Any:
    return Field(sa_column=Column(UTCDateTime, nullable=False, index=index))


def optional_time_field(*, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime, nullable=True, index=index))


def bytes_field(*, index: bool = False, unique: bool = False) -> Any:
    return Field(sa_column=Column(LargeBinary, nullable=False, index=index, unique=unique))


def optional_bytes_field(*, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(LargeBinary, nullable=True, index=index))


def json_field(*, nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(JSONText, nullable=nullable))
