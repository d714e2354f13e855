"""Notices, consent events (append-only), derived consent state, receipts, suppressions, complaints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from ._columns import bytes_field, json_field, optional_bytes_field, optional_time_field, time_field

__all__ = [
    "Complaint",
    "ConsentEvent",
    "ConsentState",
    "IdempotencyRecord",
    "Notice",
    "Receipt",
    "ReceiptTemplate",
    "Suppression",
]


class Notice(SQLModel, table=True):
    __tablename__ = "notices"
    __table_args__ = (UniqueConstraint("tenant_id", "notice_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=40)
    notice_id: str = Field(max_length=120)
    version: str = Field(max_length=40)
    sha256: str = Field(max_length=64)
    text: str | None = None
    language: str | None = Field(default=None, max_length=20)
    policy_url: str | None = Field(default=None, max_length=500)
    created_at: datetime = time_field()


class ConsentEvent(SQLModel, table=True):
    """given / withdrawn / expired / renewed; never updated or deleted except by erasure or purge.

    `contact_id` is a pseudonym with no foreign key: evidence may outlive the contact.
    """

    __tablename__ = "consent_events"
    __table_args__ = (
        Index("ix_consent_events_contact", "tenant_id", "contact_id", "purpose"),
        UniqueConstraint("tenant_id", "idempotency_key"),
    )

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=40)
    consent_id: str = Field(max_length=40)
    contact_id: str = Field(max_length=40)
    event_type: str = Field(max_length=20)
    purpose: str = Field(max_length=40)
    channels: list[str] = json_field(nullable=False)
    notice_id: str | None = Field(default=None, max_length=120)
    notice_version: str | None = Field(default=None, max_length=40)
    notice_sha256: str | None = Field(default=None, max_length=64)
    method: str = Field(max_length=40)
    jurisdiction: str | None = Field(default=None, max_length=20)
    language: str | None = Field(default=None, max_length=20)
    evidence: dict[str, Any] | None = json_field()
    evidence_ct: bytes | None = optional_bytes_field()
    occurred_at: datetime = time_field()
    recorded_at: datetime = time_field()
    expires_at: datetime | None = optional_time_field()
    receipt_id: str | None = Field(default=None, max_length=40)
    idempotency_key: str | None = Field(default=None, max_length=200)
    actor: str = Field(max_length=80)
    # The event's receipt, when kept in its row (since revision 0005): the receipt's payload is its template
    # filled in from this row, and the MAC covers that payload. Older receipts are rows of `receipts`.
    receipt_template_id: int | None = None
    receipt_mac: bytes | None = optional_bytes_field()
    receipt_mac_key_version: int | None = None


class ConsentState(SQLModel, table=True):
    """Current state per contact and purpose, folded from the events in the same transaction."""

    __tablename__ = "consent_states"

    tenant_id: str = Field(primary_key=True, max_length=40)
    contact_id: str = Field(primary_key=True, max_length=40)
    purpose: str = Field(primary_key=True, max_length=40)
    consent_id: str = Field(max_length=40)
    status: str = Field(max_length=20)
    channels: list[str] = json_field(nullable=False)
    given_at: datetime = time_field()
    expires_at: datetime | None = optional_time_field()
    withdrawn_at: datetime | None = optional_time_field()
    updated_at: datetime = time_field()


class Receipt(SQLModel, table=True):
    """The receipt of one consent event: its payload and a MAC, signed when read.

    `jws` is set only on receipts signed when captured (before revision 0002); they have no payload.
    """

    __tablename__ = "receipts"

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=40)
    consent_event_id: str = Field(index=True, max_length=40)
    contact_id: str = Field(index=True, max_length=40)
    jws: str | None = None
    payload: str | None = None
    mac: bytes | None = optional_bytes_field()
    mac_key_version: int | None = None
    created_at: datetime = time_field()


class ReceiptTemplate(SQLModel, table=True):
    """The canonical payload of receipts of one shape (controller, purpose, channels, notice, ...), cut where
    each receipt's own values go (its id, timestamp, contact id and termination): a JSON array of the pieces.

    Shared by every receipt of that shape, and never updated: a receipt's MAC covers the filled-in payload.
    """

    __tablename__ = "receipt_templates"
    __table_args__ = (UniqueConstraint("tenant_id", "sha256"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=40)
    sha256: str = Field(max_length=64)
    pieces: str
    created_at: datetime = time_field()


class Suppression(SQLModel, table=True):
    """Internal do-not-call, keyed by blind index so it outlives erasure of the contact."""

    __tablename__ = "suppressions"
    __table_args__ = (UniqueConstraint("tenant_id", "blind_index"),)

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=40)
    blind_index: bytes = bytes_field()
    reason: str = Field(max_length=40)
    source: str = Field(max_length=40)
    created_at: datetime = time_field()
    expires_at: datetime | None = optional_time_field()


class Complaint(SQLModel, table=True):
    __tablename__ = "complaints"

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=40)
    contact_id: str | None = Field(default=None, index=True, max_length=40)
    blind_index: bytes = bytes_field(index=True)
    attempt_id: str | None = Field(default=None, max_length=40)
    channel: str = Field(max_length=40)
    summary_ct: bytes | None = optional_bytes_field()
    status: str = Field(max_length=20)
    received_at: datetime = time_field()
    due_at: datetime = time_field(index=True)
    resolved_at: datetime | None = optional_time_field()
    resolution: str | None = Field(default=None, max_length=2000)


class IdempotencyRecord(SQLModel, table=True):
    """The stored answer to a request made with an Idempotency-Key, replayed on retry."""

    __tablename__ = "idempotency_records"

    tenant_id: str = Field(primary_key=True, max_length=40)
    key: str = Field(primary_key=True, max_length=200)
    request_sha256: str = Field(max_length=64)
    response: dict[str, Any] = json_field(nullable=False)
    created_at: datetime = time_field()
