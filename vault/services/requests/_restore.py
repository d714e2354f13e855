"""Re-applying erasures after a restore: a backup older than an erasure must not bring the person back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from ...storage import tables as t
from .._context import Actor, Vault
from ..audit import record_event
from ._erasure import erase_contact

__all__ = ["JournalEntry", "read_journal", "reapply_journal"]


@dataclass(frozen=True, slots=True)
class JournalEntry:
    tenant_id: str
    blind_index: bytes
    contact_id: str
    request_id: str | None
    erased_at: datetime

    @property
    def key(self) -> tuple[str, bytes, str]:
        return (self.tenant_id, self.blind_index, self.contact_id)


def read_journal(session: Session) -> list[JournalEntry]:
    """Every tenant's erasure journal (blind indexes and ids only), oldest first."""
    j = t.erasure_journal.c
    return [
        JournalEntry(r.tenant_id, bytes(r.blind_index), r.contact_id, r.request_id, r.erased_at)
        for r in session.execute(
            select(j.tenant_id, j.blind_index, j.contact_id, j.request_id, j.erased_at).order_by(j.erased_at, j.id)
        )
    ]


def reapply_journal(session: Session, vault: Vault, entries: Sequence[JournalEntry], now: datetime) -> dict[str, int]:
    """Erase again every journaled contact the (restored) store does not know was erased.

    Entries already in this store's journal happened before the backup was taken and are left
    alone (a contact registered again after such an erasure is a new, legitimate one).
    """
    present = {e.key for e in read_journal(session)}
    tenants = set(session.execute(select(t.tenants.c.id)).scalars())
    counts = {"journal_entries": len(entries), "reapplied": 0, "re_erased": 0, "unknown_tenant": 0}
    for entry in entries:
        if entry.key in present:
            continue
        if entry.tenant_id not in tenants:
            counts["unknown_tenant"] += 1
            continue
        actor = Actor(entry.tenant_id, "restore", "system")
        contact_id = session.execute(
            select(t.contacts.c.id).where(
                t.contacts.c.tenant_id == entry.tenant_id, t.contacts.c.blind_index == entry.blind_index
            )
        ).scalar_one_or_none()
        if contact_id is not None:
            erase_contact(session, vault, actor, str(contact_id), now, request_id=entry.request_id, journal=False)
            counts["re_erased"] += 1
        session.execute(
            t.erasure_journal.insert().values(
                tenant_id=entry.tenant_id, blind_index=entry.blind_index, contact_id=entry.contact_id,
                request_id=entry.request_id, erased_at=entry.erased_at,
            )
        )  # fmt: skip
        present.add(entry.key)
        counts["reapplied"] += 1
    for tenant_id in sorted({e.tenant_id for e in entries} & tenants):
        record_event(
            session, vault.keyrings.get(session, tenant_id), "system:restore", "erasure.reapplied", now,
            target_type="erasure_journal",
            details={k: v for k, v in counts.items() if k != "unknown_tenant"},
        )  # fmt: skip
    return counts
