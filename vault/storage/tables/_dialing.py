"""Caller lines, licences, campaigns, dial handles and call attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from ._columns import bytes_field, json_field, optional_bytes_field, optional_time_field, time_field

__all__ = ["Attempt", "CallerLine", "Campaign", "CampaignCallerLine", "DialHandle", "Licence"]


class CallerLine(SQLModel, table=True):
    """A caller number (主叫号码) of the tenant, with its carrier whitelist (白名单) status."""

    __tablename__ = "caller_lines"
    __table_args__ = (UniqueConstraint("tenant_id", "number"),)

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=40)
    number: str = Field(max_length=20)
    carrier: str | None = Field(default=None, max_length=120)
    whitelist_status: str = Field(max_length=20)
    whitelisted_until: datetime | None = optional_time_field()
    created_at: datetime = time_field()


class Licence(SQLModel, table=True):
    __tablename__ = "licences"

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=40)
    kind: str = Field(max_length=60)
    number: str = Field(max_length=120)
    purposes: list[str] = json_field(nullable=False)
    valid_from: datetime = time_field()
    valid_until: datetime | None = optional_time_field()
    created_at: datetime = time_field()


class Campaign(SQLModel, table=True):
    __tablename__ = "campaigns"

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=40)
    name: str = Field(max_length=200)
    purpose: str = Field(max_length=40)
    channel: str = Field(max_length=40)
    status: str = Field(max_length=20)
    window: dict[str, Any] | None = json_field()
    caps: list[dict[str, Any]] | None = json_field()
    created_at: datetime = time_field()
    closed_at: datetime | None = optional_time_field()


class CampaignCallerLine(SQLModel, table=True):
    __tablename__ = "campaign_caller_lines"

    campaign_id: str = Field(
        sa_column=Column(String(40), ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    )
    caller_line_id: str = Field(
        sa_column=Column(String(40), ForeignKey("caller_lines.id", ondelete="CASCADE"), primary_key=True)
    )


_LEGACY_ONLY = text("legacy_digest IS NOT NULL")


class DialHandle(SQLModel, table=True):
    """An opaque token for (campaign, contact), stored only as a keyed digest.

    A token names its row's id, so the row is found by primary key and `digest` needs no index; handles
    issued before that (revision 0006) also keep their digest in `legacy_digest`, indexed for them alone.
    """

    __tablename__ = "dial_handles"
    __table_args__ = (
        Index(
            "ix_dial_handles_legacy_digest", "legacy_digest", unique=True,
            sqlite_where=_LEGACY_ONLY, postgresql_where=_LEGACY_ONLY,
        ),
    )  # fmt: skip

    digest: bytes = bytes_field()
    legacy_digest: bytes | None = optional_bytes_field()
    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=40)  # always queried with id/campaign/contact
    campaign_id: str = Field(
        sa_column=Column(String(40), ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    contact_id: str = Field(
        sa_column=Column(String(40), ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    created_at: datetime = time_field()
    expires_at: datetime = time_field()
    revoked_at: datetime | None = optional_time_field()


class Attempt(SQLModel, table=True):
    """One authorized call. `contact_id` is a pseudonym: attempts are kept for their retention."""

    __tablename__ = "attempts"
    __table_args__ = (Index("ix_attempts_cap", "tenant_id", "contact_id", "purpose", "authorized_at"),)

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=40)
    campaign_id: str = Field(max_length=40)
    contact_id: str = Field(max_length=40)
    purpose: str = Field(max_length=40)
    channel: str = Field(max_length=40)
    caller_line_id: str = Field(max_length=40)
    authorized_at: datetime = time_field()
    outcome: str | None = Field(default=None, max_length=20)
    outcome_at: datetime | None = optional_time_field()
