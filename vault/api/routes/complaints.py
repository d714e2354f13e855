"""Complaints (投诉): file (capture, privacy), list and resolve (privacy)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from ...services import Actor, Role
from ...services.consent import file_complaint, list_complaints, resolve_complaint
from .._deps import Now, VaultDep, WriteSession, require_roles
from .._routing import TextRoute

__all__ = ["router"]

router = APIRouter(prefix="/v1/complaints", tags=["complaints"], route_class=TextRoute)
CaptureOrPrivacy = Annotated[Actor, require_roles(Role.CAPTURE, Role.PRIVACY)]
Privacy = Annotated[Actor, require_roles(Role.PRIVACY)]


class ComplaintIn(BaseModel):
    phone: str | None = Field(default=None, max_length=64)
    attempt_id: str | None = Field(default=None, max_length=40)
    handle: str | None = Field(default=None, max_length=200)
    region: str | None = Field(default=None, min_length=2, max_length=2)
    channel: str = Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")
    summary: str = Field(min_length=1, max_length=10_000)
    jurisdiction: str | None = Field(default=None, max_length=20)


class ComplaintOut(BaseModel):
    complaint_id: str
    contact_id: str
    due_at: datetime
    suppression_id: str
    withdrawn: int


class ResolutionIn(BaseModel):
    resolution: str = Field(min_length=1, max_length=2000)


@router.post("", response_model=ComplaintOut, status_code=201)
def create_complaint(
    body: ComplaintIn, actor: CaptureOrPrivacy, vault: VaultDep, session: WriteSession, now: Now
) -> ComplaintOut:
    filed = file_complaint(
        session, vault, actor, channel=body.channel, summary=body.summary, now=now, phone=body.phone,
        region=body.region, attempt_id=body.attempt_id, handle=body.handle, jurisdiction=body.jurisdiction,
    )  # fmt: skip
    return ComplaintOut(
        complaint_id=filed.complaint_id,
        contact_id=filed.contact_id,
        due_at=filed.due_at,
        suppression_id=filed.suppression_id,
        withdrawn=filed.withdrawn,
    )


@router.get("")
def complaints(
    actor: Privacy, vault: VaultDep, now: Now, status: str | None = None, overdue: bool | None = None
) -> dict[str, Any]:
    with vault.database.read() as session:
        return {"complaints": list_complaints(session, actor, now, status=status, overdue=overdue)}


@router.post("/{complaint_id}/resolve")
def resolve(
    complaint_id: str, body: ResolutionIn, actor: Privacy, vault: VaultDep, session: WriteSession, now: Now
) -> dict[str, Any]:
    return resolve_complaint(session, vault, actor, complaint_id, body.resolution, now)
