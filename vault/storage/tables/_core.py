"""Tenants, their keys, API keys, server secrets and the audit ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from ._columns import bytes_field, json_field, optional_time_field, time_field

__all__ = ["ApiKey", "AuditEntry", "AuditHead", "ServerSecret", "Tenant", "TenantKey"]


class Tenant(SQLModel, table=True):
    __tablename__ = "tenants"

    id: str = Field(primary_key=True, max_length=40)
    name: str = Field(unique=True, index=True, max_length=200)
    created_at: datetime = time_field()
    policy_overrides: dict[str, Any] | None = json_field()


class TenantKey(SQLModel, table=True):
    """One version of one key family of a tenant, wrapped by the root KEK."""

    __tablename__ = "tenant_keys"
    __table_args__ = (UniqueConstraint("tenant_id", "family", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=40)
    family: str = Field(max_length=40)
    version: int
    wrapped: bytes = bytes_field()
    provider: str = Field(max_length=20)
    created_at: datetime = time_field()
    retired_at: datetime | None = optional_time_field()


class ApiKey(SQLModel, table=True):
    """An API key, stored only as HMAC-SHA256 under the server pepper."""

    __tablename__ = "api_keys"

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=40)
    role: str = Field(max_length=20)
    digest: bytes = bytes_field(unique=True)
    label: str | None = Field(default=None, max_length=200)
    created_at: datetime = time_field()
    revoked_at: datetime | None = optional_time_field()


class ServerSecret(SQLModel, table=True):
    """Installation-wide secrets (the API-key pepper), wrapped by the root KEK."""

    __tablename__ = "server_secrets"

    name: str = Field(primary_key=True, max_length=40)
    wrapped: bytes = bytes_field()
    provider: str = Field(max_length=20)
    created_at: datetime = time_field()


class AuditEntry(SQLModel, table=True):
    """One ledger entry: ids and reason codes only, chained by hash and MAC'ed per tenant."""

    __tablename__ = "audit_entries"

    tenant_id: str = Field(primary_key=True, max_length=40)
    seq: int = Field(primary_key=True)
    at: datetime = time_field()
    actor: str = Field(max_length=80)
    action: str = Field(max_length=60)
    target_type: str | None = Field(default=None, max_length=40)
    target_id: str | None = Field(default=None, max_length=80)
    reason: str | None = Field(default=None, max_length=80)
    details: dict[str, Any] | None = json_field()
    prev_hash: bytes = bytes_field()
    entry_hash: bytes = bytes_field()
    mac: bytes = bytes_field()
    key_version: int


class AuditHead(SQLModel, table=True):
    """The newest entry of each tenant's chain; locked while appending."""

    __tablename__ = "audit_heads"

    tenant_id: str = Field(primary_key=True, max_length=40)
    seq: int
    entry_hash: bytes = bytes_field()
