"""Data-subject requests, their history, and the erasure journal."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, LargeBinary
from sqlmodel import Field, SQLModel

from ._columns import bytes_field, json_field, optional_bytes_field, optional_time_field, time_field

__all__ = ["ErasedHandle", "ErasureJournalEntry", "SubjectRequest", "SubjectRequestEvent"]


class SubjectRequest(SQLModel, table=True):
    __tablename__ = "subject_requests"

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=40)
    type: str = Field(max_length=20)
    status: str = Field(max_length=20, index=True)
    contact_id: str | None = Field(default=None, max_length=40, index=True)
    blind_index: bytes = bytes_field()
    jurisdictions: list[str] = json_field(nullable=False)
    received_at: datetime = time_field()
    due_at: datetime = time_field(index=True)
    verified_at: datetime | None = optional_time_field()
    verification_method: str | None = Field(default=None, max_length=40)
    verification_ref_digest: str | None = Field(default=None, max_length=64)
    new_phone_ct: bytes | None = optional_bytes_field()
    completed_at: datetime | None = optional_time_field()
    result: dict[str, Any] | None = json_field()


class SubjectRequestEvent(SQLModel, table=True):
    __tablename__ = "subject_request_events"

    id: int | None = Field(default=None, primary_key=True)
    request_id: str = Field(foreign_key="subject_requests.id", index=True, max_length=40)
    from_status: str | None = Field(default=None, max_length=20)
    to_status: str = Field(max_length=20)
    at: datetime = time_field()
    actor: str = Field(max_length=80)
    note: str | None = Field(default=None, max_length=500)


class ErasureJournalEntry(SQLModel, table=True):
    """Erasures by blind index only, so a restore from an older backup can re-apply them."""

    __tablename__ = "erasure_journal"

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=40)
    blind_index: bytes = bytes_field()
    contact_id: str = Field(max_length=40)
    request_id: str | None = Field(default=None, max_length=40)
    erased_at: datetime = time_field()


class ErasedHandle(SQLModel, table=True):
    """Digests of the dial handles of erased contacts, so authorize can answer `erased` until they expire.

    A handle digest is a keyed hash of a random token: it links to nothing once the contact is gone.
    """

    __tablename__ = "erased_handles"

    digest: bytes = Field(sa_column=Column(LargeBinary, primary_key=True))
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=40)
    erased_at: datetime = time_field()
    expires_at: datetime = time_field(index=True)
