"""Contacts: one encrypted phone number of one tenant, each with its own wrapped DEK."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from ._columns import bytes_field, time_field

__all__ = ["Contact"]


class Contact(SQLModel, table=True):
    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("tenant_id", "blind_index"),)

    id: str = Field(primary_key=True, max_length=40)
    # No index of its own: the unique (tenant_id, blind_index) index serves queries by tenant alone.
    tenant_id: str = Field(foreign_key="tenants.id", max_length=40)
    blind_index: bytes = bytes_field()
    wrapped_dek: bytes = bytes_field()
    dek_key_version: int = Field(index=True)
    phone_ct: bytes = bytes_field()
    created_at: datetime = time_field()
    updated_at: datetime = time_field()
