from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import select

from ...services import Actor, Role
from ...services.audit import verify_ledger
from ...storage import tables as t
from ...storage.tables import AuditEntry
from .._deps import VaultDep, require_roles
from .._routing import TextRoute

__all__ = ["router"]

router = APIRouter(prefix="/v1/audit", tags=["audit"], route_class=TextRoute)
Auditor = Annotated[Actor, require_roles(Role.AUDITOR, Role.ADMIN)]


class AuditEntryOut(BaseModel):
    seq: int
    at: datetime
    actor: str
    action: str
    target_type: str | None
    target_id: str | None
    reason: str | None
    details: dict[str, Any] | None
    entry_hash: str


@router.get("/verify")
def verify(actor: Auditor, vault: VaultDep) -> dict[str, Any]:
    with vault.database.read() as session:
        return verify_ledger(session, vault.keyrings.get(session, actor.tenant_id)).as_dict()


@router.get("/entries", response_model=list[AuditEntryOut])
def entries(
    actor: Auditor,
    vault: VaultDep,
    after_seq: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditEntryOut]:
    with vault.database.read() as session:
        rows = session.execute(
            select(AuditEntry)
            .where(t.audit_entries.c.tenant_id == actor.tenant_id, t.audit_entries.c.seq > after_seq)
            .order_by(t.audit_entries.c.seq)
            .limit(limit)
        ).scalars()
        return [
            AuditEntryOut(
                seq=e.seq,
                at=e.at,
                actor=e.actor,
                action=e.action,
                target_type=e.target_type,
                target_id=e.target_id,
                reason=e.reason,
                details=e.details,
                entry_hash=e.entry_hash.hex(),
            )
            for e in rows
        ]
