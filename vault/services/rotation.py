"""Tenant key rotation, and rewrapping every contact DEK under the newest wrap key.

Rotation adds a version; the newest version encrypts, every version still present decrypts.
Rewrap works in bounded batches, each its own transaction (the caller's), picking rows whose
`dek_key_version` is below the newest, so an interrupted run loses nothing and a re-run finishes.
A run walks a tenant's contacts once in the order of their unique (tenant, blind index) index, each
batch starting after the last blind index of the one before: a batch is found by reading on from
there, not by re-reading (or counting) everything earlier batches moved.
The blind-index key is never rotated (suppressions keyed by it must keep matching).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, select, update
from sqlmodel import Session

from ..crypto import KeyFamily
from ..errors import InvalidInput
from ..storage import tables as t
from ._context import Actor, Vault
from ._keyrings import rotate_tenant_key
from .audit import record_event

__all__ = [
    "ROTATABLE",
    "RewrapBatch",
    "newest_version",
    "retire_unused_wrap_versions",
    "rewrap_batch",
    "rewrap_pending",
    "rotate_key",
]

ROTATABLE = (KeyFamily.CONTACT_DEK_WRAP, KeyFamily.AUDIT_MAC, KeyFamily.HANDLE_DIGEST, KeyFamily.RECEIPT_SIGNING)


def rotate_key(session: Session, vault: Vault, actor: Actor | str, tenant_id: str, family: str, now: datetime) -> int:
    """Add a new version of `family`; returns it. The caller must `vault.keyrings.forget(tenant_id)`
    after committing so this process encrypts with it at once (others within the keyring TTL)."""
    try:
        key_family = KeyFamily(family)
    except ValueError:
        raise InvalidInput("unknown key family", code="unknown_key_family", field="family") from None
    if key_family not in ROTATABLE:
        raise InvalidInput("the blind-index key is never rotated", code="key_not_rotatable", field="family")
    version = rotate_tenant_key(session, vault.provider, tenant_id, key_family, now)
    session.flush()
    # The cached keyring (older versions) MACs this entry: caching the new key before commit could
    # leave a key in memory that a rollback removed from the store.
    keyring = vault.keyrings.get(session, tenant_id)
    record_event(
        session, keyring, actor, "keys.rotated", now, target_type="tenant_key", target_id=tenant_id,
        details={"family": key_family.value, "version": version},
    )  # fmt: skip
    return version


def newest_version(session: Session, tenant_id: str, family: KeyFamily) -> int:
    k = t.tenant_keys.c
    found = session.execute(
        select(func.max(k.version)).where(k.tenant_id == tenant_id, k.family == family.value)
    ).scalar_one_or_none()
    return int(found or 0)


def rewrap_pending(session: Session, tenant_id: str) -> int:
    """How many contacts still have a DEK wrapped under an older version."""
    newest = newest_version(session, tenant_id, KeyFamily.CONTACT_DEK_WRAP)
    c = t.contacts.c
    return int(
        session.execute(
            select(func.count()).select_from(t.contacts).where(c.tenant_id == tenant_id, c.dek_key_version < newest)
        ).scalar_one()
    )


@dataclass(frozen=True, slots=True)
class RewrapBatch:
    rewrapped: int
    version: int
    resume_after: bytes | None  # the next batch starts after this blind index; None: nothing was left


def rewrap_batch(
    session: Session,
    vault: Vault,
    actor: Actor | str,
    tenant_id: str,
    batch_size: int,
    now: datetime,
    *,
    after: bytes | None = None,
) -> RewrapBatch:
    """Re-seal up to `batch_size` wrapped DEKs under the newest wrap key (one transaction: the caller's),
    taking the contacts in blind-index order from after `after` (a previous batch's `resume_after`)."""
    if batch_size < 1:
        raise InvalidInput("the batch size must be at least 1", code="invalid_batch_size", field="batch_size")
    keyring = vault.keyrings.reload(session, tenant_id)
    newest = keyring.current_version(KeyFamily.CONTACT_DEK_WRAP)
    c = t.contacts.c
    query = select(c.id, c.wrapped_dek, c.blind_index).where(c.tenant_id == tenant_id, c.dek_key_version < newest)
    if after is not None:
        query = query.where(c.blind_index > after)
    rows = session.execute(query.order_by(c.blind_index).limit(batch_size)).all()
    if rows:
        session.execute(
            update(t.contacts)
            .where(c.id == bindparam("contact"), c.tenant_id == tenant_id)
            .values(wrapped_dek=bindparam("rewrapped"), dek_key_version=newest),
            [{"contact": r.id, "rewrapped": keyring.rewrap_contact_dek(r.id, r.wrapped_dek)} for r in rows],
        )
    if rows:
        record_event(
            session, keyring, actor, "keys.rewrapped", now, target_type="tenant_key", target_id=tenant_id,
            details={"family": KeyFamily.CONTACT_DEK_WRAP.value, "version": newest, "rewrapped": len(rows)},
        )  # fmt: skip
    return RewrapBatch(len(rows), newest, bytes(rows[-1].blind_index) if rows else None)


def retire_unused_wrap_versions(
    session: Session, vault: Vault, actor: Actor | str, tenant_id: str, now: datetime
) -> list[int]:
    """Mark older contact-DEK wrap versions retired when no contact uses them any more."""
    newest = newest_version(session, tenant_id, KeyFamily.CONTACT_DEK_WRAP)
    k = t.tenant_keys.c
    c = t.contacts.c
    used = set(session.execute(select(c.dek_key_version).where(c.tenant_id == tenant_id).distinct()).scalars())
    candidates = [
        int(v)
        for v in session.execute(
            select(k.version).where(
                k.tenant_id == tenant_id,
                k.family == KeyFamily.CONTACT_DEK_WRAP.value,
                k.version < newest,
                k.retired_at.is_(None),
            )
        ).scalars()
        if v not in used
    ]
    if candidates:
        session.execute(
            update(t.tenant_keys)
            .where(k.tenant_id == tenant_id, k.family == KeyFamily.CONTACT_DEK_WRAP.value, k.version.in_(candidates))
            .values(retired_at=now)
        )
        record_event(
            session, vault.keyrings.get(session, tenant_id), actor, "keys.retired", now, target_type="tenant_key",
            target_id=tenant_id, details={"family": KeyFamily.CONTACT_DEK_WRAP.value, "versions": sorted(candidates)},
        )  # fmt: skip
    return sorted(candidates)
